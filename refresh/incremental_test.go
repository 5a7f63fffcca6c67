package refresh_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"crmwh/pipelines/demo"
	_ "crmwh/pipelines/sources/all"
	"crmwh/project"
	"crmwh/refresh"
	"crmwh/warehouse/build"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/warehousetest"
)

// A build after new data brings the published warehouse up to date by
// keeping what did not change and recomputing by key what did; every
// table and view must then equal what a full build (every model from the
// lake, in a new file) makes of the same lake on top of the same published
// warehouse. Two days arrive one after the other, each with the day's
// billing files and more: a late refund of an order from months ago, a
// refund that arrives a day before its order, a customer record that takes
// another customer's e-mail (identity resolution merges them), a new
// customer, a resolved ticket, a new contact.
func TestIncrementalBuildEqualsFullRebuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := project.WriteDefault(dir, false)
	require.NoError(t, err)
	o := demo.DefaultOptions()
	o.Customers, o.Years, o.Seed, o.Out = 800, 1, 7, filepath.Join(dir, "data", "demo")
	_, err = demo.Generate(ctx, o, nil)
	require.NoError(t, err)
	billing := filepath.Join(o.Out, "billing")
	days := lastBillingDays(t, billing, 2)
	held := filepath.Join(dir, "held")
	for _, d := range days {
		moveDay(t, billing, held, d)
	}

	p, err := project.Load(dir)
	require.NoError(t, err)
	clock := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	run := func(steps []string, full bool) refresh.Summary {
		t.Helper()
		r := &refresh.Runner{Project: p, RunID: refresh.NewRunID(clock), Full: full, SkipTests: true, Now: func() time.Time { return clock }}
		sum, err := r.Run(ctx, steps)
		require.NoError(t, err)
		return sum
	}
	crm, err := sql.Open("sqlite", filepath.Join(o.Out, "crm.sqlite"))
	require.NoError(t, err)
	defer crm.Close()
	// A duplicate customer record that shares only its e-mail with the
	// record it duplicates: when the earliest customer record takes that
	// record's phone, both move to the earliest one (two hops of matching).
	var anchor, duplicate string
	require.NoError(t, crm.QueryRow(`SELECT a.customer_id, b.customer_id FROM customers a JOIN customers b
		ON lower(trim(a.email)) = lower(trim(b.email)) AND a.created_at < b.created_at
		WHERE a.email LIKE '%@%.%' AND a.phone LIKE '1__________' AND a.customer_id > 'C0000010' ORDER BY 2 LIMIT 1`).Scan(&anchor, &duplicate))
	mustExec(t, crm, `UPDATE customers SET phone = '13911112222' WHERE customer_id = ?`, duplicate)
	run([]string{refresh.StepExtract, refresh.StepBuild}, false)
	wh := p.WarehouseFile()
	// The order that arrives on the second day, refunded on the first.
	early := firstOrder(t, filepath.Join(held, "orders", "orders_"+days[1]+".csv"))
	for i, d := range days {
		clock = clock.Add(24 * time.Hour)
		moveDay(t, held, billing, d)
		stamp := clock.Format("2006-01-02 15:04:05")
		if i == 0 {
			old := firstOrder(t, filepath.Join(billing, "orders", "orders_"+someEarlyDay(t, billing)+".csv"))
			writeRefunds(t, filepath.Join(billing, "orders", "orders_"+d+"_late.csv"), d,
				refund{"RF-LATE-1", old, "-30.00"}, refund{"RF-EARLY-1", early, "-12.50"})
			mustExec(t, crm, `UPDATE customers SET email = (SELECT email FROM customers WHERE customer_id = 'C0000002'), updated_at = ? WHERE customer_id = 'C0000010'`, stamp)
			mustExec(t, crm, `UPDATE customers SET phone = (SELECT phone FROM customers WHERE customer_id = ?), updated_at = ? WHERE customer_id = 'C0000001'`, anchor, stamp)
			mustExec(t, crm, `INSERT INTO customers SELECT 'C9999999', customer_type, 'New Customer', company, 'new.customer@example.com', '13900000001', city, province, region, channel, account_manager_id, 'active', ?, ? FROM customers WHERE customer_id = 'C0000003'`, stamp, stamp)
			mustExec(t, crm, `UPDATE tickets SET status = 'closed', satisfaction = 1, resolved_at = ?, updated_at = ? WHERE ticket_id = (SELECT max(ticket_id) FROM tickets)`, stamp, stamp)
			mustExec(t, crm, `INSERT INTO interactions SELECT max(interaction_id) + 1, 'C0000004', 'call', 'inbound', 'complaint', ?, 60, ? FROM interactions`, stamp, stamp)
		}
		run([]string{refresh.StepExtract}, false)
		published := filepath.Join(t.TempDir(), "published.duckdb")
		warehousetest.CopyFile(t, wh, published)

		sum := run([]string{refresh.StepBuild}, false)
		details := modelDetails(sum)
		require.Contains(t, details["fct_orders"], "keys recomputed", "fct_orders is brought up to date by key")
		require.Contains(t, details["customer_identity_map"], "keys recomputed")
		require.Contains(t, details["mart_kpi_monthly"], "keys recomputed")
		require.Contains(t, details["mart_cross_sell_monthly"], "keys recomputed")
		require.Contains(t, details["stg_orders"], "new lake parts")
		if i == 1 {
			require.Regexp(t, "^(kept|no keys to recompute)", details["fct_tickets"], "no ticket changed on the second day")
		}
		incremental := filepath.Join(t.TempDir(), "incremental.duckdb")
		warehousetest.CopyFile(t, wh, incremental)

		warehousetest.CopyFile(t, published, wh)
		run([]string{refresh.StepBuild}, true)
		full := filepath.Join(t.TempDir(), "full.duckdb")
		warehousetest.CopyFile(t, wh, full)

		require.Greater(t, len(warehousetest.SameTables(t, incremental, full, nil)), 30)
		if i == 0 {
			db, err := duckdb.Open(incremental, duckdb.Options{ReadOnly: true})
			require.NoError(t, err)
			var golden string
			require.NoError(t, db.QueryRow(`SELECT customer_id FROM customer_identity_map WHERE source = 'customers' AND source_key = ?`, duplicate).Scan(&golden))
			// A day of new data: the cross-sell counts of the first build
			// stay in use, in both builds.
			var refit string
			require.NoError(t, db.QueryRow(`SELECT DISTINCT refit FROM cross_sell_validation`).Scan(&refit))
			db.Close()
			require.Equal(t, "C0000001", golden, "the duplicate followed its record to the earliest customer record")
			require.Equal(t, "counted: the first count", refit)
		}
		warehousetest.CopyFile(t, incremental, wh) // the next day builds on the incremental result
	}
}

