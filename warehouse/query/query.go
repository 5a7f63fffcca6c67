// Package query runs SQL that a user wrote against the warehouse or the
// lake, in DuckDB's sandbox (warehouse/duckdb.Sandbox): read-only, one
// SELECT at a time, no file outside the warehouse and the lake. It writes
// results as an aligned table, CSV, JSON or Parquet. `crmwh sql`, the
// dashboards and the data tests all go through it.
package query

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
)

// Formats lists the output formats.
var Formats = []string{"table", "csv", "json", "parquet"}

// Session is an open, sandboxed database that user SQL runs on.
type Session struct {
	DB *sql.DB
	// What describes what the session reads, for messages: "the published
	// warehouse data/crmwh.duckdb", "the lake data/lake".
	What string
	// Dirs are the folders the SQL may read besides the database.
	Dirs []string

	scratch string // a private folder; scratch/out.parquet is writable
}

// OpenWarehouse opens a warehouse file (the published one, its previous
// version, or a failed build's) read-only in the sandbox: its SQL reads the
// file and, through the raw views, the lake folder. what names it in
// messages.
func OpenWarehouse(path, lakeDir, what string) (*Session, error) {
	s := &Session{What: what, Dirs: []string{lakeDir}}
	if err := s.makeScratch(); err != nil {
		return nil, err
	}
	// Large queries spill into the session's own folder, not beside the
	// warehouse file.
	db, err := duckdb.OpenSandbox(path, duckdb.Sandbox{Dirs: s.Dirs, Files: []string{s.scratchFile()}}, duckdb.Options{TempDir: filepath.Join(s.scratch, "spill")})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.DB = db
	return s, nil
}

// ErrNoLake is returned by OpenLake when nothing was extracted yet.
var ErrNoLake = errors.New("no lake yet")

// OpenLake opens an in-memory database with the lake's current streams as
// raw.<source>_<stream> views (and raw.<source>_<stream>__quarantine,
// raw.quarantine), read-only in the sandbox: what was extracted can be
// looked at before, or without, a build.
func OpenLake(ctx context.Context, lakeDir string) (*Session, error) {
	if _, err := os.Stat(filepath.Join(lakeDir, "_manifest")); err != nil {
		return nil, fmt.Errorf("%w: %s has no lake manifest (run `crmwh extract` first)", ErrNoLake, lakeDir)
	}
	l, err := lake.Open(lakeDir)
	if err != nil {
		return nil, err
	}
	ms, err := l.Manifests()
	if err != nil {
		return nil, err
	}
	s := &Session{What: "the lake " + l.Dir, Dirs: []string{l.Dir}}
	if err := s.makeScratch(); err != nil {
		return nil, err
	}
	db, err := duckdb.Open("", duckdb.Options{TempDir: filepath.Join(s.scratch, "spill")})
	if err != nil {
		s.Close()
		return nil, err
	}
	s.DB = db
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA raw"); err != nil {
		s.Close()
		return nil, err
	}
	if _, err := CreateRawViews(ctx, db, l, ms); err != nil {
		s.Close()
		return nil, err
	}
	if err := duckdb.Lockdown(ctx, db, duckdb.Sandbox{Dirs: s.Dirs, Files: []string{s.scratchFile()}}); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// CreateRawViews creates raw.<source>_<stream> over each stream's committed
// Parquet files, raw.<source>_<stream>__quarantine over its quarantined
// rows, and raw.quarantine over every stream's, and returns their names.
// The SQL of each view comes from the lake, which knows its files.
func CreateRawViews(ctx context.Context, db *sql.DB, l *lake.Lake, ms []*lake.StreamManifest) (map[string]bool, error) {
	out := map[string]bool{}
	views := []lake.View{}
	for _, m := range ms {
		views = append(views, l.RawViews(m)...)
	}
	views = append(views, l.QuarantineView(ms))
	for _, v := range views {
		stmt := fmt.Sprintf("CREATE OR REPLACE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL)
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("creating raw.%s: %w", v.Name, err)
		}
		out["raw."+v.Name] = true
	}
	return out, nil
}

