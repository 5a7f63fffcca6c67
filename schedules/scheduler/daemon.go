package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"crmwh/project"
	"crmwh/refresh"
	"crmwh/refresh/history"
	"crmwh/schedules/spec"
	"crmwh/schedules/timing"
)

// LockFile is the scheduler's own lock in the project's state folder: one
// scheduler per project.
const LockFile = "scheduler.lock"

// Options configure the daemon.
type Options struct {
	Project   *project.Project
	Schedules []*spec.Schedule
	History   *history.Store
	// Listen is the HTTP address, such as 127.0.0.1:8765; empty serves
	// no HTTP.
	Listen string
	// Token is the bearer token POST /trigger requires; empty turns HTTP
	// triggering off. TokenEnv names where it came from, for messages.
	Token    string
	TokenEnv string
	// Grace is how long a running refresh may go on after a shutdown
	// begins before it is aborted.
	Grace time.Duration
	// Heartbeat is how often the scheduler records that it is alive
	// (default 10s); missed runs are counted from the last heartbeat.
	Heartbeat time.Duration
	Logger    *slog.Logger
	Lang      string
	// Out receives the start-up banner.
	Out io.Writer
	// Abort, when it ends, aborts running refreshes at once (a second
	// signal) instead of waiting for the grace period.
	Abort context.Context
}

// daemon is a running scheduler.
type daemon struct {
	o       Options
	log     *slog.Logger
	exec    *Executor
	metrics *metrics
	cron    *cron.Cron
	started time.Time

	mu       sync.Mutex
	stopping bool
	running  map[string]bool
	entries  map[string]cron.EntryID
	wg       sync.WaitGroup

	byName map[string]*spec.Schedule
	listen string
}

