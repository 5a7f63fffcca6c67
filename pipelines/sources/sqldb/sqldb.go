// Package sqldb extracts tables and queries from SQL databases through
// database/sql. Dialects (SQLite, PostgreSQL) live in their own packages and
// supply the driver, a cursor that decodes rows into lake batches, and the
// type mapping. Extraction is incremental by a watermark column: each run
// reads rows whose watermark is above the last one loaded (or within the
// look-back window below it), in watermark order, streaming, and commits
// every commit_rows rows at a change of watermark value.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"crmwh/pipelines"
	"crmwh/pipelines/secret"
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
	// Query runs q and calls fn with a cursor over its rows. The cursor is
	// valid only while fn runs.
	Query(ctx context.Context, db *sql.DB, q string, args []any, o QueryOptions, fn func(Cursor) error) error
	// WatermarkArg turns a watermark value into a bind argument compared
	// with the column.
	WatermarkArg(w pipelines.Watermark, col ColumnInfo, o QueryOptions) (any, error)
}

// Opener is a dialect that opens its own database/sql pool from the
// resolved DSN, parsing it once: to pass the password to the driver as a
// field of its config, never through a re-assembled string, and to set
// session options the driver takes only in a config. local says whether
// the database server runs on this machine (a Unix socket, localhost).
type Opener interface {
	Open(dsn pipelines.DSN, env pipelines.Env) (db *sql.DB, local bool, err error)
}

// Transient is implemented by dialects that recognise passing faults of
// their database: a connection closed or reset, the server shutting down
// or starting up, a serialisation failure.
type Transient interface {
	Transient(err error) bool
}

// MissingRelation is implemented by dialects that recognise the error of a
// query on a table (or schema) that does not exist.
type MissingRelation interface {
	MissingRelation(err error) bool
}

// Retryable implements pipelines.Retrier through the dialect.
func (s *Source) Retryable(err error) bool {
	if t, ok := s.dialect.(Transient); ok && err != nil {
		return t.Transient(err)
	}
	return false
}

// QueryOptions are a stream's settings that decoding needs.
type QueryOptions struct {
	// Location is the zone of timestamps stored without one.
	Location *time.Location
}

// ColumnInfo is one result column.
type ColumnInfo struct {
	Name string
	// DBType is the column's type as the database names it.
	DBType string
	// Col is the lake column it maps to, when Err is nil.
	Col pipelines.Column
	// Err says why the type is not supported.
	Err error
}

// Cursor reads a query's rows into batches.
type Cursor interface {
	// Columns describes the result.
	Columns() []ColumnInfo
	// Next appends the next row to b (one value per column, then EndRow)
	// and reports whether there was one. A row with a value that does not
	// fit its lake column is appended with that value NULL and the error
	// is a *ValueError: the caller reads what it needs (the watermark) and
	// drops the row with Truncate; the cursor can go on.
	Next(b *pipelines.Batch) (bool, error)
	// Text is the current row's value of column i as text, for
	// quarantine records and keys.
	Text(i int) string
}

// ValueError is a value that does not fit its lake column.
type ValueError struct {
	Column string
	Err    error
}

// Error is "column name: reason", the quarantine reason.
func (e *ValueError) Error() string { return "column " + e.Column + ": " + e.Err.Error() }

// Source is a SQL database source.
type Source struct {
	cfg     pipelines.SourceConfig
	dialect Dialect
	db      *sql.DB
	local   bool
}

// WriterThreads implements pipelines.WriterThreads: with the database
// server on this machine, the writer leaves it a core (on two cores this
// is 15% faster than encoding columns on both: measured with make bench).
func (s *Source) WriterThreads() int {
	if s.local {
		return max(1, runtime.GOMAXPROCS(0)-1)
	}
	return 0
}

// New opens a SQL source; the connection is made lazily on first use.
func New(d Dialect, cfg pipelines.SourceConfig, env pipelines.Env) (*Source, error) {
	dsn, err := pipelines.ExpandDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Name, err)
	}
	s := &Source{cfg: cfg, dialect: d}
	var db *sql.DB
	if o, ok := d.(Opener); ok {
		db, s.local, err = o.Open(dsn, env)
	} else {
		db, err = sql.Open(d.DriverName(), d.DSN(dsn.Expanded(), env))
	}
	if err != nil {
		return nil, redact(fmt.Errorf("source %s: opening database: %w", cfg.Name, err))
	}
	db.SetMaxOpenConns(4)
	s.db = db
	return s, nil
}

// DB is the source's connection pool.
func (s *Source) DB() *sql.DB { return s.db }

