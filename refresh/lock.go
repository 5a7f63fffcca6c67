package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crmwh/project"
)

// LockFile is the project lock's file name in the project's state folder.
// It is never deleted: removing a lock file while a process holds it would
// let a second process lock a new file of the same name.
const LockFile = "refresh.lock"

// Holder describes who holds a lock. It is written into the lock file when
// the lock is taken, so that whoever finds the lock held can say by whom.
type Holder struct {
	PID      int       `json:"pid"`
	Host     string    `json:"host,omitempty"`
	Command  string    `json:"command"`
	RunID    string    `json:"run_id,omitempty"`
	Schedule string    `json:"schedule,omitempty"`
	Since    time.Time `json:"since"`
}

// String describes the holder for messages: pid, host, command, schedule,
// run and since when.
func (h Holder) String() string {
	var parts []string
	if h.Command != "" {
		parts = append(parts, "crmwh "+h.Command)
	}
	if h.Schedule != "" {
		parts = append(parts, "schedule "+h.Schedule)
	}
	if h.RunID != "" {
		parts = append(parts, "run "+h.RunID)
	}
	s := fmt.Sprintf("pid %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.Local().Format("2006-01-02 15:04:05 MST")
	}
	return s
}

// NewHolder describes this process running command.
func NewHolder(command, runID, schedule string) Holder {
	host, _ := os.Hostname()
	return Holder{PID: os.Getpid(), Host: host, Command: command, RunID: runID, Schedule: schedule, Since: time.Now()}
}

// ErrLocked is what errors.Is matches when a lock is held by someone else.
var ErrLocked = errors.New("lock held")

// LockedError says that a lock was held and by whom.
type LockedError struct {
	// What names the lock: "project" or "scheduler".
	What string
	Path string
	// Holder is who holds it, when the lock file says.
	Holder *Holder
	Waited time.Duration
}

// Error says which lock is held, by whom, and how long the caller waited.
func (e *LockedError) Error() string {
	who := "another process"
	if e.Holder != nil {
		who = e.Holder.String()
	}
	return fmt.Sprintf("the %s lock %s is held by %s; waited %s", e.What, e.Path, who, e.Waited.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held lock. The kernel releases it when the process ends, however
// it ends, so a lock never outlives its holder.
type Lock struct {
	f    *os.File
	path string
}

// pollEvery is how often a waiting Acquire tries again.
const pollEvery = 50 * time.Millisecond

// minTries is how long Acquire keeps trying even when told not to wait:
// `crmwh status` takes a shared lock for an instant to see whether the lock
// is held, and that instant must not make a refresh give up.
const minTries = 3

// Acquire takes the exclusive lock on path (creating the file), waiting up
// to wait for a holder to let go. It returns a *LockedError when the lock
// stays held, and ctx's error when ctx ends first. what names the lock in
// messages.
func Acquire(ctx context.Context, path, what string, wait time.Duration, h Holder) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the %s lock's folder: %w", what, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the %s lock: %w", what, err)
	}
	start := time.Now()
	for try := 1; ; try++ {
		ok, err := tryLock(f, true)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if ok {
			break
		}
		if try >= minTries && time.Since(start) >= wait {
			f.Close()
			return nil, &LockedError{What: what, Path: path, Holder: ReadHolder(path), Waited: time.Since(start)}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the %s lock: %w", what, context.Cause(ctx))
		case <-time.After(pollEvery):
		}
	}
	h.Since = time.Now()
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f, path: path}, nil
}

// Release lets go of the lock. Calling it again does nothing.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	// Clear the holder first so that a reader never blames a finished run.
	_ = l.f.Truncate(0)
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Path is the lock's file.
func (l *Lock) Path() string { return l.path }

// ReadHolder reads who last took the lock at path, or nil. The holder of a
// lock that is free again may be stale; use Probe to know whether it is held.
func ReadHolder(path string) *Holder {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

// Probe reports whether the lock at path is held, and by whom. It takes a
// shared lock for an instant, which Acquire tolerates.
func Probe(path string) (held bool, h *Holder, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	defer f.Close()
	ok, err := tryLock(f, false)
	if err != nil {
		return false, nil, err
	}
	if ok {
		_ = unlock(f)
		return false, nil, nil
	}
	return true, ReadHolder(path), nil
}

// ProjectLockPath is the path of the project's refresh lock.
func ProjectLockPath(p *project.Project) string {
	return filepath.Join(p.StateDir(), LockFile)
}

// LockProject takes the project's refresh lock, which every command that
// changes the lake, the warehouse or the site takes (extract, build,
// dashboards, refresh, and the scheduler's runs), so that only one refresh
// of a project runs at a time across processes.
func LockProject(ctx context.Context, p *project.Project, wait time.Duration, h Holder) (*Lock, error) {
	return Acquire(ctx, ProjectLockPath(p), "project", wait, h)
}
