package analytics_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/analytics"
	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
	"crmwh/warehouse/warehousetest"
)

var settings = analytics.Settings{Currency: "CNY", Timezone: "Asia/Shanghai", TimeUnit: "day", HoldoutDays: 90,
	HorizonMonths: 12, MonthlyDiscountRate: 0.01, Margin: 0.5, ChurnDefinition: "inactivity", InactivityDays: 180, PAliveThreshold: 0.3}

// ordersFromLog makes fct_orders from a customer_id,date,amount CSV (one
// paid order per row) and customer_purchases from it, with the project's
// own model.
func ordersFromLog(t *testing.T, db *sql.DB, path string) {
	t.Helper()
	warehousetest.Exec(t, db,
		`CREATE SCHEMA IF NOT EXISTS meta`,
		`CREATE OR REPLACE TABLE fct_orders AS SELECT
			'o' || row_number() OVER () AS order_id, customer_id, CAST(date AS DATE) AS order_date,
			CAST(date_trunc('month', CAST(date AS DATE)) AS DATE) AS order_month, 'paid' AS status,
			CAST(amount AS DECIMAL(18,2)) AS net_amount, CAST(amount AS DECIMAL(18,2)) AS net_revenue
		FROM read_csv('`+path+`', header = true, columns = {'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DOUBLE'})`)
	purchases(t, db)
}

// purchases rebuilds customer_purchases from fct_orders.
func purchases(t *testing.T, db *sql.DB) {
	t.Helper()
	warehousetest.RunModels(t, db, repo, "customer_order_summary", "customer_purchases")
}

// inUse builds the model of the parameters mart_clv_model says are in use.
func inUse(t *testing.T, db *sql.DB) clv.Model {
	t.Helper()
	p := map[string]map[string]float64{}
	for _, r := range warehousetest.Rows(t, db, "SELECT model, parameter, value FROM mart_clv_model WHERE in_use") {
		v, err := strconv.ParseFloat(r[2], 64)
		require.NoError(t, err)
		if p[r[0]] == nil {
			p[r[0]] = map[string]float64{}
		}
		p[r[0]][r[1]] = v
	}
	var m clv.Model
	for name, v := range p {
		switch name {
		case "bgnbd":
			m.Purchases = clv.BGNBD{R: v["r"], Alpha: v["alpha"], A: v["a"], B: v["b"]}
		case "pareto_nbd":
			m.Purchases = clv.ParetoNBD{R: v["r"], Alpha: v["alpha"], S: v["s"], Beta: v["beta"]}
		case "nbd":
			m.Purchases = clv.NBD{R: v["r"], Alpha: v["alpha"]}
		case "gamma_gamma":
			m.Spend = clv.GammaGamma{P: v["p"], Q: v["q"], Gamma: v["gamma"]}
		case "pooled_spend":
			m.Spend = clv.PooledSpend{Value: v["mean"]}
		}
	}
	require.Len(t, p, 2, "one purchase and one spend model in use: %v", p)
	return m
}

// simulated is a BG/NBD and Gamma-Gamma company of n customers over 540
// days, the parameters the CLV step tests recover.
func simulated(n int, seed uint64) clvsim.Options {
	return clvsim.Options{Customers: n, BGNBD: clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2},
		GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150}, MaxT: 540, Seed: seed}
}

// writeLog writes a simulated customer_id,date,amount log to path.
func writeLog(t *testing.T, path string, o clvsim.Options, calibrationEnd time.Time) []clvsim.Customer {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	cs, err := clvsim.WriteLog(f, o, calibrationEnd)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return cs
}

func runStep(t *testing.T, db *sql.DB, run string) error {
	t.Helper()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = analytics.CLVStep(settings, run).Run(context.Background(), conn)
	return err
}

