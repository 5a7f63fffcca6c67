package analytics_test

// The cross-sell step and marts on hand-built fixtures whose every number
// is worked out by hand in the comments.

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/analytics"
	"crmwh/warehouse/warehousetest"
)

var crossSellSettings = analytics.Settings{Currency: "CNY", Timezone: "Asia/Shanghai", TimeUnit: "day", ChurnDefinition: "inactivity",
	InactivityDays: 60, CrossSell: analytics.CrossSell{WindowDays: 30, MinPairBaskets: 2, MinSupport: 0.2, MinConfidence: 0.5, HoldoutDays: 30}}

// runCrossSell runs the settings and cross-sell steps on db.
func runCrossSell(t *testing.T, db *sql.DB, s analytics.Settings) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = analytics.SettingsStep(s).Run(ctx, conn)
	require.NoError(t, err)
	_, err = analytics.CrossSellStep(s).Run(ctx, conn)
	require.NoError(t, err)
}

// crossSellFixture: products P1 Longjing and P2 Oolong (Tea), P3 Peanuts
// (Snacks), P4 Gift card (no category); five customers:
//
//	A  o1 2025-01-01 P1 P2 (100)   o2 2025-01-20 P3 (50)   o3 2025-03-01 P1 (70)
//	B  o4 2025-01-05 P1 P3 (80)    o5 2025-01-06 P2 (20)   o9 2025-02-20 P1 (60; and a refund line of P3)
//	C  o6 2025-02-01 P2 P3 P4 (120)   o7 2025-02-10 P1, cancelled
//	D  o8 2025-01-15 P1 P2 P3 (200), churned
//	E  o10 2025-02-25 P3 (30)
//
// Order baskets (n 9): {P1 P2} {P3} {P1} {P1 P3} {P2} {P2 P3 P4} {P1 P2 P3}
// {P1} {P3}: P1 5, P2 4, P3 5, P4 1; pairs P1P2 2, P1P3 2, P2P3 2, P2P4 1,
// P3P4 1. Windows of 30 days from each customer's first order (n 7): A
// {P1 P2 P3} (o1 o2) and {P1} (o3, day 59); B {P1 P2 P3} and {P1} (o9, day
// 46); C {P2 P3 P4}; D {P1 P2 P3}; E {P3}: P1 5, P2 4, P3 5, P4 1; pairs
// P1P2 3, P1P3 3, P2P3 4, P2P4 1, P3P4 1; triple P1P2P3 3. Categories
// (Snacks before Tea): orders n 9, Tea 7, Snacks 5, both 3; windows n 7,
// Tea 6, Snacks 5, both 4.
func crossSellFixture(t *testing.T) *sql.DB {
	t.Helper()
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`SET TimeZone = 'UTC'`,
		`CREATE TABLE fct_orders AS SELECT order_id, customer_id, CAST(d AS DATE) AS order_date,
			CAST(date_trunc('month', CAST(d AS DATE)) AS DATE) AS order_month, status, CAST(rev AS DECIMAL(18,2)) AS net_revenue
		FROM (VALUES
			('o1', 'A', '2025-01-01', 'paid', 100), ('o2', 'A', '2025-01-20', 'paid', 50), ('o3', 'A', '2025-03-01', 'paid', 70),
			('o4', 'B', '2025-01-05', 'paid', 80), ('o5', 'B', '2025-01-06', 'paid', 20), ('o9', 'B', '2025-02-20', 'paid', 60),
			('o6', 'C', '2025-02-01', 'paid', 120), ('o7', 'C', '2025-02-10', 'cancelled', 0),
			('o8', 'D', '2025-01-15', 'paid', 200), ('o10', 'E', '2025-02-25', 'paid', 30)
		) t(order_id, customer_id, d, status, rev)`,
		// The lines as the build stores them; fct_order_items is the
		// project's view over them (a refund line has a negative quantity).
		`CREATE TABLE stg_order_lines AS SELECT order_id, line_no, 'billing.order_lines' AS source_stream, product_id,
			CAST(q AS INTEGER) AS quantity, CAST(10 AS DECIMAL(18,2)) AS unit_price, CAST(0 AS DECIMAL(18,2)) AS discount_amount,
			CAST(10 * q AS DECIMAL(18,2)) AS amount FROM (VALUES
			('o1', 1, 'P1', 1), ('o1', 2, 'P2', 1), ('o2', 1, 'P3', 1), ('o3', 1, 'P1', 1),
			('o4', 1, 'P1', 1), ('o4', 2, 'P3', 1), ('o4', 3, 'P1', 1), ('o5', 1, 'P2', 1),
			('o9', 1, 'P1', 1), ('o9', 2, 'P3', -1),
			('o6', 1, 'P2', 1), ('o6', 2, 'P3', 1), ('o6', 3, 'P4', 1), ('o7', 1, 'P1', 1),
			('o8', 1, 'P1', 1), ('o8', 2, 'P2', 1), ('o8', 3, 'P3', 1), ('o10', 1, 'P3', 1)
		) t(order_id, line_no, product_id, q)`,
		`CREATE TABLE dim_product AS SELECT * FROM (VALUES
			('P1', 'Longjing', '龙井', 'Tea', '茶叶'), ('P2', 'Oolong', '乌龙', 'Tea', '茶叶'),
			('P3', 'Peanuts', '花生', 'Snacks', '零食'), ('P4', 'Gift card', '礼品卡', NULL, NULL)
		) t(product_id, product_name, product_name_zh, category, category_zh)`,
		`CREATE TABLE mart_customer_value AS SELECT *, NULL::VARCHAR AS account_manager_name_zh FROM (VALUES
			('A', 'Ann', 'M1', 'Mia', 'top_1', 500.0, 0, false), ('B', 'Bo', 'M1', 'Mia', 'top_5', 300.0, 9, false),
			('C', 'Cy', NULL, NULL, 'rest', 50.0, 28, false), ('D', 'Di', 'M2', 'Max', 'rest', 10.0, 45, true),
			('E', 'Ed', 'M2', 'Max', 'rest', 20.0, 4, false)
		) t(customer_id, customer_name, account_manager_id, account_manager_name, value_tier, clv_12m, days_since_last_purchase, is_churned)`,
		`CREATE TABLE mart_kpi_monthly AS SELECT CAST(m AS DATE) AS month, c AS is_complete FROM (VALUES
			('2025-01-01', true), ('2025-02-01', true), ('2025-03-01', false)) t(m, c)`,
	)
	warehousetest.RunModels(t, db, repo, "fct_order_items", "mart_cross_sell_monthly")
	runCrossSell(t, db, crossSellSettings)
	warehousetest.RunModels(t, db, repo, "cross_sell_items", "mart_product_affinity", "mart_association_rules",
		"mart_next_best_offer", "mart_next_best_offer_validation")
	return db
}

