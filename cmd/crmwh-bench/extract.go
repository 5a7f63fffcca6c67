package main

// The extraction benchmark: a 10-million-row orders table in a throwaway
// PostgreSQL, extracted into the lake by the real crmwh binary side by
// side with psql's COPY … TO STDOUT of the same query, and the same rows as
// a CSV file loaded by crmwh side by side with DuckDB's own
// COPY (FROM read_csv(…)) TO '….parquet'. Runs alternate (crmwh, the
// reference, crmwh, …) so that a noisy machine treats both alike.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"crmwh/pipelines/pgtest"
	"crmwh/warehouse/duckdb"
)

// measured is one timed run of a child process.
type measured struct {
	wall time.Duration
	cpu  time.Duration // user + system of the child
	rss  int64         // peak resident set, bytes
	out  []byte
}

// runMeasured runs a command and measures it from the kernel's rusage.
func runMeasured(cmd *exec.Cmd) (measured, error) {
	var out, errb bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errb
	t0 := time.Now()
	err := cmd.Run()
	m := measured{wall: time.Since(t0), out: out.Bytes()}
	if err != nil {
		return m, fmt.Errorf("%s: %v: %s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rss = ru.Maxrss * 1024
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return m, nil
}

// duckdbCopyMain is the child that runs DuckDB's COPY, so that its time
// and memory are its own.
func duckdbCopyMain(csv, out string) {
	db, err := duckdb.Open("", duckdb.Options{})
	if err != nil {
		fail(err)
	}
	defer db.Close()
	q := fmt.Sprintf("COPY (FROM read_csv(%s)) TO %s (FORMAT parquet, COMPRESSION zstd)", duckdb.QuoteString(csv), duckdb.QuoteString(out))
	if _, err := db.Exec(q); err != nil {
		fail(err)
	}
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM read_parquet(?)", out).Scan(&n); err != nil {
		fail(err)
	}
	fmt.Println(n)
}

type extractBench struct {
	bin, self string
	rows      int
	reps      int
	srv       *pgtest.Server
	dir       string
	csv       string
}

// runExtractBench prints the extraction table.
func runExtractBench(bin string, rows, reps int) {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "crmwh-bench-extract-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	srv, err := pgtest.StartServer(pgtest.Options{})
	if err != nil {
		fail(err)
	}
	defer srv.Stop()
	atExit = append(atExit, func() { srv.Stop(); os.RemoveAll(dir) })
	b := &extractBench{bin: bin, self: self, rows: rows, reps: reps, srv: srv, dir: dir, csv: filepath.Join(dir, "orders.csv")}
	t0 := time.Now()
	ctx := context.Background()
	if err := srv.CreateDatabase(ctx, "shop"); err != nil {
		fail(err)
	}
	if err := srv.Exec(ctx, "shop", pgtest.OrdersDDL, pgtest.OrdersInsert(rows), pgtest.OrdersIndex, "VACUUM ANALYZE orders"); err != nil {
		fail(err)
	}
	psql := filepath.Join(srv.Bin, "psql")
	// psql reads the password from the environment, so it is not in
	// messages.
	conninfo := fmt.Sprintf("host=%s port=%d user=%s dbname=shop", srv.Dir, srv.Port, pgtest.User)
	psqlCmd := func(args ...string) *exec.Cmd {
		c := exec.Command(psql, append([]string{conninfo}, args...)...)
		c.Env = append(os.Environ(), "PGPASSWORD="+srv.Password)
		return c
	}
	if _, err := runMeasured(psqlCmd("-c", `\copy orders TO '`+b.csv+`' CSV HEADER`)); err != nil {
		fail(err)
	}
	st, _ := os.Stat(b.csv)
	fmt.Fprintf(os.Stderr, "prepared %d orders in PostgreSQL and a %.0f MB CSV in %s\n", rows, float64(st.Size())/1e6, time.Since(t0).Round(time.Second))
	b.writeProjects()

	// The query crmwh runs on a first extraction, and the plain table.
	query := "SELECT * FROM orders WHERE updated_at IS NOT NULL ORDER BY updated_at"
	copyCmd := func(q string) func() *exec.Cmd {
		return func() *exec.Cmd {
			c := psqlCmd("-c", "COPY ("+q+") TO STDOUT")
			devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				fail(err)
			}
			c.Stdout = devnull
			return c
		}
	}
	crmwhCmd := func(project string) func() *exec.Cmd {
		return func() *exec.Cmd {
			os.RemoveAll(filepath.Join(b.dir, project, "lake"))
			c := exec.Command(b.bin, "extract", "--json")
			c.Dir = filepath.Join(b.dir, project)
			c.Env = append(os.Environ(), "CRMWH_PROJECT=", "BENCH_PG_PASSWORD="+srv.Password)
			return c
		}
	}
	duckCmd := func() *exec.Cmd {
		out := filepath.Join(b.dir, "duckdb.parquet")
		os.Remove(out)
		return exec.Command(b.self, "-duckdb-copy", b.csv, out)
	}

	psi0 := pressure()
	fmt.Printf("\nExtraction of %s order rows (14 columns), median of %d alternating runs each:\n\n", thousands(int64(rows)), reps)
	fmt.Println("| what | median wall | rows/s | CPU (user+sys) | peak RSS | crmwh ÷ reference |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: |")
	pg, psqlOrdered := b.pair(crmwhCmd("pg"), copyCmd(query))
	_, psqlPlain := b.pair(nil, copyCmd("SELECT * FROM orders"))
	csvRuns, duck := b.pair(crmwhCmd("csv"), duckCmd)
	b.row("crmwh extract, PostgreSQL → lake", pg, 0, true)
	b.row("psql COPY (crmwh's query: … ORDER BY updated_at) TO STDOUT > /dev/null", psqlOrdered, medianWall(pg), false)
	b.row("psql COPY (SELECT * FROM orders) TO STDOUT > /dev/null", psqlPlain, medianWall(pg), false)
	b.row("crmwh extract, CSV → lake", csvRuns, 0, true)
	b.row("DuckDB COPY (FROM read_csv(…)) TO '….parquet' (zstd)", duck, medianWall(csvRuns), true)
	lakeBytes := dirBytes(filepath.Join(b.dir, "csv", "lake", "raw"))
	duckBytes := dirBytes(filepath.Join(b.dir, "duckdb.parquet"))
	fmt.Printf("\nParquet written from the CSV: crmwh %.0f MB (zstd level 1, row groups of 122,880), DuckDB %.0f MB. CSV file %.0f MB.\n",
		float64(lakeBytes)/1e6, float64(duckBytes)/1e6, float64(st.Size())/1e6)
	fmt.Printf("Host CPU pressure (share of time runnable tasks waited for a CPU, /proc/pressure/cpu avg60): %s at the start, %s at the end.\n", psi0, pressure())
}

