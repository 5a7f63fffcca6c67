// Package csvfile is the "csv" source kind: files dropped in a folder,
// matched by a glob, each loaded exactly once. Columns are declared in
// crmwh.yaml with their types; text in UTF-8 (with or without BOM),
// GB18030, GBK or any other WHATWG encoding label is decoded to UTF-8.
// Rows that fail to parse go to quarantine with file, line and reason.
package csvfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"

	"crmwh/pipelines"
	"crmwh/pipelines/textvalue"
)

func init() {
	pipelines.Register("csv", pipelines.Kind{New: New, Validate: Validate})
}

// batchRows is how many rows are handed to the lake at a time.
const batchRows = 8192

// Source reads CSV streams.
type Source struct {
	cfg pipelines.SourceConfig
	env pipelines.Env
}

// New opens a csv source.
func New(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
	return &Source{cfg: cfg, env: env}, nil
}

// Close implements pipelines.Source.
func (s *Source) Close() error { return nil }

// Validate checks a csv source's config.
func Validate(cfg pipelines.SourceConfig, report func(path, msg string)) {
	if cfg.DSN != "" {
		report("dsn", "a csv source reads files; dsn is for SQL sources")
	}
	for i, st := range cfg.Streams {
		p := fmt.Sprintf("streams[%d]", i)
		if st.Path == "" {
			report(p+".path", "missing: the glob of files to load, e.g. data/billing/*.csv")
		} else if _, err := filepath.Match(st.Path, ""); err != nil {
			report(p+".path", "bad glob: "+err.Error())
		}
		for _, k := range []struct {
			set bool
			key string
		}{
			{st.Table != "", "table"}, {st.Query != "", "query"}, {st.Watermark != "", "watermark"}, {st.Lookback != 0, "lookback"},
		} {
			if k.set {
				report(p+"."+k.key, "not used by csv sources")
			}
		}
		if st.Encoding != "" {
			if _, err := lookupEncoding(st.Encoding); err != nil {
				report(p+".encoding", err.Error())
			}
		}
		if len(st.Delimiter) > 1 || st.Delimiter == "\"" || st.Delimiter == "\n" {
			report(p+".delimiter", "must be a single character other than a quote or line break")
		}
		if st.Timezone != "" {
			if _, err := time.LoadLocation(st.Timezone); err != nil {
				report(p+".timezone", fmt.Sprintf("unknown time zone %q (expected an IANA name such as Asia/Shanghai)", st.Timezone))
			}
		}
		if len(st.Columns) == 0 {
			report(p+".columns", "missing: declare the columns to load, each with name and type")
		}
		if _, err := parsers(st); err != nil {
			var ce *columnError
			if errors.As(err, &ce) {
				report(fmt.Sprintf("%s.columns[%d].%s", p, ce.index, ce.key), ce.msg)
			}
		}
		if r := st.BadRatioLimit(); r < 0 || r > 1 {
			report(p+".max_bad_ratio", "must be between 0 and 1")
		}
	}
}

type columnError struct {
	index    int
	key, msg string
}

func (e *columnError) Error() string { return fmt.Sprintf("columns[%d].%s: %s", e.index, e.key, e.msg) }

// parsers builds the schema and field parsers of a stream.
func parsers(st pipelines.StreamConfig) ([]*textvalue.Parser, error) {
	loc := time.UTC
	if st.Timezone != "" {
		l, err := time.LoadLocation(st.Timezone)
		if err != nil {
			return nil, err
		}
		loc = l
	}
	seen := map[string]bool{}
	var out []*textvalue.Parser
	for i, c := range st.Columns {
		if c.Name == "" {
			return nil, &columnError{i, "name", "missing"}
		}
		if seen[c.Name] {
			return nil, &columnError{i, "name", fmt.Sprintf("column %q declared twice", c.Name)}
		}
		seen[c.Name] = true
		col, err := pipelines.ParseType(c.Type)
		if err != nil {
			return nil, &columnError{i, "type", err.Error()}
		}
		col.Name = c.Name
		p, err := textvalue.NewParser(col, c.Format, loc)
		if err != nil {
			return nil, &columnError{i, "format", err.Error()}
		}
		out = append(out, p)
	}
	return out, nil
}

func lookupEncoding(name string) (encoding.Encoding, error) {
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8", "utf-8-sig":
		return unicode.UTF8, nil
	}
	e, err := htmlindex.Get(name)
	if err != nil {
		return nil, fmt.Errorf("unknown encoding %q (expected utf-8, gb18030, gbk, big5 or another WHATWG label)", name)
	}
	return e, nil
}