// ci is the 95% interval of a lift from its counts, the delta method.
func ci(n, na, nb, nab float64) (lo, hi float64) {
	lift := nab * n / (na * nb)
	se := math.Sqrt(math.Max(1/nab-1/na-1/nb+2*nab/(na*nb)-1/n, 0))
	return lift * math.Exp(-1.96*se), lift * math.Exp(1.96*se)
}

func f6(x float64) string { return fmt.Sprintf("%.6f", x) }

func TestCrossSellCountsByHand(t *testing.T) {
	db := crossSellFixture(t)
	// min_support 0.2: ceil(0.2 × 9) = 2 order baskets, ceil(0.2 × 7) = 2
	// windows. Pairs are kept from min(min_pair_baskets 2, 2) baskets;
	// the triple P1P2P3 is in 1 order (below 2) and 3 windows.
	require.Equal(t, [][]string{
		{"category", "customer_window", "0", "NULL", "NULL", "NULL", "7"},
		{"category", "customer_window", "1", "Snacks", "NULL", "NULL", "5"},
		{"category", "customer_window", "1", "Tea", "NULL", "NULL", "6"},
		{"category", "customer_window", "2", "Snacks", "Tea", "NULL", "4"},
		{"category", "order", "0", "NULL", "NULL", "NULL", "9"},
		{"category", "order", "1", "Snacks", "NULL", "NULL", "5"},
		{"category", "order", "1", "Tea", "NULL", "NULL", "7"},
		{"category", "order", "2", "Snacks", "Tea", "NULL", "3"},
		{"product", "customer_window", "0", "NULL", "NULL", "NULL", "7"},
		{"product", "customer_window", "1", "P1", "NULL", "NULL", "5"},
		{"product", "customer_window", "1", "P2", "NULL", "NULL", "4"},
		{"product", "customer_window", "1", "P3", "NULL", "NULL", "5"},
		{"product", "customer_window", "1", "P4", "NULL", "NULL", "1"},
		{"product", "customer_window", "2", "P1", "P2", "NULL", "3"},
		{"product", "customer_window", "2", "P1", "P3", "NULL", "3"},
		{"product", "customer_window", "2", "P2", "P3", "NULL", "4"},
		{"product", "customer_window", "3", "P1", "P2", "P3", "3"},
		{"product", "order", "0", "NULL", "NULL", "NULL", "9"},
		{"product", "order", "1", "P1", "NULL", "NULL", "5"},
		{"product", "order", "1", "P2", "NULL", "NULL", "4"},
		{"product", "order", "1", "P3", "NULL", "NULL", "5"},
		{"product", "order", "1", "P4", "NULL", "NULL", "1"},
		{"product", "order", "2", "P1", "P2", "NULL", "2"},
		{"product", "order", "2", "P1", "P3", "NULL", "2"},
		{"product", "order", "2", "P2", "P3", "NULL", "2"},
	}, warehousetest.Rows(t, db, `SELECT * FROM cross_sell_itemsets ORDER BY level, scope, size, item_1, item_2`))
}

