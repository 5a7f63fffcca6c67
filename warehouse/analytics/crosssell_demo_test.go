package analytics_test

import (
	"context"
	"path/filepath"
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
