package spec

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"crmwh/project/strictyaml"
)

// Load reads every *.yaml (and *.yml) file in dir of fsys as one page,
// checks it, and returns the pages sorted by Order, then Name. All problems
// of all files are returned together as a strictyaml.Problems error, each
// naming the file, line and key.
func Load(fsys fs.FS, dir string) ([]Page, error) {
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := fs.Glob(fsys, path.Join(dir, pat))
		if err != nil {
			return nil, fmt.Errorf("listing dashboards in %s: %w", dir, err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)

	var (
		pages    []Page
		problems strictyaml.Problems
		byName   = map[string]string{} // page name -> file
	)
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("reading dashboard %s: %w", file, err)
		}
		p, doc := parse(file, data)
		if p.Name != "" && pageNameRE.MatchString(p.Name) {
			if other, ok := byName[p.Name]; ok {
				doc.Addf("name", "page name %q is also used by %s", p.Name, other)
			} else {
				byName[p.Name] = file
			}
		}
		problems = append(problems, doc.Problems...)
		pages = append(pages, p)
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(pages, func(i, j int) bool {
		if pages[i].Order != pages[j].Order {
			return pages[i].Order < pages[j].Order
		}
		return pages[i].Name < pages[j].Name
	})
	return pages, nil
}

// Parse checks one page file. It is Load for a single file, without the
// checks that span files (unique page names).
func Parse(file string, data []byte) (Page, error) {
	p, doc := parse(file, data)
	if err := doc.Problems.Err(); err != nil {
		return Page{}, err
	}
	return p, nil
}

func parse(file string, data []byte) (Page, *strictyaml.Doc) {
	var p Page
	doc := strictyaml.Decode(file, data, &p)
	p.File = file
	if len(doc.Problems) > 0 && !doc.Has("") {
		return p, doc // not YAML at all: nothing more to say
	}
	v := validator{doc: doc}
	v.page(&p)
	return p, doc
}

var (
	pageNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	chartNameRE = pageNameRE
)

// reservedPages are names whose file the renderer writes itself.
var reservedPages = []string{"index"}

type validator struct {
	doc *strictyaml.Doc
}

func (v validator) page(p *Page) {
	switch {
	case p.Name == "":
		v.doc.Addf("name", "missing (the page's name in file names: lower-case letters, digits, '_' or '-')")
	case !pageNameRE.MatchString(p.Name):
		v.doc.Addf("name", "invalid page name %q (use lower-case letters, digits, '_' or '-', starting with a letter)", p.Name)
	case slices.Contains(reservedPages, p.Name):
		v.doc.Addf("name", "page name %q is reserved (the renderer writes %s.html itself)", p.Name, p.Name)
	}
	v.text("title", p.Title, true)
	v.text("description", p.Description, false)
	if len(p.Sections) == 0 {
		v.doc.Addf("sections", "missing (a page needs at least one section with charts)")
	}
	seen := map[string]string{} // chart name -> path
	for i := range p.Sections {
		s := &p.Sections[i]
		sp := fmt.Sprintf("sections[%d]", i)
		v.text(sp+".title", s.Title, false)
		if len(s.Charts) == 0 {
			v.doc.Addf(sp+".charts", "missing (a section needs at least one chart)")
		}
		for j := range s.Charts {
			c := &s.Charts[j]
			cp := fmt.Sprintf("%s.charts[%d]", sp, j)
			c.File, c.Line, c.Path = p.File, v.doc.Line(cp), cp
			if c.Name != "" {
				if other, ok := seen[c.Name]; ok {
					v.doc.Addf(cp+".name", "duplicate chart name %q (also at line %d, %s)", c.Name, v.doc.Line(other+".name"), other)
				} else {
					seen[c.Name] = cp
				}
			}
			v.chart(cp, c)
		}
	}
}

