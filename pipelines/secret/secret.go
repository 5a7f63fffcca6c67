// Package secret keeps the process's secrets (the values that DSNs and
// tokens drew from the environment, and passwords written in DSNs) and
// masks them in any text on its way out: errors, logs, the run history,
// manifests, notifications.
//
// A secret can reach output in another form than it was given: a driver
// quotes it back URL-encoded, an error prints it with %q, a JSON encoder
// escapes its quotes and ampersands, a connection-string parser that cut
// it at an '@' or a '#' prints a piece of it. Mask replaces each of these
// forms (see Forms) with "***". Values shorter than MinLen are not
// registered: masking every "db" would make output unreadable and hide
// nothing.
package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Masked is what a secret is replaced with.
const Masked = "***"

// MinLen is the length below which a value is not treated as a secret.
const MinLen = 3

// minFragment is the shortest piece of a secret that is masked on its own
// (shorter pieces, and pieces of digits only, are too common in other
// text: a year, a word).
const minFragment = 5

// delimiters are where connection-string parsers cut a value (URL and
// key=value syntax, quoting), so where a printed fragment starts or ends.
const delimiters = "@/#:?&=%;, '\"\\\t"

var reg struct {
	mu sync.RWMutex
	// values maps each secret to whether its fragments are masked too.
	values map[string]bool
	r      *strings.Replacer
}

// Add registers values as secrets that stand for one field (a password, a
// user name): they are masked in every form Forms lists, fragments
// included. Empty and short values are ignored.
func Add(values ...string) { add(true, values) }

// AddWhole registers values that are whole connection strings or URLs (a
// DSN or a webhook URL from the environment): they are masked whole and in
// every encoding, but not piece by piece, which would mask "postgres" or
// "https" everywhere. The password inside a DSN is registered with Add
// once the DSN is parsed.
func AddWhole(values ...string) { add(false, values) }

func add(withFragments bool, values []string) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	changed := false
	for _, v := range values {
		if had, ok := reg.values[v]; len(v) < MinLen || (ok && (had || !withFragments)) {
			continue
		}
		if reg.values == nil {
			reg.values = map[string]bool{}
		}
		reg.values[v] = withFragments
		changed = true
	}
	if !changed {
		return
	}
	forms := map[string]bool{}
	for v, frag := range reg.values {
		for _, f := range encodings(v) {
			forms[f] = true
		}
		if frag {
			for _, f := range fragments(v) {
				forms[f] = true
			}
		}
	}
	list := make([]string, 0, len(forms))
	for f := range forms {
		list = append(list, f)
	}
	// Longest first: the replacer tries its pairs in order at each
	// position, so a whole value wins over a fragment of it.
	sort.Slice(list, func(i, j int) bool {
		if len(list[i]) != len(list[j]) {
			return len(list[i]) > len(list[j])
		}
		return list[i] < list[j]
	})
	pairs := make([]string, 0, 2*len(list))
	for _, f := range list {
		pairs = append(pairs, f, Masked)
	}
	reg.r = strings.NewReplacer(pairs...)
}

// Forms lists the texts that reveal a secret registered with Add: v
// itself; its URL encodings (query, path and user-info escaping, upper-
// and lower-case hex); v escaped as Go's %q, JSON (with and without HTML
// escaping, and escaped twice), a libpq quoted value and an SQL string
// literal; and every piece of v between two of its delimiter characters
// (@ / # : ? & = % ; , quotes, backslash, space) at least five characters
// long and not all digits, as a parser that cut v there would print it.
func Forms(v string) []string {
	if len(v) < MinLen {
		return nil
	}
	return append(encodings(v), fragments(v)...)
}

// encodings are v and its escaped forms, sorted.
func encodings(v string) []string {
	set := map[string]bool{v: true}
	add := func(s string) {
		if len(s) >= MinLen {
			set[s] = true
		}
	}
	for _, e := range []string{url.QueryEscape(v), url.PathEscape(v), strings.TrimPrefix(url.UserPassword("", v).String(), ":")} {
		add(e)
		add(lowerHex(e))
	}
	add(unquote(strconv.Quote(v)))
	add(unquote(strconv.QuoteToASCII(v)))
	b, _ := json.Marshal(v)
	add(unquote(string(b)))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	add(unquote(strings.TrimSpace(buf.String())))
	add(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v))
	add(strings.ReplaceAll(v, `'`, `''`))
	// Each form escaped once more: a JSON document holding an error
	// message that quoted the secret.
	once := make([]string, 0, len(set))
	for f := range set {
		once = append(once, f)
	}
	for _, f := range once {
		b, _ := json.Marshal(f)
		add(unquote(string(b)))
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// fragments are the pieces of v that start at its beginning or after a
// delimiter and end at its end or before a delimiter, trimmed of
// delimiters, at least minFragment long.
func fragments(v string) []string {
	starts := []int{0}
	ends := []int{}
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(delimiters, v[i]) >= 0 {
			starts = append(starts, i+1)
			ends = append(ends, i)
		}
	}
	ends = append(ends, len(v))
	var out []string
	for _, s := range starts {
		for _, e := range ends {
			if e-s < minFragment {
				continue
			}
			f := strings.Trim(v[s:e], delimiters)
			if len(f) >= minFragment && f != v && strings.Trim(f, "0123456789") != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// lowerHex writes the %XX escapes of s in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			for j := i + 1; j <= i+2; j++ {
				if b[j] >= 'A' && b[j] <= 'F' {
					b[j] += 'a' - 'A'
				}
			}
		}
	}
	return string(b)
}

// Mask replaces every registered secret, in every form, with "***".
func Mask(s string) string {
	reg.mu.RLock()
	r := reg.r
	reg.mu.RUnlock()
	if r == nil || s == "" {
		return s
	}
	return r.Replace(s)
}

// Error returns err with its text masked; errors.Is and errors.As still
// see the original error. A nil error stays nil, and an error with nothing
// to mask is returned as it is.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := Mask(err.Error())
	if msg == err.Error() {
		return err
	}
	return &maskedError{msg: msg, err: err}
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// Is lets errors.Is look through a masked error even when the wrapped
// error's own Is would not (kept for clarity; Unwrap does the work).
func (e *maskedError) Is(target error) bool { return errors.Is(e.err, target) }

// Handler wraps a slog handler so that the message and every attribute
// (strings, errors, anything printed with String) are masked.
func Handler(h slog.Handler) slog.Handler { return &handler{h} }

type handler struct{ h slog.Handler }

func (m *handler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return m.h.Handle(ctx, out)
}

func (m *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return &handler{m.h.WithAttrs(masked)}
}

func (m *handler) WithGroup(name string) slog.Handler { return &handler{m.h.WithGroup(name)} }

func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Mask(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = maskAttr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, Mask(x.Error()))
		case interface{ String() string }:
			return slog.String(a.Key, Mask(x.String()))
		case []string:
			out := make([]string, len(x))
			for i, s := range x {
				out[i] = Mask(s)
			}
			return slog.Any(a.Key, out)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
