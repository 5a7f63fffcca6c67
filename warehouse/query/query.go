// Package query runs an analyst's SQL against the published warehouse,
// read-only, and writes the result as an aligned table, CSV or JSON.
package query

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"crmwh/warehouse/duckdb"
)

// Formats lists the output formats.
var Formats = []string{"table", "csv", "json", "parquet"}

// CopyParquet writes a query's result to a Parquet file with DuckDB's own
// writer (zstd), which also works on a read-only connection.
func CopyParquet(ctx context.Context, db *sql.DB, q, path string) (int64, error) {
	q = strings.TrimRight(strings.TrimSpace(q), ";")
	res, err := db.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", q, duckdb.QuoteString(path)))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Result is a query's columns and rows.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Run executes one query on db and reads all rows.
func Run(ctx context.Context, db *sql.DB, q string) (*Result, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
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
	return res, rows.Err()
}

// Write writes the result in a format.
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "", "table":
		return r.writeTable(w)
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
		out := make([]map[string]any, len(r.Rows))
		for i, row := range r.Rows {
			m := make(map[string]any, len(row))
			for j, v := range row {
				m[r.Columns[j]] = duckdb.JSONValue(v)
			}
			out[i] = m
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return fmt.Errorf("unknown format %q (expected one of: %s)", format, strings.Join(Formats, ", "))
}

// writeTable aligns columns; numbers are right-aligned. Wide (CJK)
// characters count as two columns.
func (r *Result) writeTable(w io.Writer) error {
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
	fmt.Fprintf(&b, "(%d rows)\n", len(r.Rows))
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