// Close implements pipelines.Source.
func (s *Source) Close() error { return s.db.Close() }

// redact hides the secrets the DSN drew from the environment (in any
// form, see package secret) and any password= or URL password in err's
// text; errors.Is and errors.As still see the original error.
func redact(err error) error {
	if err == nil {
		return nil
	}
	if msg := pipelines.Redact(err.Error()); msg != err.Error() {
		err = &redactedError{msg: msg, err: err}
	}
	return secret.Error(err)
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

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
		}{{st.Path != "", "path"}, {st.Encoding != "", "encoding"}, {st.Delimiter != "", "delimiter"}, {st.Quote != "", "quote"},
			{len(st.Columns) > 0, "columns"}, {st.OnFileChange != "", "on_file_change"}} {
			if k.set {
				report(p+"."+k.key, "not used by SQL sources")
			}
		}
		if st.Lookback.Given() && st.Watermark == "" {
			report(p+".lookback", "needs a watermark column")
		}
		switch st.NullWatermark {
		case "", pipelines.NullLoad, pipelines.NullQuarantine, pipelines.NullFail:
			if st.NullWatermark != "" && st.Watermark == "" {
				report(p+".null_watermark", "needs a watermark column")
			}
		default:
			report(p+".null_watermark", fmt.Sprintf("%q is not a policy (expected load, quarantine or fail)", st.NullWatermark))
		}
		pipelines.ValidateCommon(st, p, report)
	}
}

// from is the stream's relation in a FROM clause.
func (s *Source) from(st pipelines.StreamConfig) string {
	if st.Table != "" {
		parts := strings.Split(st.Table, ".")
		for i, p := range parts {
			parts[i] = s.dialect.QuoteIdent(p)
		}
		return strings.Join(parts, ".")
	}
	return "(" + strings.TrimRight(strings.TrimSpace(st.Query), "; \n\t") + ") AS q"
}

func origin(st pipelines.StreamConfig) string {
	if st.Table != "" {
		return "table " + st.Table
	}
	return "query of stream " + st.Name
}

// describe returns the stream's columns without reading a row.
func (s *Source) describe(ctx context.Context, st pipelines.StreamConfig, o QueryOptions) ([]ColumnInfo, error) {
	var cols []ColumnInfo
	err := s.dialect.Query(ctx, s.db, "SELECT * FROM "+s.from(st)+" WHERE 1 = 0", nil, o, func(c Cursor) error {
		cols = c.Columns()
		return nil
	})
	if err != nil {
		if m, ok := s.dialect.(MissingRelation); ok && m.MissingRelation(err) {
			what := origin(st)
			if st.Table != "" {
				what = "table " + st.Table + " of source " + s.cfg.Name
			}
			return nil, pipelines.Missing("%s does not exist (%v): check the name, or set optional: true on the stream if it may be absent", what, err)
		}
		return nil, fmt.Errorf("reading the columns of %s: %w", origin(st), err)
	}
	return cols, nil
}

// Extract implements pipelines.Source.
func (s *Source) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) (err error) {
	defer func() { err = redact(err) }()
	o := QueryOptions{Location: st.Location()}
	cols, err := s.describe(ctx, st, o)
	if err != nil {
		return err
	}
	schema := make(pipelines.Schema, len(cols))
	for i, c := range cols {
		if c.Err != nil {
			return fmt.Errorf("%s: column %s has type %s, which crmwh cannot load: %v", origin(st), c.Name, c.DBType, c.Err)
		}
		schema[i] = c.Col
		schema[i].Name = c.Name
	}
	x := &extraction{src: s, st: st, state: state, sink: sink, opts: o, cols: cols, schema: schema, origin: origin(st), wmIdx: -1}
	if err := x.prepare(); err != nil {
		return err
	}
	if st.Watermark != "" && st.NullPolicy() == pipelines.NullFail {
		if err := x.failOnNulls(ctx); err != nil {
			return err
		}
	}
	if err := x.load(ctx); err != nil {
		return err
	}
	if st.Watermark != "" && st.NullPolicy() != pipelines.NullFail {
		return x.loadNulls(ctx)
	}
	return nil
}

// extraction is one run of one stream.
type extraction struct {
	src    *Source
	st     pipelines.StreamConfig
	state  pipelines.State
	sink   pipelines.Sink
	opts   QueryOptions
	cols   []ColumnInfo
	schema pipelines.Schema
	origin string
	wmIdx  int
	keyIdx []int
	wmType pipelines.Type
	// span is the look-back in watermark units (µs, days or values); 0
	// still re-reads the rows at the watermark (ties).
	span int64
}