// Unit limits: files are loaded in batches, each batch one commit unit (one
// Parquet part and one manifest update), so a folder of thousands of small
// daily files makes a few well-sized lake files instead of thousands of
// tiny ones, and a crash redoes at most one batch.
const (
	unitMaxFiles = 1000
	unitMaxRows  = 1 << 20
)

// Extract implements pipelines.Source: every matching file not yet loaded
// is read, in name order, in batches that commit together.
func (s *Source) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) error {
	ps, err := parsers(st)
	if err != nil {
		return err
	}
	enc, err := lookupEncoding(st.Encoding)
	if err != nil {
		return err
	}
	pattern := st.Path
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(s.env.BaseDir, pattern)
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("bad glob %q: %w", st.Path, err)
	}
	sort.Strings(files)
	schema := make(pipelines.Schema, len(ps))
	for i, p := range ps {
		schema[i] = p.Col
	}

	var (
		u       pipelines.Unit
		loaded  []pipelines.SourceFile
		rows    int64
		failed  []string
		nFailed int
	)
	commit := func() error {
		if u == nil {
			return nil
		}
		if err := pipelines.CheckBadRatio(sink, st); err != nil {
			u.Abort()
			u = nil
			return err
		}
		err := u.Commit(pipelines.StateChange{Files: loaded})
		u, loaded, rows = nil, nil, 0
		return err
	}
	defer func() {
		if u != nil {
			u.Abort()
		}
	}()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := os.Stat(f)
		if err != nil {
			return err
		}
		if info.IsDir() {
			continue
		}
		key := s.relPath(f)
		if prev, ok := state.Files[key]; ok {
			if prev.Size == info.Size() && prev.ModTime.Equal(info.ModTime()) {
				continue
			}
			sum, err := hashFile(f)
			if err != nil {
				return err
			}
			if sum != prev.SHA256 {
				sink.Report("changed_file", fmt.Sprintf("%s changed after it was loaded (run %s); it is not reloaded: drop the new version under a new name, or reset the stream", key, prev.RunID))
			}
			continue
		}
		if u == nil {
			if u, err = sink.Begin(schema, st.Path); err != nil {
				return err
			}
		}
		rec, err := s.loadFile(ctx, st, ps, enc, f, key, info, u, sink)
		if err != nil {
			var fe *fileError
			if errors.As(err, &fe) && ctx.Err() == nil {
				// The file's rows were not written; the rest go on.
				nFailed++
				if len(failed) < 3 {
					failed = append(failed, fe.Error())
				}
				continue
			}
			return err
		}
		loaded = append(loaded, rec)
		rows += rec.Rows + rec.Bad
		if len(loaded) >= unitMaxFiles || rows >= unitMaxRows {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if err := commit(); err != nil {
		return err
	}
	if nFailed > 0 {
		more := ""
		if nFailed > len(failed) {
			more = fmt.Sprintf(" (and %d more)", nFailed-len(failed))
		}
		return fmt.Errorf("%d file(s) not loaded: %s%s", nFailed, strings.Join(failed, "; "), more)
	}
	return nil
}

func (s *Source) relPath(f string) string {
	if rel, err := filepath.Rel(s.env.BaseDir, f); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(f)
}

// fileError is a problem with one file that does not stop the other files.
type fileError struct{ file, msg string }

func (e *fileError) Error() string { return e.file + ": " + e.msg }

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// countingReader counts and hashes the raw bytes read.
type countingReader struct {
	r    io.Reader
	h    hash.Hash
	sink pipelines.Sink
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.h.Write(p[:n])
		c.sink.AddBytes(int64(n))
	}
	return n, err
}

