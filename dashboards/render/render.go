// Package render turns dashboard pages (package spec) into a static site
// that works from file:// with no network: index.html with the navigation,
// one HTML file per page, each chart's rows as a CSV file beside it, and the
// ECharts script written once from the binary (package assets).
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
	"html/template"
	"path"
	"regexp"
	"strings"
	"time"

	"crmwh/dashboards/spec"
)

// Options say where and how to render.
type Options struct {
	// OutDir is the folder the site is written to; it is created if needed.
	// Render writes only its own files there and removes nothing.
	OutDir string
	// Lang is "en" (the default) or "zh": the language of every text, of
	// number formats (万/亿 in Chinese) and of ECharts' own locale.
	Lang string
	// DataAsOf is when the warehouse's data was current; every page shows
	// it, in DataAsOf's own time zone. Required.
	DataAsOf time.Time
	// Currency is the ISO 4217 code of amounts with the currency format.
	// Default "CNY".
	Currency string
	// SingleFile asks for one self-contained HTML file (pages, script,
	// styles and CSV data inlined) instead of a folder. Not implemented
	// yet: Render returns ErrSingleFileNotSupported.
	SingleFile bool
}

// ErrSingleFileNotSupported is returned for Options.SingleFile until the
// single-file site is implemented.
var ErrSingleFileNotSupported = errors.New("single-file dashboards are not supported yet (render to a folder)")

// Result says what Render wrote.
type Result struct {
	// Dir is Options.OutDir.
	Dir string
	// Index is the index page's file name, relative to Dir.
	Index string
	// Pages are the pages written, in navigation order.
	Pages []PageResult
	// Charts is the number of charts on all pages; Rows the number of rows
	// their queries returned.
	Charts int
	Rows   int
	// Files lists every file written, relative to Dir, sorted.
	Files []string
}

// PageResult is one page written.
type PageResult struct {
	Name   string
	File   string // relative to Dir, such as overview.html
	Charts []ChartResult
}

// ChartResult is one chart of a page.
type ChartResult struct {
	Name string
	Kind spec.Kind
	// ID is the chart's element id on the page, chart-<page>-<chart>.
	ID string
	// CSV is the chart's data file, relative to Dir.
	CSV string
	// Rows is how many rows the chart's query returned.
	Rows int
	// JSON is the chart's data as JSON: for ECharts kinds the payload the
	// page embeds (kind, number formats and the go-echarts option), for KPI
	// cards and tables the values shown. Golden tests compare it.
	JSON json.RawMessage
}

// Render runs every chart's query against db and writes the site. Query
// and data errors of all charts are reported together, each naming the
// chart's file, line and key path; the site is then not written at all.
func Render(ctx context.Context, db *sql.DB, pages []spec.Page, o Options) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	f := Formatter{Lang: o.Lang, Currency: o.Currency}
	s := &site{opts: o, f: f, ui: uiTexts[o.Lang]}

	var errs []error
	for _, p := range pages {
		pv := pageView{page: p, File: p.Name + ".html"}
		for si, sec := range p.Sections {
			sv := sectionView{ID: "section-" + p.Name + "-" + fmt.Sprint(si), Title: sec.Title.In(o.Lang)}
			for _, c := range sec.Charts {
				cv, err := s.chart(ctx, db, p, c)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: chart %s: %w", c.Where(), c.Name, err))
					continue
				}
				sv.Charts = append(sv.Charts, cv)
			}
			pv.Sections = append(pv.Sections, sv)
		}
		s.pages = append(s.pages, pv)
	}
	if len(errs) > 0 {
		return Result{}, fmt.Errorf("rendering dashboards: %w", errors.Join(errs...))
	}
	return s.write()
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

func (o Options) withDefaults() (Options, error) {
	if o.SingleFile {
		return o, ErrSingleFileNotSupported
	}
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
	if o.DataAsOf.IsZero() {
		return o, errors.New("rendering dashboards: no data-as-of time (Options.DataAsOf)")
	}
	if o.Currency == "" {
		o.Currency = "CNY"
	}
	if !currencyRE.MatchString(o.Currency) {
		return o, fmt.Errorf("rendering dashboards: invalid currency %q (expected an ISO 4217 code such as CNY)", o.Currency)
	}
	return o, nil
}

// site is a site being rendered: every page's view, built before anything
// is written.
type site struct {
	opts  Options
	f     Formatter
	ui    uiText
	pages []pageView
}

// chart runs a chart's query and builds what its page shows.
func (s *site) chart(ctx context.Context, db *sql.DB, p spec.Page, c spec.Chart) (*chartView, error) {
	r, err := runQuery(ctx, db, c.Query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	lang := s.opts.Lang
	cv := &chartView{
		Name:  c.Name,
		Kind:  c.Kind,
		ID:    "chart-" + p.Name + "-" + c.Name,
		Title: c.Title.In(lang),
		Note:  c.Note.In(lang),
		Width: string(c.Width),
		CSV:   path.Join("data", p.Name, c.Name+".csv"),
		UI:    &s.ui,
		Empty: len(r.rows) == 0,
		res:   r,
	}
	if cv.Width == "" && c.Kind != spec.KPI {
		cv.Width = string(spec.Full) // KPI cards sit four to a row unless told
	}
	var shown any
	switch {
	case c.Kind.Cartesian():
		cats, series, err := cartesianSeries(c, lang, s.f, r)
		if err != nil {
			return nil, err
		}
		pl := payload{Kind: c.Kind, Format: payloadFormat{Y: yFormat(c)}, Option: echartsOption(cv.ID, c, lang, cats, series)}
		data, err := marshal(pl)
		if err != nil {
			return nil, err
		}
		cv.Data = template.JS(data) // safe: encoding/json escaped <, > and &
		cv.json = data
		return cv, nil
	case c.Kind == spec.KPI:
		k, err := buildKPI(c, s.f, r)
		if err != nil {
			return nil, err
		}
		cv.KPI = &k
		shown = k
	case c.Kind == spec.Table:
		t, err := buildTable(c, lang, s.f, r)
		if err != nil {
			return nil, err
		}
		cv.Table = &t
		if t.TotalRows > len(t.Rows) {
			cv.Truncated = fmt.Sprintf(s.ui.Truncated, len(t.Rows), t.TotalRows)
		}
		shown = t
	default:
		return nil, fmt.Errorf("kind: chart kind %q is not supported yet", c.Kind)
	}
	data, err := marshal(shown)
	if err != nil {
		return nil, err
	}
	cv.json = data
	return cv, nil
}
