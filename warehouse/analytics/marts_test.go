package analytics_test

// The retention and value marts on a hand-built fixture whose answers are
// worked out by hand in the comments.

import (
	"database/sql"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/warehousetest"
)

// fixture: three buyers and one who only cancelled.
//
//	A: 2025-01-10 100 and 50 (one purchase day), 2025-03-05 200
//	B: 2025-01-20 80, of which 30 refunded later (net revenue 50)
//	C: 2025-02-15 300, 2025-04-30 100 (the last day with orders: as of)
//	D: 2025-03-01 cancelled
func fixture(t *testing.T) *sql.DB {
	t.Helper()
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`SET TimeZone = 'UTC'`,
		`CREATE TABLE fct_orders AS SELECT order_id, customer_id, CAST(order_date AS DATE) AS order_date,
			CAST(date_trunc('month', CAST(order_date AS DATE)) AS DATE) AS order_month, status,
			CAST(net_amount AS DECIMAL(18,2)) AS net_amount, CAST(net_revenue AS DECIMAL(18,2)) AS net_revenue
		FROM (VALUES
			('o1', 'A', '2025-01-10', 'paid', 100, 100),
			('o2', 'A', '2025-01-10', 'paid', 50, 50),
			('o3', 'A', '2025-03-05', 'paid', 200, 200),
			('o4', 'B', '2025-01-20', 'paid', 80, 50),
			('o5', 'C', '2025-02-15', 'paid', 300, 300),
			('o6', 'C', '2025-04-30', 'paid', 100, 100),
			('o7', 'D', '2025-03-01', 'cancelled', 60, 0)
		) t(order_id, customer_id, order_date, status, net_amount, net_revenue)`,
		`CREATE TABLE dim_customer AS SELECT * FROM (VALUES
			('A', 'East', 'online'), ('B', 'East', 'store'), ('C', 'North', 'online'), ('D', 'North', 'store')
		) t(customer_id, region, acquisition_channel)`,
		`CREATE TABLE analytics_settings AS SELECT 30 AS inactivity_days`,
	)
	return db
}

var repo = os.DirFS("../..")

func TestCustomerPurchasesByHand(t *testing.T) {
	db := fixture(t)
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases")
	require.Equal(t, [][]string{
		// id, first, cohort, last, as_of, days, orders, paid, net, x, t_x, T, since last, monetary, interval
		{"A", "2025-01-10", "2025-01-01", "2025-03-05", "2025-04-30", "2", "3", "350.00", "350.00", "1", "54", "110", "56", "200", "54"},
		{"B", "2025-01-20", "2025-01-01", "2025-01-20", "2025-04-30", "1", "1", "80.00", "50.00", "0", "0", "100", "100", "NULL", "NULL"},
		{"C", "2025-02-15", "2025-02-01", "2025-04-30", "2025-04-30", "2", "2", "400.00", "400.00", "1", "74", "74", "0", "100", "74"},
	}, warehousetest.Rows(t, db, `SELECT customer_id, first_purchase_date, cohort_month, last_purchase_date, as_of_date,
		purchase_days, orders, paid_amount, net_revenue, frequency, recency, tenure, days_since_last_purchase,
		round(monetary, 2), round(avg_days_between_purchases, 0) FROM customer_purchases ORDER BY 1`))
}

func TestCohortRetentionByHand(t *testing.T) {
	db := fixture(t)
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases", "mart_cohort_retention")
	// January cohort: A and B. February: C. The data ends in April.
	require.Equal(t, [][]string{
		{"2025-01-01", "0", "2", "2", "1", "200.00", "1"},
		{"2025-01-01", "1", "2", "0", "0", "0.00", "0"},
		{"2025-01-01", "2", "2", "1", "0.5", "200.00", "1"},
		{"2025-01-01", "3", "2", "0", "0", "0.00", "0"},
		{"2025-02-01", "0", "1", "1", "1", "300.00", "1"},
		{"2025-02-01", "1", "1", "0", "0", "0.00", "0"},
		{"2025-02-01", "2", "1", "1", "1", "100.00", "0.3333"},
	}, warehousetest.Rows(t, db, `SELECT cohort_month, months_since_first, cohort_customers, active_customers,
		round(retention_rate, 4), net_revenue, round(revenue_retention, 4) FROM mart_cohort_retention ORDER BY 1, 2`))
}

