package render

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"crmwh/dashboards/assets"
	"crmwh/dashboards/spec"
	"crmwh/warehouse/contract"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// uiText is the renderer's own words, in one language.
type uiText struct {
	Brand       string
	Index       string // the index page's title
	IndexIntro  string
	Pages       string
	DataAsOf    string
	DataHealth  string
	Language    string // the language's own name, on links to it
	Languages   string // the label of the language links
	DownloadCSV string
	Vs          string
	NoData      string
	NoScript    string
	ChartFailed string
	Truncated   string // fmt: shown rows, total rows (formatted)
	Charts      string // fmt: number of charts
	// NeedMoreData heads the index's list of pages left out; Needs says
	// what would enable one (fmt: the entities, joined).
	NeedMoreData string
	Needs        string
	// Docs names the link to the warehouse documentation (crmwh docs).
	Docs string
}

var uiTexts = map[string]uiText{
	"en": {
		Brand:        "crmwh",
		Index:        "Dashboards",
		IndexIntro:   "Choose a page.",
		Pages:        "Pages",
		DataAsOf:     "Data as of",
		DataHealth:   "Data health",
		Language:     "English",
		Languages:    "Language",
		DownloadCSV:  "CSV",
		Vs:           "vs",
		NoData:       "No data.",
		NoScript:     "The charts on this page need JavaScript; the tables and CSV files do not.",
		ChartFailed:  "This chart could not be drawn in the last refresh:",
		Truncated:    "Showing the first %s of %s rows; the CSV file has them all.",
		Charts:       "%d charts",
		NeedMoreData: "Pages that need more data",
		Needs:        "Needs %s: map it in crmwh.yaml (docs/your-data.md).",
		Docs:         "Warehouse docs",
	},
	"zh": {
		Brand:        "crmwh",
		Index:        "仪表板",
		IndexIntro:   "请选择页面。",
		Pages:        "页面",
		DataAsOf:     "数据截至",
		DataHealth:   "数据健康",
		Language:     "中文",
		Languages:    "语言",
		DownloadCSV:  "CSV",
		Vs:           "较",
		NoData:       "暂无数据。",
		NoScript:     "本页图表需要 JavaScript；表格和 CSV 文件无需 JavaScript。",
		ChartFailed:  "上次刷新时无法绘制此图表：",
		Truncated:    "仅显示前 %s 行（共 %s 行），完整数据见 CSV 文件。",
		Charts:       "%d 个图表",
		NeedMoreData: "需要更多数据的页面",
		Needs:        "需要%s：请在 crmwh.yaml 中映射（见 docs/your-data.md）。",
		Docs:         "数据仓库文档",
	},
}

// document is one HTML file: a page or the index of a folder site, or the
// whole single file.
type document struct {
	HTMLLang    string
	Title       string
	Assets      string // folder site: the path to assets/ ("", or "../")
	Single      bool
	Print       bool
	NoAnimation bool
	CSS         template.CSS // single file: the inlined assets
	Icon        template.URL
	ECharts     template.JS
	Script      template.JS
	Tables      template.JS
	MetricsJS   template.JS
	Views       []*view
}

// view is a page or the index in one language.
type view struct {
	Name     string // the page's name, or "index"
	Lang     string
	HTMLLang string
	Currency string
	UI       uiText
	Title    string
	Desc     string
	Home     string
	Nav      []link
	Langs    []link
	Health   string
	// Docs links to the warehouse documentation, when the site folder has
	// it (crmwh docs writes it to <site>/docs).
	Docs    string
	AsOf    string
	AsOfISO string
	// DataThrough is the last day the data cover ("" when unknown);
	// Banner the stale-data warnings of the freshness tests.
	DataThrough    string
	DataThroughISO string
	Banner         []string
	SW             statusTexts
	// Filters and FilterData are the page's filter bar and the data its
	// script filters (nil without filters).
	Filters    *filterBar
	FilterData template.JS
	Page       []sectionView // nil for the index
	Index      []indexItem
	// Missing lists, on the index, the pages left out for want of data.
	Missing []indexItem
}

type link struct {
	Text     string
	Href     string
	Lang     string // hreflang of language links
	Current  bool
	HTMLLang string
}

type sectionView struct {
	ID     string
	Title  string
	Charts []*chartView
}

