package main_test

// End-to-end tests of the scheduler, the project lock and the run history
// with the real binary: real daemons, real signals, real HTTP, real time.
// Each test runs on its own small demo company (500 customers, one year).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	projectlock "crmwh/refresh"
	"crmwh/refresh/history"
)

// scheduleProject makes a project with a small demo company whose only
// schedules are the given ones (name → YAML).
func scheduleProject(t *testing.T, schedules map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	mustRun(t, dir, "demo", "--customers", "500", "--years", "1", "--seed", "5")
	old, err := filepath.Glob(filepath.Join(dir, "schedules", "*.yaml"))
	require.NoError(t, err)
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	for name, yaml := range schedules {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schedules", name+".yaml"), []byte(yaml), 0o644))
	}
	return dir
}

// writeModel adds a mart model to the project.
func writeModel(t *testing.T, dir, name, sql string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sql", "marts", name+".sql"), []byte(sql+"\n"), 0o644))
}

// slowModel is a mart that keeps DuckDB busy for about rows/40M seconds on
// one core of the test machine.
func slowModel(rows int64) string {
	return fmt.Sprintf("select sum(hash(i) %% 7) as s from range(%d) t(i)", rows)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is a running `crmwh scheduler`.
type daemon struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *syncBuffer
	done           chan struct{}
	code           int
}

// startDaemon starts `crmwh scheduler` in dir on a free local port and
// waits until it listens.
func startDaemon(t *testing.T, dir string, env []string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"scheduler", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CRMWH_PROJECT=", "CRMWH_TRIGGER_TOKEN="), env...)
	d := &daemon{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = d.stderr
	require.NoError(t, cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			d.stdout.Write([]byte(line + "\n"))
			if rest, ok := strings.CutPrefix(line, "listening on "); ok {
				u, _, _ := strings.Cut(rest, ": ")
				addr <- u
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		d.code = cmd.ProcessState.ExitCode()
		_ = err
		close(d.done)
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("scheduler stdout:\n%s\nscheduler stderr:\n%s", d.stdout, d.stderr)
		}
	})
	select {
	case d.url = <-addr:
	case <-d.done:
		t.Fatalf("the scheduler exited with %d before listening:\n%s%s", d.code, d.stdout, d.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("the scheduler did not start listening:\n%s%s", d.stdout, d.stderr)
	}
	return d
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends sig and returns the exit code.
func (d *daemon) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	require.NoError(t, d.cmd.Process.Signal(sig))
	return d.wait(t)
}

// wait waits for the scheduler to exit and returns the exit code.
func (d *daemon) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(90 * time.Second):
		t.Fatalf("the scheduler did not stop")
	}
	return d.code
}

// call makes an HTTP request to the daemon and decodes a JSON answer into
// out (when not nil).
func (d *daemon) call(t *testing.T, method, path, token string, out any) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, d.url+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(body, out), string(body))
	}
	return resp.StatusCode, resp.Header
}

// trigger starts a schedule over HTTP and returns its run id.
func (d *daemon) trigger(t *testing.T, schedule, token string) string {
	t.Helper()
	var got map[string]string
	code, _ := d.call(t, http.MethodPost, "/trigger/"+schedule, token, &got)
	require.Equal(t, http.StatusAccepted, code, got)
	require.Equal(t, schedule, got["schedule"])
	require.NotEmpty(t, got["run_id"])
	return got["run_id"]
}

// runs reads the project's run history, oldest first.
func runs(t *testing.T, dir string, schedule string) []history.Run {
	t.Helper()
	s, err := history.Open(filepath.Join(dir, "data", "state"), 0)
	require.NoError(t, err)
	defer s.Close()
	all, err := s.List(t.Context(), history.Filter{Schedule: schedule, Limit: 1000})
	require.NoError(t, err)
	sort.Slice(all, func(i, j int) bool { return all[i].StartedAt.Before(all[j].StartedAt) })
	return all
}

