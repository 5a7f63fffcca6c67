package refresh_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/exporttest"
	"crmwh/project"
	"crmwh/project/onboard"
	"crmwh/refresh"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/warehousetest"
)

// A retailer's invoice-line export (not the demo company's: cancellation
// invoices, lines without a customer, customer ids written as floats, a
// London wall clock), mapped by `crmwh init`, arrives in three drops: the
// year up to its fifteenth last day with paid invoices, the paid days
// within refit_days after that, then the rest. Each drop is built
// incrementally (its orders recomputed by key) and must equal a full
// build of the same lake on the same published warehouse, every table.
// The cross-sell counts of the first build stay in use for the second
// drop, which scores again only the customers who bought; the third drop
// is past analytics.cross_sell.refit_days, so the baskets are counted
// again and every cross-sell table equals that of a new project that
// reads the three files at once, and a count of the export in Go.
func TestAnInvoiceExportArrivingDayByDay(t *testing.T) {
	ctx := context.Background()
	lines := exporttest.InvoiceExport(3)
	paid := func(l exporttest.InvoiceLine) bool { return l.Customer != "" && !l.Cancelled() }
	var paidDays []string
	for _, l := range lines {
		if paid(l) && (len(paidDays) == 0 || paidDays[len(paidDays)-1] != l.Day()) {
			paidDays = append(paidDays, l.Day())
		}
	}
	day := func(s string) int {
		d, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		return int(d.Unix() / 86400)
	}
	const refitDays = 7 // the default
	// The last paid day of each drop: the second drop holds every paid day
	// within refit_days of the first's end.
	n := len(paidDays)
	ends := []string{paidDays[n-15], "", paidDays[n-1]}
	for _, d := range paidDays[n-15:] {
		if day(d)-day(ends[0]) < refitDays {
			ends[1] = d
		}
	}
	var drops [3][]exporttest.InvoiceLine
	for _, l := range lines {
		k := 0
		for k < 2 && l.Day() > ends[k] {
			k++
		}
		drops[k] = append(drops[k], l)
	}
	require.Less(t, day(ends[1])-day(ends[0]), refitDays, "the second drop is within refit_days of the first")
	require.GreaterOrEqual(t, day(ends[2])-day(ends[0]), refitDays, "the third drop is past it")

	exports := t.TempDir()
	glob := filepath.Join(exports, "invoices_*.csv")
	clock := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	newProject := func() *project.Project {
		t.Helper()
		dir := t.TempDir()
		var ins []onboard.Input
		for _, entity := range []string{"orders", "order_lines"} {
			in, err := onboard.ParseInput(entity, glob)
			require.NoError(t, err)
			ins = append(ins, in)
		}
		res, err := onboard.Propose(ctx, onboard.Options{Dir: dir, Timezone: "Europe/London", Currency: "GBP", Inputs: ins})
		require.NoError(t, err)
		require.NoError(t, res.Err())
		_, err = project.Write(dir, project.WriteOptions{Files: map[string][]byte{project.ConfigFile: res.Config}})
		require.NoError(t, err)
		p, err := project.Load(dir)
		require.NoError(t, err)
		return p
	}
	run := func(p *project.Project, full bool, steps ...string) refresh.Summary {
		t.Helper()
		r := &refresh.Runner{Project: p, RunID: refresh.NewRunID(clock), Full: full, SkipTests: true, Now: func() time.Time { return clock }}
		sum, err := r.Run(ctx, steps)
		require.NoError(t, err)
		return sum
	}
	keep := func(wh, name string) string {
		t.Helper()
		f := filepath.Join(t.TempDir(), name+".duckdb")
		warehousetest.CopyFile(t, wh, f)
		return f
	}

	exporttest.WriteInvoices(t, filepath.Join(exports, "invoices_1.csv"), drops[0])
	p := newProject()
	wh := p.WarehouseFile()
	run(p, false, refresh.StepExtract, refresh.StepBuild)
	builds := []string{keep(wh, "drop1")}
	for k := 1; k < 3; k++ {
		clock = clock.Add(24 * time.Hour) // the incremental and the full build run at the same time
		exporttest.WriteInvoices(t, filepath.Join(exports, fmt.Sprintf("invoices_%d.csv", k+1)), drops[k])
		run(p, false, refresh.StepExtract)
		published := keep(wh, "published")
		details := modelDetails(run(p, false, refresh.StepBuild))
		// Orders summed from their lines are staged again from every part
		// (docs/your-data.md); the facts and marts after them go by key,
		// those reading what the export lacks (tickets) too.
		require.Contains(t, details["stg_orders"], "rebuilt: inputs changed", "drop %d", k+1)
		for _, m := range []string{"fct_orders", "mart_cross_sell_monthly", "mart_kpi_monthly"} {
			require.Contains(t, details[m], "keys recomputed", "drop %d: %s", k+1, m)
		}
		require.Equal(t, "kept: nothing it reads changed", details["fct_tickets"], "drop %d", k+1)
		incremental := keep(wh, fmt.Sprintf("drop%d", k+1))
		warehousetest.CopyFile(t, published, wh)
		run(p, true, refresh.StepBuild)
		full := keep(wh, "full")
		require.Greater(t, len(warehousetest.SameTables(t, incremental, full, nil)), 30, "drop %d: the incremental build equals the full one", k+1)
		warehousetest.CopyFile(t, incremental, wh)
		builds = append(builds, incremental)
	}

	db := warehousetest.Open(t, "", false)
	db.SetMaxOpenConns(1)
	for k, f := range builds {
		warehousetest.Exec(t, db, fmt.Sprintf("ATTACH %s AS b%d (READ_ONLY)", duckdb.QuoteString(f), k+1))
	}
	// The export's customers as the warehouse numbers them (from the
	// float ids), by invoice.
	customerOf := map[string]string{}
	for _, r := range warehousetest.Rows(t, db, `SELECT order_id, customer_id FROM b3.fct_orders`) {
		customerOf[r[0]] = r[1]
	}
	inactivity := int(warehousetest.Int(t, db, `SELECT inactivity_days FROM b3.analytics_settings`))
	counts := []string{"main.cross_sell_itemsets", "main.mart_product_affinity", "main.mart_association_rules", "main.cross_sell_validation"}

	t.Run("a day of new data keeps the counts and scores again the customers who bought", func(t *testing.T) {
		// The validation is the counts' in use: why and up to when they were
		// counted (the Cross-sell page shows the day).
		require.Equal(t, [][]string{{"counted: the first count", ends[0]}},
			warehousetest.Rows(t, db, `SELECT DISTINCT refit, holdout_end FROM b2.mart_next_best_offer_validation`))
		warehousetest.SameTables(t, builds[0], builds[1], counts, "refit", "refit_zh")

		// From the export: what each customer has bought, their last paid
		// day, and who bought on the new day.
		bought, last, buyers := map[string]map[string]bool{}, map[string]string{}, map[string]bool{}
		for _, l := range append(slices.Clip(drops[0]), drops[1]...) {
			if !paid(l) {
				continue
			}
			c := customerOf[l.Invoice]
			require.NotEmpty(t, c, "invoice %s is an order", l.Invoice)
			if bought[c] == nil {
				bought[c] = map[string]bool{}
			}
			bought[c][l.Stock] = true
			last[c] = max(last[c], l.Day())
			if l.Day() > ends[0] {
				buyers[c] = true
			}
		}
		require.NotEmpty(t, buyers)
		offers := func(build string) map[string][]string {
			out := map[string][]string{}
			for _, r := range warehousetest.Rows(t, db, `SELECT customer_id, list(o ORDER BY o.level, o.rank)::VARCHAR FROM `+build+`.cross_sell_offers o GROUP BY 1`) {
				out[r[0]] = []string{r[1]}
			}
			return out
		}
		before, after := offers("b1"), offers("b2")
		stale := 0
		for c := range bought {
			active := day(ends[1])-day(last[c]) < inactivity
			if !buyers[c] {
				if active {
					require.Equal(t, before[c], after[c], "customer %s bought nothing new: the same offers", c)
				} else {
					require.Empty(t, after[c], "customer %s is inactive: no offers", c)
				}
				continue
			}
			for _, r := range warehousetest.Rows(t, db, `SELECT item FROM b1.cross_sell_offers WHERE customer_id = ? AND level = 'product'`, c) {
				if bought[c][r[0]] {
					stale++ // offered on the first day, bought on the second
				}
			}
			for _, r := range warehousetest.Rows(t, db, `SELECT item FROM b2.cross_sell_offers WHERE customer_id = ? AND level = 'product'`, c) {
				require.False(t, bought[c][r[0]], "customer %s is offered %s, which they bought", c, r[0])
			}
		}
		t.Logf("%d buyers, %d stale", len(buyers), stale)
		require.Positive(t, stale, "some buyer of the new day bought what they were offered the day before")
		for c := range after {
			require.Contains(t, bought, c, "only customers with paid orders have offers")
		}
	})

	t.Run("past refit_days the baskets are counted again, as a new project counts them", func(t *testing.T) {
		require.Equal(t, [][]string{{fmt.Sprintf("counted again: %d days of new data since the count of %s (analytics.cross_sell.refit_days: %d)", day(ends[2])-day(ends[0]), ends[0], refitDays), ends[2]}},
			warehousetest.Rows(t, db, `SELECT DISTINCT refit, holdout_end FROM b3.mart_next_best_offer_validation`))
		fresh := newProject()
		run(fresh, false, refresh.StepExtract, refresh.StepBuild)
		warehousetest.SameTables(t, builds[2], fresh.WarehouseFile(), append(counts, "main.cross_sell_offers"), "refit", "refit_zh")

		// The order pairs, counted from the export: every paid invoice
		// with a customer is a basket of its stock codes.
		baskets := map[string]map[string]bool{}
		for _, l := range lines {
			if paid(l) {
				if baskets[l.Invoice] == nil {
					baskets[l.Invoice] = map[string]bool{}
				}
				baskets[l.Invoice][l.Stock] = true
			}
		}
		items, pairs := warehousetest.CountPairs(baskets)
		minPair := int(warehousetest.Int(t, db, `SELECT cross_sell_min_pair_baskets FROM b3.analytics_settings`))
		var want [][]string
		for p, k := range pairs {
			if k >= minPair {
				want = append(want, []string{p[0], p[1], fmt.Sprint(len(baskets)), fmt.Sprint(items[p[0]]), fmt.Sprint(items[p[1]]), fmt.Sprint(k)})
			}
		}
		sort.Slice(want, func(i, j int) bool {
			return want[i][0] < want[j][0] || want[i][0] == want[j][0] && want[i][1] < want[j][1]
		})
		t.Logf("%d pairs", len(want))
		require.Len(t, want, 21, "every pair of the 7 products is bought together often")
		require.Equal(t, want, warehousetest.Rows(t, db, `SELECT item_a, item_b, baskets, baskets_a, baskets_b, baskets_ab FROM b3.mart_product_affinity
			WHERE level = 'product' AND scope = 'order' ORDER BY item_a, item_b`))
	})
}
