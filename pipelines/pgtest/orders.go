package pgtest

import (
	"fmt"

	"crmwh/pipelines"
)

// The benchmark orders table: the shape of the demo's billing orders
// (docs/demo-data.md) with an updated_at watermark, generated in the
// server so that millions of rows load in seconds.
const (
	OrdersDDL = `CREATE TABLE orders (
		order_id bigint PRIMARY KEY, billing_customer_no text, customer_name text, email text, phone text,
		order_time timestamptz, status text, ship_city text, currency text,
		gross_amount numeric(12,2), discount_amount numeric(12,2), net_amount numeric(12,2),
		original_order_id text, updated_at timestamptz)`
	OrdersIndex = `CREATE INDEX orders_updated_at ON orders (updated_at); ANALYZE orders`
)

// OrdersInsert fills the orders table with n rows.
func OrdersInsert(n int) string {
	return fmt.Sprintf(`INSERT INTO orders
		SELECT g,
			'B' || lpad(((g * 7919) %% 1000003)::text, 7, '0'),
			(ARRAY['张伟','王芳','李娜','刘洋','陈静','Zhang Wei','Li Na','Wang Fang'])[1 + g %% 8] || ' ' || (g %% 50021),
			'c' || (g %% 50021) || '@example.cn',
			'+86 138' || lpad((g %% 100000000)::text, 8, '0'),
			timestamptz '2024-01-01 00:00:00+08' + g * interval '3 seconds',
			(ARRAY['paid','paid','paid','paid','paid','paid','paid','paid','cancelled','refund'])[1 + g %% 10],
			(ARRAY['上海','北京','广州','深圳','杭州','成都','武汉','南京'])[1 + (g / 7) %% 8],
			'CNY',
			round(((g * 37) %% 100000) / 100.0 + 10, 2),
			round(((g * 13) %% 1000) / 100.0, 2),
			round(((g * 37) %% 100000) / 100.0 + 10 - ((g * 13) %% 1000) / 100.0, 2),
			CASE WHEN g %% 10 = 9 THEN (g - 5)::text END,
			timestamptz '2024-01-01 00:00:00+08' + g * interval '3 seconds' + (g %% 60) * interval '1 second'
		FROM generate_series(1::bigint, %d) g`, n)
}

// OrdersStream is the postgres stream of the orders table.
func OrdersStream() pipelines.StreamConfig {
	return pipelines.StreamConfig{Name: "orders", Table: "orders", Watermark: "updated_at", PrimaryKey: []string{"order_id"}}
}

// OrdersCSVStream is the csv stream of the orders table exported with
// COPY … CSV HEADER to path.
func OrdersCSVStream(path string) pipelines.StreamConfig {
	return pipelines.StreamConfig{Name: "orders", Path: path, Columns: []pipelines.ColumnConfig{
		{Name: "order_id", Type: "int64", Required: true},
		{Name: "billing_customer_no", Type: "string"},
		{Name: "customer_name", Type: "string"},
		{Name: "email", Type: "string"},
		{Name: "phone", Type: "string"},
		{Name: "order_time", Type: "timestamp"},
		{Name: "status", Type: "string"},
		{Name: "ship_city", Type: "string"},
		{Name: "currency", Type: "string"},
		{Name: "gross_amount", Type: "decimal(12,2)"},
		{Name: "discount_amount", Type: "decimal(12,2)"},
		{Name: "net_amount", Type: "decimal(12,2)"},
		{Name: "original_order_id", Type: "string"},
		{Name: "updated_at", Type: "timestamp"},
	}}
}
