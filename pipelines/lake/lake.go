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
	"sort"
	"strings"
	"sync"
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
}

// StreamManifest is the committed state of one stream.
type StreamManifest struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	// Schema is the stream's latest schema; Schemas holds every schema a
	// part was written with, by hash.
	Schema     pipelines.Schema                `json:"schema"`
	Schemas    map[string]pipelines.Schema     `json:"schemas"`
	Watermark  *pipelines.Watermark            `json:"watermark,omitempty"`
	Parts      []Part                          `json:"parts"`
	Quarantine []Part                          `json:"quarantine"`
	Files      map[string]pipelines.SourceFile `json:"files,omitempty"`
	UpdatedAt  time.Time                       `json:"updated_at"`
}

// Rows is the number of rows in the stream's committed parts.
func (m *StreamManifest) Rows() int64 {
	var n int64
	for _, p := range m.Parts {
		n += p.Rows
	}
	return n
}

// QuarantinedRows is the number of rows set aside.
func (m *StreamManifest) QuarantinedRows() int64 {
	var n int64
	for _, p := range m.Quarantine {
		n += p.Rows
	}
	return n
}

// State is what the source needs to continue.
func (m *StreamManifest) State() pipelines.State {
	st := pipelines.State{Watermark: m.Watermark, Files: map[string]pipelines.SourceFile{}}
	for k, v := range m.Files {
		st.Files[k] = v
	}
	return st
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
	for _, sub := range []string{"raw", "quarantine", "_manifest"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating lake folder: %w", err)
		}
	}
	return &Lake{Dir: abs, streams: map[string]*streamState{}}, nil
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
	return SyncDir(dir)
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

// Recover removes what a killed run left behind: temporary files, and part
// files that no manifest lists (renamed into place but never committed).
// Call it before a run starts, while no other run writes to the lake.
func (l *Lake) Recover() (removed int, err error) {
	listed := map[string]bool{}
	ms, err := l.Manifests()
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		for _, p := range m.Parts {
			listed[p.Path] = true
		}
		for _, p := range m.Quarantine {
			listed[p.Path] = true
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
				removed++
			}
			return nil
		})
		if err != nil {
			return removed, fmt.Errorf("recovering lake: %w", err)
		}
	}
	return removed, nil
}