func TestParetoByHand(t *testing.T) {
	db := fixture(t)
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases", "mart_pareto")
	// Net revenue C 400, A 350, B 50 of 800. The top p% of 3 customers is
	// ceil(3p/100) of them.
	require.Equal(t, [][]string{
		{"1", "1", "0.5"},
		{"20", "1", "0.5"},
		{"33", "1", "0.5"},
		{"34", "2", "0.9375"},
		{"66", "2", "0.9375"},
		{"67", "3", "1"},
		{"100", "3", "1"},
	}, warehousetest.Rows(t, db, `SELECT customer_percentile, customers, round(revenue_share, 4) FROM mart_pareto
		WHERE customer_percentile IN (1, 20, 33, 34, 66, 67, 100) ORDER BY 1`))
}

func TestRFMByHand(t *testing.T) {
	db := fixture(t)
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases", "customer_rfm")
	// Score = 1 + floor(5 (rank − 1) / 3). R ranks days since the last
	// purchase (B 100, A 56, C 0: ranks 1, 2, 3 → 1, 2, 4), F purchase
	// days (B 1; A and C tie on 2 and share rank 2 → 1, 2, 2), M net
	// revenue (B 50, A 350, C 400 → 1, 2, 4).
	require.Equal(t, [][]string{
		{"A", "2", "2", "2", "222", "hibernating"},
		{"B", "1", "1", "1", "111", "hibernating"},
		{"C", "4", "2", "4", "424", "potential_loyalists"},
	}, warehousetest.Rows(t, db, `SELECT customer_id, r_score, f_score, m_score, rfm_code, rfm_segment FROM customer_rfm ORDER BY 1`))
}

func TestChurnByHand(t *testing.T) {
	db := fixture(t)
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases", "customer_rfm", "mart_churn_monthly")
	// With 30 inactive days: B churns 2025-02-19, A 2025-04-04, C not yet
	// (2025-05-30 is after the data). At risk from the month after the
	// first purchase: A and B from February, C from March.
	require.Equal(t, [][]string{
		{"2025-01-01", "0", "0", "NULL", "0.00"},
		{"2025-02-01", "2", "1", "0.5", "50.00"},
		{"2025-03-01", "2", "0", "0", "0.00"},
		{"2025-04-01", "2", "1", "0.5", "350.00"},
	}, warehousetest.Rows(t, db, `SELECT month, customers_at_risk, churned_customers, churn_rate, churned_revenue
		FROM mart_churn_monthly WHERE dimension = 'all' ORDER BY month`))
	require.Equal(t, [][]string{
		{"East", "2025-02-01", "2", "1"},
		{"East", "2025-04-01", "1", "1"},
		{"North", "2025-04-01", "1", "0"},
	}, warehousetest.Rows(t, db, `SELECT dimension_value, month, customers_at_risk, churned_customers
		FROM mart_churn_monthly WHERE dimension = 'region' AND customers_at_risk > 0 AND month IN ('2025-02-01', '2025-04-01') ORDER BY 1, 2`))
}

