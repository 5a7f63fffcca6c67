-- A tiny hand-made warehouse for the renderer's tests: the real
-- mart_kpi_monthly shape, and customers whose names try to break the page.
CREATE TABLE mart_kpi_monthly (
    month DATE,
    net_revenue DECIMAL(18,2),
    gross_revenue DECIMAL(18,2),
    refunds DECIMAL(18,2),
    orders BIGINT,
    active_customers BIGINT,
    new_customers BIGINT,
    cancelled_orders BIGINT,
    is_complete BOOLEAN
);
INSERT INTO mart_kpi_monthly VALUES
    ('2024-01-01', 1180000.50, 1250000.00, 69999.50, 5230, 4100, 820, 40, true),
    ('2024-02-01', 1045000.00, 1100000.00, 55000.00, 4810, 3950, 610, 40, true),
    ('2024-03-01', 1320500.25, 1400000.25, 79500.00, 5702, 4420, 905, 40, true),
    ('2024-04-01', 1401234.56, 1480000.00, 78765.44, 6015, 4630, 880, 40, true),
    ('2024-05-01', 1389000.00, 1460000.00, 71000.00, 5990, 4702, 760, 40, true),
    ('2024-06-01', 1523456.78, 1600000.00, 76543.22, 6420, 4911, 948, 52, true),
    -- July is still in progress: the overview page must leave it out.
    ('2024-07-01', 150000.00, 160000.00, 10000.00, 700, 650, 90, 3, false);

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