func (x *extraction) prepare() error {
	st := x.st
	for _, k := range st.PrimaryKey {
		i := x.schema.Index(k)
		if i < 0 {
			return fmt.Errorf("%s: primary_key column %q is not among the columns", x.origin, k)
		}
		x.keyIdx = append(x.keyIdx, i)
	}
	if st.Watermark == "" {
		return nil
	}
	if x.wmIdx = x.schema.Index(st.Watermark); x.wmIdx < 0 {
		return fmt.Errorf("%s: watermark column %q is not among the columns", x.origin, st.Watermark)
	}
	x.wmType = x.schema[x.wmIdx].Type
	lb := st.LookbackFor(x.wmType)
	switch x.wmType {
	case pipelines.TypeTimestamp:
		if lb.Count > 0 {
			return fmt.Errorf("%s: lookback %s is a number, but the watermark column %s is a timestamp: give a duration such as 2h", x.origin, lb, st.Watermark)
		}
		x.span = lb.Duration.Microseconds()
	case pipelines.TypeDate:
		if lb.Count > 0 {
			return fmt.Errorf("%s: lookback %s is a number, but the watermark column %s is a date: give a duration such as 3d", x.origin, lb, st.Watermark)
		}
		day := int64(24 * time.Hour)
		x.span = (int64(lb.Duration) + day - 1) / day
	case pipelines.TypeInt64:
		if lb.Duration > 0 {
			return fmt.Errorf("%s: lookback %s is a duration, but the watermark column %s is an integer: give a number of values such as 1000", x.origin, lb, st.Watermark)
		}
		x.span = lb.Count
	default:
		return fmt.Errorf("%s: watermark column %q has type %s; use a timestamp, a date or an increasing integer", x.origin, st.Watermark, x.wmType)
	}
	if w := x.state.Watermark; w != nil {
		if w.Column != st.Watermark || w.Type != x.wmType {
			return fmt.Errorf("%s: the lake's watermark is column %s (%s) but the stream now names %s (%s); "+
				"nothing is reloaded on its own: run `crmwh state reset %s` (or `crmwh extract --full`) to reload the stream with the new watermark",
				x.origin, w.Column, w.Type, st.Watermark, x.wmType, x.streamName())
		}
	}
	return nil
}

func (x *extraction) streamName() string { return x.st.Name }

// units converts a canonical watermark value to the in-batch integer (µs,
// days or the integer itself).
func (x *extraction) units(v string) (int64, error) {
	switch x.wmType {
	case pipelines.TypeInt64:
		return strconv.ParseInt(v, 10, 64)
	default:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return 0, err
		}
		if x.wmType == pipelines.TypeDate {
			return pipelines.DaysSinceEpoch(t.UTC()), nil
		}
		return t.UnixMicro(), nil
	}
}

// canonical renders an in-batch watermark as Watermark.Value.
func (x *extraction) canonical(u int64) string {
	switch x.wmType {
	case pipelines.TypeInt64:
		return strconv.FormatInt(u, 10)
	case pipelines.TypeDate:
		return pipelines.DateOfDays(u).Format(time.RFC3339Nano)
	default:
		return pipelines.TimeOfMicros(u).Format(time.RFC3339Nano)
	}
}

func (x *extraction) arg(u int64) (any, error) {
	return x.src.dialect.WatermarkArg(pipelines.Watermark{Column: x.st.Watermark, Type: x.wmType, Value: x.canonical(u)}, x.cols[x.wmIdx], x.opts)
}

// failOnNulls implements null_watermark: fail.
func (x *extraction) failOnNulls(ctx context.Context) error {
	var n int
	q := "SELECT * FROM " + x.src.from(x.st) + " WHERE " + x.src.dialect.QuoteIdent(x.st.Watermark) + " IS NULL"
	err := x.src.dialect.Query(ctx, x.src.db, q, nil, x.opts, func(c Cursor) error {
		b := pipelines.NewBatch(x.schema)
		for {
			more, err := c.Next(b)
			var ve *ValueError
			if err != nil && !errors.As(err, &ve) {
				return err
			}
			if !more {
				return nil
			}
			n++
			b.Truncate(0)
		}
	})
	if err != nil {
		return fmt.Errorf("%s: counting rows with a NULL watermark: %w", x.origin, err)
	}
	if n > 0 {
		return fmt.Errorf("%s: %d row(s) have NULL in the watermark column %s and the stream's null_watermark is fail; "+
			"fill the column, or set null_watermark: load (a snapshot re-read every run) or quarantine", x.origin, n, x.st.Watermark)
	}
	return nil
}

