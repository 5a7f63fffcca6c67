package main

// The scale benchmark (-steps scale): a demo company of each size, every
// step of its life by the real binary, each in a child process measured
// from the kernel's rusage (wall time, CPU time of the process and all its
// threads, peak resident memory):
//
//   - crmwh demo (the company's systems), its last day of billing held back;
//   - crmwh extract (everything but that day);
//   - crmwh build --skip-tests: the first, full build;
//   - the held-back day arrives: crmwh extract, then crmwh build
//     --skip-tests, which is incremental;
//   - crmwh build --full --skip-tests on the same lake (a full refresh of
//     the same data, to set the day's build against);
//   - crmwh dashboards (every page, both languages);
//   - crmwh sql on the largest marts.
//
// With the project's default memory budget (build.memory_limit), unless
// -scale-memory says otherwise. With -scale-reuse, a project kept by an
// earlier run with -scale-dir is measured again from its first build
// without generating and extracting it anew, for measuring a change to the
// models: its warehouse removed, its lake put back as it was before the
// day, the day held back again (keepForReuse), and its project files (the
// models among them) written anew by the binary measured. Each size runs once: these are hours of
// machine time; the figures of one run are compared with each other.

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// scaleOptions are the scale benchmark's flags.
type scaleOptions struct {
	sizes, years, memory, keep *string
	reuse                      *bool
}

func scaleFlags() scaleOptions {
	return scaleOptions{
		sizes:  flag.String("scale-customers", "1000000,5000000", "customer counts of the scale benchmark"),
		years:  flag.String("scale-years", "", "years of each company (comma-separated, one per size; default 2)"),
		memory: flag.String("scale-memory", "", "build.memory_limit of the scale projects (default: crmwh's default)"),
		keep:   flag.String("scale-dir", "", "folder to keep the scale projects in (default: a temporary folder, removed)"),
		reuse: flag.Bool("scale-reuse", false, "build the projects an earlier run kept in -scale-dir again, "+
			"from their first build, without generating and extracting them again"),
	}
}

// scaleStep is one measured step.
type scaleStep struct {
	name   string
	m      measured
	detail string
	models []modelTime // the build's slowest nodes
}

type modelTime struct {
	Name   string        `json:"name"`
	Detail string        `json:"detail"`
	Wall   time.Duration `json:"duration_ns"`
	CPU    time.Duration `json:"cpu_ns"`
}

func benchScale(bin string, o scaleOptions) {
	if *o.reuse && *o.keep == "" {
		fail(fmt.Errorf("-scale-reuse needs -scale-dir, the folder an earlier run kept its projects in"))
	}
	ns := ints("-scale-customers", *o.sizes)
	ys := ints("-scale-years", *o.years)
	for i, n := range ns {
		y := 2
		if i < len(ys) {
			y = ys[i]
		}
		benchScaleOne(bin, n, y, *o.memory, *o.keep, *o.reuse)
	}
}

