// Package sqldb extracts tables and queries from SQL databases through
// database/sql. Dialects (SQLite, PostgreSQL) live in their own packages and
// supply the driver, placeholders and the type mapping. Extraction is
// incremental by a watermark column: each run reads rows whose watermark is
// above the last one loaded, in watermark order, streaming.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"crmwh/pipelines"
)

// Dialect is what differs between databases.
type Dialect interface {
	// DriverName is the database/sql driver name.
	DriverName() string
	// DSN turns the configured connection string (environment variables
	// already expanded) into the driver's, resolving relative paths.
	DSN(dsn string, env pipelines.Env) string
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder(n int) string
	// QuoteIdent quotes a table or column name.
	QuoteIdent(s string) string
	// Column maps a result column to a lake column, or explains why the
	// type is unsupported.
	Column(ct *sql.ColumnType) (pipelines.Column, error)
	// Convert turns a scanned value into the lake's Go value for col.
	Convert(col pipelines.Column, v any) (any, error)
	// WatermarkArg turns a watermark into a bind argument.
	WatermarkArg(w pipelines.Watermark) (any, error)
}

// Source is a SQL database source.
type Source struct {
	cfg     pipelines.SourceConfig
	dialect Dialect
	db      *sql.DB
	secrets []string
}

// New opens a SQL source; the connection is made lazily on first use.
func New(d Dialect, cfg pipelines.SourceConfig, env pipelines.Env) (*Source, error) {
	dsn, err := pipelines.ExpandEnv(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Name, err)
	}
	s := &Source{cfg: cfg, dialect: d}
	for _, name := range pipelines.EnvNames(cfg.DSN) {
		if v, _ := pipelines.ExpandEnv("${" + name + "}"); len(v) >= 3 {
			s.secrets = append(s.secrets, v)
		}
	}
	db, err := sql.Open(d.DriverName(), d.DSN(dsn, env))
	if err != nil {
		return nil, s.redact(fmt.Errorf("source %s: opening database: %w", cfg.Name, err))
	}
	db.SetMaxOpenConns(4)
	s.db = db
	return s, nil
}

// Close implements pipelines.Source.
func (s *Source) Close() error { return s.db.Close() }

