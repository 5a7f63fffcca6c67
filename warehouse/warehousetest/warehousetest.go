// Package warehousetest helps tests read DuckDB files and Parquet files
// through a real DuckDB, so that tests read like the behaviour they check.
package warehousetest

import (
	"context"
	"database/sql"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// Open opens a DuckDB file (read-only when it exists and readOnly is set;
// "" is an in-memory database) and closes it when the test ends.
func Open(t testing.TB, path string, readOnly bool) *sql.DB {
	t.Helper()
	db, err := duckdb.Open(path, duckdb.Options{ReadOnly: readOnly})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// Rows runs a query and returns every row as text (FormatValue; NULL is
// "NULL" so it differs from an empty string).
func Rows(t testing.TB, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	require.NoError(t, err, q)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		rec := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				rec[i] = "NULL"
			} else {
				rec[i] = duckdb.FormatValue(v)
			}
		}
		out = append(out, rec)
	}
	require.NoError(t, rows.Err())
	return out
}

// Scalar runs a query returning one value and gives it as text.
func Scalar(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rs := Rows(t, db, q, args...)
	require.Len(t, rs, 1, q)
	require.Len(t, rs[0], 1, q)
	return rs[0][0]
}

// Int runs a query returning one integer.
func Int(t testing.TB, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow(q, args...).Scan(&n), q)
	return n
}

// Exec runs statements, failing the test on the first error.
func Exec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

// RunModels creates the named models of a project's sql/ folder as tables
// in db, in dependency order, on top of whatever tables the test made by
// hand (the models' inputs). It is how hand-built fixtures test the real
// model SQL.
func RunModels(t testing.TB, db *sql.DB, fsys fs.FS, names ...string) {
	t.Helper()
	ms, err := models.Discover(fsys, "sql")
	require.NoError(t, err)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var picked []*models.Model
	for _, m := range ms {
		if want[m.Name] {
			picked = append(picked, m)
			delete(want, m.Name)
		}
	}
	require.Empty(t, want, "no such models")
	external := map[string]bool{}
	rows, err := db.Query("SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal")
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		external[n] = true
	}
	rows.Close()
	require.NoError(t, models.Resolve(context.Background(), db, picked, nil, external))
	ordered, err := models.Order(picked)
	require.NoError(t, err)
	for _, m := range ordered {
		Exec(t, db, "CREATE OR REPLACE TABLE "+duckdb.QuoteIdent(m.Name)+" AS\n"+m.SQL)
	}
}
