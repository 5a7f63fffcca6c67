// Package render turns dashboard pages (package spec) into a static site
// that works from file:// with no network: index.html with the navigation,
// one HTML file per page, each chart's rows as a CSV file, and the ECharts
// script written once from the binary (package assets). Every page is
// written in every language: the site's language at the top of the folder,
// the others in a folder each (zh/overview.html), and every page links to
// itself in the other languages. Options.SingleFile writes the whole site,
// in every language, as one self-contained HTML file instead.
//
// Charts are drawn by ECharts in the browser from an option that go-echarts
// builds here and that the page embeds as JSON; KPI cards and tables are
// plain HTML. Pages come from this package's own html/template, not from
// go-echarts' templates, so no page refers to an asset host. The output is
// a function of the warehouse, the pages and Options alone: element ids
// come from page and chart names, JSON keys are sorted, and nothing random
// or time-dependent is written, so the same input gives the same bytes.
package render

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"crmwh/dashboards/spec"
)

// Options say where and how to render.
type Options struct {
	// OutDir is the folder the site is written to; it is created if needed.
	// Render writes only its own files there and removes nothing.
	OutDir string
	// Lang is "en" (the default) or "zh": the language of the pages at the
	// top of OutDir (and shown first in a single file). The other language
	// is written too, in OutDir/<lang>/, and every page links to itself in
	// it. The language decides every text, number formats (万/亿 in
	// Chinese) and ECharts' own locale.
	Lang string
	// DataAsOf is when the warehouse's data was current; every page shows
	// it, in DataAsOf's own time zone. Required.
	DataAsOf time.Time
	// Currency is the ISO 4217 code of amounts with the currency format.
	// Default "CNY".
	Currency string
	// SingleFile writes one self-contained HTML file, OutDir/SingleFileName,
	// instead of the folder: every page in every language, the scripts and
	// styles inlined, and each chart's CSV data as a data: URL. Nothing else
	// is written.
	SingleFile bool
	// Pages, when not empty, names the pages to render; the others are
	// still in the navigation, and their files are left as they are.
	Pages []string
	// Print, with SingleFile, writes a print document instead: the pages
	// (Options.Pages, or every page) in the site's language only, one
	// after the other with no index, every chart drawn at once; its script
	// marks <body data-printed> when every chart has been drawn. The board
	// pack (package dashboards/pdf) prints it.
	Print bool
	// NoAnimation draws charts without ECharts' animations (tests and
	// screenshots are faster and see the final picture at once).
	NoAnimation bool
	// Unmapped lists the entities of the data contract the project does
	// not map: pages, sections and charts that require one are left out,
	// and the index lists the pages with what would enable them.
	Unmapped []string
	// LeftOut maps each relation the build left out to the entities it
	// needs: a chart whose query reads one is left out.
	LeftOut map[string][]string
	// Logger gets each chart query's rows and time, at info level; nil
	// logs nothing.
	Logger *slog.Logger
}

// SingleFileName is the file Options.SingleFile writes in OutDir. Its name
// cannot be a page's (page names have no dot).
const SingleFileName = "crmwh.dashboards.html"

// HealthPage is the name of the page that "data as of" links to on every
// page, when the site has it: the data-health page.
const HealthPage = "health"

// Result says what Render wrote.
type Result struct {
	// Dir is Options.OutDir.
	Dir string
	// Lang is the site's language (Options.Lang, default en).
	Lang string
	// Index is the index page's file name in the site's language, relative
	// to Dir; with Options.SingleFile, the single file's name.
	Index string
	// Pages are the pages rendered, in navigation order.
	Pages []PageResult
	// Charts is the number of charts on the pages rendered; Rows the number
	// of rows their queries returned; Failed how many of them failed.
	Charts int
	Rows   int
	Failed int
	// Files lists every file written, relative to Dir, sorted.
	Files []string
	// LeftOut lists the pages and charts left out for want of data.
	LeftOut []LeftOut
	// PDF is the board pack written with the site, if any (set by the
	// caller that prints it, package dashboards/pdf).
	PDF string `json:",omitempty"`
	// Changes is the "what changed" summary of the site's first summary
	// card, also written to ChangesFile (not in a single file); nil
	// without one.
	Changes *Changes
}

