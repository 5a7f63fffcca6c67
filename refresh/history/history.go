// Package history keeps the run history of a project: which schedule ran
// (or which command, for manual runs), why (cron, manual, http, missed),
// when it started and ended, each step's outcome and rows, and the error.
// It lives in an SQLite database in the project's state folder, outside the
// warehouse file that builds replace, so that history survives every
// rebuild and is readable while a build runs. Every change is one SQLite
// transaction, so a killed process never leaves a half-written record.
// Several processes (the scheduler and manual refreshes) may use it at
// once. Error messages are stripped of passwords and tokens before they
// are stored.
package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"crmwh/pipelines/secret"
)

// File is the database's name in the state folder.
const File = "runs.sqlite"

// DefaultKeepDays is how long runs are kept unless told otherwise.
const DefaultKeepDays = 90

// Run statuses.
const (
	StatusRunning     = "running"
	StatusOK          = "ok"
	StatusFailed      = "failed"
	StatusInterrupted = "interrupted" // stopped by a signal, a shutdown or a crash
	StatusSkipped     = "skipped"     // not run: another refresh held the project lock
)

// Triggers: why a run started.
const (
	TriggerCron   = "cron"
	TriggerManual = "manual"
	TriggerHTTP   = "http"
	TriggerMissed = "missed"
)

// Step is one step's outcome.
type Step struct {
	Step       string `json:"step"`
	Status     string `json:"status"`
	Rows       int64  `json:"rows"`
	Detail     string `json:"detail,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Run is one run (one attempt, when a schedule retries).
type Run struct {
	RunID string `json:"run_id"`
	// Schedule is the schedule's name; empty for commands run by hand.
	Schedule string `json:"schedule,omitempty"`
	// Command is the crmwh verb (refresh, extract, build, dashboards) or
	// scheduler.
	Command     string    `json:"command"`
	Trigger     string    `json:"trigger"`
	Attempt     int       `json:"attempt"`
	MaxAttempts int       `json:"max_attempts"`
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	Status      string    `json:"status"`
	Steps       []Step    `json:"steps"`
	// RowsExtracted is the extract step's row count.
	RowsExtracted int64  `json:"rows_extracted"`
	Error         string `json:"error,omitempty"`
	PID           int    `json:"pid"`
	Host          string `json:"host,omitempty"`
}

// Duration is how long the run took (so far, while it runs).
func (r Run) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return time.Since(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// Daemon is what the scheduler says about itself.
type Daemon struct {
	PID         int       `json:"pid"`
	Host        string    `json:"host,omitempty"`
	Listen      string    `json:"listen,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	StoppedAt   time.Time `json:"stopped_at,omitzero"`
}

