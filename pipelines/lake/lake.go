// Package lake is the Parquet lake: append-only, Hive-partitioned files
// written with parquet-go, and a manifest per stream that is the lake's
// commit log. A file is part of the lake only once the manifest lists it;
// the manifest is replaced atomically after the files it names are on disk.
// Only this package imports parquet-go's writer.
package lake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"crmwh/pipelines"
)

// Part is one committed Parquet file of a stream.
type Part struct {
	// Path is relative to the lake folder, with forward slashes.
	Path            string               `json:"path"`
	Rows            int64                `json:"rows"`
	Bytes           int64                `json:"bytes"`
	SchemaHash      string               `json:"schema_hash"`
	RunID           string               `json:"run_id"`
	Origin          string               `json:"origin,omitempty"`
	WatermarkBefore *pipelines.Watermark `json:"watermark_before,omitempty"`
	WatermarkAfter  *pipelines.Watermark `json:"watermark_after,omitempty"`
	CreatedAt       time.Time            `json:"created_at"`
	// FieldIDs is true when the file's columns carry the stream's field
	// ids (see FieldID); parts written before the lake did so do not.
	FieldIDs bool `json:"field_ids,omitempty"`
	// Version is the stream's Version at the commit that made the part
	// live (for a reload's parts, the one that completed the reload).
	Version int64 `json:"version,omitempty"`
	// RetiredVersion, for a part in Retired that was live, is the
	// stream's Version at the commit that replaced it.
	RetiredVersion int64 `json:"retired_version,omitempty"`
}

// PartitionFieldID is the field id of the lake's partition column: a
// part's ingest date, from its Hive folder (ingest_date=YYYY-MM-DD), which
// is not stored in the files. The ids of a stream's columns start above
// it.
const PartitionFieldID = 1

// FieldID is the field id that a stream's column carries in its part
// files, as the Parquet schema's field_id: the values of one column of one
// kind (see FieldClass) have the same id in every part, and a column
// retyped into another kind (under on_schema_change: coerce) gets a new
// one. A reader that resolves columns by id, as Apache Iceberg readers do,
// thus never reads one kind of value as another. Ids are never reused.
type FieldID struct {
	Name  string `json:"name"`
	Class string `json:"class"`
	ID    int    `json:"id"`
}

// FieldClass is the kind of a column's values that keeps one field id:
// its type, with every decimal of one scale in one kind (a wider
// precision reads the narrower values as they are) and json with string
// (both text).
func FieldClass(c pipelines.Column) string {
	switch c.Type {
	case pipelines.TypeDecimal:
		return fmt.Sprintf("decimal(*,%d)", c.Scale)
	case pipelines.TypeJSON:
		return string(pipelines.TypeString)
	}
	return string(c.Type)
}

// Generation is a stream's loaded data and the state that goes with it.
// The manifest holds the live generation and, while a full reload is under
// way, the reload's own, which replaces the live one when it completes.
type Generation struct {
	// Schema is the union of the columns of the parts (see
	// pipelines.MergeSchema): what the raw view selects.
	Schema     pipelines.Schema                `json:"schema"`
	Watermark  *pipelines.Watermark            `json:"watermark,omitempty"`
	Window     *pipelines.Window               `json:"lookback_window,omitempty"`
	Parts      []Part                          `json:"parts"`
	Quarantine []Part                          `json:"quarantine"`
	Snapshots  map[string]Snapshot             `json:"snapshots,omitempty"`
	Files      map[string]pipelines.SourceFile `json:"files,omitempty"`
}

// Snapshot is a set of parts that each run replaces, such as the rows whose
// watermark is NULL.
type Snapshot struct {
	RunID      string `json:"run_id"`
	Parts      []Part `json:"parts"`
	Quarantine []Part `json:"quarantine,omitempty"`
}

// Rows is the number of rows in the generation's parts and snapshots.
func (g *Generation) Rows() int64 {
	var n int64
	for _, p := range g.LiveParts() {
		n += p.Rows
	}
	return n
}

// QuarantinedRows is the number of rows set aside.
func (g *Generation) QuarantinedRows() int64 {
	var n int64
	for _, p := range g.LiveQuarantine() {
		n += p.Rows
	}
	return n
}

