package main_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
	"crmwh/warehouse/clv/logfit"
	"crmwh/warehouse/warehousetest"
)

// TestCLVFitOnASimulatedLog runs `crmwh clv fit` on a transaction log
// simulated from known parameters, with a holdout period: the customer
// count, the holdout purchases and the parameters are checked against the
// simulation's truth.
func TestCLVFitOnASimulatedLog(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "log.csv")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	truth := clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2}
	calEnd := time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)
	cs, err := clvsim.WriteLog(f, clvsim.Options{
		Customers: 20_000, BGNBD: truth, GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150},
		MaxT: 730, Holdout: 91, Seed: 4,
	}, calEnd)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	var holdout float64
	for _, c := range cs {
		holdout += c.HoldoutX
	}

	out := mustRun(t, dir, "clv", "fit", "log.csv", "--calibration-end", "2025-06-30", "--holdout-end", "2025-09-29", "--json", "--scores", "scores.csv")
	var res logfit.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, 20_000, res.Customers)
	require.Equal(t, "2025-06-30", res.CalibrationEnd)
	require.Len(t, res.PurchaseModels, 1)
	bg := res.PurchaseModels[0]
	require.Equal(t, "bgnbd", bg.Model)
	require.Equal(t, "bgnbd", res.Chosen)
	require.True(t, bg.Converged)
	require.NotEmpty(t, bg.Start)
	require.NotEmpty(t, bg.Method)
	for i, truth := range []float64{truth.R, truth.Alpha, truth.A, truth.B} {
		e := bg.Parameters[i]
		require.Equal(t, []string{"r", "alpha", "a", "b"}[i], e.Name)
		require.InDelta(t, truth, e.Value, 4*e.SE+0.07*truth, "%+v", e) // 4 SE plus the day-grid bias
	}
	require.NotNil(t, bg.Holdout)
	require.Equal(t, res.Validation.MAE, bg.Holdout.MAE)
	require.Equal(t, "gamma_gamma", res.SpendModel)
	require.True(t, res.GammaGamma.Converged)
	require.InDelta(t, 6, res.GammaGamma.P.Value, 4*res.GammaGamma.P.SE)
	require.Equal(t, holdout, res.Validation.Actual, "holdout purchase days")
	require.Equal(t, 91.0, res.Validation.HoldoutLength)
	require.InEpsilon(t, res.Validation.Actual, res.Validation.Predicted, 0.1)
	require.Len(t, res.Validation.ByFrequency, 8)
	last := res.Validation.Tracking[len(res.Validation.Tracking)-1]
	require.Equal(t, 91.0, last.Time)

	// The scores file: one row per customer.
	sf, err := os.Open(filepath.Join(dir, "scores.csv"))
	require.NoError(t, err)
	defer sf.Close()
	rows, err := csv.NewReader(sf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"customer_id", "x", "t_x", "T", "monetary", "p_alive", "expected_90d", "expected_365d", "expected_spend", "clv"}, rows[0])
	require.Len(t, rows, 20_001)
	var sumExp float64
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[6], 64)
		require.NoError(t, err)
		sumExp += v
	}
	require.InEpsilon(t, res.Validation.Predicted*90/91, sumExp, 0.01, "expected purchases in 90 days against the holdout's 91")

	// The table.
	text := mustRun(t, dir, "clv", "fit", "log.csv", "--calibration-end", "2025-06-30", "--unit", "weeks")
	require.Contains(t, text, "transaction log log.csv: ")
	require.Contains(t, text, "calibration to 2025-06-30 (20000 customers), holdout to ")
	require.Contains(t, text, "BG/NBD: log-likelihood ")
	require.Contains(t, text, "converged (newton from the ")
	require.Contains(t, text, "model used: BG/NBD: ")

	// Both purchase models, compared on the holdout.
	out = mustRun(t, dir, "clv", "fit", "log.csv", "--calibration-end", "2025-06-30", "--model", "auto", "--json")
	res = logfit.Result{}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Len(t, res.PurchaseModels, 2)
	require.Equal(t, "pareto_nbd", res.PurchaseModels[1].Model)
	var best logfit.PurchaseModel
	for _, m := range res.PurchaseModels {
		require.NotNil(t, m.Holdout, m.Model)
		if m.Model == res.Chosen {
			best = m
		}
	}
	for _, m := range res.PurchaseModels {
		require.LessOrEqual(t, m.Holdout.LogLikelihood, best.Holdout.LogLikelihood, "the higher holdout log-likelihood wins")
	}
	require.Contains(t, res.Why, "the highest log-likelihood of the holdout purchases")
	require.Contains(t, text, "correlation of frequency and mean value: ")
	require.Contains(t, text, "x in calibration")
	require.Contains(t, text, "time unit weeks")
}

func TestCLVFitErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.csv"), []byte("cust,day,amount\nA,2025-01-01,5\nA,2025-13-02,5\n"), 0o644))
	r := crmwh(t, dir, "clv", "fit", "log.csv")
	require.Equal(t, 1, r.code)
	require.Equal(t, `crmwh: bad transaction log: log.csv has no customer column "customer_id" (its columns: cust, day, amount)`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--customer", "cust", "--date", "day")
	require.Equal(t, 1, r.code)
	require.Equal(t, `crmwh: bad transaction log: log.csv, row 2: date "2025-13-02" in column day does not parse as an ISO date or timestamp (give the format with --date-format)`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--unit", "months")
	require.Equal(t, 2, r.code)
	require.Equal(t, `crmwh: --unit: unknown time unit "months" (want days or weeks)`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--calibration-end", "June")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `--calibration-end "June": expected a date such as 2025-06-30`)

	r = crmwh(t, dir, "clv", "fit", "log.csv", "--margin", "0")
	require.Equal(t, 2, r.code)
	require.Equal(t, "crmwh: --margin 0: expected a share of spend in (0, 1]\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--model", "gamma")
	require.Equal(t, 2, r.code)
	require.Equal(t, `crmwh: --model "gamma": expected one of bgnbd, pareto_nbd, auto`+"\n", r.stderr)
	r = crmwh(t, dir, "clv", "fit", "log.csv", "--customer", "cust", "--date", "day", "--amount", "amount * nope")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, `crmwh: bad transaction log: the --amount expression amount * nope on log.csv: Binder Error: Referenced column "nope" not found`)

	out := mustRun(t, dir, "clv", "fit", "--help")
	require.Contains(t, out, "Examples:")
	require.Contains(t, out, "crmwh clv fit")
}

// TestCLVFitWhereRunsInTheSandbox: --where is SQL the user wrote; it may
// read the transaction log and nothing else, and must be one condition.
func TestCLVFitWhereRunsInTheSandbox(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "log.csv"), []byte("customer_id,date,amount\nA,2025-01-01,5\nA,2025-02-01,7\nB,2025-01-03,4\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.csv"), []byte("customer_id\nA\n"), 0o644))
	for _, c := range []struct{ where, want string }{
		{"1=1) UNION ALL (SELECT 1", "is not one expression"},
		{"true; COPY (SELECT 42) TO 'log.csv'; SELECT true", `syntax error at or near ";"`},
		{"true) ; COPY (SELECT 42) TO 'log.csv'; SELECT (true", "COPY is not a query"},
		{"customer_id IN (SELECT customer_id FROM read_csv('other.csv'))", "Permission Error"},
		{"customer_id IN (SELECT column0 FROM read_csv('/etc/passwd'))", "Permission Error"},
		{"EXISTS (SELECT * FROM glob('/etc/*'))", "Permission Error"},
	} {
		r := crmwh(t, dir, "clv", "fit", "log.csv", "--where", c.where)
		require.Equal(t, 1, r.code, c.where)
		require.Contains(t, r.stderr, c.want, c.where)
	}
	b, err := os.ReadFile(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "customer_id,date,amount\n"), "the log is untouched")
	// A glob is expanded by crmwh: the files it names may be read. (Two
	// customers are too few for the fit to converge; the rows are read.)
	r := crmwh(t, dir, "clv", "fit", "l*.csv", "--where", "amount::double > 4", "--json")
	require.Contains(t, r.stdout, `"rows": 2,`, r.stderr)
}

// TestABuildWithCLVOff: with analytics.clv: off the refresh succeeds,
// every model downstream of clv_scores builds, the CLV tables say
// "unavailable" and why, and the value and data-health pages show it.
func TestABuildWithCLVOff(t *testing.T) {
	dir := demoProject(t)
	cfg := filepath.Join(dir, "crmwh.yaml")
	b, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.Contains(t, string(b), "\n  clv: on ")
	require.NoError(t, os.WriteFile(cfg, []byte(strings.Replace(string(b), "\n  clv: on ", "\n  clv: off ", 1)), 0o644))
	refresh(t, dir)

	db := warehousetest.Open(t, filepath.Join(dir, "data", "crmwh.duckdb"), true)
	require.Equal(t, [][]string{{"unavailable", "turned off in crmwh.yaml (analytics.clv: off)"}},
		warehousetest.Rows(t, db, "SELECT status, reason FROM mart_clv_status"))
	buyers := warehousetest.Int(t, db, "SELECT count(*) FROM customer_purchases")
	require.Positive(t, buyers)
	require.Equal(t, buyers, warehousetest.Int(t, db, "SELECT count(*) FROM mart_customer_value"))
	require.Equal(t, int64(0), warehousetest.Int(t, db, "SELECT count(clv_12m) + count(p_alive) FROM mart_customer_value"))
	for _, m := range []string{"mart_segments", "mart_churn_watchlist", "mart_account_manager_performance"} {
		warehousetest.Int(t, db, "SELECT count(*) FROM "+m) // builds
	}
	require.Positive(t, warehousetest.Int(t, db, "SELECT count(*) FROM mart_segments"))
	value, err := os.ReadFile(filepath.Join(dir, "site", "value.html"))
	require.NoError(t, err)
	require.Contains(t, string(value), "<p>turned off in crmwh.yaml (analytics.clv: off)</p>")
	require.NotContains(t, string(value), "chart-value-pyramid")
	health, err := os.ReadFile(filepath.Join(dir, "site", "health.html"))
	require.NoError(t, err)
	require.Contains(t, string(health), "turned off in crmwh.yaml (analytics.clv: off)")
}