// Store is a project's run history.
type Store struct {
	db   *sql.DB
	path string
	keep time.Duration
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	run_id        TEXT PRIMARY KEY,
	schedule      TEXT NOT NULL DEFAULT '',
	command       TEXT NOT NULL,
	trigger       TEXT NOT NULL,
	attempt       INTEGER NOT NULL DEFAULT 1,
	max_attempts  INTEGER NOT NULL DEFAULT 1,
	scheduled_at  INTEGER NOT NULL DEFAULT 0,
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER NOT NULL DEFAULT 0,
	status        TEXT NOT NULL,
	steps         TEXT NOT NULL DEFAULT '[]',
	rows_extracted INTEGER NOT NULL DEFAULT 0,
	error         TEXT NOT NULL DEFAULT '',
	pid           INTEGER NOT NULL DEFAULT 0,
	host          TEXT NOT NULL DEFAULT '',
	heartbeat_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_schedule ON runs (schedule, started_at);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE TABLE IF NOT EXISTS daemon (
	id           INTEGER PRIMARY KEY CHECK (id = 1),
	pid          INTEGER NOT NULL,
	host         TEXT NOT NULL,
	listen       TEXT NOT NULL,
	started_at   INTEGER NOT NULL,
	heartbeat_at INTEGER NOT NULL,
	stopped_at   INTEGER NOT NULL DEFAULT 0
);`

// Open opens (creating) the history in the state folder dir. Runs that
// started more than keepDays days ago are deleted on every write; 0 means
// DefaultKeepDays.
func Open(dir string, keepDays int) (*Store, error) {
	if keepDays <= 0 {
		keepDays = DefaultKeepDays
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the state folder: %w", err)
	}
	path := filepath.Join(dir, File)
	// The busy timeout makes concurrent writers from other processes wait
	// their turn instead of failing; immediate transactions take the write
	// lock up front, so they never deadlock upgrading a read.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(15000)&_pragma=synchronous(normal)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening the run history %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := initialize(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the run history %s: %w", path, err)
	}
	return &Store{db: db, path: path, keep: time.Duration(keepDays) * 24 * time.Hour}, nil
}

// initialize turns on write-ahead logging (readers such as crmwh runs read
// while a run writes; the setting stays with the file) and creates the
// tables. Two processes opening a new history at once race for both; the
// journal mode switch may answer "busy" without waiting, so it is retried,
// and the tables are made in an immediate transaction, which waits.
func initialize(db *sql.DB) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := db.Exec("PRAGMA journal_mode=WAL")
		if err == nil {
			break
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	// Histories written before runs had a heartbeat get the column.
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'heartbeat_at'").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := tx.Exec("ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0"); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (another connection
// holds the lock).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) && coded.Code()&0xff == 5 {
		return true
	}
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Save writes r (inserting or replacing it by run id) and deletes runs
// older than the retention period, in one transaction. Errors are
// redacted before they are stored.
func (s *Store) Save(ctx context.Context, r Run) error {
	r.Error = Redact(r.Error)
	r.Steps = append([]Step(nil), r.Steps...)
	for i := range r.Steps {
		r.Steps[i].Error = Redact(r.Steps[i].Error)
		r.Steps[i].Detail = Redact(r.Steps[i].Detail)
	}
	if r.Steps == nil {
		r.Steps = []Step{}
	}
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("saving run %s: %w", r.RunID, err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO runs (run_id, schedule, command, trigger, attempt, max_attempts,
		scheduled_at, started_at, finished_at, status, steps, rows_extracted, error, pid, host, heartbeat_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.RunID, r.Schedule, r.Command, r.Trigger, max(r.Attempt, 1), max(r.MaxAttempts, 1),
		nanos(r.ScheduledAt), nanos(r.StartedAt), nanos(r.FinishedAt), r.Status, string(steps), r.RowsExtracted,
		r.Error, r.PID, r.Host, nanos(r.StartedAt))
	if err != nil {
		return fmt.Errorf("saving run %s: %w", r.RunID, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM runs WHERE started_at < ?", time.Now().Add(-s.keep).UnixNano()); err != nil {
		return fmt.Errorf("deleting old runs: %w", err)
	}
	return tx.Commit()
}

// Filter selects runs.
type Filter struct {
	// Schedule, when set, keeps that schedule's runs; "-" keeps runs made
	// by hand (no schedule).
	Schedule string
	// Triggers, when set, keeps runs with these triggers.
	Triggers []string
	// Limit is the most runs returned (default 50).
	Limit int
}

const columns = `run_id, schedule, command, trigger, attempt, max_attempts, scheduled_at, started_at, finished_at,
	status, steps, rows_extracted, error, pid, host`

// List returns runs, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Run, error) {
	q := "SELECT " + columns + " FROM runs WHERE 1=1"
	var args []any
	switch f.Schedule {
	case "":
	case "-":
		q += " AND schedule = ''"
	default:
		q += " AND schedule = ?"
		args = append(args, f.Schedule)
	}
	if len(f.Triggers) > 0 {
		q += " AND trigger IN (?" + strings.Repeat(", ?", len(f.Triggers)-1) + ")"
		for _, t := range f.Triggers {
			args = append(args, t)
		}
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q += " ORDER BY started_at DESC, run_id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the run history: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErrNotFound is returned by Get for an unknown run id.
var ErrNotFound = errors.New("no such run")

// Get returns one run.
func (s *Store) Get(ctx context.Context, runID string) (Run, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+columns+" FROM runs WHERE run_id = ?", runID)
	if err != nil {
		return Run{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Run{}, err
		}
		return Run{}, fmt.Errorf("%w %q in the history", ErrNotFound, runID)
	}
	return scan(rows)
}

// Last returns the newest run of each schedule (the key "" holds the newest
// run made by hand).
func (s *Store) Last(ctx context.Context) (map[string]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+columns+` FROM runs r
		WHERE run_id = (SELECT run_id FROM runs x WHERE x.schedule = r.schedule ORDER BY started_at DESC, run_id DESC LIMIT 1)`)
	if err != nil {
		return nil, fmt.Errorf("reading the run history: %w", err)
	}
	defer rows.Close()
	out := map[string]Run{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out[r.Schedule] = r
	}
	return out, rows.Err()
}

// LastSuccess returns when each schedule's newest successful run finished.
func (s *Store) LastSuccess(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT schedule, max(finished_at) FROM runs WHERE status = 'ok' GROUP BY schedule")
	if err != nil {
		return nil, fmt.Errorf("reading the run history: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			return nil, err
		}
		out[name] = fromNanos(at)
	}
	return out, rows.Err()
}

// Heartbeat records that a running run is still alive at at. A run whose
// process dies is recorded by MarkAbandoned as ending at its last
// heartbeat.
func (s *Store) Heartbeat(ctx context.Context, runID string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, "UPDATE runs SET heartbeat_at = ? WHERE run_id = ? AND status = 'running'", nanos(at), runID)
	if err != nil {
		return fmt.Errorf("recording run %s's heartbeat: %w", runID, err)
	}
	return nil
}

// MarkAbandoned records runs still marked running as interrupted: their
// process ended without finishing them. Each ends at its last heartbeat,
// the last moment it was known to be running (not now, when the next run
// finds it). Call it only while holding the project lock, when no run can
// be running.
func (s *Store) MarkAbandoned(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = 'interrupted', finished_at = max(started_at, heartbeat_at),
		error = 'the process (pid ' || pid || ') ended without finishing the run'
		WHERE status = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("marking abandoned runs: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SaveDaemon records the scheduler's state.
func (s *Store) SaveDaemon(ctx context.Context, d Daemon) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO daemon (id, pid, host, listen, started_at, heartbeat_at, stopped_at)
		VALUES (1, ?, ?, ?, ?, ?, ?)`, d.PID, d.Host, d.Listen, nanos(d.StartedAt), nanos(d.HeartbeatAt), nanos(d.StoppedAt))
	if err != nil {
		return fmt.Errorf("saving the scheduler's state: %w", err)
	}
	return nil
}

