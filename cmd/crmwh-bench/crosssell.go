package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"crmwh/warehouse/analytics"
	"crmwh/warehouse/duckdb"
)

// The cross-sell benchmark: the cross_sell build step (exact counts of
// every product and category, pair and triple, in orders and customers'
// 30-day windows, then every active customer's offers and their
// validation) against the plainest SQL that counts the product pairs
// alone, on demo companies' order lines.

var (
	xsellSizes  *string
	xsellChild  *string
	xsellMode   *string
	xsellMemory *string
)

func xsellFlags() {
	xsellSizes = flag.String("xsell-customers", "200000,1000000", "customer counts of the demo companies of the cross-sell benchmark")
	xsellMemory = flag.String("xsell-memory", "4GB", "DuckDB's memory limit in the cross-sell benchmark (a build's build.memory_limit)")
	xsellChild = flag.String("xsell-child", "", "internal: run one cross-sell measurement on the database in this folder")
	xsellMode = flag.String("xsell-mode", "", "internal: prepare, step or sql")
}

// xsellSettings are the default project's (crmwh.yaml).
var xsellSettings = analytics.Settings{Currency: "CNY", Timezone: "Asia/Shanghai", TimeUnit: "day", ChurnDefinition: "inactivity",
	InactivityDays: 180, PAliveThreshold: 0.3,
	CrossSell: analytics.CrossSell{WindowDays: 30, MinPairBaskets: 10, MinSupport: 0.001, MinConfidence: 0.1, HoldoutDays: 90}}

// xsellPrepare makes the step's inputs from a demo company's modern
// billing files with plain SQL: fct_orders (the billing customer number as
// the customer), fct_order_items and dim_product.
const xsellPrepare = `
CREATE TABLE fct_orders AS SELECT order_id, billing_customer_no AS customer_id,
	CAST(timezone('Asia/Shanghai', CAST(order_time AS TIMESTAMPTZ)) AS DATE) AS order_date, status
	FROM read_csv('%[1]s/billing/orders/*.csv', all_varchar = true);
CREATE TABLE fct_order_items AS SELECT order_id, CAST(line_no AS INTEGER) AS line_no, product_code AS product_id,
	CASE WHEN CAST(quantity AS INTEGER) < 0 THEN 'refund' ELSE 'sale' END AS line_type
	FROM read_csv('%[1]s/billing/order_lines/*.csv', all_varchar = true);
CREATE TABLE dim_product AS SELECT product_id, category FROM (
	SELECT product_code AS product_id, mode(category) AS category FROM read_csv('%[1]s/billing/order_lines/*.csv', all_varchar = true) GROUP BY 1);
CHECKPOINT`

// xsellSQL counts the product pairs of orders and of customers' 30-day
// windows with self-joins, as one would in plain SQL (no triples, no
// categories, no offers).
var xsellSQL = []string{
	`CREATE TABLE pairs_order AS
	WITH bi AS (SELECT DISTINCT o.order_id, i.product_id FROM fct_orders o JOIN fct_order_items i USING (order_id)
		WHERE o.status = 'paid' AND i.line_type = 'sale')
	SELECT a.product_id AS a, b.product_id AS b, count(*) AS n FROM bi a JOIN bi b ON a.order_id = b.order_id AND a.product_id < b.product_id
	GROUP BY ALL`,
	`CREATE TABLE pairs_window AS
	WITH o AS (SELECT order_id, customer_id, order_date, min(order_date) OVER (PARTITION BY customer_id) AS first
		FROM fct_orders WHERE status = 'paid'),
	bi AS (SELECT DISTINCT o.customer_id, datediff('day', o.first, o.order_date) // 30 AS w, i.product_id
		FROM o JOIN fct_order_items i USING (order_id) WHERE i.line_type = 'sale')
	SELECT a.product_id AS a, b.product_id AS b, count(*) AS n FROM bi a JOIN bi b
		ON a.customer_id = b.customer_id AND a.w = b.w AND a.product_id < b.product_id
	GROUP BY ALL`,
}

