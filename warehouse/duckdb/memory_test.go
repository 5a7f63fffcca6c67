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
	require.Equal(t, "404.0 MiB", limit(duckdb.Options{}), "half of what is left after the fixed 192 MiB (45% would be 450 MiB)")
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

// DuckDB gets 45% of a large budget; a small one first keeps the fixed
// 192 MiB the process holds under neither limit, and DuckDB gets half of
// the rest (never under 20%).
func TestDuckDBLimitKeepsTheFixedReserve(t *testing.T) {
	for _, c := range []struct{ budget, want int64 }{
		{3 << 30, 3 << 30 * 45 / 100},              // 1382.4 MiB: 45%
		{2 << 30, 2 << 30 * 45 / 100},              // 921.6 MiB: 45% (half the rest would be 928)
		{1920 << 20, 864 << 20},                    // where the two meet
		{500_000_000, (500_000_000 - 192<<20) / 2}, // 142.4 MiB, not 214.6
		{256 << 20, 256 << 20 / 5},                 // 20%: half the rest would be 32 MiB
	} {
		require.InDelta(t, c.want, duckdb.DuckDBLimit(c.budget), 1, "budget %d", c.budget)
	}
}

// Every database frees what its finished queries no longer hold from a
// background thread of its allocator.
func TestOpenReturnsFreedMemory(t *testing.T) {
	db, err := duckdb.Open(filepath.Join(t.TempDir(), "w.duckdb"), duckdb.Options{})
	require.NoError(t, err)
	defer db.Close()
	var v bool
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT current_setting('allocator_background_threads')").Scan(&v))
	require.True(t, v)
}