// LiveParts are the parts a raw view reads: the stream's and its snapshots'.
func (g *Generation) LiveParts() []Part {
	out := append([]Part(nil), g.Parts...)
	for _, name := range sortedKeys(g.Snapshots) {
		out = append(out, g.Snapshots[name].Parts...)
	}
	return out
}

// LiveQuarantine are the quarantine parts, the snapshots' included.
func (g *Generation) LiveQuarantine() []Part {
	out := append([]Part(nil), g.Quarantine...)
	for _, name := range sortedKeys(g.Snapshots) {
		out = append(out, g.Snapshots[name].Quarantine...)
	}
	return out
}

// SnapshotRows is the number of rows in a snapshot.
func (g *Generation) SnapshotRows(name string) (rows, quarantined int64) {
	for _, p := range g.Snapshots[name].Parts {
		rows += p.Rows
	}
	for _, p := range g.Snapshots[name].Quarantine {
		quarantined += p.Rows
	}
	return rows, quarantined
}

func (g *Generation) allParts() []Part { return append(g.LiveParts(), g.LiveQuarantine()...) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// State is what the source needs to continue.
func (g *Generation) State() pipelines.State {
	st := pipelines.State{Watermark: g.Watermark, Window: g.Window, Files: map[string]pipelines.SourceFile{}}
	for k, v := range g.Files {
		st.Files[k] = v
	}
	return st
}

// Reload is a full reload under way: asked for by `crmwh extract --full` or
// `crmwh state reset`, and carried on by the next runs until one completes
// it. Its generation replaces the live one only then, so the stream's rows
// stay readable, and never doubled, meanwhile.
type Reload struct {
	RequestedBy string    `json:"requested_by"`
	RequestedAt time.Time `json:"requested_at"`
	Generation
}

// RunRecord is the outcome of a stream's last run.
type RunRecord struct {
	RunID       string    `json:"run_id"`
	Status      string    `json:"status"` // ok or failed
	Full        bool      `json:"full,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Rows        int64     `json:"rows"`
	Quarantined int64     `json:"quarantined"`
	Error       string    `json:"error,omitempty"`
}

// StreamManifest is the committed state of one stream.
type StreamManifest struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	// The live generation.
	Generation
	// Schemas holds every schema a part was written with, by hash.
	Schemas map[string]pipelines.Schema `json:"schemas"`
	// Reload is the full reload under way, if any.
	Reload *Reload `json:"reload,omitempty"`
	// Retired are parts replaced by a reload or a newer snapshot. A later
	// run deletes them once no warehouse reads them any more (see
	// Recover): not the published one, not its previous version, not a
	// failed build kept for inspection.
	Retired []Part     `json:"retired,omitempty"`
	LastRun *RunRecord `json:"last_run,omitempty"`
	// FieldIDs are the ids of the stream's columns in its part files.
	FieldIDs []FieldID `json:"field_ids,omitempty"`
	// Version counts the commits that changed the stream's live parts (a
	// unit committed, a snapshot replaced, a reload completed): an outside
	// catalog that publishes the stream (package iceberg) makes one
	// snapshot of each.
	Version int64 `json:"version,omitempty"`
	// Warnings are what the stream's runs reported that still holds (a
	// file changed after it was loaded, an optional file missing): each
	// successful run replaces them with its own. Builds copy them into
	// meta.lake_warnings.
	Warnings  []Warning `json:"warnings,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// FieldIDOf returns the field id of a column of the given kind, if the
// stream has one.
func (m *StreamManifest) FieldIDOf(name, class string) (int, bool) {
	for _, f := range m.FieldIDs {
		if f.Name == name && f.Class == class {
			return f.ID, true
		}
	}
	return 0, false
}

// assignFieldIDs gives each column of s that has no id in its kind the
// next free one, and returns the ids of s's columns and whether it gave
// any.
func (m *StreamManifest) assignFieldIDs(s pipelines.Schema) ([]int, bool) {
	next := PartitionFieldID + 1
	for _, f := range m.FieldIDs {
		next = max(next, f.ID+1)
	}
	ids := make([]int, len(s))
	added := false
	for i, c := range s {
		class := FieldClass(c)
		id, ok := m.FieldIDOf(c.Name, class)
		if !ok {
			id, added = next, true
			next++
			m.FieldIDs = append(m.FieldIDs, FieldID{Name: c.Name, Class: class, ID: id})
		}
		ids[i] = id
	}
	return ids, added
}

// retire moves parts to Retired; live says they were live, and are
// marked as replaced by the stream's current Version.
func (m *StreamManifest) retire(parts []Part, live bool) {
	for _, p := range parts {
		if live {
			p.RetiredVersion = m.Version
		}
		m.Retired = append(m.Retired, p)
	}
}

// Warning is a report of a stream's run kept in its manifest.
type Warning struct {
	Kind  string    `json:"kind"`
	Msg   string    `json:"msg"`
	RunID string    `json:"run_id"`
	At    time.Time `json:"at"`
}

// Lake is an open lake folder.
type Lake struct {
	Dir string

	mu      sync.Mutex
	streams map[string]*streamState
}

type streamState struct {
	mu sync.Mutex // serialises commits of one stream
	m  *StreamManifest
}

// Open opens (creating if needed) a lake folder.
func Open(dir string) (*Lake, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	l := &Lake{Dir: abs, streams: map[string]*streamState{}}
	for _, sub := range []string{"raw", "quarantine", "_manifest"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, l.writeError(fmt.Errorf("creating lake folder: %w", err))
		}
	}
	return l, nil
}

func (l *Lake) manifestPath(source, stream string) string {
	return filepath.Join(l.Dir, "_manifest", source, stream+".json")
}

// Manifest returns a copy of a stream's committed manifest (empty if the
// stream was never extracted).
func (l *Lake) Manifest(source, stream string) (*StreamManifest, error) {
	s, err := l.stream(source, stream)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.m), nil
}

