package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

// The CLV benchmarks simulate customers from the demo's parameters over
// two years of whole days (first purchases spread evenly), so that
// grouping sees as many distinct (x, t_x, T) as a real log of that size.
var (
	clvBGNBD = clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2}
	clvGG    = clv.GammaGamma{P: 6, Q: 4, Gamma: 150}
)

// clvTimes is what one child process measured, in seconds.
type clvTimes struct {
	Customers int
	Groups    int
	Simulate  float64
	Fit       float64 // grouping + BG/NBD + Gamma-Gamma, standard errors included
	FitCPU    float64 // the same in CPU seconds (user + sys, every thread)
	Group     float64
	BGNBD     float64
	GG        float64
	Pareto    float64 // Pareto/NBD, the model the warehouse compares BG/NBD with
	PNEvals   int
	Score     float64 // P(alive), expected purchases in 90 and 365 days, spend, 12-month CLV
	DataRSS   int64   // peak RSS after simulating, before fitting (bytes)
	rss       int64   // the child's peak RSS, from the parent's rusage
}

// clvChild runs in a child process (crmwh-bench -clv-child N) so that its
// peak RSS is the fit's and the scoring's, plus the customers' data.
func clvChild(n int) {
	t0 := time.Now()
	s := clvsim.Summaries(clvsim.Simulate(clvsim.Options{Customers: n, BGNBD: clvBGNBD, GammaGamma: clvGG, MaxT: 730, Whole: true, Seed: 1}))
	r := clvTimes{Customers: n, Simulate: time.Since(t0).Seconds(), DataRSS: highWater()}

	t0 = time.Now()
	c0 := cpuSeconds()
	groups := clv.GroupSummaries(s)
	r.Group = time.Since(t0).Seconds()
	t1 := time.Now()
	bg, err := clv.FitBGNBD(groups, clv.FitOptions{})
	if err != nil {
		fail(err)
	}
	r.BGNBD = time.Since(t1).Seconds()
	t1 = time.Now()
	gg, err := clv.FitGammaGamma(s, clv.FitOptions{})
	if err != nil {
		fail(err)
	}
	r.GG = time.Since(t1).Seconds()
	r.Fit = time.Since(t0).Seconds()
	r.FitCPU = cpuSeconds() - c0
	r.Groups = len(groups)

	t1 = time.Now()
	pn, err := clv.FitParetoNBD(groups, clv.FitOptions{})
	if err != nil {
		fail(err)
	}
	r.Pareto, r.PNEvals = time.Since(t1).Seconds(), pn.Evaluations

	t0 = time.Now()
	m := clv.Model{Purchases: bg.Params, Spend: gg.Params}
	if _, err := m.Score(s, clv.ScoreOptions{Horizons: []float64{90, 365}, CLV: clv.CLVOptions{MonthlyDiscount: 0.01}}); err != nil {
		fail(err)
	}
	r.Score = time.Since(t0).Seconds()
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
}

