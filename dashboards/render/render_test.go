package render_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
	"crmwh/warehouse/duckdb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// asOf is the data-as-of time every test site shows.
var asOf = time.Date(2024, 7, 1, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))

// testWarehouse builds the small golden warehouse, a real DuckDB file, from
// testdata/warehouse.sql.
func testWarehouse(t testing.TB) *sql.DB {
	t.Helper()
	db, err := duckdb.Open(filepath.Join(t.TempDir(), "warehouse.duckdb"), duckdb.Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	script, err := os.ReadFile("testdata/warehouse.sql")
	require.NoError(t, err)
	_, err = db.Exec(string(script))
	require.NoError(t, err)
	return db
}

// defaultPages are the repository's own pages, dashboards/*.yaml.
var defaultPages = []string{"overview", "value", "retention", "segments", "cross_sell", "watchlist", "service", "health"}

// testPages returns the repository's own pages (dashboards/*.yaml) and the
// test page testdata/pages/customers.yaml, in navigation order.
func testPages(t testing.TB) []spec.Page {
	t.Helper()
	own, err := spec.Load(os.DirFS(".."), ".")
	require.NoError(t, err)
	test, err := spec.Load(os.DirFS("testdata"), "pages")
	require.NoError(t, err)
	return append(own, test...)
}

// renderSite renders the pages with lang at the top of a new folder.
func renderSite(t testing.TB, db *sql.DB, pages []spec.Page, lang string) (render.Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: dir, Lang: lang, DataAsOf: asOf, NoAnimation: true})
	require.NoError(t, err)
	return res, dir
}

func read(t testing.TB, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	require.NoError(t, err)
	return string(b)
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		require.NoError(t, os.WriteFile(file, got, 0o644))
		return
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err, "missing golden file: run go test ./dashboards/render -run TestGolden -update")
	require.Equal(t, string(want), string(got), "%s differs: if the change is intended, run go test ./dashboards/render -run TestGolden -update and review the diff", file)
}

// The chart options and pages of the default pages (and the test page) on
// the golden warehouse, in both languages, are the golden files:
// testdata/golden/<lang>/<page>/<chart>.json and testdata/golden/site/.
func TestGolden(t *testing.T) {
	db := testWarehouse(t)
	res, dir := renderSite(t, db, testPages(t), "en")
	if *update {
		require.NoError(t, os.RemoveAll(filepath.Join("testdata", "golden")))
	}
	n := 0
	for _, p := range res.Pages {
		for _, c := range p.Charts {
			require.NoError(t, c.Err)
			for _, lang := range spec.Languages {
				var b bytes.Buffer
				require.NoError(t, json.Indent(&b, c.JSON[lang], "", "  "))
				b.WriteByte('\n')
				golden(t, filepath.Join("testdata", "golden", lang, p.Name, c.Name+".json"), b.Bytes())
				n++
			}
		}
	}
	for _, f := range res.Files {
		if strings.HasSuffix(f, ".html") {
			golden(t, filepath.Join("testdata", "golden", "site", filepath.FromSlash(f)), []byte(read(t, dir, f)))
		}
	}
	require.Equal(t, 2*res.Charts, n)
	// No golden file is left over from a chart or page that is gone.
	var files []string
	require.NoError(t, filepath.WalkDir(filepath.Join("testdata", "golden"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	pages := 0
	for _, f := range res.Files {
		if strings.HasSuffix(f, ".html") {
			pages++
		}
	}
	require.Len(t, files, n+pages, "stale golden files: run go test ./dashboards/render -run TestGolden -update")
}

func TestResult(t *testing.T) {
	db := testWarehouse(t)
	res, dir := renderSite(t, db, testPages(t), "en")
	require.Equal(t, dir, res.Dir)
	require.Equal(t, "en", res.Lang)
	require.Equal(t, "index.html", res.Index)
	var names []string
	for _, p := range res.Pages {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"overview", "value", "retention", "segments", "cross_sell", "watchlist", "account_managers", "service", "health", "appendix", "customers"}, names)
	require.Zero(t, res.Failed)

	ov := res.Pages[0]
	require.Equal(t, "overview.html", ov.File)
	require.Equal(t, map[string]string{"en": "overview.html", "zh": "zh/overview.html"}, ov.Files)
	c := ov.Charts[9]
	require.Equal(t, "revenue_trend", c.Name)
	require.Equal(t, spec.Bar, c.Kind)
	require.Equal(t, "chart-overview-revenue_trend", c.ID)
	require.Equal(t, "data/overview/revenue_trend.csv", c.CSV)
	require.Equal(t, 6, c.Rows)

	for _, f := range []string{
		"index.html", "overview.html", "health.html", "customers.html",
		"zh/index.html", "zh/overview.html", "zh/health.html", "zh/customers.html",
		"assets/echarts.min.js", "assets/crmwh.js", "assets/crmwh.css", "assets/favicon.svg",
		"data/overview/net_revenue.csv", "data/customers/customer_list.csv", "data/value/pareto.csv",
	} {
		require.Contains(t, res.Files, f)
		require.FileExists(t, filepath.Join(dir, f))
	}
	// Assets and data are written once, for both languages.
	for _, f := range res.Files {
		require.False(t, strings.HasPrefix(f, "zh/assets/") || strings.HasPrefix(f, "zh/data/"), f)
	}
	rows, charts := 0, 0
	for _, p := range res.Pages {
		for _, c := range p.Charts {
			rows += c.Rows
			charts++
		}
	}
	require.Equal(t, rows, res.Rows)
	require.Equal(t, charts, res.Charts)
}

// The same warehouse, pages and options give the same bytes, in a folder
// and in a single file.
func TestDeterministic(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	for _, single := range []bool{false, true} {
		var dirs []string
		var files [][]string
		for range 2 {
			dir := t.TempDir()
			res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: dir, Lang: "zh", DataAsOf: asOf, SingleFile: single})
			require.NoError(t, err)
			dirs, files = append(dirs, dir), append(files, res.Files)
		}
		require.Equal(t, files[0], files[1])
		for _, f := range files[0] {
			require.True(t, read(t, dirs[0], f) == read(t, dirs[1], f), "single file %v: %s differs between two renders", single, f)
		}
	}
}

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	body, ok := bytes.CutPrefix(data, []byte("\ufeff"))
	require.True(t, ok, "no UTF-8 byte-order mark")
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	return recs
}

