package demo

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// LoadPostgres copies the demo CRM database (crm.sqlite under the demo
// folder) into a PostgreSQL database, as a production CRM would hold it:
// DATETIME columns as timestamptz, DATE as date, NUMERIC(P,S) as
// numeric(P,S), INTEGER as bigint, TEXT as text, with the same primary
// keys and an index on each updated_at. Existing tables of the same names
// are replaced. cfg is the parsed connection (see postgres.Config). It
// returns the rows copied per table.
func LoadPostgres(ctx context.Context, demoDir string, cfg *pgx.ConnConfig) (map[string]int64, error) {
	src, err := sql.Open("sqlite", "file:"+filepath.Join(demoDir, "crm.sqlite")+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer dst.Close(ctx)
	out := map[string]int64{}
	for _, ddl := range crmSchema {
		table, cols, pgDDL, err := postgresDDL(ddl)
		if err != nil {
			return out, err
		}
		if _, err := dst.Exec(ctx, "DROP TABLE IF EXISTS "+table+" CASCADE"); err != nil {
			return out, err
		}
		if _, err := dst.Exec(ctx, pgDDL); err != nil {
			return out, fmt.Errorf("creating %s: %w", table, err)
		}
		n, err := copyTable(ctx, src, dst, table, cols)
		if err != nil {
			return out, fmt.Errorf("copying %s: %w", table, err)
		}
		out[table] = n
		if cols.has("updated_at") {
			if _, err := dst.Exec(ctx, fmt.Sprintf("CREATE INDEX %s_updated_at ON %s (updated_at)", table, table)); err != nil {
				return out, err
			}
		}
	}
	if _, err := dst.Exec(ctx, "ANALYZE"); err != nil {
		return out, err
	}
	return out, nil
}

type pgColumn struct{ name, sqliteType, pgType string }

type pgColumns []pgColumn

func (cs pgColumns) has(name string) bool {
	for _, c := range cs {
		if c.name == name {
			return true
		}
	}
	return false
}

var ddlRE = regexp.MustCompile(`^CREATE TABLE (\w+)\((.*)\)$`)

// postgresDDL turns one of crmSchema's statements into PostgreSQL's.
func postgresDDL(ddl string) (string, pgColumns, string, error) {
	m := ddlRE.FindStringSubmatch(ddl)
	if m == nil {
		return "", nil, "", fmt.Errorf("unexpected DDL %q", ddl)
	}
	var cols pgColumns
	var defs []string
	for _, part := range strings.Split(m[2], ", ") {
		f := strings.Fields(part)
		name, typ := f[0], f[1]
		pg := map[string]string{"TEXT": "text", "INTEGER": "bigint", "DATETIME": "timestamptz", "DATE": "date"}[typ]
		if strings.HasPrefix(typ, "NUMERIC") {
			pg = strings.ToLower(typ)
		}
		if pg == "" {
			return "", nil, "", fmt.Errorf("no PostgreSQL type for %s %s", name, typ)
		}
		cols = append(cols, pgColumn{name, typ, pg})
		defs = append(defs, strings.Join(append([]string{name, pg}, f[2:]...), " "))
	}
	return m[1], cols, fmt.Sprintf("CREATE TABLE %s (%s)", m[1], strings.Join(defs, ", ")), nil
}

func copyTable(ctx context.Context, src *sql.DB, dst *pgx.Conn, table string, cols pgColumns) (int64, error) {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	rows, err := src.QueryContext(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var convErr error
	n, err := dst.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out := make([]any, len(cols))
		for i, c := range cols {
			v, err := pgValue(c, vals[i])
			if err != nil {
				convErr = fmt.Errorf("column %s: %w", c.name, err)
				return nil, convErr
			}
			out[i] = v
		}
		return out, nil
	}))
	if convErr != nil {
		return n, convErr
	}
	return n, err
}

// pgValue converts a SQLite value for a PostgreSQL column.
func pgValue(c pgColumn, v any) (any, error) {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	if v == nil {
		return nil, nil
	}
	switch c.pgType {
	case "timestamptz", "date":
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			for _, l := range []string{"2006-01-02 15:04:05", "2006-01-02"} {
				if t, err := time.Parse(l, x); err == nil {
					return t, nil
				}
			}
			return nil, fmt.Errorf("%q is not a date or time", x)
		}
	case "bigint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case "text":
		return fmt.Sprint(v), nil
	default: // numeric(P,S)
		var s string
		switch x := v.(type) {
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case int64:
			s = strconv.FormatInt(x, 10)
		case string:
			s = x
		}
		var n pgtype.Numeric
		if err := n.Scan(s); err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, fmt.Errorf("unexpected value %v (%T)", v, v)
}