func TestProductAffinityByHand(t *testing.T) {
	db := crossSellFixture(t)
	got := warehousetest.Rows(t, db, `SELECT level, scope, item_a, item_a_name, item_b_name_zh, item_b_category, baskets, baskets_a, baskets_b,
		baskets_ab, printf('%.6f', expected_baskets_ab), printf('%.6f', support_a), printf('%.6f', support_b), printf('%.6f', support),
		printf('%.6f', confidence_a_to_b), printf('%.6f', confidence_b_to_a), printf('%.6f', lift), printf('%.6f', lift_ci_low), printf('%.6f', lift_ci_high), association
		FROM mart_product_affinity ORDER BY level, scope, item_a, item_b`)
	row := func(level, scope, a, aName, bZh, bCat string, n, na, nb, nab float64, assoc string) []string {
		lo, hi := ci(n, na, nb, nab)
		return []string{level, scope, a, aName, bZh, bCat, fmt.Sprint(n), fmt.Sprint(na), fmt.Sprint(nb), fmt.Sprint(nab),
			f6(na * nb / n), f6(na / n), f6(nb / n), f6(nab / n), f6(nab / na), f6(nab / nb), f6(nab * n / (na * nb)), f6(lo), f6(hi), assoc}
	}
	// Lifts: orders P1P2 2·9/(5·4) = 0.9, P1P3 2·9/25 = 0.72, P2P3 18/20 =
	// 0.9, Snacks–Tea 3·9/(5·7) = 27/35; windows P1P2 3·7/20 = 1.05, P1P3
	// 21/25 = 0.84, P2P3 4·7/(4·5) = 1.4, Snacks–Tea 4·7/(5·6) = 14/15.
	// With so few baskets no interval excludes 1.
	require.Equal(t, [][]string{
		row("category", "customer_window", "Snacks", "Snacks", "茶叶", "Tea", 7, 5, 6, 4, "not_significant"),
		row("category", "order", "Snacks", "Snacks", "茶叶", "Tea", 9, 5, 7, 3, "not_significant"),
		row("product", "customer_window", "P1", "Longjing", "乌龙", "Tea", 7, 5, 4, 3, "not_significant"),
		row("product", "customer_window", "P1", "Longjing", "花生", "Snacks", 7, 5, 5, 3, "not_significant"),
		row("product", "customer_window", "P2", "Oolong", "花生", "Snacks", 7, 4, 5, 4, "not_significant"),
		row("product", "order", "P1", "Longjing", "乌龙", "Tea", 9, 5, 4, 2, "not_significant"),
		row("product", "order", "P1", "Longjing", "花生", "Snacks", 9, 5, 5, 2, "not_significant"),
		row("product", "order", "P2", "Oolong", "花生", "Snacks", 9, 4, 5, 2, "not_significant"),
	}, got)
	require.Equal(t, f6(1.4), got[4][16])
	require.Equal(t, f6(27.0/35), got[1][16])
}

func TestAssociationRulesByHand(t *testing.T) {
	db := crossSellFixture(t)
	// min_support 0.2 (2 baskets), min_confidence 0.5. Orders: P2→P1 2/4,
	// P2→P3 2/4 (P1→P2, P1→P3, P3→P1, P3→P2 have 2/5); Snacks→Tea 3/5
	// (Tea→Snacks 3/7). Windows: every cut of P1P2, P1P3, P2P3 and
	// P1P2P3 (the lowest confidence is 3/5); Snacks→Tea 4/5, Tea→Snacks 4/6.
	rule := func(level, scope, ant, cons string, nxy, nx, ny, n float64) []string {
		conf := nxy / nx
		conv := "NULL"
		if conf < 1 {
			conv = f6((1 - ny/n) / (1 - conf))
		}
		lo, hi := ci(n, nx, ny, nxy)
		return []string{level, scope, ant, cons, fmt.Sprint(nxy), f6(nxy / n), f6(conf), f6(conf / (ny / n)),
			f6(nxy/n - nx/n*ny/n), conv, f6(lo), f6(hi)}
	}
	require.Equal(t, [][]string{
		rule("category", "customer_window", "Snacks", "Tea", 4, 5, 6, 7),
		rule("category", "customer_window", "Tea", "Snacks", 4, 6, 5, 7),
		rule("category", "order", "Snacks", "Tea", 3, 5, 7, 9),
		rule("product", "customer_window", "P1", "P2", 3, 5, 4, 7),
		rule("product", "customer_window", "P1", "P2, P3", 3, 5, 4, 7),
		rule("product", "customer_window", "P1", "P3", 3, 5, 5, 7),
		rule("product", "customer_window", "P1, P2", "P3", 3, 3, 5, 7),
		rule("product", "customer_window", "P1, P3", "P2", 3, 3, 4, 7),
		rule("product", "customer_window", "P2", "P1", 3, 4, 5, 7),
		rule("product", "customer_window", "P2", "P1, P3", 3, 4, 3, 7),
		rule("product", "customer_window", "P2", "P3", 4, 4, 5, 7),
		rule("product", "customer_window", "P2, P3", "P1", 3, 4, 5, 7),
		rule("product", "customer_window", "P3", "P1", 3, 5, 5, 7),
		rule("product", "customer_window", "P3", "P1, P2", 3, 5, 3, 7),
		rule("product", "customer_window", "P3", "P2", 4, 5, 4, 7),
		rule("product", "order", "P2", "P1", 2, 4, 5, 9),
		rule("product", "order", "P2", "P3", 2, 4, 5, 9),
	}, warehousetest.Rows(t, db, `SELECT level, scope, array_to_string(antecedent, ', '), array_to_string(consequent, ', '), baskets,
		printf('%.6f', support), printf('%.6f', confidence), printf('%.6f', lift), printf('%.6f', leverage), printf('%.6f', conviction), printf('%.6f', lift_ci_low), printf('%.6f', lift_ci_high)
		FROM mart_association_rules ORDER BY level, scope, array_to_string(antecedent, ', '), array_to_string(consequent, ', ')`))
	require.Equal(t, [][]string{{"Longjing + Oolong → Peanuts", "龙井 + 乌龙 → 花生", "2", "1"}}, warehousetest.Rows(t, db,
		`SELECT rule, rule_zh, antecedent_size, consequent_size FROM mart_association_rules WHERE level = 'product' AND scope = 'customer_window' AND antecedent = ['P1', 'P2']`))
}

