package render_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/browsertest"
	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
)

// Every page, in both languages, at 1024, 1440 and 390 px: nothing wider
// than its card, no chart text cut off at the chart's edge, no two chart
// texts drawn over each other, and no category name left out.
func TestBrowserLayout(t *testing.T) {
	db := testWarehouse(t)
	res, dir := renderSite(t, db, testPages(t), "en")
	b := browsertest.Start(t)
	for _, lang := range spec.Languages {
		for _, pg := range res.Pages {
			t.Run(lang+"/"+pg.Name, func(t *testing.T) {
				p := b.Open(t, filepath.Join(dir, pg.Files[lang]))
				p.WaitFor(t, fmt.Sprintf(drawnJS, ""))
				for _, w := range []int{1024, 1440, 390} {
					p.Resize(t, w, 900)
					l := p.Layout(t)
					require.Empty(t, l.Overflow, "%d px: wider than the card", w)
					require.Empty(t, l.Clipped, "%d px: chart text cut off", w)
					require.Empty(t, l.Overlaps, "%d px: chart texts overlap", w)
					require.Empty(t, l.Hidden, "%d px: category names left out", w)
					if pg.Name == "overview" || pg.Name == "account_managers" {
						p.Screenshot(t, fmt.Sprintf("%s-%s-%d", lang, pg.Name, w))
					}
				}
				p.RequireClean(t, dir)
			})
		}
	}
}

// cardsJS is the text of every metric card, white space left out.
const cardsJS = `Array.from(document.querySelectorAll('.kpi[data-metric]')).map(e => e.getAttribute('data-metric') + '=' + e.textContent.replace(/\s+/g, ''))`

// selectJS picks a filter's option and returns when the page has redrawn.
const selectJS = `(() => { const s = document.querySelector('select[data-filter=%q]'); s.value = %q; s.dispatchEvent(new Event('change')); return true; })()`

// cardValue is a card's value as shown.
const cardValueJS = `document.querySelector('#chart-overview-%s .kpi-value .v').textContent`

