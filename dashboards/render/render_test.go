package render_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
	"crmwh/warehouse/duckdb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// asOf is the data-as-of time every test site shows.
var asOf = time.Date(2024, 7, 1, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))

// testWarehouse builds a small real DuckDB file from testdata/warehouse.sql.
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

func renderSite(t testing.TB, db *sql.DB, pages []spec.Page, lang string) (render.Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: dir, Lang: lang, DataAsOf: asOf})
	require.NoError(t, err)
	return res, dir
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

func TestGolden(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	for _, lang := range spec.Languages {
		t.Run(lang, func(t *testing.T) {
			res, dir := renderSite(t, db, pages, lang)
			for _, p := range res.Pages {
				for _, c := range p.Charts {
					var b bytes.Buffer
					require.NoError(t, json.Indent(&b, c.JSON, "", "  "))
					b.WriteByte('\n')
					golden(t, filepath.Join("testdata", "golden", lang, p.Name, c.Name+".json"), b.Bytes())
				}
				html, err := os.ReadFile(filepath.Join(dir, p.File))
				require.NoError(t, err)
				golden(t, filepath.Join("testdata", "golden", lang, p.File), html)
			}
			index, err := os.ReadFile(filepath.Join(dir, res.Index))
			require.NoError(t, err)
			golden(t, filepath.Join("testdata", "golden", lang, res.Index), index)
		})
	}
}

func TestResult(t *testing.T) {
	db := testWarehouse(t)
	res, dir := renderSite(t, db, testPages(t), "en")
	require.Equal(t, dir, res.Dir)
	require.Equal(t, "index.html", res.Index)
	require.Len(t, res.Pages, 2)
	require.Equal(t, "overview", res.Pages[0].Name)
	require.Equal(t, "overview.html", res.Pages[0].File)
	require.Equal(t, "customers", res.Pages[1].Name)
	require.Equal(t, 6+7, res.Charts)

	c := res.Pages[0].Charts[4]
	require.Equal(t, "revenue_trend", c.Name)
	require.Equal(t, spec.Bar, c.Kind)
	require.Equal(t, "chart-overview-revenue_trend", c.ID)
	require.Equal(t, "data/overview/revenue_trend.csv", c.CSV)
	require.Equal(t, 6, c.Rows)

	for _, f := range []string{
		"index.html", "overview.html", "customers.html",
		"assets/echarts.min.js", "assets/crmwh.js", "assets/crmwh.css", "assets/favicon.svg",
		"data/overview/net_revenue.csv", "data/customers/customer_list.csv",
	} {
		require.Contains(t, res.Files, f)
		require.FileExists(t, filepath.Join(dir, f))
	}
	rows := 0
	for _, p := range res.Pages {
		for _, c := range p.Charts {
			rows += c.Rows
		}
	}
	require.Equal(t, rows, res.Rows)
}

// The same warehouse, pages and options give the same bytes.
func TestDeterministic(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	for _, lang := range spec.Languages {
		a, dirA := renderSite(t, db, pages, lang)
		b, dirB := renderSite(t, db, pages, lang)
		require.Equal(t, a.Files, b.Files)
		for _, f := range a.Files {
			fa, err := os.ReadFile(filepath.Join(dirA, f))
			require.NoError(t, err)
			fb, err := os.ReadFile(filepath.Join(dirB, f))
			require.NoError(t, err)
			require.True(t, bytes.Equal(fa, fb), "%s: %s differs between two renders", lang, f)
		}
	}
}

func readCSV(t *testing.T, file string) [][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	body, ok := bytes.CutPrefix(data, []byte("\ufeff"))
	require.True(t, ok, "%s has no UTF-8 byte-order mark", file)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	return recs
}

func TestCSV(t *testing.T) {
	db := testWarehouse(t)
	_, dir := renderSite(t, db, testPages(t), "zh")

	require.Equal(t, [][]string{
		{"month", "net_revenue"},
		{"2024-01-01", "1180000.5"},
		{"2024-02-01", "1045000"},
		{"2024-03-01", "1320500.25"},
		{"2024-04-01", "1401234.56"},
		{"2024-05-01", "1389000"},
		{"2024-06-01", "1523456.78"},
	}, readCSV(t, filepath.Join(dir, "data/overview/net_revenue.csv")))

	require.Equal(t, [][]string{
		{"month", "active_customers", "new_customers"},
		{"2024-01-01", "4100", "820"},
		{"2024-02-01", "3950", "610"},
		{"2024-03-01", "4420", "905"},
		{"2024-04-01", "4630", "880"},
		{"2024-05-01", "4702", "760"},
		{"2024-06-01", "4911", "948"},
	}, readCSV(t, filepath.Join(dir, "data/overview/customers_trend.csv")))

	// Every column of the query, not only the table's; text as it is, a
	// formula defused, NULL empty.
	require.Equal(t, [][]string{
		{"customer_id", "name", "segment", "city", "revenue", "first_order"},
		{"1", "<script>alert(1)</script>", "Retail", "Shanghai", "12345.6", "2023-11-05"},
		{"2", `Zhang "Wei" O'Brien & 张伟`, "Corporate", "北京", "98765.4", "2024-01-12"},
		{"3", "李娜", "Retail", "广州", "4321", "2024-03-30"},
		{"4", `'=HYPERLINK("http://example.invalid")`, "SME <b>", "Shenzhen", "", "2024-05-01"},
	}, readCSV(t, filepath.Join(dir, "data/customers/customer_list.csv")))
}

