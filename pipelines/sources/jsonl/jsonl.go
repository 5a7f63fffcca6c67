// Package jsonl is the "jsonl" source kind: JSON Lines files (one JSON
// object per line, UTF-8) matched by a glob, each loaded exactly once like
// CSV files. The stream declares its columns; each takes the object's field
// of its name, or the field its `field` key names (a dotted path such as
// customer.id reaches into nested objects). Fields not declared are
// ignored; a declared field that is missing or null is NULL.
//
// Values convert by the column's type: JSON strings through the same
// parsers as CSV fields (so formats such as 2024年3月5日 and 1,234.50
// apply), numbers exactly from their digits, true/false for bool columns,
// and any JSON value as its text for json columns. A line that is not a
// JSON object, or a value that does not fit its column, goes to
// quarantine with file, line and reason.
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"crmwh/pipelines"
	"crmwh/pipelines/sources/files"
	"crmwh/pipelines/textvalue"
)

func init() {
	pipelines.Register("jsonl", pipelines.Kind{New: New, Validate: Validate})
}

// MaxLineBytes bounds one line; a longer line is quarantined without being
// held in memory whole.
const MaxLineBytes = 4 << 20

// Source reads JSON Lines streams.
type Source struct {
	cfg pipelines.SourceConfig
	env pipelines.Env
}

// New opens a jsonl source.
func New(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
	return &Source{cfg: cfg, env: env}, nil
}

// Close implements pipelines.Source.
func (s *Source) Close() error { return nil }

// Validate checks a jsonl source's config.
func Validate(cfg pipelines.SourceConfig, report func(path, msg string)) {
	if cfg.DSN != "" {
		report("dsn", "a jsonl source reads files; dsn is for SQL sources")
	}
	for i, st := range cfg.Streams {
		p := fmt.Sprintf("streams[%d]", i)
		files.ValidateCommon(st, p, "jsonl", report)
		switch strings.ToLower(st.Encoding) {
		case "", "utf-8", "utf8":
		default:
			report(p+".encoding", "JSON Lines files are UTF-8; leave encoding out")
		}
		if st.Delimiter != "" {
			report(p+".delimiter", "not used by jsonl sources")
		}
		if st.Quote != "" {
			report(p+".quote", "not used by jsonl sources")
		}
		for j, c := range st.Columns {
			if c.Header != "" {
				report(fmt.Sprintf("%s.columns[%d].header", p, j), "not used by jsonl sources (the field's key is field)")
			}
		}
		files.ValidateColumns(st, p, report)
	}
}

// Extract implements pipelines.Source.
func (s *Source) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) error {
	ps, err := files.Parsers(st)
	if err != nil {
		return err
	}
	l := &loader{st: st, ps: ps, batch: pipelines.NewBatch(files.Schema(ps))}
	for _, c := range st.Columns {
		f := c.Field
		if f == "" {
			f = c.Name
		}
		l.paths = append(l.paths, strings.Split(f, "."))
		l.required = append(l.required, c.Required)
	}
	return files.Extract(ctx, s.env, st, state, sink, files.Schema(ps), l.load)
}

type loader struct {
	st       pipelines.StreamConfig
	ps       []*textvalue.Parser
	paths    [][]string
	required []bool
	batch    *pipelines.Batch
}