// The overview's filters work offline: the page's script computes the
// same cards as the renderer for all customers, and for a region or a
// month the numbers the warehouse's SQL gives.
func TestBrowserFilters(t *testing.T) {
	db := testWarehouse(t)
	res, dir := renderSite(t, db, testPages(t), "en")
	b := browsertest.Start(t)
	for _, lang := range spec.Languages {
		t.Run(lang, func(t *testing.T) {
			f := render.Formatter{Lang: lang, Currency: "CNY"}
			p := b.Open(t, filepath.Join(dir, res.Pages[0].Files[lang]))
			p.WaitFor(t, fmt.Sprintf(drawnJS, ""))
			require.True(t, browsertest.Eval[bool](t, p, `!document.querySelector('form[data-filters]').hidden`))

			// Recomputed in the browser for all customers, every card reads
			// as the renderer wrote it.
			server := browsertest.Eval[[]string](t, p, cardsJS)
			require.Len(t, server, 8)
			browsertest.Eval[bool](t, p, `(document.body.crmwhFilters.read(), true)`)
			require.Equal(t, server, browsertest.Eval[[]string](t, p, cardsJS))

			// One region: the cards and the trend follow, to the SQL's numbers.
			browsertest.Eval[bool](t, p, fmt.Sprintf(selectJS, "region", "East"))
			month := "2024-06-01"
			want := func(q string, args ...any) float64 {
				var v float64
				require.NoError(t, db.QueryRow(q, args...).Scan(&v))
				return v
			}
			revenue := want(`SELECT sum(net_revenue) FROM mart_metrics_monthly WHERE region = 'East' AND month = ?`, month)
			require.Equal(t, 609382.71+457037.03, revenue, "East is 70% of June in the test cube")
			require.Equal(t, f.Compact(revenue, spec.Currency), browsertest.Eval[string](t, p, fmt.Sprintf(cardValueJS, "net_revenue")))
			retention := want(`SELECT sum(retained_customers) / sum(prev_active_customers) FROM mart_metrics_monthly WHERE region = 'East' AND month = ?`, month)
			require.Equal(t, f.Compact(retention, spec.Percent), browsertest.Eval[string](t, p, fmt.Sprintf(cardValueJS, "retention_rate")))
			per1000 := want(`SELECT 1000.0 * sum(complaints) / sum(active_customers) FROM mart_metrics_monthly WHERE region = 'East' AND month = ?`, month)
			require.Equal(t, f.Compact(per1000, spec.Number), browsertest.Eval[string](t, p, fmt.Sprintf(cardValueJS, "complaints_per_1000")))
			// The CLV by month has no cells: shown for everyone, and said so.
			require.True(t, browsertest.Eval[bool](t, p, `!document.querySelector('#card-chart-overview-average_clv .unfiltered').hidden`))
			// The trend chart draws the region's months.
			got := browsertest.Eval[[]float64](t, p, `crmwh.charts.find(c => c.getDom().id === 'chart-overview-revenue_trend').getOption().series[0].data.map(d => typeof d === 'object' ? d.value : d)`)
			rows, err := db.Query(`SELECT sum(net_revenue)::DOUBLE FROM mart_metrics_monthly WHERE region = 'East' AND is_complete GROUP BY month ORDER BY month`)
			require.NoError(t, err)
			var sqlRevenue []float64
			for rows.Next() {
				var v float64
				require.NoError(t, rows.Scan(&v))
				sqlRevenue = append(sqlRevenue, v)
			}
			require.NoError(t, rows.Err())
			require.Len(t, got, len(sqlRevenue))
			for i := range got {
				require.InDelta(t, sqlRevenue[i], got[i], 0.005)
			}

			// And one segment on top, then an earlier month.
			browsertest.Eval[bool](t, p, fmt.Sprintf(selectJS, "segment", "champions"))
			browsertest.Eval[bool](t, p, fmt.Sprintf(selectJS, "period", "2024-05-01"))
			revenue = want(`SELECT sum(net_revenue) FROM mart_metrics_monthly WHERE region = 'East' AND rfm_segment = 'champions' AND month = '2024-05-01'`)
			require.Equal(t, f.Compact(revenue, spec.Currency), browsertest.Eval[string](t, p, fmt.Sprintf(cardValueJS, "net_revenue")))
			prev := want(`SELECT sum(net_revenue) FROM mart_metrics_monthly WHERE region = 'East' AND rfm_segment = 'champions' AND month = '2024-04-01'`)
			delta, _, _ := f.Delta(revenue, prev, spec.Currency)
			require.Contains(t, browsertest.Eval[string](t, p, `document.querySelector('#chart-overview-net_revenue [data-k=mom]').textContent`), delta)
			require.Equal(t, f.Time(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), spec.Month, true),
				browsertest.Eval[string](t, p, `document.querySelector('#chart-overview-net_revenue .kpi-period').textContent`))
			// May's complaints are mature: no provisional badge then.
			require.Zero(t, browsertest.Eval[int](t, p, `document.querySelectorAll('#chart-overview-complaint_resolution_rate .provisional').length`))
			require.Equal(t, 5, browsertest.Eval[int](t, p, `crmwh.charts.find(c => c.getDom().id === 'chart-overview-revenue_trend').getOption().xAxis[0].data.length`))

			// Clearing the filters gives the renderer's cards back.
			browsertest.Eval[bool](t, p, `(document.querySelector('form[data-filters]').reset(), true)`)
			p.WaitFor(t, `document.body.getAttribute('data-filtered') === '{"region":"","acquisition_channel":"","rfm_segment":""} 2024-06-01'`)
			require.Equal(t, server, browsertest.Eval[[]string](t, p, cardsJS))
			p.Screenshot(t, lang+"-overview-filtered")
			p.RequireClean(t, dir)
		})
	}
}

