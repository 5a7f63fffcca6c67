package main_test

// Onboarding other people's data with nothing but a mapping written by
// hand in crmwh.yaml (no edits to sql/): an orders-only file in a European
// time zone (built under two zones), and a shop's PostgreSQL database with
// customers, orders and tickets in its own words. Each builds on the first
// run, passes its data tests and renders its pages; the numbers are checked
// against computations done here. init_test.go onboards the real CDNOW log
// and an invoice-line export through `crmwh init`'s proposed mapping.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/browsertest"
	"crmwh/pipelines/pgtest"
	"crmwh/warehouse/warehousetest"
)

// newProject makes a project folder with the default models and pages and
// the given crmwh.yaml: the only file a new user edits.
func newProject(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte(config), 0o644))
	return dir
}

// onboard refreshes the project once and checks what every onboarding
// shares: the run is green, no error-level data test fails, and the pages
// render in Chromium without errors. It returns the warehouse, open.
func onboard(t *testing.T, dir string, wantPages ...string) *sql.DB {
	t.Helper()
	s := refresh(t, dir)
	require.Equal(t, "ok", s.Status)
	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	require.Equal(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM meta.test_status WHERE status IN ('fail', 'error')"))
	requirePagesRender(t, dir, wantPages...)
	return db
}

// requirePagesRender opens the site's pages in Chromium: each is there,
// draws its charts and shows no failed chart.
func requirePagesRender(t *testing.T, dir string, pages ...string) {
	t.Helper()
	pagesRender(t, dir, false, pages...)
}

// requirePagesRenderFull is requirePagesRender, and no page but the data
// health shows a "No data." box: for data that lacks entities, whose
// charts must be left out rather than empty.
func requirePagesRenderFull(t *testing.T, dir string, pages ...string) {
	t.Helper()
	pagesRender(t, dir, true, pages...)
}

func pagesRender(t *testing.T, dir string, noEmpty bool, pages ...string) {
	t.Helper()
	site := filepath.Join(dir, "site")
	b := browsertest.Start(t)
	for _, name := range pages {
		p := b.Open(t, filepath.Join(site, name+".html"))
		for _, c := range p.Charts(t) {
			require.True(t, c.Canvas, "%s: %s", name, c.ID)
		}
		require.Empty(t, browsertest.Eval[string](t, p, `Array.from(document.querySelectorAll('.chart-error')).map(e => e.textContent).join('\n')`), name)
		if noEmpty && name != "health" {
			require.NotContains(t, browsertest.Eval[string](t, p, `document.body.innerText`), "No data.", name)
		}
		p.RequireClean(t, site)
	}
}

// (c) An orders-only file in a European zone, built once in Berlin and
// once in Tokyo: an order at 23:30 on the last day of a month in Berlin is
// already the next month in Tokyo; one written with its own offset is the
// same instant in both.
func TestOnboardOrdersOnlyInTwoTimeZones(t *testing.T) {
	var b strings.Builder
	b.WriteString("customer,ordered,total\n")
	for i := 0; i < 200; i++ {
		day := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, i*2)
		fmt.Fprintf(&b, "K%03d,%s,%d.%02d\n", i%37, day.Format("2006-01-02 15:04"), 10+i%90, i%100)
	}
	b.WriteString("K001,2025-03-31 23:30,50.00\n")          // Berlin: March 31st; Tokyo: April 1st
	b.WriteString("K002,2025-04-30 23:30,70.00\n")          // Berlin: April 30th; Tokyo: May 1st
	b.WriteString("K003,2025-02-28T23:30:00+01:00,80.00\n") // the same instant everywhere
	months := map[string][][]string{}
	for _, tz := range []string{"Europe/Berlin", "Asia/Tokyo"} {
		dir := newProject(t, fmt.Sprintf(`name: zones
timezone: %s
currency: EUR
sources:
  - name: shop
    kind: csv
    streams:
      - name: orders
        path: orders.csv
        timezone: Europe/Berlin
        columns:
          - {name: customer, type: string, required: true}
          - {name: ordered, type: timestamp, format: "2006-01-02 15:04 | 2006-01-02T15:04:05Z07:00", required: true}
          - {name: total, type: "decimal(18,2)", required: true}
entities:
  orders:
    stream: shop.orders
    fields:
      order_id: "customer || '@' || strftime(ordered, '%%Y%%m%%d%%H%%M')"
      customer_id: customer
      ordered_at: ordered
      amount: total
`, tz))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "orders.csv"), []byte(b.String()), 0o644))
		db := onboard(t, dir, "index", "overview")
		months[tz] = warehousetest.Rows(t, db, `SELECT customer_id, order_date, order_month FROM fct_orders
			WHERE net_amount IN (50, 70, 80) AND customer_id IN ('K001', 'K002', 'K003') ORDER BY customer_id`)
		require.Equal(t, "203", warehousetest.Scalar(t, db, "SELECT sum(orders) FROM mart_kpi_monthly"))
	}
	require.Equal(t, [][]string{{"K001", "2025-03-31", "2025-03-01"}, {"K002", "2025-04-30", "2025-04-01"}, {"K003", "2025-02-28", "2025-02-01"}}, months["Europe/Berlin"])
	require.Equal(t, [][]string{{"K001", "2025-04-01", "2025-04-01"}, {"K002", "2025-05-01", "2025-05-01"}, {"K003", "2025-03-01", "2025-03-01"}}, months["Asia/Tokyo"])
}