func (l *loader) load(ctx context.Context, r io.Reader, rec *pipelines.SourceFile, u pipelines.Unit) error {
	key := rec.Path
	br := bufio.NewReaderSize(r, 1<<20)
	b := l.batch
	b.Reset()
	quarantine := func(line int64, raw []byte, reason string) error {
		rec.Bad++
		return u.Quarantine(pipelines.BadRow{Origin: key, Line: line, Reason: reason, Raw: string(raw[:min(len(raw), 4096)])})
	}
	var long []byte
	for line := int64(1); ; line++ {
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		raw, err := br.ReadSlice('\n')
		tooLong := false
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = br.ReadSlice('\n')
				if len(long) <= MaxLineBytes {
					long = append(long, raw...)
				}
			}
			tooLong = len(long) > MaxLineBytes
			raw = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", key, err)
		}
		eof := errors.Is(err, io.EOF)
		if line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
		}
		text := bytes.TrimSpace(raw)
		switch {
		case tooLong:
			if err := quarantine(line, text, fmt.Sprintf("line is longer than %d MiB", MaxLineBytes>>20)); err != nil {
				return err
			}
		case len(text) == 0:
		case !utf8.Valid(text):
			if err := quarantine(line, text, "not valid UTF-8 (JSON Lines files must be UTF-8)"); err != nil {
				return err
			}
		default:
			reason := l.row(text, b)
			if reason != "" {
				if err := quarantine(line, text, reason); err != nil {
					return err
				}
				break
			}
			rec.Rows++
			if b.Len() >= 8192 {
				if err := u.WriteBatch(b); err != nil {
					return err
				}
				b.Reset()
			}
		}
		if eof {
			break
		}
	}
	if b.Len() > 0 {
		return u.WriteBatch(b)
	}
	return nil
}

// row appends one line's row to b, or says why it cannot.
func (l *loader) row(text []byte, b *pipelines.Batch) string {
	var obj map[string]json.RawMessage
	if text[0] != '{' {
		return "not a JSON object"
	}
	if err := json.Unmarshal(text, &obj); err != nil {
		return "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	n := b.Len()
	for i, p := range l.ps {
		raw, err := lookup(obj, l.paths[i])
		if err == nil {
			err = l.value(p, &b.Cols[i], raw)
		}
		if err == nil && l.required[i] && b.Cols[i].Null[len(b.Cols[i].Null)-1] {
			err = textvalue.ErrEmpty
		}
		if err != nil {
			b.Truncate(n)
			return fmt.Sprintf("column %s: %v", p.Col.Name, err)
		}
	}
	b.EndRow()
	return ""
}

// lookup follows a dotted path; a missing field is nil.
func lookup(obj map[string]json.RawMessage, path []string) (json.RawMessage, error) {
	raw, ok := obj[path[0]]
	if !ok {
		return nil, nil
	}
	for _, k := range path[1:] {
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return nil, nil
		}
		var sub map[string]json.RawMessage
		if err := json.Unmarshal(raw, &sub); err != nil {
			return nil, fmt.Errorf("field %s is not an object", strings.Join(path, "."))
		}
		if raw, ok = sub[k]; !ok {
			return nil, nil
		}
	}
	return raw, nil
}

// value converts one JSON value for the column.
func (l *loader) value(p *textvalue.Parser, v *pipelines.Vector, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		v.AppendNull()
		return nil
	}
	if p.Col.Type == pipelines.TypeJSON {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		v.AppendBytes(buf.Bytes())
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if p.Col.Type != pipelines.TypeString && strings.TrimSpace(s) == "" {
			v.AppendNull()
			return nil
		}
		return p.Append(v, []byte(s))
	case '{', '[':
		if p.Col.Type == pipelines.TypeString {
			v.AppendBytes(raw)
			return nil
		}
		kind := "an object"
		if raw[0] == '[' {
			kind = "an array"
		}
		return fmt.Errorf("%s is %s, not a %s", shorten(raw), kind, p.Col.TypeString())
	case 't', 'f':
		if p.Col.Type != pipelines.TypeBool && p.Col.Type != pipelines.TypeString {
			return fmt.Errorf("%s is a boolean, not a %s", raw, p.Col.TypeString())
		}
		return p.Append(v, raw)
	default: // a number
		switch p.Col.Type {
		case pipelines.TypeInt64, pipelines.TypeFloat64, pipelines.TypeDecimal, pipelines.TypeString:
			return p.Append(v, raw)
		}
		return fmt.Errorf("%s is a number, not a %s", raw, p.Col.TypeString())
	}
}

func shorten(b []byte) string {
	s := string(b)
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
