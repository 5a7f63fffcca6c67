package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// A project's memory budget (build.memory_limit) holds for the whole
// crmwh process: on a 50,000-customer demo company under a budget of
// 500 MB (DuckDB gets 142 MiB of it and spills beyond), extraction, the
// first build with its data tests, the CLV fit, and an incremental build
// after a new day each finish with a peak resident memory, from the
// kernel, under 500 MB.
func TestEveryStepKeepsToTheMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("go test -short: this test generates a 50,000-customer demo company and builds it under a 500 MB budget (about 40 s); make test and CI run it without -short")
	}
	const limit = 500_000_000 // build.memory_limit: 500MB is 10^6 bytes a MB, as in DuckDB
	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	cfg := filepath.Join(dir, "crmwh.yaml")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(b), "\nextract:", "\nbuild:\n  memory_limit: 500MB\n\nextract:", 1)), 0o644))
	mustRun(t, dir, "demo", "--customers", "50000", "--seed", "3")
	billing := filepath.Join(dir, "data", "demo", "billing")
	days, err := filepath.Glob(filepath.Join(billing, "orders", "orders_*.csv"))
	require.NoError(t, err)
	last := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(days[len(days)-1]), "orders_"), ".csv")
	held := t.TempDir()
	for _, sub := range []string{"orders", "order_lines"} {
		require.NoError(t, os.Rename(filepath.Join(billing, sub, sub+"_"+last+".csv"), filepath.Join(held, sub+".csv")))
	}

	peak := func(args ...string) int64 {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Run(), "crmwh %s:\n%s", strings.Join(args, " "), out.String())
		return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	}
	for _, step := range [][]string{{"extract"}, {"build"}} {
		rss := peak(append(step, "--json")...)
		t.Logf("crmwh %s: peak RSS %d MB", step[0], rss/1e6)
		require.Less(t, rss, int64(limit), "crmwh %s stays under build.memory_limit", step[0])
	}
	for _, sub := range []string{"orders", "order_lines"} {
		require.NoError(t, os.Rename(filepath.Join(held, sub+".csv"), filepath.Join(billing, sub, sub+"_"+last+".csv")))
	}
	peak("extract", "--json")
	rss := peak("build", "--json")
	t.Logf("crmwh build after a new day: peak RSS %d MB", rss/1e6)
	require.Less(t, rss, int64(limit), "the incremental build stays under build.memory_limit")
	out := mustRun(t, dir, "sql", "--format", "csv", "SELECT detail FROM meta.model_runs WHERE model = 'fct_orders' ORDER BY run_id DESC LIMIT 1")
	require.Contains(t, out, "keys recomputed", "the second build was incremental")
}
