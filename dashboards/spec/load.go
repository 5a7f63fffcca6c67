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
	"crmwh/warehouse/contract"
)

// Load reads every *.yaml (and *.yml) file in dir of fsys as one page,
// checks it, and returns the pages sorted by Order, then Name. metrics.yaml
// and targets.yaml are not pages: they define the KPIs pages name, and the
// project's targets, which Load attaches to the charts that use them. All
// problems of all files are returned together as a strictyaml.Problems
// error, each naming the file, line and key; the pages of the files without
// problems are returned with it, so that a caller can still render them.
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
	cat, problems, err := loadCatalog(fsys, dir)
	if err != nil {
		return nil, err
	}

	var (
		pages  []Page
		byName = map[string]string{} // page name -> file
	)
	for _, file := range files {
		if base := path.Base(file); base == MetricsFile || base == TargetsFile {
			continue
		}
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("reading dashboard %s: %w", file, err)
		}
		p, doc := parse(file, data)
		if len(doc.Problems) == 0 || !doc.Syntax {
			resolveMetrics(&p, doc, cat)
		}
		if p.Name != "" && pageNameRE.MatchString(p.Name) {
			if other, ok := byName[p.Name]; ok {
				doc.Addf("name", "page name %q is also used by %s", p.Name, other)
			} else {
				byName[p.Name] = file
			}
		}
		if len(doc.Problems) > 0 {
			problems = append(problems, doc.Problems...)
			continue
		}
		pages = append(pages, p)
	}
	sort.SliceStable(pages, func(i, j int) bool {
		if pages[i].Order != pages[j].Order {
			return pages[i].Order < pages[j].Order
		}
		return pages[i].Name < pages[j].Name
	})
	// Links lead to pages that exist.
	for _, p := range pages {
		for _, l := range p.links() {
			if _, ok := byName[l.link.Page]; !ok {
				problems = append(problems, strictyaml.Problem{File: p.File, Line: l.line, Path: l.path + ".page",
					Msg: fmt.Sprintf("no page named %q", l.link.Page)})
			}
		}
	}
	return pages, problems.Err()
}

type placedLink struct {
	link Link
	path string
	line int
}

func (p Page) links() []placedLink {
	var out []placedLink
	for _, s := range p.Sections {
		for _, c := range s.Charts {
			if c.Link != nil {
				out = append(out, placedLink{*c.Link, c.Path + ".link", c.Line})
			}
			for i, col := range c.Columns {
				if col.Link != nil {
					out = append(out, placedLink{*col.Link, fmt.Sprintf("%s.columns[%d].link", c.Path, i), c.Line})
				}
			}
		}
	}
	return out
}

// Parse checks one page file. It is Load for a single file, without the
// checks that span files (unique page names).
func Parse(file string, data []byte) (Page, error) {
	p, doc := parse(file, data)
	resolveMetrics(&p, doc, &Catalog{Metrics: map[string]*Metric{}})
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
	doc.ValidateAfterDecode(func() { v.page(&p) })
	return p, doc
}

var (
	pageNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	chartNameRE = pageNameRE
	colorRE     = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
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
	for _, col := range sortedKeys(p.Labels) {
		for _, val := range sortedKeys(p.Labels[col]) {
			v.text("labels."+col+"."+val, p.Labels[col][val], true)
		}
	}
	v.requires("requires", p.Requires)
	for i, f := range p.Filters {
		if !slices.Contains(Filters, f) {
			v.doc.Addf(fmt.Sprintf("filters[%d]", i), "unknown filter %q (expected one of: %s)", f, strings.Join(Filters, ", "))
		}
	}
	for _, col := range sortedKeys(p.Colors) {
		for _, val := range sortedKeys(p.Colors[col]) {
			if !colorRE.MatchString(p.Colors[col][val]) {
				v.doc.Addf("colors."+col+"."+val, "invalid colour %q (expected #rrggbb)", p.Colors[col][val])
			}
		}
	}
	if len(p.Sections) == 0 {
		v.doc.Addf("sections", "missing (a page needs at least one section with charts)")
	}
	seen := map[string]string{} // chart name -> path
	for i := range p.Sections {
		s := &p.Sections[i]
		sp := fmt.Sprintf("sections[%d]", i)
		s.File, s.Line, s.Path = p.File, v.doc.Line(sp), sp
		v.text(sp+".title", s.Title, false)
		v.requires(sp+".requires", s.Requires)
		if v.doc.Has(sp+".when") && strings.TrimSpace(s.When) == "" {
			v.doc.Addf(sp+".when", "empty (a SQL query whose first value says whether to show the section)")
		}
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
			v.requires(cp+".requires", c.Requires)
			v.chart(cp, c)
		}
	}
}