func (s *Session) makeScratch() error {
	d, err := os.MkdirTemp("", "crmwh-sql-")
	if err != nil {
		return fmt.Errorf("creating a temporary folder: %w", err)
	}
	s.scratch = d
	return nil
}

func (s *Session) scratchFile() string { return filepath.Join(s.scratch, "out.parquet") }

// Close closes the database and removes the session's temporary files.
func (s *Session) Close() error {
	var err error
	if s.DB != nil {
		err = s.DB.Close()
	}
	if s.scratch != "" {
		os.RemoveAll(s.scratch)
	}
	return err
}

// Run checks that q is one SELECT statement and runs it.
func (s *Session) Run(ctx context.Context, q string) (*Result, error) {
	return run(ctx, s.DB, q, s.Dirs)
}

// CopyParquet writes a query's result to a Parquet file with DuckDB's own
// writer (zstd). DuckDB may write only a file in the session's private
// folder; the query is checked first and then wrapped in the COPY by crmwh,
// and Go moves the file to path.
func (s *Session) CopyParquet(ctx context.Context, q, path string) (int64, error) {
	if err := duckdb.CheckQuery(ctx, s.DB, q); err != nil {
		return 0, err
	}
	tmp := s.scratchFile()
	os.Remove(tmp)
	q = strings.TrimRight(strings.TrimSpace(q), ";")
	res, err := s.DB.ExecContext(ctx, fmt.Sprintf("COPY (\n%s\n) TO %s (FORMAT parquet, COMPRESSION zstd)", q, duckdb.QuoteString(tmp)))
	if err != nil {
		return 0, Explain(err, s.Dirs)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if err := moveFile(tmp, path); err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, err)
	}
	return n, nil
}

// moveFile moves src to dst, copying across file systems; dst appears
// whole or not at all.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(out.Name())
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(out.Name())
		return err
	}
	if err := os.Rename(out.Name(), dst); err != nil {
		os.Remove(out.Name())
		return err
	}
	return os.Remove(src)
}

// Explain turns an error of DuckDB's sandbox into one line that says what
// the SQL may read (the database and dirs, or when dirs are not known, the
// warehouse and the lake); it wraps duckdb.ErrNotAllowed.
// Other errors are returned as they are.
func Explain(err error, dirs []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	first, _, _ := strings.Cut(msg, "\n")
	switch {
	case strings.Contains(first, "Permission Error"), strings.Contains(first, "disabled through configuration"):
		where := "the warehouse and the lake"
		if len(dirs) > 0 {
			where = "the database and " + strings.Join(dirs, ", ")
		}
		return fmt.Errorf("%w: %s (this SQL may read only %s)", duckdb.ErrNotAllowed, first, where)
	case strings.Contains(first, "configuration has been locked"):
		return fmt.Errorf("%w: %s", duckdb.ErrNotAllowed, first)
	}
	return err
}

// Result is a query's columns and rows.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Run checks that q is one SELECT statement (duckdb.CheckQuery), runs it
// on db and reads all rows.
func Run(ctx context.Context, db *sql.DB, q string) (*Result, error) {
	return run(ctx, db, q, nil)
}

func run(ctx context.Context, db *sql.DB, q string, dirs []string) (*Result, error) {
	if err := duckdb.CheckQuery(ctx, db, q); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, Explain(err, dirs)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, vals)
	}
	return res, Explain(rows.Err(), dirs)
}

// Write writes the result in a format.
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "", "table":
		return r.writeTable(w, true)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(r.Columns); err != nil {
			return err
		}
		rec := make([]string, len(r.Columns))
		for _, row := range r.Rows {
			for i, v := range row {
				rec[i] = duckdb.FormatValue(v)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "json":
		return r.writeJSON(w)
	}
	return fmt.Errorf("unknown format %q (expected one of: %s)", format, strings.Join(Formats, ", "))
}