func clone(m *StreamManifest) *StreamManifest {
	b, _ := json.Marshal(m)
	var c StreamManifest
	_ = json.Unmarshal(b, &c)
	return &c
}

// update changes a stream's manifest under its lock and writes it.
func (l *Lake) update(source, stream string, fn func(m *StreamManifest) error) error {
	st, err := l.stream(source, stream)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	m := clone(st.m)
	if err := fn(m); err != nil {
		return err
	}
	m.UpdatedAt = time.Now().UTC()
	if err := l.writeManifest(m); err != nil {
		return err
	}
	st.m = m
	return nil
}

// RequestReload asks for a full reload of a stream by the next run (or the
// running one, when called before its sink reads the state). A reload
// already under way starts over. by says who asked, for `state show`.
func (l *Lake) RequestReload(source, stream, by string) error {
	return l.update(source, stream, func(m *StreamManifest) error {
		if m.Reload != nil {
			m.retire(m.Reload.allParts(), false)
		}
		m.Reload = &Reload{RequestedBy: by, RequestedAt: time.Now().UTC()}
		return nil
	})
}

// CancelReload drops a requested or half-done reload; the live generation
// stays as it is. It returns the reload it dropped (its parts are retired),
// or nil when none was pending.
func (l *Lake) CancelReload(source, stream string) (*Reload, error) {
	var dropped *Reload
	err := l.update(source, stream, func(m *StreamManifest) error {
		if m.Reload != nil {
			dropped = m.Reload
			m.retire(m.Reload.allParts(), false)
		}
		m.Reload = nil
		return nil
	})
	return dropped, err
}

func (l *Lake) stream(source, stream string) (*streamState, error) {
	key := source + "/" + stream
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.streams[key]; ok {
		return s, nil
	}
	m, err := ReadManifest(l.manifestPath(source, stream))
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = &StreamManifest{Source: source, Stream: stream}
	}
	s := &streamState{m: m}
	l.streams[key] = s
	return s, nil
}

// ReadManifest reads a manifest file; a missing file gives nil, nil.
func ReadManifest(path string) (*StreamManifest, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading lake manifest: %w", err)
	}
	var m StreamManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("lake manifest %s is corrupt: %w", path, err)
	}
	return &m, nil
}