func runByID(t *testing.T, dir, id string) history.Run {
	t.Helper()
	for _, r := range runs(t, dir, "") {
		if r.RunID == id {
			return r
		}
	}
	t.Fatalf("no run %s in the history", id)
	return history.Run{}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func metricFamilies(t *testing.T, d *daemon) string {
	t.Helper()
	resp, err := http.Get(d.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/plain; version=0.0.4; charset=utf-8", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.LegacyValidation)
	_, err = p.TextToMetricFamilies(bytes.NewReader(b))
	require.NoError(t, err, "/metrics must parse as Prometheus text:\n%s", b)
	return string(b)
}

func TestTheSchedulerRunsAnEverySecondScheduleForReal(t *testing.T) {
	t.Parallel()
	dir := scheduleProject(t, map[string]string{"every": "cron: \"@every 1s\"\nsteps: [extract]\ntimeout: 1m\n"})
	d := startDaemon(t, dir, nil)
	require.Contains(t, d.stdout.String(), "every            @every 1s")

	waitFor(t, 60*time.Second, "three finished runs", func() bool {
		n := 0
		for _, r := range runs(t, dir, "every") {
			if r.Status == history.StatusOK {
				n++
			}
		}
		return n >= 3
	})

	var st struct {
		Scheduler struct {
			Running bool
			PID     int
		}
		Schedules []struct {
			Name    string
			NextRun time.Time    `json:"next_run"`
			LastRun *history.Run `json:"last_run"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "status", "--json")), &st))
	require.True(t, st.Scheduler.Running)
	require.Equal(t, d.pid(), st.Scheduler.PID)
	require.Len(t, st.Schedules, 1)
	require.NotNil(t, st.Schedules[0].LastRun)
	require.WithinDuration(t, time.Now(), st.Schedules[0].NextRun, 3*time.Second)

	require.Equal(t, 0, d.stop(t, syscall.SIGTERM), d.stderr.String())
	all := runs(t, dir, "every")
	require.GreaterOrEqual(t, len(all), 3)
	for i, r := range all {
		require.Equal(t, history.StatusOK, r.Status, "run %d: %s", i, r.Error)
		require.Equal(t, history.TriggerCron, r.Trigger)
		require.Equal(t, "scheduler", r.Command)
		require.Equal(t, d.pid(), r.PID)
		require.Zero(t, r.ScheduledAt.Nanosecond(), "runs are due on whole seconds")
		require.False(t, r.StartedAt.Before(r.ScheduledAt), "a run does not start before it is due")
		require.Len(t, r.Steps, 1)
		if i == 0 {
			require.Positive(t, r.RowsExtracted, "the first run loads the demo company")
			continue
		}
		require.Zero(t, r.RowsExtracted, "later runs find nothing new")
		prev := all[i-1]
		require.False(t, r.StartedAt.Before(prev.FinishedAt), "runs never overlap")
		require.GreaterOrEqual(t, r.ScheduledAt.Sub(prev.ScheduledAt), time.Second)
	}
	s, err := history.Open(filepath.Join(dir, "data", "state"), 0)
	require.NoError(t, err)
	defer s.Close()
	state, ok, err := s.Daemon(t.Context())
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, state.StoppedAt.IsZero(), "a clean stop is recorded")
}

func TestOneRefreshAtATimeAcrossProcesses(t *testing.T) {
	t.Parallel()
	dir := scheduleProject(t, map[string]string{"slow": "cron: \"0 0 1 1 *\"\nsteps: [build]\nlock_wait: 0s\n"})
	mustRun(t, dir, "extract")
	writeModel(t, dir, "mart_slow", slowModel(150_000_000))
	d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=tok"})
	lockPath := filepath.Join(dir, "data", "state", projectlock.LockFile)

	id := d.trigger(t, "slow", "tok")
	waitFor(t, 30*time.Second, "the scheduled build to hold the lock", func() bool {
		held, h, _ := projectlock.Probe(lockPath)
		return held && h != nil && h.RunID == id
	})

	t.Run("a manual refresh while a scheduled one runs exits 3 at once, naming the holder", func(t *testing.T) {
		t0 := time.Now()
		r := crmwh(t, dir, "refresh")
		require.Equal(t, 3, r.code, r.stderr)
		require.Less(t, time.Since(t0), 5*time.Second)
		require.Contains(t, r.stderr, fmt.Sprintf("crmwh: the project lock %s is held by pid %d", lockPath, d.pid()))
		require.Contains(t, r.stderr, "(crmwh scheduler, schedule slow, run "+id+")")

		r = crmwh(t, dir, "refresh", "--json")
		require.Equal(t, 3, r.code)
		var sum struct{ Status, Error string }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum), r.stdout)
		require.Equal(t, "skipped", sum.Status)
		require.Contains(t, sum.Error, "is held by pid")
	})

	t.Run("a second scheduler on the project exits 3 at once", func(t *testing.T) {
		t0 := time.Now()
		r := crmwh(t, dir, "scheduler", "--listen", "127.0.0.1:0")
		require.Equal(t, 3, r.code, r.stderr)
		require.Less(t, time.Since(t0), 5*time.Second)
		require.Contains(t, r.stderr, fmt.Sprintf("the scheduler lock %s is held by pid %d", filepath.Join(dir, "data", "state", "scheduler.lock"), d.pid()))
		code, _ := d.call(t, http.MethodGet, "/healthz", "", nil)
		require.Equal(t, http.StatusOK, code, "the first scheduler is unharmed")
	})

	t.Run("with --wait a manual build runs after the scheduled one", func(t *testing.T) {
		require.Equal(t, history.StatusRunning, runByID(t, dir, id).Status, "the model is too fast for this machine; make it slower")
		// --select keeps the manual build from running the slow model again.
		r := crmwh(t, dir, "build", "--wait", "3m", "--select", "mart_kpi_monthly")
		require.Equal(t, 0, r.code, r.stderr)
		sched := runByID(t, dir, id)
		require.Equal(t, history.StatusOK, sched.Status, sched.Error)
		manual := runs(t, dir, "-")
		last := manual[len(manual)-1]
		require.Equal(t, "build", last.Command)
		require.Equal(t, history.StatusOK, last.Status)
		require.False(t, last.StartedAt.Before(sched.FinishedAt), "the manual build started after the scheduled one finished")
		skipped := 0
		for _, m := range manual {
			if m.Status == history.StatusSkipped {
				skipped++
				require.Contains(t, m.Error, fmt.Sprintf("held by pid %d", d.pid()))
			}
		}
		require.Equal(t, 2, skipped, "both refused refreshes are in the history")
	})

	t.Run("locks of a SIGKILLed scheduler never block", func(t *testing.T) {
		id2 := d.trigger(t, "slow", "tok")
		waitFor(t, 30*time.Second, "the second scheduled build to start building", func() bool {
			m, _ := filepath.Glob(filepath.Join(dir, "data", "crmwh.duckdb.build-"+id2))
			return len(m) == 1
		})
		require.Equal(t, -1, d.stop(t, syscall.SIGKILL), "killed by the signal")
		require.NoError(t, os.Remove(filepath.Join(dir, "sql", "marts", "mart_slow.sql")))

		t0 := time.Now()
		r := crmwh(t, dir, "build")
		require.Equal(t, 0, r.code, r.stderr)
		require.Less(t, time.Since(t0), 30*time.Second)
		killed := runByID(t, dir, id2)
		require.Equal(t, history.StatusInterrupted, killed.Status)
		require.Equal(t, fmt.Sprintf("the process (pid %d) ended without finishing the run", d.pid()), killed.Error)
		left, _ := filepath.Glob(filepath.Join(dir, "data", "crmwh.duckdb.build-*"))
		require.Empty(t, left, "the killed build's files are cleaned up")

		d2 := startDaemon(t, dir, nil)
		code, _ := d2.call(t, http.MethodGet, "/healthz", "", nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, 0, d2.stop(t, syscall.SIGINT))
	})
}

func TestSIGTERMDuringABuildLeavesTheWarehouseByteIdentical(t *testing.T) {
	t.Parallel()
	dir := scheduleProject(t, map[string]string{
		"slow":  "cron: \"0 0 1 1 *\"\nsteps: [build]\n",
		"hasty": "cron: \"0 0 1 1 *\"\nsteps: [build]\ntimeout: 1s\nlock_wait: 0s\n",
	})
	mustRun(t, dir, "refresh")
	wh := filepath.Join(dir, "data", "crmwh.duckdb")
	before, err := os.ReadFile(wh)
	require.NoError(t, err)
	writeModel(t, dir, "mart_slow", slowModel(20_000_000_000))
	building := func(id string) func() bool {
		return func() bool {
			m, _ := filepath.Glob(filepath.Join(dir, "data", "crmwh.duckdb.build-"+id))
			return len(m) > 0
		}
	}
	requireUntouched := func(t *testing.T) {
		after, err := os.ReadFile(wh)
		require.NoError(t, err)
		require.True(t, bytes.Equal(before, after), "the published warehouse changed")
		left, _ := filepath.Glob(wh + ".build-*")
		require.Empty(t, left)
	}

	t.Run("the scheduler aborts the build after its grace period", func(t *testing.T) {
		d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=tok"}, "--grace", "1s")
		id := d.trigger(t, "slow", "tok")
		waitFor(t, 30*time.Second, "the build to start", building(id))
		time.Sleep(300 * time.Millisecond) // well inside the slow model
		t0 := time.Now()
		require.Equal(t, 0, d.stop(t, syscall.SIGTERM), d.stderr.String())
		require.GreaterOrEqual(t, time.Since(t0), time.Second, "the run had its grace period")
		require.Less(t, time.Since(t0), 20*time.Second)
		requireUntouched(t)
		r := runByID(t, dir, id)
		require.Equal(t, history.StatusInterrupted, r.Status)
		require.Equal(t, "build interrupted: the scheduler is stopping (terminated signal received) and the grace period of 1s is over", r.Error)
		require.Equal(t, "failed", r.Steps[0].Status)
	})

	t.Run("a second signal aborts at once", func(t *testing.T) {
		d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=tok"}, "--grace", "10m")
		id := d.trigger(t, "slow", "tok")
		waitFor(t, 30*time.Second, "the build to start", building(id))
		require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
		waitFor(t, 5*time.Second, "the shutdown to begin", func() bool {
			return strings.Contains(d.stderr.String(), `"msg":"scheduler stopping"`)
		})
		t0 := time.Now()
		require.Equal(t, 0, d.stop(t, syscall.SIGINT), d.stderr.String())
		require.Less(t, time.Since(t0), 20*time.Second, "not the ten minutes of grace")
		requireUntouched(t)
		r := runByID(t, dir, id)
		require.Equal(t, history.StatusInterrupted, r.Status)
		require.Equal(t, "build interrupted: the scheduler is stopping (terminated signal received) and was told again", r.Error)
	})

	t.Run("a build run by hand stops at SIGTERM with exit code 7", func(t *testing.T) {
		cmd := exec.Command(bin, "build")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
		var stderr syncBuffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		waitFor(t, 30*time.Second, "the build to start", building("*"))
		time.Sleep(300 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		err := cmd.Wait()
		require.Error(t, err)
		require.Equal(t, 7, cmd.ProcessState.ExitCode(), stderr.String())
		require.Contains(t, stderr.String(), "crmwh: build interrupted: terminated signal received")
		requireUntouched(t)
		manual := runs(t, dir, "-")
		last := manual[len(manual)-1]
		require.Equal(t, "build", last.Command)
		require.Equal(t, history.StatusInterrupted, last.Status)
	})

	t.Run("a run over its timeout fails and publishes nothing", func(t *testing.T) {
		t0 := time.Now()
		r := crmwh(t, dir, "refresh", "--schedule", "hasty")
		require.Equal(t, 5, r.code, r.stderr)
		require.Less(t, time.Since(t0), 20*time.Second)
		require.Contains(t, r.stderr, "crmwh: build: timed out after 1s")
		requireUntouched(t)
		last := runs(t, dir, "hasty")
		require.Equal(t, history.StatusFailed, last[len(last)-1].Status)
	})

	t.Run("a scheduled run while a manual build holds the lock is skipped", func(t *testing.T) {
		cmd := exec.Command(bin, "build")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
		require.NoError(t, cmd.Start())
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		waitFor(t, 30*time.Second, "the manual build to start", building("*"))
		d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=tok"})
		id := d.trigger(t, "hasty", "tok")
		waitFor(t, 10*time.Second, "the skipped run", func() bool {
			for _, r := range runs(t, dir, "hasty") {
				if r.RunID == id {
					return r.Status != history.StatusRunning
				}
			}
			return false
		})
		r := runByID(t, dir, id)
		require.Equal(t, history.StatusSkipped, r.Status)
		require.Contains(t, r.Error, fmt.Sprintf("held by pid %d ", cmd.Process.Pid))
		require.Contains(t, r.Error, "(crmwh build, run ")
		require.Empty(t, r.Steps)
		require.Contains(t, metricFamilies(t, d), `crmwh_runs_total{schedule="hasty",status="skipped",trigger="http"} 1`)
		require.Equal(t, 0, d.stop(t, syscall.SIGTERM))
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		_ = cmd.Wait()
		requireUntouched(t)
	})

	t.Run("within the grace period a running build finishes and publishes", func(t *testing.T) {
		writeModel(t, dir, "mart_slow", slowModel(120_000_000))
		d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=tok"}, "--grace", "2m")
		id := d.trigger(t, "slow", "tok")
		waitFor(t, 30*time.Second, "the build to start", building(id))
		require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
		// While the run finishes: no new triggers, health says stopping.
		var health map[string]any
		waitFor(t, 5*time.Second, "/healthz to say stopping", func() bool {
			code, _ := d.call(t, http.MethodGet, "/healthz", "", &health)
			return code == http.StatusServiceUnavailable
		})
		require.Equal(t, "stopping", health["status"])
		require.Equal(t, []any{"slow"}, health["running"])
		code, _ := d.call(t, http.MethodPost, "/trigger/slow", "tok", nil)
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Equal(t, 0, d.wait(t), d.stderr.String())
		r := runByID(t, dir, id)
		require.Equal(t, history.StatusOK, r.Status, r.Error)
		after, err := os.ReadFile(wh)
		require.NoError(t, err)
		require.False(t, bytes.Equal(before, after), "the new warehouse was published")
		log := d.stderr.String()
		stopping := strings.Index(log, `"msg":"scheduler stopping"`)
		finished := strings.Index(log, `"msg":"run finished","schedule":"slow","run_id":"`+id+`"`)
		require.Positive(t, stopping)
		require.Greater(t, finished, stopping, "the run finished after the shutdown began")
	})
}

func TestRetryThenSuccessAndRetriesExhaustedThenNotification(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var posts []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
			body["path"] = r.URL.Path
			mu.Lock()
			posts = append(posts, body)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	received := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), posts...)
	}

	dir := scheduleProject(t, nil)
	notified := filepath.Join(dir, "notified.json")
	for name, yaml := range map[string]string{
		"flaky": "cron: \"0 0 1 1 *\"\nsteps: [build]\nretries: {max: 2, backoff: 1s}\nnotify: {webhook: \"" + hook.URL + "/flaky\"}\n",
		"doomed": "cron: \"0 0 1 1 *\"\nsteps: [build]\nretries: {max: 2, backoff: 300ms, max_backoff: 10s}\n" +
			"notify: {webhook: \"" + hook.URL + "/doomed\", command: [sh, -c, \"cat > " + notified + "\"]}\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schedules", name+".yaml"), []byte(yaml), 0o644))
	}
	mustRun(t, dir, "extract")
	flag := filepath.Join(dir, "flag.csv")
	writeModel(t, dir, "mart_flag", "select * from read_csv('"+flag+"')")
	d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=tok"})

	t.Run("a failed run is retried after the backoff and then succeeds", func(t *testing.T) {
		d.trigger(t, "flaky", "tok")
		waitFor(t, 30*time.Second, "the first attempt to fail", func() bool {
			r := runs(t, dir, "flaky")
			return len(r) == 1 && r[0].Status == history.StatusFailed
		})
		require.NoError(t, os.WriteFile(flag, []byte("a,b\n1,2\n"), 0o644))
		waitFor(t, 30*time.Second, "the retry to succeed", func() bool {
			r := runs(t, dir, "flaky")
			return len(r) == 2 && r[1].Status == history.StatusOK
		})
		r := runs(t, dir, "flaky")
		require.Equal(t, []int{1, 2}, []int{r[0].Attempt, r[1].Attempt})
		require.Equal(t, 3, r[0].MaxAttempts)
		require.Equal(t, history.TriggerHTTP, r[1].Trigger)
		require.Contains(t, r[0].Error, "flag.csv")
		require.GreaterOrEqual(t, r[1].StartedAt.Sub(r[0].FinishedAt), time.Second, "the backoff")
		require.Less(t, r[1].StartedAt.Sub(r[0].FinishedAt), 10*time.Second)
		require.Empty(t, received(), "no notification for a run that succeeded in the end")

		m := metricFamilies(t, d)
		require.Contains(t, m, `crmwh_runs_total{schedule="flaky",status="failed",trigger="http"} 1`)
		require.Contains(t, m, `crmwh_runs_total{schedule="flaky",status="ok",trigger="http"} 1`)
		require.Contains(t, m, `crmwh_retries_total{schedule="flaky"} 1`)
		require.Contains(t, m, `crmwh_last_run_success{schedule="flaky"} 1`)
	})

	t.Run("when the retries are used up, the hooks hear of it once", func(t *testing.T) {
		require.NoError(t, os.Remove(flag))
		d.trigger(t, "doomed", "tok")
		waitFor(t, 60*time.Second, "the notification", func() bool { return len(received()) > 0 })
		r := runs(t, dir, "doomed")
		require.Len(t, r, 3)
		for i, a := range r {
			require.Equal(t, history.StatusFailed, a.Status)
			require.Equal(t, i+1, a.Attempt)
			require.Equal(t, 3, a.MaxAttempts)
		}
		require.GreaterOrEqual(t, r[1].StartedAt.Sub(r[0].FinishedAt), 300*time.Millisecond, "first backoff")
		require.GreaterOrEqual(t, r[2].StartedAt.Sub(r[1].FinishedAt), 600*time.Millisecond, "doubled")

		time.Sleep(500 * time.Millisecond)
		got := received()
		require.Len(t, got, 1)
		n := got[0]
		require.Equal(t, "/doomed", n["path"])
		require.Equal(t, "run_failed", n["event"])
		require.Equal(t, "doomed", n["schedule"])
		require.Equal(t, r[2].RunID, n["run_id"])
		require.Equal(t, "http", n["trigger"])
		require.Equal(t, "failed", n["status"])
		require.Equal(t, "build", n["step"])
		require.Equal(t, float64(3), n["attempts"])
		require.Contains(t, n["error"], "flag.csv")
		require.Equal(t, "file://"+filepath.Join(dir, "site", "health.html"), n["health_url"])
		require.Contains(t, n["text"], "schedule doomed failed after 3 attempts")

		waitFor(t, 10*time.Second, "the notify command", func() bool {
			b, err := os.ReadFile(notified)
			return err == nil && bytes.Contains(b, []byte(r[2].RunID))
		})
		m := metricFamilies(t, d)
		require.Contains(t, m, `crmwh_runs_total{schedule="doomed",status="failed",trigger="http"} 3`)
		require.Contains(t, m, `crmwh_notifications_total{result="sent",schedule="doomed"} 1`)
	})
	require.Equal(t, 0, d.stop(t, syscall.SIGTERM))

	t.Run("refresh --schedule runs a schedule for outside schedulers", func(t *testing.T) {
		require.NoError(t, os.WriteFile(flag, []byte("a,b\n1,2\n"), 0o644))
		var sum struct{ Status string }
		require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "refresh", "--schedule", "doomed", "--json")), &sum))
		require.Equal(t, "ok", sum.Status)
		last := runs(t, dir, "doomed")
		require.Equal(t, history.TriggerManual, last[len(last)-1].Trigger)
		require.Equal(t, "refresh", last[len(last)-1].Command)
		r := crmwh(t, dir, "refresh", "--schedule", "nosuch")
		require.Equal(t, 2, r.code)
		require.Equal(t, "crmwh: --schedule nosuch: no such schedule in schedules/ (known: doomed, flaky)\n", r.stderr)
	})

	t.Run("a refresh that moves a KPI across its target sends the dashboards' summary", func(t *testing.T) {
		out := strings.Split(strings.TrimSpace(mustRun(t, dir, "sql", "--format", "csv",
			"SELECT strftime(max(month), '%Y-%m') FROM mart_kpi_monthly WHERE is_complete")), "\n")
		month := strings.TrimSpace(out[len(out)-1])
		// Met every month until the last complete one, missed in it.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboards", "targets.yaml"),
			[]byte("targets:\n  net_revenue:\n    - {value: 0}\n    - {from: "+month+", value: 1000000000000}\n"), 0o644))
		got := filepath.Join(dir, "summary.json")
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schedules", "report.yaml"),
			[]byte("cron: \"0 0 1 1 *\"\nsteps: [dashboards]\nnotify: {command: [sh, -c, \"cat > "+got+"\"]}\n"), 0o644))
		mustRun(t, dir, "refresh", "--schedule", "report")
		var ev struct {
			Event   string
			Month   string
			Status  string
			Text    string
			Summary map[string][]string
		}
		b, err := os.ReadFile(got)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &ev))
		require.Equal(t, "thresholds_crossed", ev.Event)
		require.Equal(t, month, ev.Month)
		require.Equal(t, "ok", ev.Status)
		require.Contains(t, ev.Summary["en"][0], "Net revenue fell short of its target")
		require.Contains(t, ev.Summary["zh"][0], "净收入未达目标")
		require.Contains(t, ev.Text, ev.Summary["en"][0])
		// The same summary heads the overview.
		page, err := os.ReadFile(filepath.Join(dir, "site", "overview.html"))
		require.NoError(t, err)
		require.Contains(t, string(page), "Net revenue fell short of its target")

		// Without a crossing (the target met all along), nothing is sent.
		require.NoError(t, os.Remove(got))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboards", "targets.yaml"), []byte("targets:\n  net_revenue:\n    - {value: 0}\n"), 0o644))
		mustRun(t, dir, "refresh", "--schedule", "report")
		require.NoFileExists(t, got)
	})
}

func TestHTTPTriggerNeedsTheTokenAndTheEndpointsAnswer(t *testing.T) {
	t.Parallel()
	dir := scheduleProject(t, map[string]string{
		"quick": "cron: \"0 0 1 1 *\"\nsteps: [extract, build, test]\n",
		"off":   "cron: \"@hourly\"\nsteps: [extract]\nenabled: false\n",
	})
	d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=right-token"})
	require.Contains(t, d.stdout.String(), "POST /trigger/<schedule> with the bearer token in CRMWH_TRIGGER_TOKEN")

	code, h := d.call(t, http.MethodPost, "/trigger/quick", "", nil)
	require.Equal(t, http.StatusUnauthorized, code, "no token")
	require.Equal(t, `Bearer realm="crmwh"`, h.Get("WWW-Authenticate"))
	code, _ = d.call(t, http.MethodPost, "/trigger/quick", "wrong-token", nil)
	require.Equal(t, http.StatusUnauthorized, code, "wrong token")
	code, _ = d.call(t, http.MethodPost, "/trigger/nosuch", "right-token", nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = d.call(t, http.MethodPost, "/trigger/off", "right-token", nil)
	require.Equal(t, http.StatusConflict, code, "disabled")
	code, _ = d.call(t, http.MethodGet, "/trigger/quick", "right-token", nil)
	require.Equal(t, http.StatusMethodNotAllowed, code)
	require.Empty(t, runs(t, dir, ""), "nothing ran")

	id := d.trigger(t, "quick", "right-token")
	waitFor(t, 30*time.Second, "the triggered run", func() bool {
		r := runs(t, dir, "quick")
		return len(r) == 1 && r[0].Status == history.StatusOK
	})
	run := runByID(t, dir, id)
	require.Equal(t, history.TriggerHTTP, run.Trigger)
	require.Positive(t, run.RowsExtracted)
	var steps []string
	for _, st := range run.Steps {
		require.Equal(t, "ok", st.Status, st.Error)
		steps = append(steps, st.Step)
	}
	require.Equal(t, []string{"extract", "build", "test"}, steps)

	var health map[string]any
	code, _ = d.call(t, http.MethodGet, "/healthz", "", &health)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", health["status"])
	var listed []history.Run
	code, _ = d.call(t, http.MethodGet, "/runs?schedule=quick&limit=5", "", &listed)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, listed, 1)
	require.Equal(t, id, listed[0].RunID)
	code, _ = d.call(t, http.MethodGet, "/runs?limit=0", "", nil)
	require.Equal(t, http.StatusBadRequest, code)

	m := metricFamilies(t, d)
	require.Contains(t, m, `crmwh_runs_total{schedule="quick",status="ok",trigger="http"} 1`)
	require.Contains(t, m, fmt.Sprintf(`crmwh_rows_extracted_total{schedule="quick"} %d`, run.RowsExtracted))
	require.Contains(t, m, `crmwh_next_run_timestamp_seconds{schedule="off"} 0`)
	require.Contains(t, m, `crmwh_run_duration_seconds_count{schedule="quick"} 1`)
	require.Equal(t, 0, d.stop(t, syscall.SIGTERM))

	t.Run("with no token configured, HTTP triggering is off", func(t *testing.T) {
		d := startDaemon(t, dir, nil)
		require.Contains(t, d.stdout.String(), "POST /trigger/<schedule> is off (no CRMWH_TRIGGER_TOKEN)")
		for _, tok := range []string{"", "right-token", "anything"} {
			var got map[string]string
			code, _ := d.call(t, http.MethodPost, "/trigger/quick", tok, &got)
			require.Equal(t, http.StatusForbidden, code)
			require.Contains(t, got["error"], "triggering over HTTP is off")
		}
		require.Equal(t, 0, d.stop(t, syscall.SIGTERM))
		require.Len(t, runs(t, dir, "quick"), 1)
	})
}

func TestAMissedRunRunsOnceAtStart(t *testing.T) {
	t.Parallel()
	// A daily time twelve hours away, so that the test never meets it.
	hour := (time.Now().UTC().Hour() + 12) % 24
	spec := func(policy string) string {
		return fmt.Sprintf("cron: \"0 %d * * *\"\ntimezone: UTC\nsteps: [extract]\nmissed: %s\n", hour, policy)
	}
	dir := scheduleProject(t, map[string]string{"catchup": spec("run_once"), "forget": spec("skip")})
	// The last scheduler on this project stopped fifty hours ago.
	s, err := history.Open(filepath.Join(dir, "data", "state"), 0)
	require.NoError(t, err)
	gone := time.Now().Add(-50 * time.Hour)
	require.NoError(t, s.SaveDaemon(t.Context(), history.Daemon{PID: 1, StartedAt: gone.Add(-time.Hour), HeartbeatAt: gone, StoppedAt: gone}))
	require.NoError(t, s.Close())

	d := startDaemon(t, dir, nil)
	waitFor(t, 30*time.Second, "the missed run", func() bool {
		r := runs(t, dir, "catchup")
		return len(r) == 1 && r[0].Status == history.StatusOK
	})
	r := runs(t, dir, "catchup")[0]
	require.Equal(t, history.TriggerMissed, r.Trigger)
	now := time.Now().UTC()
	due := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, time.UTC)
	if due.After(now) {
		due = due.AddDate(0, 0, -1)
	}
	require.Equal(t, due, r.ScheduledAt, "it stands for the last missed time")
	require.Contains(t, d.stderr.String(), `"msg":"running a missed run","schedule":"catchup"`)
	time.Sleep(time.Second)
	require.Empty(t, runs(t, dir, "forget"), "missed: skip forgets")
	require.Equal(t, 0, d.stop(t, syscall.SIGTERM))

	d = startDaemon(t, dir, nil)
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, 0, d.stop(t, syscall.SIGTERM))
	require.Len(t, runs(t, dir, "catchup"), 1, "nothing was missed while the scheduler was down for a moment")
	require.Empty(t, runs(t, dir, "forget"))
}

func TestBrokenScheduleFilesAreConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schedules", "hourly.yaml"),
		[]byte("cron: \"0 * * *\"\ntimezone: Europe/Berln\nsteps: [extract, dashboards, build]\n"), 0o644))
	want := `crmwh: schedules/hourly.yaml:1: cron: invalid expression "0 * * *": expected five fields (minute hour day-of-month month day-of-week), found 4
crmwh: schedules/hourly.yaml:2: timezone: unknown time zone "Europe/Berln" (expected an IANA name such as Asia/Shanghai or America/New_York)
crmwh: schedules/hourly.yaml:3: steps[2]: step build must come before dashboards (steps run in the order extract, build, test, dashboards)
`
	for _, verb := range []string{"status", "scheduler"} {
		r := crmwh(t, dir, verb)
		require.Equal(t, 2, r.code, verb)
		require.Equal(t, want, r.stderr, verb)
	}

	for _, f := range []string{"hourly", "nightly", "intraday"} {
		require.NoError(t, os.Remove(filepath.Join(dir, "schedules", f+".yaml")))
	}
	r := crmwh(t, dir, "scheduler")
	require.Equal(t, 2, r.code)
	require.Equal(t, "crmwh: configuration error: no schedules in schedules/ (add one such as schedules/nightly.yaml; see docs/schedules.md)\n", r.stderr)
}

func TestStatusAndRunsReadWithoutWriting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := mustRun(t, dir, "status")
	require.Contains(t, out, "scheduler: not running (never started on this project)")
	require.Contains(t, out, "project lock: free")
	require.Regexp(t, `nightly +30 2 \* \* \* +Asia/Shanghai +extract,build,dashboards +never +\d{4}-\d\d-\d\d 02:30 CST`, out)
	require.Equal(t, "no runs recorded yet\n", mustRun(t, dir, "runs"))
	require.Equal(t, "[]\n", mustRun(t, dir, "runs", "--json"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "status and runs created files")
}

// A schedule that names a source or stream crmwh.yaml does not have (an
// example left after the source was removed) is broken alone: status, the
// daemon's banner, /runs, /healthz and /metrics say so, it never runs, and
// the other schedules and verbs work.
func TestAScheduleNamingAnUnknownSourceIsBrokenAlone(t *testing.T) {
	t.Parallel()
	dir := scheduleProject(t, map[string]string{
		"good": "cron: \"0 0 1 1 *\"\nsteps:\n  - extract: [billing.orders]\n",
		"old":  "cron: \"@hourly\"\nsteps:\n  - extract: [shop]\n  - build\nenabled: false\n",
		"gone": "cron: \"@hourly\"\nsteps:\n  - extract: [crm.customers, crm.notes]\n",
	})
	const problem = `schedules/gone.yaml:3: steps[0].extract: unknown source or stream "crm.notes" (known: billing, billing.legacy_order_lines,`

	out := mustRun(t, dir, "status")
	require.Regexp(t, `gone +@hourly +Asia/Shanghai +extract +never +BROKEN`, out)
	require.Regexp(t, `old +@hourly +Asia/Shanghai +extract,build +never +BROKEN`, out)
	require.Regexp(t, `good +0 0 1 1 \* +Asia/Shanghai +extract +never +\d{4}-01-01 00:00 CST`, out, "no timezone: the project's")
	require.Contains(t, out, "schedule gone is broken: it names what crmwh.yaml does not have, so it never runs (the other schedules do):\n  "+problem)
	var st struct {
		Schedules []struct {
			Name, Status string
			Problems     []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "status", "--json")), &st))
	require.Len(t, st.Schedules, 3)
	require.Equal(t, "broken", st.Schedules[0].Status)
	require.Contains(t, st.Schedules[0].Problems[0], problem)
	require.Equal(t, "enabled", st.Schedules[1].Status)
	require.Equal(t, "broken", st.Schedules[2].Status)

	r := crmwh(t, dir, "refresh", "--schedule", "gone")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "crmwh: --schedule gone is broken and does not run: "+problem)
	var sum struct{ Status string }
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "refresh", "--schedule", "good", "--json")), &sum))
	require.Equal(t, "ok", sum.Status, "the other schedules run")
	mustRun(t, dir, "extract", "crm.customers")

	d := startDaemon(t, dir, []string{"CRMWH_TRIGGER_TOKEN=right-token"})
	require.Contains(t, d.stdout.String(), "BROKEN, does not run; steps extract\n    "+problem)
	var listed []history.Run
	code, _ := d.call(t, http.MethodGet, "/runs?schedule=gone", "", &listed)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, listed, 1)
	require.Equal(t, "broken", listed[0].Status)
	require.Contains(t, listed[0].Error, problem)
	code, _ = d.call(t, http.MethodGet, "/runs", "", &listed)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, listed, 4, "two broken schedules, then the runs of good and of extract")
	var health map[string]any
	d.call(t, http.MethodGet, "/healthz", "", &health)
	require.Equal(t, []any{"gone", "old"}, health["broken"])
	var got map[string]string
	code, _ = d.call(t, http.MethodPost, "/trigger/gone", "right-token", &got)
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, got["error"], "schedule gone is broken: "+problem)
	m := metricFamilies(t, d)
	require.Contains(t, m, `crmwh_schedule_broken{schedule="gone"} 1`)
	require.Contains(t, m, `crmwh_schedule_broken{schedule="good"} 0`)
	require.Contains(t, d.stderr.String(), `"msg":"schedule is broken and does not run; the others do","schedule":"gone"`)
	d.trigger(t, "good", "right-token")
	waitFor(t, 30*time.Second, "the good schedule's triggered run", func() bool {
		r := runs(t, dir, "good")
		return len(r) == 2 && r[0].Status == history.StatusOK
	})
	require.Equal(t, 0, d.stop(t, syscall.SIGTERM))
}