// Products known only from order lines take their most common spelling
// and unit price; of equally common ones the greatest, so that every
// build (incremental or full, on any number of threads) picks the same.
// A catalogue entry wins over the lines.
func TestProductsFromOrderLinesByHand(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`CREATE TABLE stg_order_lines AS SELECT product_id, product_name, NULL::VARCHAR AS product_name_zh, category, NULL::VARCHAR AS category_zh,
			CAST(price AS DECIMAL(18,2)) AS unit_price FROM (VALUES
			('P1', 'Tea, green', 'Tea', 2.00), ('P1', 'Green tea', 'Tea', 3.00), ('P1', 'Tea, green', NULL, 3.00),
			('P1', 'Green tea', NULL, 2.00), ('P1', 'green tea', 'Tea', 1.00),
			('P2', 'Peanuts', 'Snacks', 5.00), ('P2', 'Peanuts', NULL, 4.00), ('P2', NULL, NULL, 4.00),
			('P3', 'Gift card', NULL, 10.00)
		) t(product_id, product_name, category, price)`,
		`CREATE TABLE stg_products AS SELECT * FROM (VALUES ('P3', 'Gift card (any amount)', '礼品卡', 'Cards', '卡', CAST(0 AS DECIMAL(18,2))))
			t(product_id, product_name, product_name_zh, category, category_zh, list_price)`)
	warehousetest.RunModels(t, db, repo, "dim_product")
	require.Equal(t, [][]string{
		// P1: two names twice each (the greater, 'Tea, green'), prices 2.00 and 3.00 twice each (3.00).
		{"P1", "Tea, green", "Tea, green", "Tea", "Tea", "3.00", "5"},
		{"P2", "Peanuts", "Peanuts", "Snacks", "Snacks", "4.00", "3"},
		{"P3", "Gift card (any amount)", "礼品卡", "Cards", "卡", "0.00", "1"},
	}, warehousetest.Rows(t, db, `SELECT product_id, product_name, product_name_zh, category, category_zh, list_price, lines_sold FROM dim_product ORDER BY 1`))
}

// A category's Chinese name is the most common among its products', of
// equally common ones the greatest (so every build names it the same).
func TestCrossSellCategoryNamesByHand(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`CREATE TABLE dim_product AS SELECT * FROM (VALUES
			('P1', 'Green tea', '绿茶', 'Tea', '茶'), ('P2', 'Black tea', '红茶', 'Tea', '茶叶'),
			('P3', 'Oolong', '乌龙茶', 'Tea', '茶叶'), ('P4', 'White tea', '白茶', 'Tea', '茶'),
			('P5', 'Peanuts', '花生', 'Snacks', '零食'), ('P6', 'Gift card', '礼品卡', NULL, NULL)
		) t(product_id, product_name, product_name_zh, category, category_zh)`)
	warehousetest.RunModels(t, db, repo, "cross_sell_items")
	require.Equal(t, [][]string{
		// Tea: 茶 twice and 茶叶 twice; the greater is 茶叶.
		{"Snacks", "Snacks", "零食", "Snacks", "零食"},
		{"Tea", "Tea", "茶叶", "Tea", "茶叶"},
	}, warehousetest.Rows(t, db, `SELECT item, item_name, item_name_zh, category, category_zh FROM cross_sell_items WHERE level = 'category' ORDER BY 1`))
	require.Equal(t, "6", warehousetest.Rows(t, db, `SELECT count(*) FROM cross_sell_items WHERE level = 'product'`)[0][0])
}

// The segments' sizes, revenue, value and mean P(alive) by hand; a
// segment nobody is in has a row with zeros and no means.
func TestSegmentsByHand(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`CREATE TABLE mart_customer_value AS SELECT customer_id, rfm_segment, CAST(net_revenue AS DECIMAL(18,2)) AS net_revenue,
			CAST(clv_12m AS DECIMAL(18,2)) AS clv_12m, p_alive::DOUBLE AS p_alive FROM (VALUES
			('a', 'champions', 100.00, 50.00, 0.1), ('b', 'champions', 200.00, 30.00, 0.2), ('c', 'champions', 100.00, 10.00, 0.4),
			('d', 'loyal', 100.00, NULL, NULL)
		) t(customer_id, rfm_segment, net_revenue, clv_12m, p_alive)`)
	warehousetest.RunModels(t, db, repo, "mart_segments")
	require.Equal(t, [][]string{
		{"champions", "3", "0.75", "400.00", "0.8", "30.00", "90.00", "0.233333333333"},
		{"loyal", "1", "0.25", "100.00", "0.2", "NULL", "0.00", "NULL"},
		{"hibernating", "0", "0", "0.00", "0", "NULL", "0.00", "NULL"},
	}, warehousetest.Rows(t, db, `SELECT rfm_segment, customers, round(share_of_customers, 6), net_revenue, round(share_of_revenue, 6),
		avg_clv_12m, clv_12m, round(avg_p_alive, 12) FROM mart_segments WHERE rfm_segment IN ('champions', 'loyal', 'hibernating') ORDER BY sort_order`))
}
