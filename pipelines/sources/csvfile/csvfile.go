// Package csvfile is the "csv" source kind: files dropped in a folder,
// matched by a glob, each loaded exactly once. Columns are declared in
// crmwh.yaml with their types and, where the file's header differs, their
// header; text in UTF-8 (with or without BOM), GB18030, GBK or any other
// WHATWG encoding label is decoded to UTF-8; the delimiter and quote
// character are configurable. Rows that fail to parse go to quarantine
// with file, line and reason.
package csvfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/unicode"

	"crmwh/pipelines"
	"crmwh/pipelines/sources/files"
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
		files.ValidateCommon(st, p, "csv", report)
		if st.Encoding != "" {
			if _, err := lookupEncoding(st.Encoding); err != nil {
				report(p+".encoding", err.Error())
			}
		}
		if _, err := separator(st.Delimiter, ","); err != nil {
			report(p+".delimiter", err.Error())
		}
		if q, err := separator(st.Quote, `"`); err != nil {
			report(p+".quote", err.Error())
		} else if d, _ := separator(st.Delimiter, ","); d == whitespace && st.Quote != "" {
			report(p+".quote", "not used with delimiter: whitespace (fields are never quoted)")
		} else if q == d {
			report(p+".quote", "must differ from the delimiter")
		}
		for j, c := range st.Columns {
			if c.Field != "" {
				report(fmt.Sprintf("%s.columns[%d].field", p, j), "not used by csv sources (the header key is header)")
			}
		}
		files.ValidateColumns(st, p, report)
	}
}

// whitespace is the delimiter setting "whitespace": fields separated by
// runs of spaces and tabs, blanks at the ends of a line ignored, no quoting
// (fixed-width-looking exports such as the CDNOW purchase log).
const whitespace = 0

// separator reads a delimiter or quote setting: one ASCII character, or
// "tab", or (a delimiter only) "whitespace".
func separator(s, def string) (byte, error) {
	switch s {
	case "":
		s = def
	case "tab", `\t`:
		s = "\t"
	case "whitespace":
		if def == "," {
			return whitespace, nil
		}
	}
	if len(s) != 1 || s[0] >= utf8.RuneSelf || s[0] == '\n' || s[0] == '\r' {
		return 0, fmt.Errorf("must be a single ASCII character (or tab), not a line break")
	}
	return s[0], nil
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

// Extract implements pipelines.Source: every matching file not yet loaded
// is read, in name order, in batches that commit together.
func (s *Source) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) error {
	ps, err := files.Parsers(st)
	if err != nil {
		return err
	}
	enc, err := lookupEncoding(st.Encoding)
	if err != nil {
		return err
	}
	delim, err := separator(st.Delimiter, ",")
	if err != nil {
		return fmt.Errorf("delimiter: %w", err)
	}
	quote, err := separator(st.Quote, `"`)
	if err != nil {
		return fmt.Errorf("quote: %w", err)
	}
	l := &loader{st: st, ps: ps, enc: enc, delim: delim, quote: quote, sink: sink, batch: pipelines.NewBatch(files.Schema(ps))}
	return files.Extract(ctx, s.env, st, state, sink, files.Schema(ps), l.load)
}

type loader struct {
	st           pipelines.StreamConfig
	ps           []*textvalue.Parser
	enc          encoding.Encoding
	delim, quote byte
	sink         pipelines.Sink
	batch        *pipelines.Batch
}

// load reads one file into the unit.
func (l *loader) load(ctx context.Context, r io.Reader, rec *pipelines.SourceFile, u pipelines.Unit) error {
	key := rec.Path
	isUTF8 := l.enc == unicode.UTF8
	text := r
	if !isUTF8 {
		text = l.enc.NewDecoder().Reader(r)
	}
	rr := newRecordReader(text, l.delim, l.quote)

	// Header.
	raw, _, header, err := rr.next()
	var colIdx []int
	nHeader := 0
	switch {
	case errors.Is(err, io.EOF):
		l.sink.Report("empty_file", key+" is empty (no header); recorded as loaded with 0 rows")
	case err != nil:
		var m *errMalformed
		if errors.As(err, &m) {
			return &files.FileError{File: key, Msg: "line 1: header is malformed: " + m.msg}
		}
		return fmt.Errorf("reading %s: %w", key, err)
	default:
		if !isUTF8 && bytes.ContainsRune(raw, utf8.RuneError) {
			return &files.FileError{File: key, Msg: "line 1: header has bytes that are not valid " + l.st.Encoding}
		}
		if isUTF8 && !utf8.Valid(raw) {
			return &files.FileError{File: key, Msg: "line 1: header is not valid UTF-8 (set the stream's encoding, e.g. gb18030)"}
		}
		nHeader = len(header)
		colIdx, err = mapHeader(l.st, header)
		if err != nil {
			return &files.FileError{File: key, Msg: "line 1: " + err.Error()}
		}
	}

	b := l.batch
	b.Reset()
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		err := u.WriteBatch(b)
		b.Reset()
		return err
	}
	quarantine := func(line int64, raw []byte, reason string) error {
		rec.Bad++
		return u.Quarantine(pipelines.BadRow{Origin: key, Line: line, Reason: reason, Raw: string(raw)})
	}
	required := make([]bool, len(l.ps))
	for i, c := range l.st.Columns {
		required[i] = c.Required
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
					return err
				}
				continue
			}
			return fmt.Errorf("reading %s: %w", key, err)
		}
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // blank line
		}
		if isUTF8 {
			if !utf8.Valid(raw) {
				if err := quarantine(line, raw, "not valid UTF-8 (is the file in another encoding? set the stream's encoding)"); err != nil {
					return err
				}
				continue
			}
		} else if bytes.ContainsRune(raw, utf8.RuneError) {
			if err := quarantine(line, raw, "bytes that are not valid "+l.st.Encoding); err != nil {
				return err
			}
			continue
		}
		if len(fields) != nHeader {
			if err := quarantine(line, raw, fmt.Sprintf("expected %d fields, found %d", nHeader, len(fields))); err != nil {
				return err
			}
			continue
		}
		n := b.Len()
		var reason string
		for i, p := range l.ps {
			v := &b.Cols[i]
			if err := p.Append(v, fields[colIdx[i]]); err != nil {
				reason = fmt.Sprintf("column %s: %v", p.Col.Name, err)
				break
			}
			if required[i] && v.Null[len(v.Null)-1] {
				reason = fmt.Sprintf("column %s: value is missing", p.Col.Name)
				break
			}
		}
		if reason != "" {
			b.Truncate(n)
			if err := quarantine(line, raw, reason); err != nil {
				return err
			}
			continue
		}
		b.EndRow()
		rec.Rows++
		if b.Len() == batchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// mapHeader finds each declared column in the header: by its header key,
// else its name; exact match first, then ignoring case.
func mapHeader(st pipelines.StreamConfig, header [][]byte) ([]int, error) {
	clean := make([]string, len(header))
	for i, h := range header {
		clean[i] = strings.TrimSpace(strings.TrimPrefix(string(h), "\ufeff"))
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
		hint := ""
		if len(clean) == 1 {
			for _, d := range []string{";", "\t", "|"} {
				if strings.Contains(clean[0], d) {
					hint = fmt.Sprintf("; is the delimiter %q? set the stream's delimiter", d)
					break
				}
			}
		}
		return nil, fmt.Errorf("header lacks declared column(s) %s (header is: %s)%s", strings.Join(missing, ", "), strings.Join(clean, ","), hint)
	}
	return idx, nil
}
