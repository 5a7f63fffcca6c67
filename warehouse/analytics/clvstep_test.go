package analytics_test

import (
	"context"
	"database/sql"
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

// ordersFromLog makes fct_orders from a customer_id,date,amount CSV: one
// paid order per row.
func ordersFromLog(t *testing.T, db *sql.DB, path string) {
	t.Helper()
	warehousetest.Exec(t, db,
		`CREATE SCHEMA IF NOT EXISTS meta`,
		`CREATE OR REPLACE TABLE fct_orders AS SELECT
			'o' || row_number() OVER () AS order_id, customer_id, CAST(date AS DATE) AS order_date, 'paid' AS status,
			CAST(amount AS DECIMAL(18,2)) AS net_amount, CAST(amount AS DECIMAL(18,2)) AS net_revenue
		FROM read_csv('`+path+`', header = true, columns = {'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DOUBLE'})`)
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
	f, err := os.Create(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	truth := clvsim.Options{Customers: 20000, BGNBD: clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2},
		GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150}, MaxT: 540, Seed: 3}
	cs, err := clvsim.WriteLog(f, truth, calEnd)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	db := warehousetest.Open(t, filepath.Join(dir, "w.duckdb"), false)
	ordersFromLog(t, db, filepath.Join(dir, "log.csv"))
	require.NoError(t, runStep(t, db, "run1"))

	// The parameters in the model table are the fit's, and near the truth.
	params := map[string]float64{}
	rows := warehousetest.Rows(t, db, "SELECT parameter, value FROM mart_clv_model WHERE in_use ORDER BY 1")
	require.Len(t, rows, 7)
	for _, r := range rows {
		v, err := strconv.ParseFloat(r[1], 64)
		require.NoError(t, err)
		params[r[0]] = v
	}
	require.InEpsilon(t, 0.9, params["r"], 0.15)
	require.InEpsilon(t, 60, params["alpha"], 0.15)
	require.InEpsilon(t, 6, params["p"], 0.2)
	m := clv.BGNBD{R: params["r"], Alpha: params["alpha"], A: params["a"], B: params["b"]}
	gg := clv.GammaGamma{P: params["p"], Q: params["q"], Gamma: params["gamma"]}

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
		require.InDelta(t, m.ProbAlive(x, tx, T), palive, 1e-12, id)
		require.InDelta(t, m.ConditionalExpected(90, x, tx, T), e90, 1e-9, id)
		if x > 0 {
			require.InDelta(t, c.Monetary, monetary.Float64, 0.01, "%s: the mean repeat value, from amounts in cents", id)
		}
		want := clv.Model{BGNBD: m, GammaGamma: gg}.CLV(clv.Summary{X: x, Tx: tx, T: T, Monetary: monetary.Float64}, clv.CLVOptions{Months: 12, MonthlyDiscount: 0.01, Margin: 0.5})
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
	f, err := os.Create(filepath.Join(dir, "log.csv"))
	require.NoError(t, err)
	_, err = clvsim.WriteLog(f, clvsim.Options{Customers: 5000, BGNBD: clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2},
		GammaGamma: clv.GammaGamma{P: 6, Q: 4, Gamma: 150}, MaxT: 540, Seed: 5}, calEnd)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	db := warehousetest.Open(t, filepath.Join(dir, "w.duckdb"), false)
	ordersFromLog(t, db, filepath.Join(dir, "log.csv"))
	require.NoError(t, runStep(t, db, "good"))
	good := warehousetest.Rows(t, db, "SELECT model, parameter, value FROM mart_clv_model ORDER BY 1, 2")

	// Only one-time buyers: no repeat purchases to fit either model on.
	warehousetest.Exec(t, db, `CREATE OR REPLACE TABLE fct_orders AS SELECT * FROM fct_orders QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY order_date) = 1`)
	require.NoError(t, runStep(t, db, "bad"))
	require.Equal(t, good, warehousetest.Rows(t, db, "SELECT model, parameter, value FROM mart_clv_model WHERE in_use ORDER BY 1, 2"),
		"the previous parameters stay in use")
	require.Equal(t, [][]string{{"bgnbd", "good"}, {"gamma_gamma", "good"}},
		warehousetest.Rows(t, db, "SELECT DISTINCT model, in_use_from_run FROM mart_clv_model WHERE in_use ORDER BY 1"))
	require.Equal(t, [][]string{{"bgnbd", "false"}, {"gamma_gamma", "false"}},
		warehousetest.Rows(t, db, "SELECT model, converged FROM meta.clv_fits WHERE run_id = 'bad' ORDER BY 1"))
	require.Positive(t, warehousetest.Int(t, db, "SELECT count(*) FROM clv_scores"))

	// With no earlier fit to fall back on, the step fails and says why.
	fresh := warehousetest.Open(t, filepath.Join(dir, "fresh.duckdb"), false)
	ordersFromLog(t, fresh, filepath.Join(dir, "log.csv"))
	warehousetest.Exec(t, fresh, `CREATE OR REPLACE TABLE fct_orders AS SELECT * FROM fct_orders QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY order_date) = 1`)
	err = runStep(t, fresh, "first")
	require.ErrorContains(t, err, "no earlier converged fit to fall back on")
}