// cpuSeconds is the process's CPU time so far, every thread.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// highWater returns the process's peak RSS so far (VmHWM), 0 if unknown.
func highWater() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// benchCLV prints the CLV tables: fit and score in process at each size,
// and `crmwh clv fit` end to end on simulated transaction logs.
func benchCLV(bin string, sizes, fileSizes []int, reps int) {
	fmt.Println()
	fmt.Println("CLV models, simulated customers (demo parameters, 2 years of whole days):")
	fmt.Println()
	fmt.Println("| step | customers | groups | median wall | customers/s | peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	for _, n := range sizes {
		var ts []clvTimes
		for range reps {
			cmd := exec.Command(self, "-clv-child", strconv.Itoa(n))
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				fail(fmt.Errorf("clv child %d: %v: %s", n, err, errb.String()))
			}
			var t clvTimes
			if err := json.Unmarshal(out.Bytes(), &t); err != nil {
				fail(fmt.Errorf("clv child %d: %v", n, err))
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				t.rss = ru.Maxrss * 1024
			}
			ts = append(ts, t)
		}
		fit := median(ts, func(t clvTimes) float64 { return t.Fit })
		score := median(ts, func(t clvTimes) float64 { return t.Score })
		var peak, data int64
		for _, t := range ts {
			peak = max(peak, t.rss)
			data = max(data, t.DataRSS)
		}
		fmt.Printf("| clv fit: group, BG/NBD, Gamma-Gamma, SEs (BG/NBD %.3f s, GG %.3f s; CPU %.3f s) | %d | %d | %.3f s | %.0f | %.0f MB (data %.0f MB) |\n",
			median(ts, func(t clvTimes) float64 { return t.BGNBD }), median(ts, func(t clvTimes) float64 { return t.GG }),
			median(ts, func(t clvTimes) float64 { return t.FitCPU }), n, ts[0].Groups, fit, float64(n)/fit, mb(peak), mb(data))
		fmt.Printf("| clv score: P(alive), E[purchases] 90/365 d, spend, 12-month CLV | %d | | %.3f s | %.0f | (same process) |\n",
			n, score, float64(n)/score)
		pn := median(ts, func(t clvTimes) float64 { return t.Pareto })
		fmt.Printf("| clv fit Pareto/NBD (the comparison model, %d likelihood evaluations with gradient) | %d | %d | %.3f s | %.0f | (same process) |\n",
			ts[0].PNEvals, n, ts[0].Groups, pn, float64(n)/pn)
	}

	if len(fileSizes) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("`crmwh clv fit FILE` end to end (CSV log of about 3 purchases a customer → DuckDB summaries → BG/NBD and Gamma-Gamma → 26-week holdout check; `--model auto` adds Pareto/NBD and the comparison):")
	fmt.Println()
	fmt.Println("| step | customers | rows | median wall | its CPU (user + sys) | rows/s | peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	calEnd := time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC)
	for _, n := range fileSizes {
		dir, err := os.MkdirTemp("", "crmwh-bench-clv-")
		if err != nil {
			fail(err)
		}
		f, err := os.Create(filepath.Join(dir, "log.csv"))
		if err != nil {
			fail(err)
		}
		// CDNOW's parameters in days over two years: about 2.9 rows a
		// customer, as the 1,000,000-customer, 3,000,000-row log.
		cdnow := clv.BGNBD{R: 0.243, Alpha: 4.414 * 7, A: 0.793, B: 2.426}
		if _, err := clvsim.WriteLog(f, clvsim.Options{Customers: n, BGNBD: cdnow, GammaGamma: clvGG, MaxT: 730, Holdout: 182, Seed: 1}, calEnd); err != nil {
			fail(err)
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
		rows, err := countLines(filepath.Join(dir, "log.csv"))
		if err != nil {
			fail(err)
		}
		for _, model := range []string{"bgnbd", "auto"} {
			var walls, cpus []float64
			var peak int64
			for range reps {
				cmd := exec.Command(bin, "clv", "fit", "log.csv", "--calibration-end", calEnd.Format(time.DateOnly), "--model", model, "--json")
				cmd.Dir = dir
				var errb bytes.Buffer
				cmd.Stderr = &errb
				t0 := time.Now()
				if err := cmd.Run(); err != nil {
					fail(fmt.Errorf("crmwh clv fit: %v: %s", err, errb.String()))
				}
				walls = append(walls, time.Since(t0).Seconds())
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					cpus = append(cpus, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds())
					peak = max(peak, ru.Maxrss*1024)
				}
			}
			sort.Float64s(walls)
			sort.Float64s(cpus)
			w := walls[len(walls)/2]
			fmt.Printf("| crmwh clv fit FILE --model %s | %d | %d | %.2f s | %.2f s | %.0f | %.0f MB |\n", model, n, rows, w, cpus[len(cpus)/2], float64(rows)/w, mb(peak))
		}
		os.RemoveAll(dir)
	}
}

func median(ts []clvTimes, f func(clvTimes) float64) float64 {
	v := make([]float64, len(ts))
	for i, t := range ts {
		v[i] = f(t)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// countLines counts data rows (lines after the header).
func countLines(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return int64(bytes.Count(b, []byte("\n"))) - 1, nil
}