// chartView is what the chart template shows of one chart.
type chartView struct {
	Kind      spec.Kind
	ID        string
	Title     string
	Note      string
	Width     string
	CSV       template.URL
	CSVName   string
	UI        *uiText
	Echart    bool
	Empty     bool
	Data      template.JS // ECharts kinds: the payload, HTML-escaped JSON
	KPI       *kpiCard
	Table     *tableView
	Notice    *noticeView
	Summary   *summaryView
	Truncated string
	Error     string
	// Metrics names the metrics of a card or trend chart on a page with
	// filters; Unfiltered says that one of them cannot be filtered.
	Metrics    string
	Unfiltered string
	// KW are the KPI card's words in the page's language.
	KW kpiTexts
}

type indexItem struct {
	Title  string
	Desc   string
	Href   string
	Charts string
}

// linker makes the links of one language's views.
type linker struct {
	s    *site
	lang string
}

func (k linker) primary() bool { return k.lang == k.s.opts.Lang }

// up leads from the language's folder to the top of the site.
func (k linker) up() string {
	if k.primary() {
		return ""
	}
	return "../"
}

// file is a page's file in the language, relative to the top of the site.
func (k linker) file(name string) string {
	if k.s.opts.SingleFile {
		return "#" + k.lang + "-" + name
	}
	if k.primary() {
		return name + ".html"
	}
	return k.lang + "/" + name + ".html"
}

// href links from a page of this language to a page of lang.
func (k linker) href(lang, name string) string {
	if k.s.opts.SingleFile {
		return "#" + lang + "-" + name
	}
	if lang == k.lang {
		return name + ".html"
	}
	return k.up() + linker{k.s, lang}.file(name)
}

func (k linker) csvFile(page, chart string) string { return path.Join("data", page, chart+".csv") }

// write writes the site: a folder, or the single file.
func (s *site) write() (Result, error) {
	res := Result{Dir: s.opts.OutDir, Lang: s.opts.Lang, Index: "index.html"}
	if s.opts.SingleFile {
		res.Index = SingleFileName
	}
	w := &writer{dir: s.opts.OutDir}

	// CSV files (data: URLs in a single file) hold the query's rows; they
	// are the same in every language.
	csvs := map[[2]string][]byte{}
	for _, pd := range s.pages {
		if !pd.render {
			continue
		}
		pr := PageResult{Name: pd.page.Name, Files: map[string]string{}}
		for _, lang := range s.langs {
			pr.Files[lang] = linker{s, lang}.file(pd.page.Name)
		}
		pr.File = pr.Files[s.opts.Lang]
		for _, cd := range pd.charts {
			cr := ChartResult{Name: cd.spec.Name, Kind: cd.spec.Kind, ID: chartID(pd.page.Name, cd.spec.Name), Err: cd.err}
			if s.opts.SingleFile {
				cr.ID = s.opts.Lang + "-" + cr.ID
			}
			if cd.res != nil {
				cr.Rows = cd.res.count()
				res.Rows += cr.Rows
			}
			if cd.err != nil {
				res.Failed++
			} else {
				// A chart query's file was written as its rows were read.
				data, err := csvBytes(cd.res)
				if err != nil {
					return Result{}, fmt.Errorf("writing %s: %w", linker{s, s.opts.Lang}.csvFile(pd.page.Name, cd.spec.Name), err)
				}
				csvs[[2]string{pd.page.Name, cd.spec.Name}] = data
				cr.JSON = map[string]json.RawMessage{}
				for lang, v := range cd.views {
					cr.JSON[lang] = v.data
				}
				if !s.opts.SingleFile {
					cr.CSV = linker{s, s.opts.Lang}.csvFile(pd.page.Name, cd.spec.Name)
				}
			}
			pr.Charts = append(pr.Charts, cr)
			res.Charts++
		}
		res.Pages = append(res.Pages, pr)
	}

	var views []*view
	var titles []string // per view, for the documents of a folder site
	for _, lang := range s.langs {
		if s.opts.Print && lang != s.opts.Lang {
			continue // a print document is in one language, and has no index
		}
		k := linker{s, lang}
		if !s.opts.Print {
			index := s.indexView(k)
			views = append(views, index)
			titles = append(titles, index.Title)
		}
		for i := range s.pages {
			if s.pages[i].render {
				v := s.pageView(k, i, csvs)
				views = append(views, v)
				titles = append(titles, v.Title)
			}
		}
	}

	if s.opts.SingleFile {
		doc, err := s.singleDocument(views)
		if err != nil {
			return Result{}, err
		}
		if err := w.template(SingleFileName, "single", doc); err != nil {
			return Result{}, err
		}
		res.Files = w.written
		return res, nil
	}

	if err := fs.WalkDir(assets.Site, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(assets.Site, p)
		if err != nil {
			return err
		}
		return w.file(path.Join("assets", p), data)
	}); err != nil {
		return Result{}, fmt.Errorf("writing dashboard assets: %w", err)
	}
	if s.changes != nil && !s.opts.SingleFile {
		data, err := marshalChanges(*s.changes)
		if err != nil {
			return Result{}, fmt.Errorf("writing %s: %w", ChangesFile, err)
		}
		if err := w.file(ChangesFile, data); err != nil {
			return Result{}, err
		}
		res.Changes = s.changes
	}
	keys := make([][2]string, 0, len(csvs))
	for key := range csvs {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	for _, key := range keys {
		if err := w.file(linker{s, s.opts.Lang}.csvFile(key[0], key[1]), csvs[key]); err != nil {
			return Result{}, err
		}
	}
	// The documents are executed at once, and written in order.
	docs := make([][]byte, len(views))
	if err := forEach(len(views), func(i int) error {
		v := views[i]
		k := linker{s, v.Lang}
		doc := &document{HTMLLang: v.HTMLLang, Title: titles[i], Assets: k.up(), NoAnimation: s.opts.NoAnimation, Views: []*view{v}}
		var err error
		docs[i], err = execute(k.file(v.Name), "document", doc)
		return err
	}); err != nil {
		return Result{}, err
	}
	for i, v := range views {
		if err := w.file(linker{s, v.Lang}.file(v.Name), docs[i]); err != nil {
			return Result{}, err
		}
	}
	sort.Strings(w.written)
	res.Files = w.written
	return res, nil
}

