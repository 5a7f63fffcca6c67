package refresh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"crmwh/refresh/history"
)

// ErrInterrupted is what errors.Is matches when a run was stopped by a
// signal or a scheduler's shutdown before it finished.
var ErrInterrupted = errors.New("interrupted")

// InterruptedError says which step a signal or shutdown stopped, and why.
type InterruptedError struct {
	Step  string
	Cause error
}

// Error says which step stopped and why, such as "build interrupted:
// terminated signal received".
func (e *InterruptedError) Error() string {
	return fmt.Sprintf("%s interrupted: %v", e.Step, e.Cause)
}

// Is makes errors.Is(err, ErrInterrupted) true.
func (e *InterruptedError) Is(target error) bool { return target == ErrInterrupted }

// Job is one recorded run of some steps: it takes the project lock (waiting
// up to LockWait), records the run in the history as running, runs the
// steps within Timeout, and records the outcome. Whatever happens, the
// history says so: ok, failed (with the step and error), interrupted
// (by a signal or shutdown: ctx ended), or skipped (the lock stayed held).
type Job struct {
	Runner *Runner
	Steps  []string
	// Command is the crmwh verb that runs the job (for the history and the
	// lock's holder description).
	Command     string
	Schedule    string
	Trigger     string
	Attempt     int
	MaxAttempts int
	ScheduledAt time.Time
	// LockWait is how long to wait for another refresh to finish.
	LockWait time.Duration
	// Timeout bounds the steps; 0 means no limit.
	Timeout time.Duration
	// History records the run; nil records nothing.
	History *history.Store
}

// Outcome is a job's result: its history record and the runner's summary.
type Outcome struct {
	Run     history.Run
	Summary Summary
}