func TestNextBestOffersByHand(t *testing.T) {
	db := crossSellFixture(t)
	// As of 2025-03-01 every customer bought within 60 days; D has churned
	// (mart_customer_value) and gets no offers. Window popularity: P1 5/7,
	// P2 4/7, P3 5/7, P4 1/7; purchases (orders holding): Tea 9, Snacks 5
	// of 15, shares 0.6 and 1/3. Evidence: the window pairs in 2 baskets
	// or more, lifts P1P2 1.05, P1P3 0.84, P2P3 1.4.
	//
	// E bought P3 (one purchase, Snacks): P2 = 4/7 × pref(Tea) × 1.4 with
	// pref(Tea) = (0 + 1)/(1 + 2)/0.6 = 5/9, so 4/9, because of P3 (lift
	// 1.4, confidence 4/5); P1 = 5/7 × 5/9 × 0.84 = 1/3, no reason (lift
	// below 1, preference below 1); P4 = 1/7 (no evidence, no category).
	// C bought P2 P3 P4 (Tea 1, Snacks 1): P1 = 5/7 × (1 + 1)/(2 + 2)/0.6 ×
	// exp((ln 1.05 + ln 0.84)/√2), because of P2 (lift 1.05, confidence
	// 3/4). A and B bought P1 P2 P3: P4 alone, 1/7. Categories: only E
	// lacks one, Tea: 6/7 × 14/15 = 0.8 (lift below 1).
	evC := math.Exp((math.Log(1.05) + math.Log(0.84)) / math.Sqrt2)
	require.Equal(t, [][]string{
		{"A", "Ann", "Mia", "product", "1", "P4", "Gift card", "礼品卡", f6(1.0 / 7), "1.000000", "1.000000", "NULL", "NULL",
			"a best seller: in 14.3% of baskets", "热销商品：14.3%的购物篮包含它"},
		{"B", "Bo", "Mia", "product", "1", "P4", "Gift card", "礼品卡", f6(1.0 / 7), "1.000000", "1.000000", "NULL", "NULL",
			"a best seller: in 14.3% of baskets", "热销商品：14.3%的购物篮包含它"},
		{"C", "Cy", "NULL", "product", "1", "P1", "Longjing", "龙井", f6(5.0 / 7 * (2.0 / 4 / 0.6) * evC), f6(evC), f6(2.0 / 4 / 0.6), "P2", f6(0.75),
			"bought Oolong; buyers of Oolong buy Longjing 1.1× as often", "买过乌龙；买乌龙的客户购买龙井的比例是平均的1.1倍"},
		{"E", "Ed", "Max", "category", "1", "Tea", "Tea", "茶叶", f6(0.8), f6(14.0 / 15), "1.000000", "NULL", "NULL",
			"a best seller: in 85.7% of baskets", "热销商品：85.7%的购物篮包含它"},
		{"E", "Ed", "Max", "product", "1", "P2", "Oolong", "乌龙", f6(4.0 / 9), "1.400000", f6(5.0 / 9), "P3", "0.800000",
			"bought Peanuts; buyers of Peanuts buy Oolong 1.4× as often", "买过花生；买花生的客户购买乌龙的比例是平均的1.4倍"},
		{"E", "Ed", "Max", "product", "2", "P1", "Longjing", "龙井", f6(1.0 / 3), "0.840000", f6(5.0 / 9), "NULL", "NULL",
			"a best seller: in 71.4% of baskets", "热销商品：71.4%的购物篮包含它"},
		{"E", "Ed", "Max", "product", "3", "P4", "Gift card", "礼品卡", f6(1.0 / 7), "1.000000", "1.000000", "NULL", "NULL",
			"a best seller: in 14.3% of baskets", "热销商品：14.3%的购物篮包含它"},
	}, warehousetest.Rows(t, db, `SELECT customer_id, customer_name, account_manager_name, level, rank, item, item_name, item_name_zh,
		printf('%.6f', score), printf('%.6f', evidence), printf('%.6f', category_preference), because_of, printf('%.6f', confidence), reason, reason_zh
		FROM mart_next_best_offer ORDER BY customer_id, level, rank`))
}