// PageResult is one page written.
type PageResult struct {
	Name string
	// File is the page's file in the site's language, relative to Dir,
	// such as overview.html; Files has it in every language, such as
	// zh/overview.html. In a single file, they are fragment links
	// (#en-overview).
	File   string
	Files  map[string]string
	Charts []ChartResult
}

// ChartResult is one chart of a page.
type ChartResult struct {
	Name string
	Kind spec.Kind
	// ID is the chart's element id on the page, chart-<page>-<chart> (in a
	// single file, prefixed with the language: en-chart-<page>-<chart>).
	ID string
	// CSV is the chart's data file, relative to Dir (empty in a single
	// file, and when the chart failed).
	CSV string
	// Rows is how many rows the chart's query returned.
	Rows int
	// JSON is the chart's data as JSON, by language: for ECharts kinds the
	// payload the page embeds (kind, number formats and the go-echarts
	// option), for KPI cards and tables the values shown. Golden tests
	// compare it.
	JSON map[string]json.RawMessage
	// Err is why the chart failed; the page shows the failure in its place.
	Err error
}

// SectionError is a section whose "when" query failed; the section is
// shown.
type SectionError struct {
	Page    string
	Section spec.Section
	Err     error
}

func (e *SectionError) Error() string {
	return fmt.Sprintf("%s: when: %v", e.Section.Where(), e.Err)
}

func (e *SectionError) Unwrap() error { return e.Err }

// sectionsShown runs the "when" queries of a page's sections and drops
// the charts of the sections they hide. A query that fails shows its
// section and is reported.
func (s *site) sectionsShown(ctx context.Context, db *sql.DB, pd *pageData) error {
	var errs []error
	for i, sec := range pd.page.Sections {
		if strings.TrimSpace(sec.When) == "" {
			continue
		}
		r, err := runQuery(ctx, db, sec.When)
		if err != nil {
			errs = append(errs, &SectionError{Page: pd.page.Name, Section: sec, Err: err})
			continue
		}
		if len(r.rows) == 0 || len(r.rows[0]) == 0 || r.rows[0][0].kind != boolCell || r.rows[0][0].text != "true" {
			pd.hidden[i] = true
		}
	}
	charts := pd.charts[:0]
	for _, cd := range pd.charts {
		if !pd.hidden[cd.section] {
			charts = append(charts, cd)
		}
	}
	pd.charts = charts
	return errors.Join(errs...)
}

// ChartError is one chart that could not be drawn: its query failed, or
// its rows do not fit the chart.
type ChartError struct {
	Page  string
	Chart spec.Chart
	Err   error
}

func (e *ChartError) Error() string {
	return fmt.Sprintf("%s: chart %s: %v", e.Chart.Where(), e.Chart.Name, e.Err)
}

func (e *ChartError) Unwrap() error { return e.Err }

