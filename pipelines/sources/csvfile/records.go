package csvfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxRecordBytes bounds one record. A quote that is never closed would
// otherwise swallow the rest of the file as one field; past this size (or
// at the end of the file) the record's first line is reported as malformed
// and reading resumes on the next line, so one bad row never hides the
// good rows after it.
const MaxRecordBytes = 4 << 20

// recordReader splits decoded text into CSV records (RFC 4180: quoted
// fields may hold delimiters, doubled quotes and line breaks).
type recordReader struct {
	r       *bufio.Reader
	delim   byte
	line    int64    // physical lines consumed so far
	pending []string // physical lines read ahead during recovery
	eof     bool
	fields  []string
	sb      strings.Builder
}

func newRecordReader(r io.Reader, delim byte) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 1<<20), delim: delim}
}

// physLine returns the next physical line including its line break.
func (rr *recordReader) physLine() (string, error) {
	if len(rr.pending) > 0 {
		l := rr.pending[0]
		rr.pending = rr.pending[1:]
		return l, nil
	}
	if rr.eof {
		return "", io.EOF
	}
	l, err := rr.r.ReadString('\n')
	if errors.Is(err, io.EOF) {
		rr.eof = true
		if l == "" {
			return "", io.EOF
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
func (rr *recordReader) next() (raw string, line int64, fields []string, err error) {
	first, err := rr.physLine()
	if err != nil {
		return "", 0, nil, err
	}
	rr.line++
	line = rr.line
	rec := first
	var extra []string
	in := quoteOpen(first, false, rr.delim)
	for in {
		l, err := rr.physLine()
		if errors.Is(err, io.EOF) || len(rec)+len(l) > MaxRecordBytes {
			if err == nil {
				extra = append(extra, l)
			}
			// Give back every line after the first and report the first.
			rr.pending = append(extra[:len(extra):len(extra)], rr.pending...)
			return trimEOL(first), line, nil, &errMalformed{"unbalanced quote: a quoted field is never closed"}
		}
		if err != nil {
			return "", 0, nil, err
		}
		extra = append(extra, l)
		rec += l
		in = quoteOpen(l, true, rr.delim)
	}
	rec = trimEOL(rec)
	fields, err = rr.split(rec)
	if err != nil && len(extra) > 0 {
		// A record that spans lines only because a quote opened on its
		// first line and then fails to parse: the first line is the bad
		// one; the lines after it are read again as records of their own.
		rr.pending = append(extra[:len(extra):len(extra)], rr.pending...)
		return trimEOL(first), line, nil, &errMalformed{"unbalanced quote: a quoted field is never closed"}
	}
	rr.line += int64(len(extra))
	return rec, line, fields, err
}

func trimEOL(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

// quoteOpen reports whether s ends inside a quoted field, given whether it
// starts inside one (a continuation line).
func quoteOpen(s string, in bool, delim byte) bool {
	atStart := !in
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in:
			if c == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					i++
				} else {
					in = false
				}
			}
		case c == '"' && atStart:
			in = true
		}
		atStart = !in && (c == delim || c == '\n')
	}
	return in
}

// split parses one record into fields.
func (rr *recordReader) split(s string) ([]string, error) {
	fields := rr.fields[:0]
	i := 0
	for {
		if i < len(s) && s[i] == '"' {
			rr.sb.Reset()
			j := i + 1
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return nil, &errMalformed{fmt.Sprintf("unbalanced quote in field %d", len(fields)+1)}
				}
				rr.sb.WriteString(s[j : j+k])
				j += k + 1
				if j < len(s) && s[j] == '"' {
					rr.sb.WriteByte('"')
					j++
					continue
				}
				break
			}
			fields = append(fields, rr.sb.String())
			if j == len(s) {
				break
			}
			if s[j] != rr.delim {
				return nil, &errMalformed{fmt.Sprintf("unexpected text after closing quote in field %d", len(fields))}
			}
			i = j + 1
			continue
		}
		k := strings.IndexByte(s[i:], rr.delim)
		var f string
		if k < 0 {
			f = s[i:]
		} else {
			f = s[i : i+k]
		}
		if strings.IndexByte(f, '"') >= 0 {
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