func TestCrossSellMonthlyByHand(t *testing.T) {
	db := crossSellFixture(t)
	// January: o1 o2 o4 o5 o8 (multi-category o4 o8; several products o1 o4
	// o8); active A, B, D, each with Tea and Snacks and P1–P3 by then.
	// February: o6 o9 o10 (o6 spans Tea and Snacks; P4 has no category);
	// active C (2 categories, 3 products), B (2, 3), E (1, 1). March: o3, A.
	// Revenue: January 450, all from multi-category customers; February
	// 120 + 60 of 210; March 70.
	require.Equal(t, [][]string{
		{"2025-01-01", "5", "3", "2", f6(0.4), "3", f6(2), f6(3), "3", f6(1), "450.00", "450.00", f6(1), "true"},
		{"2025-02-01", "3", "1", "1", f6(1.0 / 3), "3", f6(5.0 / 3), f6(7.0 / 3), "2", f6(2.0 / 3), "210.00", "180.00", f6(180.0 / 210), "true"},
		{"2025-03-01", "1", "0", "0", f6(0), "1", f6(2), f6(3), "1", f6(1), "70.00", "70.00", f6(1), "false"},
	}, warehousetest.Rows(t, db, `SELECT month, orders, multi_product_orders, multi_category_orders, printf('%.6f', multi_category_order_share),
		active_customers, printf('%.6f', categories_per_customer), printf('%.6f', products_per_customer), multi_category_customers,
		printf('%.6f', multi_category_customer_share), net_revenue, multi_category_revenue, printf('%.6f', multi_category_revenue_share), is_complete
		FROM mart_cross_sell_monthly ORDER BY month`))
}

// basketFixture loads orders as fct_orders, fct_order_items and
// dim_product (products without categories unless cats maps them): each
// order is a customer, a day (days after 2025-01-01) and its products.
type fixtureOrder struct {
	customer string
	day      int
	products []string
}

func basketFixture(t *testing.T, orders []fixtureOrder, cats map[string]string) *sql.DB {
	t.Helper()
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db, `CREATE TABLE fct_orders (order_id VARCHAR, customer_id VARCHAR, order_date DATE, order_month DATE, status VARCHAR, net_revenue DECIMAL(18,2))`,
		`CREATE TABLE fct_order_items (order_id VARCHAR, line_no INTEGER, product_id VARCHAR, line_type VARCHAR)`,
		`CREATE TABLE dim_product (product_id VARCHAR, product_name VARCHAR, product_name_zh VARCHAR, category VARCHAR, category_zh VARCHAR)`)
	products := map[string]bool{}
	for k, o := range orders {
		id := fmt.Sprintf("o%d", k)
		_, err := db.Exec(`INSERT INTO fct_orders VALUES (?, ?, DATE '2025-01-01' + ?::INTEGER, date_trunc('month', DATE '2025-01-01' + ?::INTEGER), 'paid', 10)`, id, o.customer, o.day, o.day)
		require.NoError(t, err)
		for n, p := range o.products {
			_, err := db.Exec(`INSERT INTO fct_order_items VALUES (?, ?, ?, 'sale')`, id, n+1, p)
			require.NoError(t, err)
			products[p] = true
		}
	}
	for p := range products {
		var cat any
		if c, ok := cats[p]; ok {
			cat = c
		}
		_, err := db.Exec(`INSERT INTO dim_product VALUES (?, ?, ?, ?, ?)`, p, "name "+p, "名 "+p, cat, cat)
		require.NoError(t, err)
	}
	return db
}

