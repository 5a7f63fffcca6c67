package main_test

// End-to-end tests of the crmwh binary on a small demo company: the real
// command line, a real SQLite CRM, real CSV exports, a real Parquet lake,
// a real DuckDB warehouse and the rendered site in real Chromium.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"crmwh/dashboards/browsertest"
	"crmwh/warehouse/warehousetest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmwh-e2e-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "crmwh")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building crmwh: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runResult struct {
	stdout, stderr string
	code           int
}

// crmwh runs the binary in dir.
func crmwh(t *testing.T, dir string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := runResult{o.String(), e.String(), 0}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

func mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := crmwh(t, dir, args...)
	require.Equal(t, 0, r.code, "crmwh %s failed:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

type summary struct {
	Status string
	Steps  []struct {
		Step   string
		Status string
		Rows   int64
		Result json.RawMessage
	}
}

func refresh(t *testing.T, dir string) summary {
	t.Helper()
	var s summary
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "refresh", "--json")), &s))
	require.Equal(t, "ok", s.Status)
	return s
}

// demoProject makes a project folder with a small demo company in it.
func demoProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	mustRun(t, dir, "demo", "--customers", "3000", "--years", "1", "--seed", "11")
	return dir
}

func TestRefreshOnTheDemoCompany(t *testing.T) {
	dir := demoProject(t)
	first := refresh(t, dir)
	require.Len(t, first.Steps, 3)
	wh := filepath.Join(dir, "data", "crmwh.duckdb")

	t.Run("monthly KPIs equal an independent computation from the raw files", func(t *testing.T) {
		want := rawMonthlyKPIs(t, filepath.Join(dir, "data", "demo"))
		db := warehousetest.Open(t, wh, true)
		got := warehousetest.Rows(t, db, `SELECT strftime(month, '%Y-%m'), orders, cancelled_orders, gross_revenue, refunds,
			net_revenue, active_customers, new_customers FROM mart_kpi_monthly ORDER BY month`)
		require.Len(t, got, 12)
		require.Equal(t, want, got)
	})

	t.Run("legacy GB18030 rows arrive with their Chinese text", func(t *testing.T) {
		id, city, name := firstLegacyOrder(t, filepath.Join(dir, "data", "demo"))
		db := warehousetest.Open(t, wh, true)
		require.Equal(t, [][]string{{"legacy", city, name}}, warehousetest.Rows(t, db,
			"SELECT billing_system, ship_city, customer_name FROM stg_billing__orders WHERE order_id = ?", id))
		require.Zero(t, warehousetest.Int(t, db, "SELECT count(*) FROM stg_billing__orders WHERE contains(ship_city || customer_name, '\uFFFD')"))
		require.Positive(t, warehousetest.Int(t, db, "SELECT count(*) FROM fct_orders WHERE billing_system = 'legacy'"))
	})

	t.Run("every malformed order row is in quarantine with its file and line", func(t *testing.T) {
		want := malformedOrderRows(t, filepath.Join(dir, "data", "demo"))
		require.NotEmpty(t, want)
		db := warehousetest.Open(t, wh, true)
		got := warehousetest.Rows(t, db, `SELECT origin, line FROM raw.billing_orders__quarantine
			UNION ALL SELECT origin, line FROM raw.billing_legacy_orders__quarantine ORDER BY 1, 2`)
		require.Equal(t, want, got)
	})

	t.Run("a second refresh with no new data changes no row counts", func(t *testing.T) {
		counts := func() [][]string {
			db := warehousetest.Open(t, wh, true)
			defer db.Close()
			return warehousetest.Rows(t, db, `SELECT source || '.' || stream, row_count, quarantined FROM meta.lake_streams
				UNION ALL SELECT model, row_count::VARCHAR, NULL FROM meta.model_runs
				WHERE run_id = (SELECT max(run_id) FROM meta.build_runs) AND row_count IS NOT NULL ORDER BY 1`)
		}
		before := counts()
		second := refresh(t, dir)
		require.Equal(t, "extract", second.Steps[0].Step)
		require.Zero(t, second.Steps[0].Rows, "nothing new was extracted")
		require.Equal(t, before, counts())
	})

	t.Run("the overview page renders in Chromium with no errors and no network", func(t *testing.T) {
		site := filepath.Join(dir, "site")
		b := browsertest.Start(t)
		for _, f := range []string{"index.html", "overview.html"} {
			p := b.Open(t, filepath.Join(site, f))
			if f == "overview.html" {
				charts := p.Charts(t)
				require.Len(t, charts, 2)
				for _, c := range charts {
					require.True(t, c.Canvas, c.ID)
					require.Greater(t, c.Painted, 2000, "%s looks blank", c.ID)
				}
				p.Screenshot(t, "e2e-overview")
			}
			p.RequireClean(t, site)
		}
	})
}

