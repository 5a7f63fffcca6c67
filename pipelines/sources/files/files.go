// Package files is what the file source kinds (csv, jsonl) share: finding
// a stream's files by glob, loading each file exactly once (the lake's
// manifest records path, size, modification time and SHA-256), reporting a
// file that changed after it was loaded instead of reloading it, and
// grouping files into commit units.
package files

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

	"crmwh/pipelines"
	"crmwh/pipelines/textvalue"
)

// Loader reads one file's rows into the unit. r yields the file's bytes
// (counted and hashed as they are read). rec.Rows and rec.Bad are for the
// loader to fill. A *FileError means the file as a whole is unusable (a bad
// header, say) and none of its rows were written; the other files go on.
type Loader func(ctx context.Context, r io.Reader, rec *pipelines.SourceFile, u pipelines.Unit) error

// FileError is a problem with one file that does not stop the other files.
type FileError struct{ File, Msg string }

// Error is "file: what is wrong".
func (e *FileError) Error() string { return e.File + ": " + e.Msg }

// Extract loads every file of the stream's glob that the state does not
// list, in name order, in units of up to 1000 files or about commit_rows
// rows, each committed with the files it loaded.
func Extract(ctx context.Context, env pipelines.Env, st pipelines.StreamConfig, state pipelines.State,
	sink pipelines.Sink, schema pipelines.Schema, load Loader) error {
	pattern := st.Path
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(env.BaseDir, pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return fmt.Errorf("bad glob %q: %w", st.Path, err)
	}
	sort.Strings(matches)
	todo, err := checkLoaded(env, st, state, sink, matches)
	if err != nil {
		return err
	}

	const unitMaxFiles = 1000
	unitMaxRows := st.CommitEvery()
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
	for _, nf := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, key, info := nf.path, nf.key, nf.info
		if u == nil {
			if u, err = sink.Begin(schema, st.Path); err != nil {
				return err
			}
		}
		rec, err := loadFile(ctx, f, key, info, u, sink, load)
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) && ctx.Err() == nil {
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

// newFile is a file of the glob that the stream has not loaded.
type newFile struct {
	path, key string
	info      os.FileInfo
}

// checkLoaded sorts the glob's files into those to load and those loaded
// before, and applies on_file_change to loaded files that changed or grew
// since. A glob that matches no file is a *pipelines.MissingError.
func checkLoaded(env pipelines.Env, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink, matches []string) ([]newFile, error) {
	var todo []newFile
	var changes []fileChange
	files := 0
	for _, f := range matches {
		info, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if info.IsDir() {
			continue
		}
		files++
		key := relPath(env.BaseDir, f)
		prev, ok := state.Files[key]
		if !ok {
			todo = append(todo, newFile{f, key, info})
			continue
		}
		if prev.Size == info.Size() && prev.ModTime.Equal(info.ModTime()) {
			continue
		}
		c, err := compare(f, key, prev, info)
		if err != nil {
			return nil, err
		}
		if c.kind != "" {
			changes = append(changes, c)
		}
	}
	if files == 0 {
		where := st.Path
		if !filepath.IsAbs(st.Path) {
			where += " in " + env.BaseDir
		}
		return nil, pipelines.Missing("no file matches path %s: check the path, or set optional: true on the stream if its files may be absent", where)
	}
	if len(changes) == 0 {
		return todo, nil
	}
	switch st.FileChangePolicy() {
	case pipelines.FileChangeFail:
		var what []string
		for _, c := range changes {
			what = append(what, c.what)
		}
		return nil, fmt.Errorf("%d file(s) loaded before changed, and on_file_change is fail: %s; "+
			"reload the stream (crmwh extract --full SOURCE.STREAM) or set on_file_change: reload or warn", len(changes), strings.Join(what, "; "))
	case pipelines.FileChangeReload:
		if !state.Full {
			return nil, fmt.Errorf("%s (on_file_change: reload): %w", changes[0].what, pipelines.ErrReload)
		}
	default:
		for _, c := range changes {
			sink.Report(c.kind, c.what+": "+c.effect+" (on_file_change: warn); drop the new version under a new name, "+
				"reload the stream (crmwh extract --full SOURCE.STREAM), or set on_file_change: reload")
		}
	}
	return todo, nil
}

// fileChange is a loaded file that is not what it was.
type fileChange struct {
	kind   string // changed_file or grown_file; empty when only its time changed
	what   string // the file and what happened to it
	effect string // what a warning means for its rows
}

// compare tells how a loaded file whose size or time differ from its
// record differs: grown (the bytes loaded are still its beginning),
// changed, or not at all (touched).
func compare(path, key string, prev pipelines.SourceFile, info os.FileInfo) (fileChange, error) {
	if info.Size() > prev.Size {
		sum, err := hashPrefix(path, prev.Size)
		if err != nil {
			return fileChange{}, err
		}
		if sum == prev.SHA256 {
			return fileChange{"grown_file", fmt.Sprintf("%s grew from %d to %d bytes after it was loaded (run %s)",
				key, prev.Size, info.Size(), prev.RunID), "the rows added are not loaded"}, nil
		}
	}
	sum, err := HashFile(path)
	if err != nil {
		return fileChange{}, err
	}
	if sum == prev.SHA256 {
		return fileChange{}, nil
	}
	return fileChange{"changed_file", fmt.Sprintf("%s changed after it was loaded (run %s; %d bytes then, %d now)", key, prev.RunID, prev.Size, info.Size()),
		"it is not reloaded"}, nil
}

// hashPrefix returns the SHA-256 in hex of a file's first n bytes.
func hashPrefix(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, f, n); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// loadFile reads one file into the unit and returns its record.
func loadFile(ctx context.Context, path, key string, info os.FileInfo, u pipelines.Unit, sink pipelines.Sink, load Loader) (pipelines.SourceFile, error) {
	rec := pipelines.SourceFile{Path: key, Size: info.Size(), ModTime: info.ModTime()}
	f, err := os.Open(path)
	if err != nil {
		return rec, err
	}
	defer f.Close()
	cr := &countingReader{r: f, h: sha256.New(), sink: sink}
	if err := load(ctx, cr, &rec, u); err != nil {
		return rec, err
	}
	// Read what is left so the hash covers the whole file.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return rec, err
	}
	rec.SHA256 = hex.EncodeToString(cr.h.Sum(nil))
	// The bytes hashed, which a file still being written may have more of
	// than its size when it was listed.
	rec.Size = cr.n
	return rec, nil
}

