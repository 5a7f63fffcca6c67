// Package scheduler runs schedules: the Executor runs one schedule's
// refresh with its timeout, retries and failure notification, and the
// daemon (Run) fires schedules on time with robfig/cron/v3, serves
// /healthz, /runs, /metrics and POST /trigger/<schedule> on a local HTTP
// port, and shuts down gracefully.
package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"crmwh/pipelines/secret"
	"crmwh/project"
	"crmwh/refresh"
	"crmwh/refresh/history"
	"crmwh/schedules/notify"
	"crmwh/schedules/spec"
)

// Executor runs schedules' refreshes.
type Executor struct {
	Project *project.Project
	// History records every attempt; nil records nothing.
	History *history.Store
	Logger  *slog.Logger
	// Command is the verb recorded in the history: scheduler or refresh.
	Command string
	// Lang of the dashboards.
	Lang string
	// Hooks are given to every attempt's runner (terminal progress).
	Hooks refresh.Hooks
	// Slot, when set, holds one token: attempts in this process take it
	// before the project lock, so that a process's own runs queue for
	// each other instead of timing out on the lock.
	Slot chan struct{}
	// Draining, when set, ends when the process stops accepting work:
	// waits for the slot and between retries stop then. The run context
	// passed to Run only ends when a running attempt must be aborted.
	Draining context.Context
	// Observe is called after every attempt and every notification.
	Observe Observer
	// Getenv reads environment variables (default os.Getenv).
	Getenv func(string) string
}

// Observer hears what the executor does (metrics); any field may be nil.
type Observer struct {
	Attempt  func(history.Run)
	Notified func(schedule string, err error)
}

// Request asks for one run of a schedule.
type Request struct {
	Schedule    *spec.Schedule
	Trigger     string
	ScheduledAt time.Time
	// RunID is the first attempt's run id; a new one is made when empty.
	RunID string
}

// Result is what happened: each attempt's outcome, and whether a failure
// notification went out.
type Result struct {
	Attempts []refresh.Outcome
	Notified bool
}

// Last is the last attempt's outcome.
func (r Result) Last() refresh.Outcome {
	if len(r.Attempts) == 0 {
		return refresh.Outcome{}
	}
	return r.Attempts[len(r.Attempts)-1]
}

// ErrStopped is returned when the process began to stop before the run
// could start.
var ErrStopped = errors.New("the scheduler is stopping")

// Run runs the schedule's steps until an attempt succeeds or the retries
// are used up, waiting the schedule's backoff between attempts; then, if it
// failed, it sends the failure notification. A run skipped because another
// refresh held the lock, or interrupted by a shutdown, is neither retried
// nor notified. The error is the last attempt's; a broken schedule (see
// spec.Schedule.Broken) does not run, and the error is its problems.
func (e *Executor) Run(ctx context.Context, req Request) (Result, error) {
	s := req.Schedule
	if err := s.Runnable(); err != nil {
		return Result{}, err
	}
	log := e.logger().With("schedule", s.Name)
	draining := e.Draining
	if draining == nil {
		draining = ctx
	}
	var res Result
	runID := req.RunID
	var lastErr error
	for attempt := 1; ; attempt++ {
		if runID == "" {
			runID = refresh.NewRunID(time.Now())
		}
		out, stopped, err := e.attempt(ctx, draining, req, runID, attempt)
		if stopped {
			if attempt == 1 {
				return res, ErrStopped
			}
			return res, e.giveUp(log, s, req, res, lastErr, "retries stopped: the scheduler is stopping")
		}
		res.Attempts = append(res.Attempts, out)
		if e.Observe.Attempt != nil {
			e.Observe.Attempt(out.Run)
		}
		if err == nil {
			e.thresholds(log, s, req, out)
		}
		if err == nil || errors.Is(err, refresh.ErrLocked) || errors.Is(err, refresh.ErrInterrupted) {
			return res, err
		}
		lastErr = err
		if attempt > s.Retries.Max {
			return res, e.giveUp(log, s, req, res, err, "")
		}
		delay := s.Retries.Delay(attempt)
		log.Warn("run failed; retrying", "run_id", runID, "attempt", attempt, "max_attempts", s.Retries.Max+1, "retry_in", delay,
			"err", out.Run.Error)
		select {
		case <-time.After(delay):
		case <-draining.Done():
			return res, e.giveUp(log, s, req, res, err, "retries stopped: the scheduler is stopping")
		}
		runID = ""
	}
}