func TestCSV(t *testing.T) {
	db := testWarehouse(t)
	_, dir := renderSite(t, db, testPages(t), "zh")
	csvFile := func(f string) [][]string { return readCSV(t, []byte(read(t, dir, f))) }

	require.Equal(t, [][]string{
		{"month", "net_revenue"},
		{"2024-01-01", "1180000.5"},
		{"2024-02-01", "1045000"},
		{"2024-03-01", "1320500.25"},
		{"2024-04-01", "1401234.56"},
		{"2024-05-01", "1389000"},
		{"2024-06-01", "1523456.78"},
	}, csvFile("data/overview/net_revenue.csv"))

	require.Equal(t, [][]string{
		{"month", "active_customers", "new_customers"},
		{"2024-01-01", "4100", "820"},
		{"2024-02-01", "3950", "610"},
		{"2024-03-01", "4420", "905"},
		{"2024-04-01", "4630", "880"},
		{"2024-05-01", "4702", "760"},
		{"2024-06-01", "4911", "948"},
	}, csvFile("data/overview/customers_trend.csv"))

	// Every column of the query, not only the table's; text as it is, a
	// formula defused, NULL empty.
	require.Equal(t, [][]string{
		{"customer_id", "name", "segment", "city", "revenue", "first_order"},
		{"1", "<script>alert(1)</script>", "Retail", "Shanghai", "12345.6", "2023-11-05"},
		{"2", `Zhang "Wei" O'Brien & 张伟`, "Corporate", "北京", "98765.4", "2024-01-12"},
		{"3", "李娜", "Retail", "广州", "4321", "2024-03-30"},
		{"4", `'=HYPERLINK("http://example.invalid")`, "SME <b>", "Shenzhen", "", "2024-05-01"},
	}, csvFile("data/customers/customer_list.csv"))

	// Codes stay codes in the data, whatever the page's labels show.
	pyramid := csvFile("data/value/pyramid.csv")
	require.Equal(t, []string{"value_tier", "customers"}, pyramid[0])
	require.Equal(t, []string{"top_1", "1"}, pyramid[1])
}

