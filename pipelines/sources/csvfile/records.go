package csvfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxRecordBytes bounds one record. A quote that is never closed would
// otherwise swallow the rest of the file as one field; past this size (or
// at the end of the file) the record's first line is reported as malformed
// and reading resumes on the next line, so one bad row never hides the
// good rows after it. A single line longer than this is reported without
// being held in memory whole.
const MaxRecordBytes = 4 << 20

// recordReader splits decoded text into CSV records (RFC 4180: quoted
// fields may hold delimiters, doubled quotes and line breaks). Records and
// fields are slices of its buffers, valid until the next call: a
// well-formed line is parsed without copying.
type recordReader struct {
	r       *bufio.Reader
	delim   byte
	quote   byte
	line    int64         // physical lines consumed so far
	pending []pendingLine // physical lines read ahead during recovery
	eof     bool
	fields  [][]byte
	unq     []byte // unescaped quoted fields
	rec     []byte // a record that spans lines
	long    []byte // a line longer than the read buffer
}

func newRecordReader(r io.Reader, delim, quote byte) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 1<<20), delim: delim, quote: quote}
}

type pendingLine struct {
	b       []byte // owned
	tooLong bool
}

// errTooLong marks a physical line longer than MaxRecordBytes.
var errTooLong = errors.New("line too long")

// physLine returns the next physical line including its line break. The
// slice is valid until the next call.
func (rr *recordReader) physLine() ([]byte, error) {
	if len(rr.pending) > 0 {
		l := rr.pending[0]
		rr.pending = rr.pending[1:]
		if l.tooLong {
			return l.b, errTooLong
		}
		return l.b, nil
	}
	if rr.eof {
		return nil, io.EOF
	}
	l, err := rr.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		rr.long = append(rr.long[:0], l...)
		for errors.Is(err, bufio.ErrBufferFull) {
			l, err = rr.r.ReadSlice('\n')
			if len(rr.long) <= MaxRecordBytes {
				rr.long = append(rr.long, l...)
			}
		}
		if len(rr.long) > MaxRecordBytes {
			if errors.Is(err, io.EOF) {
				rr.eof = true
			} else if err != nil {
				return nil, err
			}
			return rr.long[:MaxRecordBytes], errTooLong
		}
		l = rr.long
	}
	if errors.Is(err, io.EOF) {
		rr.eof = true
		if len(l) == 0 {
			return nil, io.EOF
		}
		return l, nil
	}
	return l, err
}

// errMalformed is a record-level problem; reading can go on.
type errMalformed struct{ msg string }

func (e *errMalformed) Error() string { return e.msg }

// next returns the next record's text, the line it starts on, and its
// fields. A malformed record gives a *errMalformed with the raw text; any
// other error is fatal.
func (rr *recordReader) next() (raw []byte, line int64, fields [][]byte, err error) {
	first, err := rr.physLine()
	if errors.Is(err, errTooLong) {
		rr.line++
		return first[:min(len(first), 4096)], rr.line, nil, &errMalformed{fmt.Sprintf("line is longer than %d MiB", MaxRecordBytes>>20)}
	}
	if err != nil {
		return nil, 0, nil, err
	}
	rr.line++
	line = rr.line
	if rr.delim == whitespace {
		raw = trimEOL(first)
		rr.fields = rr.fields[:0]
		for _, f := range bytes.Fields(raw) {
			rr.fields = append(rr.fields, f)
		}
		return raw, line, rr.fields, nil
	}
	if !rr.quoteOpen(first, false) {
		raw = trimEOL(first)
		fields, err = rr.split(raw)
		return raw, line, fields, err
	}
	// A quoted field goes on past the line: gather lines until it closes.
	rec := append(rr.rec[:0], first...)
	firstLen := len(first)
	var extra []pendingLine
	in := true
	for in {
		l, err := rr.physLine()
		if errors.Is(err, io.EOF) || errors.Is(err, errTooLong) || len(rec)+len(l) > MaxRecordBytes {
			if err == nil || errors.Is(err, errTooLong) {
				extra = append(extra, pendingLine{append([]byte(nil), l...), err != nil})
			}
			// Give back every line after the first and report the first.
			rr.pending = append(extra, rr.pending...)
			rr.rec = rec
			msg := "unbalanced quote: a quoted field is never closed"
			if !errors.Is(err, io.EOF) {
				msg = fmt.Sprintf("unbalanced quote: a quoted field is not closed within %d MiB", MaxRecordBytes>>20)
			}
			return trimEOL(rec[:firstLen]), line, nil, &errMalformed{msg}
		}
		if err != nil {
			return nil, 0, nil, err
		}
		extra = append(extra, pendingLine{b: append([]byte(nil), l...)})
		rec = append(rec, l...)
		in = rr.quoteOpen(l, true)
	}
	rr.rec = rec
	raw = trimEOL(rec)
	fields, err = rr.split(raw)
	if err != nil {
		// A record that spans lines only because a quote opened on its
		// first line and then fails to parse: the first line is the bad
		// one; the lines after it are read again as records of their own.
		rr.pending = append(extra, rr.pending...)
		return trimEOL(rec[:firstLen]), line, nil, &errMalformed{"unbalanced quote: a quoted field is never closed"}
	}
	rr.line += int64(len(extra))
	return raw, line, fields, nil
}

