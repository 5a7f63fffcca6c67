package history_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/secret"
	"crmwh/refresh/history"
)

var ctx = context.Background()

// TestMain doubles as a history writer for
// TestConcurrentWritersFromTwoProcesses: with CRMWH_TEST_HISTORY_DIR set it
// saves 200 runs and exits.
func TestMain(m *testing.M) {
	if dir := os.Getenv("CRMWH_TEST_HISTORY_DIR"); dir != "" {
		s, err := history.Open(dir, 0)
		if err != nil {
			panic(err)
		}
		w := os.Getenv("CRMWH_TEST_HISTORY_WRITER")
		for i := 0; i < 200; i++ {
			if err := s.Save(ctx, run(w+"-"+strconv.Itoa(i), "", history.TriggerManual, history.StatusOK, time.Now())); err != nil {
				panic(err)
			}
		}
		s.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func run(id, schedule, trigger, status string, started time.Time) history.Run {
	return history.Run{RunID: id, Schedule: schedule, Command: "refresh", Trigger: trigger, Attempt: 1, MaxAttempts: 1,
		StartedAt: started, FinishedAt: started.Add(3 * time.Second), Status: status, PID: 42,
		Steps: []history.Step{{Step: "extract", Status: "ok", Rows: 120, DurationMS: 1500}, {Step: "build", Status: status}}}
}

func TestRunsRoundTripNewestFirst(t *testing.T) {
	s, err := history.Open(t.TempDir(), 0)
	require.NoError(t, err)
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	require.NoError(t, s.Save(ctx, run("a", "nightly", history.TriggerCron, history.StatusOK, now.Add(-2*time.Hour))))
	require.NoError(t, s.Save(ctx, run("b", "", history.TriggerManual, history.StatusFailed, now.Add(-time.Hour))))
	c := run("c", "nightly", history.TriggerMissed, history.StatusRunning, now)
	c.FinishedAt = time.Time{}
	c.ScheduledAt = now.Add(-30 * time.Minute)
	require.NoError(t, s.Save(ctx, c))

	all, err := s.List(ctx, history.Filter{})
	require.NoError(t, err)
	require.Equal(t, []string{"c", "b", "a"}, ids(all))
	require.Equal(t, c, all[0])
	require.Equal(t, 3*time.Second, all[1].Duration())

	nightly, err := s.List(ctx, history.Filter{Schedule: "nightly", Triggers: []string{history.TriggerCron}})
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, ids(nightly))
	manual, err := s.List(ctx, history.Filter{Schedule: "-"})
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, ids(manual))

	last, err := s.Last(ctx)
	require.NoError(t, err)
	require.Equal(t, "c", last["nightly"].RunID)
	require.Equal(t, "b", last[""].RunID)
	ok, err := s.LastSuccess(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]time.Time{"nightly": now.Add(-2 * time.Hour).Add(3 * time.Second)}, ok)

	got, err := s.Get(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, int64(120), got.Steps[0].Rows)
	_, err = s.Get(ctx, "zzz")
	require.ErrorIs(t, err, history.ErrNotFound)

	// Only the lock holder calls this; c's process is gone.
	n, err := s.MarkAbandoned(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err = s.Get(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, history.StatusInterrupted, got.Status)
	require.Equal(t, "the process (pid 42) ended without finishing the run", got.Error)
	require.False(t, got.FinishedAt.IsZero())
}

func TestOldRunsAreDeletedAfterTheConfiguredDays(t *testing.T) {
	s, err := history.Open(t.TempDir(), 7)
	require.NoError(t, err)
	defer s.Close()
	now := time.Now().UTC()
	require.NoError(t, s.Save(ctx, run("old", "nightly", history.TriggerCron, history.StatusOK, now.Add(-8*24*time.Hour))))
	require.NoError(t, s.Save(ctx, run("recent", "nightly", history.TriggerCron, history.StatusOK, now.Add(-6*24*time.Hour))))
	all, err := s.List(ctx, history.Filter{})
	require.NoError(t, err)
	require.Equal(t, []string{"recent"}, ids(all))
}