// redact hides the values of the DSN's environment variables (passwords)
// and any password= or URL password in err's text.
func (s *Source) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := pipelines.Redact(err.Error())
	for _, v := range s.secrets {
		msg = strings.ReplaceAll(msg, v, "***")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets callers test for context errors through the redaction.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// Validate checks a SQL source's config.
func Validate(cfg pipelines.SourceConfig, report func(path, msg string)) {
	if cfg.DSN == "" {
		report("dsn", "missing: the connection string (passwords as ${ENV_VAR})")
	}
	for i, st := range cfg.Streams {
		p := fmt.Sprintf("streams[%d]", i)
		switch {
		case st.Table == "" && st.Query == "":
			report(p, "give either table or query")
		case st.Table != "" && st.Query != "":
			report(p+".query", "give either table or query, not both")
		}
		for _, k := range []struct {
			set bool
			key string
		}{{st.Path != "", "path"}, {st.Encoding != "", "encoding"}, {st.Delimiter != "", "delimiter"}, {len(st.Columns) > 0, "columns"}, {st.Timezone != "", "timezone"}} {
			if k.set {
				report(p+"."+k.key, "not used by SQL sources")
			}
		}
		if st.Lookback != 0 && st.Watermark == "" {
			report(p+".lookback", "needs a watermark column")
		}
		if r := st.BadRatioLimit(); r < 0 || r > 1 {
			report(p+".max_bad_ratio", "must be between 0 and 1")
		}
	}
}

// query builds the stream's SELECT and its arguments.
func (s *Source) query(st pipelines.StreamConfig, state pipelines.State) (string, []any, error) {
	from := ""
	if st.Table != "" {
		parts := strings.Split(st.Table, ".")
		for i, p := range parts {
			parts[i] = s.dialect.QuoteIdent(p)
		}
		from = strings.Join(parts, ".")
	} else {
		from = "(" + strings.TrimRight(strings.TrimSpace(st.Query), ";") + ") AS q"
	}
	q := "SELECT * FROM " + from
	var args []any
	if st.Watermark != "" {
		wm := s.dialect.QuoteIdent(st.Watermark)
		if state.Watermark != nil {
			w := *state.Watermark
			if st.Lookback > 0 && w.Type == pipelines.TypeTimestamp {
				t, err := w.Time()
				if err != nil {
					return "", nil, err
				}
				w.Value = t.Add(-time.Duration(st.Lookback)).Format(time.RFC3339Nano)
			}
			arg, err := s.dialect.WatermarkArg(w)
			if err != nil {
				return "", nil, err
			}
			op := ">"
			if st.Lookback > 0 {
				op = ">="
			}
			q += " WHERE " + wm + " " + op + " " + s.dialect.Placeholder(1)
			args = append(args, arg)
		}
		q += " ORDER BY " + wm
	}
	return q, args, nil
}

// Extract implements pipelines.Source. The whole run is one commit unit:
// the new watermark is recorded with the rows, so a killed run loads its
// rows again next time and never twice.
func (s *Source) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) (err error) {
	defer func() { err = s.redact(err) }()
	q, args, err := s.query(st, state)
	if err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("querying %s: %w", origin(st), err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	schema := make(pipelines.Schema, len(cts))
	for i, ct := range cts {
		c, err := s.dialect.Column(ct)
		if err != nil {
			return fmt.Errorf("%s: column %s: %w", origin(st), ct.Name(), err)
		}
		c.Name = ct.Name()
		schema[i] = c
	}
	wmIdx := -1
	var wm *pipelines.Watermark
	if st.Watermark != "" {
		if wmIdx = schema.Index(st.Watermark); wmIdx < 0 {
			return fmt.Errorf("%s: watermark column %q is not among the columns", origin(st), st.Watermark)
		}
		wt := schema[wmIdx].Type
		if wt != pipelines.TypeTimestamp && wt != pipelines.TypeInt64 && wt != pipelines.TypeDate {
			return fmt.Errorf("%s: watermark column %q has type %s; use a timestamp or an increasing integer", origin(st), st.Watermark, wt)
		}
		wm = state.Watermark
	}
	keyIdx := make([]int, 0, len(st.PrimaryKey))
	for _, k := range st.PrimaryKey {
		i := schema.Index(k)
		if i < 0 {
			return fmt.Errorf("%s: primary_key column %q is not among the columns", origin(st), k)
		}
		keyIdx = append(keyIdx, i)
	}

	u, err := sink.Begin(schema, origin(st))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			u.Abort()
		}
	}()
	dest := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	const batchRows = 8192
	batch := make([][]any, 0, batchRows)
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("reading %s: %w", origin(st), err)
		}
		row := make([]any, len(dest))
		var reason string
		var bytes int64
		for i, v := range dest {
			cv, err := s.dialect.Convert(schema[i], v)
			if err != nil {
				reason = fmt.Sprintf("column %s: %v", schema[i].Name, err)
				break
			}
			row[i] = cv
			if str, ok := cv.(string); ok {
				bytes += int64(len(str))
			} else {
				bytes += 8
			}
		}
		sink.AddBytes(bytes)
		if reason == "" && wmIdx >= 0 && row[wmIdx] == nil {
			reason = fmt.Sprintf("watermark column %s is NULL", st.Watermark)
		}
		if reason != "" {
			if err := u.Quarantine(pipelines.BadRow{Origin: origin(st), Key: rowKey(dest, keyIdx), Reason: reason, Raw: fmt.Sprint(dest...)}); err != nil {
				return err
			}
			continue
		}
		if wmIdx >= 0 {
			w := watermarkOf(st.Watermark, schema[wmIdx].Type, row[wmIdx])
			if wm == nil || w.Value != wm.Value && less(*wm, w) {
				wm = &w
			}
		}
		batch = append(batch, row)
		if len(batch) == batchRows {
			if err := u.Write(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", origin(st), err)
	}
	if len(batch) > 0 {
		if err := u.Write(batch); err != nil {
			return err
		}
	}
	if err := pipelines.CheckBadRatio(sink, st); err != nil {
		return fmt.Errorf("%s: %w", origin(st), err)
	}
	return u.Commit(pipelines.StateChange{Watermark: wm})
}

func origin(st pipelines.StreamConfig) string {
	if st.Table != "" {
		return "table " + st.Table
	}
	return "query of stream " + st.Name
}

func rowKey(vals []any, idx []int) string {
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = fmt.Sprint(vals[j])
	}
	return strings.Join(parts, ",")
}

// watermarkOf renders a watermark value canonically.
func watermarkOf(col string, t pipelines.Type, v any) pipelines.Watermark {
	w := pipelines.Watermark{Column: col, Type: t}
	switch x := v.(type) {
	case time.Time:
		w.Value = x.UTC().Format(time.RFC3339Nano)
	case int64:
		w.Value = strconv.FormatInt(x, 10)
	}
	return w
}

// less compares two watermarks of the same type.
func less(a, b pipelines.Watermark) bool {
	switch a.Type {
	case pipelines.TypeInt64:
		x, _ := strconv.ParseInt(a.Value, 10, 64)
		y, _ := strconv.ParseInt(b.Value, 10, 64)
		return x < y
	default:
		x, _ := time.Parse(time.RFC3339Nano, a.Value)
		y, _ := time.Parse(time.RFC3339Nano, b.Value)
		return x.Before(y)
	}
}
