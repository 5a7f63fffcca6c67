package lake

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crmwh/pipelines"
	fp "crmwh/pipelines/failpoint"
	"crmwh/pipelines/secret"
)

// quarantineSchema is the schema of quarantine files.
var quarantineSchema = pipelines.Schema{
	{Name: "origin", Type: pipelines.TypeString},
	{Name: "line", Type: pipelines.TypeInt64},
	{Name: "row_key", Type: pipelines.TypeString},
	{Name: "reason", Type: pipelines.TypeString},
	{Name: "raw", Type: pipelines.TypeString},
	{Name: "run_id", Type: pipelines.TypeString},
	{Name: "quarantined_at", Type: pipelines.TypeTimestamp},
}

// QuarantineSchema returns the columns of quarantine files.
func QuarantineSchema() pipelines.Schema { return append(pipelines.Schema(nil), quarantineSchema...) }

// StreamSink writes one stream's units for one run. It implements
// pipelines.Sink and counts what went through it.
type StreamSink struct {
	lake           *Lake
	source, stream string
	runID          string
	day            string
	started        time.Time

	// Policy is the stream's on_schema_change (default fail).
	Policy string
	// Threads is how many goroutines encode a part's columns (0: one per
	// core). A source whose database server runs on this machine leaves
	// it a core.
	Threads int

	seq atomic.Int64

	Rows, Bad, Bytes, Files atomic.Int64
	mu                      sync.Mutex
	reports                 []Report
	counters                map[string]int64
	reloading               bool
	stateRead               bool
}

// Report is something a run must show in its summary.
type Report struct {
	Kind string `json:"kind"`
	Msg  string `json:"msg"`
}

// Sink returns the sink for one stream of a run. The ingest date partition
// is taken from now in UTC.
func (l *Lake) Sink(source, stream, runID string, now time.Time) *StreamSink {
	return &StreamSink{lake: l, source: source, stream: stream, runID: runID,
		day: now.UTC().Format("2006-01-02"), started: now, counters: map[string]int64{}}
}

// State returns what the source continues from: the live generation's
// state, or, when a full reload was asked for or is under way, the
// reload's (with Full set). From then on the sink's units commit into the
// reload, and Finish completes it.
func (s *StreamSink) State() (pipelines.State, error) {
	m, err := s.lake.Manifest(s.source, s.stream)
	if err != nil {
		return pipelines.State{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stateRead = true
	if m.Reload != nil {
		s.reloading = true
		st := m.Reload.State()
		st.Full = true
		return st, nil
	}
	return m.State(), nil
}

// Reloading reports whether this run reloads the stream from scratch.
func (s *StreamSink) Reloading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloading
}

// Reports returns what the sources reported.
func (s *StreamSink) Reports() []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Report(nil), s.reports...)
}

// Counters returns the named counters.
func (s *StreamSink) Counters() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.counters))
	for k, v := range s.counters {
		out[k] = v
	}
	return out
}

// Report implements pipelines.Sink.
func (s *StreamSink) Report(kind, msg string) {
	msg = secret.Mask(msg)
	s.mu.Lock()
	s.reports = append(s.reports, Report{kind, msg})
	s.mu.Unlock()
}

// Count implements pipelines.Sink. Zero counts are not shown.
func (s *StreamSink) Count(name string, n int64) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	s.counters[name] += n
	s.mu.Unlock()
}

// Counts implements pipelines.Sink.
func (s *StreamSink) Counts() (rows, bad int64) { return s.Rows.Load(), s.Bad.Load() }

// AddBytes implements pipelines.Sink.
func (s *StreamSink) AddBytes(n int64) { s.Bytes.Add(n) }

// Begin implements pipelines.Sink. A schema that drops or retypes a column
// of the stream is refused here, before any row is read, unless the
// stream's policy is coerce.
func (s *StreamSink) Begin(schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	return s.begin("", schema, origin)
}