// Tables sort, search and page in the page's own script, and a link from
// another page shows only the rows of the value it names.
func TestBrowserTables(t *testing.T) {
	db := testWarehouse(t)
	big, err := spec.Parse("dashboards/big.yaml", []byte(`
name: big
title: {en: Big, zh: 大}
sections:
  - charts:
      - name: numbers
        kind: table
        title: {en: Numbers, zh: 数字}
        query: SELECT range AS n, 'row ' || range AS label FROM range(1500)
`))
	require.NoError(t, err)
	pages := append(testPages(t), big)
	_, dir := renderSite(t, db, pages, "en")
	b := browsertest.Start(t)

	p := b.Open(t, filepath.Join(dir, "big.html"))
	p.WaitFor(t, `document.querySelector('[data-table][data-ready]') !== null`)
	visible := `Array.from(document.querySelectorAll('#chart-big-numbers tbody tr')).filter(r => !r.hidden).map(r => r.cells[0].textContent)`
	require.Len(t, browsertest.Eval[[]string](t, p, visible), 25)
	require.Equal(t, "1–25 of 1,000", browsertest.Eval[string](t, p, `document.querySelector('.table-count').textContent`))
	// Sort by n, largest first (a number column starts descending).
	browsertest.Eval[bool](t, p, `(document.querySelector('#chart-big-numbers th').click(), true)`)
	require.Equal(t, "999", browsertest.Eval[[]string](t, p, visible)[0])
	browsertest.Eval[bool](t, p, `(document.querySelector('#chart-big-numbers th').click(), true)`)
	require.Equal(t, "0", browsertest.Eval[[]string](t, p, visible)[0])
	// The next page.
	browsertest.Eval[bool](t, p, `(document.querySelector('.table-pager button:last-child').click(), true)`)
	require.Equal(t, "25", browsertest.Eval[[]string](t, p, visible)[0])
	require.Equal(t, "26–50 of 1,000", browsertest.Eval[string](t, p, `document.querySelector('.table-count').textContent`))
	// Search.
	browsertest.Eval[bool](t, p, `(() => { const s = document.querySelector('.table-tools input'); s.value = 'row 12'; s.dispatchEvent(new Event('input')); return true; })()`)
	require.Equal(t, []string{"12", "120", "121", "122", "123", "124", "125", "126", "127", "128", "129"}, browsertest.Eval[[]string](t, p, visible))
	p.RequireClean(t, dir)

	// A segment on the Segments page links to its customers on the value page.
	p = b.Open(t, filepath.Join(dir, "segments.html"))
	href := browsertest.Eval[string](t, p, `document.querySelector('#chart-segments-segment_table a[href*="#?"]').getAttribute('href')`)
	require.Equal(t, "value.html#?rfm_segment=champions", href)
	p = b.OpenFragment(t, filepath.Join(dir, "value.html"), "?rfm_segment=at_risk")
	p.WaitFor(t, `document.querySelector('#chart-value-segment_customers[data-ready]') !== null`)
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM mart_customer_value WHERE rfm_segment = 'at_risk'`).Scan(&n))
	require.Equal(t, fmt.Sprint(n), browsertest.Eval[string](t, p, `document.querySelector('#chart-value-segment_customers').getAttribute('data-shown')`))
	require.Contains(t, browsertest.Eval[string](t, p, `document.querySelector('#card-chart-value-segment_customers .table-filter').textContent`), "RFM segment: At risk")
	p.RequireClean(t, dir)

	// A manager in the league table links to their call list.
	p = b.Open(t, filepath.Join(dir, "account_managers.html"))
	href = browsertest.Eval[string](t, p, `document.querySelector('#chart-account_managers-league a').getAttribute('href')`)
	require.True(t, strings.HasPrefix(href, "account_managers.html#?account_manager_id=AM"), href)
	p = b.OpenFragment(t, filepath.Join(dir, "account_managers.html"), "?account_manager_id=AM1")
	p.WaitFor(t, `document.querySelector('#chart-account_managers-call_list[data-ready]') !== null`)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM mart_churn_watchlist WHERE account_manager_id = 'AM1'`).Scan(&n))
	require.Equal(t, 2, n)
	require.Equal(t, fmt.Sprint(n), browsertest.Eval[string](t, p, `document.querySelector('#chart-account_managers-call_list').getAttribute('data-shown')`))
	p.RequireClean(t, dir)
}
