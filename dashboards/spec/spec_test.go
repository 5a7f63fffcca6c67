package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

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
	require.EqualError(t, err, `d/bad.yaml:5: sections[0].charts[0].kind: unknown chart kind "donut" (expected one of: area, bar, funnel, heatmap, kpi, line, notice, pie, scatter, stacked_bar, table, treemap)`)
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
	require.Equal(t, []string{"overview", "value", "retention", "segments", "cross_sell", "watchlist", "service", "health"}, names)
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