// Text from the data never becomes markup: it is escaped in HTML, and in
// the embedded JSON <, > and & are \u escapes.
func TestEscaping(t *testing.T) {
	db := testWarehouse(t)
	res, dir := renderSite(t, db, testPages(t), "en")
	for _, p := range res.Pages {
		for _, lang := range spec.Languages {
			page := read(t, dir, p.Files[lang])
			for _, bad := range []string{"<script>alert", "<img src=x", "<b>", `"Wei"`, "<now>", "<today>", "<Summer>", "<column>"} {
				require.NotContains(t, page, bad, p.Files[lang])
			}
			// Only the page's own four scripts and the JSON data blocks: one
			// per chart, and the filters' data on the overview.
			echarts := 0
			for _, c := range p.Charts {
				if c.Kind.ECharts() && c.Rows > 0 {
					echarts++
				}
			}
			if p.Name == "overview" {
				echarts++
			}
			require.Equal(t, 4, strings.Count(page, "<script src="), p.Files[lang])
			require.Equal(t, echarts, strings.Count(page, `<script type="application/json"`), p.Files[lang])
			require.Equal(t, 4+echarts, strings.Count(page, "<script"), p.Files[lang])
		}
	}
	c := read(t, dir, "customers.html")
	requireCell(t, c, "&lt;script&gt;alert(1)&lt;/script&gt;")
	requireCell(t, c, "Zhang &#34;Wei&#34; O&#39;Brien &amp; 张伟")
	require.Contains(t, c, `\u003cscript\u003ealert(1)\u003c/script\u003e`)
	require.Contains(t, c, `\u003cimg src=x onerror=alert(2)\u003e`)

	// The names on the value and watchlist pages, in both languages.
	for _, f := range []string{"value.html", "watchlist.html", "zh/value.html", "zh/watchlist.html"} {
		page := read(t, dir, f)
		requireCell(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;", f)
		requireCell(t, page, "Zhang &#34;Wei&#34; O&#39;Brien &amp; 张伟", f)
		require.Contains(t, page, `"name":"\u003cscript\u003ealert(1)\u003c/script\u003e"`, f) // the scatter's points
	}
}

func TestLanguages(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	_, enDir := renderSite(t, db, pages, "en")
	e, z := read(t, enDir, "overview.html"), read(t, enDir, "zh/overview.html")
	require.Contains(t, e, `<html lang="en">`)
	require.Contains(t, e, `Data through <time datetime="2024-07-05">2024-07-05</time>`)
	require.Contains(t, e, `Refreshed <time datetime="2024-07-01T06:00:00&#43;08:00">2024-07-01 06:00 UTC&#43;08:00</time>`)
	// The freshness test warns: a banner says so, with the newest order's day.
	require.Contains(t, e, `<div class="banner" role="alert"><p><strong>The data may be out of date:</strong> the newest fct_orders.ordered_at is from 2024-06-27, 3 days before this refresh (freshness test freshness_fct_orders_ordered_at, warning).`)
	// Headings name the month the cards show: the last complete one.
	require.Contains(t, e, "<h2>June 2024, the last complete month</h2>")
	require.Contains(t, e, `<a class="health" href="health.html">Data health</a>`)
	require.Contains(t, e, `<a href="zh/overview.html" hreflang="zh-CN" lang="zh-CN" data-lang-link="zh">中文</a>`)
	require.Contains(t, e, `<link rel="stylesheet" href="assets/crmwh.css">`)
	require.Contains(t, e, `href="data/overview/net_revenue.csv" download="overview-net_revenue.csv"`)
	require.Contains(t, e, "<h3>Net revenue</h3>")
	require.Contains(t, e, `title="¥1,523,456.78"><span class="v">¥1.52M</span></p>`)
	require.Contains(t, e, "▲</span> &#43;9.7% <span class=\"vs\">vs May 2024</span>")
	// A month whose complaints are not all resolvable yet is provisional,
	// and its fall is not shown as bad news.
	require.Regexp(t, `(?s)id="chart-overview-complaint_resolution_rate".*?<span class="badge provisional">provisional</span>.*?<li class="kpi-delta down neutral" data-k="mom">`, e)

	require.Contains(t, z, `<html lang="zh-CN">`)
	require.Contains(t, z, "数据截至 <time")
	require.Contains(t, z, "刷新于 <time")
	require.Contains(t, z, "<h2>2024年6月（最近一个完整月份）</h2>")
	require.Contains(t, z, "数据可能已过时：")
	require.Contains(t, z, `<a class="health" href="health.html">数据健康</a>`)
	require.Contains(t, z, `<a href="../overview.html" hreflang="en" lang="en" data-lang-link="en">English</a>`)
	require.Contains(t, z, `<link rel="stylesheet" href="../assets/crmwh.css">`)
	require.Contains(t, z, `<script src="../assets/echarts.min.js"></script>`)
	require.Contains(t, z, `href="../data/overview/net_revenue.csv"`)
	require.Contains(t, z, "<h3>净收入</h3>")
	require.Contains(t, z, `title="¥1,523,456.78"><span class="v">¥152.35万</span></p>`)
	require.Contains(t, z, "较 2024年5月")
	require.Contains(t, z, `<a href="overview.html" aria-current="page">经营概览</a>`)

	// Labels translate codes from the data; data without a label stays as it is.
	v := read(t, enDir, "zh/value.html")
	requireCell(t, v, "前1%")
	requireCell(t, v, "冠军客户")
	requireCell(t, v, "李娜") // account_manager_name_zh
	requireCell(t, read(t, enDir, "value.html"), "Li Na")
	w := read(t, enDir, "zh/watchlist.html")
	requireCell(t, w, "超期未购，近期投诉，工单未解决，订单金额下降")
	requireCell(t, w, "先解决未结工单，再电话回访")
	r := read(t, enDir, "zh/retention.html")
	requireCell(t, r, "投诉工单")
	requireCell(t, r, "contact:&lt;b&gt;new topic&lt;/b&gt;")

	c := read(t, enDir, "zh/customers.html")
	require.Contains(t, c, `<p class="kpi-delta down good">`) // refunds fell: good news
	require.Contains(t, c, "-0.1个百分点")

	// With Chinese first, the Chinese site is at the top and English in en/.
	res, zhDir := renderSite(t, db, pages, "zh")
	require.Equal(t, map[string]string{"zh": "overview.html", "en": "en/overview.html"}, res.Pages[0].Files)
	require.Contains(t, read(t, zhDir, "overview.html"), `<html lang="zh-CN">`)
	require.Contains(t, read(t, zhDir, "overview.html"), `<a href="en/overview.html" hreflang="en" lang="en" data-lang-link="en">English</a>`)
	require.Contains(t, read(t, zhDir, "en/overview.html"), `<html lang="en">`)
	require.Contains(t, read(t, zhDir, "en/index.html"), `<a href="../index.html" hreflang="zh-CN" lang="zh-CN" data-lang-link="zh">中文</a>`)
}

// Marks: the Pareto curve's 80/20 lines, and the real share held by the
// top 20% on the curve.
func TestMarks(t *testing.T) {
	db := testWarehouse(t)
	res, _ := renderSite(t, db, testPages(t), "en")
	var pareto render.ChartResult
	for _, c := range res.Pages[1].Charts {
		if c.Name == "pareto" {
			pareto = c
		}
	}
	var pl struct {
		Option struct {
			Series []struct {
				MarkLine  *struct{ Data []map[string]any } `json:"markLine"`
				MarkPoint *struct{ Data []map[string]any } `json:"markPoint"`
			}
		}
	}
	require.NoError(t, json.Unmarshal(pareto.JSON["zh"], &pl))
	s := pl.Option.Series
	require.Len(t, s, 2)
	require.Len(t, s[0].MarkLine.Data, 2)
	require.Equal(t, 0.2, s[0].MarkLine.Data[0]["xAxis"]) // x is a number scale
	require.Equal(t, map[string]any{"formatter": "前20%", "position": "insideStartTop"}, s[0].MarkLine.Data[0]["label"])
	require.Equal(t, 0.8, s[0].MarkLine.Data[1]["yAxis"])
	// 1 - 0.8^6 = 73.8%: the real share, not the rule's 80%.
	require.Len(t, s[0].MarkPoint.Data, 1)
	point := s[0].MarkPoint.Data[0]
	require.Equal(t, "73.8%", point["value"])
	require.Equal(t, 0.2, point["coord"].([]any)[0])
	require.InDelta(t, 0.737856, point["coord"].([]any)[1], 1e-12)
	require.Nil(t, s[1].MarkLine)
	require.Nil(t, s[1].MarkPoint)

	p, err := spec.Parse("dashboards/bad_mark.yaml", []byte(`
name: bad-mark
title: {en: Bad mark, zh: 坏标记}
sections:
  - charts:
      - name: pareto
        kind: line
        title: {en: Pareto, zh: 帕累托}
        query: SELECT customer_share, revenue_share FROM mart_pareto ORDER BY 1
        x: {column: customer_share}
        series: [{column: revenue_share, label: {en: Share, zh: 占比}}]
        marks: [{x: 0.205}]
`))
	require.NoError(t, err)
	_, err = render.Render(context.Background(), db, []spec.Page{p}, render.Options{OutDir: t.TempDir(), DataAsOf: asOf})
	require.ErrorContains(t, err, "dashboards/bad_mark.yaml:6: sections[0].charts[0]: chart pareto: marks[0].x: no row has customer_share = 0.205")
}

func TestTruncatedTable(t *testing.T) {
	db := testWarehouse(t)
	p, err := spec.Parse("dashboards/big.yaml", []byte(`
name: big
title: {en: Big, zh: 大}
sections:
  - charts:
      - name: numbers
        kind: table
        title: {en: Numbers, zh: 数字}
        query: SELECT range AS n, CASE WHEN range >= 1200 THEN '=x' || range END AS late, CASE WHEN range >= 1200 THEN range END AS late_n FROM range(1500)
`))
	require.NoError(t, err)
	res, dir := renderSite(t, db, []spec.Page{p}, "en")
	require.Equal(t, 1500, res.Rows)
	require.Equal(t, 1500, res.Pages[0].Charts[0].Rows)
	page := read(t, dir, "big.html")
	require.Equal(t, render.MaxTableRows, strings.Count(page, "<tr><td"))
	require.Contains(t, page, "Showing the first 1,000 of 1,500 rows; the CSV file has them all.")
	require.Contains(t, read(t, dir, "zh/big.html"), "仅显示前 1,000 行（共 1,500 行），完整数据见 CSV 文件。")
	// Only the rows shown are kept in memory, but a column's alignment
	// follows all of them: late is empty in the rows shown and text after
	// them, so it is not a number column; late_n is empty, then numbers.
	require.Contains(t, page, `<th scope="col" data-key="n" class="num">n</th><th scope="col" data-key="late">late</th><th scope="col" data-key="late_n" class="num">late_n</th>`)
	rows := readCSV(t, []byte(read(t, dir, "data/big/numbers.csv")))
	require.Len(t, rows, 1501)
	require.Equal(t, []string{"n", "late", "late_n"}, rows[0])
	require.Equal(t, []string{"999", "", ""}, rows[1000])
	require.Equal(t, []string{"1499", "'=x1499", "1499"}, rows[1500], "written as it is read, formulas defused")
}

// A chart whose query fails, or whose rows do not fit it, is shown as a
// failure in its place; the rest of its page and the other pages are
// written; the error names every failed chart with its file, line and key
// path.
func TestChartErrors(t *testing.T) {
	db := testWarehouse(t)
	p, err := spec.Parse("dashboards/broken.yaml", []byte(`name: broken
title: {en: Broken, zh: 坏}
sections:
  - charts:
      - name: no_table
        kind: table
        title: {en: A, zh: 甲}
        query: SELECT * FROM no_such_table
      - name: no_column
        kind: line
        title: {en: B, zh: 乙}
        query: SELECT month, orders FROM mart_kpi_monthly
        x: {column: month}
        series:
          - {column: revenue, label: {en: Revenue, zh: 收入}}
      - name: text_values
        kind: kpi
        title: {en: C, zh: 丙}
        query: SELECT name FROM customers ORDER BY customer_id
        value: name
      - name: fine
        kind: table
        title: {en: D, zh: 丁}
        query: SELECT 1 AS one
`))
	require.NoError(t, err)
	pages := append(testPages(t)[:1], p)
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: dir, DataAsOf: asOf})
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "rendering dashboards: 3 of 17 charts failed (their pages show the failure)")
	require.Contains(t, msg, "dashboards/broken.yaml:5: sections[0].charts[0]: chart no_table: query: ")
	require.Contains(t, msg, "no_such_table")
	require.Contains(t, msg, `dashboards/broken.yaml:9: sections[0].charts[1]: chart no_column: series[0].column: column "revenue" is not in the query's result (columns: month, orders)`)
	require.Contains(t, msg, `dashboards/broken.yaml:16: sections[0].charts[2]: chart text_values: value: column "name" (VARCHAR) holds "<script>alert(1)</script>" in row 1, not a number`)
	require.NotContains(t, msg, "chart fine")
	var ce *render.ChartError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, "broken", ce.Page)

	require.Equal(t, 3, res.Failed)
	require.Equal(t, "broken", res.Pages[1].Name)
	require.Error(t, res.Pages[1].Charts[0].Err)
	require.NoError(t, res.Pages[1].Charts[3].Err)
	for _, f := range []string{"overview.html", "zh/overview.html", "broken.html", "zh/broken.html", "data/broken/fine.csv"} {
		require.Contains(t, res.Files, f)
	}
	require.NotContains(t, res.Files, "data/broken/no_table.csv")
	page := read(t, dir, "broken.html")
	require.Equal(t, 3, strings.Count(page, `<div class="chart-error"`))
	require.Contains(t, page, "This chart could not be drawn in the last refresh:")
	require.Contains(t, page, "holds &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; in row 1")
	require.NotContains(t, page, "<script>alert")
	require.Contains(t, read(t, dir, "zh/broken.html"), "上次刷新时无法绘制此图表：")
	require.Regexp(t, regexp.MustCompile(`(?s)<h3>D</h3>.*<td class="num" data-label="one">1</td>`), page)
}

