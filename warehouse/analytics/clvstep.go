package analytics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"crmwh/warehouse/build"
	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/translog"
	"crmwh/warehouse/duckdb"
)

// The tables the CLV step writes.
const (
	// ScoresTable: one row per customer who bought.
	ScoresTable = "clv_scores"
	// ModelTable: the parameters in use, with standard errors, intervals,
	// log-likelihood, convergence and holdout error.
	ModelTable = "mart_clv_model"
	// ValidationTable: predicted against actual holdout purchases by
	// calibration frequency.
	ValidationTable = "mart_clv_validation"
	// TrackingTable: weekly cumulative repeat purchases, actual against
	// expected, over calibration and holdout.
	TrackingTable = "mart_clv_tracking"
	// MonthlyTable: the mean 12-month CLV of the customers not churned at
	// each of the last twelve month ends, scored on their history up to
	// then with today's parameters.
	MonthlyTable = "mart_clv_monthly"
	// FitsTable is the history of every fit (meta.clv_fits), carried from
	// build to build, where the step finds the last good parameters when a
	// fit does not converge.
	FitsTable = "meta.clv_fits"
)

// transactions is the purchase log the models see: paid orders by day, in
// what the customer paid (after discounts, before refunds).
const transactions = `(SELECT customer_id, order_date AS purchase_date, net_amount AS amount FROM fct_orders WHERE status = 'paid')`

// CLVStep fits BG/NBD and Gamma-Gamma on the warehouse's orders and scores
// every customer (docs/analytics.md). When a fit does not converge, the
// last converged parameters from meta.clv_fits are used and the model
// table says so; with none, the build fails with the fit's diagnostics.
func CLVStep(s Settings, runID string) build.Step {
	return build.Step{
		Name:   "clv",
		Reads:  []string{"fct_orders", "customer_purchases", SettingsTable},
		Writes: []string{ScoresTable, ModelTable, ValidationTable, TrackingTable, MonthlyTable},
		Run: func(ctx context.Context, conn *sql.Conn) (int64, error) {
			return runCLV(ctx, conn, s, runID)
		},
		Fingerprint: s.Fingerprint(),
	}
}

type fitRecord struct {
	BGNBD      clv.BGNBD      `json:"bgnbd"`
	GammaGamma clv.GammaGamma `json:"gamma_gamma"`
}

