package lake

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crmwh/pipelines"
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

	seq atomic.Int64

	Rows, Bad, Bytes, Files atomic.Int64
	mu                      sync.Mutex
	reports                 []Report
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
		day: now.UTC().Format("2006-01-02"), started: now}
}

// Reports returns what the sources reported.
func (s *StreamSink) Reports() []Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Report(nil), s.reports...)
}

// Report implements pipelines.Sink.
func (s *StreamSink) Report(kind, msg string) {
	s.mu.Lock()
	s.reports = append(s.reports, Report{kind, msg})
	s.mu.Unlock()
}

// Counts implements pipelines.Sink.
func (s *StreamSink) Counts() (rows, bad int64) { return s.Rows.Load(), s.Bad.Load() }

// AddBytes implements pipelines.Sink.
func (s *StreamSink) AddBytes(n int64) { s.Bytes.Add(n) }

// Begin implements pipelines.Sink.
func (s *StreamSink) Begin(schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	if _, _, err := parquetSchema(schema); err != nil {
		return nil, fmt.Errorf("%s.%s: %w", s.source, s.stream, err)
	}
	return &unit{sink: s, schema: schema, schemaHash: schema.Hash(), origin: origin}, nil
}

type unit struct {
	sink   *StreamSink
	schema pipelines.Schema
	origin string

	schemaHash  string
	batch       *pipelines.Batch
	cur, qcur   *partFile
	done, qdone []Part
	parts       []*partFile
	rows, bad   int64
	closed      bool
}

func (u *unit) partPaths(kind string) (tmp, final, rel string) {
	s := u.sink
	n := s.seq.Add(1)
	name := fmt.Sprintf("part-%s-%05d.parquet", s.runID, n)
	rel = fmt.Sprintf("%s/%s/%s/ingest_date=%s/%s", kind, s.source, s.stream, s.day, name)
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

// WriteBatch implements pipelines.Unit.
func (u *unit) WriteBatch(b *pipelines.Batch) error {
	if b.Schema.Hash() != u.schemaHash {
		return fmt.Errorf("batch schema differs from the unit's")
	}
	from, to := 0, b.Len()
	for from < to {
		if u.cur == nil {
			tmp, final, _ := u.partPaths("raw")
			p, err := createPart(tmp, final, u.schema)
			if err != nil {
				return err
			}
			u.cur = p
			u.parts = append(u.parts, p)
		}
		n := to - from
		if room := PartMaxRows - u.cur.rows; int64(n) > room {
			n = int(room)
		}
		if err := u.cur.writeBatch(b, from, from+n); err != nil {
			return err
		}
		u.rows += int64(n)
		u.sink.Rows.Add(int64(n))
		from += n
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
		SchemaHash: u.schema.Hash(), RunID: u.sink.runID, Origin: u.origin})
	return nil
}

// Quarantine implements pipelines.Unit.
func (u *unit) Quarantine(b pipelines.BadRow) error {
	if u.qcur == nil {
		tmp, final, _ := u.partPaths("quarantine")
		p, err := createPart(tmp, final, quarantineSchema)
		if err != nil {
			return err
		}
		u.qcur = p
		u.parts = append(u.parts, p)
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
		key = b.Key
	}
	err := u.qcur.write([][]any{{b.Origin, line, key, b.Reason, validUTF8(raw), u.sink.runID, time.Now().UTC()}})
	if err != nil {
		return err
	}
	u.bad++
	u.sink.Bad.Add(1)
	return nil
}

// Commit implements pipelines.Unit: finish the files, rename them into
// place, then replace the manifest. Until the manifest is written the new
// files are not part of the lake (Recover removes them after a crash).
func (u *unit) Commit(ch pipelines.StateChange) error {
	if u.closed {
		return fmt.Errorf("unit already closed")
	}
	if u.cur != nil {
		if err := u.finishCur(); err != nil {
			u.Abort()
			return err
		}
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
	dirs := map[string]bool{}
	for _, p := range u.parts {
		if err := os.Rename(p.tmp, p.final); err != nil {
			u.removeAll()
			return fmt.Errorf("publishing %s: %w", p.final, err)
		}
		dirs[filepath.Dir(p.final)] = true
	}
	for d := range dirs {
		if err := SyncDir(d); err != nil {
			u.removeAll()
			return err
		}
	}

	s := u.sink
	st, err := s.lake.stream(s.source, s.stream)
	if err != nil {
		u.removeAll()
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	m := clone(st.m)
	now := time.Now().UTC()
	for i := range u.done {
		u.done[i].WatermarkBefore = m.Watermark
		u.done[i].WatermarkAfter = ch.Watermark
		if u.done[i].WatermarkAfter == nil {
			u.done[i].WatermarkAfter = m.Watermark
		}
		u.done[i].CreatedAt = now
	}
	for i := range u.qdone {
		u.qdone[i].CreatedAt = now
	}
	m.Parts = append(m.Parts, u.done...)
	m.Quarantine = append(m.Quarantine, u.qdone...)
	if m.Schemas == nil {
		m.Schemas = map[string]pipelines.Schema{}
	}
	m.Schemas[u.schema.Hash()] = u.schema
	m.Schema = u.schema
	if ch.Watermark != nil {
		m.Watermark = ch.Watermark
	}
	for _, f := range ch.Files {
		if m.Files == nil {
			m.Files = map[string]pipelines.SourceFile{}
		}
		f.RunID = s.runID
		m.Files[f.Path] = f
		s.Files.Add(1)
	}
	m.UpdatedAt = now
	if err := s.lake.writeManifest(m); err != nil {
		u.removeAll()
		return err
	}
	st.m = m
	return nil
}

func (u *unit) removeAll() {
	for _, p := range u.parts {
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
	for _, p := range u.parts {
		if p == u.cur || p == u.qcur {
			p.discard()
		} else {
			os.Remove(p.tmp)
		}
	}
	u.cur, u.qcur = nil, nil
	u.sink.Rows.Add(-u.rows)
	u.sink.Bad.Add(-u.bad)
}

func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
