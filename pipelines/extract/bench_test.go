package extract_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
)

// benchRows is the size of the benchmarks' orders table
// (CRMWH_BENCH_ROWS, default 200,000). make bench measures 10 million rows
// with the real binary (cmd/crmwh-bench); these are for profiling:
//
//	CRMWH_BENCH_ROWS=1000000 go test -run '^$' -bench Orders -cpuprofile cpu.out ./pipelines/extract/
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("CRMWH_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

func BenchmarkOrders(b *testing.B) {
	s := pgtest.Start(b)
	db := "bench"
	ctx := context.Background()
	if err := s.CreateDatabase(ctx, db); err != nil {
		b.Fatal(err)
	}
	n := benchRows()
	if err := s.Exec(ctx, db, pgtest.OrdersDDL, pgtest.OrdersInsert(n), pgtest.OrdersIndex); err != nil {
		b.Fatal(err)
	}
	base := b.TempDir()
	csv := filepath.Join(base, "orders.csv")
	cmd := exec.Command(filepath.Join(s.Bin, "psql"), s.DSN(db), "-c", `\copy orders TO '`+csv+`' CSV HEADER`)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatal(err, string(out))
	}
	b.Run("postgres", func(b *testing.B) {
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			src := pipelines.SourceConfig{Name: "shop", Kind: "postgres", DSN: s.DSN(db), Streams: []pipelines.StreamConfig{pgtest.OrdersStream()}}
			l := laketest.New(b, base, src)
			r := l.MustExtract(b)
			if r.Rows != int64(n) {
				b.Fatalf("%d rows", r.Rows)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	})
	b.Run("csv", func(b *testing.B) {
		cpu0 := cpuTime()
		for i := 0; i < b.N; i++ {
			src := pipelines.SourceConfig{Name: "shop", Kind: "csv", Streams: []pipelines.StreamConfig{pgtest.OrdersCSVStream("orders.csv")}}
			l := laketest.New(b, base, src)
			r := l.MustExtract(b)
			if r.Rows != int64(n) {
				b.Fatalf("%d rows, %d bad: %s", r.Rows, r.Quarantine, fmt.Sprint(r.Error))
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	})
}

// cpuTime is the user and system time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