func TestCLVStepScoresWhatTheModelSays(t *testing.T) {
	dir := t.TempDir()
	calEnd := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	truth := simulated(20000, 3)
	cs := writeLog(t, filepath.Join(dir, "log.csv"), truth, calEnd)

	db := warehousetest.Open(t, filepath.Join(dir, "w.duckdb"), false)
	ordersFromLog(t, db, filepath.Join(dir, "log.csv"))
	require.NoError(t, runStep(t, db, "run1"))

	// The parameters in use are near the truth (the simulation is
	// BG/NBD's, but Pareto/NBD may predict the holdout as well: both are
	// fitted, compared, and the choice is explained).
	model := inUse(t, db)
	st := warehousetest.Rows(t, db, "SELECT status, purchase_model, spend_model, reason FROM mart_clv_status")
	require.Len(t, st, 1)
	require.Equal(t, []string{"ok", model.Purchases.Name(), "gamma_gamma"}, st[0][:3])
	require.Contains(t, st[0][3], "purchases: "+clv.ModelTitle(model.Purchases.Name())+": the highest log-likelihood of the holdout purchases")
	require.Equal(t, [][]string{{"bgnbd", "calibration period", "true", "4"}, {"gamma_gamma", "all data", "true", "3"}, {"pareto_nbd", "calibration period", "true", "4"}},
		warehousetest.Rows(t, db, `SELECT model, fitted_on, bool_and(converged), count(*) FROM mart_clv_model
			WHERE fitted_on <> 'all data' OR role = 'spend' GROUP BY ALL ORDER BY 1`))
	require.Equal(t, int64(2), warehousetest.Int(t, db, "SELECT count(DISTINCT holdout_log_likelihood) FROM mart_clv_model WHERE fitted_on = 'calibration period'"))
	require.Equal(t, int64(1), warehousetest.Int(t, db, "SELECT count(DISTINCT model) FROM mart_clv_model WHERE selected"))
	if bg, ok := model.Purchases.(clv.BGNBD); ok {
		require.InEpsilon(t, 0.9, bg.R, 0.15)
		require.InEpsilon(t, 60, bg.Alpha, 0.15)
	}
	gg := model.Spend.(clv.GammaGamma)
	require.InEpsilon(t, 6, gg.P, 0.2)
	m := model.Purchases

	// Each customer's scores are the library's on the customer's own
	// history, summarised here from the simulation rather than by the step.
	var lastDay time.Time
	require.NoError(t, db.QueryRow("SELECT max(order_date) FROM fct_orders").Scan(&lastDay))
	checked := 0
	for i, c := range cs {
		if i%997 != 0 || c.T == 0 {
			continue
		}
		id := "C" + strconv.Itoa(i)
		var x, tx, T, palive, e90, clv12 float64
		var monetary sql.NullFloat64
		err := db.QueryRow(`SELECT frequency, recency, tenure, monetary, p_alive, expected_purchases_90d, clv_12m FROM clv_scores WHERE customer_id = ?`, id).
			Scan(&x, &tx, &T, &monetary, &palive, &e90, &clv12)
		require.NoError(t, err, id)
		require.Equal(t, c.X, x, id)
		require.Equal(t, c.Tx, tx, id)
		// The step measures T to the last day with any order in the log.
		require.Equal(t, c.T-float64(int(calEnd.Sub(lastDay).Hours()/24)), T, id)
		require.InDelta(t, m.ProbAlive(x, tx, T), palive, 1e-10, id)
		require.InDelta(t, m.ConditionalExpected(90, x, tx, T), e90, 1e-9, id)
		if x > 0 {
			require.InDelta(t, c.Monetary, monetary.Float64, 0.01, "%s: the mean repeat value, from amounts in cents", id)
		}
		want := clv.Model{Purchases: m, Spend: gg}.CLV(clv.Summary{X: x, Tx: tx, T: T, Monetary: monetary.Float64}, clv.CLVOptions{Months: 12, MonthlyDiscount: 0.01, Margin: 0.5})
		require.InEpsilon(t, want, clv12, 1e-6, id)
		checked++
	}
	require.Greater(t, checked, 10)

	// Validation: a holdout of 90 days, predicted close to the actual.
	var act, pred float64
	require.NoError(t, db.QueryRow("SELECT sum(actual_total), sum(predicted_total) FROM mart_clv_validation").Scan(&act, &pred))
	require.Positive(t, act)
	require.InEpsilon(t, act, pred, 0.1)
	require.Positive(t, warehousetest.Int(t, db, "SELECT count(*) FROM mart_clv_tracking WHERE holdout"))
}

