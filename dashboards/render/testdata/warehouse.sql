-- A small hand-made warehouse for the renderer's tests (the "golden
-- warehouse"): every table the default pages read, with the columns of the
-- real marts and meta tables, six complete months (January to June 2024)
-- and July in progress, and customers whose names try to break the page.
-- Everything is written out or computed from fixed formulas: no random().

CREATE TABLE analytics_settings AS SELECT
    'CNY' AS currency, 'Asia/Shanghai' AS timezone, 'day' AS time_unit, 180 AS holdout_days, 12 AS horizon_months,
    0.01 AS monthly_discount_rate, 0.35 AS margin, 'inactivity' AS churn_definition, 180 AS inactivity_days,
    0.3 AS p_alive_threshold;

CREATE TABLE mart_kpi_monthly (
    month DATE,
    orders BIGINT,
    cancelled_orders BIGINT,
    gross_revenue DECIMAL(18,2),
    refunds DECIMAL(18,2),
    net_revenue DECIMAL(18,2),
    active_customers BIGINT,
    new_customers BIGINT,
    is_complete BOOLEAN,
    complaints BIGINT,
    complaint_resolution_rate DOUBLE,
    median_resolution_hours DOUBLE,
    avg_satisfaction DOUBLE,
    categories_per_customer DOUBLE,
    retention_rate DOUBLE
);
INSERT INTO mart_kpi_monthly VALUES
    ('2024-01-01', 5230, 40, 1250000.00, 69999.50, 1180000.50, 4100, 820, true, 31, 0.903, 20.5, 3.9, 1.42, NULL),
    ('2024-02-01', 4810, 40, 1100000.00, 55000.00, 1045000.00, 3950, 610, true, 28, 0.893, 22.0, 3.8, 1.40, 0.412),
    ('2024-03-01', 5702, 40, 1400000.25, 79500.00, 1320500.25, 4420, 905, true, 35, 0.914, 18.25, 4.0, 1.45, 0.437),
    ('2024-04-01', 6015, 40, 1480000.00, 78765.44, 1401234.56, 4630, 880, true, 40, 0.925, 17.0, 4.1, 1.47, 0.455),
    ('2024-05-01', 5990, 40, 1460000.00, 71000.00, 1389000.00, 4702, 760, true, 38, 0.947, 16.5, 4.1, 1.46, 0.461),
    ('2024-06-01', 6420, 52, 1600000.00, 76543.22, 1523456.78, 4911, 948, true, 44, 0.932, 15.75, 4.2, 1.51, 0.468),
    -- July is still in progress: the pages must leave it out.
    ('2024-07-01', 700, 3, 160000.00, 10000.00, 150000.00, 650, 90, false, 5, 0.4, 30.0, 3.0, 1.1, 0.1);