// Render runs every chart's query against db and writes the site. A chart
// whose query fails, or whose rows do not fit it, is shown as a failure in
// its place on the page and the other charts and pages are written all the
// same; the error then lists every failed chart (each a *ChartError naming
// its file, line and key path). A cancelled context stops the run before
// anything is written.
func Render(ctx context.Context, db *sql.DB, pages []spec.Page, o Options) (Result, error) {
	o, err := o.withDefaults(pages)
	if err != nil {
		return Result{}, err
	}
	all := pages
	pages, leftOut, err := leaveOut(ctx, db, pages, o)
	if err != nil {
		return Result{}, err
	}
	s := newSite(o, pages)
	if s.metrics, err = loadMetrics(ctx, db, renderedPages(s)); err != nil {
		return Result{}, err
	}
	if s.status, err = loadStatus(ctx, db, pages, o); err != nil {
		return Result{}, err
	}
	for _, lo := range leftOut {
		if lo.Chart == "" {
			i := slices.IndexFunc(all, func(p spec.Page) bool { return p.Name == lo.Page })
			s.missing = append(s.missing, missingPage{page: all[i], needs: lo.Needs})
		}
	}
	var errs []error
	if s.status.Err != nil {
		errs = append(errs, s.status.Err)
	}
	// The sections' conditions decide which charts are drawn; then every
	// chart's query starts in the background and the pages are built in
	// order as their rows arrive.
	sectionErrs := make([]error, len(s.pages))
	for i := range s.pages {
		pd := &s.pages[i]
		if !pd.render {
			continue
		}
		if sectionErrs[i] = s.sectionsShown(ctx, db, pd); sectionErrs[i] != nil && ctx.Err() != nil {
			return Result{}, fmt.Errorf("rendering dashboards: %w", ctx.Err())
		}
	}
	queries, stop := s.chartQueries(ctx, db)
	defer stop()
	for i := range s.pages {
		pd := &s.pages[i]
		if !pd.render {
			continue
		}
		if sectionErrs[i] != nil {
			errs = append(errs, sectionErrs[i])
		}
		kept := pd.charts[:0]
		for j := range pd.charts {
			c := pd.charts[j]
			if len(c.spec.Defs) > 0 {
				c.series, c.res, c.err = s.metricRows(c.spec)
				if c.err == nil && c.spec.Kind == spec.Summary {
					ch := whatChanged(c.series, pd.page.Targets, s.status.Month, o.Currency)
					c.changes, c.res = &ch, ch.result()
					if s.changes == nil {
						s.changes = c.changes
					}
				}
			} else {
				c.res, c.err = queries[[2]int{i, j}].wait()
			}
			if ctx.Err() != nil {
				return Result{}, fmt.Errorf("rendering dashboards: %w", ctx.Err())
			}
			if c.err == nil && c.spec.OmitEmpty && len(c.res.rows) == 0 {
				continue // nothing to show for this project's data
			}
			kept = append(kept, c)
			cd := &kept[len(kept)-1]
			if cd.err != nil {
				cd.err = fmt.Errorf("query: %w", cd.err)
			} else {
				cd.err = s.build(pd, cd)
			}
			if cd.err != nil {
				errs = append(errs, &ChartError{Page: pd.page.Name, Chart: cd.spec, Err: cd.err})
			}
		}
		pd.charts = kept
	}
	res, err := s.write()
	if err != nil {
		return res, err
	}
	res.LeftOut = leftOut
	if len(errs) > 0 {
		if res.Failed == 0 {
			return res, fmt.Errorf("rendering dashboards: %w", errors.Join(errs...))
		}
		return res, fmt.Errorf("rendering dashboards: %d of %d charts failed (their pages show the failure): %w", res.Failed, res.Charts, errors.Join(errs...))
	}
	return res, nil
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (o Options) withDefaults(pages []spec.Page) (Options, error) {
	if o.OutDir == "" {
		return o, errors.New("rendering dashboards: no output folder (Options.OutDir)")
	}
	switch o.Lang {
	case "":
		o.Lang = "en"
	case "en", "zh":
	default:
		return o, fmt.Errorf("rendering dashboards: unknown language %q (expected one of: %s)", o.Lang, strings.Join(spec.Languages, ", "))
	}
	if o.Print && !o.SingleFile {
		return o, errors.New("rendering dashboards: a print document is a single file (Options.SingleFile)")
	}
	if o.DataAsOf.IsZero() {
		return o, errors.New("rendering dashboards: no data-as-of time (Options.DataAsOf)")
	}
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	if !currencyRE.MatchString(o.Currency) {
		return o, fmt.Errorf("rendering dashboards: invalid currency %q (expected an ISO 4217 code such as CNY)", o.Currency)
	}
	var names []string
	for _, p := range pages {
		names = append(names, p.Name)
	}
	for _, n := range o.Pages {
		if !slices.Contains(names, n) {
			return o, fmt.Errorf("rendering dashboards: no page named %q (pages: %s)", n, strings.Join(names, ", "))
		}
	}
	return o, nil
}

// languages returns the site's language first, then the others.
func (o Options) languages() []string {
	out := []string{o.Lang}
	for _, l := range spec.Languages {
		if l != o.Lang {
			out = append(out, l)
		}
	}
	return out
}

// site is a site being rendered: every page's charts, queried and built in
// every language before anything is written.
type site struct {
	opts  Options
	langs []string
	pages []pageData
	// missing are the pages left out for want of data.
	missing []missingPage
	// metrics are the rows of the metric models the pages read.
	metrics *metricStore
	// status is what every page says about the data's freshness.
	status siteStatus
	// changes is the first summary card's "what changed" (changes.json).
	changes *Changes
}

// missingPage is a page left out, and what would enable it.
type missingPage struct {
	page  spec.Page
	needs []string
}

// pageData is a page and its charts.
type pageData struct {
	page   spec.Page
	render bool // false: only in the navigation (Options.Pages)
	charts []chartData
	hidden map[int]bool // sections whose "when" query said no
}

// chartData is a chart's rows and what each language shows of them.
type chartData struct {
	spec    spec.Chart
	section int
	res     *result
	err     error
	views   map[string]*chartContent // by language
	// series are the metrics of a metric card or trend chart; changes the
	// summary of a summary card.
	series  []series
	changes *Changes
}

// chartContent is what a chart shows in one language.
type chartContent struct {
	data    []byte // ECharts payload, KPI card, table, notice or summary, as JSON
	kpi     *kpiCard
	table   *tableView
	notice  *noticeView
	summary *summaryView
}

func newSite(o Options, pages []spec.Page) *site {
	s := &site{opts: o, langs: o.languages()}
	for _, p := range pages {
		pd := pageData{page: p, render: len(o.Pages) == 0 || slices.Contains(o.Pages, p.Name), hidden: map[int]bool{}}
		if o.SingleFile && !pd.render {
			continue // a single file holds only what it renders
		}
		for si, sec := range p.Sections {
			for _, c := range sec.Charts {
				pd.charts = append(pd.charts, chartData{spec: c, section: si})
			}
		}
		s.pages = append(s.pages, pd)
	}
	return s
}

// build builds a queried chart in every language.
func (s *site) build(pd *pageData, cd *chartData) error {
	cd.views = map[string]*chartContent{}
	for _, lang := range s.langs {
		cc, err := s.content(pd, cd, lang)
		if err != nil {
			if len(s.langs) > 1 && lang != s.langs[0] {
				err = fmt.Errorf("%s: %w", lang, err)
			}
			cd.views = nil
			return err
		}
		cd.views[lang] = cc
	}
	return nil
}

func (s *site) content(pd *pageData, cd *chartData, lang string) (*chartContent, error) {
	f := Formatter{Lang: lang, Currency: s.opts.Currency}
	l := labeler{f: f, lang: lang, labels: pd.page.Labels}
	c, r := cd.spec, cd.res
	var shown any
	cc := &chartContent{}
	switch {
	case c.Kind.ECharts() && len(c.Defs) > 0:
		e := echarter{c: metricChartSpec(c), id: chartID(pd.page.Name, c.Name), file: pd.page.Name + "-" + c.Name, lang: lang, l: l, r: r}
		pl, err := e.build()
		if err != nil {
			return nil, err
		}
		shown = e.metricPayload(pl, cd.series, pd.page.Targets, s.status.Month)
	case c.Kind.ECharts():
		e := echarter{c: c, id: chartID(pd.page.Name, c.Name), file: pd.page.Name + "-" + c.Name, lang: lang, l: l, r: r, colors: pd.page.Colors, link: s.link(pd, c, lang)}
		pl, err := e.build()
		if err != nil {
			return nil, err
		}
		shown = pl
	case c.Kind == spec.Summary:
		v := cd.changes.view(lang)
		cc.summary, shown = &v, v
	case c.Kind == spec.KPI && len(c.Defs) > 0:
		k := metricKPI(cd.series[0], lang, f, pd.page.Targets, s.status.Month)
		cc.kpi, shown = &k, k
	case c.Kind == spec.KPI:
		k, err := buildKPI(c, lang, f, r)
		if err != nil {
			return nil, err
		}
		cc.kpi, shown = &k, k
	case c.Kind == spec.Table:
		t, err := buildTable(c, l, r, s.hrefs(lang))
		if err != nil {
			return nil, err
		}
		cc.table, shown = &t, t
	case c.Kind == spec.Notice:
		n, err := buildNotice(c, l, r)
		if err != nil {
			return nil, err
		}
		cc.notice, shown = &n, n
	default:
		return nil, fmt.Errorf("kind: unknown chart kind %q", c.Kind)
	}
	data, err := marshal(shown)
	if err != nil {
		return nil, err
	}
	cc.data = data
	return cc, nil
}

// chartID is a chart's element id: chart-<page>-<chart>.
func chartID(page, chart string) string { return "chart-" + page + "-" + chart }