// Daemon returns the scheduler's last recorded state; ok is false when no
// scheduler ever ran on the project.
func (s *Store) Daemon(ctx context.Context) (d Daemon, ok bool, err error) {
	var started, beat, stopped int64
	err = s.db.QueryRowContext(ctx, "SELECT pid, host, listen, started_at, heartbeat_at, stopped_at FROM daemon WHERE id = 1").
		Scan(&d.PID, &d.Host, &d.Listen, &started, &beat, &stopped)
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("reading the scheduler's state: %w", err)
	}
	d.StartedAt, d.HeartbeatAt, d.StoppedAt = fromNanos(started), fromNanos(beat), fromNanos(stopped)
	return d, true, nil
}

func scan(rows *sql.Rows) (Run, error) {
	var r Run
	var scheduled, started, finished int64
	var steps string
	if err := rows.Scan(&r.RunID, &r.Schedule, &r.Command, &r.Trigger, &r.Attempt, &r.MaxAttempts, &scheduled, &started,
		&finished, &r.Status, &steps, &r.RowsExtracted, &r.Error, &r.PID, &r.Host); err != nil {
		return r, fmt.Errorf("reading the run history: %w", err)
	}
	r.ScheduledAt, r.StartedAt, r.FinishedAt = fromNanos(scheduled), fromNanos(started), fromNanos(finished)
	if err := json.Unmarshal([]byte(steps), &r.Steps); err != nil {
		return r, fmt.Errorf("reading run %s's steps: %w", r.RunID, err)
	}
	// Masked again on the way out: a record written before a secret was
	// known as one (or by an older crmwh) must not show it either.
	r.Error = Redact(r.Error)
	for i := range r.Steps {
		r.Steps[i].Error = Redact(r.Steps[i].Error)
		r.Steps[i].Detail = Redact(r.Steps[i].Detail)
	}
	return r, nil
}

var (
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+@`)
	keyValue    = regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|sslpassword)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&;,]+)`)
	bearer      = regexp.MustCompile(`(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+`)
)

// Redact hides passwords and tokens in a message: the password of a URL
// (postgres://user:secret@host), key=value pairs such as password=secret
// in DSNs, and bearer tokens.
func Redact(s string) string {
	s = secret.Mask(s)
	s = urlPassword.ReplaceAllString(s, "${1}xxxxx@")
	s = keyValue.ReplaceAllString(s, "${1}${2}xxxxx")
	s = bearer.ReplaceAllString(s, "${1}xxxxx")
	return s
}