// loadFile reads one file into the unit. A *fileError means the file as a
// whole is unusable (bad header, missing columns); nothing of it was written.
func (s *Source) loadFile(ctx context.Context, st pipelines.StreamConfig, ps []*textvalue.Parser, enc encoding.Encoding,
	path, key string, info os.FileInfo, u pipelines.Unit, sink pipelines.Sink) (pipelines.SourceFile, error) {
	rec := pipelines.SourceFile{Path: key, Size: info.Size(), ModTime: info.ModTime()}
	f, err := os.Open(path)
	if err != nil {
		return rec, err
	}
	defer f.Close()
	cr := &countingReader{r: f, h: sha256.New(), sink: sink}
	isUTF8 := enc == unicode.UTF8
	var text io.Reader = cr
	if !isUTF8 {
		text = enc.NewDecoder().Reader(cr)
	}
	delim := byte(',')
	if st.Delimiter != "" {
		delim = st.Delimiter[0]
	}
	rr := newRecordReader(text, delim)

	// Header.
	raw, _, header, err := rr.next()
	var colIdx []int
	switch {
	case errors.Is(err, io.EOF):
		sink.Report("empty_file", key+" is empty (no header); recorded as loaded with 0 rows")
	case err != nil:
		var m *errMalformed
		if errors.As(err, &m) {
			return rec, &fileError{key, "line 1: header is malformed: " + m.msg}
		}
		return rec, fmt.Errorf("reading %s: %w", key, err)
	default:
		if !isUTF8 && strings.ContainsRune(raw, utf8.RuneError) {
			return rec, &fileError{key, "line 1: header has bytes that are not valid " + st.Encoding}
		}
		if isUTF8 && !utf8.ValidString(raw) {
			return rec, &fileError{key, "line 1: header is not valid UTF-8 (set the stream's encoding, e.g. gb18030)"}
		}
		colIdx, err = mapHeader(st, header)
		if err != nil {
			return rec, &fileError{key, "line 1: " + err.Error()}
		}
	}

	batch := make([][]any, 0, batchRows)
	vals := make([]any, 0, batchRows*len(ps))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := u.Write(batch)
		batch, vals = batch[:0], vals[:0]
		return err
	}
	quarantine := func(line int64, raw, reason string) error {
		rec.Bad++
		return u.Quarantine(pipelines.BadRow{Origin: key, Line: line, Reason: reason, Raw: raw})
	}
	for colIdx != nil {
		raw, line, fields, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var m *errMalformed
			if errors.As(err, &m) {
				if err := quarantine(line, raw, m.msg); err != nil {
					return rec, err
				}
				continue
			}
			return rec, fmt.Errorf("reading %s: %w", key, err)
		}
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return rec, err
			}
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		if isUTF8 && !utf8.ValidString(raw) {
			if err := quarantine(line, raw, "not valid UTF-8 (is the file in another encoding? set the stream's encoding)"); err != nil {
				return rec, err
			}
			continue
		}
		if !isUTF8 && strings.ContainsRune(raw, utf8.RuneError) {
			if err := quarantine(line, raw, "bytes that are not valid "+st.Encoding); err != nil {
				return rec, err
			}
			continue
		}
		if len(fields) != len(header) {
			if err := quarantine(line, raw, fmt.Sprintf("expected %d fields, found %d", len(header), len(fields))); err != nil {
				return rec, err
			}
			continue
		}
		start := len(vals)
		var reason string
		for i, p := range ps {
			v, err := p.Parse(fields[colIdx[i]])
			if err != nil {
				reason = fmt.Sprintf("column %s: %v", p.Col.Name, err)
				break
			}
			if v == nil && st.Columns[i].Required {
				reason = fmt.Sprintf("column %s: value is missing", p.Col.Name)
				break
			}
			vals = append(vals, v)
		}
		if reason != "" {
			vals = vals[:start]
			if err := quarantine(line, raw, reason); err != nil {
				return rec, err
			}
			continue
		}
		batch = append(batch, vals[start:len(vals):len(vals)])
		rec.Rows++
		if len(batch) == batchRows {
			if err := flush(); err != nil {
				return rec, err
			}
		}
	}
	if err := flush(); err != nil {
		return rec, err
	}
	// Read what is left so the hash covers the whole file.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return rec, err
	}
	rec.SHA256 = hex.EncodeToString(cr.h.Sum(nil))
	return rec, nil
}

// mapHeader finds each declared column in the header: by its header key,
// else its name; exact match first, then ignoring case.
func mapHeader(st pipelines.StreamConfig, header []string) ([]int, error) {
	clean := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff")
		clean[i] = strings.TrimSpace(h)
	}
	idx := make([]int, len(st.Columns))
	var missing []string
	for i, c := range st.Columns {
		want := c.Header
		if want == "" {
			want = c.Name
		}
		idx[i] = -1
		for j, h := range clean {
			if h == want {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 {
			for j, h := range clean {
				if strings.EqualFold(h, want) {
					idx[i] = j
					break
				}
			}
		}
		if idx[i] < 0 {
			missing = append(missing, fmt.Sprintf("%q", want))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header lacks declared column(s) %s (header is: %s)", strings.Join(missing, ", "), strings.Join(clean, ","))
	}
	return idx, nil
}