// BeginSnapshot implements pipelines.Sink.
func (s *StreamSink) BeginSnapshot(name string, schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	if name == "" || strings.ContainsAny(name, "/=") {
		return nil, fmt.Errorf("bad snapshot name %q", name)
	}
	return s.begin(name, schema, origin)
}

func (s *StreamSink) begin(snapshot string, schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	if _, _, err := parquetSchema(schema, nil); err != nil {
		return nil, fmt.Errorf("%s.%s: %w", s.source, s.stream, err)
	}
	m, err := s.lake.Manifest(s.source, s.stream)
	if err != nil {
		return nil, err
	}
	if _, err := pipelines.MergeSchema(s.target(m).Schema, schema, s.Policy); err != nil {
		return nil, s.schemaError(origin, err)
	}
	ids, err := s.lake.fieldIDs(s.source, s.stream, schema)
	if err != nil {
		return nil, err
	}
	return &unit{sink: s, schema: schema, schemaHash: schema.Hash(), origin: origin, snapshot: snapshot, ids: ids}, nil
}

func (s *StreamSink) schemaError(origin string, err error) error {
	return fmt.Errorf("%s: %w; the stream's on_schema_change is fail, so nothing was loaded: "+
		"set on_schema_change: coerce to keep loading (a missing column is NULL in new rows, a retyped one is widened), "+
		"or reload the stream with `crmwh extract --full %s.%s`", origin, err, s.source, s.stream)
}

// target is the generation this sink's units commit into.
func (s *StreamSink) target(m *StreamManifest) *Generation {
	s.mu.Lock()
	reloading := s.reloading
	s.mu.Unlock()
	if reloading && m.Reload != nil {
		return &m.Reload.Generation
	}
	return &m.Generation
}

// Finish ends the stream's run: when the source succeeded and the run was
// a reload, the reload's generation replaces the live one (whose parts are
// retired); either way the run is recorded for `crmwh state show`.
func (s *StreamSink) Finish(runErr error) error {
	now := time.Now().UTC()
	reloading := s.Reloading()
	return s.lake.update(s.source, s.stream, func(m *StreamManifest) error {
		rec := &RunRecord{RunID: s.runID, Status: "ok", Full: reloading, StartedAt: s.started.UTC(), FinishedAt: now,
			Rows: s.Rows.Load(), Quarantined: s.Bad.Load()}
		if runErr != nil {
			rec.Status, rec.Error = "failed", runErr.Error()
		} else if reloading && m.Reload != nil {
			// One commit replaces every live part with the reload's.
			m.Version++
			m.retire(m.Generation.LiveParts(), true)
			m.retire(m.Generation.LiveQuarantine(), false)
			m.Generation = m.Reload.Generation
			m.Reload = nil
			for i := range m.Parts {
				m.Parts[i].Version = m.Version
			}
			for _, sn := range m.Snapshots {
				for i := range sn.Parts {
					sn.Parts[i].Version = m.Version
				}
			}
		}
		m.LastRun = rec
		m.Warnings = s.warnings(m.Warnings, runErr == nil, now)
		return nil
	})
}

// warnings are the stream's warnings after this run: its reports, and
// when it failed (and may not have got as far as checking), the earlier
// ones too.
func (s *StreamSink) warnings(prev []Warning, ok bool, now time.Time) []Warning {
	var out []Warning
	seen := map[[2]string]bool{}
	for _, r := range s.Reports() {
		if !seen[[2]string{r.Kind, r.Msg}] {
			seen[[2]string{r.Kind, r.Msg}] = true
			out = append(out, Warning{Kind: r.Kind, Msg: r.Msg, RunID: s.runID, At: now})
		}
	}
	if !ok {
		for _, w := range prev {
			if !seen[[2]string{w.Kind, w.Msg}] {
				out = append(out, w)
			}
		}
	}
	return out
}