// xsellSQLAll counts in plain SQL what the step counts: items, pairs and
// Apriori's triples (those whose three pairs are frequent, at min_support
// 0.001) of products and categories, in orders and in customers' 30-day
// windows. No offers, no validation.
var xsellSQLAll = []string{
	`CREATE TEMP TABLE lines AS SELECT o.order_id, o.customer_id, o.order_date, i.product_id, p.category
	FROM fct_orders o JOIN fct_order_items i USING (order_id) LEFT JOIN dim_product p USING (product_id)
	WHERE o.status = 'paid' AND i.line_type = 'sale'`,
	`CREATE TEMP TABLE bi AS
	WITH w AS (SELECT *, customer_id || '/' || (datediff('day', min(order_date) OVER (PARTITION BY customer_id), order_date) // 30) AS win FROM lines)
	SELECT DISTINCT 'product' AS level, 'order' AS scope, order_id AS basket, product_id AS item FROM w
	UNION ALL SELECT DISTINCT 'category', 'order', order_id, category FROM w WHERE category IS NOT NULL
	UNION ALL SELECT DISTINCT 'product', 'customer_window', win, product_id FROM w
	UNION ALL SELECT DISTINCT 'category', 'customer_window', win, category FROM w WHERE category IS NOT NULL`,
	`CREATE TABLE n AS SELECT level, scope, count(DISTINCT basket) AS n, ceil(0.001 * count(DISTINCT basket)) AS k FROM bi GROUP BY ALL`,
	`CREATE TABLE items AS SELECT level, scope, item, count(*) AS c FROM bi GROUP BY ALL`,
	`CREATE TABLE pairs AS SELECT a.level, a.scope, a.item AS a, b.item AS b, count(*) AS c
	FROM bi a JOIN bi b ON a.level = b.level AND a.scope = b.scope AND a.basket = b.basket AND a.item < b.item GROUP BY ALL`,
	`CREATE TABLE triples AS
	WITH fp AS (SELECT p.level, p.scope, p.a, p.b FROM pairs p JOIN n USING (level, scope) WHERE p.c >= n.k),
	fpb AS (SELECT a.level, a.scope, a.basket, a.item AS x, b.item AS y
		FROM bi a JOIN bi b ON a.level = b.level AND a.scope = b.scope AND a.basket = b.basket AND a.item < b.item
		SEMI JOIN fp ON fp.level = a.level AND fp.scope = a.scope AND fp.a = a.item AND fp.b = b.item)
	SELECT p.level, p.scope, p.x, p.y, q.y AS z, count(*) AS c
	FROM fpb p JOIN fpb q ON p.level = q.level AND p.scope = q.scope AND p.basket = q.basket AND p.x = q.x AND p.y < q.y
	SEMI JOIN fp ON fp.level = p.level AND fp.scope = p.scope AND fp.a = p.y AND fp.b = q.y
	GROUP BY ALL`,
}

