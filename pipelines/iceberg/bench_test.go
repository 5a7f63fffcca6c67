package iceberg_test

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/iceberg"
	"crmwh/pipelines/lake"
)

// BenchmarkPublishCommit measures what publishing costs per lake commit:
// each iteration commits to the lake (not timed) and publishes the commit
// as one Iceberg snapshot in the SQLite catalog (timed), so the table
// grows by a snapshot per iteration, as it does with every extract.
// append commits a unit of 1,000 rows; snapshot replaces the stream's
// NULL-watermark snapshot (an overwrite that removes the previous part).
// ms-files is the lake's question before it deletes replaced parts
// (Files), asked once at the end over every snapshot the table keeps.
//
//	go test -run '^$' -bench PublishCommit -benchtime 200x ./pipelines/iceberg/
func BenchmarkPublishCommit(b *testing.B) {
	for _, kind := range []string{"append", "snapshot"} {
		b.Run(kind, func(b *testing.B) {
			l, err := lake.Open(b.TempDir())
			require.NoError(b, err)
			cat, err := iceberg.Open(ctx, iceberg.Config{Catalog: iceberg.CatalogSQLite}, l, pipelines.Env{})
			require.NoError(b, err)
			defer cat.Close()
			cat.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			schema := pipelines.Schema{
				{Name: "order_id", Type: pipelines.TypeInt64},
				{Name: "customer", Type: pipelines.TypeString},
				{Name: "amount", Type: pipelines.TypeDecimal, Precision: 12, Scale: 2},
				{Name: "ordered_at", Type: pipelines.TypeTimestamp},
			}
			rows := make([][]any, 1000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := l.Sink("shop", "orders", fmt.Sprintf("run%06d", i), time.Now())
				for j := range rows {
					rows[j] = []any{int64(i*1000 + j), "C1", pipelines.Decimal{Unscaled: int64(j)}, time.Now()}
				}
				var u pipelines.Unit
				if kind == "append" {
					u, err = s.Begin(schema, "bench")
				} else {
					u, err = s.BeginSnapshot("null_watermark", schema, "bench")
				}
				require.NoError(b, err)
				require.NoError(b, u.Write(rows))
				require.NoError(b, u.Commit(pipelines.StateChange{}))
				require.NoError(b, s.Finish(nil))
				b.StartTimer()
				p, err := cat.Sync(ctx, "shop", "orders")
				require.NoError(b, err)
				require.Equal(b, 1, p.Snapshots)
			}
			b.StopTimer()
			t0 := time.Now()
			read, err := cat.Files(ctx)
			b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "ms-files")
			require.NoError(b, err)
			if kind == "snapshot" {
				require.Len(b, read, b.N-1, "every replaced part is read by a kept snapshot")
			}
		})
	}
}
