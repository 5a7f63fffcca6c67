// Package strictyaml decodes user-written YAML files strictly: unknown keys are
// errors, every problem is reported with its file, line and key path, and all
// problems are collected instead of stopping at the first.
package strictyaml

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a file, at a place in it.
type Problem struct {
	File string
	Line int
	Path string // key path such as sources[0].streams[1].name; empty for the whole file
	Msg  string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is a list of problems; it is an error when not empty.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
	return ps
}

// Doc is a decoded file: the positions of its keys, for validation messages
// that span fields, and the problems found so far.
type Doc struct {
	File     string
	lines    map[string]int
	Problems Problems
	// Syntax is set when the file is not YAML at all: nothing was decoded,
	// and the syntax error is the only problem worth reporting.
	Syntax bool
}

// Line returns the line of the key path, or of its nearest parent that has one.
func (d *Doc) Line(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.lines[""]
		}
		path = path[:i]
	}
}

// Addf records a problem at a key path.
func (d *Doc) Addf(path, format string, args ...any) {
	d.Problems = append(d.Problems, Problem{File: d.File, Line: d.Line(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// ValidateAfterDecode runs validate, which adds problems about values, and
// drops those on lines that already have a decoding problem: a value that
// could not be decoded is left at its zero value, and saying so twice would
// only confuse. It also gives decoding problems without a key path the path
// of the key on their line. A file with a syntax error is not validated:
// every value would be missing, and the syntax error is reported alone.
func (d *Doc) ValidateAfterDecode(validate func()) {
	if d.Syntax {
		return
	}
	decoded := len(d.Problems)
	badLines := map[int]bool{}
	for i, p := range d.Problems {
		badLines[p.Line] = true
		if p.Path == "" && p.Line > 0 {
			d.Problems[i].Path = d.pathAt(p.Line)
		}
	}
	validate()
	kept := d.Problems[:decoded]
	for _, p := range d.Problems[decoded:] {
		if !badLines[p.Line] {
			kept = append(kept, p)
		}
	}
	d.Problems = kept
}

// pathAt returns the longest key path that starts on line.
func (d *Doc) pathAt(line int) string {
	best := ""
	for p, l := range d.lines {
		if l == line && len(p) > len(best) {
			best = p
		}
	}
	return best
}

// Has reports whether the key path was written in the file (as opposed to
// being left to its default).
func (d *Doc) Has(path string) bool {
	_, ok := d.lines[path]
	return ok
}

// Decode decodes data into out (a pointer to a struct whose fields carry yaml
// tags). Unknown keys, duplicate keys and type mismatches become problems in
// the returned Doc; out holds whatever could be decoded.
func Decode(file string, data []byte, out any) *Doc {
	d := &Doc{File: file, lines: map[string]int{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.Problems = append(d.Problems, yamlProblem(file, err)...)
		d.Syntax = true
		return d
	}
	if root.Kind == 0 { // empty file
		d.Addf("", "file is empty")
		return d
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		doc = doc.Content[0]
	}
	d.lines[""] = doc.Line
	d.walk(doc, reflect.TypeOf(out).Elem(), "")
	if err := doc.Decode(out); err != nil {
		d.Problems = append(d.Problems, yamlProblem(file, err)...)
	}
	return d
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// walk checks node against type t, recording key lines and unknown keys.
func (d *Doc) walk(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // the type decodes itself and reports its own errors
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag == "!!null" {
				return
			}
			d.Problems = append(d.Problems, Problem{File: d.File, Line: n.Line, Path: path, Msg: "expected a mapping of keys"})
			return
		}
		fields := structFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			d.lines[p] = k.Line
			if seen[k.Value] {
				d.Problems = append(d.Problems, Problem{File: d.File, Line: k.Line, Path: p, Msg: "key given twice"})
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				d.Problems = append(d.Problems, Problem{File: d.File, Line: k.Line, Path: p,
					Msg: fmt.Sprintf("unknown key %q (expected one of: %s)", k.Value, strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			d.walk(v, ft, p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return // scalar type errors come from the decoder
		}
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			d.lines[p] = c.Line
			d.walk(c, t.Elem(), p)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			d.lines[p] = k.Line
			d.walk(v, t.Elem(), p)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var lineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlProblem turns yaml.v3's errors ("yaml: line 3: ...", or a TypeError
// with one line per problem) into problems with file and line.
func yamlProblem(file string, err error) Problems {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out Problems
	for _, m := range msgs {
		p := Problem{File: file, Msg: strings.TrimPrefix(m, "yaml: ")}
		if sm := lineRE.FindStringSubmatch(m); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			p.Msg = sm[2]
		}
		out = append(out, p)
	}
	return out
}
