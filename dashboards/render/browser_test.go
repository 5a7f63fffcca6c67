package render_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/browsertest"
	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
)

// showTipsJS shows the tooltip of every data point of every chart, so that
// names from the data pass through ECharts' tooltip HTML.
const showTipsJS = `(() => {
  let shown = 0;
  for (const chart of crmwh.charts) {
    const n = chart.getOption().xAxis[0].data.length;
    for (let i = 0; i < n; i++) {
      chart.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i});
      shown++;
    }
  }
  return shown;
})()`

// Every page of the site, in English and Chinese, in real Chromium from
// file://: no errors, no requests outside the site, every chart painted,
// data shown as text, and no script from the data ever runs.
func TestBrowser(t *testing.T) {
	db := testWarehouse(t)
	pages := testPages(t)
	b := browsertest.Start(t)

	for _, lang := range spec.Languages {
		t.Run(lang, func(t *testing.T) {
			res, dir := renderSite(t, db, pages, lang)
			files := []string{res.Index}
			echarts := map[string][]string{} // page file -> chart ids drawn by ECharts
			for _, p := range res.Pages {
				files = append(files, p.File)
				for _, c := range p.Charts {
					if c.Kind.Cartesian() {
						echarts[p.File] = append(echarts[p.File], c.ID)
					}
				}
			}
			for _, f := range files {
				t.Run(f, func(t *testing.T) {
					p := b.Open(t, filepath.Join(dir, f))
					p.WaitFor(t, `document.querySelectorAll('[data-echart]:not([data-rendered])').length === 0`)

					var ids []string
					for _, c := range p.Charts(t) {
						ids = append(ids, c.ID)
						require.True(t, c.Canvas, "%s has no canvas", c.ID)
						require.Greater(t, c.Width*c.Height, 0, "%s has an empty canvas", c.ID)
						require.Greater(t, c.Painted, 2000, "%s looks blank: %d painted pixels of %dx%d", c.ID, c.Painted, c.Width, c.Height)
					}
					require.Equal(t, echarts[f], ids)
					p.Screenshot(t, lang+"-"+strings.TrimSuffix(f, ".html"))

					if len(ids) > 0 {
						require.Positive(t, browsertest.Eval[int](t, p, showTipsJS))
					}
					// Nothing from the data became an element.
					require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
					scripts := 0 // the index has none; pages have two plus one JSON block per chart
					if f != res.Index {
						scripts = 2 + len(ids)
					}
					require.Equal(t, scripts, browsertest.Eval[int](t, p, `document.scripts.length`))

					html := map[string]string{"en": "en", "zh": "zh-CN"}[lang]
					require.Equal(t, html, browsertest.Eval[string](t, p, `document.documentElement.lang`))
					text := browsertest.Eval[string](t, p, `document.body.innerText`)
					if lang == "zh" {
						require.Contains(t, text, "数据截至")
						require.Contains(t, text, "经营概览")
					} else {
						require.Contains(t, text, "Data as of")
					}
					p.RequireClean(t, dir)
				})
			}

			t.Run("text from the data", func(t *testing.T) {
				p := b.Open(t, filepath.Join(dir, "customers.html"))
				p.WaitFor(t, `document.querySelectorAll('[data-echart]:not([data-rendered])').length === 0`)
				cells := browsertest.Eval[[]string](t, p,
					`Array.from(document.querySelectorAll('#chart-customers-customer_list tbody tr td:first-child')).map(td => td.textContent)`)
				require.Equal(t, []string{
					"<script>alert(1)</script>",
					`Zhang "Wei" O'Brien & 张伟`,
					"李娜",
					`=HYPERLINK("http://example.invalid")`,
				}, cells)
				// The tooltip of the first bar names the customer, as text.
				tip := browsertest.Eval[string](t, p, `(() => {
				  const el = document.getElementById('chart-customers-top_customers');
				  echarts.getInstanceByDom(el).dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: 0});
				  return el.textContent;
				})()`)
				require.Contains(t, tip, "<script>alert(1)</script>")
				require.Zero(t, browsertest.Eval[int](t, p, `document.images.length`))
				p.RequireClean(t, dir)
			})

			t.Run("locale and formats", func(t *testing.T) {
				p := b.Open(t, filepath.Join(dir, "overview.html"))
				p.WaitFor(t, `document.querySelectorAll('[data-echart]:not([data-rendered])').length === 0`)
				// ECharts' own locale follows the page's language.
				month := browsertest.Eval[string](t, p,
					`crmwh.charts[0].getModel().getLocaleModel().get(['time', 'monthAbbr'])[0]`)
				require.Equal(t, map[string]string{"en": "Jan", "zh": "1月"}[lang], month)

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
