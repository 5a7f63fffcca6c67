package main_test

// Onboarding other people's data with nothing but a mapping in crmwh.yaml
// (no edits to sql/): the real CDNOW purchase log, an invoice-line export
// with cancellations, an orders-only file in a European time zone (built
// under two zones), and a shop's PostgreSQL database with customers and
// tickets. Each builds on the first run, passes its data tests and renders
// its pages; the numbers are checked against computations done here from
// the raw files.

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
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
	site := filepath.Join(dir, "site")
	b := browsertest.Start(t)
	for _, name := range wantPages {
		p := b.Open(t, filepath.Join(site, name+".html"))
		for _, c := range p.Charts(t) {
			require.True(t, c.Canvas, "%s: %s", name, c.ID)
		}
		require.Empty(t, browsertest.Eval[string](t, p, `Array.from(document.querySelectorAll('.chart-error')).map(e => e.textContent).join('\n')`), name)
		p.RequireClean(t, site)
	}
	return db
}

// paretoShare is the share of net revenue of the top pct% of customers
// (rounded up), from per-customer revenue in cents.
func paretoShare(perCustomer map[string]int64, pct int) (int, int64, int64) {
	revs := make([]int64, 0, len(perCustomer))
	var total int64
	for _, v := range perCustomer {
		revs = append(revs, v)
		total += v
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] > revs[j] })
	n := (len(revs)*pct + 99) / 100
	var top int64
	for _, v := range revs[:n] {
		top += v
	}
	return n, top, total
}

// cents parses "12.50" or "-2.5" into cents.
func cents(t *testing.T, s string) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	require.True(t, ok, s)
	r.Mul(r, big.NewRat(100, 1))
	require.True(t, r.IsInt(), s)
	return r.Num().Int64()
}

// checkCohortsAndPareto compares the first cohorts' retention and the
// top-20% revenue share with the independent computation.
func checkCohortsAndPareto(t *testing.T, db *sql.DB, cohorts [][]string, perCustomer map[string]int64) {
	t.Helper()
	first := cohorts[0][0]
	got := warehousetest.Rows(t, db, `SELECT strftime(cohort_month, '%Y-%m'), months_since_first, cohort_customers, active_customers, net_revenue
		FROM mart_cohort_retention WHERE cohort_month <= ? ORDER BY 1, 2 LIMIT ?`, first+"-01", len(cohorts))
	require.Equal(t, cohorts, got)
	n, top, total := paretoShare(perCustomer, 20)
	require.Equal(t, [][]string{{strconv.Itoa(n), money(top)}}, warehousetest.Rows(t, db,
		"SELECT customers, net_revenue FROM mart_pareto WHERE customer_percentile = 20"))
	require.Equal(t, money(total), warehousetest.Scalar(t, db, "SELECT net_revenue FROM mart_pareto WHERE customer_percentile = 100"))
	t.Logf("top 20%% of %d customers: %.2f%% of net revenue", len(perCustomer), 100*float64(top)/float64(total))
}