// FieldIDs gives a field id to every column the stream's parts were
// written with that has none yet (parts written before the lake recorded
// ids), in a fixed order: the stream's columns first, then the other
// schemas by hash. It returns the stream's manifest, and writes it only
// when it gave ids.
func (l *Lake) FieldIDs(source, stream string) (*StreamManifest, error) {
	schemas := func(m *StreamManifest) []pipelines.Schema {
		out := []pipelines.Schema{m.Schema}
		if m.Reload != nil {
			out = append(out, m.Reload.Schema)
		}
		for _, h := range sortedKeys(m.Schemas) {
			out = append(out, m.Schemas[h])
		}
		return out
	}
	m, err := l.Manifest(source, stream)
	if err != nil {
		return nil, err
	}
	missing := false
	for _, s := range schemas(m) {
		if _, added := m.assignFieldIDs(s); added {
			missing = true
		}
	}
	if !missing {
		return m, nil
	}
	err = l.update(source, stream, func(m *StreamManifest) error {
		for _, s := range schemas(m) {
			m.assignFieldIDs(s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.Manifest(source, stream)
}

// fieldIDs returns the field ids of a schema's columns in a stream,
// recording new ones in the manifest at once (before any file carries
// them) for columns the stream has not had in their kind.
func (l *Lake) fieldIDs(source, stream string, s pipelines.Schema) ([]int, error) {
	m, err := l.Manifest(source, stream)
	if err != nil {
		return nil, err
	}
	ids, added := m.assignFieldIDs(s)
	if !added {
		return ids, nil
	}
	err = l.update(source, stream, func(m *StreamManifest) error {
		ids, _ = m.assignFieldIDs(s)
		return nil
	})
	return ids, err
}

// Manifests reads every stream's manifest in the lake, sorted by source and
// stream.
func (l *Lake) Manifests() ([]*StreamManifest, error) {
	root := filepath.Join(l.Dir, "_manifest")
	var out []*StreamManifest
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		parts := strings.Split(filepath.ToSlash(strings.TrimSuffix(rel, ".json")), "/")
		if len(parts) != 2 {
			return nil
		}
		m, err := l.Manifest(parts[0], parts[1])
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Stream < out[j].Stream
	})
	return out, err
}

// writeManifest replaces the manifest file atomically: temporary file,
// fsync, rename, fsync of the folder.
func (l *Lake) writeManifest(m *StreamManifest) error {
	path := l.manifestPath(m.Source, m.Stream)
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, b)
}

// WriteFileAtomic writes data to path so that readers see either the old
// file or the whole new one, even across a crash.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return syncUp(dir, filepath.Dir(filepath.Dir(dir)))
}

// syncUp fsyncs dir and each parent up to and including root, so that
// entries and folders created below root survive a crash of the machine.
func syncUp(dir, root string) error {
	for {
		if err := SyncDir(dir); err != nil {
			return err
		}
		if dir == root || len(dir) <= len(root) {
			return nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// SyncDir fsyncs a folder so that renames inside it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Readers tells which committed lake files are still read from outside
// the lake: the raw views of the published warehouse, of its previous
// version and of a failed build kept for inspection name part files by
// path. It returns their paths relative to the lake folder; an error means
// it cannot tell (a build is under way, a warehouse does not say), and then
// every retired part is kept.
type Readers func() (map[string]bool, error)

// Recovery is what Recover did.
type Recovery struct {
	// Removed counts files left by killed runs that were removed.
	Removed int
	// Deleted counts retired parts deleted because no one reads them.
	Deleted int
	// Kept counts retired parts kept because something still reads them.
	Kept int
	// KeptAll is why every retired part was kept (readers could not tell),
	// or nil.
	KeptAll error
}

// Recover removes what a killed run left behind: temporary files, and part
// files that no manifest lists (renamed into place but never committed);
// and the parts that earlier runs retired (replaced by a full reload or a
// newer snapshot) which readers say no one reads any more. A nil readers
// means nothing outside the lake reads it. Call it before a run starts,
// holding the lock.
func (l *Lake) Recover(readers Readers) (Recovery, error) {
	var rec Recovery
	listed, retired := map[string]bool{}, map[string]bool{}
	ms, err := l.Manifests()
	if err != nil {
		return rec, err
	}
	var read map[string]bool
	if readers != nil && slices.ContainsFunc(ms, func(m *StreamManifest) bool { return len(m.Retired) > 0 }) {
		if read, err = readers(); err != nil {
			rec.KeptAll = err
		}
	}
	for _, m := range ms {
		for _, p := range m.allParts() {
			listed[p.Path] = true
		}
		if m.Reload != nil {
			for _, p := range m.Reload.allParts() {
				listed[p.Path] = true
			}
		}
		var still []Part
		for _, p := range m.Retired {
			if rec.KeptAll != nil || read[p.Path] {
				still = append(still, p)
				listed[p.Path] = true
			} else {
				retired[p.Path] = true
			}
		}
		rec.Kept += len(still)
		if len(still) < len(m.Retired) {
			if err := l.update(m.Source, m.Stream, func(m *StreamManifest) error {
				m.Retired = still
				return nil
			}); err != nil {
				return rec, err
			}
		}
	}
	for _, sub := range []string{"raw", "quarantine", "_manifest"} {
		root := filepath.Join(l.Dir, sub)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			name := d.Name()
			rel, _ := filepath.Rel(l.Dir, path)
			rel = filepath.ToSlash(rel)
			orphan := strings.Contains(name, ".tmp")
			if sub != "_manifest" && strings.HasPrefix(name, "part-") && strings.HasSuffix(name, ".parquet") && !listed[rel] {
				orphan = true
			}
			if orphan {
				if err := os.Remove(path); err != nil {
					return err
				}
				if retired[rel] {
					rec.Deleted++
				} else {
					rec.Removed++
				}
			}
			return nil
		})
		if err != nil {
			return rec, fmt.Errorf("recovering lake: %w", err)
		}
	}
	return rec, nil
}

// ErrLocked means another process is extracting into, or resetting, the
// lake.
var ErrLocked = errors.New("another crmwh process is writing to the lake")

// ErrNotWritable means the lake folder cannot be written (read-only file
// system, or permissions): nothing can be extracted into it.
var ErrNotWritable = errors.New("the lake folder is not writable")

// Holder is who holds the lake's lock, as written into the lock file.
type Holder struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host,omitempty"`
	By    string    `json:"by"`
	Since time.Time `json:"since"`
}