// Run runs the scheduler until ctx ends, then shuts down: it stops firing
// schedules and accepting triggers, lets a running refresh go on for the
// grace period, aborts it after that (the build never publishes a partial
// warehouse; the run is recorded as interrupted), and returns. It returns
// a *refresh.LockedError at once when another scheduler runs on the
// project.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 10 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Abort == nil {
		o.Abort = context.Background()
	}
	lock, err := refresh.Acquire(ctx, filepath.Join(o.Project.StateDir(), LockFile), "scheduler", 0, refresh.NewHolder("scheduler", "", ""))
	if err != nil {
		return err
	}
	defer lock.Release()

	d := &daemon{o: o, log: log, running: map[string]bool{}, entries: map[string]cron.EntryID{}, byName: map[string]*spec.Schedule{},
		started: time.Now().UTC()}
	for _, s := range o.Schedules {
		d.byName[s.Name] = s
	}
	prev, hadPrev, err := o.History.Daemon(ctx)
	if err != nil {
		return err
	}
	var lastAlive time.Time
	if hadPrev {
		lastAlive = prev.HeartbeatAt
	}
	lastRuns := map[string]history.Run{}
	for _, s := range o.Schedules {
		runs, err := o.History.List(ctx, history.Filter{Schedule: s.Name, Triggers: []string{history.TriggerCron, history.TriggerMissed}, Limit: 1})
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			lastRuns[s.Name] = runs[0]
		}
	}
	lastOK, err := o.History.LastSuccess(ctx)
	if err != nil {
		return err
	}
	d.metrics = newMetrics(o.Schedules, d.started, lastOK)

	var ln net.Listener
	if o.Listen != "" {
		ln, err = net.Listen("tcp", o.Listen)
		if err != nil {
			return fmt.Errorf("listening on %s: %w", o.Listen, err)
		}
		d.listen = ln.Addr().String()
	}
	d.heartbeat(false)

	// Running refreshes end only when aborted (grace over, or a second
	// signal); draining ends when the shutdown begins.
	runCtx, abort := context.WithCancelCause(context.Background())
	defer abort(nil)
	draining, drain := context.WithCancel(context.Background())
	defer drain()
	d.exec = &Executor{
		Project: o.Project, History: o.History, Logger: log, Command: "scheduler", Lang: o.Lang,
		Slot: make(chan struct{}, 1), Draining: draining,
		Observe: Observer{Attempt: d.metrics.attempt, Notified: d.metrics.notified},
	}

	cl := cronLogger{log}
	d.cron = cron.New(cron.WithLocation(time.UTC), cron.WithLogger(cl), cron.WithChain(jobChain(cl)...))
	for _, s := range o.Schedules {
		if err := s.Runnable(); err != nil {
			log.Warn("schedule is broken and does not run; the others do", "schedule", s.Name, "file", s.File, "err", err.Error())
			continue
		}
		if !s.Enabled {
			continue
		}
		ts := &tracked{inner: s.Timing}
		s := s
		d.entries[s.Name] = d.cron.Schedule(ts, cron.FuncJob(func() { d.fire(runCtx, s, ts) }))
	}
	d.cron.Start()

	var srv *http.Server
	if ln != nil {
		srv = &http.Server{Handler: d.handler(runCtx), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("HTTP server stopped", "err", err)
			}
		}()
	}
	d.banner()
	log.Info("scheduler started", "pid", os.Getpid(), "schedules", len(o.Schedules), "listen", d.listen)

	// Runs missed while no scheduler was running, one after the other.
	plans := StartupRuns(o.Schedules, lastAlive, lastRuns, time.Now())
	if len(plans) > 0 {
		go func() {
			for _, p := range plans {
				log.Info("running a missed run", "schedule", p.Schedule.Name, "due", p.At, "reason", p.Reason)
				if !d.begin(p.Schedule.Name) {
					continue
				}
				d.execute(runCtx, Request{Schedule: p.Schedule, Trigger: history.TriggerMissed, ScheduledAt: p.At})
			}
		}()
	}

	beat := time.NewTicker(o.Heartbeat)
	defer beat.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-beat.C:
			d.heartbeat(false)
		}
	}

	cause := context.Cause(ctx)
	log.Info("scheduler stopping", "cause", cause, "grace", o.Grace)
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	drain()
	// The HTTP server stays up until the runs end: triggers get 503, while
	// /healthz (503 "stopping"), /runs and /metrics still answer.
	cronDone := d.cron.Stop()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	var stopErr error
	select {
	case <-done:
	case <-time.After(o.Grace):
		log.Warn("grace period over: aborting the running refresh", "grace", o.Grace)
		abort(fmt.Errorf("the scheduler is stopping (%v) and the grace period of %s is over", cause, o.Grace))
	case <-o.Abort.Done():
		log.Warn("second signal: aborting the running refresh")
		abort(fmt.Errorf("the scheduler is stopping (%v) and was told again", cause))
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		stopErr = errors.New("a refresh did not stop within a minute of being aborted")
	}
	select {
	case <-cronDone.Done():
	case <-time.After(time.Second):
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	d.heartbeat(true)
	log.Info("scheduler stopped")
	return stopErr
}

// jobChain wraps every cron job: SkipIfStillRunning outside Recover, so
// that a panicking run is recovered inside the skip guard, which then
// always gets its token back (the other order would skip the schedule for
// ever after one panic).
func jobChain(l cron.Logger) []cron.JobWrapper {
	return []cron.JobWrapper{cron.SkipIfStillRunning(l), cron.Recover(l)}
}

// fire is a cron job: one scheduled run of s.
func (d *daemon) fire(runCtx context.Context, s *spec.Schedule, ts *tracked) {
	at := ts.fired(time.Now())
	if !d.begin(s.Name) {
		d.mu.Lock()
		stopping := d.stopping
		d.mu.Unlock()
		if !stopping {
			d.log.Warn("scheduled run skipped: the previous run of this schedule is still going", "schedule", s.Name, "due", at)
		}
		return
	}
	d.execute(runCtx, Request{Schedule: s, Trigger: history.TriggerCron, ScheduledAt: at})
}

