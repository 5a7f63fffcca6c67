package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/lake"
	"crmwh/project"
	locks "crmwh/refresh"
)

func TestStateShowResetAndFullReload(t *testing.T) {
	dir := demoProject(t)
	mustRun(t, dir, "extract")

	var states []struct {
		Source, Stream string
		Rows           int64
		Watermark      *struct{ Column, Value string }
		LastRun        *struct{ RunID, Status string } `json:"last_run"`
		Reload         *struct {
			RequestedBy string `json:"requested_by"`
		} `json:"reload"`
	}
	show := func() {
		states = nil
		require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "state", "show", "--json")), &states))
	}
	show()
	p, err := project.Load(dir)
	require.NoError(t, err)
	configured := 0
	for _, src := range p.Config.Sources {
		configured += len(src.Streams)
	}
	require.Len(t, states, configured, "one line per configured stream")
	byName := map[string]int{}
	for i, s := range states {
		byName[s.Source+"."+s.Stream] = i
		require.Positive(t, s.Rows, s.Stream)
		require.Equal(t, "ok", s.LastRun.Status)
	}
	cust := states[byName["crm.customers"]]
	require.Equal(t, "updated_at", cust.Watermark.Column)
	table := mustRun(t, dir, "state", "show")
	require.Contains(t, table, "crm.customers")
	require.Contains(t, table, "updated_at "+cust.Watermark.Value)

	t.Run("before any build, crmwh sql reads the lake's raw views, in the sandbox", func(t *testing.T) {
		r := crmwh(t, dir, "sql", "SELECT count(*) AS n FROM raw.crm_customers", "--format", "csv")
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, fmt.Sprintf("n\n%d\n", cust.Rows), r.stdout)
		require.Equal(t, "no warehouse is published yet: reading the lake's raw.* views (crmwh build makes the models)\n", r.stderr)
		require.Equal(t, r.stdout, mustRun(t, dir, "sql", "--lake", "SELECT count(*) AS n FROM raw.crm_customers", "--format", "csv"))
		r = crmwh(t, dir, "sql", "COPY (SELECT 1) TO 'data/lake/x.csv'")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "crmwh: not allowed in read-only SQL: COPY is not a query")
		r = crmwh(t, dir, "sql", "SELECT * FROM read_csv('/etc/passwd')")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "Permission Error")
		require.Contains(t, r.stderr, "(this SQL may read only the database and "+filepath.Join(dir, "data", "lake")+")")
		r = crmwh(t, dir, "sql", "--failed-build", "SELECT 1")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "no failed build is kept")
	})

	t.Run("reset --cancel says what it cancelled", func(t *testing.T) {
		mustRun(t, dir, "state", "reset", "crm.tickets")
		out := mustRun(t, dir, "state", "reset", "--cancel", "crm.tickets", "crm.campaigns")
		require.Regexp(t, `^crm.tickets: cancelled the full reload asked for by crmwh state reset \d+s ago \(0 rows loaded so far, discarded\); the stream stays as it is\n`+
			`crm.campaigns: no reload pending; the stream stays as it is\n$`, out)
		show()
		require.Nil(t, states[byName["crm.tickets"]].Reload)
	})

	t.Run("reset asks for a reload that the next extract does; rows are not doubled", func(t *testing.T) {
		out := mustRun(t, dir, "state", "reset", "crm.customers")
		require.Contains(t, out, "crm.customers: the next extract reloads it from scratch")
		show()
		require.Equal(t, "crmwh state reset", states[byName["crm.customers"]].Reload.RequestedBy)
		require.Nil(t, states[byName["billing.orders"]].Reload)

		var sum summary
		require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "extract", "--json")), &sum))
		require.Equal(t, cust.Rows, sum.Steps[0].Rows, "only the reset stream was read again, all of it")
		show()
		require.Nil(t, states[byName["crm.customers"]].Reload)
		require.Equal(t, cust.Rows, states[byName["crm.customers"]].Rows)
	})

	t.Run("extract --full reloads the named stream now", func(t *testing.T) {
		var sum struct {
			Steps []struct {
				Rows   int64
				Result struct {
					Streams []struct {
						Stream string
						Full   bool
						Rows   int64
					}
				}
			}
		}
		require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "extract", "--full", "billing.legacy_orders", "--json")), &sum))
		require.Len(t, sum.Steps[0].Result.Streams, 1)
		require.True(t, sum.Steps[0].Result.Streams[0].Full)
		show()
		require.Equal(t, sum.Steps[0].Rows, states[byName["billing.legacy_orders"]].Rows)
	})

	t.Run("command-line mistakes exit 2", func(t *testing.T) {
		r := crmwh(t, dir, "state", "reset", "crm.nosuch")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "no stream matches crm.nosuch")
		r = crmwh(t, dir, "extract", "--full")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "name the streams to reset")
	})

	t.Run("a second writer exits 3 and changes nothing", func(t *testing.T) {
		l, err := lake.Open(filepath.Join(dir, "data", "lake"))
		require.NoError(t, err)
		unlock, err := l.Lock("a test")
		require.NoError(t, err)
		defer unlock()
		for _, args := range [][]string{{"extract"}, {"extract", "--full", "crm.customers"}, {"state", "reset", "crm"}, {"refresh"}} {
			r := crmwh(t, dir, args...)
			require.Equal(t, 3, r.code, "%v: %s", args, r.stderr)
			require.Contains(t, r.stderr, "another crmwh process is writing to the lake")
			require.Contains(t, r.stderr, fmt.Sprintf("is held by pid %d", os.Getpid()), "names the holder")
			require.Contains(t, r.stderr, "(a test) since ")
		}
		show()
		require.Nil(t, states[byName["crm.customers"]].Reload, "nothing was asked for")
	})

	t.Run("extract --full --wait waits for a running extract, then reloads", func(t *testing.T) {
		// What a running extract holds: the project lock and the lake's.
		lock, err := locks.LockProject(context.Background(), p, 0, locks.NewHolder("extract", "test-run", ""))
		require.NoError(t, err)
		l, err := lake.Open(filepath.Join(dir, "data", "lake"))
		require.NoError(t, err)
		unlockLake, err := l.Lock("a test")
		require.NoError(t, err)
		unlock := func() {
			unlockLake()
			require.NoError(t, lock.Release())
		}
		done := make(chan runResult, 1)
		go func() { done <- crmwh(t, dir, "extract", "--full", "crm.customers", "--wait", "60s", "--json") }()
		time.Sleep(1500 * time.Millisecond)
		select {
		case r := <-done:
			unlock()
			t.Fatalf("did not wait for the lake lock: exit %d, %s", r.code, r.stderr)
		default:
		}
		unlock()
		r := <-done
		require.Equal(t, 0, r.code, r.stderr)
		var sum summary
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
		require.Equal(t, cust.Rows, sum.Steps[0].Rows, "crm.customers was read again, all of it")
		show()
		require.Nil(t, states[byName["crm.customers"]].Reload)
		require.Equal(t, cust.Rows, states[byName["crm.customers"]].Rows)
	})
}

func TestStateVerbsHaveHelpWithAnExample(t *testing.T) {
	for _, verb := range [][]string{{"state"}, {"state", "show"}, {"state", "reset"}} {
		out := mustRun(t, t.TempDir(), append(verb, "--help")...)
		require.Contains(t, out, "Examples:", verb)
		require.Contains(t, out, "crmwh state", verb)
	}
}
