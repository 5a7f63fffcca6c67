package build_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/build"
	"crmwh/warehouse/duckdb"
)

// livePaths are the lake files the lake's manifests list now.
func livePaths(t *testing.T, dir string) []string {
	t.Helper()
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	ms, err := l.Manifests()
	require.NoError(t, err)
	var out []string
	for _, m := range ms {
		for _, p := range append(m.LiveParts(), m.LiveQuarantine()...) {
			out = append(out, p.Path)
		}
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestLakePartsAreWhatTheWarehouseFilesRead(t *testing.T) {
	dir := t.TempDir()
	wh := filepath.Join(dir, "wh.duckdb")
	ctx := context.Background()
	fixture(t, dir, 3)
	first := livePaths(t, dir)
	_, err := build.Build(ctx, opts(dir, goodModels, "run1"))
	require.NoError(t, err)
	got, err := build.LakeParts(ctx, wh)
	require.NoError(t, err)
	require.Equal(t, first, keys(got))

	fixture(t, dir, 2)
	second := livePaths(t, dir)
	_, err = build.Build(ctx, opts(dir, goodModels, "run2"))
	require.NoError(t, err)
	got, err = build.LakeParts(ctx, wh)
	require.NoError(t, err)
	require.Equal(t, second, keys(got), "the published warehouse reads both parts, .prev the first")

	// A failed build is kept for inspection: what it reads stays too.
	fixture(t, dir, 1)
	third := livePaths(t, dir)
	broken := fstest.MapFS{
		"sql/staging/s/stg_s__orders.sql": goodModels["sql/staging/s/stg_s__orders.sql"],
		"sql/marts/mart_total.sql":        {Data: []byte("select 1 / 0 :: integer + 'x'")},
	}
	res, err := build.Build(ctx, opts(dir, broken, "run3"))
	require.Error(t, err)
	require.FileExists(t, res.Failed)
	got, err = build.LakeParts(ctx, wh)
	require.NoError(t, err)
	require.Equal(t, third, keys(got))

	// A build under way (or killed) has a file no one can read yet.
	require.NoError(t, os.WriteFile(wh+".build-run4", nil, 0o644))
	_, err = build.LakeParts(ctx, wh)
	require.ErrorContains(t, err, "wh.duckdb.build-run4 is a build under way, or left by a killed one")
	require.NoError(t, os.Remove(wh+".build-run4"))

	// A warehouse built before meta.lake_parts existed does not say.
	require.NoError(t, os.Remove(wh+".prev"))
	old, err := duckdb.Open(wh+".prev", duckdb.Options{})
	require.NoError(t, err)
	_, err = old.Exec("CREATE SCHEMA meta; CREATE TABLE meta.build_runs (run_id VARCHAR)")
	require.NoError(t, err)
	require.NoError(t, old.Close())
	_, err = build.LakeParts(ctx, wh)
	require.ErrorContains(t, err, "reading which lake files wh.duckdb.prev reads: it has no meta.lake_parts")
}
