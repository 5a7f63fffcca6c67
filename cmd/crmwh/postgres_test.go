package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/pgtest"
	"crmwh/warehouse/warehousetest"
)

// TestThePostgresCRMGivesTheSameWarehouse copies the demo CRM into a real
// PostgreSQL (crmwh demo --postgres), points the project's crm source at
// it, and checks that the warehouse comes out the same as from SQLite.
func TestThePostgresCRMGivesTheSameWarehouse(t *testing.T) {
	s := pgtest.Start(t)
	require.NoError(t, s.CreateDatabase(context.Background(), "crm"))
	t.Setenv("CRMWH_TEST_PG_PASSWORD", s.Password)
	dsn := s.DSNWithPassword("crm", "${CRMWH_TEST_PG_PASSWORD}")

	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	var sum struct {
		Customers int
		Postgres  map[string]int64
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "demo", "--customers", "3000", "--years", "1", "--seed", "11",
		"--postgres", dsn, "--json")), &sum))
	require.Positive(t, sum.Postgres["customers"])
	require.Positive(t, sum.Postgres["tickets"])

	snapshot := func() map[string][][]string {
		db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
		defer db.Close()
		out := map[string][][]string{}
		for name, q := range map[string]string{
			"kpis":      "SELECT * FROM mart_kpi_monthly ORDER BY month",
			"customers": "SELECT * FROM stg_customers ORDER BY customer_id",
			"dim":       "SELECT count(*), count(DISTINCT customer_id) FROM dim_customer",
			"tickets":   "SELECT count(*), sum(satisfaction), max(updated_at) FROM raw.crm_tickets",
			"types":     "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'raw' AND table_name LIKE 'crm_%' AND table_name NOT LIKE '%quarantine' ORDER BY table_name, column_name",
		} {
			out[name] = warehousetest.Rows(t, db, q)
		}
		return out
	}
	refresh(t, dir)
	fromSQLite := snapshot()
	require.NotEmpty(t, fromSQLite["kpis"])

	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	pg := strings.Replace(string(cfg), "kind: sqlite\n    dsn: data/demo/crm.sqlite", fmt.Sprintf("kind: postgres\n    dsn: %q", dsn), 1)
	require.NotEqual(t, string(cfg), pg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte(pg), 0o644))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "data", "lake")))
	refresh(t, dir)
	fromPostgres := snapshot()
	for k := range fromSQLite {
		require.Equal(t, fromSQLite[k], fromPostgres[k], k)
	}

	// A second refresh reads nothing new from PostgreSQL either.
	second := refresh(t, dir)
	require.Zero(t, second.Steps[0].Rows)
}