// begin marks s running; false when it already runs or the daemon stops.
func (d *daemon) begin(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping || d.running[name] {
		return false
	}
	d.running[name] = true
	d.wg.Add(1)
	d.metrics.setRunning(name, true)
	return true
}

// execute runs a request that begin admitted, and ends it. A panic is
// recorded and passed on to the cron chain's Recover (or the HTTP server's).
func (d *daemon) execute(runCtx context.Context, req Request) {
	defer func() {
		d.mu.Lock()
		delete(d.running, req.Schedule.Name)
		d.mu.Unlock()
		d.metrics.setRunning(req.Schedule.Name, false)
		d.wg.Done()
	}()
	res, err := d.exec.Run(runCtx, req)
	switch {
	case errors.Is(err, ErrStopped):
		d.log.Info("run not started: the scheduler is stopping", "schedule", req.Schedule.Name)
	case errors.Is(err, refresh.ErrLocked):
		d.log.Warn("run skipped: another refresh held the project lock", "schedule", req.Schedule.Name, "trigger", req.Trigger,
			"run_id", res.Last().Run.RunID, "err", res.Last().Run.Error)
	case errors.Is(err, refresh.ErrInterrupted):
		d.log.Warn("run interrupted", "schedule", req.Schedule.Name, "trigger", req.Trigger, "run_id", res.Last().Run.RunID,
			"err", res.Last().Run.Error)
	case err != nil:
		d.log.Error("run failed", "schedule", req.Schedule.Name, "trigger", req.Trigger, "run_id", res.Last().Run.RunID,
			"attempts", len(res.Attempts), "err", res.Last().Run.Error)
	}
}

