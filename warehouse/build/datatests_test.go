package build_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/build"
	"crmwh/warehouse/warehousetest"
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
	opts := build.TestOptions{Warehouse: wh, LakeDir: filepath.Join(dir, "lake"), Models: strict, RunID: "t1", Logger: slog.New(slog.DiscardHandler)}
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

// TestDataTestsRunInTheSandbox: a data test is SQL the user wrote; it may
// read the warehouse and the lake, and nothing else, and change nothing.
func TestDataTestsRunInTheSandbox(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100), row(2, "b", 200))
	outside := filepath.Join(dir, "outside.csv")
	require.NoError(t, os.WriteFile(outside, []byte("x\n1\n"), 0o644))
	copyTo := filepath.Join(dir, "copied.csv")
	attacks := fmt.Sprintf(`  - sql: {name: t_copy, query: "select 1; COPY (select 42) TO '%[1]s'", severity: warn}
  - sql: {name: t_attach, query: "ATTACH '%[2]s' AS w2", severity: warn}
  - sql: {name: t_set, query: "SET threads = 1", severity: warn}
  - sql: {name: t_read, query: "select * from read_csv('%[3]s')", severity: warn}
  - sql: {name: t_passwd, query: "select * from read_csv('/etc/passwd')", severity: warn}
  - sql: {name: t_lake, query: "select * from glob('%[4]s/**') where file not like '%%.parquet'", severity: warn}
  - assert: {name: t_assert, expr: "true) UNION ALL (SELECT * FROM fct_events", severity: warn}
`, copyTo, filepath.Join(dir, "wh.duckdb"), outside, filepath.Join(dir, "lake"))
	res, err := buildWith(t, dir, testedModels(attacks), nil)
	require.ErrorIs(t, err, build.ErrTestsFailed, "a test that cannot run blocks the publish, whatever its severity")
	got := map[string]string{}
	for _, r := range res.Tests {
		got[r.Name] = r.Status + ": " + r.Error
	}
	require.Contains(t, got["t_copy"], "error: not allowed in read-only SQL: COPY is not a query")
	require.Contains(t, got["t_attach"], "error: not allowed in read-only SQL: ATTACH is not a query")
	require.Contains(t, got["t_set"], "error: not allowed in read-only SQL: SET is not a query")
	require.Contains(t, got["t_read"], "error: not allowed in read-only SQL: Permission Error: Cannot access file \""+outside)
	require.Contains(t, got["t_read"], "(this SQL may read only the database and "+filepath.Join(dir, "lake")+")")
	require.Contains(t, got["t_passwd"], "error: not allowed in read-only SQL: Permission Error")
	require.Contains(t, got["t_assert"], "error: not allowed in read-only SQL:")
	require.Contains(t, got["t_assert"], "is not one expression")
	require.Equal(t, "warn: ", got["t_lake"], "the lake may be read: its manifests are there")
	require.Equal(t, "pass: ", got["unique_fct_events_id"])
	require.NoFileExists(t, copyTo)
}

func TestAFailingTestKeepsItsFirstTenRowsInColumnOrder(t *testing.T) {
	dir := t.TempDir()
	var rs [][]any
	for i := int64(1); i <= 12; i++ {
		rs = append(rs, row(i, "zed", -i))
	}
	addRows(t, dir, rs...)
	res, err := buildWith(t, dir, files(map[string]string{
		"sql/core/fct_events.sql": "select id, customer, amount from raw.s_events",
		"sql/core/fct_events.yml": "tests:\n  - assert: {expr: \"amount >= 0\"}\n",
	}), nil)
	require.ErrorIs(t, err, build.ErrTestsFailed)
	require.Contains(t, err.Error(), "test assert_fct_events (sql/core/fct_events.yml:2): 12 failing rows")
	tr := res.Tests[0]
	require.Equal(t, int64(12), tr.Failures)
	require.Equal(t, "12 failing rows", tr.FailingRows())
	lines := strings.Split(strings.TrimRight(tr.SampleText, "\n"), "\n")
	require.Len(t, lines, 2+build.SampleRows, tr.SampleText)
	require.Equal(t, "id  customer  amount", strings.TrimSpace(lines[0]))
	require.Regexp(t, `^ *1  zed +-0\.01$`, lines[2])
	var sample []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(tr.Sample), &sample))
	require.Len(t, sample, build.SampleRows)
	require.Equal(t, `{"id":1,"customer":"zed","amount":-0.01}`, string(sample[0]), "keys in column order")

	// The failed build is kept: meta.test_results there has the same rows.
	db := warehousetest.Open(t, res.Failed, true)
	require.Equal(t, tr.Sample, warehousetest.Scalar(t, db, "select sample from meta.test_results where test = 'assert_fct_events'"))
}