func TestCLVStepKeepsTheLastGoodFitWhenAFitFails(t *testing.T) {
	dir := t.TempDir()
	calEnd := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	writeLog(t, filepath.Join(dir, "log.csv"), simulated(5000, 5), calEnd)
	db := warehousetest.Open(t, filepath.Join(dir, "w.duckdb"), false)
	ordersFromLog(t, db, filepath.Join(dir, "log.csv"))
	require.NoError(t, runStep(t, db, "good"))
	good := warehousetest.Rows(t, db, "SELECT model, parameter, value FROM mart_clv_model WHERE in_use ORDER BY 1, 2")

	// Only one-time buyers: no repeat purchases to fit either model on.
	warehousetest.Exec(t, db, `CREATE OR REPLACE TABLE fct_orders AS SELECT * FROM fct_orders QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY order_date) = 1`)
	purchases(t, db)
	require.NoError(t, runStep(t, db, "bad"))
	require.Equal(t, good, warehousetest.Rows(t, db, "SELECT model, parameter, value FROM mart_clv_model WHERE in_use ORDER BY 1, 2"),
		"the previous parameters stay in use")
	require.Equal(t, [][]string{{"good", "an earlier build", "earlier fit in use"}},
		warehousetest.Rows(t, db, "SELECT DISTINCT in_use_from_run, fitted_on, status FROM mart_clv_model WHERE in_use"))
	require.Equal(t, [][]string{{"bgnbd", "false"}, {"pareto_nbd", "false"}},
		warehousetest.Rows(t, db, "SELECT model, converged FROM meta.clv_fits WHERE run_id = 'bad' ORDER BY 1"))
	require.Equal(t, "earlier fit in use", warehousetest.Scalar(t, db, "SELECT status FROM mart_clv_status"))
	require.Equal(t, int64(5000), warehousetest.Int(t, db, "SELECT count(*) FROM clv_scores WHERE clv_12m IS NOT NULL"))

	// With no earlier fit to fall back on, the step still succeeds: the
	// CLV tables say "unavailable" and why, and clv_scores has every
	// buyer with NULL predictions, so the marts downstream build.
	fresh := warehousetest.Open(t, filepath.Join(dir, "fresh.duckdb"), false)
	ordersFromLog(t, fresh, filepath.Join(dir, "log.csv"))
	warehousetest.Exec(t, fresh, `CREATE OR REPLACE TABLE fct_orders AS SELECT * FROM fct_orders QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY order_date) = 1`)
	purchases(t, fresh)
	require.NoError(t, runStep(t, fresh, "first"))
	checkUnavailable(t, fresh, "no purchase model could be fitted: fitting BG/NBD: not enough data to fit: no customer made a repeat purchase")
	require.Contains(t, warehousetest.Scalar(t, fresh, "SELECT reason FROM mart_clv_status"), "and no earlier converged fit to fall back on")
}

