package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/spec"
	"crmwh/project/strictyaml"
)

// loadOne loads a fixture as the only file of a dashboards/ folder, so that
// errors name it as dashboards/<fixture>.
func loadOne(t *testing.T, file string) ([]spec.Page, error) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	fsys := fstest.MapFS{"dashboards/" + filepath.Base(file): {Data: data}}
	return spec.Load(fsys, "dashboards")
}

// wantErrors returns the "# error: " header lines of a bad fixture.
func wantErrors(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(string(data), "\n") {
		if msg, ok := strings.CutPrefix(line, "# error: "); ok {
			want = append(want, msg)
		}
	}
	require.NotEmpty(t, want, "%s has no '# error: ' line", file)
	return strings.Join(want, "\n")
}

func TestGoodFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			pages, err := loadOne(t, file)
			require.NoError(t, err)
			require.Len(t, pages, 1)
			require.NotEmpty(t, pages[0].Sections)
		})
	}
}

func TestBadFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := loadOne(t, file)
			require.Error(t, err)
			var ps strictyaml.Problems
			require.True(t, errors.As(err, &ps), "error is %T, want strictyaml.Problems", err)
			require.Equal(t, wantErrors(t, file), err.Error())
		})
	}
}

func TestAllKinds(t *testing.T) {
	pages, err := loadOne(t, "testdata/all_kinds.good.yaml")
	require.NoError(t, err)
	p := pages[0]
	require.Equal(t, "all-kinds", p.Name)
	require.Equal(t, -5, p.Order)
	require.Equal(t, "dashboards/all_kinds.good.yaml", p.File)
	require.Equal(t, "所有支持的图表类型", p.Title.In("zh"))
	require.Equal(t, "Every supported kind", p.Title.In("en"))

	kpi := p.Sections[0].Charts[0]
	require.Equal(t, spec.KPI, kpi.Kind)
	require.Equal(t, spec.Col{En: "month", Zh: "month"}, kpi.X.Column)
	require.Equal(t, spec.Month, kpi.X.Format)
	require.Equal(t, spec.Currency, kpi.Format)
	require.Equal(t, "dashboards/all_kinds.good.yaml:12: sections[0].charts[0]", kpi.Where())
	require.Equal(t, "down", p.Sections[0].Charts[1].Good)

	line := p.Sections[1].Charts[0]
	require.Equal(t, spec.Line, line.Kind)
	require.Equal(t, spec.Half, line.Width)
	require.Equal(t, 0.0, *line.Y.Min)
	require.Equal(t, 1e6, *line.Y.Max)
	require.Equal(t, "订单数", line.Series[0].Label.Zh)

	stacked := p.Sections[1].Charts[2]
	require.Equal(t, spec.StackedBar, stacked.Kind)
	require.Equal(t, "segment", stacked.SplitBy.In("zh"))
	require.Equal(t, "revenue", stacked.Value.In("en"))

	table := p.Sections[1].Charts[4]
	require.Len(t, table.Columns, 3)
	require.True(t, table.Columns[2].Label.IsZero())

	more := p.Sections[2].Charts
	var kinds []spec.Kind
	for _, c := range more {
		kinds = append(kinds, c.Kind)
	}
	require.Equal(t, []spec.Kind{spec.Line, spec.Bar, spec.Pie, spec.Treemap, spec.Funnel, spec.Heatmap, spec.Scatter}, kinds)
	require.Equal(t, []spec.Mark{
		{X: "20", Label: spec.Text{En: "Top 20%", Zh: "前20%"}},
		{Y: ptr(0.8)},
	}, more[0].Marks)
	require.True(t, more[1].Horizontal)
	require.Equal(t, "account_manager_name", more[1].X.Column.In("en"))
	require.Equal(t, "account_manager_name_zh", more[1].X.Column.In("zh"))
	require.Equal(t, "en: account_manager_name, zh: account_manager_name_zh", more[1].X.Column.String())
	require.Equal(t, "value_tier", more[2].Names.In("zh"))
	require.Equal(t, spec.Currency, more[2].Format)
	require.Equal(t, "cohort_month", more[5].Y.Column.In("en"))
	require.Equal(t, "customer_name", more[6].Names.In("en"))
	require.Equal(t, "value_tier", more[6].SplitBy.In("en"))
	require.Equal(t, 1.0, *more[6].X.Max)
	require.Equal(t, spec.Text{En: "Top 1%", Zh: "前1%"}, p.Labels["value_tier"]["top_1"])
	for _, k := range kinds {
		require.True(t, k.ECharts(), k)
	}
	require.False(t, spec.KPI.ECharts())
	require.False(t, spec.Table.ECharts())
}