// Run runs the job. The error is a *LockedError when the lock stayed held,
// an *InterruptedError when ctx ended first, and the runner's *StepError
// when a step failed or timed out.
func (j *Job) Run(ctx context.Context) (Outcome, error) {
	r := j.Runner
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if j.Schedule != "" {
		r.Logger = r.Logger.With("schedule", j.Schedule)
	}
	log := r.Logger.With("run_id", r.RunID, "trigger", j.Trigger, "attempt", max(j.Attempt, 1))
	host, _ := os.Hostname()
	run := history.Run{
		RunID: r.RunID, Schedule: j.Schedule, Command: j.Command, Trigger: j.Trigger,
		Attempt: max(j.Attempt, 1), MaxAttempts: max(j.MaxAttempts, 1), ScheduledAt: j.ScheduledAt,
		StartedAt: time.Now().UTC(), Status: history.StatusRunning, PID: os.Getpid(), Host: host,
	}

	lock, err := LockProject(ctx, r.Project, j.LockWait, NewHolder(j.Command, r.RunID, j.Schedule))
	if err != nil {
		run.Status = history.StatusFailed
		switch {
		case errors.Is(err, ErrLocked):
			run.Status = history.StatusSkipped
			log.Info("run skipped: another refresh holds the project lock", "err", history.Redact(err.Error()))
		case ctx.Err() != nil:
			run.Status = history.StatusInterrupted
			err = &InterruptedError{Step: "waiting for the project lock", Cause: context.Cause(ctx)}
			log.Info("run interrupted while waiting for the project lock", "err", err)
		}
		run.FinishedAt, run.Error = time.Now().UTC(), history.Redact(err.Error())
		j.save(log, run)
		return Outcome{Run: run, Summary: Summary{RunID: r.RunID, Project: r.Project.Dir, Status: run.Status,
			Started: run.StartedAt, Error: run.Error, Duration: run.Duration()}}, err
	}
	defer lock.Release()
	// The run starts when it has the lock; waiting for it is not running.
	run.StartedAt = time.Now().UTC()

	if j.History != nil {
		// Holding the lock, no other run can be going on: any run still
		// marked running belongs to a process that died.
		if n, err := j.History.MarkAbandoned(ctx); err != nil {
			log.Warn("could not update the run history", "err", err)
		} else if n > 0 {
			log.Warn("marked runs of dead processes as interrupted", "runs", n)
		}
	}
	j.save(log, run)
	stopBeating := j.heartbeat(log, run.RunID)
	defer stopBeating()
	log.Info("run started", "steps", j.Steps, "command", j.Command)
	defer func() {
		// A panic is the program's fault; record it, then let it go on to
		// whoever recovers panics (the scheduler's cron chain).
		if p := recover(); p != nil {
			run.Status, run.FinishedAt, run.Error = history.StatusFailed, time.Now().UTC(), fmt.Sprintf("panic: %v", p)
			j.save(log, run)
			panic(p)
		}
	}()

	runCtx := ctx
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, j.Timeout, fmt.Errorf("timed out after %s", j.Timeout))
		defer cancel()
	}
	prevDone := r.Hooks.StepDone
	r.Hooks.StepDone = func(s StepSummary) {
		// Info level: failures reach the user once, as the command's or
		// the scheduler's error.
		attrs := []any{"step", s.Step, "status", s.Status, "rows", s.Rows, "duration", s.Duration.Round(time.Millisecond)}
		if s.Error != "" {
			attrs = append(attrs, "err", history.Redact(s.Error))
		}
		log.Info("step finished", attrs...)
		if prevDone != nil {
			prevDone(s)
		}
	}
	sum, err := r.Run(runCtx, j.Steps)
	r.Hooks.StepDone = prevDone
	stopBeating()

	run.FinishedAt = time.Now().UTC()
	var failedStep string
	for _, s := range sum.Steps {
		run.Steps = append(run.Steps, history.Step{Step: s.Step, Status: s.Status, Rows: s.Rows, Detail: s.Detail,
			DurationMS: s.Duration.Milliseconds(), Error: history.Redact(s.Error)})
		if s.Step == StepExtract {
			run.RowsExtracted = s.Rows
		}
		if s.Status == "failed" && failedStep == "" {
			failedStep = s.Step
		}
	}
	switch {
	case err == nil:
		run.Status = history.StatusOK
	case ctx.Err() != nil:
		run.Status = history.StatusInterrupted
		err = &InterruptedError{Step: failedStep, Cause: context.Cause(ctx)}
	case runCtx.Err() != nil:
		run.Status = history.StatusFailed
		err = &StepError{Step: failedStep, Err: context.Cause(runCtx)}
	default:
		run.Status = history.StatusFailed
	}
	if err != nil {
		// Redacted here, so that the history, the logs and notifications
		// built from the record never carry a password.
		run.Error = history.Redact(err.Error())
	}
	sum.Status, sum.Error = run.Status, run.Error
	j.save(log, run)
	attrs := []any{"status", run.Status, "duration", run.Duration().Round(time.Millisecond), "rows_extracted", run.RowsExtracted}
	if err != nil {
		attrs = append(attrs, "err", run.Error)
	}
	log.Info("run finished", attrs...)
	return Outcome{Run: run, Summary: sum}, err
}

// HeartbeatEvery is how often a running job records that it is alive. A
// run whose process is killed is recorded as ending at its last heartbeat,
// so its duration is short by less than this.
const HeartbeatEvery = 250 * time.Millisecond

// heartbeat records, until stop is called, that the run is alive.
func (j *Job) heartbeat(log *slog.Logger, runID string) (stop func()) {
	if j.History == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(HeartbeatEvery)
		defer t.Stop()
		failed := false
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := j.History.Heartbeat(ctx, runID, now)
				cancel()
				if err != nil && !failed {
					failed = true // once is enough
					log.Warn("could not write the run history", "err", err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}

// save records the run; a history that cannot be written is reported but
// does not fail the refresh.
func (j *Job) save(log *slog.Logger, run history.Run) {
	if j.History == nil {
		return
	}
	// The record must be written even when ctx has ended (an interrupted
	// run is recorded as such).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := j.History.Save(ctx, run); err != nil {
		log.Warn("could not write the run history", "err", err)
	}
}