// requires checks that every name is an entity of the data contract.
func (v validator) requires(p string, names []string) {
	for i, n := range names {
		if _, err := contract.Lookup(n); err != nil {
			v.doc.Addf(fmt.Sprintf("%s[%d]", p, i), "%v", err)
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
	v.text(cp+".title", c.Title, c.Metric == "")
	v.text(cp+".note", c.Note, false)
	if c.Link != nil {
		v.link(cp+".link", *c.Link)
		if c.Kind != Pie && c.Kind != Treemap && c.Kind != Bar && c.Kind != Funnel {
			v.doc.Addf(cp+".link", "not used by kind %q (pie, treemap, funnel and bar charts link)", c.Kind)
		}
	}
	if c.Metric != "" || len(c.Metrics) > 0 {
		v.metricChart(cp, c)
		return
	}
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
	}
	v.axis(cp+".x", c.X)
	v.axis(cp+".y", c.Y)
	v.format(cp+".format", c.Format)
	for i, col := range c.Columns {
		p := fmt.Sprintf("%s.columns[%d]", cp, i)
		if col.Column.IsZero() {
			v.doc.Addf(p+".column", "missing (a column of the query)")
		}
		v.text(p+".label", col.Label, false)
		v.format(p+".format", col.Format)
		if col.Link != nil {
			v.link(p+".link", *col.Link)
		}
	}
	for i, s := range c.Series {
		p := fmt.Sprintf("%s.series[%d]", cp, i)
		if s.Column.IsZero() {
			v.doc.Addf(p+".column", "missing (the query column with the series' values)")
		}
		v.text(p+".label", s.Label, true)
	}
	for i, m := range c.Marks {
		p := fmt.Sprintf("%s.marks[%d]", cp, i)
		if (m.X == "") == (m.Y == nil) {
			v.doc.Addf(p, "give either x (a vertical line at that x value) or y (a horizontal line at that value)")
		}
		v.text(p+".label", m.Label, false)
	}

	if !c.Dashed.IsZero() && (c.Kind != Line || c.SplitBy.IsZero()) {
		v.doc.Addf(cp+".dashed", "only for line charts with split_by (the boolean column marking the series drawn dashed)")
	}
	switch k := c.Kind; {
	case k.Cartesian():
		v.unused(cp, k, "format", "good", "columns", "names")
		if k != Bar && k != StackedBar {
			v.unused(cp, k, "horizontal")
		}
		v.needColumn(cp+".x", c.X, "the query column on the category axis")
		v.noColumn(cp+".y", c.Y, k, "values come from series, or value with split_by")
		switch {
		case !c.SplitBy.IsZero():
			v.unused(cp, k, "series")
			if c.Value.IsZero() {
				v.doc.Addf(cp+".value", "missing (with split_by, the query column with the values)")
			}
		case len(c.Series) == 0:
			v.doc.Addf(cp+".series", "missing (the value columns to draw; or split_by and value)")
		default:
			v.unused(cp, k, "value")
		}
	case k.Parts():
		v.unused(cp, k, "x", "y", "series", "split_by", "good", "columns", "marks", "horizontal")
		if c.Names.IsZero() {
			v.doc.Addf(cp+".names", "missing (the query column naming each %s)", map[Kind]string{Pie: "slice", Treemap: "rectangle", Funnel: "stage"}[k])
		}
		if c.Value.IsZero() {
			v.doc.Addf(cp+".value", "missing (the query column with each row's size)")
		}
	case k == Heatmap:
		v.unused(cp, k, "series", "split_by", "names", "good", "columns", "marks", "horizontal")
		v.needColumn(cp+".x", c.X, "the query column across, one heatmap column per value")
		v.needColumn(cp+".y", c.Y, "the query column down, one heatmap row per value")
		v.noBounds(cp+".x", c.X, k)
		v.noBounds(cp+".y", c.Y, k)
		if c.Value.IsZero() {
			v.doc.Addf(cp+".value", "missing (the query column with each cell's value)")
		}
	case k == Scatter:
		v.unused(cp, k, "series", "value", "format", "good", "columns", "marks", "horizontal")
		v.needColumn(cp+".x", c.X, "the query column with each point's x value")
		v.needColumn(cp+".y", c.Y, "the query column with each point's y value")
	case k == KPI:
		v.unused(cp, k, "y", "series", "split_by", "columns", "names", "marks", "horizontal")
		if c.Value.IsZero() {
			v.doc.Addf(cp+".value", "missing (the query column whose last row is the KPI)")
		}
		if c.X != nil && c.X.Column.IsZero() {
			v.doc.Addf(cp+".x.column", "missing (the query column naming each row's period)")
		}
		v.noBounds(cp+".x", c.X, k)
		if c.Good != "" && c.Good != "up" && c.Good != "down" {
			v.doc.Addf(cp+".good", "unknown direction %q (expected one of: up, down)", c.Good)
		}
	case k == Table:
		v.unused(cp, k, "x", "y", "series", "split_by", "value", "names", "format", "good", "marks", "horizontal")
	case k == Notice:
		v.unused(cp, k, "x", "y", "series", "split_by", "names", "format", "good", "columns", "marks", "horizontal")
		if c.Value.IsZero() {
			v.doc.Addf(cp+".value", "missing (the query column with the text to show)")
		}
	case k == Summary:
		v.doc.Addf(cp+".metrics", "missing (the metrics whose changes the summary tells)")
	}
}

// metricChart checks a KPI card or trend chart that names metrics.
func (v validator) metricChart(cp string, c *Chart) {
	switch {
	case c.Metric != "" && len(c.Metrics) > 0:
		v.doc.Addf(cp+".metrics", "give metric (a KPI card) or metrics (a trend chart), not both")
	case c.Metric != "" && c.Kind != KPI:
		v.doc.Addf(cp+".metric", "only a KPI card shows one metric (kind %q: use metrics, a list)", c.Kind)
	case len(c.Metrics) > 0 && !c.Kind.Cartesian() && c.Kind != Summary:
		v.doc.Addf(cp+".metrics", "metrics are drawn by line, bar, stacked_bar and area charts and summed up by a summary, not %q", c.Kind)
	}
	v.unused(cp, c.Kind, "query", "value", "series", "split_by", "names", "columns", "format", "good", "x", "marks", "horizontal")
	if c.Kind == Summary {
		v.unused(cp, c.Kind, "y")
	}
	if c.Y != nil {
		v.axis(cp+".y", c.Y)
		v.noColumn(cp+".y", c.Y, c.Kind, "the metrics are the values")
		if v.doc.Has(cp + ".y.format") {
			v.doc.Addf(cp+".y.format", "not used with metrics (the metrics' format is the axis')")
		}
	}
}

func (v validator) link(p string, l Link) {
	if l.Page == "" {
		v.doc.Addf(p+".page", "missing (the page to open)")
	}
	if l.Filter == "" {
		v.doc.Addf(p+".filter", "missing (the column filtered on the page opened)")
	}
	if l.Column == "" {
		l.Column = l.Filter
	}
}

// needColumn reports an axis without its column.
func (v validator) needColumn(p string, a *Axis, what string) {
	if a == nil || a.Column.IsZero() {
		v.doc.Addf(p+".column", "missing (%s)", what)
	}
}

// noColumn reports a column on an axis that takes none.
func (v validator) noColumn(p string, a *Axis, k Kind, why string) {
	if a != nil && !a.Column.IsZero() {
		v.doc.Addf(p+".column", "not used by kind %q (%s)", k, why)
	}
}

// noBounds reports min and max on an axis that has no number scale.
func (v validator) noBounds(p string, a *Axis, k Kind) {
	if a == nil {
		return
	}
	for _, key := range []string{"min", "max"} {
		if v.doc.Has(p + "." + key) {
			v.doc.Addf(p+"."+key, "not used by kind %q on this axis (remove it)", k)
		}
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