func ptr(f float64) *float64 { return &f }

// A broken file does not hide the others: Load returns the good pages with
// the problems of the bad ones.
func TestGoodPagesComeWithTheProblems(t *testing.T) {
	fsys := fstest.MapFS{
		"d/good.yaml": {Data: []byte("name: good\ntitle: {en: G, zh: 好}\nsections:\n  - charts:\n      - {name: x, kind: table, title: {en: X, zh: 乙}, query: SELECT 1}\n")},
		"d/bad.yaml":  {Data: []byte("name: bad\ntitle: {en: B, zh: 坏}\nsections:\n  - charts:\n      - {name: x, kind: donut, title: {en: X, zh: 乙}, query: SELECT 1}\n")},
	}
	pages, err := spec.Load(fsys, "d")
	require.EqualError(t, err, `d/bad.yaml:5: sections[0].charts[0].kind: unknown chart kind "donut" (expected one of: area, bar, funnel, heatmap, kpi, line, notice, pie, scatter, stacked_bar, summary, table, treemap)`)
	require.Len(t, pages, 1)
	require.Equal(t, "good", pages[0].Name)
}

// All problems of all files come back at once, sorted by file and line.
func TestProblemsOfSeveralFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"d/b.yaml":    {Data: []byte("name: b\ntitle: {en: B}\nsections: []\n")},
		"d/a.yml":     {Data: []byte("name: a\ntitle: {en: A, zh: 甲}\nsections:\n  - charts:\n      - {name: x, kind: bar, title: {en: X, zh: 乙}, query: SELECT 1}\n")},
		"d/c.yaml":    {Data: []byte("name: a\ntitle: {en: C, zh: 丙}\nsections:\n  - charts:\n      - {name: x, kind: table, title: {en: X, zh: 乙}, query: SELECT 1}\n")},
		"d/notes.txt": {Data: []byte("not a page")},
	}
	_, err := spec.Load(fsys, "d")
	require.EqualError(t, err, strings.Join([]string{
		`d/a.yml:5: sections[0].charts[0].x.column: missing (the query column on the category axis)`,
		`d/a.yml:5: sections[0].charts[0].series: missing (the value columns to draw; or split_by and value)`,
		`d/b.yaml:2: title.zh: missing Simplified Chinese text`,
		`d/b.yaml:3: sections: missing (a page needs at least one section with charts)`,
		`d/c.yaml:1: name: page name "a" is also used by d/a.yml`,
	}, "\n"))
}

func TestOrder(t *testing.T) {
	page := func(name string, order int) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("name: " + name + "\norder: " + strconv.Itoa(order) +
			"\ntitle: {en: T, zh: 题}\nsections:\n  - charts:\n      - {name: x, kind: table, title: {en: X, zh: 乙}, query: SELECT 1}\n")}
	}
	fsys := fstest.MapFS{
		"d/1.yaml": page("zeta", 0),
		"d/2.yaml": page("alpha", 0),
		"d/3.yaml": page("first", -1),
		"d/4.yaml": page("last", 20),
	}
	pages, err := spec.Load(fsys, "d")
	require.NoError(t, err)
	var names []string
	for _, p := range pages {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"first", "alpha", "zeta", "last"}, names)
}

// The repository's own pages (dashboards/*.yaml) load without problems,
// and between them use every kind of chart.
func TestDefaultPages(t *testing.T) {
	pages, err := spec.Load(os.DirFS(".."), ".")
	require.NoError(t, err)
	var names []string
	kinds := map[spec.Kind]bool{}
	for _, p := range pages {
		names = append(names, p.Name)
		for _, s := range p.Sections {
			for _, c := range s.Charts {
				kinds[c.Kind] = true
			}
		}
	}
	require.Equal(t, []string{"overview", "value", "retention", "segments", "cross_sell", "watchlist", "account_managers", "service", "health", "appendix"}, names)
	// Every metric a default page names is defined, and every default
	// metric is shown somewhere.
	used := map[string]bool{}
	for _, p := range pages {
		for _, m := range p.MetricNames() {
			used[m] = true
		}
		require.NotEmpty(t, p.DataThrough, p.Name)
	}
	for _, m := range []string{"net_revenue", "active_customers", "new_customers", "retention_rate", "churn_rate",
		"customers_lost", "average_clv", "complaints_per_1000", "complaint_resolution_rate", "avg_satisfaction", "median_resolution_hours"} {
		require.True(t, used[m], "metric %s is on no page", m)
	}
	require.Equal(t, "经营概览", pages[0].Title.Zh)
	for _, k := range spec.Kinds {
		require.True(t, kinds[k], "no default page has a %s chart", k)
	}
}

