package pipelines

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Source extracts the streams of one configured source.
type Source interface {
	// Extract reads one stream, starting after what State says was already
	// loaded, and hands rows to the sink in commit units. It must stream:
	// memory may not grow with the size of the table or file.
	Extract(ctx context.Context, stream StreamConfig, state State, sink Sink) error
	// Close releases connections.
	Close() error
}

// Retrier is implemented by sources that can tell a passing fault (a
// connection cut, a server restarting) from a lasting one (a wrong
// password, a missing table). The extract run retries a stream that failed
// with a passing fault, with backoff, from what its last commit recorded,
// so nothing is lost or loaded twice.
type Retrier interface {
	Retryable(err error) bool
}

// WriterThreads is implemented by sources that know how many cores the
// lake writer should use for them: one whose database server runs on the
// same machine leaves it a core.
type WriterThreads interface {
	WriterThreads() int
}

// Sink receives a stream's rows. Rows handed to a Unit become visible in the
// lake only when the unit commits, together with the state change that
// records them (a new watermark, or a loaded file), so a run that dies at
// any point loads nothing twice and loses nothing.
type Sink interface {
	// Begin opens a commit unit whose rows have the given schema. Origin
	// names where the rows come from (a table, a file) for messages.
	Begin(schema Schema, origin string) (Unit, error)
	// Report records something the run summary must show, such as a file
	// that changed after it was loaded.
	Report(kind, msg string)
	// BeginSnapshot opens a unit whose rows, when it commits, replace
	// the stream's previous snapshot of that name instead of adding to the
	// stream (the rows whose watermark is NULL, read again on every run).
	// Its rows are counted under the name, not as new rows.
	BeginSnapshot(name string, schema Schema, origin string) (Unit, error)
	// AddBytes counts bytes read from the source, for progress.
	AddBytes(n int64)
	// Count adds n to a named counter of the run summary, such as
	// "lookback_duplicates".
	Count(name string, n int64)
	// Counts returns the rows and quarantined rows written in this run so
	// far, committed or not.
	Counts() (rows, bad int64)
}

// Unit is one all-or-nothing piece of a stream's extraction.
type Unit interface {
	// Write appends rows; each row holds one value per schema column.
	Write(rows [][]any) error
	// WriteBatch appends the rows of a batch of the unit's schema; the
	// batch may be reused once it returns.
	WriteBatch(b *Batch) error
	// Quarantine sets aside a row that failed parsing or validation.
	Quarantine(bad BadRow) error
	// Commit makes the rows visible and records the state change.
	Commit(change StateChange) error
	// Abort drops everything written to the unit.
	Abort()
}

// BadRow is a row that failed parsing or validation.
type BadRow struct {
	Origin string // source file or table
	Line   int64  // line in the file (1-based, header is line 1), 0 if none
	Key    string // the row's key where known
	Reason string
	Raw    string // the row as read, truncated to a few KB
}

// State is what the lake remembers of a stream, handed to the source so it
// can continue where the last run stopped.
type State struct {
	Watermark *Watermark
	Files     map[string]SourceFile
	// Window remembers the rows of the look-back window, to recognise them
	// when they are read again.
	Window *Window
	// Full is true when the run reloads the stream from scratch (asked for
	// with extract --full or state reset); the rest of State is then that
	// of the reload so far.
	Full bool
}

// StateChange is what a committed unit adds to the stream's state.
type StateChange struct {
	Watermark *Watermark
	// Files are the source files the unit loaded, with their row counts.
	Files []SourceFile
	// Window, when set, replaces the stream's look-back window.
	Window *Window
}

// Window is the memory of a stream's look-back window: the RowHash of every
// row loaded (or recognised) whose watermark is at or above From. A run
// re-reads the window and skips the rows whose hash is here, so a late row
// is loaded once and a re-read row never twice.
type Window struct {
	// From is the lowest watermark value (canonical text, as in
	// Watermark.Value) from which every row read is in Hashes.
	From string `json:"from"`
	// Kind says what was hashed: WindowRow (every value, trailing NULLs
	// left out) or "" (every value; windows written before kinds existed).
	Kind string `json:"kind,omitempty"`
	// Hashes holds 16 bytes per row.
	Hashes []byte `json:"hashes"`
}

