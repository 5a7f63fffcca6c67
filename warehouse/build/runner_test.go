package build_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/warehouse/build"
	"crmwh/warehouse/warehousetest"
)

// addRows commits one lake part to source s, stream events, with
// (id, customer, amount) rows.
func addRows(t *testing.T, dir string, rows ...[]any) {
	t.Helper()
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	schema := pipelines.Schema{
		{Name: "id", Type: pipelines.TypeInt64},
		{Name: "customer", Type: pipelines.TypeString},
		{Name: "amount", Type: pipelines.TypeDecimal, Precision: 18, Scale: 2},
	}
	u, err := l.Sink("s", "events", fmt.Sprintf("r%d", time.Now().UnixNano()), time.Now()).Begin(schema, "test")
	require.NoError(t, err)
	require.NoError(t, u.Write(rows))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
}

func row(id int64, customer string, cents int64) []any {
	return []any{id, customer, pipelines.Decimal{Unscaled: cents}}
}

func buildWith(t *testing.T, dir string, fs fstest.MapFS, mod func(*build.Options)) (build.Result, error) {
	t.Helper()
	o := build.Options{Warehouse: filepath.Join(dir, "wh.duckdb"), LakeDir: filepath.Join(dir, "lake"), Models: fs,
		RunID: fmt.Sprintf("run%d", time.Now().UnixNano()), Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&o)
	}
	return build.Build(context.Background(), o)
}

func rows(t *testing.T, dir, q string) [][]string {
	t.Helper()
	db := warehousetest.Open(t, filepath.Join(dir, "wh.duckdb"), true)
	defer db.Close()
	return warehousetest.Rows(t, db, q)
}

func files(m map[string]string) fstest.MapFS {
	fs := fstest.MapFS{}
	for k, v := range m {
		fs[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fs
}

func statuses(res build.Result) map[string]string {
	out := map[string]string{}
	for _, m := range res.Models {
		out[m.Name] = m.Status
	}
	return out
}

var chain = map[string]string{
	"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events",
	"sql/core/fct_events.sql":         "select * from stg_s__events",
	"sql/core/dim_c.sql":              "select customer, count(*) as n from stg_s__events group by 1",
	"sql/marts/mart_total.sql":        "select sum(amount) as total, (select count(*) from dim_c) as customers from fct_events",
	"sql/marts/mart_other.sql":        "select 1 as one",
}

func TestSelection(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100), row(2, "b", 200))
	_, err := buildWith(t, dir, files(chain), nil)
	require.NoError(t, err)
	addRows(t, dir, row(3, "c", 300))

	cases := []struct {
		sel  []string
		want []string
	}{
		{[]string{"fct_events"}, []string{"fct_events"}},
		{[]string{"fct_events+"}, []string{"fct_events", "mart_total"}},
		{[]string{"+mart_total"}, []string{"dim_c", "fct_events", "mart_total", "stg_s__events"}},
		{[]string{"+dim_c+"}, []string{"dim_c", "mart_total", "stg_s__events"}},
		{[]string{"mart_other,dim_c"}, []string{"dim_c", "mart_other"}},
	}
	for _, c := range cases {
		res, err := buildWith(t, dir, files(chain), func(o *build.Options) { o.Select = c.sel })
		require.NoError(t, err, c.sel)
		var built []string
		for _, m := range res.Models {
			built = append(built, m.Name)
		}
		sort.Strings(built)
		require.Equal(t, c.want, built, c.sel)
	}
	// fct_events was rebuilt (3 rows) while nothing else upstream changed.
	require.Equal(t, [][]string{{"6.00", "3"}}, rows(t, dir, "select total, customers from mart_total"))

	_, err = buildWith(t, dir, files(chain), func(o *build.Options) { o.Select = []string{"nope"} })
	require.EqualError(t, err, "--select names no model: nope")

	withNew := files(chain)
	withNew["sql/marts/mart_new.sql"] = &fstest.MapFile{Data: []byte("select * from mart_new_dep")}
	withNew["sql/marts/mart_new_dep.sql"] = &fstest.MapFile{Data: []byte("select 1 as x")}
	_, err = buildWith(t, dir, withNew, func(o *build.Options) { o.Select = []string{"mart_new"} })
	require.EqualError(t, err, "the published warehouse lacks mart_new_dep; add them to --select (or run a full build)")
}

func TestSelectNeedsAPublishedWarehouse(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100))
	_, err := buildWith(t, dir, files(chain), func(o *build.Options) { o.Select = []string{"fct_events"} })
	require.ErrorIs(t, err, build.ErrNoPublished)
}