func trimEOL(s []byte) []byte {
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	if n := len(s); n > 0 && s[n-1] == '\r' {
		s = s[:n-1]
	}
	return s
}

// quoteOpen reports whether s ends inside a quoted field, given whether it
// starts inside one (a continuation line).
func (rr *recordReader) quoteOpen(s []byte, in bool) bool {
	q, delim := rr.quote, rr.delim
	if !in && bytes.IndexByte(s, q) < 0 {
		return false
	}
	atStart := !in
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in:
			if c == q {
				if i+1 < len(s) && s[i+1] == q {
					i++
				} else {
					in = false
				}
			}
		case c == q && atStart:
			in = true
		}
		atStart = !in && (c == delim || c == '\n')
	}
	return in
}

// split parses one record into fields.
func (rr *recordReader) split(s []byte) ([][]byte, error) {
	fields := rr.fields[:0]
	rr.unq = rr.unq[:0]
	q := rr.quote
	i := 0
	for {
		if i < len(s) && s[i] == q {
			j := i + 1
			start := len(rr.unq)
			escaped := false
			var plain []byte
			for {
				k := bytes.IndexByte(s[j:], q)
				if k < 0 {
					return nil, &errMalformed{fmt.Sprintf("unbalanced quote in field %d", len(fields)+1)}
				}
				if j+k+1 < len(s) && s[j+k+1] == q {
					// A doubled quote: unescape into rr.unq.
					if !escaped {
						escaped = true
					}
					rr.unq = append(rr.unq, s[j:j+k+1]...)
					j += k + 2
					continue
				}
				if escaped {
					rr.unq = append(rr.unq, s[j:j+k]...)
				} else {
					plain = s[j : j+k]
				}
				j += k + 1
				break
			}
			if escaped {
				fields = append(fields, rr.unq[start:len(rr.unq):len(rr.unq)])
			} else {
				fields = append(fields, plain)
			}
			if j == len(s) {
				break
			}
			if s[j] != rr.delim {
				return nil, &errMalformed{fmt.Sprintf("unexpected text after closing quote in field %d", len(fields))}
			}
			i = j + 1
			continue
		}
		k := bytes.IndexByte(s[i:], rr.delim)
		var f []byte
		if k < 0 {
			f = s[i:]
		} else {
			f = s[i : i+k]
		}
		if bytes.IndexByte(f, q) >= 0 {
			return nil, &errMalformed{fmt.Sprintf("bare quote in unquoted field %d", len(fields)+1)}
		}
		fields = append(fields, f)
		if k < 0 {
			break
		}
		i += k + 1
	}
	rr.fields = fields
	return fields, nil
}
