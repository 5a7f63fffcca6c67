package duckdb

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The memory budget of a crmwh process (crmwh.yaml build.memory_limit) is
// shared between DuckDB, which spills to disk when it reaches its part,
// and the Go heap (the CLV step, extraction, rendering), whose part is the
// Go runtime's soft limit. DuckDB's own limit does not cover everything it
// allocates (its code, per-thread buffers, results on their way out), so
// it gets a little less than its part would suggest.
const (
	// DuckDBShare is the part of the budget DuckDB's memory_limit gets.
	DuckDBShare = 0.45
	// GoShare is the part of the budget the Go heap gets (its soft limit,
	// debug.SetMemoryLimit).
	GoShare = 0.25
	// FixedReserve is what a crmwh process holds whatever its budget,
	// under neither limit: the binary's code in memory (75 to 115 MiB
	// resident), DuckDB's allocations outside its memory_limit and the
	// Go runtime's own. On a small budget DuckDB's part comes out of
	// what is left after it: with DuckDBShare of a 500 MB budget, a
	// 50,000-customer build peaked between 370 and 510 MiB from run to
	// run (docs/warehouse.md, Memory).
	FixedReserve = 192 << 20
	// SmallBudgetShare is DuckDB's part of what a small budget has left
	// after FixedReserve; budgets from 1.875 GiB up get DuckDBShare.
	SmallBudgetShare = 0.5
	// MinDuckDBShare is DuckDB's part of the smallest budgets.
	MinDuckDBShare = 0.2
	// DefaultBudgetCap is the largest default budget: enough for a
	// 5-million-customer company, and what a 2-core, 8 GB machine can
	// give a build while the operating system and the page cache keep
	// the rest.
	DefaultBudgetCap = 3 << 30
	// DefaultBudgetShare is the share of the machine's memory (or of the
	// container's limit) the default budget takes on small machines.
	DefaultBudgetShare = 0.4
	// MinBudget is the smallest budget crmwh accepts.
	MinBudget = 128 << 20
)

// SingleThreadBelow is the DuckDB limit under which databases run one
// worker thread: DuckDB 1.4.3's parallel hash aggregation crashed the
// process (SIGSEGV, or "Attempting to combine TupleDataCollection with
// mismatching types") when its threads' partitions spilled under a few
// hundred megabytes. A budget that small is a small machine, where one
// thread costs little.
const SingleThreadBelow = 1 << 30

var (
	budgetMu      sync.Mutex
	duckdbLimit   string // the memory_limit Open uses when Options has none
	duckdbThreads int    // the threads Open uses when Options has none (0: DuckDB's default)
)

// DefaultMemoryBudget is the budget when crmwh.yaml sets none: 40 % of the
// memory the process may use (the machine's, or a smaller cgroup limit, as
// in a container), at most 3 GiB.
func DefaultMemoryBudget() int64 {
	avail := physicalMemory()
	if c := cgroupLimit(); c > 0 && (avail == 0 || c < avail) {
		avail = c
	}
	if avail == 0 {
		return DefaultBudgetCap
	}
	b := int64(float64(avail) * DefaultBudgetShare)
	return max(min(b, DefaultBudgetCap), MinBudget)
}

// SetMemoryBudget makes total bytes the memory budget of this process:
// every database Open opens without a MemoryLimit of its own gets
// DuckDBShare of it, and the Go runtime's soft limit becomes GoShare of
// it. Zero means DefaultMemoryBudget; a negative total removes the budget
// (DuckDB's default limit, no Go limit).
func SetMemoryBudget(total int64) {
	if total < 0 {
		budgetMu.Lock()
		duckdbLimit, duckdbThreads = "", 0
		budgetMu.Unlock()
		debug.SetMemoryLimit(math.MaxInt64)
		return
	}
	if total == 0 {
		total = DefaultMemoryBudget()
	}
	budgetMu.Lock()
	duckdbLimit = FormatSize(DuckDBLimit(total))
	duckdbThreads = 0
	if DuckDBLimit(total) < SingleThreadBelow {
		duckdbThreads = 1
	}
	budgetMu.Unlock()
	debug.SetMemoryLimit(int64(float64(total) * GoShare))
}

// DuckDBLimit is DuckDB's part of a budget, in bytes: DuckDBShare of it,
// but on a small budget no more than SmallBudgetShare of what is left
// after FixedReserve (and never under MinDuckDBShare of it).
func DuckDBLimit(total int64) int64 {
	share := float64(total) * DuckDBShare
	small := float64(total-FixedReserve) * SmallBudgetShare
	return int64(max(min(share, small), float64(total)*MinDuckDBShare))
}

// defaultThreads is the threads setting for an Open without one (0:
// DuckDB's default).
func defaultThreads() int {
	budgetMu.Lock()
	defer budgetMu.Unlock()
	return duckdbThreads
}

// defaultMemoryLimit is the memory_limit for an Open without one ("" when
// no budget was set: DuckDB's default, 80 % of the machine's memory).
func defaultMemoryLimit() string {
	budgetMu.Lock()
	defer budgetMu.Unlock()
	return duckdbLimit
}

// ParseSize reads a size such as 3GB, 500MB, 2GiB or 1.5GB (KB, MB, GB,
// TB are powers of 1000, KiB, MiB, GiB, TiB of 1024, as in DuckDB; a bare
// number is bytes).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || v < 0 || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a size such as 3GB or 500MB", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1, "bytes": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("%q is not a size such as 3GB or 500MB (units: KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	return int64(v * mult), nil
}

// FormatSize writes a size in MiB as DuckDB reads it ("2048MiB").
func FormatSize(b int64) string { return fmt.Sprintf("%dMiB", max(b>>20, 1)) }

// physicalMemory is the machine's memory in bytes (0 when unknown).
func physicalMemory() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

// cgroupLimit is the memory limit of the process's cgroup (v2, then v1),
// or 0 when there is none.
func cgroupLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v >= 1<<60 {
			return 0
		}
		return v
	}
	return 0
}