// checkUnavailable checks the tables of a build without CLV.
func checkUnavailable(t *testing.T, db *sql.DB, reason string) {
	t.Helper()
	st := warehousetest.Rows(t, db, "SELECT status, purchase_model, spend_model, reason FROM mart_clv_status")
	require.Len(t, st, 1)
	require.Equal(t, []string{"unavailable", "NULL", "NULL"}, st[0][:3])
	require.Contains(t, st[0][3], reason)
	require.Equal(t, [][]string{{"purchases", "unavailable"}, {"spend", "unavailable"}},
		warehousetest.Rows(t, db, "SELECT role, status FROM mart_clv_model ORDER BY 1"))
	require.Equal(t, warehousetest.Int(t, db, "SELECT count(*) FROM customer_purchases"), warehousetest.Int(t, db, "SELECT count(*) FROM clv_scores"))
	require.Equal(t, int64(0), warehousetest.Int(t, db, `SELECT count(*) FROM clv_scores WHERE coalesce(expected_purchases_90d, expected_purchases_365d,
		p_alive, p_alive_90d_ago, expected_order_value, clv_12m, clv_12m_90d_ago) IS NOT NULL`))
	require.Equal(t, int64(0), warehousetest.Int(t, db, `SELECT count(*) FROM clv_scores s JOIN customer_purchases p USING (customer_id)
		WHERE s.frequency <> p.frequency OR s.recency <> p.recency OR s.tenure <> p.tenure`), "the history columns are still there")
	for _, tb := range []string{"mart_clv_validation", "mart_clv_tracking", "mart_clv_monthly"} {
		require.Equal(t, int64(0), warehousetest.Int(t, db, "SELECT count(*) FROM "+tb), tb)
	}
}

// TestCLVStepTurnedOff: analytics.clv: off skips the fit and writes the
// unavailable tables with the reason.
func TestCLVStepTurnedOff(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, filepath.Join(dir, "log.csv"), simulated(500, 5), time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC))
	db := warehousetest.Open(t, "", false)
	ordersFromLog(t, db, filepath.Join(dir, "log.csv"))
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	off := settings
	off.CLVOff = true
	rows, err := analytics.CLVStep(off, "off").Run(context.Background(), conn)
	require.NoError(t, err)
	require.Equal(t, int64(500), rows)
	checkUnavailable(t, db, "turned off in crmwh.yaml (analytics.clv: off)")
	require.Equal(t, "已在 crmwh.yaml 中关闭（analytics.clv: off）", warehousetest.Scalar(t, db, "SELECT reason_zh FROM mart_clv_status"))
	require.Equal(t, int64(0), warehousetest.Int(t, db, "SELECT count(*) FROM meta.clv_fits"), "nothing was fitted")
}

// TestCLVStepOnLogsThatHaveNoModel: a uniformly random 200-row log, and a
// young business whose customers show no drop-out yet, both build. The
// second gets NBD, the limiting model, with P(alive) = 1.
func TestCLVStepOnLogsThatHaveNoModel(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db, `CREATE SCHEMA meta`, `SELECT setseed(0.5)`,
		`CREATE TABLE fct_orders AS SELECT 'o' || i AS order_id, 'C' || CAST(floor(random() * 60) AS INTEGER) AS customer_id,
			DATE '2025-01-01' + CAST(floor(random() * 365) AS INTEGER) AS order_date, 'paid' AS status,
			CAST(round(random() * 100, 2) AS DECIMAL(18,2)) AS net_amount, CAST(0 AS DECIMAL(18,2)) AS net_revenue
		FROM range(200) r(i)`)
	warehousetest.Exec(t, db, `UPDATE fct_orders SET net_revenue = net_amount`)
	purchases(t, db)
	require.NoError(t, runStep(t, db, "random"))
	st := warehousetest.Scalar(t, db, "SELECT status FROM mart_clv_status")
	require.Contains(t, []string{"ok", "unavailable"}, st)
	t.Logf("random log: %s", warehousetest.Scalar(t, db, "SELECT reason FROM mart_clv_status"))

	// Young business: customers joined in the last year and buy at their
	// own rates; nobody has left yet (Pareto/NBD with lifetimes of a
	// billion years).
	dir := t.TempDir()
	writeLog(t, filepath.Join(dir, "young.csv"), clvsim.Options{Customers: 2000, ParetoNBD: &clv.ParetoNBD{R: 2, Alpha: 30, S: 1, Beta: 1e12},
		GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150}, MaxT: 365, Seed: 9}, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
	young := warehousetest.Open(t, "", false)
	ordersFromLog(t, young, filepath.Join(dir, "young.csv"))
	purchases(t, young)
	require.NoError(t, runStep(t, young, "young"))
	st2 := warehousetest.Rows(t, young, "SELECT status, purchase_model, reason FROM mart_clv_status")
	require.Equal(t, []string{"ok", "nbd"}, st2[0][:2], "%v", st2)
	require.Contains(t, st2[0][2], "NBD (no drop-out)")
	require.Equal(t, warehousetest.Int(t, young, "SELECT count(*) FROM customer_purchases"),
		warehousetest.Int(t, young, "SELECT count(*) FROM clv_scores WHERE p_alive = 1 AND clv_12m > 0"))
	require.Equal(t, [][]string{{"bgnbd", "not converged"}, {"nbd", "ok"}, {"pareto_nbd", "not converged"}},
		warehousetest.Rows(t, young, "SELECT DISTINCT model, status FROM mart_clv_model WHERE role = 'purchases' AND fitted_on <> 'all data' ORDER BY 1"))
}