func TestOfferValidationByHand(t *testing.T) {
	// Seventeen customers buy once in January (calibration): 6 {A B}, 2 {A
	// C}, t and u {S C}, {S D}, {D}, {A S}, 4 {E}. On 2025-03-31, the last
	// day, t buys D, u buys E and v (one of the {A B}) buys C. With a
	// 30-day holdout everything before is calibration: 17 windows, A 9, B 6,
	// C 4, D 2, E 4, S 4; pairs AB 6, AC 2, SC 2, SD 1, AS 1.
	//
	// t and u ({S C}): A = 9/17 × exp((ln(17/36) + ln(34/36))/√2) = 0.299,
	// B = 6/17 = 0.353 (no evidence), D = 2/17 × 17/8 = 0.25, E = 4/17 =
	// 0.235: offers B, A, D; the best sellers they lack are A, B, E. t's D
	// is a hit of the offers only, u's E of the best sellers only. v ({A
	// B}): offers E (4/17), C (4/17 × 34/36), D (2/17); best sellers C, E,
	// S (4 customers each, in id order): both hit C.
	var orders []fixtureOrder
	add := func(customer string, products ...string) {
		orders = append(orders, fixtureOrder{customer, len(orders), products})
	}
	for i := range 6 {
		add(fmt.Sprintf("ab%d", i), "A", "B")
	}
	add("ac1", "A", "C")
	add("ac2", "A", "C")
	add("t", "S", "C")
	add("u", "S", "C")
	add("sd", "S", "D")
	add("d", "D")
	add("as", "A", "S")
	for i := range 4 {
		add(fmt.Sprintf("e%d", i), "E")
	}
	orders = append(orders, fixtureOrder{"t", 89, []string{"D"}}, fixtureOrder{"u", 89, []string{"E"}}, fixtureOrder{"ab0", 89, []string{"C"}})
	db := basketFixture(t, orders, nil)
	s := crossSellSettings
	s.InactivityDays, s.CrossSell.MinPairBaskets = 1000, 1
	runCrossSell(t, db, s)
	warehousetest.Exec(t, db, `CREATE TABLE mart_customer_value AS SELECT DISTINCT customer_id, customer_id AS customer_name, NULL AS account_manager_id,
		NULL AS account_manager_name, NULL AS account_manager_name_zh, 'rest' AS value_tier, 0.0 AS clv_12m, 0 AS days_since_last_purchase, false AS is_churned FROM fct_orders`)
	warehousetest.RunModels(t, db, repo, "cross_sell_items", "mart_next_best_offer", "mart_next_best_offer_validation")
	require.Equal(t, [][]string{{"product", "2025-03-01", "2025-03-31", "30", "17", "3", "2", "2", "1", "1",
		f6(2.0 / 3), f6(2.0 / 3), "1.000000", "0.000000", "false",
		"The offers did no better than the best sellers: 66.7% against 66.7% of the customers, a difference chance explains.",
		"推荐并不优于热销商品：66.7%对66.7%，差异在随机范围内。"}},
		warehousetest.Rows(t, db, `SELECT level, calibration_end, holdout_end, holdout_days, customers_scored, customers_evaluated,
			offer_hits, baseline_hits, offer_only_hits, baseline_only_hits, printf('%.6f', offer_hit_rate), printf('%.6f', baseline_hit_rate),
			printf('%.6f', ratio_to_baseline), printf('%.6f', mcnemar_z), beats_baseline, verdict, verdict_zh FROM mart_next_best_offer_validation`))
	// Wilson's interval of 2 hits in 3: (p + z²/2n ∓ z√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
	p, n, z := 2.0/3, 3.0, 1.96
	lo := (p + z*z/(2*n) - z*math.Sqrt(p*(1-p)/n+z*z/(4*n*n))) / (1 + z*z/n)
	hi := (p + z*z/(2*n) + z*math.Sqrt(p*(1-p)/n+z*z/(4*n*n))) / (1 + z*z/n)
	require.Equal(t, [][]string{{f6(lo), f6(hi)}}, warehousetest.Rows(t, db,
		`SELECT printf('%.6f', offer_hit_rate_ci_low), printf('%.6f', offer_hit_rate_ci_high) FROM mart_next_best_offer_validation`))
	// The products have no category: no category level anywhere.
	require.Zero(t, warehousetest.Int(t, db, `SELECT count(*) FROM cross_sell_itemsets WHERE level = 'category'`))
	// Today's offers for t, who has bought S, C and D: B, A, E.
	require.Equal(t, [][]string{{"1", "B"}, {"2", "A"}, {"3", "E"}}, warehousetest.Rows(t, db,
		`SELECT rank, item FROM mart_next_best_offer WHERE customer_id = 't' ORDER BY rank`))
}

// The AllElectronics transactions of Han, Kamber & Pei, "Data Mining:
// Concepts and Techniques" (3rd ed., Table 6.1), one order per customer.
var allElectronics = [][]string{
	{"I1", "I2", "I5"}, {"I2", "I4"}, {"I2", "I3"}, {"I1", "I2", "I4"}, {"I1", "I3"},
	{"I2", "I3"}, {"I1", "I3"}, {"I1", "I2", "I3", "I5"}, {"I1", "I2", "I3"},
}