func modelDetails(sum refresh.Summary) map[string]string {
	out := map[string]string{}
	for _, st := range sum.Steps {
		if res, ok := st.Result.(build.Result); ok {
			for _, m := range res.Models {
				out[m.Name] = m.Detail
			}
		}
	}
	return out
}

// lastBillingDays returns the last n days (YYYYMMDD) of billing exports.
func lastBillingDays(t *testing.T, billing string, n int) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(billing, "orders", "orders_*.csv"))
	require.NoError(t, err)
	sort.Strings(m)
	var out []string
	for _, f := range m[len(m)-n:] {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "orders_"), ".csv"))
	}
	return out
}

// someEarlyDay is a day of billing exports months before the end.
func someEarlyDay(t *testing.T, billing string) string {
	m, err := filepath.Glob(filepath.Join(billing, "orders", "orders_*.csv"))
	require.NoError(t, err)
	sort.Strings(m)
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m[len(m)/3]), "orders_"), ".csv")
}

// moveDay moves a day's billing files (both systems) from one folder tree
// to another.
func moveDay(t *testing.T, from, to, day string) {
	t.Helper()
	for _, sub := range []string{"orders", "order_lines", "legacy"} {
		m, err := filepath.Glob(filepath.Join(from, sub, "*_"+day+".csv"))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(to, sub), 0o755))
		for _, f := range m {
			require.NoError(t, os.Rename(f, filepath.Join(to, sub, filepath.Base(f))))
		}
	}
}

// firstOrder returns the id and customer number of the first paid order
// of a billing export.
func firstOrder(t *testing.T, file string) [2]string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Split(line, ",")
		if len(f) == 13 && f[6] == "paid" {
			return [2]string{f[0], f[1]}
		}
	}
	t.Fatalf("no paid order in %s", file)
	return [2]string{}
}

type refund struct {
	id     string
	order  [2]string // order id, customer number
	amount string
}

func writeRefunds(t *testing.T, file, day string, rs ...refund) {
	t.Helper()
	var b strings.Builder
	b.WriteString("order_id,billing_customer_no,customer_name,email,phone,order_time,status,ship_city,currency,gross_amount,discount_amount,net_amount,original_order_id\n")
	ts := day[:4] + "-" + day[4:6] + "-" + day[6:] + "T12:00:00+08:00"
	for _, r := range rs {
		fmt.Fprintf(&b, "%s,%s,,,,%s,refund,,CNY,%s,0.00,%s,%s\n", r.id, r.order[1], ts, r.amount, r.amount, r.order[0])
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o644))
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	res, err := db.Exec(q, args...)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, q)
}