// pair runs two commands alternately, reps times each (a nil one is
// skipped).
func (b *extractBench) pair(a, ref func() *exec.Cmd) (as, refs []measured) {
	for i := 0; i < b.reps; i++ {
		if a != nil {
			m, err := runMeasured(a())
			if err != nil {
				fail(err)
			}
			as = append(as, m)
		}
		if ref != nil {
			m, err := runMeasured(ref())
			if err != nil {
				fail(err)
			}
			refs = append(refs, m)
		}
	}
	return as, refs
}

func medianWall(ms []measured) time.Duration {
	w := make([]time.Duration, len(ms))
	for i, m := range ms {
		w[i] = m.wall
	}
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	return w[len(w)/2]
}

// row prints one line; against is crmwh's median wall when this is a
// reference (the last column is then crmwh's speed relative to it).
func (b *extractBench) row(what string, ms []measured, against time.Duration, showMem bool) {
	wall := medianWall(ms)
	var cpu time.Duration
	var rss int64
	for _, m := range ms {
		cpu += m.cpu
		rss = max(rss, m.rss)
	}
	cpu /= time.Duration(len(ms))
	ratio := ""
	if against > 0 {
		ratio = fmt.Sprintf("%.2f× as fast", wall.Seconds()/against.Seconds())
	}
	mem := "–"
	if showMem {
		mem = fmt.Sprintf("%.0f MB", float64(rss)/1e6)
	}
	cpuText := fmt.Sprintf("%.1f s", cpu.Seconds())
	if !showMem {
		cpuText = "(psql only) " + cpuText
	}
	fmt.Printf("| %s | %.2f s | %s | %s | %s | %s |\n", what, wall.Seconds(), thousands(int64(float64(b.rows)/wall.Seconds())), cpuText, mem, ratio)
}

// writeProjects writes the two crmwh projects: one reading the table, one
// the CSV file.
func (b *extractBench) writeProjects() {
	pgYAML := fmt.Sprintf(`name: bench
paths: {lake: lake, warehouse: wh.duckdb, site: site, state: state}
sources:
  - name: shop
    kind: postgres
    dsn: "host=%s port=%d user=%s password=${BENCH_PG_PASSWORD} dbname=shop sslmode=disable"
    streams:
      - {name: orders, table: orders, watermark: updated_at, primary_key: [order_id]}
`, b.srv.Dir, b.srv.Port, pgtest.User)
	var cols strings.Builder
	for _, c := range pgtest.OrdersCSVStream("").Columns {
		fmt.Fprintf(&cols, "          - {name: %s, type: %q}\n", c.Name, c.Type)
	}
	csvYAML := fmt.Sprintf(`name: bench
paths: {lake: lake, warehouse: wh.duckdb, site: site, state: state}
sources:
  - name: shop
    kind: csv
    streams:
      - name: orders
        path: %s
        columns:
%s`, b.csv, cols.String())
	for name, text := range map[string]string{"pg": pgYAML, "csv": csvYAML} {
		if err := os.MkdirAll(filepath.Join(b.dir, name), 0o755); err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join(b.dir, name, "crmwh.yaml"), []byte(text), 0o644); err != nil {
			fail(err)
		}
	}
}

// pressure reads the host's CPU pressure (PSI "some" avg60): other
// tenants of the machine show here, and make every figure slower.
func pressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "unknown"
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "avg60="); ok {
			return v + "%"
		}
	}
	return "unknown"
}

func dirBytes(path string) int64 {
	var n int64
	filepath.Walk(path, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// extractFlags are the benchmark's flags for this part.
func extractFlags() (rows *int, copyArgs *bool) {
	rows = flag.Int("extract-rows", 10_000_000, "rows of the extraction benchmark's orders table (0 skips it)")
	copyArgs = flag.Bool("duckdb-copy", false, "internal: run DuckDB's COPY of CSV (arg 1) to Parquet (arg 2)")
	return
}
