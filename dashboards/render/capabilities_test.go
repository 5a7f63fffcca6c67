package render_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
)

// A project without tickets: the service page, the complaint charts of
// the overview and (through the build's left-out list) the churn-reason
// charts are left out; the index says what would enable the page.
func TestPagesAndChartsThatNeedUnmappedDataAreLeftOut(t *testing.T) {
	db := testWarehouse(t)
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, testPages(t), render.Options{OutDir: dir, DataAsOf: asOf, NoAnimation: true,
		Unmapped: []string{"tickets", "contacts", "account_managers"},
		LeftOut:  map[string][]string{"mart_churn_reasons": {"tickets or contacts"}}})
	require.NoError(t, err)
	var pages []string
	for _, p := range res.Pages {
		pages = append(pages, p.Name)
	}
	require.NotContains(t, pages, "service")
	require.Contains(t, pages, "overview")
	// Metric cards and trends leave out with the entities their metrics
	// require; so does the account-manager page.
	require.Equal(t, []render.LeftOut{
		{Page: "account_managers", Needs: []string{"account_managers"}},
		{Page: "service", Needs: []string{"tickets"}},
		{Page: "overview", Chart: "complaints_per_1000", Needs: []string{"tickets"}},
		{Page: "overview", Chart: "complaint_resolution_rate", Needs: []string{"tickets"}},
		{Page: "overview", Chart: "complaints_trend", Needs: []string{"tickets"}},
		{Page: "retention", Chart: "churn_reasons", Needs: []string{"tickets or contacts"}},
		{Page: "retention", Chart: "churn_reason_table", Needs: []string{"tickets or contacts"}},
		{Page: "watchlist", Chart: "with_complaints", Needs: []string{"tickets"}},
		{Page: "watchlist", Chart: "without_manager", Needs: []string{"account_managers"}},
		{Page: "watchlist", Chart: "by_manager", Needs: []string{"account_managers"}},
	}, res.LeftOut)
	// The summary tells of the metrics the project has: nothing of complaints.
	overview := read(t, dir, "overview.html")
	require.Contains(t, overview, `id="chart-overview-what_changed"`)
	require.NotContains(t, read(t, dir, "data/overview/what_changed.csv"), "complaint")
	// The watchlist's manager names lead nowhere when the page is not there.
	require.NotContains(t, read(t, dir, "watchlist.html"), "account_managers.html")
	_, err = os.Stat(filepath.Join(dir, "service.html"))
	require.ErrorIs(t, err, os.ErrNotExist)
	index := read(t, dir, "index.html")
	require.Contains(t, index, "Pages that need more data")
	require.Contains(t, index, "Needs Service tickets: map it in crmwh.yaml (docs/your-data.md).")
	require.NotContains(t, index, `href="service.html"`)
	zh := read(t, dir, "zh/index.html")
	require.Contains(t, zh, "需要服务工单：请在 crmwh.yaml 中映射（见 docs/your-data.md）。")
	require.NotContains(t, overview, "chart-overview-complaints_trend")
	require.Contains(t, overview, "chart-overview-revenue_trend")
	require.NotContains(t, read(t, dir, "retention.html"), "chart-retention-churn_reasons")
}

// omit_empty leaves a chart out when its query returns no rows (and its
// section, when nothing else is left in it), instead of "No data.".
func TestOmitEmpty(t *testing.T) {
	db := testWarehouse(t)
	page, err := spec.Parse("dashboards/cuts.yaml", []byte(`name: cuts
title: {en: Cuts, zh: 切分}
sections:
  - title: {en: Kept, zh: 保留}
    charts:
      - {name: one, kind: table, title: {en: One, zh: 一}, query: "SELECT 1 AS x"}
      - {name: none, kind: table, omit_empty: true, title: {en: None, zh: 无}, query: "SELECT 1 AS x WHERE false"}
  - title: {en: Gone, zh: 省略}
    charts:
      - {name: also_none, kind: table, omit_empty: true, title: {en: Also none, zh: 也无}, query: "SELECT 1 AS x WHERE false"}
`))
	require.NoError(t, err)
	dir := t.TempDir()
	res, err := render.Render(context.Background(), db, []spec.Page{page}, render.Options{OutDir: dir, DataAsOf: asOf})
	require.NoError(t, err)
	require.Len(t, res.Pages[0].Charts, 1)
	require.Equal(t, "one", res.Pages[0].Charts[0].Name)
	html := read(t, dir, "cuts.html")
	require.Contains(t, html, "Kept")
	require.NotContains(t, html, "Gone")
	require.NotContains(t, html, "No data")
}