func TestAFailedBuildLeavesThePublishedWarehouseByteIdentical(t *testing.T) {
	dir := demoProject(t)
	refresh(t, dir)
	wh := filepath.Join(dir, "data", "crmwh.duckdb")
	before, err := os.ReadFile(wh)
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "sql", "marts", "mart_broken.sql"),
		[]byte("select order_id::INTEGER as n from fct_orders\n"), 0o644))
	r := crmwh(t, dir, "refresh")
	require.Equal(t, 5, r.code, "build failure exit code\n%s%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "crmwh: build: build failed: model mart_broken (sql/marts/mart_broken.sql): Conversion Error")
	require.Contains(t, r.stdout, "dashboards  skipped")
	after, err := os.ReadFile(wh)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "the published warehouse changed")
}

func TestConfigErrorsAreOneLineNamingTheKey(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte("name: x\npaths:\n  lakes: data/lake\n"), 0o644))
	r := crmwh(t, dir, "extract")
	require.Equal(t, 2, r.code)
	require.Equal(t, `crmwh: crmwh.yaml:3: paths.lakes: unknown key "lakes" (expected one of: lake, site, state, warehouse)`+"\n", r.stderr)
}

func TestEveryVerbHasHelpWithAnExample(t *testing.T) {
	for _, verb := range []string{"init", "demo", "extract", "build", "dashboards", "refresh", "sql", "scheduler", "runs", "status"} {
		out := mustRun(t, t.TempDir(), verb, "--help")
		require.Contains(t, out, "Examples:", verb)
		require.Contains(t, out, "crmwh "+verb, verb)
	}
}

func TestSQLPrintsFromTheWarehouseReadOnly(t *testing.T) {
	dir := demoProject(t)
	refresh(t, dir)
	out := mustRun(t, dir, "sql", "SELECT count(*) AS customers FROM dim_customer")
	require.Regexp(t, `customers\n-+\n +\d+\n\(1 rows\)\n`, out)
	r := crmwh(t, dir, "sql", "CREATE TABLE x AS SELECT 1")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "read-only")
	r = crmwh(t, dir, "sql", "SELEC 1")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "syntax error")
}

// ---- the independent computation, straight from the demo's files ----

// rawOrder is one order row of a billing export.
type rawOrder struct {
	id, customerNo, status, original string
	at                               time.Time
	net                              int64 // fen
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// readOrders parses every billing order file with encoding/csv (not
// crmwh's reader), skipping the rows the generator says it broke.
func readOrders(t *testing.T, demo string) []rawOrder {
	t.Helper()
	bad := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "malformed_rows.csv"), false)[1:] {
		bad[r[0]+":"+r[1]] = true
	}
	var out []rawOrder
	for _, legacy := range []bool{false, true} {
		pattern := "billing/orders/orders_*.csv"
		if legacy {
			pattern = "billing/legacy/orders_*.csv"
		}
		files, err := filepath.Glob(filepath.Join(demo, pattern))
		require.NoError(t, err)
		for _, f := range files {
			rel, _ := filepath.Rel(demo, f)
			lines := readLines(t, f, legacy)
			for i, line := range lines[1:] {
				if bad[filepath.ToSlash(rel)+":"+fmt.Sprint(i+2)] || line == "" {
					continue
				}
				r, err := csv.NewReader(strings.NewReader(line)).Read()
				require.NoError(t, err, "%s line %d", rel, i+2)
				o := rawOrder{id: r[0], customerNo: r[1], original: r[12]}
				o.status = map[string]string{"已支付": "paid", "已取消": "cancelled", "退款": "refund"}[r[6]]
				if !legacy {
					o.status = r[6]
					o.at, err = time.Parse(time.RFC3339, r[5])
				} else {
					o.at, err = time.ParseInLocation("2006年1月2日 15:04:05", r[5], shanghai)
				}
				require.NoError(t, err)
				o.net = fen(t, r[11])
				out = append(out, o)
			}
		}
	}
	return out
}