func (v validator) chart(cp string, c *Chart) {
	switch {
	case c.Name == "":
		v.doc.Addf(cp+".name", "missing (the chart's name in ids and CSV file names: lower-case letters, digits, '_' or '-')")
	case !chartNameRE.MatchString(c.Name):
		v.doc.Addf(cp+".name", "invalid chart name %q (use lower-case letters, digits, '_' or '-', starting with a letter)", c.Name)
	}
	v.text(cp+".title", c.Title, true)
	v.text(cp+".note", c.Note, false)
	if strings.TrimSpace(c.Query) == "" {
		v.doc.Addf(cp+".query", "missing (the SQL that returns the chart's rows)")
	}
	if c.Width != "" && c.Width != Full && c.Width != Half {
		v.doc.Addf(cp+".width", "unknown width %q (expected one of: full, half)", c.Width)
	}
	switch {
	case c.Kind == "":
		v.doc.Addf(cp+".kind", "missing (one of: %s)", joinKinds(Kinds))
		return
	case !c.Kind.Known():
		v.doc.Addf(cp+".kind", "unknown chart kind %q (expected one of: %s)", c.Kind, joinKinds(Kinds))
		return
	case !c.Kind.Supported():
		v.doc.Addf(cp+".kind", "chart kind %q is not supported yet (supported now: %s)", c.Kind, joinKinds(SupportedKinds))
		return
	}
	v.axis(cp+".x", c.X)
	v.axis(cp+".y", c.Y)
	v.format(cp+".format", c.Format)
	for i, col := range c.Columns {
		p := fmt.Sprintf("%s.columns[%d]", cp, i)
		if col.Column == "" {
			v.doc.Addf(p+".column", "missing (a column of the query)")
		}
		v.text(p+".label", col.Label, false)
		v.format(p+".format", col.Format)
	}
	for i, s := range c.Series {
		p := fmt.Sprintf("%s.series[%d]", cp, i)
		if s.Column == "" {
			v.doc.Addf(p+".column", "missing (the query column with the series' values)")
		}
		v.text(p+".label", s.Label, true)
	}

	switch {
	case c.Kind.Cartesian():
		v.unused(cp, c.Kind, "format", "good", "columns")
		if c.X == nil || c.X.Column == "" {
			v.doc.Addf(cp+".x.column", "missing (the query column on the category axis)")
		}
		if c.Y != nil && c.Y.Column != "" {
			v.doc.Addf(cp+".y.column", "not used by kind %q (values come from series, or value with split_by)", c.Kind)
		}
		switch {
		case c.SplitBy != "":
			v.unused(cp, c.Kind, "series")
			if c.Value == "" {
				v.doc.Addf(cp+".value", "missing (with split_by, the query column with the values)")
			}
		case len(c.Series) == 0:
			v.doc.Addf(cp+".series", "missing (the value columns to draw; or split_by and value)")
		default:
			v.unused(cp, c.Kind, "value")
		}
	case c.Kind == KPI:
		v.unused(cp, c.Kind, "y", "series", "split_by", "columns")
		if c.Value == "" {
			v.doc.Addf(cp+".value", "missing (the query column whose last row is the KPI)")
		}
		if c.X != nil && c.X.Column == "" {
			v.doc.Addf(cp+".x.column", "missing (the query column naming each row's period)")
		}
		if c.Good != "" && c.Good != "up" && c.Good != "down" {
			v.doc.Addf(cp+".good", "unknown direction %q (expected one of: up, down)", c.Good)
		}
	case c.Kind == Table:
		v.unused(cp, c.Kind, "x", "y", "series", "split_by", "value", "format", "good")
	}
}

// unused reports keys that were written but mean nothing for the kind.
func (v validator) unused(cp string, k Kind, keys ...string) {
	for _, key := range keys {
		if v.doc.Has(cp + "." + key) {
			v.doc.Addf(cp+"."+key, "not used by kind %q (remove it)", k)
		}
	}
}

func (v validator) axis(p string, a *Axis) {
	if a == nil {
		return
	}
	v.text(p+".label", a.Label, false)
	v.format(p+".format", a.Format)
	if a.Min != nil && a.Max != nil && *a.Min >= *a.Max {
		v.doc.Addf(p+".max", "max (%g) must be greater than min (%g)", *a.Max, *a.Min)
	}
}

func (v validator) format(p string, f Format) {
	if !f.Known() {
		fs := make([]string, len(Formats))
		for i, f := range Formats {
			fs[i] = string(f)
		}
		v.doc.Addf(p, "unknown format %q (expected one of: %s)", f, strings.Join(fs, ", "))
	}
}

// text checks that a text has both languages; required says whether it
// may be left out altogether.
func (v validator) text(p string, t Text, required bool) {
	if t.IsZero() && !v.doc.Has(p) {
		if required {
			v.doc.Addf(p, "missing (give en and zh)")
		}
		return
	}
	if strings.TrimSpace(t.En) == "" {
		v.doc.Addf(p+".en", "missing English text")
	}
	if strings.TrimSpace(t.Zh) == "" {
		v.doc.Addf(p+".zh", "missing Simplified Chinese text")
	}
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