// attempt runs one attempt, holding the process's slot while it runs.
// stopped is true when the process began stopping before it could start.
func (e *Executor) attempt(ctx, draining context.Context, req Request, runID string, n int) (out refresh.Outcome, stopped bool, err error) {
	if e.Slot != nil {
		select {
		case e.Slot <- struct{}{}:
		case <-draining.Done():
			return out, true, nil
		}
		defer func() { <-e.Slot }()
	}
	s := req.Schedule
	job := &refresh.Job{
		Runner: &refresh.Runner{
			Project: e.Project, RunID: runID, Logger: e.logger(), Lang: e.Lang, Hooks: e.Hooks,
			Only: s.Extract,
		},
		Steps: s.Steps, Command: e.Command, Schedule: s.Name, Trigger: req.Trigger,
		Attempt: n, MaxAttempts: s.Retries.Max + 1, ScheduledAt: req.ScheduledAt,
		LockWait: s.LockWait, Timeout: s.Timeout, History: e.History,
	}
	out, err = job.Run(ctx)
	return out, false, err
}

func (e *Executor) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// giveUp sends the failure notification and returns err.
func (e *Executor) giveUp(log *slog.Logger, s *spec.Schedule, req Request, res Result, err error, note string) error {
	if !s.Notify.Configured() {
		return err
	}
	last := res.Last().Run
	msg := last.Error
	if note != "" {
		msg += " (" + note + ")"
	}
	ev := notify.Event{
		Project: e.Project.Config.Name, Schedule: s.Name, RunID: last.RunID, Trigger: req.Trigger,
		Status: last.Status, Error: msg, Attempts: len(res.Attempts),
		StartedAt: res.Attempts[0].Run.StartedAt, FinishedAt: last.FinishedAt,
		HealthURL: HealthURL(e.Project, s), Host: last.Host,
	}
	for _, st := range last.Steps {
		if st.Status == history.StatusFailed {
			ev.Step = st.Step
			break
		}
	}
	e.send(log, s, ev)
	return err
}

// send delivers a notification to the schedule's targets.
func (e *Executor) send(log *slog.Logger, s *spec.Schedule, ev notify.Event) {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	target := notify.Target{Webhook: s.Notify.Webhook, Command: s.Notify.Command, PassEnv: s.Notify.Env}
	if s.Notify.WebhookEnv != "" {
		target.Webhook = getenv(s.Notify.WebhookEnv)
		secret.AddWhole(target.Webhook)
		if target.Webhook == "" {
			log.Warn("no webhook sent: its environment variable is not set", "env", s.Notify.WebhookEnv, "event", ev.Event)
		}
	}
	if target.Webhook == "" && len(target.Command) == 0 {
		return
	}
	// The notification must go out even when the process is stopping.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nerr := notify.Send(ctx, target, ev)
	if nerr != nil {
		log.Error("notification failed", "run_id", ev.RunID, "event", ev.Event, "err", nerr)
	} else {
		log.Info("notification sent", "run_id", ev.RunID, "event", ev.Event)
	}
	if e.Observe.Notified != nil {
		e.Observe.Notified(s.Name, nerr)
	}
}

// thresholds sends the dashboards' "what changed" summary when a run that
// rendered them moved a KPI across its target.
func (e *Executor) thresholds(log *slog.Logger, s *spec.Schedule, req Request, out refresh.Outcome) {
	if !s.Notify.Configured() || !slices.Contains(s.Steps, refresh.StepDashboards) {
		return
	}
	changes, ok, err := notify.ReadChanges(e.Project.SiteDir())
	if err != nil {
		log.Warn("no threshold notification", "err", err)
	}
	if !ok || len(changes.Crossed) == 0 {
		return
	}
	ev := changes.Event()
	ev.Project, ev.Schedule, ev.RunID, ev.Trigger, ev.Status = e.Project.Config.Name, s.Name, out.Run.RunID, req.Trigger, out.Run.Status
	ev.StartedAt, ev.FinishedAt, ev.HealthURL, ev.Host, ev.Attempts = out.Run.StartedAt, out.Run.FinishedAt, HealthURL(e.Project, s), out.Run.Host, 1
	e.send(log, s, ev)
}

// HealthURL is the data-health page a notification links to: the
// schedule's notify.health_url, or health.html in the project's site folder.
func HealthURL(p *project.Project, s *spec.Schedule) string {
	if s.Notify.HealthURL != "" {
		return s.Notify.HealthURL
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(p.SiteDir(), "health.html"))}).String()
}