// base is what every view of a language shares: navigation, languages,
// data-as-of and the link to the data-health page.
func (s *site) base(k linker, current string) *view {
	ui := uiTexts[k.lang]
	v := &view{
		Name:     current,
		Lang:     k.lang,
		HTMLLang: htmlLang(k.lang),
		Currency: s.opts.Currency,
		UI:       ui,
		Home:     k.href(k.lang, "index"),
		AsOf:     s.opts.DataAsOf.Format("2006-01-02 15:04 UTC-07:00"),
		AsOfISO:  s.opts.DataAsOf.Format("2006-01-02T15:04:05Z07:00"),
		SW:       statusWords[k.lang],
		Banner:   s.status.banner(k.lang, s.opts.DataAsOf),
	}
	if !s.opts.SingleFile {
		if _, err := os.Stat(filepath.Join(s.opts.OutDir, "docs", "index.html")); err == nil {
			v.Docs = k.up() + "docs/index.html"
			if k.lang == "zh" {
				v.Docs = k.up() + "docs/zh/index.html"
			}
		}
	}
	v.DataThrough = v.SW.NoDataThrough
	if !s.status.DataThrough.IsZero() {
		v.DataThrough = s.status.DataThrough.Format("2006-01-02")
		v.DataThroughISO = v.DataThrough
	}
	for _, pd := range s.pages {
		v.Nav = append(v.Nav, link{Text: pd.page.Title.In(k.lang), Href: k.href(k.lang, pd.page.Name), Current: pd.page.Name == current})
		if pd.page.Name == HealthPage {
			v.Health = k.href(k.lang, HealthPage)
		}
	}
	for _, lang := range s.langs {
		if lang != k.lang {
			v.Langs = append(v.Langs, link{Text: uiTexts[lang].Language, Href: k.href(lang, current), Lang: lang, HTMLLang: htmlLang(lang)})
		}
	}
	return v
}

func htmlLang(lang string) string {
	if lang == "zh" {
		return "zh-CN"
	}
	return "en"
}

func (s *site) indexView(k linker) *view {
	v := s.base(k, "index")
	v.Title = v.UI.Index
	for _, pd := range s.pages {
		v.Index = append(v.Index, indexItem{
			Title:  pd.page.Title.In(k.lang),
			Desc:   pd.page.Description.In(k.lang),
			Href:   k.href(k.lang, pd.page.Name),
			Charts: fmt.Sprintf(v.UI.Charts, len(pd.charts)),
		})
	}
	for _, m := range s.missing {
		v.Missing = append(v.Missing, indexItem{
			Title:  m.page.Title.In(k.lang),
			Desc:   m.page.Description.In(k.lang),
			Charts: fmt.Sprintf(v.UI.Needs, entityNames(m.needs, k.lang)),
		})
	}
	return v
}

