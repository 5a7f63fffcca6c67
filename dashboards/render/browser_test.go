package render_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/browsertest"
	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
)

// drawnJS is true once every chart of the page (or of the single file's
// view on show) has been drawn.
const drawnJS = `document.querySelectorAll('%s [data-echart]:not([data-rendered])').length === 0`

// showTipsJS shows the tooltip of every data item of every series of every
// chart drawn, so that names from the data pass through ECharts' tooltip
// HTML (and through our own tooltip formatters).
const showTipsJS = `(() => {
  let shown = 0;
  for (const chart of crmwh.charts) {
    const series = chart.getOption().series;
    series.forEach((s, si) => {
      for (let i = 0; i < (s.data || []).length; i++) {
        chart.dispatchAction({type: 'showTip', seriesIndex: si, dataIndex: i});
        shown++;
      }
    });
  }
  return shown;
})()`

// tipJS shows the tooltip of a chart's first data item and returns the
// tooltip's text.
const tipJS = `(() => {
  const el = document.getElementById(%q);
  echarts.getInstanceByDom(el).dispatchAction({type: 'showTip', seriesIndex: %d, dataIndex: 0});
  const tip = Array.from(el.querySelectorAll('div')).find(d => d.style.position === 'absolute' && d.textContent);
  return tip ? tip.textContent : '';
})()`