func TestOptions(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	for _, tc := range []struct {
		name string
		o    render.Options
		want string
	}{
		{"no dir", render.Options{DataAsOf: asOf}, "no output folder"},
		{"no as-of", render.Options{OutDir: t.TempDir()}, "no data-as-of time"},
		{"language", render.Options{OutDir: t.TempDir(), DataAsOf: asOf, Lang: "fr"}, `unknown language "fr" (expected one of: en, zh)`},
		{"currency", render.Options{OutDir: t.TempDir(), DataAsOf: asOf, Currency: "yuan"}, `invalid currency "yuan"`},
		{"page", render.Options{OutDir: t.TempDir(), DataAsOf: asOf, Pages: []string{"nope"}}, `no page named "nope" (pages: overview, value, retention, segments, cross_sell, watchlist, account_managers, service, health, appendix, customers)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render.Render(context.Background(), db, pages, tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// Currency comes from the options (crmwh.yaml), in every format.
func TestCurrency(t *testing.T) {
	db := testWarehouse(t)
	dir := t.TempDir()
	_, err := render.Render(context.Background(), db, testPages(t)[:1], render.Options{OutDir: dir, DataAsOf: asOf, Currency: "USD"})
	require.NoError(t, err)
	require.Contains(t, read(t, dir, "overview.html"), `title="$1,523,456.78"><span class="v">$1.52M</span></p>`)
	require.Contains(t, read(t, dir, "zh/overview.html"), `title="$1,523,456.78"><span class="v">$152.35万</span></p>`)
	require.Contains(t, read(t, dir, "overview.html"), `data-currency="USD"`)
}

// Options.Pages renders some pages; the navigation still has them all.
func TestSomePages(t *testing.T) {
	db := testWarehouse(t)
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, testPages(t), render.Options{OutDir: dir, DataAsOf: asOf, Pages: []string{"value"}})
	require.NoError(t, err)
	require.Len(t, res.Pages, 1)
	require.Equal(t, "value", res.Pages[0].Name)
	require.Contains(t, res.Files, "value.html")
	require.Contains(t, res.Files, "zh/value.html")
	require.NotContains(t, res.Files, "overview.html")
	require.NoFileExists(t, filepath.Join(dir, "overview.html"))
	require.Contains(t, read(t, dir, "value.html"), `<a href="overview.html">Executive overview</a>`)
}

// A single file holds every page in both languages, the scripts, styles
// and icon inlined and the CSV data as data: URLs; nothing else is written.
func TestSingleFile(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	_, folder := renderSite(t, db, pages, "en")
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: dir, DataAsOf: asOf, SingleFile: true})
	require.NoError(t, err)
	require.Equal(t, []string{render.SingleFileName}, res.Files)
	require.Equal(t, render.SingleFileName, res.Index)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "#en-overview", res.Pages[0].File)
	require.Equal(t, "en-chart-overview-what_changed", res.Pages[0].Charts[0].ID)
	require.Empty(t, res.Pages[0].Charts[0].CSV)
	require.NotContains(t, res.Files, render.ChangesFile, "a single file is the only file")

	page := read(t, dir, render.SingleFileName)
	require.NotContains(t, page, "<script src=")
	require.NotContains(t, page, `href="assets/`)
	// Every link is to a part of the file or a data: URL.
	for _, m := range regexp.MustCompile(`(?:href|src)="([^"]*)"`).FindAllStringSubmatch(page[:strings.Index(page, "<script>")], -1) {
		require.True(t, strings.HasPrefix(m[1], "#") || strings.HasPrefix(m[1], "data:"), "link to %.60s", m[1])
	}
	require.Contains(t, page, `<link rel="icon" href="data:image/svg&#43;xml;base64,`)
	require.Contains(t, page, "<style>")
	require.Equal(t, 4, strings.Count(page, "<script>"))
	for _, p := range res.Pages {
		for _, lang := range spec.Languages {
			require.Contains(t, page, `<div class="view" id="`+lang+`-`+p.Name+`"`)
		}
	}
	require.Contains(t, page, `<div class="view" id="zh-index" lang="zh-CN" data-lang="zh"`)
	require.Contains(t, page, `<a href="#zh-overview" hreflang="zh-CN" lang="zh-CN" data-lang-link="zh">中文</a>`)
	require.Contains(t, page, `<a class="health" href="#en-health">Data health</a>`)
	require.Contains(t, page, `id="zh-chart-value-pareto"`)
	require.NotContains(t, page, "<script>alert")

	// Each chart's data is its CSV file, as a data: URL.
	m := regexp.MustCompile(`href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=&#;]+)" download="customers-customer_list.csv"`).FindStringSubmatch(page)
	require.NotNil(t, m)
	data, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	require.NoError(t, err)
	require.Equal(t, read(t, folder, "data/customers/customer_list.csv"), string(data))
}

func TestCancelled(t *testing.T) {
	db := testWarehouse(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	_, err := render.Render(ctx, db, testPages(t), render.Options{OutDir: dir, DataAsOf: asOf})
	require.ErrorIs(t, err, context.Canceled)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}

// TestWhenAndNotice: when mart_clv_status says CLV is unavailable, the
// value page hides its CLV sections (their queries do not run) and shows
// the reason, in each language, and the health page lists it; a "when"
// query that fails shows its section and is reported.
func TestWhenAndNotice(t *testing.T) {
	db := testWarehouse(t)
	_, err := db.Exec(`UPDATE mart_clv_status SET status = 'unavailable', purchase_model = NULL, spend_model = NULL,
		reason = 'turned off in crmwh.yaml (analytics.clv: off)', reason_zh = '已在 crmwh.yaml 中关闭（analytics.clv: off）';
		ALTER TABLE mart_clv_model RENAME TO hidden_clv_model`)
	require.NoError(t, err)
	res, dir := renderSite(t, db, testPages(t), "en")
	value := read(t, dir, "value.html")
	require.Contains(t, value, `<div class="notice-text" id="chart-value-clv_unavailable" role="note">`+"\n<p>turned off in crmwh.yaml (analytics.clv: off)</p>")
	require.Contains(t, read(t, dir, "zh/value.html"), "<p>已在 crmwh.yaml 中关闭（analytics.clv: off）</p>")
	for _, hidden := range []string{"pyramid", "clv_distribution", "top_customers", "segment_customers"} {
		require.NotContains(t, value, "chart-value-"+hidden, "the section is hidden")
	}
	require.Contains(t, value, "chart-value-top20_share", "the 80/20 section stays")
	require.Contains(t, read(t, dir, "health.html"), "turned off in crmwh.yaml (analytics.clv: off)")
	for _, p := range res.Pages {
		if p.Name == "value" {
			var names []string
			for _, c := range p.Charts {
				names = append(names, c.Name)
			}
			require.Equal(t, []string{"top20_share", "top1_share", "pareto", "clv_unavailable"}, names)
		}
	}

	// With CLV available, the notice section is the hidden one.
	_, err = db.Exec(`UPDATE mart_clv_status SET status = 'ok'; ALTER TABLE hidden_clv_model RENAME TO mart_clv_model`)
	require.NoError(t, err)
	pages := testPages(t)
	_, dir = renderSite(t, db, pages, "en")
	require.NotContains(t, read(t, dir, "value.html"), "chart-value-clv_unavailable")

	// A failing "when" query: the section is shown and the error names it.
	for i := range pages {
		if pages[i].Name == "value" {
			pages[i].Sections[1].When = "SELECT no_such_column FROM mart_clv_status"
		}
	}
	_, err = render.Render(context.Background(), db, pages, render.Options{OutDir: t.TempDir(), DataAsOf: asOf})
	var se *render.SectionError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "value", se.Page)
	require.Contains(t, err.Error(), "value.yaml:")
	require.Contains(t, err.Error(), "sections[1]: when: ")
}

// requireCell fails unless the page has a table cell holding exactly the
// (HTML-escaped) text.
func requireCell(t *testing.T, page, text string, msg ...any) {
	t.Helper()
	require.Regexp(t, regexp.MustCompile(`<td[^>]*>(<a [^>]*>)?`+regexp.QuoteMeta(text)+`(</a>)?</td>`), page, msg...)
}

// Targets from dashboards/targets.yaml: the card says how far off the
// month is, in the metric's good direction; a trend of the metric draws
// the target as a line.
func TestTargets(t *testing.T) {
	db := testWarehouse(t)
	metrics, err := os.ReadFile("../metrics.yaml")
	require.NoError(t, err)
	fsys := fstest.MapFS{
		"d/metrics.yaml": {Data: metrics},
		"d/targets.yaml": {Data: []byte("targets:\n  net_revenue:\n    - {value: 1000000}\n    - {from: 2024-06, value: 1600000}\n  complaints_per_1000:\n    - {value: 9}\n")},
		"d/t.yaml": {Data: []byte(`name: t
title: {en: T, zh: 目标}
sections:
  - charts:
      - {name: rev, kind: kpi, metric: net_revenue}
      - {name: complaints, kind: kpi, metric: complaints_per_1000}
      - {name: trend, kind: line, title: {en: Trend, zh: 趋势}, metrics: [net_revenue]}
`)},
	}
	pages, err := spec.Load(fsys, "d")
	require.NoError(t, err)
	res, dir := renderSite(t, db, pages, "en")
	page := read(t, dir, "t.html")
	// June: ¥1,523,456.78 against ¥1.6M is 4.8% short, which is bad news;
	// 44 complaints of 4,911 active customers (8.96 per 1,000) against 9
	// is under, which is good.
	has := func(s string) { t.Helper(); require.True(t, strings.Contains(page, s), "t.html lacks %s", s) }
	has(`<p class="kpi-target bad">Target ¥1.6M · -4.8%</p>`)
	has(`<p class="kpi-target good">Target 9 · -0.5%</p>`)
	has(`class="spark-target"`)
	var pl struct {
		Target struct {
			Name   string     `json:"name"`
			Values []*float64 `json:"values"`
		} `json:"target"`
	}
	require.NoError(t, json.Unmarshal(res.Pages[0].Charts[2].JSON["en"], &pl))
	require.Equal(t, "Target", pl.Target.Name)
	var got []float64
	for _, v := range pl.Target.Values {
		got = append(got, *v)
	}
	require.Equal(t, []float64{1e6, 1e6, 1e6, 1e6, 1e6, 1.6e6}, got)
}

// Colours keep their meaning: a warning is amber, never green; the 1-5
// rating scale runs from red to green.
func TestColors(t *testing.T) {
	db := testWarehouse(t)
	res, _ := renderSite(t, db, testPages(t), "en")
	colors := func(page, chart string) map[string]string {
		for _, p := range res.Pages {
			for _, c := range p.Charts {
				if p.Name == page && c.Name == chart {
					var pl struct {
						Option struct {
							Series []struct {
								Data []struct {
									Name      string            `json:"name"`
									ItemStyle map[string]string `json:"itemStyle"`
								} `json:"data"`
							} `json:"series"`
						} `json:"option"`
					}
					require.NoError(t, json.Unmarshal(c.JSON["en"], &pl))
					out := map[string]string{}
					for _, d := range pl.Option.Series[0].Data {
						out[d.Name] = d.ItemStyle["color"]
					}
					return out
				}
			}
		}
		t.Fatalf("no chart %s on %s", chart, page)
		return nil
	}
	require.Equal(t, map[string]string{"Pass": "#1a7f37", "Warning": "#d97706", "Fail": "#c62828"}, colors("health", "test_statuses"))
	require.Equal(t, map[string]string{"Rated 1": "#c62828", "Rated 2": "#ef6c00", "Rated 3": "#f9a825", "Rated 4": "#7cb342", "Rated 5": "#2e7d32"},
		colors("service", "satisfaction_scores"))
}

// A summary tells of the metrics it can read: one whose model is missing
// (CLV switched off, say) is left out of it, not the whole summary; a card
// of that metric fails in its place.
func TestSummaryWithAMissingModel(t *testing.T) {
	db := testWarehouse(t)
	metrics, err := os.ReadFile("../metrics.yaml")
	require.NoError(t, err)
	fsys := fstest.MapFS{
		"d/metrics.yaml": {Data: append(metrics, []byte("  gone:\n    label: {en: Gone, zh: 无}\n    from: no_such_model\n    sum: x\n")...)},
		"d/s.yaml": {Data: []byte(`name: s
title: {en: S, zh: 摘要}
sections:
  - charts:
      - {name: changes, kind: summary, title: {en: What changed, zh: 变化}, metrics: [net_revenue, gone]}
      - {name: gone, kind: kpi, metric: gone}
`)},
	}
	pages, err := spec.Load(fsys, "d")
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: dir, DataAsOf: asOf})
	require.ErrorContains(t, err, "1 of 2 charts failed")
	require.ErrorContains(t, err, "metrics model no_such_model")
	require.NoError(t, res.Pages[0].Charts[0].Err)
	require.NotNil(t, res.Changes)
	require.Equal(t, "net_revenue", res.Changes.Moves[0].Metric)
	require.Equal(t, "Net revenue: +9.7% to ¥1.52M (vs May 2024)", res.Changes.Moves[0].Text["en"])
	require.FileExists(t, filepath.Join(dir, render.ChangesFile))
}