func runCLV(ctx context.Context, conn *sql.Conn, s Settings, runID string) (int64, error) {
	unit, err := clv.ParseUnit(s.TimeUnit)
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS meta.clv_fits (
		run_id VARCHAR, fitted_at TIMESTAMPTZ, model VARCHAR, converged BOOLEAN, status VARCHAR, message VARCHAR,
		iterations INTEGER, log_likelihood DOUBLE, customers DOUBLE, params VARCHAR)`); err != nil {
		return 0, err
	}
	// Every summary below comes from one read of the orders.
	hist, err := translog.ReadHistory(ctx, conn, transactions)
	if err != nil {
		return 0, err
	}
	asOf := hist.LastDate
	now := time.Now().UTC()

	// The fit on everything up to the last day with orders.
	full, err := hist.Summarize(translog.Options{CalibrationEnd: asOf, HoldoutEnd: asOf})
	if err != nil {
		return 0, err
	}
	cal, _ := full.Scaled(unit)
	bg, bgErr := clv.FitBGNBD(clv.ScaleGroups(clv.GroupSummaries(full.Calibration), float64(unit)), clv.FitOptions{})
	gg, ggErr := clv.FitGammaGamma(cal, clv.FitOptions{})
	if err := recordFit(ctx, conn, runID, now, "bgnbd", bg, bgErr); err != nil {
		return 0, err
	}
	if err := recordFit(ctx, conn, runID, now, "gamma_gamma", gg, ggErr); err != nil {
		return 0, err
	}
	model := clv.Model{Unit: unit}
	inUse := map[string]string{"bgnbd": runID, "gamma_gamma": runID}
	fallback := map[string]*fitRecord{}
	if bgErr == nil {
		model.BGNBD = bg.Params
	}
	if ggErr == nil {
		model.GammaGamma = gg.Params
	}
	for name, ferr := range map[string]error{"bgnbd": bgErr, "gamma_gamma": ggErr} {
		if ferr == nil {
			continue
		}
		prev, prevRun, err := lastGoodFit(ctx, conn, name)
		if err != nil {
			return 0, err
		}
		if prev == nil {
			return 0, fmt.Errorf("fitting %s: %w (and no earlier converged fit to fall back on)", name, ferr)
		}
		inUse[name] = prevRun
		fallback[name] = prev
		if name == "bgnbd" {
			model.BGNBD = prev.BGNBD
		} else {
			model.GammaGamma = prev.GammaGamma
		}
	}

	co := clv.CLVOptions{Months: s.HorizonMonths, MonthlyDiscount: s.MonthlyDiscountRate, Margin: s.Margin}
	scores, err := model.Score(cal, clv.ScoreOptions{Horizons: []float64{unit.FromDays(90), unit.FromDays(365)}, CLV: co})
	if err != nil {
		return 0, err
	}

	// The same model on each customer's history as it was 90 days earlier.
	past := map[string][2]float64{} // customer → P(alive), CLV
	if pl, err := hist.Summarize(translog.Options{CalibrationEnd: asOf.AddDate(0, 0, -90), HoldoutEnd: asOf}); err == nil {
		pcal, _ := pl.Scaled(unit)
		ps, err := model.Score(pcal, clv.ScoreOptions{CLV: co})
		if err != nil {
			return 0, err
		}
		for i, c := range pl.Customers {
			past[c] = [2]float64{ps.PAlive[i], ps.CLV[i]}
		}
	} else if !errors.Is(err, translog.ErrLog) {
		return 0, err
	}

	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE clv_scores (
		customer_id VARCHAR, frequency DOUBLE, recency DOUBLE, tenure DOUBLE, monetary DOUBLE,
		expected_purchases_90d DOUBLE, expected_purchases_365d DOUBLE, p_alive DOUBLE, p_alive_90d_ago DOUBLE,
		expected_order_value DOUBLE, clv_12m DOUBLE, clv_12m_90d_ago DOUBLE)`); err != nil {
		return 0, err
	}
	i := 0
	rows, err := duckdb.Append(ctx, conn, "main", ScoresTable, func() []driver.Value {
		if i >= len(full.Customers) {
			return nil
		}
		c, sm := full.Customers[i], cal[i]
		var monetary, pa90, clv90 any
		if sm.X > 0 {
			monetary = sm.Monetary
		}
		if p, ok := past[c]; ok {
			pa90, clv90 = p[0], p[1]
		}
		row := []driver.Value{c, sm.X, sm.Tx, sm.T, monetary, scores.Expected[0][i], scores.Expected[1][i], scores.PAlive[i], pa90,
			scores.ExpectedSpend[i], finite(scores.CLV[i]), clv90}
		i++
		return row
	})
	if err != nil {
		return 0, err
	}

	// Validation: the same fit on a calibration period that ends
	// holdout_days before the data, checked on those days.
	var val *clv.Validation
	calEnd := asOf.AddDate(0, 0, -s.HoldoutDays)
	vl, err := hist.Summarize(translog.Options{CalibrationEnd: calEnd, HoldoutEnd: asOf})
	if err == nil {
		vcal, track := vl.Scaled(unit)
		vfit, ferr := clv.FitBGNBD(clv.ScaleGroups(clv.GroupSummaries(vl.Calibration), float64(unit)), clv.FitOptions{})
		if ferr == nil {
			val, err = clv.Validate(vfit.Params, vcal, vl.Holdout, unit.FromDays(vl.HoldoutDays()), track)
			if err != nil {
				return 0, fmt.Errorf("validating the fit: %w", err)
			}
		}
	} else if !errors.Is(err, translog.ErrLog) {
		return 0, err
	}
	if err := writeMonthly(ctx, conn, hist, model, co, s, unit, asOf); err != nil {
		return 0, err
	}
	if err := writeModelTables(ctx, conn, bg, gg, bgErr, ggErr, inUse, fallback, runID, now, asOf, calEnd, val, unit); err != nil {
		return 0, err
	}
	return rows, nil
}