func benchScaleOne(bin string, n, years int, memory, keep string, reuse bool) {
	base := keep
	if base == "" {
		d, err := os.MkdirTemp("", "crmwh-bench-scale-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		base = d
	}
	dir := filepath.Join(base, fmt.Sprintf("c%d-y%d", n, years))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	startPressure := pressure()
	started := time.Now()
	var steps []scaleStep
	step := func(name string, args ...string) scaleStep {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
		m, err := runMeasured(cmd)
		if err != nil {
			fail(err)
		}
		s := scaleStep{name: name, m: m, detail: stepDetail(m.out)}
		s.models = buildModels(m.out)
		steps = append(steps, s)
		fmt.Fprintf(os.Stderr, "scale %d: %s: %.1f s, %.1f s CPU, %.0f MB\n", n, name, m.wall.Seconds(), m.cpu.Seconds(), mb(m.rss))
		return s
	}
	var ds struct{ Orders, OrderLines, Refunds, Cancelled int64 }
	var held [][2]string
	if reuse {
		h, err := reuseKept(dir)
		if err != nil {
			fail(err)
		}
		held = h
		// The project's models become the binary's: without this, a
		// binary with other models would build the kept project's.
		if err := os.RemoveAll(filepath.Join(dir, "sql")); err != nil {
			fail(err)
		}
	}
	step("init", "init", ".", "--force")
	if memory != "" {
		cfg := filepath.Join(dir, "crmwh.yaml")
		b, err := os.ReadFile(cfg)
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(cfg, []byte(strings.Replace(string(b), "\nextract:", "\nbuild:\n  memory_limit: "+memory+"\n\nextract:", 1)), 0o644); err != nil {
			fail(err)
		}
	}
	if !reuse {
		demo := step("demo (generate)", "demo", "--customers", strconv.Itoa(n), "--years", strconv.Itoa(years), "--json")
		_ = json.Unmarshal(demo.m.out, &ds)
		h, err := holdBackLastDay(dir)
		if err != nil {
			fail(err)
		}
		held = h
		step("extract", "extract", "--json")
		if keep != "" {
			if err := keepForReuse(dir, held); err != nil {
				fail(err)
			}
		}
	}
	full := step("build, first (full)", "build", "--skip-tests", "--json")
	for _, h := range held {
		if err := os.Rename(h[1], h[0]); err != nil {
			fail(err)
		}
	}
	day := step("extract of one new day", "extract", "--json")
	inc := step("build after one new day (incremental)", "build", "--skip-tests", "--json")
	again := step("build --full on the same lake", "build", "--full", "--skip-tests", "--json")
	step("dashboards (every page, en and zh)", "dashboards", "--json")
	for _, q := range []struct{ name, sql string }{
		{"sql: value tiers of mart_customer_value", "SELECT value_tier, count(*) AS customers, sum(clv_12m) AS clv FROM mart_customer_value GROUP BY ALL ORDER BY 1"},
		{"sql: the 20 most valuable customers", "SELECT customer_id, clv_12m, p_alive FROM mart_customer_value ORDER BY clv_12m DESC LIMIT 20"},
		{"sql: net revenue by month of fct_orders", "SELECT order_month, sum(net_revenue) FROM fct_orders GROUP BY 1 ORDER BY 1"},
		{"sql: mart_kpi_monthly", "SELECT * FROM mart_kpi_monthly"},
	} {
		step(q.name, "sql", "--format", "csv", q.sql)
	}
	lake := dirBytes(filepath.Join(dir, "data", "lake"))
	wh := fileSize(filepath.Join(dir, "data", "crmwh.duckdb"))
	exports := dirBytes(filepath.Join(dir, "data", "demo"))

	if reuse {
		fmt.Printf("\n### %s customers, %d years (the project of an earlier run, not generated or extracted again)\n\n", thousands(int64(n)), years)
	} else {
		fmt.Printf("\n### %s customers, %d years: %s orders, %s order lines\n\n", thousands(int64(n)), years, thousands(ds.Orders+ds.Refunds+ds.Cancelled), thousands(ds.OrderLines))
	}
	fmt.Printf("Run of %s, %s; host CPU pressure %s at the start, %s at the end; exports %.1f GB, lake %.1f GB, warehouse %.1f GB.\n\n",
		started.UTC().Format("2006-01-02"), time.Since(started).Round(time.Minute), startPressure, pressure(), float64(exports)/1e9, float64(lake)/1e9, float64(wh)/1e9)
	fmt.Println("| step | wall | CPU (user+sys) | peak RSS | detail |")
	fmt.Println("| --- | ---: | ---: | ---: | --- |")
	for _, s := range steps[1:] {
		fmt.Printf("| %s | %s | %s | %.0f MB | %s |\n", s.name, dur(s.m.wall), dur(s.m.cpu), mb(s.m.rss), s.detail)
	}
	fmt.Printf("\nThe day's build against the full build of the same lake: %.2f× the wall time, %.2f× the CPU time (against the first build: %.2f×, %.2f×); its extract: %s.\n",
		inc.m.wall.Seconds()/again.m.wall.Seconds(), inc.m.cpu.Seconds()/again.m.cpu.Seconds(),
		inc.m.wall.Seconds()/full.m.wall.Seconds(), inc.m.cpu.Seconds()/full.m.cpu.Seconds(), dur(day.m.wall))
	for _, s := range []scaleStep{full, inc} {
		fmt.Printf("\nSlowest nodes of the %s (CPU time of the process while each ran):\n\n", s.name)
		fmt.Println("| model | wall | CPU | detail |")
		fmt.Println("| --- | ---: | ---: | --- |")
		ms := s.models
		sort.Slice(ms, func(i, j int) bool { return ms[i].CPU > ms[j].CPU })
		for _, m := range ms[:min(12, len(ms))] {
			fmt.Printf("| %s | %s | %s | %s |\n", m.Name, dur(m.Wall), dur(m.CPU), strings.ReplaceAll(shorten(m.Detail, 90), "|", "/"))
		}
	}
}

// stepDetail is the summary line of a crmwh --json result.
func stepDetail(out []byte) string {
	var sum struct {
		Steps []struct{ Detail string } `json:"steps"`
	}
	if json.Unmarshal(out, &sum) != nil || len(sum.Steps) == 0 {
		if n := strings.Count(string(out), "\n"); n > 0 {
			return fmt.Sprintf("%d rows", n-1)
		}
		return ""
	}
	return strings.ReplaceAll(shorten(sum.Steps[0].Detail, 80), "|", "/")
}

// buildModels reads the nodes of a build's --json result.
func buildModels(out []byte) []modelTime {
	var sum struct {
		Steps []struct {
			Result struct {
				Models []modelTime `json:"models"`
			} `json:"result"`
		} `json:"steps"`
	}
	if json.Unmarshal(out, &sum) != nil || len(sum.Steps) == 0 {
		return nil
	}
	return sum.Steps[0].Result.Models
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func dur(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d m %02d s", int(d.Minutes()), int(d.Seconds())%60)
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}