// entityNames names entities for people, joined in the language.
func entityNames(needs []string, lang string) string {
	var out []string
	for _, n := range needs {
		var alts []string
		for _, e := range strings.Split(n, " or ") {
			name := e
			if ent, err := contract.Lookup(e); err == nil {
				name = ent.Title
				if lang == "zh" {
					name = ent.TitleZh
				}
			}
			alts = append(alts, name)
		}
		sep := " or "
		if lang == "zh" {
			sep = "或"
		}
		out = append(out, strings.Join(alts, sep))
	}
	if lang == "zh" {
		return strings.Join(out, "、")
	}
	return strings.Join(out, ", ")
}

func (s *site) pageView(k linker, i int, csvs map[[2]string][]byte) *view {
	pd := &s.pages[i]
	p := pd.page
	v := s.base(k, p.Name)
	v.Title = p.Title.In(k.lang)
	v.Desc = p.Description.In(k.lang)
	sections := make([]sectionView, len(p.Sections))
	var fd *filterData
	if v.Filters, fd = s.filters(pd, k.lang); fd != nil {
		if b, err := marshal(fd); err == nil {
			v.FilterData = template.JS(b) // safe: encoding/json escaped <, > and &
		}
	}
	for si, sec := range p.Sections {
		sections[si] = sectionView{ID: "section-" + p.Name + "-" + fmt.Sprint(si), Title: s.status.monthTitle(sec.Title.In(k.lang), k.lang)}
		if s.opts.SingleFile {
			sections[si].ID = k.lang + "-" + sections[si].ID
		}
	}
	for _, cd := range pd.charts {
		c := cd.spec
		cv := &chartView{
			Kind:    c.Kind,
			ID:      chartID(p.Name, c.Name),
			Title:   s.status.monthTitle(c.Title.In(k.lang), k.lang),
			Note:    c.Note.In(k.lang),
			Width:   string(c.Width),
			CSVName: p.Name + "-" + c.Name + ".csv",
			UI:      &v.UI,
			Echart:  c.Kind.ECharts(),
			KW:      kpiWords[k.lang],
		}
		if s.opts.SingleFile {
			cv.ID = k.lang + "-" + cv.ID
		}
		if cv.Width == "" && c.Kind != spec.KPI {
			cv.Width = string(spec.Full) // KPI cards sit four to a row unless told
		}
		switch {
		case cd.err != nil:
			cv.Error = cd.err.Error()
		default:
			if s.opts.SingleFile {
				cv.CSV = template.URL("data:text/csv;charset=utf-8;base64," + base64.StdEncoding.EncodeToString(csvs[[2]string{p.Name, c.Name}]))
			} else {
				cv.CSV = template.URL(k.up() + k.csvFile(p.Name, c.Name))
			}
			cc := cd.views[k.lang]
			cv.Empty = len(cd.res.rows) == 0
			cv.KPI, cv.Table, cv.Notice, cv.Summary = cc.kpi, cc.table, cc.notice, cc.summary
			if cv.Echart {
				cv.Data = template.JS(cc.data) // safe: encoding/json escaped <, > and &
			}
			if t := cc.table; t != nil && t.TotalRows > len(t.Rows) {
				f := Formatter{Lang: k.lang}
				cv.Truncated = fmt.Sprintf(v.UI.Truncated, f.Number(float64(len(t.Rows)), spec.Thousands), f.Number(float64(t.TotalRows), spec.Thousands))
			}
			if v.Filters != nil && len(c.Defs) > 0 {
				cv.Metrics = metricNames(c.Defs)
				for _, m := range c.Defs {
					if mm := s.metrics.models[m.From]; mm != nil && len(mm.cells) == 0 {
						cv.Unfiltered = v.Filters.UI.Unfiltered
					}
				}
			}
		}
		sections[cd.section].Charts = append(sections[cd.section].Charts, cv)
	}
	for si, sec := range sections {
		if !pd.hidden[si] {
			v.Page = append(v.Page, sec)
		}
	}
	// A section whose charts were all left out (omit_empty) goes.
	secs := v.Page[:0]
	for _, sec := range v.Page {
		if len(sec.Charts) > 0 {
			secs = append(secs, sec)
		}
	}
	v.Page = secs
	return v
}