// (d) A shop's own PostgreSQL database: customers, orders and service
// tickets, with its own words for statuses. Orders find their customer by
// the customer number; the service page is built.
func TestOnboardAShopInPostgreSQL(t *testing.T) {
	s := pgtest.Start(t)
	ctx := context.Background()
	require.NoError(t, s.CreateDatabase(ctx, "shop"))
	stmts := []string{
		`CREATE TABLE customers (id serial PRIMARY KEY, full_name text, email text, region text, signup timestamptz, changed timestamptz DEFAULT now())`,
		`CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int, total numeric(12,2), state text, placed timestamptz, changed timestamptz DEFAULT now())`,
		`CREATE TABLE tickets (id serial PRIMARY KEY, customer_id int, kind text, opened timestamptz, closed timestamptz, stars int, changed timestamptz DEFAULT now())`,
		`INSERT INTO customers (full_name, email, region, signup)
		 SELECT 'Customer ' || g, 'c' || g || '@example.com', (ARRAY['North','South','East'])[1 + g % 3], timestamptz '2024-01-01' + g * interval '1 day'
		 FROM generate_series(1, 60) g`,
		`INSERT INTO orders (customer_id, total, state, placed)
		 SELECT 1 + (g * 7) % 60, 10 + (g % 50), CASE WHEN g % 17 = 0 THEN 'voided' ELSE 'complete' END,
		        timestamptz '2024-02-01' + g * interval '13 hours'
		 FROM generate_series(1, 900) g`,
		`INSERT INTO tickets (customer_id, kind, opened, closed, stars)
		 SELECT 1 + g % 60, CASE WHEN g % 3 = 0 THEN 'complaint' ELSE 'question' END,
		        timestamptz '2024-03-01' + g * interval '2 days', CASE WHEN g % 5 <> 0 THEN timestamptz '2024-03-02' + g * interval '2 days' END,
		        CASE WHEN g % 4 = 0 THEN 1 + g % 5 END
		 FROM generate_series(1, 150) g`,
	}
	require.NoError(t, s.Exec(ctx, "shop", stmts...))
	t.Setenv("SHOP_PG_PASSWORD", s.Password)
	dsn := s.DSNWithPassword("shop", "${SHOP_PG_PASSWORD}")
	dir := newProject(t, fmt.Sprintf(`name: shop
timezone: Europe/Paris
currency: EUR
sources:
  - name: shop
    kind: postgres
    dsn: %q
    streams:
      - {name: customers, table: customers, watermark: changed, primary_key: [id]}
      - {name: orders, table: orders, watermark: changed, primary_key: [id]}
      - {name: tickets, table: tickets, watermark: changed, primary_key: [id]}
entities:
  customers:
    stream: shop.customers
    fields: {customer_id: id, name: full_name, email: email, region: region, signed_up_at: signup, updated_at: changed}
  orders:
    stream: shop.orders
    fields:
      order_id: id
      customer_id: customer_id
      ordered_at: placed
      amount: total
      status: "case state when 'complete' then 'paid' when 'voided' then 'cancelled' end"
      updated_at: changed
  tickets:
    stream: shop.tickets
    fields: {ticket_id: id, customer_id: customer_id, opened_at: opened, resolved_at: closed, category: kind, rating: stars, updated_at: changed}
`, dsn))
	db := onboard(t, dir, "index", "overview", "service", "retention")
	require.Equal(t, [][]string{{"customers_self", "60"}, {"orders_key", "60"}},
		warehousetest.Rows(t, db, "SELECT rule, count(*) FROM customer_identity_map GROUP BY 1 ORDER BY 1"))
	require.Equal(t, "60", warehousetest.Scalar(t, db, "SELECT count(*) FROM dim_customer"))
	// Paid orders and revenue, independently: 900 orders, every 17th voided.
	var paid, revenue int64
	for g := int64(1); g <= 900; g++ {
		if g%17 != 0 {
			paid++
			revenue += (10 + g%50) * 100
		}
	}
	require.Equal(t, [][]string{{strconv.FormatInt(paid, 10), money(revenue)}}, warehousetest.Rows(t, db,
		"SELECT sum(orders), sum(net_revenue) FROM mart_kpi_monthly"))
	require.Equal(t, [][]string{{"50", "150"}}, warehousetest.Rows(t, db, "SELECT count(*) FILTER (WHERE is_complaint), count(*) FROM fct_tickets"))
	require.Equal(t, "50", warehousetest.Scalar(t, db, "SELECT sum(complaints) FROM mart_kpi_monthly"))
	require.Equal(t, "South", warehousetest.Scalar(t, db, "SELECT region FROM dim_customer WHERE customer_id = '1'"))
}