func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// recordFit appends a fit to meta.clv_fits.
func recordFit(ctx context.Context, conn *sql.Conn, runID string, at time.Time, name string, fit any, ferr error) error {
	var d clv.Diagnostics
	var ll, n float64
	var params any
	switch f := fit.(type) {
	case *clv.BGNBDFit:
		if f == nil {
			break
		}
		d, ll, n = f.Diagnostics, f.LogLikelihood, f.Customers
		b, _ := json.Marshal(fitRecord{BGNBD: f.Params})
		params = string(b)
	case *clv.GammaGammaFit:
		if f == nil {
			break
		}
		d, ll, n = f.Diagnostics, f.LogLikelihood, float64(f.Customers)
		b, _ := json.Marshal(fitRecord{GammaGamma: f.Params})
		params = string(b)
	}
	msg := d.Message
	if ferr != nil {
		msg = ferr.Error()
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO meta.clv_fits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, at, name, ferr == nil && d.Converged, nullable(d.Status), msg, d.Iterations, finite(ll), n, params)
	return err
}

// lastGoodFit returns the latest converged fit of a model from meta.clv_fits.
func lastGoodFit(ctx context.Context, conn *sql.Conn, name string) (*fitRecord, string, error) {
	var js, run string
	err := conn.QueryRowContext(ctx, `SELECT params, run_id FROM meta.clv_fits WHERE model = ? AND converged ORDER BY fitted_at DESC LIMIT 1`, name).Scan(&js, &run)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var f fitRecord
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		return nil, "", fmt.Errorf("reading an earlier fit: %w", err)
	}
	return &f, run, nil
}