// writeJSON writes an array of objects whose keys come in the order of the
// query's columns (a Go map would sort them), one key a line.
func (r *Result) writeJSON(w io.Writer) error {
	s, err := r.json("\n  ", "\n    ")
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, s+"\n")
	return err
}

// JSON is the rows as one line of JSON: an array of objects whose keys come
// in the order of the columns.
func (r *Result) JSON() (string, error) { return r.json("", "") }

func (r *Result) json(rowIndent, keyIndent string) (string, error) {
	keys := make([][]byte, len(r.Columns))
	for j, c := range r.Columns {
		k, err := json.Marshal(c)
		if err != nil {
			return "", err
		}
		keys[j] = k
	}
	sep := ":"
	if keyIndent != "" {
		sep = ": "
	}
	var b strings.Builder
	b.WriteString("[")
	for i, row := range r.Rows {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(rowIndent + "{")
		for j, v := range row {
			if j > 0 {
				b.WriteString(",")
			}
			val, err := json.Marshal(duckdb.JSONValue(v))
			if err != nil {
				return "", fmt.Errorf("column %s: %w", r.Columns[j], err)
			}
			b.WriteString(keyIndent)
			b.Write(keys[j])
			b.WriteString(sep)
			b.Write(val)
		}
		if len(row) > 0 && rowIndent != "" {
			b.WriteString(rowIndent)
		}
		b.WriteString("}")
	}
	if len(r.Rows) > 0 && rowIndent != "" {
		b.WriteString("\n")
	}
	b.WriteString("]")
	return b.String(), nil
}

// Text is the rows as an aligned table without the row count: the cells
// as FormatValue writes them, numbers right-aligned.
func (r *Result) Text() string {
	var b strings.Builder
	_ = r.writeTable(&b, false)
	return b.String()
}

// writeTable aligns columns; numbers are right-aligned. Wide (CJK)
// characters count as two columns.
func (r *Result) writeTable(w io.Writer, count bool) error {
	cells := make([][]string, len(r.Rows))
	width := make([]int, len(r.Columns))
	numeric := make([]bool, len(r.Columns))
	for i, c := range r.Columns {
		width[i] = displayWidth(c)
		numeric[i] = true
	}
	for i, row := range r.Rows {
		cells[i] = make([]string, len(row))
		for j, v := range row {
			s := strings.ReplaceAll(duckdb.FormatValue(v), "\n", "\\n")
			cells[i][j] = s
			if dw := displayWidth(s); dw > width[j] {
				width[j] = dw
			}
			if _, ok := duckdb.DecimalFloat(v); !ok && v != nil {
				numeric[j] = false
			}
		}
	}
	pad := func(s string, j int) string {
		n := width[j] - displayWidth(s)
		if numeric[j] {
			return strings.Repeat(" ", n) + s
		}
		return s + strings.Repeat(" ", n)
	}
	var b strings.Builder
	for j, c := range r.Columns {
		if j > 0 {
			b.WriteString("  ")
		}
		b.WriteString(pad(c, j))
	}
	b.WriteString("\n")
	for j := range r.Columns {
		if j > 0 {
			b.WriteString("  ")
		}
		b.WriteString(strings.Repeat("-", width[j]))
	}
	b.WriteString("\n")
	for _, row := range cells {
		for j, s := range row {
			if j > 0 {
				b.WriteString("  ")
			}
			b.WriteString(pad(s, j))
		}
		b.WriteString("\n")
	}
	if count {
		fmt.Fprintf(&b, "(%d rows)\n", len(r.Rows))
	}
	_, err := io.WriteString(w, strings.ReplaceAll(b.String(), " \n", "\n"))
	return err
}

// displayWidth counts East Asian wide characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 || r >= 0xffe0 && r <= 0xffe6 ||
			r >= 0x20000 && r <= 0x3fffd) {
			n += 2
		} else if utf8.ValidRune(r) {
			n++
		}
	}
	return n
}
