package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crmwh/dashboards/spec"
	"crmwh/warehouse/duckdb"

	"github.com/stretchr/testify/require"
)

// forEach runs every call, and its error is the lowest index's whatever
// order the calls finish in, so a site with two pages that fail to render
// always names the same one.
func TestForEachRunsEveryCallAndReturnsTheFirstError(t *testing.T) {
	for range 20 {
		var calls atomic.Int64
		seen := make([]bool, 50)
		err := forEach(len(seen), func(i int) error {
			calls.Add(1)
			seen[i] = true
			if i == 7 || i == 31 {
				return fmt.Errorf("call %d", i)
			}
			return nil
		})
		require.EqualError(t, err, "call 7")
		require.EqualValues(t, 50, calls.Load())
		require.NotContains(t, seen, false)
	}
	require.NoError(t, forEach(0, func(int) error { return fmt.Errorf("never called") }))
}

// Chart queries run on several connections of the read-only warehouse at
// once; the sandbox holds on every one of them, and each query's rows and
// file are its own.
func TestChartQueriesRunInTheSandboxOnEveryConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warehouse.duckdb")
	w, err := duckdb.Open(path, duckdb.Options{})
	require.NoError(t, err)
	_, err = w.Exec(`CREATE TABLE numbers AS SELECT range AS n FROM range(3000)`)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	db, err := duckdb.OpenSandbox(path, duckdb.Sandbox{}, duckdb.Options{})
	require.NoError(t, err)
	defer db.Close()

	var charts strings.Builder
	for i := range 8 {
		fmt.Fprintf(&charts, `
      - name: n%d
        kind: table
        title: {en: N, zh: 数}
        query: SELECT n, n * %d AS m FROM numbers WHERE n %% 8 = %d ORDER BY n`, i, i, i)
	}
	p, err := spec.Parse("dashboards/many.yaml", []byte(`
name: many
title: {en: Many, zh: 多}
sections:
  - charts:
      - name: secret
        kind: table
        title: {en: Secret, zh: 秘密}
        query: SELECT * FROM read_text('/etc/passwd')`+charts.String()+"\n"))
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := Render(context.Background(), db, []spec.Page{p}, Options{OutDir: dir, DataAsOf: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorContains(t, err, "chart secret: query:")
	require.ErrorContains(t, err, "Permission Error")
	require.Equal(t, 1, res.Failed)
	for i := range 8 {
		b, err := os.ReadFile(filepath.Join(dir, "data", "many", fmt.Sprintf("n%d.csv", i)))
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(string(b)), "\r\n")
		require.Len(t, lines, 376, "n%d: a header and the 375 numbers n with n mod 8 = %d", i, i)
		require.Equal(t, fmt.Sprintf("%d,%d", i, i*i), lines[1])
		require.Equal(t, fmt.Sprintf("%d,%d", 2992+i, (2992+i)*i), lines[375])
	}
}