// Text from the data never becomes markup: it is escaped in HTML, and in
// the embedded JSON <, > and & are \u escapes.
func TestEscaping(t *testing.T) {
	db := testWarehouse(t)
	for _, lang := range spec.Languages {
		_, dir := renderSite(t, db, testPages(t), lang)
		data, err := os.ReadFile(filepath.Join(dir, "customers.html"))
		require.NoError(t, err)
		page := string(data)
		for _, bad := range []string{"<script>alert(1)", "<img src=x", "<b>", `"Wei"`} {
			require.NotContains(t, page, bad)
		}
		require.Contains(t, page, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>")
		require.Contains(t, page, "<td>Zhang &#34;Wei&#34; O&#39;Brien &amp; 张伟</td>")
		require.Contains(t, page, `\u003cscript\u003ealert(1)\u003c/script\u003e`)
		require.Contains(t, page, `\u003cimg src=x onerror=alert(2)\u003e`)
		// Only the page's own two scripts and the JSON data blocks.
		require.Equal(t, 2, strings.Count(page, "<script src="))
		require.Equal(t, 3, strings.Count(page, `<script type="application/json"`))
		require.Equal(t, 5, strings.Count(page, "<script"))
	}
}

func TestLanguages(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	_, en := renderSite(t, db, pages, "en")
	_, zh := renderSite(t, db, pages, "zh")
	read := func(dir, f string) string {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		return string(b)
	}
	e, z := read(en, "overview.html"), read(zh, "overview.html")
	require.Contains(t, e, `<html lang="en">`)
	require.Contains(t, e, "Data as of <time datetime=\"2024-07-01T06:00:00&#43;08:00\">2024-07-01 06:00 UTC&#43;08:00</time>")
	require.Contains(t, e, "<h3>Net revenue</h3>")
	require.Contains(t, e, `title="¥1,523,456.78">¥1.52M</p>`)
	require.Contains(t, e, "▲</span> &#43;9.7% <span class=\"vs\">vs May 2024</span>")

	require.Contains(t, z, `<html lang="zh-CN">`)
	require.Contains(t, z, "数据截至 <time")
	require.Contains(t, z, "<h3>净收入</h3>")
	require.Contains(t, z, `title="¥1,523,456.78">¥152.35万</p>`)
	require.Contains(t, z, "较 2024年5月")
	require.Contains(t, z, `<a href="overview.html" aria-current="page">经营概览</a>`)

	c := read(zh, "customers.html")
	require.Contains(t, c, `<p class="kpi-delta down good">`) // refunds fell: good news
	require.Contains(t, c, "-0.1个百分点")
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
        query: SELECT range AS n FROM range(1500)
`))
	require.NoError(t, err)
	res, dir := renderSite(t, db, []spec.Page{p}, "en")
	require.Equal(t, 1500, res.Rows)
	page, err := os.ReadFile(filepath.Join(dir, "big.html"))
	require.NoError(t, err)
	require.Equal(t, render.MaxTableRows, strings.Count(string(page), "<tr><td"))
	require.Contains(t, string(page), "Showing the first 1000 of 1500 rows; the CSV file has them all.")
	require.Len(t, readCSV(t, filepath.Join(dir, "data/big/numbers.csv")), 1501)
}

// Query and data problems of every chart come back at once, each naming
// the file, line, key path and chart; nothing is written.
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
	dir := t.TempDir()
	_, err = render.Render(context.Background(), db, []spec.Page{p}, render.Options{OutDir: dir, DataAsOf: asOf})
	require.Error(t, err)
	msg := err.Error()
	require.Contains(t, msg, "dashboards/broken.yaml:5: sections[0].charts[0]: chart no_table: query: ")
	require.Contains(t, msg, "no_such_table")
	require.Contains(t, msg, `dashboards/broken.yaml:9: sections[0].charts[1]: chart no_column: series[0].column: column "revenue" is not in the query's result (columns: month, orders)`)
	require.Contains(t, msg, `dashboards/broken.yaml:16: sections[0].charts[2]: chart text_values: value: column "name" (VARCHAR) holds "<script>alert(1)</script>" in row 1, not a number`)
	require.NotContains(t, msg, "chart fine")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "a failed render wrote files")
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render.Render(context.Background(), db, pages, tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := render.Render(context.Background(), db, pages, render.Options{OutDir: t.TempDir(), DataAsOf: asOf, SingleFile: true})
	require.True(t, errors.Is(err, render.ErrSingleFileNotSupported))
}

func TestCancelled(t *testing.T) {
	db := testWarehouse(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := render.Render(ctx, db, testPages(t), render.Options{OutDir: t.TempDir(), DataAsOf: asOf})
	require.ErrorIs(t, err, context.Canceled)
}
