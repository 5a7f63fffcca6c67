package build_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/build"
)

func testedModels(extra string) fstest.MapFS {
	return files(map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events",
		"sql/core/dim_c.sql":              "select distinct customer from stg_s__events where customer <> 'ghost'",
		"sql/core/fct_events.sql":         "select id, customer, amount, now() - interval 3 day as loaded_at from stg_s__events",
		"sql/core/fct_events.yml": `description: events
columns:
  - name: id
    description: the event
    tests: [unique, not_null]
  - name: customer
    description: who
    tests:
      - accepted_values: {values: [a, b, ghost]}
      - relationships: {to: dim_c, field: customer, severity: warn}
  - name: amount
    tests:
      - assert: {expr: "amount >= 0"}
  - name: loaded_at
    tests:
      - freshness: {warn_after: 1d, error_after: 7d}
tests:
  - row_count: {min: 1, max: 10}
  - sql: {name: no_big_spenders, query: "select customer from fct_events group by 1 having sum(amount) > 100"}
` + extra,
	})
}

func TestDataTests(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100), row(2, "b", 200), row(3, "ghost", 300))
	res, err := buildWith(t, dir, testedModels(""), nil)
	require.NoError(t, err, "warnings do not block")
	got := map[string]string{}
	for _, r := range res.Tests {
		got[r.Name] = r.Status
	}
	require.Equal(t, map[string]string{
		"unique_fct_events_id":                "pass",
		"not_null_fct_events_id":              "pass",
		"accepted_values_fct_events_customer": "pass",
		"relationships_fct_events_customer":   "warn",
		"assert_fct_events_amount":            "pass",
		"freshness_fct_events_loaded_at":      "pass",
		"freshness_fct_events_loaded_at_warn": "warn",
		"row_count_fct_events":                "pass",
		"no_big_spenders":                     "pass",
	}, got)
	require.Equal(t, [][]string{{"relationships_fct_events_customer", "warn", "1", `[{"customer":"ghost"}]`}},
		rows(t, dir, "select test, status, failures, sample from meta.test_results where test like 'relationships%'"))

	// An error-level failure blocks the publish, and says where the test is.
	addRows(t, dir, row(3, "c", -5))
	before, err := os.ReadFile(filepath.Join(dir, "wh.duckdb"))
	require.NoError(t, err)
	res, err = buildWith(t, dir, testedModels(""), nil)
	require.ErrorIs(t, err, build.ErrTestsFailed)
	require.Contains(t, err.Error(), "test unique_fct_events_id (sql/core/fct_events.yml:")
	require.Contains(t, err.Error(), "test accepted_values_fct_events_customer (sql/core/fct_events.yml:")
	require.Contains(t, err.Error(), "test assert_fct_events_amount")
	require.False(t, res.Published)
	after, err := os.ReadFile(filepath.Join(dir, "wh.duckdb"))
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestCrmwhTestRecordsHistoryInThePublishedWarehouse(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 10), row(2, "b", 20))
	models := testedModels("")
	_, err := buildWith(t, dir, models, nil)
	require.NoError(t, err)

	// The tests change (a stricter sql test), the data does not.
	strict := testedModels("  - sql: {name: small_amounts, query: \"select * from fct_events where amount > 0.15\", severity: error}\n")
	wh := filepath.Join(dir, "wh.duckdb")
	opts := build.TestOptions{Warehouse: wh, Models: strict, RunID: "t1", Logger: slog.New(slog.DiscardHandler)}
	res, err := build.RunTests(context.Background(), opts)
	require.ErrorIs(t, err, build.ErrTestsFailed)
	require.Len(t, res, 10)
	opts.RunID = "t2"
	_, err = build.RunTests(context.Background(), opts)
	require.ErrorIs(t, err, build.ErrTestsFailed)

	// The next build carries the history forward.
	addRows(t, dir, row(3, "a", 5))
	_, err = buildWith(t, dir, models, nil)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"fail", "2", "2", "[1, 1]"}},
		rows(t, dir, "select status, failed_runs, runs, failures_trend::varchar from meta.test_status where test = 'small_amounts'"))
	require.Equal(t, [][]string{{"t1"}},
		rows(t, dir, "select run_id from meta.test_results where test = 'small_amounts' and tested_at = (select failing_since from meta.test_status where test = 'small_amounts')"))
	require.Equal(t, [][]string{{"build", "ok"}, {"test", "failed"}, {"test", "failed"}, {"build", "ok"}},
		rows(t, dir, "select kind, status from meta.build_runs order by started_at"))
}