// xsellChildMain runs in a child process on dir/xsell.duckdb and prints
// {"lines": n, "seconds": s} for the timed part.
func xsellChildMain(dir, mode string) {
	ctx := context.Background()
	file := filepath.Join(dir, "xsell.duckdb")
	if mode != "prepare" {
		file = filepath.Join(dir, "run.duckdb")
		for _, f := range []string{file, file + ".wal"} {
			os.Remove(f)
		}
		defer os.Remove(file)
	}
	db, err := duckdb.Open(file, duckdb.Options{TempDir: file + ".tmp", MemoryLimit: *xsellMemory})
	if err != nil {
		fail(err)
	}
	defer db.Close()
	defer os.RemoveAll(file + ".tmp")
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	if mode != "prepare" {
		// A fresh copy of the inputs, as a build has just made them.
		src := duckdb.QuoteString(filepath.Join(dir, "xsell.duckdb"))
		for _, st := range []string{"ATTACH " + src + " AS src (READ_ONLY)", "CREATE TABLE fct_orders AS FROM src.fct_orders",
			"CREATE TABLE fct_order_items AS FROM src.fct_order_items", "CREATE TABLE dim_product AS FROM src.dim_product", "DETACH src"} {
			if _, err := conn.ExecContext(ctx, st); err != nil {
				fail(err)
			}
		}
	}
	t0 := time.Now()
	switch mode {
	case "prepare":
		_, err = conn.ExecContext(ctx, fmt.Sprintf(xsellPrepare, filepath.Join(dir, "demo")))
	case "step":
		if _, err = analytics.SettingsStep(xsellSettings).Run(ctx, conn); err == nil {
			_, err = analytics.CrossSellStep(xsellSettings).Run(ctx, conn)
		}
	case "sql", "sqlall":
		qs := xsellSQL
		if mode == "sqlall" {
			qs = xsellSQLAll
		}
		for _, q := range qs {
			if _, err = conn.ExecContext(ctx, q); err != nil {
				break
			}
		}
	default:
		err = fmt.Errorf("unknown -xsell-mode %q", mode)
	}
	if err != nil {
		fail(fmt.Errorf("cross-sell %s: %w", mode, err))
	}
	secs := time.Since(t0).Seconds()
	var lines int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM fct_order_items`).Scan(&lines); err != nil {
		fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]any{"lines": lines, "seconds": secs})
}

// xsellSample is one child's measurement.
type xsellSample struct {
	lines      int64
	inner, cpu float64 // seconds: the timed part, and the child's user + system time
	rss        int64
}

func xsellRun(args ...string) xsellSample {
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cmd := exec.Command(self, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, errb.String()))
	}
	var r struct {
		Lines   int64
		Seconds float64
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		fail(fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out.String()))
	}
	s := xsellSample{lines: r.Lines, inner: r.Seconds,
		cpu: (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.rss = ru.Maxrss * 1024
	}
	return s
}

// benchCrossSell measures, for each size, the step and the SQL pair count
// on the same data, reps times each, alternating.
func benchCrossSell(bin string, sizes []int, reps int) {
	fmt.Printf("\nCross-sell: the cross_sell build step against plain SQL pair counting (medians; DuckDB memory limit %s):\n", *xsellMemory)
	fmt.Println()
	fmt.Println("| what | customers | order lines | median wall | lines/s | CPU (child) | peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, n := range sizes {
		dir, err := os.MkdirTemp("", "crmwh-bench-xsell-")
		if err != nil {
			fail(err)
		}
		if _, err := run(bin, dir, "demo", "--customers", strconv.Itoa(n), "--legacy-share", "0", "--bad-row-rate", "0",
			"--out", filepath.Join(dir, "demo"), "--json"); err != nil {
			fail(err)
		}
		child := func(mode string) xsellSample {
			return xsellRun("-xsell-child", dir, "-xsell-mode", mode, "-xsell-memory", *xsellMemory)
		}
		child("prepare")
		var step, all, plain []xsellSample
		for range reps {
			step = append(step, child("step"))
			all = append(all, child("sqlall"))
			plain = append(plain, child("sql"))
		}
		for _, r := range []struct {
			what string
			ss   []xsellSample
		}{
			{"cross_sell step: items, pairs and Apriori triples of products and categories in orders and windows; offers; validation", step},
			{"plain SQL, the same counts (self-joins; no offers, no validation)", all},
			{"plain SQL, product pairs of orders and of windows only", plain},
		} {
			sort.Slice(r.ss, func(i, j int) bool { return r.ss[i].inner < r.ss[j].inner })
			m := r.ss[len(r.ss)/2]
			var rss int64
			for _, s := range r.ss {
				rss = max(rss, s.rss)
			}
			fmt.Printf("| %s | %d | %d | %.1f s | %.0f | %.1f s | %.0f MB |\n", r.what, n, m.lines, m.inner, float64(m.lines)/m.inner, m.cpu, float64(rss)/1e6)
		}
		os.RemoveAll(dir)
	}
}