func TestAssociationRulesReproduceTheTextbook(t *testing.T) {
	var orders []fixtureOrder
	for k, b := range allElectronics {
		orders = append(orders, fixtureOrder{fmt.Sprintf("T%d00", k+1), 0, b})
	}
	db := basketFixture(t, orders, nil)
	// The book's minimum support count of 2 (ceil(0.2 × 9)); its rules
	// from the frequent itemset {I1, I2, I5} (Example 6.4) and their
	// confidences: 2/4, 2/2, 2/2, 2/6, 2/7, 2/2.
	s := crossSellSettings
	s.CrossSell.MinPairBaskets, s.CrossSell.MinConfidence = 1, 0.25
	runCrossSell(t, db, s)
	warehousetest.RunModels(t, db, repo, "cross_sell_items", "mart_association_rules")
	q := `SELECT array_to_string(antecedent, ',') || ' => ' || array_to_string(consequent, ','), baskets, printf('%.4f', support), printf('%.4f', confidence)
		FROM mart_association_rules WHERE scope = 'order' AND list_has_all(['I1', 'I2', 'I5'], antecedent || consequent) AND len(antecedent || consequent) = 3
		ORDER BY 1`
	require.Equal(t, [][]string{
		{"I1 => I2,I5", "2", "0.2222", "0.3333"},
		{"I1,I2 => I5", "2", "0.2222", "0.5000"},
		{"I1,I5 => I2", "2", "0.2222", "1.0000"},
		{"I2 => I1,I5", "2", "0.2222", "0.2857"},
		{"I2,I5 => I1", "2", "0.2222", "1.0000"},
		{"I5 => I1,I2", "2", "0.2222", "1.0000"},
	}, warehousetest.Rows(t, db, q))
	// At the book's minimum confidence of 70%, three of them are strong.
	warehousetest.Exec(t, db, `UPDATE analytics_settings SET cross_sell_min_confidence = 0.7`)
	warehousetest.RunModels(t, db, repo, "mart_association_rules")
	require.Equal(t, [][]string{
		{"I1,I5 => I2", "2", "0.2222", "1.0000"},
		{"I2,I5 => I1", "2", "0.2222", "1.0000"},
		{"I5 => I1,I2", "2", "0.2222", "1.0000"},
	}, warehousetest.Rows(t, db, q))
}

// bruteRules enumerates every itemset of two or three items of every
// basket, keeps those in at least ceil(support × n) baskets and cuts each
// into every antecedent → consequent with a confidence of at least conf.
func bruteRules(baskets []map[string]bool, support, conf float64) [][]string {
	count := map[string]int{}
	key := func(items []string) string { return fmt.Sprint(items) }
	for _, b := range baskets {
		var items []string
		for x := range b {
			items = append(items, x)
		}
		slices.Sort(items)
		for i := range items {
			count[key(items[i:i+1])]++
			for j := i + 1; j < len(items); j++ {
				count[key([]string{items[i], items[j]})]++
				for k := j + 1; k < len(items); k++ {
					count[key([]string{items[i], items[j], items[k]})]++
				}
			}
		}
	}
	n := float64(len(baskets))
	minCount := int(math.Ceil(support * n))
	var out [][]string
	seen := map[string]bool{}
	for _, b := range baskets {
		var items []string
		for x := range b {
			items = append(items, x)
		}
		slices.Sort(items)
		subsets := [][]string{}
		for i := range items {
			for j := i + 1; j < len(items); j++ {
				subsets = append(subsets, []string{items[i], items[j]})
				for k := j + 1; k < len(items); k++ {
					subsets = append(subsets, []string{items[i], items[j], items[k]})
				}
			}
		}
		for _, set := range subsets {
			if seen[key(set)] || count[key(set)] < minCount {
				continue
			}
			seen[key(set)] = true
			for mask := 1; mask < 1<<len(set)-1; mask++ {
				var x, y []string
				for i, it := range set {
					if mask&(1<<i) != 0 {
						x = append(x, it)
					} else {
						y = append(y, it)
					}
				}
				nxy, nx, ny := float64(count[key(set)]), float64(count[key(x)]), float64(count[key(y)])
				if nxy/nx < conf {
					continue
				}
				out = append(out, []string{strings.Join(x, ","), strings.Join(y, ","), fmt.Sprint(nxy),
					f6(nxy / n), f6(nxy / nx), f6(nxy * n / (nx * ny))})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], "|") < strings.Join(out[j], "|") })
	return out
}

func TestAssociationRulesEqualABruteForceApriori(t *testing.T) {
	// 150 customers buy up to 4 times over 100 days, up to 6 of 14
	// products (skewed, as best sellers are).
	r := rand.New(rand.NewPCG(11, 12))
	var orders []fixtureOrder
	for c := range 150 {
		day := r.IntN(40)
		for range 1 + r.IntN(4) {
			var ps []string
			seen := map[string]bool{}
			for range 1 + r.IntN(6) {
				p := fmt.Sprintf("P%02d", int(14*r.Float64()*r.Float64()))
				if !seen[p] {
					seen[p] = true
					ps = append(ps, p)
				}
			}
			orders = append(orders, fixtureOrder{fmt.Sprintf("C%03d", c), day, ps})
			day += r.IntN(25)
		}
	}
	db := basketFixture(t, orders, nil)
	s := crossSellSettings
	s.CrossSell.MinPairBaskets, s.CrossSell.MinSupport, s.CrossSell.MinConfidence = 1, 0.03, 0.2
	runCrossSell(t, db, s)
	warehousetest.RunModels(t, db, repo, "cross_sell_items", "mart_association_rules")
	// The baskets: orders, and each customer's 30-day windows from their
	// first order.
	byOrder := []map[string]bool{}
	windows := map[string]map[string]bool{}
	first := map[string]int{}
	for _, o := range orders {
		if f, ok := first[o.customer]; !ok || o.day < f {
			first[o.customer] = o.day
		}
	}
	for _, o := range orders {
		b := map[string]bool{}
		w := fmt.Sprintf("%s/%d", o.customer, (o.day-first[o.customer])/30)
		if windows[w] == nil {
			windows[w] = map[string]bool{}
		}
		for _, p := range o.products {
			b[p] = true
			windows[w][p] = true
		}
		byOrder = append(byOrder, b)
	}
	var byWindow []map[string]bool
	for _, b := range windows {
		byWindow = append(byWindow, b)
	}
	for scope, bs := range map[string][]map[string]bool{"order": byOrder, "customer_window": byWindow} {
		want := bruteRules(bs, 0.03, 0.2)
		got := warehousetest.Rows(t, db, `SELECT array_to_string(antecedent, ','), array_to_string(consequent, ','), baskets,
			printf('%.6f', support), printf('%.6f', confidence), printf('%.6f', lift)
			FROM mart_association_rules WHERE level = 'product' AND scope = ?`, scope)
		sort.Slice(got, func(i, j int) bool { return strings.Join(got[i], "|") < strings.Join(got[j], "|") })
		require.Equal(t, want, got, scope)
		require.Greater(t, len(want), 50, "%s: enough rules to mean something", scope)
		require.True(t, slices.ContainsFunc(got, func(r []string) bool { return strings.Count(r[0]+","+r[1], ",") == 2 }), "%s: rules of three items", scope)
	}
}

