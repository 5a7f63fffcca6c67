// Command crmwh-bench measures crmwh end to end and prints Markdown tables:
// demo generation and a full refresh at several sizes, each repeated, with
// the median wall time, throughput and the peak resident memory of the
// crmwh process (from the kernel's rusage of the child). It runs the real
// binary (bin/crmwh, built by `make bench`) in a temporary project. The
// CLV section fits and scores simulated customers in a child process of
// its own (so that its peak memory is measured alone) and runs `crmwh clv
// fit` on simulated transaction logs.
//
// Anything big happens in a child process, never in this one: Go starts
// children with vfork, and Linux then counts the parent's peak memory into
// the child's rusage (exec records the old, shared address space's high
// water mark), so a large parent would inflate every figure after it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type sample struct {
	wall time.Duration
	rows int64
	rss  int64 // bytes
}

func main() {
	bin := flag.String("bin", "bin/crmwh", "crmwh binary")
	sizes := flag.String("sizes", "20000,200000", "customer counts")
	reps := flag.Int("reps", 3, "repetitions of each measurement (the median is shown)")
	steps := flag.String("steps", "refresh,clv,build,extract,xsell", "what to measure: refresh (demo and refresh), clv (fit and score in process, and crmwh clv fit on a file), build (full, straight DuckDB, incremental), extract (PostgreSQL and CSV to the lake, against psql and DuckDB), xsell (the cross-sell step against plain SQL), scale (every step of a large company: generate, extract, full build, a day's build, dashboards, sql; -scale-customers)")
	buildN := flag.Int("build-customers", 1000000, "customers of the demo company the build benchmark runs on")
	clvSizes := flag.String("clv-sizes", "10000,100000,1000000", "customer counts of the CLV fit and score benchmarks")
	clvFileSizes := flag.String("clv-file-sizes", "100000,1000000", "customer counts of the crmwh clv fit FILE benchmark (empty: none)")
	clvChildN := flag.Int("clv-child", 0, "internal: run one CLV measurement of this many customers and print it as JSON")
	straightChild := flag.String("straight-child", "", "internal: run the project in this folder's SQL straight in DuckDB")
	extractRows, duckCopy := extractFlags()
	scale := scaleFlags()
	xsellFlags()
	flag.Parse()
	if *xsellChild != "" {
		xsellChildMain(*xsellChild, *xsellMode)
		return
	}
	if *clvChildN > 0 {
		clvChild(*clvChildN)
		return
	}
	if *straightChild != "" {
		if err := straightDuckDB(*straightChild); err != nil {
			fail(fmt.Errorf("straight DuckDB: %w", err))
		}
		return
	}
	if *duckCopy {
		duckdbCopyMain(flag.Arg(0), flag.Arg(1))
		return
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*steps, ",") {
		want[strings.TrimSpace(s)] = true
	}
	fmt.Printf("crmwh benchmarks, %s, %d CPUs, Go %s, %s\n\n", time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), *bin)
	if want["refresh"] {
		benchRefresh(abs, *sizes, *reps)
	}
	if want["build"] {
		benchBuild(abs, *buildN, *reps)
	}
	if want["clv"] {
		benchCLV(abs, ints("--clv-sizes", *clvSizes), ints("--clv-file-sizes", *clvFileSizes), *reps)
	}
	if want["extract"] && *extractRows > 0 {
		runExtractBench(abs, *extractRows, *reps)
	}
	if want["scale"] {
		benchScale(abs, scale)
	}
	if want["xsell"] {
		benchCrossSell(abs, ints("--xsell-customers", *xsellSizes), *reps)
	}
}

// ints parses a comma-separated list of counts.
func ints(flag, s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			fail(fmt.Errorf("%s: %w", flag, err))
		}
		out = append(out, n)
	}
	return out
}

// benchRefresh measures demo generation and a full refresh.
func benchRefresh(abs, sizes string, reps int) {
	fmt.Println("| step | customers | rows | median wall | rows/s | peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(fmt.Errorf("--sizes: %w", err))
		}
		var demo, refresh []sample
		for r := 0; r < reps; r++ {
			dir, err := os.MkdirTemp("", "crmwh-bench-")
			if err != nil {
				fail(err)
			}
			d, err := run(abs, dir, "demo", "--customers", strconv.Itoa(n), "--json")
			if err != nil {
				fail(err)
			}
			var ds struct{ Orders, OrderLines, Interactions, Tickets int64 }
			_ = json.Unmarshal(d.out, &ds)
			demo = append(demo, sample{d.wall, ds.Orders + ds.OrderLines + ds.Interactions + ds.Tickets + int64(n), d.rss})

			f, err := run(abs, dir, "refresh", "--json")
			if err != nil {
				fail(err)
			}
			var rs struct {
				Steps []struct {
					Step string
					Rows int64
				}
			}
			_ = json.Unmarshal(f.out, &rs)
			var rows int64
			for _, st := range rs.Steps {
				if st.Step == "extract" {
					rows = st.Rows
				}
			}
			refresh = append(refresh, sample{f.wall, rows, f.rss})
			os.RemoveAll(dir)
		}
		row("demo (generate)", n, demo)
		row("refresh (extract+build+dashboards)", n, refresh)
	}
}

type result struct {
	out  []byte
	wall time.Duration
	rss  int64
}

// runSelf runs this benchmark program as a child and measures it.
func runSelf(args ...string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	return run(self, "", args...)
}

// run runs crmwh in dir and measures it.
func run(bin, dir string, args ...string) (result, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, errb.String())
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return result{out.Bytes(), wall, rss}, nil
}

func row(step string, n int, ss []sample) {
	sort.Slice(ss, func(i, j int) bool { return ss[i].wall < ss[j].wall })
	m := ss[len(ss)/2]
	maxRSS := int64(0)
	for _, s := range ss {
		if s.rss > maxRSS {
			maxRSS = s.rss
		}
	}
	fmt.Printf("| %s | %d | %d | %.2f s | %.0f | %.0f MB |\n", step, n, m.rows, m.wall.Seconds(), float64(m.rows)/m.wall.Seconds(), float64(maxRSS)/1e6)
}

// atExit runs before fail exits (stopping a PostgreSQL server, say).
var atExit []func()

func fail(err error) {
	for _, f := range atExit {
		f()
	}
	fmt.Fprintln(os.Stderr, "crmwh-bench:", err)
	os.Exit(1)
}