type unit struct {
	sink       *StreamSink
	schema     pipelines.Schema
	schemaHash string
	origin     string
	snapshot   string
	ids        []int // the columns' field ids

	batch     *pipelines.Batch
	w         *asyncWriter
	drained   bool
	rows, bad int64
	closed    bool

	// Owned by the writer goroutine until it has finished.
	cur      *partFile
	done     []Part
	rawParts []*partFile

	// Owned by the caller.
	qcur   *partFile
	qdone  []Part
	qParts []*partFile
}

// asyncWriter encodes a unit's batches on its own goroutine, so that a
// source decodes the next batch while the last one is compressed.
type asyncWriter struct {
	in   chan *pipelines.Batch // filled batches, in order
	free chan *pipelines.Batch // emptied batches to exchange
	done chan struct{}         // closed when the goroutine has finished
	mu   sync.Mutex
	err  error
}

func (w *asyncWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (u *unit) partPaths(kind string) (tmp, final, rel string) {
	s := u.sink
	n := s.seq.Add(1)
	name := fmt.Sprintf("part-%s-%05d.parquet", s.runID, n)
	partition := "ingest_date=" + s.day
	if u.snapshot != "" {
		partition = "snapshot=" + u.snapshot
	}
	rel = fmt.Sprintf("%s/%s/%s/%s/%s", kind, s.source, s.stream, partition, name)
	final = filepath.Join(s.lake.Dir, filepath.FromSlash(rel))
	tmp = filepath.Join(filepath.Dir(final), "."+name+".tmp")
	return tmp, final, rel
}

// Write implements pipelines.Unit.
func (u *unit) Write(rows [][]any) error {
	if u.batch == nil {
		u.batch = pipelines.NewBatch(u.schema)
	}
	u.batch.Reset()
	for _, r := range rows {
		if err := u.batch.AppendRow(r); err != nil {
			return err
		}
	}
	return u.WriteBatch(u.batch)
}

// WriteBatch implements pipelines.Unit. The rows go to the unit's writer
// goroutine: b's vectors are exchanged for empty ones, so b comes back
// empty and the caller fills it again while the rows are encoded. At most
// two batches wait, which bounds memory.
func (u *unit) WriteBatch(b *pipelines.Batch) error {
	if u.closed {
		return fmt.Errorf("unit already closed")
	}
	if len(b.Schema) != len(u.schema) {
		return fmt.Errorf("batch has %d columns, the unit's schema %d", len(b.Schema), len(u.schema))
	}
	n := b.Len()
	if n == 0 {
		return nil
	}
	if u.w == nil {
		u.w = &asyncWriter{in: make(chan *pipelines.Batch, 2), free: make(chan *pipelines.Batch, 2), done: make(chan struct{})}
		u.w.free <- pipelines.NewBatch(u.schema)
		u.w.free <- pipelines.NewBatch(u.schema)
		go u.runWriter()
	}
	var spare *pipelines.Batch
	select {
	case spare = <-u.w.free:
	case <-u.w.done:
		return u.w.failed()
	}
	if err := u.w.failed(); err != nil {
		u.w.free <- spare
		return err
	}
	b.Swap(spare)
	b.Reset()
	u.rows += int64(n)
	if u.snapshot == "" {
		u.sink.Rows.Add(int64(n))
	}
	u.w.in <- spare
	return nil
}

// runWriter is the unit's writer goroutine.
func (u *unit) runWriter() {
	w := u.w
	defer close(w.done)
	for b := range w.in {
		if w.failed() == nil {
			if err := u.writeSync(b); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		b.Reset()
		w.free <- b
	}
	if w.failed() == nil && u.cur != nil {
		if err := u.finishCur(); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}

// drain waits for the writer goroutine to write everything handed to it.
func (u *unit) drain() error {
	if u.w == nil {
		return nil
	}
	if u.drained {
		return u.w.failed()
	}
	u.drained = true
	close(u.w.in)
	<-u.w.done
	return u.w.failed()
}

// writeSync writes a batch into the current part, starting a new part
// every PartMaxRows rows.
func (u *unit) writeSync(b *pipelines.Batch) error {
	from, to := 0, b.Len()
	for from < to {
		if u.cur == nil {
			tmp, final, _ := u.partPaths("raw")
			p, err := createPart(tmp, final, u.schema, u.ids)
			if err != nil {
				return err
			}
			p.threads = u.sink.Threads
			u.cur = p
			u.rawParts = append(u.rawParts, p)
		}
		n := to - from
		if room := PartMaxRows - u.cur.rows; int64(n) > room {
			n = int(room)
		}
		if err := u.cur.writeBatch(b, from, from+n); err != nil {
			return err
		}
		from += n
		failpoint("lake.write")
		if u.cur.rows >= PartMaxRows {
			if err := u.finishCur(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (u *unit) finishCur() error {
	p := u.cur
	u.cur = nil
	size, err := p.finish()
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(u.sink.lake.Dir, p.final)
	u.done = append(u.done, Part{Path: filepath.ToSlash(rel), Rows: p.rows, Bytes: size,
		SchemaHash: u.schemaHash, RunID: u.sink.runID, Origin: u.origin, FieldIDs: u.ids != nil})
	return nil
}

// Quarantine implements pipelines.Unit.
func (u *unit) Quarantine(b pipelines.BadRow) error {
	if u.closed {
		return fmt.Errorf("unit already closed")
	}
	if u.qcur == nil {
		tmp, final, _ := u.partPaths("quarantine")
		p, err := createPart(tmp, final, quarantineSchema, nil)
		if err != nil {
			return err
		}
		u.qcur = p
		u.qParts = append(u.qParts, p)
	}
	raw := b.Raw
	if len(raw) > 4096 {
		raw = raw[:4096]
	}
	var line any
	if b.Line > 0 {
		line = b.Line
	}
	var key any
	if b.Key != "" {
		key = validUTF8(b.Key)
	}
	err := u.qcur.write([][]any{{validUTF8(b.Origin), line, key, validUTF8(b.Reason), validUTF8(raw), u.sink.runID, time.Now().UTC()}})
	if err != nil {
		return err
	}
	u.bad++
	if u.snapshot == "" {
		u.sink.Bad.Add(1)
	} else {
		u.sink.Count(u.snapshot+"_quarantined", 1)
	}
	return nil
}

// Commit implements pipelines.Unit: finish the files, rename them into
// place, then replace the manifest. Until the manifest is written the new
// files are not part of the lake (Recover removes them after a crash).
func (u *unit) Commit(ch pipelines.StateChange) error {
	if u.closed {
		return fmt.Errorf("unit already closed")
	}
	if err := u.drain(); err != nil {
		u.Abort()
		return err
	}
	if u.qcur != nil {
		p := u.qcur
		u.qcur = nil
		size, err := p.finish()
		if err != nil {
			u.Abort()
			return err
		}
		rel, _ := filepath.Rel(u.sink.lake.Dir, p.final)
		u.qdone = append(u.qdone, Part{Path: filepath.ToSlash(rel), Rows: p.rows, Bytes: size,
			SchemaHash: quarantineSchema.Hash(), RunID: u.sink.runID, Origin: u.origin})
	}
	u.closed = true
	failpoint("lake.before-rename")
	dirs := map[string]bool{}
	for _, p := range u.parts() {
		if err := os.Rename(p.tmp, p.final); err != nil {
			u.removeAll()
			return fmt.Errorf("publishing %s: %w", p.final, err)
		}
		dirs[filepath.Dir(p.final)] = true
	}
	for d := range dirs {
		// The folder holds the renames; its parents hold folders this
		// unit may have created (a new ingest_date=, a new stream).
		if err := syncUp(d, u.sink.lake.Dir); err != nil {
			u.removeAll()
			return err
		}
	}
	failpoint("lake.before-manifest")

	s := u.sink
	err := s.lake.update(s.source, s.stream, func(m *StreamManifest) error {
		g := s.target(m)
		live := g == &m.Generation
		merged, err := pipelines.MergeSchema(g.Schema, u.schema, s.Policy)
		if err != nil {
			return s.schemaError(u.origin, err)
		}
		now := time.Now().UTC()
		for i := range u.done {
			u.done[i].CreatedAt = now
		}
		// A commit that changes the live parts is a new version of the
		// stream; parts committed into a reload get theirs when it
		// completes (Finish).
		if live && (len(u.done) > 0 || u.snapshot != "" && len(g.Snapshots[u.snapshot].Parts) > 0) {
			m.Version++
			for i := range u.done {
				u.done[i].Version = m.Version
			}
		}
		for i := range u.qdone {
			u.qdone[i].CreatedAt = now
		}
		if u.snapshot != "" {
			if g.Snapshots == nil {
				g.Snapshots = map[string]Snapshot{}
			}
			old := g.Snapshots[u.snapshot]
			m.retire(old.Parts, live)
			m.retire(old.Quarantine, false)
			g.Snapshots[u.snapshot] = Snapshot{RunID: s.runID, Parts: u.done, Quarantine: u.qdone}
			s.Count(u.snapshot, u.rows)
		} else {
			for i := range u.done {
				u.done[i].WatermarkBefore = g.Watermark
				u.done[i].WatermarkAfter = ch.Watermark
				if u.done[i].WatermarkAfter == nil {
					u.done[i].WatermarkAfter = g.Watermark
				}
			}
			g.Parts = append(g.Parts, u.done...)
			g.Quarantine = append(g.Quarantine, u.qdone...)
			if ch.Watermark != nil {
				g.Watermark = ch.Watermark
			}
			if ch.Window != nil {
				g.Window = ch.Window
			}
			for _, f := range ch.Files {
				if g.Files == nil {
					g.Files = map[string]pipelines.SourceFile{}
				}
				f.RunID = s.runID
				g.Files[f.Path] = f
				s.Files.Add(1)
			}
		}
		if m.Schemas == nil {
			m.Schemas = map[string]pipelines.Schema{}
		}
		m.Schemas[u.schemaHash] = u.schema
		g.Schema = merged
		return nil
	})
	if err != nil {
		u.removeAll()
		return err
	}
	failpoint("lake.after-manifest")
	return nil
}

// parts are every file the unit wrote; call it only once the writer
// goroutine has finished.
func (u *unit) parts() []*partFile {
	return append(append([]*partFile(nil), u.rawParts...), u.qParts...)
}

func (u *unit) removeAll() {
	for _, p := range u.parts() {
		os.Remove(p.tmp)
		os.Remove(p.final)
	}
}

// Abort implements pipelines.Unit.
func (u *unit) Abort() {
	if u.closed {
		return
	}
	u.closed = true
	u.drain()
	for _, p := range u.parts() {
		if p == u.cur || p == u.qcur {
			p.discard()
		} else {
			os.Remove(p.tmp)
		}
	}
	u.cur, u.qcur = nil, nil
	if u.snapshot == "" {
		u.sink.Rows.Add(-u.rows)
		u.sink.Bad.Add(-u.bad)
	}
}

func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// failpoint kills the process with SIGKILL when the environment variable
// CRMWH_FAILPOINT names this point ("lake.before-manifest", or
// "lake.write:3" for its third pass); see package failpoint.
func failpoint(name string) { fp.Hit(name) }

// Failpoints lists the places CRMWH_FAILPOINT can name.
func Failpoints() []string {
	out := []string{"lake.write", "lake.before-rename", "lake.before-manifest", "lake.after-manifest"}
	sort.Strings(out)
	return out
}