// Every page of the site, in English and Chinese, in real Chromium from
// file://: no errors, no requests outside the site, every chart painted,
// Chinese drawn in a CJK font, data shown as text, and no script from the
// data ever runs.
func TestBrowser(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	b := browsertest.Start(t)
	res, dir := renderSite(t, db, pages, "en")

	for _, lang := range spec.Languages {
		t.Run(lang, func(t *testing.T) {
			files := []string{map[string]string{"en": "index.html", "zh": "zh/index.html"}[lang]}
			echarts := map[string][]string{} // page file -> chart ids drawn by ECharts
			for _, p := range res.Pages {
				f := p.Files[lang]
				files = append(files, f)
				for _, c := range p.Charts {
					if c.Kind.ECharts() && c.Rows > 0 {
						echarts[f] = append(echarts[f], c.ID)
					}
				}
			}
			for _, f := range files {
				t.Run(filepath.Base(f), func(t *testing.T) {
					p := b.Open(t, filepath.Join(dir, f))
					p.WaitFor(t, fmt.Sprintf(drawnJS, ""))

					var ids []string
					for _, c := range p.Charts(t) {
						ids = append(ids, c.ID)
						require.True(t, c.Canvas, "%s has no canvas", c.ID)
						require.Greater(t, c.Width*c.Height, 0, "%s has an empty canvas", c.ID)
						require.Greater(t, c.Painted, 2000, "%s looks blank: %d painted pixels of %dx%d", c.ID, c.Painted, c.Width, c.Height)
					}
					require.Equal(t, echarts[f], ids)
					p.Screenshot(t, lang+"-"+strings.TrimSuffix(filepath.Base(f), ".html"))

					if len(ids) > 0 {
						require.Positive(t, browsertest.Eval[int](t, p, showTipsJS))
					}
					// Nothing from the data became an element.
					require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
					scripts := 0 // the index has none; pages have four plus one JSON block per chart
					if !strings.HasSuffix(f, "index.html") {
						scripts = 4 + len(ids)
						if strings.HasSuffix(f, "overview.html") {
							scripts++ // the filters' data
						}
					}
					require.Equal(t, scripts, browsertest.Eval[int](t, p, `document.scripts.length`))

					html := map[string]string{"en": "en", "zh": "zh-CN"}[lang]
					require.Equal(t, html, browsertest.Eval[string](t, p, `document.documentElement.lang`))
					text := browsertest.Eval[string](t, p, `document.body.innerText`)
					if lang == "zh" {
						require.Contains(t, text, "数据截至")
						require.Contains(t, text, "刷新于")
						require.Contains(t, text, "经营概览")
						require.Contains(t, text, "数据健康")
						// What the reader sees is drawn in a CJK font, not boxes.
						for _, sel := range []string{"h1", "header.site nav li a"} {
							fonts := p.Fonts(t, sel)
							require.NotEmpty(t, fonts, sel)
							require.Contains(t, fonts[0].Family, "CJK", "%s is drawn with %v", sel, fonts)
						}
					} else {
						require.Contains(t, text, "Data through 2024-07-05")
						require.Contains(t, text, "Refreshed 2024-07-01 06:00")
						require.Contains(t, text, "The data may be out of date")
						require.Contains(t, text, "Data health")
					}
					// ECharts draws with the page's fonts.
					if len(ids) > 0 {
						require.Equal(t,
							browsertest.Eval[string](t, p, `getComputedStyle(document.body).fontFamily`),
							browsertest.Eval[string](t, p, `crmwh.charts[0].getOption().textStyle.fontFamily`))
					}
					// The language link leads to the same page in the other language.
					other := browsertest.Eval[string](t, p, `document.querySelector('[data-lang-link]').href`)
					want := map[string]string{"en": "zh/", "zh": ""}[lang] + filepath.Base(f)
					wantURL, err := browsertest.FileURL(filepath.Join(dir, want))
					require.NoError(t, err)
					require.Equal(t, wantURL, other)
					p.RequireClean(t, dir)
				})
			}

			t.Run("text from the data", func(t *testing.T) {
				value := map[string]string{"en": "value.html", "zh": "zh/value.html"}[lang]
				p := b.Open(t, filepath.Join(dir, value))
				p.WaitFor(t, fmt.Sprintf(drawnJS, ""))
				cells := browsertest.Eval[[]string](t, p,
					`Array.from(document.querySelectorAll('#chart-value-top_customers tbody tr td:first-child')).map(td => td.textContent)`)
				require.Contains(t, cells, "<script>alert(1)</script>")
				require.Contains(t, cells, `Zhang "Wei" O'Brien & 张伟`)
				require.Contains(t, cells, `=cmd|' /C calc'!A0`)
				// The scatter's tooltip names the customer, as text.
				require.Contains(t, browsertest.Eval[string](t, p, fmt.Sprintf(tipJS, "chart-value-value_and_survival", 0)), "<script>alert(1)</script>")
				require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
				p.RequireClean(t, dir)

				watch := map[string]string{"en": "watchlist.html", "zh": "zh/watchlist.html"}[lang]
				p = b.Open(t, filepath.Join(dir, watch))
				p.WaitFor(t, fmt.Sprintf(drawnJS, ""))
				cells = browsertest.Eval[[]string](t, p,
					`Array.from(document.querySelectorAll('#chart-watchlist-watchlist tbody tr td:nth-child(2)')).map(td => td.textContent)`)
				require.Equal(t, []string{`Zhang "Wei" O'Brien & 张伟`, "<script>alert(1)</script>", "Zhao Lei", "Zhou Xun"}, cells)
				tip := browsertest.Eval[string](t, p, fmt.Sprintf(tipJS, "chart-watchlist-risk_map", 1))
				require.Contains(t, tip, "<script>alert(1)</script>")
				require.Contains(t, tip, map[string]string{"en": "P(alive): 28.0%", "zh": "存活概率: 28.0%"}[lang])
				require.Contains(t, tip, "¥9,800.00")
				require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
				p.RequireClean(t, dir)

				customers := map[string]string{"en": "customers.html", "zh": "zh/customers.html"}[lang]
				p = b.Open(t, filepath.Join(dir, customers))
				p.WaitFor(t, fmt.Sprintf(drawnJS, ""))
				require.Contains(t, browsertest.Eval[string](t, p, fmt.Sprintf(tipJS, "chart-customers-top_customers", 0)), "<script>alert(1)</script>")
				require.Contains(t, browsertest.Eval[string](t, p, fmt.Sprintf(tipJS, "chart-customers-segment_funnel", 0)), `Zhang "Wei" O'Brien & 张伟`)
				require.Contains(t, browsertest.Eval[string](t, p, fmt.Sprintf(tipJS, "chart-customers-segment_heatmap", 0)), "<img src=x onerror=alert(2)>")
				require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
				p.RequireClean(t, dir)
			})

			t.Run("locale and formats", func(t *testing.T) {
				overview := map[string]string{"en": "overview.html", "zh": "zh/overview.html"}[lang]
				p := b.Open(t, filepath.Join(dir, overview))
				p.WaitFor(t, fmt.Sprintf(drawnJS, ""))
				// ECharts' own texts follow the page's language.
				month := browsertest.Eval[string](t, p,
					`crmwh.charts[0].getModel().getLocaleModel().get(['time', 'monthAbbr'])[0]`)
				require.Equal(t, map[string]string{"en": "Jan", "zh": "1月"}[lang], month)
				save := browsertest.Eval[string](t, p, `crmwh.charts[0].getModel().getComponent('toolbox').getModel(['feature', 'saveAsImage']).get('title')`)
				require.Equal(t, map[string]string{"en": "Save as Image", "zh": "保存为图片"}[lang], save)
				// Tooltips format numbers the page's way.
				require.Contains(t, browsertest.Eval[string](t, p, fmt.Sprintf(tipJS, "chart-overview-revenue_trend", 0)), "¥1,180,000.50")

				// crmwh.format in the page writes numbers as Formatter does.
				f := render.Formatter{Lang: lang, Currency: "CNY"}
				var calls []string
				var want []string
				for _, c := range formatCases {
					if c.lang != lang {
						continue
					}
					v := strconv.FormatFloat(c.v, 'g', -1, 64)
					calls = append(calls,
						fmt.Sprintf("crmwh.format(%s, %q, false)", v, c.format),
						fmt.Sprintf("crmwh.format(%s, %q, true)", v, c.format))
					want = append(want, f.Number(c.v, c.format), f.Compact(c.v, c.format))
				}
				got := browsertest.Eval[[]string](t, p, "["+strings.Join(calls, ", ")+"]")
				require.Equal(t, want, got)
				p.RequireClean(t, dir)
			})
		})
	}
}

