package main_test

// End-to-end tests of `crmwh init DIR --orders …`: the real binary
// proposes a project from real files and tables, `crmwh refresh` builds it
// on its first run, and the marts' numbers equal an independent
// computation from the input, done here in Go.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
	_ "modernc.org/sqlite"

	"crmwh/pipelines/exporttest"
	"crmwh/pipelines/pgtest"
	"crmwh/project"
	"crmwh/warehouse/warehousetest"
)

// purchase is one order of the independent computation: paid, or a
// refund that names no order (its net is negative).
type purchase struct {
	customer, month string
	net             int64 // cents
	refund          bool
}

// cohortsAndParetoOf computes mart_cohort_retention and mart_pareto's
// definitions: cohorts by the month of a customer's first paid order, the
// paid orders' revenue less the refunds per cohort and month (a refund in
// its own month; one before the first purchase in no cohort month, as no
// such row is compared); customers ranked by their paid orders plus their
// refunds.
func cohortsAndParetoOf(ps []purchase) cohortsAndPareto {
	first := map[string]string{}
	last := ""
	for _, p := range ps {
		if p.refund {
			continue
		}
		if f, ok := first[p.customer]; !ok || p.month < f {
			first[p.customer] = p.month
		}
		last = max(last, p.month)
	}
	type cell struct{ cohort, month string }
	active := map[cell]map[string]bool{}
	revenue := map[cell]int64{}
	perCustomer := map[string]int64{}
	size := map[string]int64{}
	for _, c := range first {
		size[c]++
	}
	for _, p := range ps {
		if _, bought := first[p.customer]; !bought {
			continue
		}
		perCustomer[p.customer] += p.net
		k := cell{first[p.customer], p.month}
		revenue[k] += p.net // a refund nets its own month's revenue
		if p.refund {
			continue
		}
		if active[k] == nil {
			active[k] = map[string]bool{}
		}
		active[k][p.customer] = true
	}
	var out cohortsAndPareto
	var cohorts []string
	for c := range size {
		cohorts = append(cohorts, c)
	}
	sort.Strings(cohorts)
	for _, c := range cohorts {
		start, _ := time.Parse("2006-01", c)
		for k := 0; ; k++ {
			m := start.AddDate(0, k, 0).Format("2006-01")
			if m > last {
				break
			}
			key := cell{c, m}
			out.cohorts = append(out.cohorts, []string{c, fmt.Sprint(k), fmt.Sprint(size[c]), fmt.Sprint(len(active[key])), money(revenue[key])})
		}
	}
	revs := make([]int64, 0, len(perCustomer))
	for _, v := range perCustomer {
		revs = append(revs, v)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] > revs[j] })
	out.paretoCustomers, out.paretoRevenue = map[int]int64{}, map[int]int64{}
	for _, pct := range []int{1, 5, 20, 50, 80, 100} {
		n := (len(revs)*pct + 99) / 100
		var sum int64
		for _, v := range revs[:n] {
			sum += v
		}
		out.paretoCustomers[pct], out.paretoRevenue[pct] = int64(n), sum
	}
	return out
}

// requireCohortsAndPareto compares the warehouse's cohorts and Pareto
// curve with the independent computation.
func requireCohortsAndPareto(t *testing.T, dir string, want cohortsAndPareto) {
	t.Helper()
	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	defer db.Close()
	require.Equal(t, want.cohorts, warehousetest.Rows(t, db, `SELECT strftime(cohort_month, '%Y-%m'), months_since_first,
		cohort_customers, active_customers, net_revenue FROM mart_cohort_retention ORDER BY 1, 2`))
	for _, pct := range []int{1, 5, 20, 50, 80, 100} {
		var customers int64
		var revenue string
		require.NoError(t, db.QueryRow(`SELECT customers, CAST(net_revenue AS VARCHAR) FROM mart_pareto WHERE customer_percentile = ?`, pct).Scan(&customers, &revenue))
		require.Equal(t, want.paretoCustomers[pct], customers, "percentile %d", pct)
		require.Equal(t, money(want.paretoRevenue[pct]), revenue, "percentile %d", pct)
	}
	t.Logf("the top 20%% of customers hold %.3f%% of net revenue", 100*float64(want.paretoRevenue[20])/float64(want.paretoRevenue[100]))
}

