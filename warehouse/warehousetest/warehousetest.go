// Package warehousetest helps tests read DuckDB files and Parquet files
// through a real DuckDB, so that tests read like the behaviour they check.
package warehousetest

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/duckdb"
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