func writeModelTables(ctx context.Context, conn *sql.Conn, bg *clv.BGNBDFit, gg *clv.GammaGammaFit, bgErr, ggErr error,
	inUse map[string]string, fallback map[string]*fitRecord, runID string, at, asOf, calEnd time.Time, val *clv.Validation, unit clv.Unit) error {
	stmts := []string{
		`CREATE OR REPLACE TABLE mart_clv_model (model VARCHAR, parameter VARCHAR, value DOUBLE, std_error DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
			log_likelihood DOUBLE, converged BOOLEAN, status VARCHAR, iterations INTEGER, customers DOUBLE, correlation DOUBLE,
			holdout_mae DOUBLE, holdout_actual DOUBLE, holdout_predicted DOUBLE, time_unit VARCHAR, as_of DATE, calibration_end DATE,
			fitted_at TIMESTAMPTZ, in_use BOOLEAN, in_use_from_run VARCHAR)`,
		`CREATE OR REPLACE TABLE mart_clv_validation (frequency_bucket VARCHAR, customers BIGINT, actual_holdout DOUBLE, predicted_holdout DOUBLE,
			actual_total DOUBLE, predicted_total DOUBLE)`,
		`CREATE OR REPLACE TABLE mart_clv_tracking (week INTEGER, time_in_unit DOUBLE, actual_cumulative DOUBLE, expected_cumulative DOUBLE, holdout BOOLEAN)`,
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	var mae, act, pred any
	if val != nil {
		mae, act, pred = val.MAE, val.Actual, val.Predicted
	}
	insert := func(model, param string, e clv.Estimate, d clv.Diagnostics, ll, n, corr float64, ferr error) error {
		_, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_model VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			model, param, finite(e.Value), finite(e.SE), finite(e.Lower), finite(e.Upper), finite(ll), ferr == nil && d.Converged, d.Status,
			d.Iterations, n, finite(corr), mae, act, pred, unit.String(), asOf, calEnd, at, inUse[model] == runID || d.Status == "earlier fit in use", inUse[model])
		return err
	}
	// The parameters in use after a failed fit: the last converged ones.
	nan := clv.Estimate{SE: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}
	est := func(v float64) clv.Estimate { e := nan; e.Value = v; return e }
	prevStatus := clv.Diagnostics{Converged: true, Status: "earlier fit in use"}
	if f := fallback["bgnbd"]; f != nil {
		for _, p := range []struct {
			n string
			v float64
		}{{"r", f.BGNBD.R}, {"alpha", f.BGNBD.Alpha}, {"a", f.BGNBD.A}, {"b", f.BGNBD.B}} {
			if err := insert("bgnbd", p.n, est(p.v), prevStatus, math.NaN(), math.NaN(), math.NaN(), nil); err != nil {
				return err
			}
		}
	}
	if f := fallback["gamma_gamma"]; f != nil {
		for _, p := range []struct {
			n string
			v float64
		}{{"p", f.GammaGamma.P}, {"q", f.GammaGamma.Q}, {"gamma", f.GammaGamma.Gamma}} {
			if err := insert("gamma_gamma", p.n, est(p.v), prevStatus, math.NaN(), math.NaN(), math.NaN(), nil); err != nil {
				return err
			}
		}
	}
	if bg != nil {
		for _, p := range []struct {
			n string
			e clv.Estimate
		}{{"r", bg.R}, {"alpha", bg.Alpha}, {"a", bg.A}, {"b", bg.B}} {
			if err := insert("bgnbd", p.n, p.e, bg.Diagnostics, bg.LogLikelihood, bg.Customers, math.NaN(), bgErr); err != nil {
				return err
			}
		}
	}
	if gg != nil {
		for _, p := range []struct {
			n string
			e clv.Estimate
		}{{"p", gg.P}, {"q", gg.Q}, {"gamma", gg.Gamma}} {
			if err := insert("gamma_gamma", p.n, p.e, gg.Diagnostics, gg.LogLikelihood, float64(gg.Customers), gg.Correlation, ggErr); err != nil {
				return err
			}
		}
	}
	if val == nil {
		return nil
	}
	for _, b := range val.ByFrequency {
		if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_validation VALUES (?, ?, ?, ?, ?, ?)`,
			b.Label, b.Customers, b.Actual, b.Predicted, b.Actual*float64(b.Customers), b.Predicted*float64(b.Customers)); err != nil {
			return err
		}
	}
	week := unit.FromDays(7)
	for _, t := range val.Tracking {
		if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_tracking VALUES (?, ?, ?, ?, ?)`,
			int(math.Round(t.Time/week)), t.Time, t.Actual, t.Expected, t.Time > 0); err != nil {
			return err
		}
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// writeMonthly scores every customer as of each of the last twelve month
// ends (the last one being the data's last day when the month is not
// over) and records the mean CLV of those not churned then.
func writeMonthly(ctx context.Context, conn *sql.Conn, hist *translog.History, model clv.Model, co clv.CLVOptions, s Settings, unit clv.Unit, asOf time.Time) error {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE mart_clv_monthly (month DATE, as_of DATE, customers BIGINT, avg_clv_12m DOUBLE, total_clv_12m DOUBLE)`); err != nil {
		return err
	}
	monthStart := time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	for k := 11; k >= 0; k-- {
		m := monthStart.AddDate(0, -k, 0)
		end := m.AddDate(0, 1, -1)
		if end.After(asOf) {
			end = asOf
		}
		l, err := hist.Summarize(translog.Options{CalibrationEnd: end, HoldoutEnd: asOf})
		if errors.Is(err, translog.ErrLog) {
			continue // no customers yet
		}
		if err != nil {
			return err
		}
		cal, _ := l.Scaled(unit)
		sc, err := model.Score(cal, clv.ScoreOptions{CLV: co})
		if err != nil {
			return err
		}
		var n int64
		var sum float64
		for i, c := range l.Calibration {
			churned := c.T-c.Tx >= float64(s.InactivityDays)
			if s.ChurnDefinition == "p_alive" {
				churned = sc.PAlive[i] < s.PAliveThreshold
			}
			if churned || math.IsNaN(sc.CLV[i]) {
				continue
			}
			n++
			sum += sc.CLV[i]
		}
		var avg any
		if n > 0 {
			avg = sum / float64(n)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_monthly VALUES (?, ?, ?, ?, ?)`, m, end, n, avg, sum); err != nil {
			return err
		}
	}
	return nil
}
