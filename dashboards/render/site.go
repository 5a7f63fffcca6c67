package render

import (
	"bytes"
	"embed"
	"encoding/csv"
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
	DownloadCSV string
	Vs          string
	NoData      string
	NoScript    string
	Truncated   string // fmt: shown rows, total rows
	Charts      string // fmt: number of charts
}

var uiTexts = map[string]uiText{
	"en": {
		Brand:       "crmwh",
		Index:       "Dashboards",
		IndexIntro:  "Choose a page.",
		Pages:       "Pages",
		DataAsOf:    "Data as of",
		DownloadCSV: "CSV",
		Vs:          "vs",
		NoData:      "No data.",
		NoScript:    "The charts on this page need JavaScript; the tables and CSV files do not.",
		Truncated:   "Showing the first %d of %d rows; the CSV file has them all.",
		Charts:      "%d charts",
	},
	"zh": {
		Brand:       "crmwh",
		Index:       "仪表板",
		IndexIntro:  "请选择页面。",
		Pages:       "页面",
		DataAsOf:    "数据截至",
		DownloadCSV: "CSV",
		Vs:          "较",
		NoData:      "暂无数据。",
		NoScript:    "本页图表需要 JavaScript；表格和 CSV 文件无需 JavaScript。",
		Truncated:   "仅显示前 %d 行（共 %d 行），完整数据见 CSV 文件。",
		Charts:      "%d 个图表",
	},
}

// pageView is what the page template shows.
type pageView struct {
	page     spec.Page
	File     string
	Sections []sectionView
}

type sectionView struct {
	ID     string
	Title  string
	Charts []*chartView
}

// chartView is what the chart template shows of one chart.
type chartView struct {
	Name      string
	Kind      spec.Kind
	ID        string
	Title     string
	Note      string
	Width     string
	CSV       string
	Empty     bool
	UI        *uiText
	Data      template.JS // ECharts kinds: the payload, HTML-escaped JSON
	KPI       *kpiCard
	Table     *tableView
	Truncated string

	json []byte
	res  *result
}

// Echart reports whether ECharts draws the chart in the browser.
func (c *chartView) Echart() bool { return c.Kind.Cartesian() }

// layout is the data of every template: the page's own fields plus the
// site's navigation, language and data-as-of time.
type layout struct {
	Lang     string
	HTMLLang string
	Currency string
	UI       uiText
	Title    string
	Desc     string
	Nav      []navItem
	AsOf     string
	AsOfISO  string
	Page     *pageView
	Pages    []indexItem
}

type navItem struct {
	Title   string
	Href    string
	Current bool
}

type indexItem struct {
	Title  string
	Desc   string
	Href   string
	Charts string
}

// write writes the assets, the pages, the index and the CSV files.
func (s *site) write() (Result, error) {
	res := Result{Dir: s.opts.OutDir, Index: "index.html"}
	w := &writer{dir: s.opts.OutDir}

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

	base := layout{
		Lang:     s.opts.Lang,
		HTMLLang: map[string]string{"en": "en", "zh": "zh-CN"}[s.opts.Lang],
		Currency: s.opts.Currency,
		UI:       s.ui,
		AsOf:     s.opts.DataAsOf.Format("2006-01-02 15:04 UTC-07:00"),
		AsOfISO:  s.opts.DataAsOf.Format("2006-01-02T15:04:05Z07:00"),
	}
	for _, pv := range s.pages {
		base.Nav = append(base.Nav, navItem{Title: pv.page.Title.In(s.opts.Lang), Href: pv.File})
	}

	var index []indexItem
	for i := range s.pages {
		pv := &s.pages[i]
		l := base
		l.Nav = append([]navItem(nil), base.Nav...)
		l.Nav[i].Current = true
		l.Title = pv.page.Title.In(s.opts.Lang)
		l.Desc = pv.page.Description.In(s.opts.Lang)
		l.Page = pv
		if err := w.template(pv.File, "page.html", l); err != nil {
			return Result{}, err
		}
		pr := PageResult{Name: pv.page.Name, File: pv.File}
		for _, sv := range pv.Sections {
			for _, cv := range sv.Charts {
				if err := w.csv(cv.CSV, cv.res); err != nil {
					return Result{}, err
				}
				pr.Charts = append(pr.Charts, ChartResult{
					Name: cv.Name, Kind: cv.Kind, ID: cv.ID, CSV: cv.CSV, Rows: len(cv.res.rows), JSON: cv.json,
				})
				res.Charts++
				res.Rows += len(cv.res.rows)
			}
		}
		res.Pages = append(res.Pages, pr)
		index = append(index, indexItem{Title: l.Title, Desc: l.Desc, Href: pv.File, Charts: fmt.Sprintf(s.ui.Charts, len(pr.Charts))})
	}

	l := base
	l.Title = s.ui.Index
	l.Pages = index
	if err := w.template(res.Index, "index.html", l); err != nil {
		return Result{}, err
	}
	sort.Strings(w.written)
	res.Files = w.written
	return res, nil
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
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return fmt.Errorf("rendering %s: %w", rel, err)
	}
	return w.file(rel, b.Bytes())
}

// csv writes a query's rows as UTF-8 CSV with a byte-order mark (so that
// Excel reads Chinese text correctly), a header of column names, exact
// values, and NULL as an empty field.
func (w *writer) csv(rel string, r *result) error {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	cw := csv.NewWriter(&b)
	cw.UseCRLF = true
	if err := cw.Write(r.columns); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	rec := make([]string, len(r.columns))
	for _, row := range r.rows {
		for i, c := range row {
			rec[i] = c.csvText()
			if c.kind == textCell {
				rec[i] = defuseFormula(rec[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing %s: %w", rel, err)
	}
	return w.file(rel, b.Bytes())
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