// (a) The real CDNOW log: whitespace-separated, no order id (purchases of
// a customer on one day are one order), dates without time.
func TestOnboardTheCDNOWLog(t *testing.T) {
	log := cdnowFile(t)
	dir := newProject(t, fmt.Sprintf(`name: cdnow
timezone: America/New_York
currency: USD
sources:
  - name: cdnow
    kind: csv
    streams:
      - name: purchases
        path: %s
        delimiter: whitespace
        columns:
          - {name: customer_id, type: string, required: true}
          - {name: date, type: date, format: "20060102", required: true}
          - {name: number_of_cds, type: int64}
          - {name: dollar_value, type: "decimal(18,2)", required: true}
entities:
  orders:
    stream: cdnow.purchases
    rows: lines
    fields:
      order_id: "customer_id || '-' || strftime(date, '%%Y%%m%%d')"
      customer_id: customer_id
      ordered_at: date
      amount: dollar_value
`, log))
	db := onboard(t, dir, "index", "overview", "value", "retention", "segments", "health")

	// The independent computation, from the file.
	data, err := os.ReadFile(log)
	require.NoError(t, err)
	perCustomer := map[string]int64{}
	firstMonth := map[string]string{}
	active := map[string]map[string]bool{} // month → customers
	revenue := map[[2]string]int64{}       // cohort, month → cents
	type purchase struct{ c, month string }
	var purchases []purchase
	var amounts []int64
	for _, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		c, month, v := f[0], f[1][:4]+"-"+f[1][4:6], cents(t, f[3])
		perCustomer[c] += v
		if m, ok := firstMonth[c]; !ok || month < m {
			firstMonth[c] = month
		}
		purchases = append(purchases, purchase{c, month})
		amounts = append(amounts, v)
	}
	size := map[string]int{}
	for _, m := range firstMonth {
		size[m]++
	}
	for i, p := range purchases {
		if active[p.month] == nil {
			active[p.month] = map[string]bool{}
		}
		if firstMonth[p.c] == "1997-01" {
			active[p.month][p.c] = true
		}
		revenue[[2]string{firstMonth[p.c], p.month}] += amounts[i]
	}
	var cohorts [][]string
	for k, m := range []string{"1997-01", "1997-02", "1997-03", "1997-04", "1997-05", "1997-06"} {
		cohorts = append(cohorts, []string{"1997-01", strconv.Itoa(k), strconv.Itoa(size["1997-01"]), strconv.Itoa(len(active[m])), money(revenue[[2]string{"1997-01", m}])})
	}
	require.Equal(t, 23570, len(perCustomer), "the README's customer count")
	checkCohortsAndPareto(t, db, cohorts, perCustomer)

	// Nothing that needs data CDNOW lacks was built or shown.
	require.Equal(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('fct_tickets', 'fct_order_items', 'mart_churn_reasons')"))
	require.NoFileExists(t, filepath.Join(dir, "site", "service.html"))
	require.Contains(t, mustRun(t, dir, "sql", "SELECT name FROM meta.left_out WHERE name = 'fct_tickets'"), "fct_tickets")
}

func cdnowFile(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	// ../shared/data/cdnow/ beside the repository (which may sit a folder
	// or two deeper, as a worktree does).
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		f := filepath.Join(dir, "shared", "data", "cdnow", "CDNOW_master.txt")
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	t.Fatal("the CDNOW log ../shared/data/cdnow/CDNOW_master.txt (beside the repository) is missing")
	return ""
}

// invoiceExport writes an export shaped like the UCI Online Retail data:
// invoice lines, InvoiceNo with a C for cancellations (negative
// quantities), CustomerID as a float with blanks, local times written
// m/d/yyyy h:mm, and returns the independent figures: net revenue per
// customer and the first cohort's months.
func invoiceExport(t *testing.T, path string) (map[string]int64, [][]string) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	f, err := os.Create(path)
	require.NoError(t, err)
	w := csv.NewWriter(f)
	require.NoError(t, w.Write([]string{"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"}))
	type line struct {
		qty   int64
		price int64 // cents
	}
	perCustomer := map[string]int64{}
	firstMonth := map[string]string{}
	type inv struct {
		customer, month string
		cents           int64
		cancel          bool
	}
	var invoices []inv
	start := time.Date(2010, 12, 1, 8, 0, 0, 0, london)
	no := 536365
	for i := 0; i < 400; i++ {
		at := start.Add(time.Duration(r.IntN(200*24*60)) * time.Minute)
		cust := 12346 + r.IntN(80)
		noCustomer := r.IntN(12) == 0
		lines := make([]line, 1+r.IntN(4))
		var total int64
		id := strconv.Itoa(no)
		no++
		for j := range lines {
			lines[j] = line{qty: int64(1 + r.IntN(12)), price: int64(50 + r.IntN(900))}
			total += lines[j].qty * lines[j].price
			custField := fmt.Sprintf("%d.0", cust)
			if noCustomer {
				custField = ""
			}
			require.NoError(t, w.Write([]string{id, fmt.Sprintf("SKU%03d", r.IntN(60)), "ITEM", strconv.FormatInt(lines[j].qty, 10),
				at.Format("1/2/2006 15:04"), fmt.Sprintf("%d.%02d", lines[j].price/100, lines[j].price%100), custField, "United Kingdom"}))
		}
		if noCustomer {
			continue // left out of the orders, as the data tests report
		}
		c := strconv.Itoa(cust)
		invoices = append(invoices, inv{c, at.Format("2006-01"), total, false})
		// Every ninth invoice is partly cancelled a few days later.
		if i%9 == 4 {
			back := at.Add(time.Duration(2+r.IntN(5)) * 24 * time.Hour)
			require.NoError(t, w.Write([]string{"C" + strconv.Itoa(no), "SKU001", "ITEM", strconv.FormatInt(-lines[0].qty, 10),
				back.Format("1/2/2006 15:04"), fmt.Sprintf("%d.%02d", lines[0].price/100, lines[0].price%100), fmt.Sprintf("%d.0", cust), "United Kingdom"}))
			no++
			invoices = append(invoices, inv{c, back.Format("2006-01"), -lines[0].qty * lines[0].price, true})
		}
	}
	w.Flush()
	require.NoError(t, w.Error())
	require.NoError(t, f.Close())

	for _, v := range invoices {
		perCustomer[v.customer] += v.cents
		if m, ok := firstMonth[v.customer]; !v.cancel && (!ok || v.month < m) {
			firstMonth[v.customer] = v.month
		}
	}
	first := ""
	size := map[string]int{}
	for _, m := range firstMonth {
		size[m]++
		if first == "" || m < first {
			first = m
		}
	}
	var cohorts [][]string
	month, _ := time.Parse("2006-01", first)
	for k := 0; k < 4; k++ {
		m := month.AddDate(0, k, 0).Format("2006-01")
		act := map[string]bool{}
		var rev int64
		for _, v := range invoices {
			if firstMonth[v.customer] == first && v.month == m {
				if !v.cancel {
					act[v.customer] = true
				}
				rev += v.cents
			}
		}
		cohorts = append(cohorts, []string{first, strconv.Itoa(k), strconv.Itoa(size[first]), strconv.Itoa(len(act)), money(rev)})
	}
	return perCustomer, cohorts
}