CREATE TABLE mart_churn_monthly AS
WITH months AS (
    SELECT i, CAST(DATE '2024-01-01' + to_months(i) AS DATE) AS month FROM range(0, 7) r(i)
),
cuts(dimension, dimension_value, base, k) AS (
    VALUES ('all', 'all', 12000, 0),
        ('rfm_segment', 'champions', 2000, 1), ('rfm_segment', 'at_risk', 1500, 4),
        ('region', 'East', 5000, 2), ('region', 'North', 3000, 3), ('region', 'South', 4000, 5),
        ('acquisition_channel', 'online', 6000, 1), ('acquisition_channel', 'store', 4000, 2),
        ('acquisition_channel', 'wechat', 2000, 6)
)
SELECT m.month, c.dimension, c.dimension_value,
    c.base + 40 * m.i AS customers_at_risk,
    c.base // 25 + (m.i * 7 + c.k * 3) % 11 AS churned_customers,
    (c.base // 25 + (m.i * 7 + c.k * 3) % 11) / (c.base + 40 * m.i) AS churn_rate,
    CAST((c.base // 25 + (m.i * 7 + c.k * 3) % 11) * 812.5 AS DECIMAL(18, 2)) AS churned_revenue
FROM months m CROSS JOIN cuts c
ORDER BY c.dimension, c.dimension_value, m.month;

CREATE TABLE mart_customer_value (
    customer_id VARCHAR,
    customer_name VARCHAR,
    customer_type VARCHAR,
    region VARCHAR,
    acquisition_channel VARCHAR,
    account_manager_name VARCHAR,
    account_manager_name_zh VARCHAR,
    first_purchase_date DATE,
    last_purchase_date DATE,
    days_since_last_purchase INTEGER,
    purchase_days BIGINT,
    net_revenue DECIMAL(18,2),
    r_score BIGINT,
    f_score BIGINT,
    m_score BIGINT,
    rfm_segment VARCHAR,
    expected_purchases_90d DOUBLE,
    expected_purchases_365d DOUBLE,
    p_alive DOUBLE,
    expected_order_value DOUBLE,
    clv_12m DECIMAL(18,2),
    value_tier VARCHAR,
    churn_risk BOOLEAN,
    is_churned BOOLEAN
);
INSERT INTO mart_customer_value VALUES
    ('C001', '<script>alert(1)</script>', 'corporate', 'East', 'sales', 'Li Na', '李娜', '2023-02-01', '2024-06-20', 10, 24, 88000.00, 5, 5, 5, 'champions', 3.1, 11.8, 0.95, 3400.0, 14040.00, 'top_1', false, false),
    ('C002', 'Zhang "Wei" O''Brien & 张伟', 'individual', 'North', 'online', 'Wang Fang', '王芳', '2023-03-15', '2024-03-02', 120, 9, 21000.00, 2, 4, 5, 'at_risk', 0.4, 1.5, 0.22, 2300.0, 1207.50, 'top_5', true, false),
    ('C003', '王小明', 'individual', 'East', 'wechat', 'Li Na', '李娜', '2023-05-10', '2024-06-28', 2, 15, 30500.00, 5, 5, 4, 'champions', 2.0, 7.6, 0.91, 1900.0, 5054.00, 'top_5', false, false),
    ('C004', 'Acme Trading Co.', 'corporate', 'South', 'sales', 'Wang Fang', '王芳', '2023-01-20', '2024-05-30', 31, 18, 26000.00, 4, 5, 4, 'loyal', 1.6, 6.1, 0.78, 1450.0, 3095.75, 'top_20', false, false),
    ('C005', 'Chen Jie', 'individual', 'Central', 'store', NULL, NULL, '2023-07-07', '2023-12-15', 198, 4, 2400.00, 1, 2, 2, 'hibernating', 0.05, 0.2, 0.06, 600.0, 42.00, 'rest', true, true),
    ('C006', 'Liu Yang', 'individual', 'Southwest', 'referral', NULL, NULL, '2024-05-02', '2024-05-02', 59, 1, 450.00, 3, 1, 1, 'about_to_sleep', 0.2, 0.7, 0.41, 450.0, 110.25, 'rest', false, false),
    ('C007', '=cmd|'' /C calc''!A0', 'individual', 'East', 'online', NULL, NULL, '2024-06-01', '2024-06-25', 5, 2, 980.00, 5, 2, 2, 'potential_loyalists', 0.6, 2.4, 0.85, 490.0, 411.60, 'top_20', false, false),
    ('C008', 'Zhao Lei', 'individual', 'Northeast', 'online', NULL, NULL, '2023-09-09', '2024-02-10', 141, 6, 5100.00, 2, 3, 3, 'at_risk', 0.3, 1.1, 0.27, 850.0, 327.25, 'top_20', true, false),
    ('C009', 'Sun Li', 'individual', 'North', 'store', 'Zhou Min', '周敏', '2023-11-11', '2024-06-11', 19, 7, 6300.00, 4, 4, 3, 'loyal', 0.9, 3.4, 0.81, 900.0, 1071.00, 'top_20', false, false),
    ('C010', 'Wu Gang', 'individual', 'East', 'wechat', NULL, NULL, '2024-06-18', '2024-06-18', 12, 1, 320.00, 5, 1, 1, 'new_customers', 0.3, 1.0, 0.72, 320.0, 112.00, 'rest', false, false),
    ('C011', 'Huang Min', 'individual', 'South', 'online', NULL, NULL, '2023-04-04', '2023-10-01', 273, 3, 1500.00, 1, 2, 2, 'hibernating', 0.02, 0.08, 0.03, 500.0, 14.00, 'rest', true, true),
    ('C012', 'Xu Jing', 'individual', 'Central', 'referral', 'Zhou Min', '周敏', '2023-08-08', '2024-04-20', 71, 5, 4200.00, 3, 3, 3, 'need_attention', 0.5, 1.9, 0.55, 840.0, 558.60, 'top_20', false, false);

-- The Pareto curve of 1,000 customers: the top 20% hold 1 - 0.8^6.
CREATE TABLE mart_pareto AS
SELECT customer_percentile,
    customer_percentile / 100.0 AS customer_share,
    CAST(ceil(customer_percentile * 10) AS BIGINT) AS customers,
    CAST(round((1 - pow(1 - customer_percentile / 100.0, 6)) * 5000000, 2) AS DECIMAL(18, 2)) AS net_revenue,
    1 - pow(1 - customer_percentile / 100.0, 6) AS revenue_share
FROM (SELECT CAST(i AS INTEGER) AS customer_percentile FROM range(1, 101) r(i))
ORDER BY customer_percentile;

CREATE TABLE mart_cohort_retention AS
WITH cohorts AS (
    SELECT c, CAST(DATE '2024-01-01' + to_months(c) AS DATE) AS cohort_month, 900 - 50 * c AS cohort_customers
    FROM range(0, 6) r(c)
),
grid AS (
    SELECT k.*, CAST(m AS INTEGER) AS months_since_first
    FROM cohorts k, range(0, 6) r(m)
    WHERE k.c + m <= 5
)
SELECT cohort_month, months_since_first,
    CAST(cohort_month + to_months(months_since_first) AS DATE) AS activity_month,
    cohort_customers,
    CAST(CASE WHEN months_since_first = 0 THEN cohort_customers
         ELSE round(cohort_customers * (0.42 - 0.04 * months_since_first + 0.01 * c)) END AS BIGINT) AS active_customers,
    CASE WHEN months_since_first = 0 THEN 1.0
         ELSE round(cohort_customers * (0.42 - 0.04 * months_since_first + 0.01 * c)) / cohort_customers END AS retention_rate,
    CAST(CASE WHEN months_since_first = 0 THEN cohort_customers * 300
         ELSE round(cohort_customers * (0.42 - 0.04 * months_since_first + 0.01 * c)) * 260 END AS DECIMAL(18, 2)) AS net_revenue,
    CASE WHEN months_since_first = 0 THEN 1.0
         ELSE round(cohort_customers * (0.42 - 0.04 * months_since_first + 0.01 * c)) * 260 / (cohort_customers * 300) END AS revenue_retention
FROM grid
ORDER BY cohort_month, months_since_first;

CREATE TABLE mart_churn_reasons (
    reason VARCHAR, churned_with_reason BIGINT, share_of_churned DOUBLE, retained_with_reason BIGINT,
    share_of_retained DOUBLE, lift DOUBLE
);
INSERT INTO mart_churn_reasons VALUES
    ('ticket:complaint', 120, 0.24, 300, 0.06, 4.0),
    ('low_satisfaction', 90, 0.18, 250, 0.05, 3.6),
    ('unresolved_ticket', 40, 0.08, 50, 0.01, 8.0),
    ('contact:delivery', 35, 0.07, 400, 0.08, 0.875),
    ('ticket:return', 30, 0.06, 200, 0.04, 1.5),
    ('contact:<b>new topic</b>', 10, 0.02, 100, 0.02, 1.0);

CREATE TABLE mart_segments (
    rfm_segment VARCHAR, customers BIGINT, share_of_customers DOUBLE, net_revenue DECIMAL(18,2), share_of_revenue DOUBLE,
    avg_clv_12m DECIMAL(18,2), avg_p_alive DOUBLE, recommended_action VARCHAR, recommended_action_zh VARCHAR
);
INSERT INTO mart_segments VALUES
    ('champions', 1200, 0.12, 2400000.00, 0.40, 2650.00, 0.92, 'Reward and involve them', '奖励并邀请参与'),
    ('loyal', 1800, 0.18, 1500000.00, 0.25, 1120.00, 0.81, 'Upsell higher-value products', '向上销售高价值产品'),
    ('potential_loyalists', 1500, 0.15, 600000.00, 0.10, 640.00, 0.70, 'Offer membership', '提供会员权益'),
    ('at_risk', 1300, 0.13, 780000.00, 0.13, 210.00, 0.24, 'Win back personally <now>', '个性化挽回'),
    ('cant_lose_them', 400, 0.04, 420000.00, 0.07, 180.00, 0.18, 'Act now', '立即行动'),
    ('hibernating', 3800, 0.38, 300000.00, 0.05, 20.00, 0.04, 'Low-cost reactivation only', '仅做低成本唤醒');

CREATE TABLE mart_campaign_performance (
    campaign_id VARCHAR, campaign_name VARCHAR, campaign_name_zh VARCHAR, start_date DATE, segment VARCHAR,
    reached BIGINT, responded BIGINT, response_rate DOUBLE, purchased BIGINT,
    revenue_30d_per_responder DOUBLE, revenue_90d_per_responder DOUBLE, revenue_30d_per_reached DOUBLE,
    revenue_90d_per_reached DOUBLE, comparable_customers BIGINT, revenue_30d_per_comparable DOUBLE,
    revenue_90d_per_comparable DOUBLE, uplift_30d DOUBLE, uplift_90d DOUBLE
);
INSERT INTO mart_campaign_performance VALUES
    ('K1', 'Spring Tea 2024', '2024春茶上新', '2024-03-01', 'champions', 400, 180, 0.45, 60, 300, 520, 140, 240, 800, 100, 180, 40, 60),
    ('K1', 'Spring Tea 2024', '2024春茶上新', '2024-03-01', 'at_risk', 300, 60, 0.2, 12, 200, 350, 45, 80, 900, 30, 50, 15, 30),
    ('K2', 'Win-back <Summer>', '夏季召回', '2024-05-15', 'hibernating', 1000, 90, 0.09, 20, 150, 260, 14, 25, 2500, 8, 12, 6, 13),
    ('K2', 'Win-back <Summer>', '夏季召回', '2024-05-15', 'at_risk', 500, 75, 0.15, 18, 180, 300, 27, 50, 800, 20, 35, 7, 15);

CREATE TABLE mart_churn_watchlist (
    priority INTEGER, customer_id VARCHAR, customer_name VARCHAR, account_manager_name VARCHAR,
    account_manager_name_zh VARCHAR, value_tier VARCHAR, clv_12m DECIMAL(18,2), p_alive DOUBLE,
    p_alive_90d_ago DOUBLE, days_since_last_purchase INTEGER, usual_interval_days DOUBLE,
    recent_complaints BIGINT, unresolved_tickets BIGINT, order_value_change DOUBLE,
    signals VARCHAR, signals_zh VARCHAR, suggested_action VARCHAR, suggested_action_zh VARCHAR
);
INSERT INTO mart_churn_watchlist VALUES
    (1, 'C002', 'Zhang "Wei" O''Brien & 张伟', 'Wang Fang', '王芳', 'top_5', 1207.50, 0.22, 0.71, 120, 40, 2, 1, -0.35,
        'overdue, recent complaint, unresolved ticket, smaller orders', '超期未购，近期投诉，工单未解决，订单金额下降',
        'Resolve the open ticket, then call', '先解决未结工单，再电话回访'),
    (2, 'C013', '<script>alert(1)</script>', 'Li Na', '李娜', 'top_1', 9800.00, 0.28, 0.93, 75, 21, 1, 0, -0.1,
        'overdue, recent complaint', '超期未购，近期投诉', 'Call about the complaint <today>', '就投诉致电'),
    (3, 'C008', 'Zhao Lei', NULL, NULL, 'top_20', 327.25, 0.27, 0.65, 141, 30, 0, 0, 0.05,
        'overdue, P(alive) falling', '超期未购，存活概率下降', 'Personal call with a tailored offer', '个人电话回访并提供定制优惠'),
    (4, 'C014', 'Zhou Xun', 'Li Na', '李娜', 'top_20', 880.00, 0.29, 0.52, 64, 25, 0, 0, -0.42,
        'overdue, smaller orders', '超期未购，订单金额下降', 'Personal call with a tailored offer', '个人电话回访并提供定制优惠');

CREATE TABLE mart_clv_model (
    model VARCHAR, role VARCHAR, fitted_on VARCHAR, parameter VARCHAR, value DOUBLE, std_error DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
    log_likelihood DOUBLE, holdout_log_likelihood DOUBLE, holdout_mae DOUBLE, holdout_error DOUBLE, converged BOOLEAN, status VARCHAR,
    customers BIGINT, fitted_at TIMESTAMPTZ, in_use BOOLEAN
);
INSERT INTO mart_clv_model VALUES
    ('bgnbd', 'purchases', 'calibration period', 'r', 0.25, 0.013, 0.226, 0.276, -8012.2, -1580.3, 0.512, 0.012, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('bgnbd', 'purchases', 'calibration period', 'alpha', 4.52, 0.39, 3.76, 5.28, -8012.2, -1580.3, 0.512, 0.012, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('bgnbd', 'purchases', 'calibration period', 'a', 0.81, 0.19, 0.44, 1.18, -8012.2, -1580.3, 0.512, 0.012, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('bgnbd', 'purchases', 'calibration period', 'b', 2.5, 0.74, 1.05, 3.95, -8012.2, -1580.3, 0.512, 0.012, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('pareto_nbd', 'purchases', 'calibration period', 'r', 0.55, 0.04, 0.47, 0.63, -8019.9, -1584.1, 0.515, -0.031, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('pareto_nbd', 'purchases', 'calibration period', 'alpha', 10.6, 0.8, 9.0, 12.2, -8019.9, -1584.1, 0.515, -0.031, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('pareto_nbd', 'purchases', 'calibration period', 's', 0.61, 0.1, 0.41, 0.81, -8019.9, -1584.1, 0.515, -0.031, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('pareto_nbd', 'purchases', 'calibration period', 'beta', 11.7, 2.9, 6.0, 17.4, -8019.9, -1584.1, 0.515, -0.031, true, 'ok', 9000, '2024-07-01 05:50:00+00', false),
    ('bgnbd', 'purchases', 'all data', 'r', 0.243, 0.012, 0.219, 0.267, -9582.4, NULL, NULL, NULL, true, 'ok', 10000, '2024-07-01 05:50:00+00', true),
    ('bgnbd', 'purchases', 'all data', 'alpha', 4.41, 0.37, 3.69, 5.13, -9582.4, NULL, NULL, NULL, true, 'ok', 10000, '2024-07-01 05:50:00+00', true),
    ('bgnbd', 'purchases', 'all data', 'a', 0.793, 0.18, 0.44, 1.15, -9582.4, NULL, NULL, NULL, true, 'ok', 10000, '2024-07-01 05:50:00+00', true),
    ('bgnbd', 'purchases', 'all data', 'b', 2.43, 0.71, 1.04, 3.82, -9582.4, NULL, NULL, NULL, true, 'ok', 10000, '2024-07-01 05:50:00+00', true),
    ('gamma_gamma', 'spend', 'all data', 'p', 6.25, 0.49, 5.29, 7.21, -4012.9, NULL, NULL, NULL, true, 'ok', 4200, '2024-07-01 05:50:00+00', true),
    ('gamma_gamma', 'spend', 'all data', 'q', 3.74, 0.28, 3.19, 4.29, -4012.9, NULL, NULL, NULL, true, 'ok', 4200, '2024-07-01 05:50:00+00', true),
    ('gamma_gamma', 'spend', 'all data', 'gamma', 15.4, 1.9, 11.7, 19.1, -4012.9, NULL, NULL, NULL, true, 'ok', 4200, '2024-07-01 05:50:00+00', true);

CREATE TABLE mart_clv_status (status VARCHAR, purchase_model VARCHAR, spend_model VARCHAR, reason VARCHAR, reason_zh VARCHAR, as_of DATE, fitted_at TIMESTAMPTZ,
    refit VARCHAR, refit_zh VARCHAR);
INSERT INTO mart_clv_status VALUES ('ok', 'bgnbd', 'gamma_gamma',
    'purchases: BG/NBD: the highest log-likelihood of the holdout purchases (holdout log-likelihood: BG/NBD -1580.3; Pareto/NBD -1584.1); spend: Gamma-Gamma',
    '购买模型：BG/NBD（依据验证期的预测表现选定）；客单价模型：Gamma-Gamma', '2024-06-30', '2024-07-01 05:50:00+00',
    'kept the fit of run 20240627T055000Z (data as of 2024-06-27): 3 days of new data, repeat purchases -2.4% against its expectation (refit after 7 days or beyond 10%)',
    '沿用运行 20240627T055000Z 的拟合（数据截至 2024-06-27）：新增 3 天数据，复购次数与其预期相差 -2.4%（满 7 天或相差超过 10% 时重新拟合）');

CREATE TABLE mart_clv_validation (frequency_bucket VARCHAR, customers BIGINT, predicted_holdout DOUBLE, actual_holdout DOUBLE);
INSERT INTO mart_clv_validation VALUES
    ('0', 5200, 0.21, 0.19), ('1', 1900, 0.62, 0.66), ('2', 1100, 1.04, 0.98), ('3', 700, 1.43, 1.51),
    ('4', 430, 1.88, 1.79), ('5', 280, 2.31, 2.40), ('6', 170, 2.69, 2.58), ('7+', 220, 3.85, 3.97);

CREATE TABLE mart_clv_tracking AS
SELECT CAST(w AS INTEGER) AS week, CAST(w * 212 + (w * 37) % 29 AS DOUBLE) AS actual_cumulative, w * 215.5 AS expected_cumulative
FROM range(1, 27) r(w)
ORDER BY week;

CREATE TABLE dim_customer AS
SELECT customer_id, customer_name, customer_type, region, acquisition_channel, account_manager_name, account_manager_name_zh
FROM mart_customer_value;

CREATE TABLE fct_tickets AS
WITH t AS (
    SELECT i, (['complaint', 'inquiry', 'return', 'delivery', 'billing'])[i % 5 + 1] AS category
    FROM range(0, 42) r(i)
)
SELECT
    1000 + i AS ticket_id,
    printf('C%03d', i % 12 + 1) AS customer_id,
    category,
    category = 'complaint' AS is_complaint,
    (['normal', 'high', 'low', 'urgent'])[i % 4 + 1] AS priority,
    CASE WHEN i % 13 = 5 THEN 'open' WHEN i % 2 = 0 THEN 'closed' ELSE 'resolved' END AS status,
    i % 13 <> 5 AS is_resolved,
    TIMESTAMPTZ '2024-01-03 02:00:00+00' + to_days(CAST(i * 4 + i % 3 AS INTEGER)) + to_hours(CAST(i % 9 AS INTEGER)) AS opened_at,
    CASE WHEN i % 13 <> 5 THEN TIMESTAMPTZ '2024-01-03 02:00:00+00' + to_days(CAST(i * 4 + i % 3 AS INTEGER)) + to_hours(CAST(i % 9 + 4 + i % 17 * 3 AS INTEGER)) END AS resolved_at,
    CAST(date_trunc('month', DATE '2024-01-03' + to_days(CAST(i * 4 + i % 3 AS INTEGER))) AS DATE) AS opened_month,
    CASE WHEN i % 13 <> 5 THEN CAST(4 + i % 17 * 3 AS DOUBLE) END AS resolution_hours,
    CASE WHEN i % 13 <> 5 AND i % 4 <> 3 THEN CAST(i % 5 + 1 AS BIGINT) END AS satisfaction
FROM t
ORDER BY ticket_id;

-- Cross-sell: monthly figures, pairs of categories and products, rules,
-- and the next best offers with their validation.
CREATE TABLE mart_cross_sell_monthly AS
SELECT CAST(DATE '2024-01-01' + to_months(i) AS DATE) AS month,
    1.50 + 0.05 * i AS categories_per_customer, 2.60 + 0.11 * i AS products_per_customer,
    0.18 + 0.01 * i AS multi_category_order_share, 0.40 + 0.02 * i AS multi_category_customer_share,
    0.55 + 0.015 * i AS multi_category_revenue_share, i < 6 AS is_complete
FROM range(0, 7) r(i)
ORDER BY month;

CREATE TABLE mart_product_affinity (
    level VARCHAR, scope VARCHAR, item_a VARCHAR, item_a_name VARCHAR, item_a_name_zh VARCHAR, item_b VARCHAR,
    item_b_name VARCHAR, item_b_name_zh VARCHAR, baskets_ab BIGINT, expected_baskets_ab DOUBLE,
    confidence_a_to_b DOUBLE, confidence_b_to_a DOUBLE, lift DOUBLE, lift_ci_low DOUBLE, lift_ci_high DOUBLE, association VARCHAR
);
INSERT INTO mart_product_affinity VALUES
    ('category', 'order', 'Gifts', 'Gifts', '礼品', 'Snacks', 'Snacks', '零食', 820, 1000, 0.1, 0.08, 0.82, 0.77, 0.87, 'negative'),
    ('category', 'order', 'Gifts', 'Gifts', '礼品', 'Tea', 'Tea', '茶叶', 1900, 1000, 0.23, 0.2, 1.9, 1.8, 2.0, 'positive'),
    ('category', 'order', 'Snacks', 'Snacks', '零食', 'Tea', 'Tea', '茶叶', 1050, 1000, 0.3, 0.28, 1.05, 0.99, 1.11, 'not_significant'),
    ('category', 'customer_window', 'Gifts', 'Gifts', '礼品', 'Snacks', 'Snacks', '零食', 1500, 1600, 0.18, 0.14, 0.94, 0.9, 0.98, 'negative'),
    ('category', 'customer_window', 'Gifts', 'Gifts', '礼品', 'Tea', 'Tea', '茶叶', 2600, 1600, 0.31, 0.27, 1.62, 1.55, 1.7, 'positive'),
    ('category', 'customer_window', 'Snacks', 'Snacks', '零食', 'Tea', 'Tea', '茶叶', 1900, 1600, 0.4, 0.37, 1.19, 1.13, 1.25, 'positive'),
    ('product', 'order', 'TEA-006', 'Jasmine Tea <250g>', '茉莉花茶', 'TWR-004', 'Glass Teapot & Co', '玻璃茶壶', 2232, 404.6, 0.3, 0.68, 5.52, 5.37, 5.67, 'positive'),
    ('product', 'order', 'SNK-003', 'Dried Mango', '芒果干', 'TEA-015', 'Lemon Black Tea', '柠檬红茶', 999, 619.3, 0.22, 0.13, 1.61, 1.53, 1.7, 'positive'),
    ('product', 'order', 'SNK-005', 'Haw Flakes', '山楂片', 'SNK-015', 'Preserved Plums', '话梅', 320, 1092.2, 0.04, 0.04, 0.29, 0.26, 0.33, 'negative'),
    ('product', 'customer_window', 'SNK-005', 'Haw Flakes', '山楂片', 'SNK-015', 'Preserved Plums', '话梅', 402, 1200.0, 0.05, 0.05, 0.34, 0.31, 0.37, 'negative');

CREATE TABLE mart_association_rules (
    level VARCHAR, scope VARCHAR, rule VARCHAR, rule_zh VARCHAR, baskets BIGINT, support DOUBLE, confidence DOUBLE,
    lift DOUBLE, lift_ci_low DOUBLE, leverage DOUBLE
);
INSERT INTO mart_association_rules VALUES
    ('product', 'order', 'Glass Teapot & Co → Jasmine Tea <250g>', '玻璃茶壶 → 茉莉花茶', 2232, 0.035, 0.68, 5.52, 5.37, 0.0287),
    ('product', 'order', 'Jasmine Tea <250g> → Glass Teapot & Co', '茉莉花茶 → 玻璃茶壶', 2232, 0.035, 0.3, 5.52, 5.37, 0.0287),
    ('product', 'order', 'Dried Mango + Haw Flakes → Lemon Black Tea', '芒果干 + 山楂片 → 柠檬红茶', 120, 0.0019, 0.21, 1.74, 1.46, 0.0008),
    ('product', 'order', 'Dried Mango → Lemon Black Tea', '芒果干 → 柠檬红茶', 999, 0.0158, 0.22, 1.61, 1.53, 0.006),
    ('category', 'order', 'Gifts → Tea', '礼品 → 茶叶', 1900, 0.03, 0.23, 1.9, 1.8, 0.014);

CREATE TABLE mart_next_best_offer_validation (
    level VARCHAR, holdout_end DATE, customers_evaluated BIGINT, offer_hit_rate DOUBLE, baseline_hit_rate DOUBLE, mcnemar_z DOUBLE,
    beats_baseline BOOLEAN, verdict VARCHAR, verdict_zh VARCHAR
);
INSERT INTO mart_next_best_offer_validation VALUES
    ('product', DATE '2026-10-31', 4074, 0.456, 0.399, 6.42, true,
        'The offers were bought by 45.6% of the customers, the best sellers by 39.9%: 1.14× as often, more than chance explains.',
        '45.6%的客户购买了推荐商品，热销商品为39.9%：是其1.14倍，差异显著。'),
    ('category', DATE '2026-10-31', 1746, 0.993, 0.993, NULL, false,
        'The offers did no better than the best sellers: 99.3% against 99.3% of the customers, a difference chance explains.',
        '推荐并不优于热销商品：99.3%对99.3%，差异在随机范围内。');

CREATE TABLE mart_next_best_offer AS
SELECT c.customer_id, c.customer_name, c.account_manager_name, c.account_manager_name_zh, c.value_tier, c.clv_12m,
    'product' AS level, r.rank,
    (['Jasmine Tea <250g>', 'Lemon Black Tea', 'Haw Flakes'])[r.rank] AS item_name,
    (['茉莉花茶', '柠檬红茶', '山楂片'])[r.rank] AS item_name_zh,
    (['bought Glass Teapot & Co; buyers of Glass Teapot & Co buy Jasmine Tea <250g> 5.5× as often',
      'buys Tea 1.8× as often as customers at large', 'a best seller: in 14.3% of baskets'])[r.rank] AS reason,
    (['买过玻璃茶壶；买玻璃茶壶的客户购买茉莉花茶的比例是平均的5.5倍', '购买茶叶的频率是平均客户的1.8倍',
      '热销商品：14.3%的购物篮包含它'])[r.rank] AS reason_zh
FROM mart_customer_value c CROSS JOIN range(1, 4) r(rank)
WHERE NOT c.is_churned
ORDER BY c.customer_id, r.rank;

-- The meta schema of a warehouse with two successful builds, one failed
-- build and one test run.
CREATE SCHEMA meta;
CREATE TABLE meta.build_runs (
    run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, kind VARCHAR, status VARCHAR,
    models_ok INTEGER, models_failed INTEGER, models_skipped INTEGER, tests_failed INTEGER, error VARCHAR);
INSERT INTO meta.build_runs VALUES
    ('20240630T220000Z-aaaa', '2024-06-30 22:00:00+00', '2024-06-30 22:00:41+00', 'build', 'ok', 5, 0, 0, 0, NULL),
    ('20240701T040000Z-bbbb', '2024-07-01 04:00:00+00', '2024-07-01 04:00:12+00', 'build', 'failed', 3, 1, 1, 0,
        'model mart_broken: Binder Error: <column> "x" not found'),
    ('20240701T055900Z-cccc', '2024-07-01 05:59:00+00', '2024-07-01 06:00:00+00', 'build', 'ok', 5, 0, 0, 0, NULL),
    ('20240701T061000Z-dddd', '2024-07-01 06:10:00+00', '2024-07-01 06:10:03+00', 'test', 'ok', 0, 0, 0, 0, NULL);
CREATE TABLE meta.model_runs (
    run_id VARCHAR, model VARCHAR, path VARCHAR, materialized VARCHAR, status VARCHAR,
    row_count BIGINT, duration_ms DOUBLE, detail VARCHAR, error VARCHAR);
INSERT INTO meta.model_runs VALUES
    ('20240630T220000Z-aaaa', 'fct_orders', 'sql/core/fct_orders.sql', 'table', 'ok', 65000, 310.5, NULL, NULL),
    ('20240701T055900Z-cccc', 'settings', '', 'go', 'ok', 1, 0.4, NULL, NULL),
    ('20240701T055900Z-cccc', 'stg_billing__orders', 'sql/staging/billing/stg_billing__orders.sql', 'incremental', 'ok', 70000, 120.0, 'full build', NULL),
    ('20240701T055900Z-cccc', 'fct_orders', 'sql/core/fct_orders.sql', 'table', 'ok', 66610, 320.25, NULL, NULL),
    ('20240701T055900Z-cccc', 'dim_customer', 'sql/core/dim_customer.sql', 'table', 'ok', 20591, 95.0, NULL, NULL),
    ('20240701T055900Z-cccc', 'mart_kpi_monthly', 'sql/marts/mart_kpi_monthly.sql', 'table', 'ok', 7, 12.5, NULL, NULL);
CREATE TABLE meta.test_status (
    test VARCHAR, model VARCHAR, status VARCHAR, last_run_at TIMESTAMPTZ, failing_since TIMESTAMPTZ,
    first_failed_at TIMESTAMPTZ, failed_runs BIGINT, runs BIGINT, failures_trend BIGINT[]);
INSERT INTO meta.test_status VALUES
    ('unique_fct_orders_order_id', 'fct_orders', 'pass', '2024-07-01 06:10:02+00', NULL, NULL, 0, 4, [0, 0, 0, 0]),
    ('not_null_dim_customer_customer_id', 'dim_customer', 'pass', '2024-07-01 06:10:02+00', NULL, NULL, 0, 4, [0, 0, 0, 0]),
    ('freshness_fct_orders_ordered_at', 'fct_orders', 'warn', '2024-07-01 06:10:02+00', '2024-07-01 05:59:50+00', '2024-06-30 22:00:40+00', 2, 4, [1, 0, 1, 1]),
    ('assert_<b>bold</b>_mart_kpi_monthly', 'mart_kpi_monthly', 'fail', '2024-07-01 06:10:02+00', '2024-07-01 06:10:02+00', '2024-07-01 06:10:02+00', 1, 4, [0, 0, 0, 3]);
CREATE TABLE meta.lake_streams (
    source VARCHAR, stream VARCHAR, row_count BIGINT, quarantined BIGINT, parts INTEGER,
    files_loaded INTEGER, schema_hash VARCHAR, watermark VARCHAR, updated_at TIMESTAMPTZ);
INSERT INTO meta.lake_streams VALUES
    ('billing', 'orders', 60000, 2, 3, 180, '0a7ddcccfbd24fe5', NULL, '2024-07-01 05:58:30+00'),
    ('billing', 'legacy_orders', 6610, 1, 2, 180, '0a7ddcccfbd24fe5', NULL, '2024-07-01 05:58:31+00'),
    ('crm', 'customers', 21000, 0, 4, 0, 'd358e0d64a08551e', '2024-06-30T23:59:01Z', '2024-07-01 05:58:20+00'),
    ('surveys', 'responses', 3100, 0, 6, 6, '9ba41ef4185d3f08', NULL, '2024-07-01 05:58:25+00');
CREATE TABLE meta.lake_warnings (source VARCHAR, stream VARCHAR, kind VARCHAR, message VARCHAR, run_id VARCHAR, reported_at TIMESTAMPTZ);
INSERT INTO meta.lake_warnings VALUES
    ('billing', 'orders', 'file_changed', 'data/billing/orders_20240630.csv grew from 1,204 to 1,388 bytes after it was loaded; its new rows were not loaded (on_file_change: warn)', 'r1', '2024-07-01 05:58:30+00');
-- Two cohorts of monthly contracts seen for 5 periods: the projection is
-- the sBG survival of their parameters, the actuals 1% lower per period.
CREATE TABLE mart_contract_retention AS
WITH c AS (
    SELECT * FROM (VALUES ('tea_club 2025', 'tea_club', 2025, 0.9, 3.0, 400, 5, 310),
                          ('tea_club_plus 2025', 'tea_club_plus', 2025, 1.6, 9.0, 200, 5, 170))
        t(cohort, plan, start_year, alpha, beta, contracts, seen, active)
),
g AS (
    SELECT c.*, CAST(p AS INTEGER) AS period,
        exp(lgamma(beta + p) - lgamma(beta) - lgamma(alpha + beta + p) + lgamma(alpha + beta)) AS s
    FROM c, range(0, 18) r(p)
)
SELECT cohort, plan, CAST(start_year AS INTEGER) AS start_year, 'month' AS period_unit, period,
    CAST(contracts AS BIGINT) AS contracts,
    CAST(CASE WHEN period <= seen THEN contracts ELSE 0 END AS BIGINT) AS observed_contracts,
    CAST(CASE WHEN period <= seen THEN round(contracts * s * (1 - 0.01 * period)) END AS BIGINT) AS actual_alive,
    CASE WHEN period <= seen THEN round(contracts * s * (1 - 0.01 * period)) / contracts END AS actual_survival,
    CAST(NULL AS DOUBLE) AS actual_retention,
    contracts * s AS projected_alive, s AS projected_survival,
    CASE WHEN period > 0 THEN (beta + period - 1) / (alpha + beta + period - 1) END AS projected_retention,
    period > seen AS is_projection, alpha, beta, 0.08 AS alpha_std_error, 0.4 AS beta_std_error, -900.0 AS log_likelihood,
    CAST(active AS BIGINT) AS active_contracts, (beta + seen) / (alpha + beta + seen) AS next_retention,
    6.5 AS derl, 6.5 * active * 39 AS residual_value, 0.01 AS discount_rate,
    'ok' AS status, 'fitted' AS note, DATE '2026-10-31' AS as_of
FROM g;

CREATE TABLE meta.left_out (name VARCHAR, kind VARCHAR, path VARCHAR, needs VARCHAR[]);
INSERT INTO meta.left_out VALUES
    ('stg_contracts', 'model', 'crmwh.yaml', ['contracts']);

-- raw.quarantine, every stream's quarantined rows as a build makes it
-- (the data-health page reads it).
CREATE SCHEMA raw;
CREATE TABLE raw.quarantine (stream VARCHAR, origin VARCHAR, line BIGINT, row_key VARCHAR, reason VARCHAR, raw VARCHAR, run_id VARCHAR, quarantined_at TIMESTAMPTZ);
INSERT INTO raw.quarantine VALUES
    ('billing.orders', 'data/demo/billing/orders/orders_20240612.csv', 7, NULL, 'expected 13 fields, found 8', 'SO1,BC2,<script>alert(3)</script>', 'r1', '2024-06-12 03:00:00+00'),
    ('billing.orders', 'data/demo/billing/orders/orders_20240620.csv', 12, 'SO9', 'column net_amount: "#VALUE!" is not a decimal number', 'SO9,BC1', 'r2', '2024-06-20 03:00:00+00'),
    ('billing.legacy_orders', 'data/demo/billing/legacy/orders_20240618.csv', 3, NULL, 'invalid GB18030 byte sequence', '', 'r2', '2024-06-18 03:00:00+00');

-- The test page (testdata/pages/customers.yaml): customers whose names try
-- to break the page.
CREATE TABLE customers (
    customer_id INTEGER,
    name VARCHAR,
    segment VARCHAR,
    city VARCHAR,
    revenue DECIMAL(18,2),
    first_order DATE
);
INSERT INTO customers VALUES
    (1, '<script>alert(1)</script>', 'Retail', 'Shanghai', 12345.60, '2023-11-05'),
    (2, 'Zhang "Wei" O''Brien & 张伟', 'Corporate', '北京', 98765.40, '2024-01-12'),
    (3, '李娜', 'Retail', '广州', 4321.00, '2024-03-30'),
    (4, '=HYPERLINK("http://example.invalid")', 'SME <b>', 'Shenzhen', NULL, '2024-05-01');

CREATE TABLE mart_segment_monthly (month DATE, segment VARCHAR, revenue DECIMAL(18,2));
INSERT INTO mart_segment_monthly VALUES
    ('2024-04-01', 'Retail', 800000.00), ('2024-04-01', 'Corporate', 500000.00), ('2024-04-01', '<img src=x onerror=alert(2)>', 101234.56),
    ('2024-05-01', 'Retail', 790000.00), ('2024-05-01', 'Corporate', 520000.00),
    ('2024-06-01', 'Retail', 850000.00), ('2024-06-01', 'Corporate', 560000.00), ('2024-06-01', '<img src=x onerror=alert(2)>', 113456.78);

-- Mean 12-month CLV of the customers not churned at each month end.
CREATE TABLE mart_clv_monthly (month DATE, as_of DATE, customers BIGINT, avg_clv_12m DOUBLE, total_clv_12m DOUBLE);
INSERT INTO mart_clv_monthly VALUES
    ('2024-05-01', '2024-05-31', 4100, 1012.5, 4151250.0),
    ('2024-06-01', '2024-06-30', 4380, 1056.25, 4626375.0);

-- The orders' last day (dashboards/metrics.yaml's data_through): July is
-- in progress, so June 2024 is the last complete month.
CREATE TABLE fct_orders (order_id VARCHAR, customer_id VARCHAR, order_date DATE, status VARCHAR);
INSERT INTO fct_orders VALUES ('O1', 'C001', '2024-06-30', 'paid'), ('O2', 'C003', '2024-07-05', 'paid'), ('O3', 'C004', '2024-07-06', 'cancelled');

-- The parts of the monthly KPIs by cell of customers (mart_metrics_monthly):
-- each month of mart_kpi_monthly split over four cells by fixed shares.
-- Churn is mature from March 2024; June's complaints are not yet mature.
CREATE TABLE mart_metrics_monthly AS
WITH cells(region, acquisition_channel, rfm_segment, share, last) AS (
    VALUES ('East', 'online', 'champions', 0.4, false), ('East', 'store', 'at_risk', 0.3, false),
        ('North', 'online', 'at_risk', 0.2, false), ('North', 'store', 'champions', 0.1, true)
),
k AS (
    SELECT k.*, lag(k.active_customers) OVER (ORDER BY k.month) AS prev_active, ch.customers_at_risk, ch.churned_customers
    FROM mart_kpi_monthly k LEFT JOIN mart_churn_monthly ch ON ch.month = k.month AND ch.dimension = 'all'
),
-- Each measure is split by the shares, the last cell taking the rest, so
-- that the cells add up to mart_kpi_monthly exactly.
parts AS (
    SELECT k.month, k.is_complete, c.*, m.name, m.total,
        CASE WHEN c.last THEN m.total - round(m.total * 0.4, m.d) - round(m.total * 0.3, m.d) - round(m.total * 0.2, m.d)
             ELSE round(m.total * c.share, m.d) END AS v
    FROM k CROSS JOIN cells c
    CROSS JOIN LATERAL (VALUES
        ('orders', k.orders, 0), ('gross_revenue', k.gross_revenue, 2), ('refunds', k.refunds, 2),
        ('active_customers', k.active_customers, 0), ('new_customers', k.new_customers, 0),
        ('retained_customers', round(coalesce(k.retention_rate * k.prev_active, 0)), 0),
        ('prev_active_customers', coalesce(k.prev_active, 0), 0),
        ('customers_at_risk', k.customers_at_risk, 0), ('churned_customers', k.churned_customers, 0),
        ('complaints', k.complaints, 0), ('complaints_resolved', round(k.complaints * k.complaint_resolution_rate), 0),
        ('rated_tickets', k.complaints * 2, 0), ('satisfaction_points', round(k.complaints * 2 * k.avg_satisfaction), 0)
    ) m(name, total, d)
)
SELECT month, region, acquisition_channel, rfm_segment, any_value(is_complete) AS is_complete,
    month >= DATE '2024-03-01' AS churn_mature,
    month < DATE '2024-06-01' AS complaints_mature,
    CAST(any_value(v) FILTER (WHERE name = 'orders') AS BIGINT) AS orders,
    CAST(any_value(v) FILTER (WHERE name = 'gross_revenue') AS DECIMAL(18, 2)) AS gross_revenue,
    CAST(any_value(v) FILTER (WHERE name = 'refunds') AS DECIMAL(18, 2)) AS refunds,
    CAST(any_value(v) FILTER (WHERE name = 'gross_revenue') - any_value(v) FILTER (WHERE name = 'refunds') AS DECIMAL(18, 2)) AS net_revenue,
    CAST(any_value(v) FILTER (WHERE name = 'active_customers') AS BIGINT) AS active_customers,
    CAST(any_value(v) FILTER (WHERE name = 'new_customers') AS BIGINT) AS new_customers,
    CAST(any_value(v) FILTER (WHERE name = 'retained_customers') AS BIGINT) AS retained_customers,
    CAST(any_value(v) FILTER (WHERE name = 'prev_active_customers') AS BIGINT) AS prev_active_customers,
    CAST(any_value(v) FILTER (WHERE name = 'customers_at_risk') AS BIGINT) AS customers_at_risk,
    CAST(any_value(v) FILTER (WHERE name = 'churned_customers') AS BIGINT) AS churned_customers,
    CAST(any_value(v) FILTER (WHERE name = 'complaints') AS BIGINT) AS complaints,
    CAST(any_value(v) FILTER (WHERE name = 'complaints_resolved') AS BIGINT) AS complaints_resolved,
    CAST(any_value(v) FILTER (WHERE name = 'rated_tickets') AS BIGINT) AS rated_tickets,
    CAST(any_value(v) FILTER (WHERE name = 'satisfaction_points') AS BIGINT) AS satisfaction_points
FROM parts
GROUP BY month, region, acquisition_channel, rfm_segment
ORDER BY month, region, acquisition_channel, rfm_segment;

ALTER TABLE mart_churn_monthly ADD COLUMN is_mature BOOLEAN;
UPDATE mart_churn_monthly SET is_mature = month >= DATE '2024-03-01';

-- Account managers: ids for the names above, and their monthly results.
ALTER TABLE mart_customer_value ADD COLUMN account_manager_id VARCHAR;
UPDATE mart_customer_value SET account_manager_id = CASE account_manager_name
    WHEN 'Li Na' THEN 'AM1' WHEN 'Wang Fang' THEN 'AM2' WHEN 'Zhou Min' THEN 'AM3' END;
ALTER TABLE mart_churn_watchlist ADD COLUMN account_manager_id VARCHAR;
ALTER TABLE mart_churn_watchlist ADD COLUMN region VARCHAR;
ALTER TABLE mart_churn_watchlist ADD COLUMN rfm_segment VARCHAR;
UPDATE mart_churn_watchlist SET account_manager_id = CASE account_manager_name
    WHEN 'Li Na' THEN 'AM1' WHEN 'Wang Fang' THEN 'AM2' WHEN 'Zhou Min' THEN 'AM3' END,
    region = 'East', rfm_segment = 'at_risk';
CREATE TABLE mart_account_manager_performance AS
WITH am(account_manager_id, manager_name, manager_name_zh, manager_region, k) AS (
    VALUES ('AM1', 'Li Na', '李娜', 'East', 1), ('AM2', 'Wang Fang', '王芳', 'North', 2), ('AM3', '<b>Zhou</b> Min', '周敏', 'South', 3)
)
SELECT am.account_manager_id, am.manager_name, am.manager_name_zh, am.manager_region, m.month,
    100 + 10 * am.k + m.i AS customers_served,
    40 + am.k * 3 + m.i AS active_customers,
    CAST(20000 * am.k + 1000 * m.i AS DECIMAL(18, 2)) AS net_revenue,
    CASE WHEN m.i > 0 THEN 0.3 + 0.02 * am.k END AS retention_rate,
    CAST(am.k + m.i % 3 AS BIGINT) AS complaints,
    CAST(15.0 + am.k AS DOUBLE) AS median_resolution_hours,
    CAST(am.k + m.i % 3 - (m.i % 2) AS BIGINT) AS complaints_resolved,
    CAST(50000 * am.k AS DECIMAL(18, 2)) AS clv_12m_total,
    CAST(-1500 * am.k + 2000 AS DECIMAL(18, 2)) AS clv_change_90d
FROM am CROSS JOIN (SELECT i, CAST(DATE '2024-01-01' + to_months(i) AS DATE) AS month FROM range(0, 7) r(i)) m
ORDER BY am.account_manager_id, m.month;

-- Campaigns with a sample size, an interval and their window: K2 is small,
-- K3 is still inside its 90 days.
CREATE TABLE mart_campaign_results (
    rank INTEGER, campaign_id VARCHAR, campaign_name VARCHAR, campaign_name_zh VARCHAR, start_date DATE,
    days_observed INTEGER, is_window_complete BOOLEAN, reached BIGINT, responded BIGINT, response_rate DOUBLE,
    purchased BIGINT, comparable_customers BIGINT, revenue_90d_per_reached DOUBLE, uplift_90d DOUBLE,
    uplift_90d_se DOUBLE, uplift_90d_low DOUBLE, uplift_90d_high DOUBLE, is_uplift_significant BOOLEAN,
    extra_revenue_90d DOUBLE, extra_revenue_90d_low DOUBLE
);
INSERT INTO mart_campaign_results VALUES
    (1, 'K1', 'Spring Tea 2024', '2024春茶上新', '2024-03-01', 90, true, 700, 240, 0.343, 72, 1700, 171.4, 46.4, 10.0, 26.8, 66.0, true, 32480.0, 18760.0),
    (2, 'K2', 'Win-back <Summer>', '夏季召回', '2024-02-01', 90, true, 20, 9, 0.45, 4, 3300, 300.0, 210.0, 160.0, -103.6, 523.6, false, 4200.0, -2072.0),
    (3, 'K3', 'Mid-year Sale', '年中大促', '2024-06-20', 16, false, 1500, 165, 0.11, 38, 3300, 33.3, 11.8, 5.0, 2.0, 21.6, true, 17700.0, 3000.0);

-- The results of the data tests, the latest freshness one warning: the
-- newest order is older than its limit.
CREATE TABLE meta.test_results (
    run_id VARCHAR, tested_at TIMESTAMPTZ, test VARCHAR, model VARCHAR, column_name VARCHAR, kind VARCHAR,
    severity VARCHAR, status VARCHAR, failures BIGINT, sample VARCHAR, duration_ms DOUBLE, error VARCHAR);
INSERT INTO meta.test_results VALUES
    ('20240701T055900Z-cccc', '2024-07-01 05:59:50+00', 'freshness_fct_orders_ordered_at', 'fct_orders', 'ordered_at', 'freshness', 'warn', 'pass', 0, NULL, 1.0, NULL),
    ('20240701T061000Z-dddd', '2024-07-01 06:10:02+00', 'freshness_fct_orders_ordered_at', 'fct_orders', 'ordered_at', 'freshness', 'warn', 'warn', 1,
        '[{"latest":"2024-06-27T09:15:00Z","age":"3 days 20:45:02"}]', 1.0, NULL),
    ('20240701T061000Z-dddd', '2024-07-01 06:10:02+00', 'unique_fct_orders_order_id', 'fct_orders', 'order_id', 'unique', 'error', 'pass', 0, NULL, 1.0, NULL);

ALTER TABLE fct_tickets ADD COLUMN opened_date DATE;
UPDATE fct_tickets SET opened_date = CAST(timezone('UTC', opened_at) AS DATE);