type windowEntry struct {
	wm   int64
	hash [16]byte
}

// load reads the rows after the watermark (or the whole table) in
// watermark order and commits them in units.
func (x *extraction) load(ctx context.Context) error {
	st, src := x.st, x.src
	q := "SELECT * FROM " + src.from(st)
	var args []any
	// Every watermark stream re-reads from its window (at least the rows
	// at the watermark: a row committed after the last run with the same
	// watermark value as the last row it read) and skips what it already
	// loaded by row hash.
	lookback := x.wmIdx >= 0
	var seen map[[16]byte]struct{}
	// The window remembers rows by the hash of all their values (a row
	// changed in place is a new version), trailing NULLs left out (a
	// column added to the table does not make old rows new). A window
	// saved by an older crmwh is checked with its own hash, once.
	seenKind := pipelines.WindowRow
	// coverFrom is the lowest watermark from which this run reads every
	// row: rows from it up are in the window it saves.
	coverFrom := int64(-1 << 63)
	var last int64 // the watermark so far, in units
	haveLast := false
	var start int64 // the watermark the run started from
	haveStart := false
	if x.wmIdx >= 0 {
		wm := src.dialect.QuoteIdent(st.Watermark)
		q += " WHERE " + wm + " IS NOT NULL"
		if w := x.state.Watermark; w != nil {
			u, err := x.units(w.Value)
			if err != nil {
				return fmt.Errorf("%s: the lake's watermark %q is unreadable: %w", x.origin, w.Value, err)
			}
			last, haveLast = u, true
			start, haveStart = u, true
			lower, op := u, ">"
			if lookback && x.state.Window != nil && x.state.Window.From != "" {
				from, err := x.units(x.state.Window.From)
				if err != nil {
					return fmt.Errorf("%s: the lake's look-back window is unreadable: %w", x.origin, err)
				}
				lower, op = max(u-x.span, from), ">="
				seen = x.state.Window.HashSet()
				seenKind = x.state.Window.Kind
			}
			if op == ">" {
				coverFrom = u + 1
			} else {
				coverFrom = lower
			}
			arg, err := x.arg(lower)
			if err != nil {
				return err
			}
			q += " AND " + wm + " " + op + " " + src.dialect.Placeholder(1)
			args = append(args, arg)
		}
		q += " ORDER BY " + wm
	}

	var (
		u         pipelines.Unit
		err       error
		window    []windowEntry
		head      int
		sinceUnit int64
		reread    int64
		dups      int64
	)
	commitEvery := st.CommitEvery()
	begin := func() error {
		u, err = x.sink.Begin(x.schema, x.origin)
		return err
	}
	if err := begin(); err != nil {
		return err
	}
	defer func() {
		if u != nil {
			u.Abort()
		}
	}()
	// commit writes the batch's rows and commits them with the watermark
	// so far.
	commit := func(b *pipelines.Batch) error {
		if err := u.WriteBatch(b); err != nil {
			return err
		}
		if err := pipelines.CheckBadRatio(x.sink, st); err != nil {
			return fmt.Errorf("%s: %w", x.origin, err)
		}
		ch := pipelines.StateChange{}
		if x.wmIdx >= 0 && haveLast {
			ch.Watermark = &pipelines.Watermark{Column: st.Watermark, Type: x.wmType, Value: x.canonical(last)}
			from := max(last-x.span, coverFrom)
			w := &pipelines.Window{From: x.canonical(from), Kind: pipelines.WindowRow}
			for _, e := range window[head:] {
				// Rows above last are not committed yet.
				if e.wm >= from && e.wm <= last {
					w.Hashes = append(w.Hashes, e.hash[:]...)
				}
			}
			ch.Window = w
		}
		err := u.Commit(ch)
		u = nil
		return err
	}

	const batchRows = 8192
	err = src.dialect.Query(ctx, src.db, q, args, x.opts, func(c Cursor) error {
		b := pipelines.NewBatch(x.schema)
		carry := pipelines.NewBatch(x.schema)
		for {
			more, err := c.Next(b)
			var ve *ValueError
			bad := errors.As(err, &ve)
			if err != nil && !bad {
				return fmt.Errorf("reading %s: %w", x.origin, err)
			}
			if !more {
				break
			}
			i := b.Len() - 1
			// A bad row still moves the watermark and the window (when its
			// watermark could be read), so it is quarantined once, not on
			// every run.
			if x.wmIdx >= 0 && !b.Cols[x.wmIdx].Null[i] {
				wm := b.Cols[x.wmIdx].Ints[i]
				if lookback {
					h := b.HashOf(i, nil, true)
					check := h
					if seenKind != pipelines.WindowRow {
						check = b.RowHash(i)
					}
					if haveStart && wm <= start {
						reread++
					}
					window = append(window, windowEntry{wm, h})
					// Drop what no commit will keep: below the window of the
					// watermark so far (not of this row's, which a commit
					// before it does not reach).
					for haveLast && head < len(window) && window[head].wm < last-x.span {
						head++
					}
					if head > 4096 && head > len(window)/2 {
						window = append(window[:0], window[head:]...)
						head = 0
					}
					if _, dup := seen[check]; dup {
						dups++
						b.Truncate(i)
						continue
					}
				}
				if sinceUnit >= commitEvery && haveLast && wm > last {
					// A change of watermark value: everything at or below
					// last is read, so it can be committed. This row goes
					// into the next unit.
					carry.Reset()
					carry.AppendRowOf(b, i)
					b.Truncate(i)
					if err := commit(b); err != nil {
						return err
					}
					b.AppendRowOf(carry, 0)
					i = 0
					sinceUnit = 0
					if err := begin(); err != nil {
						return err
					}
				}
				if !haveLast || wm > last {
					last, haveLast = wm, true
				}
			}
			if bad {
				b.Truncate(i)
				if err := u.Quarantine(pipelines.BadRow{Origin: x.origin, Key: x.key(c), Reason: ve.Error(), Raw: x.raw(c)}); err != nil {
					return err
				}
				continue
			}
			sinceUnit++
			if b.Len() >= batchRows {
				x.sink.AddBytes(int64(b.Bytes()))
				if err := u.WriteBatch(b); err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		x.sink.AddBytes(int64(b.Bytes()))
		return commit(b)
	})
	if reread > 0 || dups > 0 {
		x.sink.Count("lookback_reread", reread)
		x.sink.Count("lookback_duplicates", dups)
	}
	return err
}

// loadNulls reads the rows whose watermark is NULL into the stream's
// null_watermark snapshot (policy load) or its quarantine (policy
// quarantine), replacing the previous run's.
func (x *extraction) loadNulls(ctx context.Context) error {
	src, st := x.src, x.st
	q := "SELECT * FROM " + src.from(st) + " WHERE " + src.dialect.QuoteIdent(st.Watermark) + " IS NULL"
	u, err := x.sink.BeginSnapshot("null_watermark", x.schema, x.origin)
	if err != nil {
		return err
	}
	defer func() {
		if u != nil {
			u.Abort()
		}
	}()
	quarantine := st.NullPolicy() == pipelines.NullQuarantine
	err = src.dialect.Query(ctx, src.db, q, nil, x.opts, func(c Cursor) error {
		b := pipelines.NewBatch(x.schema)
		for {
			more, err := c.Next(b)
			var ve *ValueError
			switch {
			case errors.As(err, &ve):
				b.Truncate(b.Len() - 1)
				if err := u.Quarantine(pipelines.BadRow{Origin: x.origin, Key: x.key(c), Reason: ve.Error(), Raw: x.raw(c)}); err != nil {
					return err
				}
				continue
			case err != nil:
				return fmt.Errorf("reading %s: %w", x.origin, err)
			case !more:
				return u.WriteBatch(b)
			}
			if quarantine {
				b.Truncate(b.Len() - 1)
				reason := fmt.Sprintf("watermark column %s is NULL (null_watermark: quarantine; the row is read again every run)", st.Watermark)
				if err := u.Quarantine(pipelines.BadRow{Origin: x.origin, Key: x.key(c), Reason: reason, Raw: x.raw(c)}); err != nil {
					return err
				}
				continue
			}
			if b.Len() >= 8192 {
				if err := u.WriteBatch(b); err != nil {
					return err
				}
				b.Reset()
			}
		}
	})
	if err != nil {
		return err
	}
	err = u.Commit(pipelines.StateChange{})
	u = nil
	return err
}

func (x *extraction) key(c Cursor) string {
	parts := make([]string, len(x.keyIdx))
	for i, j := range x.keyIdx {
		parts[i] = c.Text(j)
	}
	return strings.Join(parts, ",")
}

func (x *extraction) raw(c Cursor) string {
	var sb strings.Builder
	for i, col := range x.cols {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(col.Name)
		sb.WriteByte('=')
		sb.WriteString(c.Text(i))
		if sb.Len() > 4096 {
			break
		}
	}
	return sb.String()
}
