package analytics_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/demo"
	"crmwh/warehouse/analytics"
	"crmwh/warehouse/warehousetest"
)

// The demo company of `crmwh demo` (20,000 customers over two years, seed
// 1), exported by its modern billing system only and without broken rows
// so that DuckDB reads the files as they are, its customers the
// generator's people: the next best offers must beat the best sellers.
func TestOffersBeatTheBestSellersOnTheDemo(t *testing.T) {
	db := demoCrossSellDB(t)
	s := settings
	s.CrossSell = analytics.CrossSell{WindowDays: 30, MinPairBaskets: 10, MinSupport: 0.001, MinConfidence: 0.1, HoldoutDays: 90}
	runCrossSell(t, db, s)
	warehousetest.RunModels(t, db, repo, "mart_next_best_offer_validation")
	var evaluated, hits, baseHits int64
	var z float64
	var beats bool
	var verdict string
	require.NoError(t, db.QueryRow(`SELECT customers_evaluated, offer_hits, baseline_hits, mcnemar_z, beats_baseline, verdict
		FROM mart_next_best_offer_validation WHERE level = 'product'`).Scan(&evaluated, &hits, &baseHits, &z, &beats, &verdict))
	t.Logf("%d customers evaluated: the offers hit %d, the best sellers %d (z %.2f): %s", evaluated, hits, baseHits, z, verdict)
	require.Greater(t, evaluated, int64(2000))
	require.True(t, beats, verdict)
	require.Greater(t, float64(hits), 1.08*float64(baseHits))
	require.Contains(t, verdict, "more than chance explains")
}