// The lift's 95% interval of mart_product_affinity covers the true lift
// about 95% of the time: 1,000 samples of 2,000 baskets from a 2×2 table
// whose lift is 0.05 / (0.15 × 0.20) = 5/3, each a scope of its own.
func TestLiftIntervalCoversTheTrueLift(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`CREATE TABLE analytics_settings AS SELECT 1 AS cross_sell_min_pair_baskets`,
		`CREATE TABLE cross_sell_items (level VARCHAR, item VARCHAR, item_name VARCHAR, item_name_zh VARCHAR, category VARCHAR, category_zh VARCHAR)`,
		`CREATE TABLE cross_sell_itemsets (level VARCHAR, scope VARCHAR, size INTEGER, item_1 VARCHAR, item_2 VARCHAR, item_3 VARCHAR, baskets BIGINT)`)
	r := rand.New(rand.NewPCG(5, 6))
	const n = 2000
	for k := range 1000 {
		var ab, a, b int
		for range n {
			switch u := r.Float64(); {
			case u < 0.05:
				ab++
				a++
				b++
			case u < 0.15:
				a++
			case u < 0.30:
				b++
			}
		}
		scope := fmt.Sprint("sample", k)
		_, err := db.Exec(`INSERT INTO cross_sell_itemsets VALUES ('product', $1, 0, NULL, NULL, NULL, $2),
			('product', $1, 1, 'a', NULL, NULL, $3), ('product', $1, 1, 'b', NULL, NULL, $4), ('product', $1, 2, 'a', 'b', NULL, $5)`,
			scope, n, a, b, ab)
		require.NoError(t, err)
	}
	warehousetest.RunModels(t, db, repo, "mart_product_affinity")
	covered := warehousetest.Int(t, db, `SELECT count(*) FROM mart_product_affinity WHERE lift_ci_low <= 5 / 3 AND 5 / 3 <= lift_ci_high`)
	t.Logf("the interval covers the true lift in %d of 1000 samples", covered)
	require.InDelta(t, 950, covered, 20)
}

// Without paid orders there are no offers and no counts in use; with
// them again, the step counts from scratch and scores as before.
func TestCrossSellWithoutPaidOrdersForgetsItsCounts(t *testing.T) {
	db := crossSellFixture(t)
	warehousetest.Exec(t, db, `CREATE TABLE before AS SELECT * FROM cross_sell_offers`,
		`CREATE TABLE statuses AS SELECT order_id, status FROM fct_orders`,
		`UPDATE fct_orders SET status = 'cancelled'`)
	runCrossSell(t, db, crossSellSettings)
	require.Equal(t, [][]string{{"0"}}, warehousetest.Rows(t, db, `SELECT count(*) FROM cross_sell_offers`))
	require.Equal(t, [][]string{{"0"}}, warehousetest.Rows(t, db, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'cross_sell_fit'`))
	warehousetest.Exec(t, db, `UPDATE fct_orders o SET status = s.status FROM statuses s WHERE s.order_id = o.order_id`)
	runCrossSell(t, db, crossSellSettings)
	require.Equal(t, [][]string{{"counted: the first count"}}, warehousetest.Rows(t, db, `SELECT DISTINCT refit FROM cross_sell_validation`))
	require.Equal(t, [][]string{{"0"}}, warehousetest.Rows(t, db, `SELECT count(*) FROM (
		(SELECT * FROM before EXCEPT ALL SELECT * FROM cross_sell_offers) UNION ALL (SELECT * FROM cross_sell_offers EXCEPT ALL SELECT * FROM before))`))
	require.Equal(t, [][]string{{"8"}}, warehousetest.Rows(t, db, `SELECT count(*) FROM before`), "the offers of the fixture (TestNextBestOffersByHand)")
}
