package build_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/warehouse/build"
	"crmwh/warehouse/warehousetest"
)

// fixture writes a lake with one stream, raw s.orders, holding n rows.
func fixture(t *testing.T, dir string, n int) {
	t.Helper()
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	schema := pipelines.Schema{{Name: "id", Type: pipelines.TypeInt64}, {Name: "amount", Type: pipelines.TypeDecimal, Precision: 18, Scale: 2}}
	u, err := l.Sink("s", "orders", "r"+time.Now().Format("150405.000000000"), time.Now()).Begin(schema, "x")
	require.NoError(t, err)
	var rows [][]any
	for i := 0; i < n; i++ {
		rows = append(rows, []any{int64(i), pipelines.Decimal{Unscaled: int64(100 * i)}})
	}
	require.NoError(t, u.Write(rows))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
}

var goodModels = fstest.MapFS{
	"sql/staging/s/stg_s__orders.sql": {Data: []byte("select id, amount from raw.s_orders")},
	"sql/marts/mart_total.sql":        {Data: []byte("select count(*) as orders, sum(amount) as total from stg_s__orders")},
}

func opts(dir string, fs fstest.MapFS, run string) build.Options {
	return build.Options{Warehouse: filepath.Join(dir, "wh.duckdb"), LakeDir: filepath.Join(dir, "lake"), Models: fs, RunID: run,
		Logger: slog.New(slog.DiscardHandler)}
}

func TestBuildPublishesAndCarriesHistory(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, 3)
	res, err := build.Build(context.Background(), opts(dir, goodModels, "run1"))
	require.NoError(t, err)
	require.True(t, res.Published)
	require.Equal(t, 2, len(res.Models))

	db := warehousetest.Open(t, filepath.Join(dir, "wh.duckdb"), true)
	require.Equal(t, [][]string{{"3", "3.00"}}, warehousetest.Rows(t, db, "select orders, total from mart_total"))
	require.Equal(t, [][]string{{"mart_total", "stg_s__orders", "model"}, {"stg_s__orders", "raw.s_orders", "source"}},
		warehousetest.Rows(t, db, "select model, depends_on, kind from meta.lineage order by model"))
	db.Close()

	fixture(t, dir, 2)
	_, err = build.Build(context.Background(), opts(dir, goodModels, "run2"))
	require.NoError(t, err)
	db = warehousetest.Open(t, filepath.Join(dir, "wh.duckdb"), true)
	require.Equal(t, [][]string{{"5", "4.00"}}, warehousetest.Rows(t, db, "select orders, total from mart_total"))
	require.Equal(t, [][]string{{"run1", "ok", "2"}, {"run2", "ok", "2"}},
		warehousetest.Rows(t, db, "select run_id, status, models_ok from meta.build_runs order by run_id"))
	require.Equal(t, [][]string{{"s", "orders", "5", "2"}}, warehousetest.Rows(t, db, "select source, stream, row_count, parts from meta.lake_streams"))
	_, err = os.Stat(filepath.Join(dir, "wh.duckdb.prev"))
	require.NoError(t, err, "the previous warehouse is kept")
}

func TestFailedBuildLeavesPublishedFileByteIdentical(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, 3)
	_, err := build.Build(context.Background(), opts(dir, goodModels, "run1"))
	require.NoError(t, err)
	wh := filepath.Join(dir, "wh.duckdb")
	before, err := os.ReadFile(wh)
	require.NoError(t, err)

	broken := fstest.MapFS{
		"sql/staging/s/stg_s__orders.sql": goodModels["sql/staging/s/stg_s__orders.sql"],
		// The error is on line 5 of the file: DuckDB's own line numbers
		// count the statement crmwh wraps the model in, and the file's
		// leading blank lines are trimmed.
		"sql/core/fct_broken.sql":  {Data: []byte("\n\n-- broken on purpose\nselect id,\n  amount / 'x'\nfrom stg_s__orders\n")},
		"sql/marts/mart_after.sql": {Data: []byte("select * from fct_broken")},
		"sql/marts/mart_total.sql": goodModels["sql/marts/mart_total.sql"],
	}
	res, buildErr := build.Build(context.Background(), opts(dir, broken, "run2"))
	require.ErrorIs(t, buildErr, build.ErrModelsFailed)
	err = buildErr
	require.Contains(t, err.Error(), "model fct_broken (sql/core/fct_broken.sql:5): Conversion Error")
	require.Contains(t, err.Error(), "\nLINE 5:   amount / 'x'\n")
	require.False(t, res.Published)
	status := map[string]string{}
	for _, m := range res.Models {
		status[m.Name] = m.Status
	}
	require.Equal(t, map[string]string{"stg_s__orders": "ok", "fct_broken": "failed", "mart_after": "skipped", "mart_total": "ok"}, status,
		"a failing model stops its descendants only")

	after, err := os.ReadFile(wh)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "published warehouse changed")
	leftovers, _ := filepath.Glob(wh + ".build-*")
	require.Empty(t, leftovers)

	// The failed build is kept for inspection, readable, until the next
	// build.
	require.Equal(t, wh+".failed", res.Failed)
	require.Contains(t, buildErr.Error(), "crmwh sql --failed-build")
	db := warehousetest.Open(t, res.Failed, true)
	require.Equal(t, "3", warehousetest.Scalar(t, db, "select count(*) from stg_s__orders"))
	require.Equal(t, [][]string{{"run2", "failed", "2", "1", "1"}},
		warehousetest.Rows(t, db, "select run_id, status, models_ok, models_failed, models_skipped from meta.build_runs where run_id = 'run2'"))
	require.NoError(t, db.Close())
	_, err = build.Build(context.Background(), opts(dir, goodModels, "run3"))
	require.NoError(t, err)
	require.NoFileExists(t, res.Failed)
}

func TestReaderKeepsWorkingAcrossAPublish(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, 3)
	_, err := build.Build(context.Background(), opts(dir, goodModels, "run1"))
	require.NoError(t, err)
	reader := warehousetest.Open(t, filepath.Join(dir, "wh.duckdb"), true)
	require.Equal(t, "3", warehousetest.Scalar(t, reader, "select orders from mart_total"))

	fixture(t, dir, 4)
	_, err = build.Build(context.Background(), opts(dir, goodModels, "run2"))
	require.NoError(t, err)
	// The open reader still sees its snapshot; a new reader sees the new
	// build. (Within one process DuckDB shares an open database between
	// handles on the same path, so the old handle is closed first; see
	// warehouse/duckdb/README.md.)
	require.Equal(t, "3", warehousetest.Scalar(t, reader, "select orders from mart_total"))
	require.NoError(t, reader.Close())
	fresh := warehousetest.Open(t, filepath.Join(dir, "wh.duckdb"), true)
	require.Equal(t, "7", warehousetest.Scalar(t, fresh, "select orders from mart_total"))
}