func TestEmptyFolder(t *testing.T) {
	pages, err := spec.Load(fstest.MapFS{"d/readme.md": {}}, "d")
	require.NoError(t, err)
	require.Empty(t, pages)
}

func TestNoticeAndWhen(t *testing.T) {
	pages, err := loadOne(t, "testdata/notice.good.yaml")
	require.NoError(t, err)
	p := pages[0]
	require.Equal(t, "SELECT status = 'unavailable' FROM mart_clv_status", strings.TrimSpace(p.Sections[0].When))
	require.Equal(t, "dashboards/notice.good.yaml:4: sections[0]", p.Sections[0].Where())
	n := p.Sections[0].Charts[0]
	require.Equal(t, spec.Notice, n.Kind)
	require.Equal(t, spec.Col{En: "reason", Zh: "reason_zh"}, n.Value)
	require.False(t, spec.Notice.ECharts())
	require.Empty(t, p.Sections[0].Charts[0].Format)
}

// metricsFS is a dashboards folder with metrics, targets and a page.
func metricsFS(metrics, targets, page string) fstest.MapFS {
	fs := fstest.MapFS{"d/metrics.yaml": {Data: []byte(metrics)}, "d/p.yaml": {Data: []byte(page)}}
	if targets != "" {
		fs["d/targets.yaml"] = &fstest.MapFile{Data: []byte(targets)}
	}
	return fs
}

const goodMetrics = `data_through: SELECT max(order_date) FROM fct_orders
metrics:
  net_revenue:
    label: {en: Net revenue, zh: 净收入}
    description: {en: Paid less refunds., zh: 实付减退款。}
    format: currency
    sum: net_revenue
    complete: is_complete
  churn_rate:
    label: {en: Churn rate, zh: 流失率}
    format: percent
    good: down
    sum: churned_customers
    over: customers_at_risk
    valid: churn_mature
    requires: [tickets]
`

// Metrics are defined once and attached to the charts that name them,
// with their defaults; targets apply from their month on.
func TestMetrics(t *testing.T) {
	pages, err := spec.Load(metricsFS(goodMetrics, `targets:
  net_revenue:
    - {value: 1000000}
    - {from: 2024-04, value: 1200000}
`, `name: p
title: {en: P, zh: 页}
filters: [period, region]
sections:
  - title: {en: "{month}", zh: "{month}"}
    charts:
      - {name: rev, kind: kpi, metric: net_revenue}
      - {name: trend, kind: line, title: {en: Trend, zh: 趋势}, metrics: [churn_rate], y: {min: 0}}
`), "d")
	require.NoError(t, err)
	require.Len(t, pages, 1)
	p := pages[0]
	require.Equal(t, "SELECT max(order_date) FROM fct_orders", p.DataThrough)
	rev := p.Sections[0].Charts[0]
	require.Len(t, rev.Defs, 1)
	m := rev.Defs[0]
	require.Equal(t, "net_revenue", m.Name)
	require.Equal(t, spec.DefaultMetricsModel, m.From)
	require.Equal(t, spec.MonthsSum, m.Months)
	require.Equal(t, 1.0, m.Scale)
	require.Equal(t, "Net revenue", rev.Title.En, "a metric card is titled by its metric")
	require.Equal(t, "实付减退款。", rev.Note.Zh, "and explained by its description")
	churn := p.Sections[0].Charts[1].Defs[0]
	require.Equal(t, spec.MonthsRatio, churn.Months, "a rate combines months as a ratio")
	require.Equal(t, []string{"churn_rate", "net_revenue"}, p.MetricNames())
	for month, want := range map[string]float64{"2024-01": 1000000, "2024-03": 1000000, "2024-04": 1200000, "2025-01": 1200000} {
		at, _ := time.Parse("2006-01", month)
		v, ok := p.Targets.For("net_revenue", at)
		require.True(t, ok)
		require.Equal(t, want, v, month)
	}
	_, ok := p.Targets.For("churn_rate", time.Now())
	require.False(t, ok)
}

