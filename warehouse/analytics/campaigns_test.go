package analytics_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/warehousetest"
)

// The campaign marts on a hand-built company whose answers are worked out
// in the comments. Paid orders (G's second is cancelled):
//
//	A (loyal):   2025-01-05 100, 2025-02-10 50, 2025-03-20 40
//	B (loyal):   2025-01-10 80,  2025-02-05 30
//	C (loyal):   2025-01-15 60
//	E (at risk): 2025-01-20 20,  2025-04-15 70
//	F (loyal):   2025-02-20 90,  2025-06-30 10 (the last day with orders)
//	G (at risk): 2025-01-25 10,  2025-02-03 500 cancelled
//
// K1 starts 2025-02-01 (30 days: to 03-02; 90 days: to 05-01) and reached
// A (twice, responded and bought once), C (responded), E, F (first bought
// after the start, so not counted) and a response without a customer. K2
// starts 2025-06-01 and reached F (bought) and B. K0 starts before anyone
// bought, so nobody was eligible for it.
func TestCampaignPerformanceByHand(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db,
		`CREATE TABLE fct_orders AS SELECT order_id, customer_id, CAST(order_date AS DATE) AS order_date,
			CAST(date_trunc('month', CAST(order_date AS DATE)) AS DATE) AS order_month, status,
			CAST(net_amount AS DECIMAL(18,2)) AS net_amount, CAST(net_revenue AS DECIMAL(18,2)) AS net_revenue
		FROM (VALUES
			('a1', 'A', '2025-01-05', 'paid', 100, 100), ('a2', 'A', '2025-02-10', 'paid', 50, 50),
			('a3', 'A', '2025-03-20', 'paid', 40, 40),
			('b1', 'B', '2025-01-10', 'paid', 80, 80), ('b2', 'B', '2025-02-05', 'paid', 30, 30),
			('c1', 'C', '2025-01-15', 'paid', 60, 60),
			('e1', 'E', '2025-01-20', 'paid', 20, 20), ('e2', 'E', '2025-04-15', 'paid', 70, 70),
			('f1', 'F', '2025-02-20', 'paid', 90, 90), ('f2', 'F', '2025-06-30', 'paid', 10, 10),
			('g1', 'G', '2025-01-25', 'paid', 10, 10), ('g2', 'G', '2025-02-03', 'cancelled', 500, 0)
		) t(order_id, customer_id, order_date, status, net_amount, net_revenue)`,
		`CREATE TABLE customer_rfm AS SELECT * FROM (VALUES
			('A', 'loyal'), ('B', 'loyal'), ('C', 'loyal'), ('E', 'at_risk'), ('F', 'loyal'), ('G', 'at_risk')
		) t(customer_id, rfm_segment)`,
		`CREATE TABLE stg_campaigns AS SELECT campaign_id, name, name_zh, CAST(start_date AS DATE) AS start_date FROM (VALUES
			('K0', 'New year', '新年', '2025-01-01'), ('K1', 'Spring', '春季', '2025-02-01'), ('K2', 'Summer', '夏季', '2025-06-01')
		) t(campaign_id, name, name_zh, start_date)`,
		`CREATE TABLE fct_campaign_responses AS SELECT * FROM (VALUES
			('K0', 'A', true, false),
			('K1', 'A', true, true), ('K1', 'A', false, false), ('K1', 'C', true, false), ('K1', 'E', false, false),
			('K1', 'F', true, true), ('K1', NULL, true, true),
			('K2', 'F', true, true), ('K2', 'B', false, false)
		) t(campaign_id, customer_id, responded, purchased)`,
	)
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases",
		"mart_campaign_performance", "mart_campaign_results")

	// K1, loyal: A, B, C eligible; A and C reached (90-day revenue 90 and
	// 0: 45 each, sd √4050), A's 50 of it in the first 30 days; B is the
	// comparable group (30, all in the first 30 days).
	// K1, at risk: E and G eligible; E reached (70, after day 30), G's
	// cancelled order is no revenue.
	// K2, loyal: A, B, C, F eligible; B and F reached (0 and 10: 5 each, sd
	// √50); A and C comparable (0 and 0, sd 0). Its 90 days have 30 days of
	// data.
	require.Equal(t, [][]string{
		{"K1", "Spring", "春季", "2025-02-01", "at_risk", "1", "0", "0", "0", "NULL", "NULL", "0", "70",
			"1", "0", "0", "0", "70", "NULL", "NULL", "90", "true"},
		{"K1", "Spring", "春季", "2025-02-01", "loyal", "2", "2", "1", "1", "25", "45", "25", "45",
			"1", "30", "30", "-5", "15", "63.6396", "NULL", "90", "true"},
		{"K2", "Summer", "夏季", "2025-06-01", "loyal", "2", "1", "0.5", "1", "10", "10", "5", "5",
			"2", "0", "0", "5", "5", "7.0711", "0", "30", "false"},
	}, warehousetest.Rows(t, db, `SELECT campaign_id, campaign_name, campaign_name_zh, start_date, segment,
		reached, responded, round(response_rate, 4), purchased,
		round(revenue_30d_per_responder, 4), round(revenue_90d_per_responder, 4),
		round(revenue_30d_per_reached, 4), round(revenue_90d_per_reached, 4),
		comparable_customers, round(revenue_30d_per_comparable, 4), round(revenue_90d_per_comparable, 4),
		round(uplift_30d, 4), round(uplift_90d, 4),
		round(revenue_90d_sd_reached, 4), round(revenue_90d_sd_comparable, 4), days_observed, is_window_complete
		FROM mart_campaign_performance ORDER BY campaign_id, segment`))

	// K1's segments each have one comparable customer, too few to measure
	// an uplift against; it ranks first as its window is over. K2: the
	// loyal segment alone, uplift 5 with standard error
	// √(50/2 + 0/2) = 5, interval 5 ± 9.8, in total 2 × 5.
	require.Equal(t, [][]string{
		{"1", "K1", "90", "true", "3", "2", "0.6667", "1", "2", "53.3333", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
		{"2", "K2", "30", "false", "2", "1", "0.5", "1", "2", "5", "5", "5", "-4.8", "14.8", "false", "10", "-9.6"},
	}, warehousetest.Rows(t, db, `SELECT rank, campaign_id, days_observed, is_window_complete, reached, responded,
		round(response_rate, 4), purchased, comparable_customers, round(revenue_90d_per_reached, 4),
		round(uplift_90d, 4), round(uplift_90d_se, 4), round(uplift_90d_low, 4), round(uplift_90d_high, 4),
		is_uplift_significant, round(extra_revenue_90d, 4), round(extra_revenue_90d_low, 4)
		FROM mart_campaign_results ORDER BY rank`))
}