func TestSecretsNeverReachTheHistory(t *testing.T) {
	s, err := history.Open(t.TempDir(), 0)
	require.NoError(t, err)
	defer s.Close()
	r := run("x", "", history.TriggerManual, history.StatusFailed, time.Now())
	r.Error = `extract: crm: connecting to postgres://etl:s3cr3t-pw@db.internal:5432/crm: connection refused`
	r.Steps[1].Error = `dsn "host=db user=etl password=hunter2 sslmode=disable" failed; Authorization: Bearer abc.def.ghi`
	require.NoError(t, s.Save(ctx, r))
	got, err := s.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, "extract: crm: connecting to postgres://etl:xxxxx@db.internal:5432/crm: connection refused", got.Error)
	require.Equal(t, `dsn "host=db user=etl password=xxxxx sslmode=disable" failed; Authorization: Bearer xxxxx`, got.Steps[1].Error)
	b, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	require.NotContains(t, string(b), "s3cr3t")
	require.NotContains(t, string(b), "hunter2")

	// A value from the environment, in any form, is masked when stored
	// and, for records written before it was known as a secret, when read.
	r = run("y", "", history.TriggerManual, history.StatusFailed, time.Now())
	r.Error = `database "crm%40Ledger" does not exist`
	require.NoError(t, s.Save(ctx, r))
	secret.Add("crm@Ledger")
	got, err = s.Get(ctx, "y")
	require.NoError(t, err)
	require.Equal(t, `database "***" does not exist`, got.Error)
	r = run("z", "", history.TriggerManual, history.StatusFailed, time.Now())
	r.Steps[0].Error = `no such database crm@Ledger`
	require.NoError(t, s.Save(ctx, r))
	b, err = os.ReadFile(s.Path())
	require.NoError(t, err)
	require.NotContains(t, string(b), "crm@Ledger")
}

func TestTheSchedulersState(t *testing.T) {
	s, err := history.Open(t.TempDir(), 0)
	require.NoError(t, err)
	defer s.Close()
	_, ok, err := s.Daemon(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	now := time.Now().UTC()
	d := history.Daemon{PID: 7, Host: "h", Listen: "127.0.0.1:8765", StartedAt: now.Add(-time.Hour), HeartbeatAt: now}
	require.NoError(t, s.SaveDaemon(ctx, d))
	got, ok, err := s.Daemon(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, d, got)
}

// Two processes writing at once both succeed: the scheduler and a manual
// refresh share the history.
func TestConcurrentWritersFromTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CRMWH_TEST_HISTORY_DIR="+dir, "CRMWH_TEST_HISTORY_WRITER="+strconv.Itoa(i))
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		require.NoError(t, c.Wait())
	}
	s, err := history.Open(dir, 0)
	require.NoError(t, err)
	defer s.Close()
	all, err := s.List(ctx, history.Filter{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, all, 400)
}

func ids(runs []history.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.RunID)
	}
	return out
}

// TestAKilledRunEndsAtItsLastHeartbeat: a run whose process was killed
// 4.99 s after it started is recorded, when the next run finds it, as
// lasting 4.99 s, not until the next run came.
func TestAKilledRunEndsAtItsLastHeartbeat(t *testing.T) {
	s, err := history.Open(t.TempDir(), 0)
	require.NoError(t, err)
	defer s.Close()
	start := time.Now().Add(-time.Minute).UTC()
	require.NoError(t, s.Save(ctx, run("killed", "", history.TriggerManual, history.StatusRunning, start)))
	require.NoError(t, s.Save(ctx, run("early", "", history.TriggerManual, history.StatusRunning, start.Add(time.Second))))
	require.NoError(t, s.Heartbeat(ctx, "killed", start.Add(4990*time.Millisecond)))
	n, err := s.MarkAbandoned(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	got, err := s.Get(ctx, "killed")
	require.NoError(t, err)
	require.Equal(t, history.StatusInterrupted, got.Status)
	require.Equal(t, 4990*time.Millisecond, got.Duration())
	got, err = s.Get(ctx, "early")
	require.NoError(t, err)
	require.Zero(t, got.Duration(), "killed before its first heartbeat: it ends where it started")

	// A heartbeat never touches a run that has finished.
	require.NoError(t, s.Heartbeat(ctx, "killed", start.Add(time.Hour)))
	got, err = s.Get(ctx, "killed")
	require.NoError(t, err)
	require.Equal(t, 4990*time.Millisecond, got.Duration())
}

func TestAHistoryFromBeforeHeartbeatsIsUpgraded(t *testing.T) {
	dir := t.TempDir()
	old, err := sql.Open("sqlite", filepath.Join(dir, history.File))
	require.NoError(t, err)
	_, err = old.Exec(`CREATE TABLE runs (run_id TEXT PRIMARY KEY, schedule TEXT NOT NULL DEFAULT '', command TEXT NOT NULL,
		trigger TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 1, max_attempts INTEGER NOT NULL DEFAULT 1,
		scheduled_at INTEGER NOT NULL DEFAULT 0, started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0,
		status TEXT NOT NULL, steps TEXT NOT NULL DEFAULT '[]', rows_extracted INTEGER NOT NULL DEFAULT 0,
		error TEXT NOT NULL DEFAULT '', pid INTEGER NOT NULL DEFAULT 0, host TEXT NOT NULL DEFAULT '');
		INSERT INTO runs (run_id, command, trigger, started_at, status) VALUES ('r1', 'refresh', 'manual', 1000, 'running')`)
	require.NoError(t, err)
	require.NoError(t, old.Close())
	s, err := history.Open(dir, 0)
	require.NoError(t, err)
	defer s.Close()
	n, err := s.MarkAbandoned(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err := s.Get(ctx, "r1")
	require.NoError(t, err)
	require.Equal(t, time.Unix(0, 1000).UTC(), got.FinishedAt)
}