// The single file opens on its own, with no other file beside it: every
// view of every page in both languages shows when its link is followed,
// with its charts drawn, and nothing is requested.
func TestBrowserSingleFile(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	out := t.TempDir()
	res, err := render.Render(context.Background(), db, pages, render.Options{OutDir: out, Lang: "zh", DataAsOf: asOf, SingleFile: true, NoAnimation: true})
	require.NoError(t, err)
	// Alone in a folder of its own.
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(out, res.Index))
	require.NoError(t, err)
	file := filepath.Join(dir, "dashboards.html")
	require.NoError(t, os.WriteFile(file, data, 0o644))

	b := browsertest.Start(t)
	p := b.Open(t, file)
	p.WaitFor(t, `document.querySelector('.view.shown') !== null`)
	// The site's language first: the Chinese index.
	require.Equal(t, "zh-index", browsertest.Eval[string](t, p, `document.querySelector('.view.shown').id`))
	require.Equal(t, "zh-CN", browsertest.Eval[string](t, p, `document.documentElement.lang`))
	require.Equal(t, "仪表板 · crmwh", browsertest.Eval[string](t, p, `document.title`))

	views := browsertest.Eval[[]string](t, p, `Array.from(document.querySelectorAll('.view')).map(v => v.id)`)
	require.Len(t, views, 2*(len(res.Pages)+1))
	for _, id := range views {
		browsertest.Eval[bool](t, p, fmt.Sprintf(`(location.hash = %q, true)`, "#"+id))
		p.WaitFor(t, fmt.Sprintf(`document.querySelector('.view.shown') && document.querySelector('.view.shown').id === %q`, id))
		p.WaitFor(t, fmt.Sprintf(drawnJS, "#"+id))
		require.Equal(t, 1, browsertest.Eval[int](t, p, `document.querySelectorAll('.view.shown').length`))
		charts := browsertest.Eval[[]browsertest.ChartCanvas](t, p, fmt.Sprintf(`Array.from(document.querySelectorAll('#%s [data-echart]')).map(el => {
		  const c = el.querySelector('canvas');
		  if (!c) return {id: el.id, canvas: false, width: 0, height: 0, painted: 0};
		  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		  let n = 0;
		  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
		  return {id: el.id, canvas: true, width: c.width, height: c.height, painted: n};
		})`, id))
		for _, c := range charts {
			require.True(t, c.Canvas, "%s has no canvas", c.ID)
			require.Greater(t, c.Painted, 2000, "%s looks blank", c.ID)
		}
		if id == "en-value" || id == "zh-watchlist" {
			p.Screenshot(t, "single-"+id)
		}
	}
	// Following a link shows the page it names.
	browsertest.Eval[bool](t, p, `(location.hash = '#en-index', true)`)
	p.WaitFor(t, `document.querySelector('.view.shown').id === 'en-index'`)
	browsertest.Eval[bool](t, p, `(document.querySelector('#en-index [data-lang-link]').click(), true)`)
	p.WaitFor(t, `document.querySelector('.view.shown').id === 'zh-index'`)
	browsertest.Eval[bool](t, p, `(document.querySelector('#zh-index ul.pages a').click(), true)`)
	p.WaitFor(t, `document.querySelector('.view.shown').id === 'zh-overview'`)
	require.Equal(t, "经营概览 · crmwh", browsertest.Eval[string](t, p, `document.title`))
	require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
	p.RequireClean(t, dir)
	for _, u := range p.Requests() {
		require.True(t, strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "data:"), u)
	}
}