// String describes the holder for messages.
func (h Holder) String() string {
	s := fmt.Sprintf("pid %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.By != "" {
		s += " (" + h.By + ")"
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.Local().Format("2006-01-02 15:04:05 MST")
	}
	return s
}

// Lock takes the lake's writer lock (an flock on _manifest/.lock) for the
// life of a run; a second writer gets ErrLocked at once, naming the holder,
// instead of interleaving manifest updates. by says what holds it (such as
// "extract, run 20261123T101500Z-3fa2"). The lock goes with the process,
// so a killed run never leaves it held. Taking it also drops the cached
// manifests, which another process may have changed. A lake that cannot be
// written gives ErrNotWritable, naming the folder.
func (l *Lake) Lock(by string) (unlock func(), err error) {
	if err := l.checkWritable(); err != nil {
		return nil, err
	}
	path := filepath.Join(l.Dir, "_manifest", ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, l.writeError(fmt.Errorf("opening the lake lock: %w", err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if h := readHolder(path); h != nil {
				who = h.String()
			}
			return nil, fmt.Errorf("%w %s (its lock %s is held by %s); try again when it has finished", ErrLocked, l.Dir, path, who)
		}
		return nil, fmt.Errorf("locking the lake: %w", err)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, By: by, Since: time.Now()})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	l.mu.Lock()
	l.streams = map[string]*streamState{}
	l.mu.Unlock()
	return func() {
		// Clear the holder first, so that no one is blamed for a lock
		// that is free.
		_ = f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func readHolder(path string) *Holder {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// checkWritable makes sure a file can be created in each of the lake's
// folders, so that a read-only lake fails at once, naming the folder,
// instead of failing every stream.
func (l *Lake) checkWritable() error {
	for _, sub := range []string{"_manifest", "raw", "quarantine"} {
		dir := filepath.Join(l.Dir, sub)
		f, err := os.CreateTemp(dir, ".write-check-*.tmp")
		if err != nil {
			return l.writeError(err)
		}
		f.Close()
		os.Remove(f.Name())
	}
	return nil
}

// writeError wraps an error of writing into the lake in ErrNotWritable when
// it comes from permissions or a read-only file system.
func (l *Lake) writeError(err error) error {
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("%w: %s: %v (make it writable for the user running crmwh, or set paths.lake in crmwh.yaml)", ErrNotWritable, l.Dir, err)
	}
	return err
}

// Union returns Readers that say a file is read when any of rs says so,
// and cannot tell when one of them cannot. Nil entries are left out.
func Union(rs ...Readers) Readers {
	return func() (map[string]bool, error) {
		out := map[string]bool{}
		for _, r := range rs {
			if r == nil {
				continue
			}
			read, err := r()
			if err != nil {
				return nil, err
			}
			for k := range read {
				out[k] = true
			}
		}
		return out, nil
	}
}