func readLines(t *testing.T, path string, gb bool) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if gb {
		b, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		require.NoError(t, err)
	}
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
}

func readCSV(t *testing.T, path string, gb bool) [][]string {
	t.Helper()
	var r io.Reader
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if gb {
		b, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		require.NoError(t, err)
	}
	r = bytes.NewReader(b)
	rows, err := csv.NewReader(r).ReadAll()
	require.NoError(t, err)
	return rows
}

// fen parses "1,234.50" into 123450.
func fen(t *testing.T, s string) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(strings.ReplaceAll(s, ",", ""))
	require.True(t, ok, s)
	r.Mul(r, big.NewRat(100, 1))
	require.True(t, r.IsInt(), s)
	return r.Num().Int64()
}

func money(f int64) string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	return fmt.Sprintf("%s%d.%02d", sign, f/100, f%100)
}

// rawMonthlyKPIs computes mart_kpi_monthly's definition (docs: paid orders
// and revenue by order month in Shanghai time, refunds by refund month,
// customers counted as real people) from the raw files and the generator's
// truth about who is who.
func rawMonthlyKPIs(t *testing.T, demo string) [][]string {
	t.Helper()
	person := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "people.csv"), false)[1:] {
		for _, no := range strings.Split(r[2], ";") {
			if no != "" {
				person[no] = r[0]
			}
		}
	}
	type kpi struct {
		orders, cancelled, gross, refunds int64
		active                            map[string]bool
		newc                              int64
	}
	months := map[string]*kpi{}
	get := func(m string) *kpi {
		if months[m] == nil {
			months[m] = &kpi{active: map[string]bool{}}
		}
		return months[m]
	}
	first := map[string]string{}
	seen := map[string]bool{}
	for _, o := range readOrders(t, demo) {
		require.False(t, seen[o.id], "order %s twice", o.id)
		seen[o.id] = true
		m := o.at.In(shanghai).Format("2006-01")
		k := get(m)
		switch o.status {
		case "paid":
			p, ok := person[o.customerNo]
			require.True(t, ok, "billing number %s belongs to nobody", o.customerNo)
			k.orders++
			k.gross += o.net
			k.active[p] = true
			if f, ok := first[p]; !ok || m < f {
				first[p] = m
			}
		case "cancelled":
			k.cancelled++
		case "refund":
			k.refunds -= o.net
		default:
			t.Fatalf("order %s has status %q", o.id, o.status)
		}
	}
	for _, m := range first {
		get(m).newc++
	}
	var keys []string
	for m := range months {
		keys = append(keys, m)
	}
	sort.Strings(keys)
	var out [][]string
	for _, m := range keys {
		k := months[m]
		out = append(out, []string{m, fmt.Sprint(k.orders), fmt.Sprint(k.cancelled), money(k.gross), money(k.refunds),
			money(k.gross - k.refunds), fmt.Sprint(len(k.active)), fmt.Sprint(k.newc)})
	}
	return out
}

// firstLegacyOrder returns the first order of the first legacy file, its
// city and customer name, decoded here from GB18030.
func firstLegacyOrder(t *testing.T, demo string) (id, city, name string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(demo, "billing/legacy/orders_*.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rows := readCSV(t, f, true)
		if len(rows) > 1 {
			require.Equal(t, "订单号", rows[0][0])
			return rows[1][0], rows[1][7], rows[1][2]
		}
	}
	t.Fatal("no legacy orders")
	return
}

// malformedOrderRows lists the generator's broken order rows as file, line.
func malformedOrderRows(t *testing.T, demo string) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "malformed_rows.csv"), false)[1:] {
		if strings.Contains(r[0], "/orders_") {
			out = append(out, []string{"data/demo/" + r[0], r[1]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return len(out[i][1]) < len(out[j][1]) || len(out[i][1]) == len(out[j][1]) && out[i][1] < out[j][1]
	})
	return out
}