// singleDocument is the single file: every view, with the assets inlined.
func (s *site) singleDocument(views []*view) (*document, error) {
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(assets.Site, name)
		if err != nil {
			return "", fmt.Errorf("reading asset %s: %w", name, err)
		}
		return string(b), nil
	}
	css, err := read("crmwh.css")
	if err != nil {
		return nil, err
	}
	icon, err := read("favicon.svg")
	if err != nil {
		return nil, err
	}
	echarts, err := read("echarts.min.js")
	if err != nil {
		return nil, err
	}
	script, err := read("crmwh.js")
	if err != nil {
		return nil, err
	}
	tables, err := read("crmwh-tables.js")
	if err != nil {
		return nil, err
	}
	metricsJS, err := read("crmwh-metrics.js")
	if err != nil {
		return nil, err
	}
	// Inlined text must not end its element early.
	for name, text := range map[string]string{"crmwh.css": css, "echarts.min.js": echarts, "crmwh.js": script,
		"crmwh-tables.js": tables, "crmwh-metrics.js": metricsJS} {
		low := strings.ToLower(text)
		if strings.Contains(low, "</script") || strings.Contains(low, "</style") || strings.Contains(low, "<!--") {
			return nil, fmt.Errorf("asset %s cannot be inlined: it contains </script, </style or <!--", name)
		}
	}
	return &document{
		HTMLLang:    htmlLang(s.opts.Lang),
		Title:       s.documentTitle(views[0]),
		Single:      true,
		Print:       s.opts.Print,
		NoAnimation: s.opts.NoAnimation,
		CSS:         template.CSS(css),
		Icon:        template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(icon))),
		ECharts:     template.JS(echarts),
		Script:      template.JS(script),
		Tables:      template.JS(tables),
		MetricsJS:   template.JS(metricsJS),
		Views:       views,
	}, nil
}

// writer writes files under a folder, each atomically (a temporary file
// renamed into place), so a reader never sees half a page.
type writer struct {
	dir     string
	written []string
}

func (w *writer) file(rel string, data []byte) error {
	full := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", full, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), "."+filepath.Base(full)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", full, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), full)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", full, err)
	}
	w.written = append(w.written, rel)
	return nil
}

func (w *writer) template(rel, name string, data any) error {
	b, err := execute(rel, name, data)
	if err != nil {
		return err
	}
	return w.file(rel, b)
}

// execute executes the named template for the file rel.
func execute(rel, name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", rel, err)
	}
	return b.Bytes(), nil
}

// csvBytes writes a query's rows as UTF-8 CSV with a byte-order mark (so
// that Excel reads Chinese text correctly), a header of column names, exact
// values, and NULL as an empty field.
func csvBytes(r *result) ([]byte, error) {
	if r.csv != nil {
		return r.csv, nil
	}
	cw, err := newCSVWriter(r.columns)
	if err != nil {
		return nil, err
	}
	for _, row := range r.rows {
		if err := cw.write(row); err != nil {
			return nil, err
		}
	}
	return cw.bytes()
}

// csvWriter writes a query's rows as CSV, a row at a time.
type csvWriter struct {
	b   bytes.Buffer
	cw  *csv.Writer
	rec []string
}

func newCSVWriter(columns []string) (*csvWriter, error) {
	w := &csvWriter{rec: make([]string, len(columns))}
	w.b.WriteString("\ufeff")
	w.cw = csv.NewWriter(&w.b)
	w.cw.UseCRLF = true
	if err := w.cw.Write(columns); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *csvWriter) write(row []cell) error {
	for i, c := range row {
		w.rec[i] = c.csvText()
		if c.kind == textCell {
			w.rec[i] = defuseFormula(w.rec[i])
		}
	}
	return w.cw.Write(w.rec)
}

func (w *csvWriter) bytes() ([]byte, error) {
	w.cw.Flush()
	return w.b.Bytes(), w.cw.Error()
}

// defuseFormula keeps a spreadsheet from running text as a formula (CSV
// injection): text starting with =, +, -, @, tab or carriage return gets a
// leading apostrophe. Numbers are never text cells, so they are untouched.
func defuseFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// documentTitle is a single file's title: the dashboards, or the board pack.
func (s *site) documentTitle(v *view) string {
	if s.opts.Print {
		return map[string]string{"en": "Board pack", "zh": "董事会报告"}[v.Lang] + " · " + v.UI.Brand
	}
	return v.UI.Index + " · " + v.UI.Brand
}
