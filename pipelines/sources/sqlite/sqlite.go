// Package sqlite is the "sqlite" source kind (the demo CRM database), through
// the pure-Go driver modernc.org/sqlite.
//
// SQLite has no column types, only declared affinities, so the lake type
// comes from the declared type: INT/INTEGER/BIGINT → int64; REAL/FLOAT/DOUBLE
// → float64; NUMERIC(P,S)/DECIMAL(P,S) → decimal(P,S) (plain NUMERIC →
// decimal(18,4)); BOOL/BOOLEAN → bool; DATE → date; DATETIME/TIMESTAMP →
// timestamp (text as YYYY-MM-DD HH:MM:SS[.fff][±hh:mm], UTC when no offset);
// JSON → json; TEXT/CHAR/VARCHAR/CLOB and anything else → string. Timestamp
// watermarks are compared as text in the form YYYY-MM-DD HH:MM:SS[.fff],
// so store them that way (what SQLite's own datetime() writes).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"crmwh/pipelines"
	"crmwh/pipelines/sources/sqldb"
	"crmwh/pipelines/textvalue"
)

func init() {
	pipelines.Register("sqlite", pipelines.Kind{
		New: func(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
			return sqldb.New(Dialect{}, cfg, env)
		},
		Validate: sqldb.Validate,
	})
}

// Dialect is SQLite's sqldb.Dialect.
type Dialect struct{}

// DriverName implements sqldb.Dialect.
func (Dialect) DriverName() string { return "sqlite" }

// DSN resolves a relative file path against the project folder and opens
// the file read-only.
func (Dialect) DSN(dsn string, env pipelines.Env) string {
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if !filepath.IsAbs(path) {
		path = filepath.Join(env.BaseDir, path)
	}
	if query == "" {
		query = "mode=ro"
	}
	return "file:" + path + "?" + query
}

// Open implements sqldb.Opener: the file must exist (a missing one is a
// *pipelines.MissingError naming its path); it is opened read-only.
func (d Dialect) Open(dsn pipelines.DSN, env pipelines.Env) (*sql.DB, bool, error) {
	conn := d.DSN(dsn.Expanded(), env)
	path, _, _ := strings.Cut(strings.TrimPrefix(conn, "file:"), "?")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, false, pipelines.Missing("SQLite file %s does not exist (dsn %s, relative to the project folder %s)", path, dsn.Expanded(), env.BaseDir)
	}
	db, err := sql.Open(d.DriverName(), conn)
	return db, false, err
}

// MissingRelation implements sqldb.MissingRelation.
func (Dialect) MissingRelation(err error) bool {
	return strings.Contains(err.Error(), "no such table")
}

// Placeholder implements sqldb.Dialect.
func (Dialect) Placeholder(int) string { return "?" }

// QuoteIdent implements sqldb.Dialect.
func (Dialect) QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

var numericRE = regexp.MustCompile(`^(?:NUMERIC|DECIMAL)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$`)

// Query implements sqldb.Dialect.
func (d Dialect) Query(ctx context.Context, db *sql.DB, q string, args []any, o sqldb.QueryOptions, fn func(sqldb.Cursor) error) error {
	return sqldb.GenericQuery(ctx, db, d, q, args, o, fn)
}

// Column implements sqldb.Mapper.
func (Dialect) Column(ct *sql.ColumnType) (pipelines.Column, error) {
	t := strings.ToUpper(strings.TrimSpace(ct.DatabaseTypeName()))
	switch {
	case t == "INT" || t == "INTEGER" || t == "BIGINT" || t == "SMALLINT" || t == "TINYINT":
		return pipelines.Column{Type: pipelines.TypeInt64}, nil
	case t == "REAL" || t == "FLOAT" || t == "DOUBLE" || t == "DOUBLE PRECISION":
		return pipelines.Column{Type: pipelines.TypeFloat64}, nil
	case t == "BOOL" || t == "BOOLEAN":
		return pipelines.Column{Type: pipelines.TypeBool}, nil
	case t == "DATE":
		return pipelines.Column{Type: pipelines.TypeDate}, nil
	case t == "DATETIME" || t == "TIMESTAMP":
		return pipelines.Column{Type: pipelines.TypeTimestamp}, nil
	case t == "JSON":
		return pipelines.Column{Type: pipelines.TypeJSON}, nil
	case t == "NUMERIC" || t == "DECIMAL":
		return pipelines.Column{Type: pipelines.TypeDecimal, Precision: 18, Scale: 4}, nil
	}
	if m := numericRE.FindStringSubmatch(t); m != nil {
		p, _ := strconv.Atoi(m[1])
		s := 0
		if m[2] != "" {
			s, _ = strconv.Atoi(m[2])
		}
		if p < 1 || p > pipelines.MaxDecimalPrecision || s > p {
			return pipelines.Column{}, fmt.Errorf("declared type %s: precision must be 1 to %d and the scale at most the precision", t, pipelines.MaxDecimalPrecision)
		}
		return pipelines.Column{Type: pipelines.TypeDecimal, Precision: p, Scale: s}, nil
	}
	return pipelines.Column{Type: pipelines.TypeString}, nil
}

// Convert implements sqldb.Mapper. SQLite may hold any value in any
// column; a value that does not fit the declared type is an error that
// sends the row to quarantine.
func (Dialect) Convert(col pipelines.Column, v any, _ sqldb.QueryOptions) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch col.Type {
	case pipelines.TypeString, pipelines.TypeJSON:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	case pipelines.TypeInt64:
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), nil
			}
		case string:
			if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
				return i, nil
			}
		}
	case pipelines.TypeFloat64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
	case pipelines.TypeBool:
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool:
			return x, nil
		}
	case pipelines.TypeDecimal:
		var s string
		switch x := v.(type) {
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			// SQLite stores NUMERIC values with a fraction as REAL; the
			// shortest text that round-trips recovers the written digits.
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			s = x
		}
		if s != "" {
			return textvalue.ParseDecimal(s, col.Precision, col.Scale)
		}
	case pipelines.TypeDate:
		switch x := v.(type) {
		case time.Time:
			return pipelines.Date(x), nil
		case string:
			if t, err := time.Parse("2006-01-02", strings.TrimSpace(x)); err == nil {
				return t, nil
			}
		}
	case pipelines.TypeTimestamp:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case int64:
			return time.Unix(x, 0).UTC(), nil
		}
	}
	return nil, fmt.Errorf("value %q does not fit type %s", fmt.Sprint(v), col.TypeString())
}

// WatermarkArg implements sqldb.Dialect.
func (Dialect) WatermarkArg(w pipelines.Watermark, _ sqldb.ColumnInfo, _ sqldb.QueryOptions) (any, error) {
	switch w.Type {
	case pipelines.TypeInt64:
		return strconv.ParseInt(w.Value, 10, 64)
	case pipelines.TypeDate:
		t, err := w.Time()
		return t.Format("2006-01-02"), err
	default:
		t, err := w.Time()
		if err != nil {
			return nil, err
		}
		s := t.UTC().Format("2006-01-02 15:04:05.999999999")
		return s, nil
	}
}