func TestRollbackRestoresThePreviousFile(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100))
	_, err := buildWith(t, dir, files(chain), nil)
	require.NoError(t, err)
	addRows(t, dir, row(2, "a", 100))
	_, err = buildWith(t, dir, files(chain), nil)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"2.00"}}, rows(t, dir, "select total from mart_total"))

	wh := filepath.Join(dir, "wh.duckdb")
	require.NoError(t, build.Rollback(wh))
	require.Equal(t, [][]string{{"1.00"}}, rows(t, dir, "select total from mart_total"))
	require.NoError(t, build.Rollback(wh), "a rollback can be undone")
	require.Equal(t, [][]string{{"2.00"}}, rows(t, dir, "select total from mart_total"))

	require.ErrorIs(t, build.Rollback(filepath.Join(t.TempDir(), "none.duckdb")), build.ErrNoPublished)
}

// An incremental model built over several increments equals the same
// model built in full at the end.
func TestIncrementalEqualsFullRebuild(t *testing.T) {
	inc := files(map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events qualify row_number() over (partition by id order by amount desc) = 1",
		"sql/core/fct_events.sql":         "-- @materialize: incremental\nselect id, customer, amount, amount * 2 as doubled from stg_s__events",
		"sql/core/fct_events.yml":         "unique_key: [id]\n",
	})
	full := files(map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events qualify row_number() over (partition by id order by amount desc) = 1",
		"sql/core/fct_events.sql":         "select id, customer, amount, amount * 2 as doubled from stg_s__events",
	})
	dir := t.TempDir()
	steps := [][][]any{
		{row(1, "a", 100), row(2, "b", 200)},
		{row(3, "c", 300)},
		{row(2, "b", 250), row(4, "d", 400)}, // id 2 updated: merged by key
		{},
		{row(5, "e", 500), row(1, "a", 150)},
	}
	var details []string
	for _, s := range steps {
		if len(s) > 0 {
			addRows(t, dir, s...)
		}
		res, err := buildWith(t, dir, inc, nil)
		require.NoError(t, err)
		for _, m := range res.Models {
			if m.Name == "fct_events" {
				details = append(details, m.Detail)
			}
		}
	}
	require.Equal(t, []string{
		"full build",
		"1 new lake parts: 1 rows merged (0 replaced)",
		"1 new lake parts: 2 rows merged (1 replaced)",
		"up to date",
		"1 new lake parts: 2 rows merged (1 replaced)",
	}, details)
	got := rows(t, dir, "select * from fct_events order by id")

	fresh := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(fresh, "lake"), os.DirFS(filepath.Join(dir, "lake"))))
	_, err := buildWith(t, fresh, full, nil)
	require.NoError(t, err)
	require.Equal(t, rows(t, fresh, "select * from fct_events order by id"), got)
	require.Len(t, got, 5)

	// Changing the model's SQL rebuilds it in full.
	inc["sql/core/fct_events.sql"] = &fstest.MapFile{Data: []byte("-- @materialize: incremental\nselect id, customer, amount, amount * 3 as doubled from stg_s__events")}
	res, err := buildWith(t, dir, inc, nil)
	require.NoError(t, err)
	require.Equal(t, "full build", res.Models[len(res.Models)-1].Detail)
	require.Equal(t, [][]string{{"4.50"}}, rows(t, dir, "select doubled from fct_events where id = 1"))
}

func TestGoStepsRunInTheDAG(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100), row(2, "b", 300))
	fs := files(map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events",
		"sql/marts/mart_scored.sql":       "select customer, score * 10 as score10 from scores",
	})
	step := build.Step{Name: "score", Reads: []string{"stg_s__events"}, Writes: []string{"scores"},
		Run: func(ctx context.Context, conn *sql.Conn) (int64, error) {
			_, err := conn.ExecContext(ctx, "create or replace table scores as select customer, amount / 100 as score from stg_s__events")
			return 2, err
		}}
	res, err := buildWith(t, dir, fs, func(o *build.Options) { o.Steps = []build.Step{step} })
	require.NoError(t, err)
	var order []string
	for _, m := range res.Models {
		order = append(order, m.Name)
	}
	require.Equal(t, []string{"stg_s__events", "score", "mart_scored"}, order)
	require.Equal(t, [][]string{{"a", "0.1"}, {"b", "0.3"}}, rows(t, dir, "select customer, score10::varchar from mart_scored order by 1"))
	require.Equal(t, [][]string{{"mart_scored", "score", "step"}, {"score", "stg_s__events", "model"}},
		rows(t, dir, "select model, depends_on, kind from meta.lineage where model <> 'stg_s__events' order by 1"))
}