// WindowRow is the kind of window that hashes every value of a row but
// trailing NULLs (Batch.HashOf with trimNulls).
const WindowRow = "row"

// HashSet returns the window's hashes as a set.
func (w *Window) HashSet() map[[16]byte]struct{} {
	set := map[[16]byte]struct{}{}
	if w == nil {
		return set
	}
	for i := 0; i+16 <= len(w.Hashes); i += 16 {
		set[[16]byte(w.Hashes[i:i+16])] = struct{}{}
	}
	return set
}

// Rows is the number of rows the window remembers.
func (w *Window) Rows() int {
	if w == nil {
		return 0
	}
	return len(w.Hashes) / 16
}

// Watermark is the highest value of a stream's watermark column loaded so
// far, as canonical text: RFC 3339 with nanoseconds in UTC for timestamps,
// a decimal integer for integers.
type Watermark struct {
	Column string `json:"column"`
	Type   Type   `json:"type"`
	Value  string `json:"value"`
}

// Time returns a timestamp watermark's value.
func (w Watermark) Time() (time.Time, error) { return time.Parse(time.RFC3339Nano, w.Value) }

// SourceFile records one loaded source file.
type SourceFile struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	SHA256  string    `json:"sha256"`
	Rows    int64     `json:"rows"`
	Bad     int64     `json:"bad"`
	RunID   string    `json:"run_id"`
}

// Env is what a source factory gets besides its config.
type Env struct {
	// BaseDir resolves relative paths in the config (the project folder).
	BaseDir string
}

// Kind is a registered source kind.
type Kind struct {
	// New opens a source.
	New func(cfg SourceConfig, env Env) (Source, error)
	// Validate checks a config of this kind without connecting; it reports
	// each problem with the key path under the source (e.g.
	// "streams[0].table").
	Validate func(cfg SourceConfig, report func(path, msg string))
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]Kind{}
)

// Register makes a source kind available by name, like database/sql drivers.
// Registering a name twice is a programmer error and panics.
func Register(name string, k Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[name]; dup {
		panic("pipelines: source kind registered twice: " + name)
	}
	kinds[name] = k
}

// Kinds lists the registered kind names, sorted.
func Kinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Lookup returns a registered kind; an unknown name is an error listing the
// known ones.
func Lookup(name string) (Kind, error) {
	kindsMu.RLock()
	k, ok := kinds[name]
	kindsMu.RUnlock()
	if !ok {
		return Kind{}, fmt.Errorf("unknown source kind %q (known kinds: %s)", name, strings.Join(Kinds(), ", "))
	}
	return k, nil
}

// Open opens a configured source through its registered kind.
func Open(cfg SourceConfig, env Env) (Source, error) {
	k, err := Lookup(cfg.Kind)
	if err != nil {
		return nil, err
	}
	return k.New(cfg, env)
}

// MinRowsForBadRatio is how many rows a run must have read before
// max_bad_ratio applies: one bad row among a handful is not a trend.
const MinRowsForBadRatio = 100

// CheckBadRatio fails when the run's share of quarantined rows, counting
// the rows about to be committed, exceeds the stream's max_bad_ratio. The
// caller then aborts the unit, so the rows that tipped the run over are not
// loaded and are read again next time.
func CheckBadRatio(sink Sink, st StreamConfig) error {
	rows, bad := sink.Counts()
	total := rows + bad
	limit := st.BadRatioLimit()
	if total < MinRowsForBadRatio || float64(bad) <= limit*float64(total) {
		return nil
	}
	return fmt.Errorf("%d of %d rows read in this run are malformed (%.1f%%), more than max_bad_ratio %.1f%%; "+
		"the stream stopped and its last batch was not loaded (the reasons are in lake/quarantine)",
		bad, total, 100*float64(bad)/float64(total), 100*limit)
}