// Every mistake in metrics, targets and the pages that use them is
// reported with its file, line and key.
func TestMetricErrors(t *testing.T) {
	_, err := spec.Load(metricsFS(goodMetrics+`  bad:
    label: {en: Bad}
    format: month
    good: sideways
    over: x y
    months: median
  rate:
    label: {en: Rate, zh: 率}
    sum: a
    months: ratio
`, `targets:
  net_revenue:
    - {from: 2024-13, value: 1}
  nope:
    - {value: 1}
`, `name: p
title: {en: P, zh: 页}
filters: [period, city]
colors:
  status: {warn: amber}
sections:
  - charts:
      - {name: a, kind: kpi, metric: revenue}
      - {name: b, kind: line, metric: net_revenue}
      - {name: c, kind: line, title: {en: C, zh: 丙}, metrics: [net_revenue, churn_rate]}
      - {name: d, kind: kpi, metric: net_revenue, query: SELECT 1, format: percent}
`), "d")
	require.Error(t, err)
	for _, want := range []string{
		`d/metrics.yaml:17: metrics.bad.sum: missing (the column summed over a month's rows)`,
		`d/metrics.yaml:18: metrics.bad.label.zh: missing Simplified Chinese text`,
		`d/metrics.yaml:19: metrics.bad.format: a metric is a number: "month" is a date format`,
		`d/metrics.yaml:20: metrics.bad.good: unknown direction "sideways" (expected one of: up, down)`,
		`d/metrics.yaml:21: metrics.bad.over: "x y" is not a plain column or model name`,
		`d/metrics.yaml:22: metrics.bad.months: unknown combination "median" (expected one of: sum, ratio, mean, last, none)`,
		`d/metrics.yaml:26: metrics.rate.months: ratio needs over (the column that divides sum)`,
		`d/targets.yaml:3: targets.net_revenue[0].from: invalid month "2024-13" (expected YYYY-MM, such as 2026-01)`,
		`d/targets.yaml:4: targets.nope: no metric named "nope" in metrics.yaml (metrics: bad, churn_rate, net_revenue, rate)`,
		`d/p.yaml:3: filters[1]: unknown filter "city" (expected one of: period, region, channel, segment)`,
		`d/p.yaml:5: colors.status.warn: invalid colour "amber" (expected #rrggbb)`,
		`d/p.yaml:8: sections[0].charts[0].metric: no metric named "revenue" in metrics.yaml`,
		`d/p.yaml:9: sections[0].charts[1].metric: only a KPI card shows one metric (kind "line": use metrics, a list)`,
		`d/p.yaml:10: sections[0].charts[2].metrics[1]: metric "churn_rate" is in percent, the chart's first metric in currency: a chart's metrics share one axis and format`,
		`d/p.yaml:11: sections[0].charts[3].query: not used by kind "kpi" (remove it)`,
		`d/p.yaml:11: sections[0].charts[3].format: not used by kind "kpi" (remove it)`,
	} {
		require.Contains(t, err.Error(), want)
	}

	// A link leads to a page of the folder.
	_, err = spec.Load(metricsFS(goodMetrics, "", `name: p
title: {en: P, zh: 页}
sections:
  - charts:
      - name: e
        kind: table
        title: {en: E, zh: 戊}
        query: SELECT 1 AS x
        columns: [{column: x, link: {page: elsewhere, filter: x}}]
`), "d")
	require.EqualError(t, err, `d/p.yaml:5: sections[0].charts[0].columns[0].link.page: no page named "elsewhere"`)
}

// One label, one definition: no chart or table column of the default
// pages reuses a metric's label for another number.
func TestMetricLabelsAreNotReused(t *testing.T) {
	pages, err := spec.Load(os.DirFS(".."), ".")
	require.NoError(t, err)
	labels := map[string]string{}
	for _, p := range pages {
		for _, s := range p.Sections {
			for _, c := range s.Charts {
				for _, m := range c.Defs {
					labels[m.Label.En], labels[m.Label.Zh] = m.Name, m.Name
				}
			}
		}
	}
	for _, p := range pages {
		for _, s := range p.Sections {
			for _, c := range s.Charts {
				if len(c.Defs) == 0 {
					for _, lang := range spec.Languages {
						_, reused := labels[c.Title.In(lang)]
						require.False(t, reused, "%s: chart %s is titled %q, a metric's label, but is not that metric", p.File, c.Name, c.Title.In(lang))
					}
				}
				for _, col := range c.Columns {
					for _, lang := range spec.Languages {
						if m, reused := labels[col.Label.In(lang)]; reused {
							t.Errorf("%s: chart %s has a column labelled %q, metric %s's label", p.File, c.Name, col.Label.In(lang), m)
						}
					}
				}
			}
		}
	}
}
