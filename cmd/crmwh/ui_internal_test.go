package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/refresh"
	"crmwh/warehouse/build"
)

// TestWarningsPrintOnceOnATerminal: on a terminal, a data test that did not
// pass is shown by its progress line, with its failing rows, and not logged
// again; other warnings are still logged. Without a terminal the summary
// shows the rows instead.
func TestWarningsPrintOnceOnATerminal(t *testing.T) {
	var out, errw bytes.Buffer
	u := &ui{out: &out, errw: &errw, tty: true, finished: map[string]bool{}}
	log := u.logger(false)
	tr := build.TestResult{Name: "assert_fct_orders", Where: "sql/core/fct_orders.yml:9", Status: "warn", Failures: 12,
		SampleText: "id  amount\n--  ------\n 1   -0.01\n"}
	log.Warn("data test did not pass", "test", tr.Name, "status", tr.Status)
	u.testProgress(tr)
	log.Warn("the run history is unavailable; this run will not be recorded")
	require.Equal(t, 1, strings.Count(errw.String(), "assert_fct_orders"), errw.String())
	require.Contains(t, errw.String(), "  ! test assert_fct_orders (sql/core/fct_orders.yml:9): 12 failing rows; the first 10:\n      id  amount\n")
	require.Contains(t, errw.String(), "the run history is unavailable")

	sum := refresh.Summary{RunID: "r", Status: "ok", Steps: []refresh.StepSummary{{Step: "build", Status: "ok", Duration: time.Second,
		Result: build.Result{Tests: []build.TestResult{tr, {Name: "fine", Status: "pass"}}}}}}
	u.summary(sum)
	require.NotContains(t, out.String(), "assert_fct_orders", "shown already")
	out.Reset()
	(&ui{out: &out, errw: &errw, finished: map[string]bool{}}).summary(sum)
	require.Contains(t, out.String(), "  test assert_fct_orders (sql/core/fct_orders.yml:9): 12 failing rows; the first 10:\n      id  amount\n")
	require.Contains(t, out.String(), "       1   -0.01\n")
	require.NotContains(t, out.String(), "fine")
}