func relPath(base, f string) string {
	if rel, err := filepath.Rel(base, f); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(f)
}

// HashFile returns a file's SHA-256 in hex.
func HashFile(path string) (string, error) {
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
	n    int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.h.Write(p[:n])
		c.sink.AddBytes(int64(n))
		c.n += int64(n)
	}
	return n, err
}

// ValidateCommon checks the keys every file stream has; path is the
// stream's key path, e.g. "streams[0]", and kind names the source kind in
// messages.
func ValidateCommon(st pipelines.StreamConfig, path, kind string, report func(path, msg string)) {
	if st.Path == "" {
		report(path+".path", "missing: the glob of files to load, e.g. data/billing/*.csv")
	} else if _, err := filepath.Match(st.Path, ""); err != nil {
		report(path+".path", "bad glob: "+err.Error())
	}
	for _, k := range []struct {
		set bool
		key string
	}{
		{st.Table != "", "table"}, {st.Query != "", "query"}, {st.Watermark != "", "watermark"},
		{st.Lookback.Given(), "lookback"}, {len(st.PrimaryKey) > 0, "primary_key"}, {st.NullWatermark != "", "null_watermark"},
	} {
		if k.set {
			report(path+"."+k.key, "not used by "+kind+" sources")
		}
	}
	if len(st.Columns) == 0 {
		report(path+".columns", "missing: declare the columns to load, each with name and type")
	}
	switch st.OnFileChange {
	case "", pipelines.FileChangeWarn, pipelines.FileChangeFail, pipelines.FileChangeReload:
	default:
		report(path+".on_file_change", fmt.Sprintf("%q is not a policy (expected warn, fail or reload)", st.OnFileChange))
	}
	pipelines.ValidateCommon(st, path, report)
}

// ColumnError is a problem with one declared column.
type ColumnError struct {
	Index    int
	Key, Msg string
}

// Error names the column's key.
func (e *ColumnError) Error() string { return fmt.Sprintf("columns[%d].%s: %s", e.Index, e.Key, e.Msg) }

// Parsers builds the field parsers of a stream's declared columns; their
// Col fields make the stream's schema. Problems are *ColumnError.
func Parsers(st pipelines.StreamConfig) ([]*textvalue.Parser, error) {
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
			return nil, &ColumnError{i, "name", "missing"}
		}
		if seen[c.Name] {
			return nil, &ColumnError{i, "name", fmt.Sprintf("column %q declared twice", c.Name)}
		}
		seen[c.Name] = true
		col, err := pipelines.ParseType(c.Type)
		if err != nil {
			return nil, &ColumnError{i, "type", err.Error()}
		}
		col.Name = c.Name
		p, err := textvalue.NewParser(col, c.Format, loc)
		if err != nil {
			return nil, &ColumnError{i, "format", err.Error()}
		}
		out = append(out, p)
	}
	return out, nil
}

// Schema is the schema the parsers make.
func Schema(ps []*textvalue.Parser) pipelines.Schema {
	s := make(pipelines.Schema, len(ps))
	for i, p := range ps {
		s[i] = p.Col
	}
	return s
}

// ValidateColumns reports the problems of a stream's declared columns.
func ValidateColumns(st pipelines.StreamConfig, path string, report func(path, msg string)) {
	if _, err := Parsers(st); err != nil {
		var ce *ColumnError
		if errors.As(err, &ce) {
			report(fmt.Sprintf("%s.columns[%d].%s", path, ce.Index, ce.Key), ce.Msg)
		}
	}
}