// (b) An invoice-line export with cancellations: amounts are quantity ×
// unit price, invoices are the sum of their lines, a C invoice is a
// refund, CustomerID 17850.0 is customer 17850, lines without a customer
// are left out (and reported by a warning test).
func TestOnboardAnInvoiceLineExport(t *testing.T) {
	dir := t.TempDir()
	perCustomer, cohorts := invoiceExport(t, filepath.Join(dir, "online_retail.csv"))
	cfg := `name: retail
timezone: Europe/London
currency: GBP
sources:
  - name: retail
    kind: csv
    streams:
      - name: invoices
        path: online_retail.csv
        timezone: Europe/London
        columns:
          - {name: InvoiceNo, type: string, required: true}
          - {name: StockCode, type: string}
          - {name: Description, type: string}
          - {name: Quantity, type: int64}
          - {name: InvoiceDate, type: timestamp, format: "1/2/2006 15:04"}
          - {name: UnitPrice, type: "decimal(18,3)"}
          - {name: CustomerID, type: float64}
          - {name: Country, type: string}
entities:
  orders:
    stream: retail.invoices
    rows: lines
    fields:
      order_id: InvoiceNo
      customer_id: CustomerID
      ordered_at: InvoiceDate
      amount: Quantity * UnitPrice
      status: "case when InvoiceNo like 'C%' then 'refund' else 'paid' end"
      region: Country
  order_lines:
    stream: retail.invoices
    fields:
      order_id: InvoiceNo
      product_id: StockCode
      product_name: Description
      quantity: Quantity
      unit_price: UnitPrice
`
	mustRun(t, dir, "init", "project")
	dir = filepath.Join(dir, "project")
	require.NoError(t, os.Rename(filepath.Join(filepath.Dir(dir), "online_retail.csv"), filepath.Join(dir, "online_retail.csv")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte(cfg), 0o644))
	db := onboard(t, dir, "index", "overview", "value", "retention")
	checkCohortsAndPareto(t, db, cohorts, perCustomer)
	require.Equal(t, "warn", warehousetest.Scalar(t, db, "SELECT status FROM meta.test_status WHERE test = 'rows_left_out_stg_orders'"),
		"invoices without a customer are reported")
	require.Equal(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM fct_orders WHERE customer_id LIKE '%.%'"), "17850.0 is customer 17850")
	require.Positive(t, len(warehousetest.Rows(t, db, "SELECT 1 FROM fct_orders WHERE status = 'refund'")))
	// The KPI refunds are the cancellations, by the month they happened.
	require.Equal(t, warehousetest.Scalar(t, db, "SELECT -sum(net_revenue) FROM fct_orders WHERE status = 'refund'"),
		warehousetest.Scalar(t, db, "SELECT sum(refunds) FROM mart_kpi_monthly"))
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