// initProject runs crmwh init in a new folder and returns it; the project
// must refresh on its first run.
func initProject(t *testing.T, args ...string) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj")
	out := mustRun(t, filepath.Dir(dir), append([]string{"init", dir}, args...)...)
	s := refresh(t, dir)
	require.Len(t, s.Steps, 3)
	for _, st := range s.Steps {
		require.Equal(t, "ok", st.Status, st.Step)
	}
	return dir, out
}

// cdnowFile finds the CDNOW purchase log in shared/data beside (or above)
// the repository.
func cdnowFile(t *testing.T) string {
	t.Helper()
	if f := os.Getenv("CRMWH_CDNOW"); f != "" {
		return f
	}
	here, err := filepath.Abs(".")
	require.NoError(t, err)
	for d := here; ; d = filepath.Dir(d) {
		f := filepath.Join(d, "shared", "data", "cdnow", "CDNOW_master.txt")
		if _, err := os.Stat(f); err == nil {
			return f
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Fatalf("the CDNOW purchase log is not in shared/data/cdnow/ beside %s or above (set CRMWH_CDNOW to its path)", here)
	return ""
}

func TestInitOnTheCDNOWPurchaseLog(t *testing.T) {
	file := cdnowFile(t)
	dir, out := initProject(t, "--orders", file, "--timezone", "UTC", "--currency", "USD")
	require.Contains(t, out, "read "+file+": all 69,659 rows, 4 columns → stream cdnow_master.orders")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	for _, want := range []string{"delimiter: whitespace", `{name: date, type: date, format: "20060102"}`, "rows: lines",
		`order_id: "customer_id || '-' || strftime(date, '%Y%m%d')"`, "amount: dollar_value", "same day become one order"} {
		require.Contains(t, string(cfg), want)
	}

	// The purchase log read here: an order is a customer's purchases on one day.
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	type day struct{ customer, date string }
	orders := map[day]int64{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		require.Len(t, fs, 4)
		orders[day{fs[0], fs[1]}] += fen(t, fs[3])
	}
	require.NoError(t, sc.Err())
	var ps []purchase
	var total int64
	for d, net := range orders {
		ps = append(ps, purchase{customer: d.customer, month: d.date[:4] + "-" + d.date[4:6], net: net})
		total += net
	}
	want := cohortsAndParetoOf(ps)
	requireCohortsAndPareto(t, dir, want)

	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	defer db.Close()
	require.Equal(t, [][]string{{fmt.Sprint(len(orders)), "23570", money(total)}},
		warehousetest.Rows(t, db, "SELECT count(*), count(DISTINCT customer_id), sum(net_revenue) FROM fct_orders"))
	// The first cohort's retention, spelled out for the reader.
	require.Equal(t, "7846", want.cohorts[0][2], "customers of the January 1997 cohort")

	// Nothing that needs data CDNOW lacks was published or shown (the
	// empty tables that published marts read, such as fct_tickets for
	// mart_kpi_monthly, are set aside for the next build), and the pages its data support draw without a "No
	// data." box.
	require.Equal(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name IN ('fct_tickets', 'fct_order_items', 'mart_churn_reasons', 'stg_tickets')"))
	require.Equal(t, [][]string{{"dim_product", "0"}, {"fct_tickets", "0"}}, warehousetest.Rows(t, db, `SELECT 'dim_product', count(*) FROM scaffold.dim_product
		UNION ALL SELECT 'fct_tickets', count(*) FROM scaffold.fct_tickets
		UNION ALL SELECT table_name, NULL FROM duckdb_tables() WHERE schema_name = 'scaffold' AND table_name NOT IN ('dim_product', 'fct_tickets') ORDER BY 1`))
	require.Equal(t, [][]string{{"fct_tickets", "[tickets]"}, {"mart_churn_reasons", "[tickets or contacts]"}},
		warehousetest.Rows(t, db, "SELECT name, needs::VARCHAR FROM meta.left_out WHERE name IN ('fct_tickets', 'mart_churn_reasons') ORDER BY 1"))
	require.NoFileExists(t, filepath.Join(dir, "site", "service.html"))
	requirePagesRenderFull(t, dir, "index", "overview", "value", "retention", "segments", "watchlist")
}

func TestInitOnAnInvoiceLineExportWithCancellations(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "online_retail.csv")
	lines := exporttest.InvoiceExport(1)
	exporttest.WriteInvoices(t, file, lines)
	dir, out := initProject(t, "--orders", file, "--order-lines", file, "--timezone", "Europe/London", "--currency", "GBP")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	for _, want := range []string{
		`{name: InvoiceDate, type: timestamp, format: "1/2/2006 15:04"}`, "{name: CustomerID, type: float64}", "timezone: Europe/London",
		"rows: lines", `amount: "Quantity * UnitPrice"`, `status: "CASE WHEN InvoiceNo LIKE 'C%' THEN 'refund' ELSE 'paid' END"`,
		"customer_id: CustomerID", "ordered_at: InvoiceDate", "region: Country",
		"product_id: StockCode", "product_name: Description", "unit_price: UnitPrice",
	} {
		require.Contains(t, string(cfg), want)
	}
	require.Contains(t, out, "order_lines from online_retail.orders")

	// The export read here: invoices are orders (the sum of their lines),
	// C invoices refunds; rows without a customer are left out.
	type inv struct {
		customer, month string
		net             int64
	}
	invoices := map[string]*inv{}
	var paidTotal, refundTotal int64
	customers := map[string]bool{}
	for _, l := range lines {
		if l.Customer == "" {
			continue
		}
		i := invoices[l.Invoice]
		if i == nil {
			i = &inv{customer: l.Customer, month: l.At.Format("2006-01")}
			invoices[l.Invoice] = i
		}
		i.net += l.Quantity * l.PriceCents
	}
	var ps []purchase
	for no, i := range invoices {
		refund := strings.HasPrefix(no, "C")
		ps = append(ps, purchase{customer: i.customer, month: i.month, net: i.net, refund: refund})
		if refund {
			refundTotal += i.net
		} else {
			paidTotal += i.net
			customers[i.customer] = true
		}
	}
	require.Positive(t, paidTotal)
	require.Negative(t, refundTotal)
	requireCohortsAndPareto(t, dir, cohortsAndParetoOf(ps))

	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	defer db.Close()
	require.Equal(t, [][]string{{money(paidTotal), money(-refundTotal), money(paidTotal + refundTotal), fmt.Sprint(len(customers))}},
		warehousetest.Rows(t, db, "SELECT sum(gross_revenue), sum(refunds), sum(net_revenue), (SELECT count(*) FROM customer_purchases) FROM mart_kpi_monthly"))
	// Every line is an order line, with or without a customer.
	require.Equal(t, fmt.Sprint(len(lines)), warehousetest.Scalar(t, db, "SELECT count(*) FROM fct_order_items"))
}

// shopOrder is an order of the generated shops below.
type shopOrder struct {
	id       int64
	customer int64
	at       time.Time // UTC
	cents    int64
	status   string
}

// shopOrders generates orders of n customers over a year.
func shopOrders(seed uint64, n int, statuses ...string) []shopOrder {
	r := rand.New(rand.NewPCG(seed, 11))
	rate := distuv.Gamma{Alpha: 1.2, Beta: 0.1, Src: r} // purchases a year (BG/NBD's λ)
	dropout := distuv.Beta{Alpha: 1, Beta: 5, Src: r}   // after each purchase (BG/NBD's p)
	spend := distuv.Gamma{Alpha: 4, Beta: 0.05, Src: r}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []shopOrder
	for c := 1; c <= n; c++ {
		lam, p, mean := max(rate.Rand(), 0.5), dropout.Rand(), spend.Rand()
		t := start.Add(time.Duration(r.Float64() * 150 * 24 * float64(time.Hour)))
		for t.Before(start.AddDate(1, 0, 0)) {
			cents := int64(mean*(0.5+r.Float64())*100) + 100
			out = append(out, shopOrder{customer: int64(c), at: t.Truncate(time.Second), cents: cents, status: statuses[r.IntN(len(statuses))]})
			if r.Float64() < p {
				break
			}
			t = t.Add(time.Duration(r.ExpFloat64() / lam * 365 * 24 * float64(time.Hour)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	for i := range out {
		out[i].id = int64(1000 + i)
	}
	return out
}

// monthlyKPIs computes mart_kpi_monthly's orders, gross revenue and active
// customers of paid orders, by month in loc.
func monthlyKPIs(orders []shopOrder, paid string, loc *time.Location) [][]string {
	type kpi struct {
		orders, cents int64
		active        map[int64]bool
	}
	months := map[string]*kpi{}
	for _, o := range orders {
		if o.status != paid {
			continue
		}
		m := o.at.In(loc).Format("2006-01")
		if months[m] == nil {
			months[m] = &kpi{active: map[int64]bool{}}
		}
		months[m].orders++
		months[m].cents += o.cents
		months[m].active[o.customer] = true
	}
	var keys []string
	for m := range months {
		keys = append(keys, m)
	}
	sort.Strings(keys)
	var out [][]string
	for _, m := range keys {
		k := months[m]
		out = append(out, []string{m, fmt.Sprint(k.orders), money(k.cents), fmt.Sprint(len(k.active))})
	}
	return out
}

func requireMonthlyKPIs(t *testing.T, dir string, want [][]string) {
	t.Helper()
	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	defer db.Close()
	require.Equal(t, want, warehousetest.Rows(t, db, `SELECT strftime(month, '%Y-%m'), orders, gross_revenue, active_customers
		FROM mart_kpi_monthly WHERE orders > 0 ORDER BY month`))
}

func TestInitOnAParquetOrdersFile(t *testing.T) {
	orders := shopOrders(2, 400, "paid")
	type row struct {
		OrderNo  string `parquet:"Order No"`
		Customer int64  `parquet:"customer_number"`
		Placed   int64  `parquet:"placed_at,timestamp(millisecond)"`
		Total    int64  `parquet:"order_total,decimal(2:12)"`
		Channel  string `parquet:"channel"`
	}
	var rows []row
	for _, o := range orders {
		rows = append(rows, row{fmt.Sprintf("W-%d", o.id), o.customer, o.at.UnixMilli(), o.cents, "web"})
	}
	data := t.TempDir()
	require.NoError(t, parquet.WriteFile(filepath.Join(data, "orders-2024.parquet"), rows))

	dir, _ := initProject(t, "--orders", filepath.Join(data, "*.parquet"), "--timezone", "America/New_York", "--currency", "USD")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	for _, want := range []string{"kind: parquet", `{name: order_no, field: "Order No", type: string}`, "{name: order_total, type: \"decimal(12,2)\"}",
		"order_id: order_no", "customer_id: customer_number", "ordered_at: placed_at", "amount: order_total", "channel: channel"} {
		require.Contains(t, string(cfg), want)
	}
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	requireMonthlyKPIs(t, dir, monthlyKPIs(orders, "paid", ny))
}

func TestInitOnASQLiteTable(t *testing.T) {
	orders := shopOrders(3, 300, "completed", "completed", "completed", "completed", "cancelled", "refunded")
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE shop_orders (id INTEGER PRIMARY KEY, customer_ref TEXT NOT NULL, created_at DATETIME NOT NULL,
		status TEXT NOT NULL, total NUMERIC(12,2) NOT NULL, updated_at DATETIME NOT NULL)`)
	require.NoError(t, err)
	for _, o := range orders {
		_, err := db.Exec("INSERT INTO shop_orders VALUES (?, ?, ?, ?, ?, ?)", o.id, fmt.Sprintf("CU%05d", o.customer),
			o.at.Format("2006-01-02 15:04:05"), o.status, money(o.cents), o.at.Add(time.Hour).Format("2006-01-02 15:04:05"))
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	dir, _ := initProject(t, "--orders", "sqlite:"+path+"#shop_orders", "--timezone", "Europe/Berlin", "--currency", "EUR")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	for _, want := range []string{"kind: sqlite", "table: shop_orders", "watermark: updated_at", "primary_key: [id]",
		"order_id: id", "customer_id: customer_ref", "ordered_at: created_at", "amount: total",
		`status: "CASE lower(trim(status)) WHEN 'cancelled' THEN 'cancelled' WHEN 'completed' THEN 'paid' WHEN 'refunded' THEN 'cancelled' ELSE 'paid' END"`} {
		require.Contains(t, string(cfg), want)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	requireMonthlyKPIs(t, dir, monthlyKPIs(orders, "completed", berlin))

	// A second refresh reads nothing new: the watermark holds.
	second := refresh(t, dir)
	require.Zero(t, second.Steps[0].Rows)
}

func TestInitOnAPostgresShop(t *testing.T) {
	s := pgtest.Start(t)
	name, _ := s.NewDatabase(t)
	ctx := context.Background()
	orders := shopOrders(4, 250, "paid", "paid", "paid", "cancelled")
	stmts := []string{
		`CREATE TABLE customers (customer_id integer PRIMARY KEY, full_name text NOT NULL, email text, city text,
			signup_date timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
		`CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers,
			order_date timestamp without time zone NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL, channel text)`,
		`CREATE TABLE support.tickets (id integer PRIMARY KEY, customer_id integer NOT NULL, opened_at timestamptz NOT NULL,
			resolved_at timestamptz, category text NOT NULL, rating smallint)`,
	}
	stmts = append([]string{"CREATE SCHEMA support"}, stmts...)
	for c := 1; c <= 250; c++ {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO customers VALUES (%d, 'Customer %d', 'c%d@example.com', 'Lyon', '2023-06-01', now())`, c, c, c))
	}
	shanghai := time.FixedZone("CST", 8*3600)
	for _, o := range orders {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO orders VALUES (%d, %d, '%s', %s, '%s', 'app')`, o.id, o.customer,
			o.at.In(shanghai).Format("2006-01-02 15:04:05"), money(o.cents), o.status))
	}
	complaints := 0
	for i := 1; i <= 120; i++ {
		cat := []string{"complaint", "inquiry", "return"}[i%3]
		if cat == "complaint" {
			complaints++
		}
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO support.tickets VALUES (%d, %d, '2024-%02d-10 09:00+08', '2024-%02d-11 09:00+08', '%s', %d)`,
			i, 1+i%250, 1+i%12, 1+i%12, cat, 1+i%5))
	}
	require.NoError(t, s.Exec(ctx, name, stmts...))

	t.Setenv("CRMWH_TEST_PG_PASSWORD", s.Password)
	dsn := s.DSNWithPassword(name, "${CRMWH_TEST_PG_PASSWORD}")
	dir, _ := initProject(t, "--orders", "postgres:"+dsn+"#public.orders", "--customers", "postgres:"+dsn+"#customers",
		"--tickets", "postgres:"+dsn+"#support.tickets", "--timezone", "Asia/Shanghai")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	require.NotContains(t, string(cfg), s.Password)
	for _, want := range []string{"kind: postgres", "password=${CRMWH_TEST_PG_PASSWORD}", "table: public.orders", "watermark: order_id",
		"timezone: Asia/Shanghai", "table: support.tickets", "watermark: updated_at", "signed_up_at: signup_date", "name: full_name",
		"ticket_id: id", "opened_at: opened_at", "rating: rating", "category: category"} {
		require.Contains(t, string(cfg), want)
	}

	cst, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	requireMonthlyKPIs(t, dir, monthlyKPIs(orders, "paid", cst))
	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	defer db.Close()
	require.Equal(t, [][]string{{"120", fmt.Sprint(complaints), "250"}}, warehousetest.Rows(t, db,
		"SELECT (SELECT count(*) FROM fct_tickets), (SELECT count(*) FROM fct_tickets WHERE is_complaint), (SELECT count(*) FROM dim_customer)"))
	// The service page is built: tickets are mapped.
	_, err = os.Stat(filepath.Join(dir, "site", "service.html"))
	require.NoError(t, err)
}

func TestInitNamesARequiredFieldNoColumnFits(t *testing.T) {
	data := t.TempDir()
	var b strings.Builder
	b.WriteString("ref;who;when;total\n")
	for _, o := range shopOrders(5, 200, "paid") {
		fmt.Fprintf(&b, "R%d;%d;%s;%s\n", o.id, o.customer, o.at.Format("2006-01-02"), money(o.cents))
	}
	require.NoError(t, os.WriteFile(filepath.Join(data, "sales.csv"), []byte(b.String()), 0o644))
	dir := filepath.Join(t.TempDir(), "p")
	r := crmwh(t, data, "init", dir, "--orders", "sales.csv", "--timezone", "UTC")
	require.Equal(t, 2, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stderr, "orders.customer_id: no column of sales.csv fits (columns: ref, who, when, total)")
	cfg, err := os.ReadFile(filepath.Join(dir, "crmwh.yaml"))
	require.NoError(t, err)
	require.Contains(t, string(cfg), `customer_id: ""`)
	require.Contains(t, string(cfg), "# TODO: no column looks like the customer's id")
	require.Contains(t, string(cfg), "order_id: ref")
	require.Contains(t, string(cfg), `ordered_at: '"when"'`) // a reserved word, quoted
	require.Contains(t, string(cfg), "amount: total")

	// The project says so at once, with the line.
	r = crmwh(t, dir, "extract")
	require.Equal(t, 2, r.code)
	require.Regexp(t, `crmwh\.yaml:\d+: entities\.orders\.fields\.customer_id: empty`, r.stderr)

	// Filled in, it builds.
	fixed := strings.Replace(string(cfg), `customer_id: ""`, "customer_id: who", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte(fixed), 0o644))
	refresh(t, dir)
}

func TestInitInputsAreChecked(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--orders", "nothing-*.csv"}, "--orders: no file matches nothing-*.csv"},
		{[]string{"--orders", "sqlite:shop.db"}, `--orders "sqlite:shop.db": expected sqlite:PATH#TABLE`},
		{[]string{"--orders", "postgres:host=db password=secret#orders"}, "the connection string holds a password; write it as ${NAME}"},
		{[]string{"--customers", "x.csv"}, "--orders is required"},
		{[]string{"--timezone", "Europe/Paris"}, "--timezone and --currency go with --orders"},
	} {
		if c.want == "--orders is required" {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "x.csv"), []byte("id,name\n1,a\n"), 0o644))
		}
		r := crmwh(t, dir, append([]string{"init", "p"}, c.args...)...)
		require.Equal(t, 2, r.code, r.stderr)
		require.Contains(t, r.stderr, c.want)
		require.NotContains(t, r.stderr, "secret")
		require.NoDirExists(t, filepath.Join(dir, "p"))
	}
}

func TestInitWritesAGenericNightlySchedule(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "exports"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports", "orders.csv"), []byte("order_id,customer_id,order_date,amount\n1,C1,2024-03-01,10.00\n"), 0o644))
	mustRun(t, dir, "init", ".", "--orders", "exports/orders.csv", "--timezone", "Europe/Paris", "--currency", "EUR")
	entries, err := os.ReadDir(filepath.Join(dir, "schedules"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	nightly, err := os.ReadFile(filepath.Join(dir, "schedules", "nightly.yaml"))
	require.NoError(t, err)
	require.NotContains(t, string(nightly), "timezone:")
	var status struct {
		Schedules []struct {
			Name     string `json:"name"`
			Timezone string `json:"timezone"`
		} `json:"schedules"`
	}
	out := mustRun(t, dir, "status", "--json")
	require.NoError(t, json.Unmarshal([]byte(out), &status), out)
	require.Len(t, status.Schedules, 1)
	require.Equal(t, "nightly", status.Schedules[0].Name)
	require.Equal(t, "Europe/Paris", status.Schedules[0].Timezone)
	// The orders file is inside the project: its path is relative.
	p, err := project.Load(dir)
	require.NoError(t, err)
	require.Equal(t, "exports/orders.csv", p.Config.Sources[0].Streams[0].Path)
	require.Equal(t, "p", p.Config.Name)

	// Running init again does not overwrite the project.
	r := crmwh(t, dir, "init", ".", "--orders", "exports/orders.csv")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "already has a crmwh.yaml; use --force")
}
