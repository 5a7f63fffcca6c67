package lake_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
)

// BenchmarkWrite measures the lake writer alone on order-shaped rows.
func BenchmarkWrite(b *testing.B) {
	schema := pipelines.Schema{
		{Name: "order_id", Type: pipelines.TypeInt64},
		{Name: "customer_no", Type: pipelines.TypeString},
		{Name: "name", Type: pipelines.TypeString},
		{Name: "email", Type: pipelines.TypeString},
		{Name: "order_time", Type: pipelines.TypeTimestamp},
		{Name: "status", Type: pipelines.TypeString},
		{Name: "city", Type: pipelines.TypeString},
		{Name: "amount", Type: pipelines.TypeDecimal, Precision: 12, Scale: 2},
		{Name: "discount", Type: pipelines.TypeDecimal, Precision: 12, Scale: 2},
		{Name: "original", Type: pipelines.TypeString},
	}
	batch := pipelines.NewBatch(schema)
	const rows = 8192
	cities := []string{"上海", "北京", "广州", "深圳"}
	statuses := []string{"paid", "paid", "paid", "cancelled", "refund"}
	for i := 0; i < rows; i++ {
		row := []any{int64(i), fmt.Sprintf("B%07d", i*7919%1000003), fmt.Sprintf("张伟 %d", i%50021), fmt.Sprintf("c%d@example.cn", i%50021),
			time.Unix(1700000000+int64(i)*3, 0), statuses[i%5], cities[i/7%4], pipelines.Decimal{Unscaled: int64(i * 37 % 100000)},
			pipelines.Decimal{Unscaled: int64(i * 13 % 1000)}, nil}
		if i%10 == 9 {
			row[9] = fmt.Sprint(i - 5)
		}
		if err := batch.AppendRow(row); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	if d := os.Getenv("CRMWH_BENCH_LAKE"); d != "" {
		dir = d
	}
	l, err := lake.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	u, err := l.Sink("s", "t", "run", time.Now()).Begin(schema, "x")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if err := u.WriteBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := u.Commit(pipelines.StateChange{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