// heartbeat records that the scheduler is alive (or has stopped).
func (d *daemon) heartbeat(stopped bool) {
	now := time.Now().UTC()
	st := history.Daemon{PID: os.Getpid(), Listen: d.listen, StartedAt: d.started, HeartbeatAt: now}
	st.Host, _ = os.Hostname()
	if stopped {
		st.StoppedAt = now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.o.History.SaveDaemon(ctx, st); err != nil {
		d.log.Warn("could not record the heartbeat", "err", err)
	}
}

// next returns each enabled schedule's next run time.
func (d *daemon) next() map[string]time.Time {
	out := map[string]time.Time{}
	for name, id := range d.entries {
		if e := d.cron.Entry(id); e.Valid() {
			out[name] = e.Next
		}
	}
	return out
}

// banner prints the schedules and where to reach the daemon.
func (d *daemon) banner() {
	w := d.o.Out
	fmt.Fprintf(w, "crmwh scheduler on %s (pid %d): %d schedules\n", d.o.Project.Dir, os.Getpid(), len(d.o.Schedules))
	next := d.next()
	for _, s := range d.o.Schedules {
		when := "disabled"
		switch {
		case len(s.Broken) > 0:
			when = "BROKEN, does not run"
		case s.Enabled:
			when = "next " + formatIn(next[s.Name], s.Location)
		}
		fmt.Fprintf(w, "  %-16s %-20s %-18s %s; steps %s\n", s.Name, s.Cron, s.Timezone, when, strings.Join(s.Steps, ", "))
		for _, p := range s.Broken {
			fmt.Fprintf(w, "    %s\n", p.Error())
		}
	}
	if d.listen == "" {
		fmt.Fprintln(w, "HTTP off")
	} else {
		trig := "POST /trigger/<schedule> is off (no " + d.o.TokenEnv + ")"
		if d.o.Token != "" {
			trig = "POST /trigger/<schedule> with the bearer token in " + d.o.TokenEnv
		}
		fmt.Fprintf(w, "listening on http://%s: /healthz, /runs, /metrics; %s\n", d.listen, trig)
	}
}

func formatIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// tracked remembers the run times it handed to the cron engine, so that a
// firing job knows which scheduled time it stands for.
type tracked struct {
	inner timing.Schedule
	mu    sync.Mutex
	due   []time.Time
}

// Next is the schedule's Next, remembered.
func (t *tracked) Next(after time.Time) time.Time {
	n := t.inner.Next(after)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.due = append(t.due, n)
	if len(t.due) > 8 {
		t.due = t.due[len(t.due)-8:]
	}
	return n
}

// fired returns the latest remembered time at or before now and forgets
// the ones before it.
func (t *tracked) fired(now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best time.Time
	keep := t.due[:0]
	for _, d := range t.due {
		if !d.After(now) {
			if d.After(best) {
				best = d
			}
			continue
		}
		keep = append(keep, d)
	}
	t.due = keep
	if best.IsZero() {
		return now.Truncate(time.Second)
	}
	return best
}

// Planned is a run to make when the scheduler starts.
type Planned struct {
	Schedule *spec.Schedule
	// At is the (last) missed run time it stands for.
	At     time.Time
	Reason string
}

// StartupRuns decides which schedules run once at start: those with the
// run_once policy that missed a run while no scheduler watched them (since
// lastAlive, the last heartbeat), or whose last scheduled run was cut short
// (interrupted, or still marked running by a dead process). lastRuns holds
// each schedule's newest cron or missed run. Plans come in order of the
// missed time.
func StartupRuns(schedules []*spec.Schedule, lastAlive time.Time, lastRuns map[string]history.Run, now time.Time) []Planned {
	var out []Planned
	for _, s := range schedules {
		if !s.Enabled || s.Missed != spec.MissedRunOnce || s.Runnable() != nil {
			continue
		}
		last, hasLast := lastRuns[s.Name]
		if m, ok := timing.Missed(s.Timing, lastAlive, last.StartedAt, now); ok {
			reason := fmt.Sprintf("missed the run due %s", m.First.In(s.Location).Format(time.RFC3339))
			if m.Count > 1 {
				reason = fmt.Sprintf("missed %d runs due from %s to %s", m.Count, m.First.In(s.Location).Format(time.RFC3339),
					m.Last.In(s.Location).Format(time.RFC3339))
			}
			out = append(out, Planned{Schedule: s, At: m.Last, Reason: reason})
			continue
		}
		if hasLast && (last.Status == history.StatusInterrupted || last.Status == history.StatusRunning) {
			at := last.ScheduledAt
			if at.IsZero() {
				at = last.StartedAt
			}
			out = append(out, Planned{Schedule: s, At: at, Reason: fmt.Sprintf("the last scheduled run %s did not finish", last.RunID)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// cronLogger sends robfig/cron's logs to slog: its routine chatter at
// debug level, skips as warnings, errors (recovered panics) as errors.
type cronLogger struct{ log *slog.Logger }

// Info logs routine cron events.
func (c cronLogger) Info(msg string, kv ...any) {
	if msg == "skip" {
		c.log.Warn("cron: a run was skipped: the previous one is still running", kv...)
		return
	}
	c.log.Debug("cron: "+msg, kv...)
}

// Error logs cron errors, such as a recovered panic with its stack.
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// NextRun is when a schedule runs next, for `crmwh status`: the next
// wall-clock time, or for an @every schedule the next interval counted from
// the scheduler's start or its last scheduled run (zero when no scheduler
// is running: the interval starts with it).
func NextRun(s *spec.Schedule, now time.Time, daemonStarted time.Time, lastScheduled time.Time) time.Time {
	if !s.Enabled {
		return time.Time{}
	}
	e, ok := s.Timing.(timing.Every)
	if !ok {
		return s.Timing.Next(now)
	}
	if daemonStarted.IsZero() {
		return time.Time{}
	}
	anchor := daemonStarted
	if lastScheduled.After(anchor) {
		anchor = lastScheduled
	}
	if anchor.After(now) {
		return anchor.Add(e.Delay)
	}
	k := now.Sub(anchor)/e.Delay + 1
	return anchor.Add(k * e.Delay)
}