// TestCLVFitOnARawExport fits a log exported the way a retailer's system
// writes it (US dates with times, quantity and unit price, returns as
// negative quantities, several lines per invoice) with SQL expressions
// and a condition on a sniffed numeric column, and gets exactly the fit
// of the same purchases written plainly.
func TestCLVFitOnARawExport(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	_, err = clvsim.WriteLog(f, clvsim.Options{Customers: 3000, BGNBD: clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2},
		GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150}, MaxT: 365, Holdout: 60, Seed: 8}, time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	plain, err := os.ReadFile(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("InvoiceNo,Quantity,InvoiceDate,UnitPrice,CustomerID\n")
	for i, line := range strings.Split(strings.TrimSpace(string(plain)), "\n")[1:] {
		rec := strings.Split(line, ",")
		d, err := time.Parse(time.DateOnly, rec[1])
		require.NoError(t, err)
		us := d.Format("1/2/2006") + " 14:05"
		cents, err := strconv.ParseFloat(rec[2], 64)
		require.NoError(t, err)
		// Two lines: 2 × a quarter and 1 × half of the amount, and every
		// fifth purchase a return of one item the same day.
		fmt.Fprintf(&b, "%d,2,%s,%.6f,%s\n", i, us, cents/4, rec[0])
		fmt.Fprintf(&b, "%d,1,%s,%.6f,%s\n", i, us, cents/2, rec[0])
		if i%5 == 0 {
			fmt.Fprintf(&b, "C%d,-1,%s,%.6f,%s\n", i, us, cents/2, rec[0])
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "retail.csv"), []byte(b.String()), 0o644))

	var want, got logfit.Result
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "clv", "fit", "log.csv", "--calibration-end", "2025-06-30", "--json")), &want))
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "clv", "fit", "retail.csv", "--customer", "CustomerID",
		"--amount", "Quantity * UnitPrice", "--date", "strptime(InvoiceDate, '%m/%d/%Y %H:%M')", "--where", "Quantity > 0",
		"--calibration-end", "2025-06-30", "--json")), &got))
	require.Equal(t, want.Customers, got.Customers)
	require.Equal(t, want.Validation.Actual, got.Validation.Actual)
	for i, p := range want.PurchaseModels[0].Parameters {
		require.InEpsilon(t, p.Value, got.PurchaseModels[0].Parameters[i].Value, 1e-9, p.Name)
	}
	for i, p := range want.GammaGamma.Report().Parameters {
		require.InEpsilon(t, p.Value, got.GammaGamma.Report().Parameters[i].Value, 1e-6, p.Name) // amounts rounded to cents in the plain log
	}
}

// TestCLVFitOnCDNOW reads the real CDNOW log, whitespace-separated, with
// --whitespace (the recipe in docs/clv.md) and checks the published
// figures: 23,570 customers, the BG/NBD estimates in weeks with
// calibration to 1997-09-30 (Fader, Hardie & Lee 2005, as the data's
// README gives them) and the 19,684 repeat purchases of the holdout.
func TestCLVFitOnCDNOW(t *testing.T) {
	path, err := clvsim.FindCDNOW()
	require.NoError(t, err)
	out := mustRun(t, t.TempDir(), "clv", "fit", path, "--whitespace", "--date-format", "%Y%m%d", "--amount", "dollar_value",
		"--unit", "weeks", "--calibration-end", "1997-09-30", "--json")
	var res logfit.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, int64(69659), res.Rows)
	require.Equal(t, 23570, res.Customers)
	bg := res.PurchaseModels[0]
	for i, want := range []float64{0.2516, 4.789, 0.7234, 2.161} {
		require.InEpsilon(t, want, bg.Parameters[i].Value, 5e-4, bg.Parameters[i].Name)
	}
	require.InDelta(t, -95368.44, bg.LogLikelihood, 0.01)
	require.Equal(t, 19684.0, res.Validation.Actual)
	require.Equal(t, 39.0, res.Validation.HoldoutLength)
}