// Between counts, a build keeps the counts in use and scores again only
// the customers whose paid order lines changed: scoring every customer
// again with the counts in use gives the offers of the count itself, a
// customer's new order changes that customer's offers alone, and enough
// days of new data count again.
func TestCrossSellKeepsItsCountsBetweenRefits(t *testing.T) {
	db := demoCrossSellDB(t)
	s := settings
	s.CrossSell = analytics.CrossSell{WindowDays: 30, MinPairBaskets: 10, MinSupport: 0.001, MinConfidence: 0.1, HoldoutDays: 90, RefitDays: 7}
	runCrossSell(t, db, s)
	snapshot := func(name string) {
		warehousetest.Exec(t, db, `CREATE OR REPLACE TABLE `+name+`_offers AS SELECT * FROM cross_sell_offers`,
			`CREATE OR REPLACE TABLE `+name+`_itemsets AS SELECT * FROM cross_sell_itemsets`,
			`CREATE OR REPLACE TABLE `+name+`_validation AS SELECT * FROM cross_sell_validation`)
	}
	// differ lists the customers whose offers differ between two snapshots.
	differ := func(a, b string) []string {
		var out []string
		for _, r := range warehousetest.Rows(t, db, `SELECT DISTINCT customer_id FROM (
			(SELECT * FROM `+a+`_offers EXCEPT ALL SELECT * FROM `+b+`_offers)
			UNION ALL (SELECT * FROM `+b+`_offers EXCEPT ALL SELECT * FROM `+a+`_offers)) ORDER BY 1`) {
			out = append(out, r[0])
		}
		return out
	}
	same := func(a, b, table string) {
		t.Helper()
		require.Empty(t, warehousetest.Rows(t, db, `(SELECT * FROM `+a+`_`+table+` EXCEPT ALL SELECT * FROM `+b+`_`+table+`)
			UNION ALL (SELECT * FROM `+b+`_`+table+` EXCEPT ALL SELECT * FROM `+a+`_`+table+`)`), table)
	}
	snapshot("counted")
	var offers int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM counted_offers`).Scan(&offers))
	require.Greater(t, offers, 10000)
	require.Equal(t, [][]string{{"counted: the first count"}}, warehousetest.Rows(t, db, `SELECT DISTINCT refit FROM cross_sell_validation`))

	// Nothing changed: nothing to score again.
	runCrossSell(t, db, s)
	snapshot("kept")
	require.Empty(t, differ("counted", "kept"))
	same("counted", "kept", "itemsets")
	same("counted", "kept", "validation")

	// Every customer scored again with the counts in use, as if new.
	warehousetest.Exec(t, db, `DELETE FROM meta.cross_sell_scored_customers`)
	runCrossSell(t, db, s)
	snapshot("rescored")
	require.Empty(t, differ("counted", "rescored"), "the counts in use score as the count did")
	same("counted", "rescored", "itemsets")

	// A new order, a day after the last, of a product the customer has
	// not bought: only that customer's offers change, the counts do not.
	var customer, product string
	require.NoError(t, db.QueryRow(`SELECT o.customer_id, o.item FROM counted_offers o
		WHERE o.level = 'product' AND o.rank = 1 ORDER BY o.customer_id LIMIT 1`).Scan(&customer, &product))
	warehousetest.Exec(t, db,
		`INSERT INTO fct_orders SELECT 'NEW-1', '`+customer+`', max(order_date) + 1, 'paid' FROM fct_orders`,
		`INSERT INTO fct_order_items VALUES ('NEW-1', '`+product+`', 'sale')`)
	runCrossSell(t, db, s)
	snapshot("day")
	// Besides the customer, only those who turn inactive with the new
	// day: their last order is now inactivity_days before the last day.
	lapsed := warehousetest.Rows(t, db, fmt.Sprintf(`SELECT customer_id FROM fct_orders WHERE status = 'paid' GROUP BY 1
		HAVING max(order_date) = (SELECT max(order_date) FROM fct_orders WHERE status = 'paid') - %d
		AND customer_id IN (SELECT customer_id FROM counted_offers) ORDER BY 1`, s.InactivityDays))
	require.NotEmpty(t, lapsed)
	want := []string{customer}
	for _, r := range lapsed {
		want = append(want, r[0])
	}
	slices.Sort(want)
	require.Equal(t, want, differ("counted", "day"))
	require.Empty(t, warehousetest.Rows(t, db, `SELECT * FROM day_offers WHERE customer_id IN (SELECT customer_id FROM fct_orders GROUP BY 1
		HAVING max(order_date) < (SELECT max(order_date) FROM fct_orders) - `+fmt.Sprint(s.InactivityDays-1)+`)`), "the lapsed have no offers")
	same("counted", "day", "itemsets")
	same("counted", "day", "validation")
	require.Empty(t, warehousetest.Rows(t, db, `SELECT * FROM day_offers WHERE customer_id = '`+customer+`' AND level = 'product' AND item = '`+product+`'`),
		"the product bought is no longer offered")

	// A week of new data: the step counts again.
	warehousetest.Exec(t, db,
		`INSERT INTO fct_orders SELECT 'NEW-2', '`+customer+`', max(order_date) + 7, 'paid' FROM fct_orders`,
		`INSERT INTO fct_order_items VALUES ('NEW-2', '`+product+`', 'sale')`)
	runCrossSell(t, db, s)
	require.Equal(t, 1, len(warehousetest.Rows(t, db, `SELECT DISTINCT refit FROM cross_sell_validation WHERE refit LIKE 'counted again: 8 days of new data since the count of %'`)))
	snapshot("week")
	require.NotEmpty(t, warehousetest.Rows(t, db, `(SELECT * FROM week_itemsets EXCEPT SELECT * FROM counted_itemsets)`), "new counts")
}

// demoCrossSellDB holds the step's inputs from the demo company.
func demoCrossSellDB(t *testing.T) *sql.DB {
	o := demo.DefaultOptions()
	o.LegacyShare, o.BadRowRate = 0, 0
	o.Out = filepath.Join(t.TempDir(), "demo")
	_, err := demo.Generate(context.Background(), o, nil)
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	files := func(glob string) string { return "'" + filepath.Join(o.Out, glob) + "'" }
	warehousetest.Exec(t, db,
		`CREATE TABLE people AS SELECT person_id, unnest(string_split(billing_customer_nos, ';')) AS no
			FROM read_csv(`+files("truth/people.csv")+`, all_varchar = true) WHERE billing_customer_nos <> ''`,
		`CREATE TABLE fct_orders AS SELECT o.order_id, p.person_id AS customer_id,
			CAST(timezone('Asia/Shanghai', CAST(o.order_time AS TIMESTAMPTZ)) AS DATE) AS order_date, o.status
			FROM read_csv(`+files("billing/orders/*.csv")+`, all_varchar = true) o JOIN people p ON p.no = o.billing_customer_no`,
		`CREATE TABLE fct_order_items AS SELECT order_id, product_code AS product_id,
			CASE WHEN CAST(quantity AS INTEGER) < 0 THEN 'refund' ELSE 'sale' END AS line_type
			FROM read_csv(`+files("billing/order_lines/*.csv")+`, all_varchar = true)`,
		`CREATE TABLE dim_product AS SELECT product_code AS product_id, any_value(product_name) AS product_name,
			any_value(product_name) AS product_name_zh, any_value(category) AS category, any_value(category) AS category_zh
			FROM read_csv(`+files("billing/order_lines/*.csv")+`, all_varchar = true) GROUP BY 1`,
	)
	return db
}
