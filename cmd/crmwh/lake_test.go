package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// appendConfig adds YAML to a project's crmwh.yaml.
func appendConfig(t *testing.T, dir, yaml string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "crmwh.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("\n" + yaml)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func TestLakeIcebergPublishesEveryStream(t *testing.T) {
	dir := demoProject(t)
	r := crmwh(t, dir, "lake", "iceberg")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "lake.iceberg.catalog is not set in crmwh.yaml")

	mustRun(t, dir, "extract")
	var states []struct {
		Source, Stream string
		Rows           int64
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "state", "show", "--json")), &states))

	// Turned on after the lake was extracted: lake iceberg publishes it
	// all, and a second time finds nothing to do.
	appendConfig(t, dir, "lake:\n  iceberg: {catalog: sqlite}\n")
	type tables struct {
		Catalog string `json:"catalog"`
		Tables  []struct {
			Table     string `json:"table"`
			Created   bool   `json:"created"`
			Snapshots int    `json:"snapshots"`
			Rows      int64  `json:"rows"`
		} `json:"tables"`
	}
	var first, second tables
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "lake", "iceberg", "--json")), &first))
	require.Equal(t, "sqlite", first.Catalog)
	require.Len(t, first.Tables, len(states))
	rows := map[string]int64{}
	for _, s := range states {
		rows["raw."+s.Source+"_"+s.Stream] = s.Rows
	}
	for _, tb := range first.Tables {
		require.Contains(t, rows, tb.Table)
		require.True(t, tb.Created)
		require.Equal(t, 1, tb.Snapshots)
		require.Equal(t, rows[tb.Table], tb.Rows, tb.Table)
	}
	require.FileExists(t, filepath.Join(dir, "data", "lake", "_iceberg", "catalog.sqlite"))
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "lake", "iceberg", "--json")), &second))
	for _, tb := range second.Tables {
		require.Zero(t, tb.Snapshots, tb.Table)
	}
	out := mustRun(t, dir, "lake", "iceberg")
	require.Contains(t, out, "raw.crm_customers")

	// A catalog that cannot be reached: the extract loads the lake all the
	// same and says so, its password masked.
	t.Setenv("CRMWH_TEST_CATALOG_PASSWORD", "Sekr1t-catalog-pw")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	on := "\nlake:\n  iceberg: {catalog: sqlite}\n"
	require.Equal(t, 1, strings.Count(string(cfg), on))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte(strings.Replace(string(cfg), on,
		"\nlake:\n  iceberg: {catalog: postgres, dsn: \"host="+filepath.Join(dir, "no-server")+
			" dbname=iceberg user=crmwh password=${CRMWH_TEST_CATALOG_PASSWORD} connect_timeout=2\"}\n", 1)), 0o644))
	r = crmwh(t, dir, "extract")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "warning: iceberg: opening the iceberg catalog (postgres)")
	require.Contains(t, r.stdout, "the next extract catches the catalog up")
	require.NotContains(t, r.stdout+r.stderr, "Sekr1t-catalog-pw")
}