// TestCLVStepRefitsOnlyWhenItIsTime walks the refit policy of
// docs/analytics.md through six builds of one warehouse: the first fit; a
// build with no new data and one with six days of it keep the fit (the
// parameters stay, the drift is the one computed here from the fit's
// parameters); fourteen days refit on the schedule; a day on which every
// customer buys refits on the drift; late orders before the fit's day
// refit. Each build says which and why in English and Chinese, in
// mart_clv_status and mart_clv_model alike.
func TestCLVStepRefitsOnlyWhenItIsTime(t *testing.T) {
	dir := t.TempDir()
	end := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	writeLog(t, filepath.Join(dir, "log.csv"), simulated(6000, 7), end)
	db := warehousetest.Open(t, filepath.Join(dir, "w.duckdb"), false)
	ordersFromLog(t, db, filepath.Join(dir, "log.csv"))
	warehousetest.Exec(t, db, `CREATE TABLE all_orders AS SELECT * FROM fct_orders`)
	day := func(d time.Time) string { return "DATE '" + d.Format(time.DateOnly) + "'" }
	upTo := func(d time.Time) {
		warehousetest.Exec(t, db, `CREATE OR REPLACE TABLE fct_orders AS SELECT * FROM all_orders WHERE order_date <= `+day(d))
		purchases(t, db)
	}
	build := func(run string) [2]string {
		t.Helper()
		require.NoError(t, runStep(t, db, run))
		st := warehousetest.Rows(t, db, "SELECT refit, refit_zh FROM mart_clv_status")
		require.Len(t, st, 1)
		require.Equal(t, [][]string{st[0]}, warehousetest.Rows(t, db, "SELECT DISTINCT refit, refit_zh FROM mart_clv_model"), run)
		return [2]string{st[0][0], st[0][1]}
	}
	params := func() [][]string {
		return warehousetest.Rows(t, db, "SELECT model, parameter, value FROM mart_clv_model WHERE in_use ORDER BY 1, 2")
	}
	refits := func() int64 { return warehousetest.Int(t, db, "SELECT count(*) FROM meta.clv_refits") }

	fitDay := end.AddDate(0, 0, -14)
	upTo(fitDay)
	require.Equal(t, [2]string{"refitted: the first fit", "已重新拟合：首次拟合"}, build("r1"))
	require.Equal(t, fitDay.Format(time.DateOnly), warehousetest.Scalar(t, db, "SELECT CAST(as_of AS VARCHAR) FROM mart_clv_status"))
	first := params()
	fitted := inUse(t, db)

	require.Equal(t, [2]string{"kept the fit of run r1 (data as of 2026-06-16): no new data since", "沿用运行 r1 的拟合（数据截至 2026-06-16）：此后没有新数据"}, build("r2"))
	require.Equal(t, first, params())
	require.Equal(t, int64(1), refits())

	// Six days on: the drift is the repeat purchase days since the fit
	// of the customers it saw against the sum of their conditional
	// expectations under its parameters.
	upTo(fitDay.AddDate(0, 0, 6))
	var actual, expected float64
	for _, r := range warehousetest.Rows(t, db, `SELECT
			count(*) FILTER (WHERE d <= `+day(fitDay)+`) - 1,
			date_diff('day', min(d), max(d) FILTER (WHERE d <= `+day(fitDay)+`)),
			date_diff('day', min(d), `+day(fitDay)+`),
			count(*) FILTER (WHERE d > `+day(fitDay)+`)
		FROM (SELECT DISTINCT customer_id, order_date AS d FROM fct_orders)
		GROUP BY customer_id HAVING min(d) <= `+day(fitDay)) {
		v := make([]float64, 4)
		for i := range v {
			var err error
			v[i], err = strconv.ParseFloat(r[i], 64)
			require.NoError(t, err)
		}
		expected += fitted.Purchases.ConditionalExpected(6, v[0], v[1], v[2])
		actual += v[3]
	}
	drift := fmt.Sprintf("%+.1f%%", 100*(actual/expected-1))
	t.Logf("six days after the fit: %.0f repeat purchase days against %.1f expected (%s)", actual, expected, drift)
	require.Equal(t, [2]string{
		"kept the fit of run r1 (data as of 2026-06-16): 6 days of new data, repeat purchases " + drift + " against its expectation (refit after 7 days or beyond 10%)",
		"沿用运行 r1 的拟合（数据截至 2026-06-16）：新增 6 天数据，复购次数与其预期相差 " + drift + "（满 7 天或相差超过 10% 时重新拟合）"}, build("r3"))
	require.Equal(t, first, params())
	require.Equal(t, int64(1), refits())

	upTo(end)
	require.Equal(t, [2]string{"refitted: 14 days of new data since the fit of 2026-06-16 (analytics.clv_refit_days: 7)",
		"已重新拟合：自 2026-06-16 的拟合以来已有 14 天新数据（analytics.clv_refit_days：7）"}, build("r4"))
	require.NotEqual(t, first, params())
	require.Equal(t, int64(2), refits())

	// A day on which every customer buys: far more repeat purchases than
	// any fit expects in a day.
	warehousetest.Exec(t, db, `INSERT INTO fct_orders SELECT 'surge-' || customer_id, customer_id, DATE '2026-07-01', DATE '2026-07-01', 'paid', 10, 10
		FROM (SELECT DISTINCT customer_id FROM fct_orders)`)
	purchases(t, db)
	r5 := build("r5")
	require.Regexp(t, `^refitted: since the fit of 2026-06-30 customers made \+[0-9.]+% repeat purchases against the model's expectation, beyond 10% \(analytics.clv_refit_drift\)$`, r5[0])
	require.Regexp(t, `^已重新拟合：自 2026-06-30 的拟合以来，客户复购次数与模型预期相差 \+[0-9.]+%，超过 10%（analytics.clv_refit_drift）$`, r5[1])
	require.Equal(t, int64(3), refits())

	// Late orders: one in 20 customers bought on a day before the fit's
	// day that they had not bought on.
	before := warehousetest.Int(t, db, `SELECT count(*) FROM (SELECT DISTINCT customer_id, order_date FROM fct_orders)`)
	warehousetest.Exec(t, db, `INSERT INTO fct_orders SELECT 'late-' || customer_id, customer_id, DATE '2026-06-20', DATE '2026-06-01', 'paid', 10, 10
		FROM (SELECT DISTINCT customer_id FROM fct_orders WHERE hash(customer_id) % 20 = 0
		      EXCEPT SELECT customer_id FROM fct_orders WHERE order_date = DATE '2026-06-20')`)
	purchases(t, db)
	after := warehousetest.Int(t, db, `SELECT count(*) FROM (SELECT DISTINCT customer_id, order_date FROM fct_orders)`)
	require.Greater(t, after-before, before/100, "more than a tenth of the drift threshold")
	require.Equal(t, [2]string{
		fmt.Sprintf("refitted: the purchase days up to the fit's day 2026-07-01 are now %d, not %d", after, before),
		fmt.Sprintf("已重新拟合：截至上次拟合日 2026-07-01 的购买天数现为 %d，而非 %d（有补录或撤销的订单）", after, before)}, build("r6"))
	require.Equal(t, int64(4), refits())
}
