package duckdb_test

import (
	"context"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/duckdb"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"3GB", 3e9}, {"500MB", 500e6}, {"2GiB", 2 << 30}, {"1.5 GB", 1.5e9}, {"512mib", 512 << 20}, {"1048576", 1 << 20}, {"64KiB", 64 << 10},
	} {
		got, err := duckdb.ParseSize(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"", "GB", "3 parsecs", "-1GB", "lots"} {
		_, err := duckdb.ParseSize(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "is not a size such as 3GB", bad)
	}
}

func TestDefaultMemoryBudgetIsCapped(t *testing.T) {
	b := duckdb.DefaultMemoryBudget()
	require.LessOrEqual(t, b, int64(duckdb.DefaultBudgetCap))
	require.GreaterOrEqual(t, b, int64(duckdb.MinBudget))
}

// A process's memory budget reaches every database opened without a limit
// of its own (DuckDB's share) and the Go runtime (its share); an explicit
// limit still wins.
func TestMemoryBudgetAppliesToEveryOpen(t *testing.T) {
	t.Cleanup(func() { duckdb.SetMemoryBudget(-1) })
	duckdb.SetMemoryBudget(1000 << 20)
	require.Equal(t, int64(250<<20), debug.SetMemoryLimit(-1))

	limit := func(o duckdb.Options) string {
		db, err := duckdb.Open(filepath.Join(t.TempDir(), "w.duckdb"), o)
		require.NoError(t, err)
		defer db.Close()
		var v string
		require.NoError(t, db.QueryRowContext(context.Background(), "SELECT current_setting('memory_limit')").Scan(&v))
		return v
	}
	require.Equal(t, "450.0 MiB", limit(duckdb.Options{}), "DuckDBShare of the budget")
	require.Equal(t, "1.8 GiB", limit(duckdb.Options{MemoryLimit: "2GB"}))

	// Under SingleThreadBelow, DuckDB runs one thread unless told
	// otherwise; above it, its default (one per core).
	threads := func(o duckdb.Options) int64 {
		db, err := duckdb.Open(filepath.Join(t.TempDir(), "w.duckdb"), o)
		require.NoError(t, err)
		defer db.Close()
		var v int64
		require.NoError(t, db.QueryRowContext(context.Background(), "SELECT current_setting('threads')").Scan(&v))
		return v
	}
	require.Equal(t, int64(1), threads(duckdb.Options{}))
	require.Equal(t, int64(2), threads(duckdb.Options{Threads: 2}))
	duckdb.SetMemoryBudget(4 << 30)
	require.Equal(t, int64(runtime.NumCPU()), threads(duckdb.Options{}))
}
