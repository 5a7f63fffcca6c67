package analytics

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"crmwh/warehouse/build"
	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/translog"
)

// The tables the CLV step writes.
const (
	// ScoresTable: one row per customer who bought. When no model is
	// available its predictions are NULL (the history columns are still
	// there), so every model downstream builds.
	ScoresTable = "clv_scores"
	// ModelTable: every fit of the build (the purchase models compared on
	// the holdout, the ones in use, the spend model) with standard errors,
	// intervals, log-likelihood, convergence, holdout figures and, in
	// words, why each is used or not; or, when CLV is unavailable, that
	// and why.
	ModelTable = "mart_clv_model"
	// StatusTable: one row saying whether CLV is available, which models
	// are in use and why, in English and Chinese.
	StatusTable = "mart_clv_status"
	// ValidationTable: predicted against actual holdout purchases by
	// calibration frequency, for the purchase model chosen.
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

// The values of mart_clv_status.status.
const (
	StatusOK          = "ok"
	StatusEarlierFit  = "earlier fit in use"
	StatusUnavailable = "unavailable"
)

// ReasonOff is the reason given when crmwh.yaml turns the step off.
const ReasonOff = "turned off in crmwh.yaml (analytics.clv: off)"

// transactions is the purchase log the models see: paid orders by day, in
// what the customer paid (after discounts, before refunds).
const transactions = `(SELECT customer_id, order_date AS purchase_date, net_amount AS amount FROM fct_orders WHERE status = 'paid')`

// CLVStep fits the purchase models (BG/NBD and Pareto/NBD, compared on a
// holdout period; NBD when the data show no drop-out) and Gamma-Gamma on
// the warehouse's orders and scores every customer (docs/analytics.md).
// It never fails the build because of the models: when a fit does not
// converge, the last converged parameters from meta.clv_fits are used;
// with none, or with analytics.clv off, the CLV tables are written with
// NULL predictions and mart_clv_status says "unavailable" and why. Only a
// cancelled build, or a failure to write the tables at all, is an error.
func CLVStep(s Settings, runID string) build.Step {
	return build.Step{
		Name:   "clv",
		Reads:  []string{"fct_orders", "customer_purchases", SettingsTable},
		Writes: []string{ScoresTable, ModelTable, StatusTable, ValidationTable, TrackingTable, MonthlyTable},
		Run: func(ctx context.Context, conn *sql.Conn) (int64, error) {
			return runCLV(ctx, conn, s, runID)
		},
		Fingerprint: s.Fingerprint(),
	}
}

// fitRecord is the parameters of one fit in meta.clv_fits.params.
type fitRecord struct {
	BGNBD       *clv.BGNBD       `json:"bgnbd,omitempty"`
	ParetoNBD   *clv.ParetoNBD   `json:"pareto_nbd,omitempty"`
	NBD         *clv.NBD         `json:"nbd,omitempty"`
	GammaGamma  *clv.GammaGamma  `json:"gamma_gamma,omitempty"`
	PooledSpend *clv.PooledSpend `json:"pooled_spend,omitempty"`
}

func (f fitRecord) purchases() clv.Purchases {
	switch {
	case f.BGNBD != nil:
		return *f.BGNBD
	case f.ParetoNBD != nil:
		return *f.ParetoNBD
	case f.NBD != nil:
		return *f.NBD
	}
	return nil
}

func (f fitRecord) spend() clv.Spend {
	switch {
	case f.GammaGamma != nil:
		return *f.GammaGamma
	case f.PooledSpend != nil:
		return *f.PooledSpend
	}
	return nil
}

func recordOf(m any) fitRecord {
	switch v := m.(type) {
	case clv.BGNBD:
		return fitRecord{BGNBD: &v}
	case clv.ParetoNBD:
		return fitRecord{ParetoNBD: &v}
	case clv.NBD:
		return fitRecord{NBD: &v}
	case clv.GammaGamma:
		return fitRecord{GammaGamma: &v}
	case clv.PooledSpend:
		return fitRecord{PooledSpend: &v}
	}
	return fitRecord{}
}

// modelRow is one row of mart_clv_model before its parameters are spread.
type modelRow struct {
	model, role, fittedOn, status, reason string
	report                                clv.FitReport
	correlation                           float64
	cand                                  *clv.Candidate
	selected, inUse                       bool
	fromRun                               string
}

// outcome is what the fits gave: the model in use (parts may be nil), the
// rows of mart_clv_model, the status row and the holdout check.
type outcome struct {
	model      clv.Model
	rows       []modelRow
	status     string
	reason     string
	reasonZh   string
	validation *clv.Validation
	asOf       time.Time
	calEnd     time.Time
}

func runCLV(ctx context.Context, conn *sql.Conn, s Settings, runID string) (int64, error) {
	unit, err := clv.ParseUnit(s.TimeUnit)
	if err != nil {
		return 0, err
	}
	if err := createFitsTable(ctx, conn); err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	if s.CLVOff {
		return writeUnavailable(ctx, conn, unit, now, ReasonOff, "已在 crmwh.yaml 中关闭（analytics.clv: off）", time.Time{})
	}
	rows, asOf, err := fitAndScore(ctx, conn, s, runID, unit, now)
	if err == nil {
		return rows, nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	// Whatever went wrong, the rest of the warehouse is still worth
	// publishing: say why CLV is missing instead of failing the build.
	build.Logger(ctx).Warn("CLV unavailable", "run_id", runID, "error", err)
	zh := "客户终生价值模型不可用：" + err.Error()
	if errors.Is(err, translog.ErrLog) {
		zh = "没有可用于拟合模型的已付款订单（" + err.Error() + "）"
	}
	return writeUnavailable(ctx, conn, unit, now, err.Error(), zh, asOf)
}

func createFitsTable(ctx context.Context, conn *sql.Conn) error {
	for _, st := range []string{
		`CREATE TABLE IF NOT EXISTS meta.clv_fits (
		run_id VARCHAR, fitted_at TIMESTAMPTZ, model VARCHAR, converged BOOLEAN, status VARCHAR, message VARCHAR,
		iterations INTEGER, log_likelihood DOUBLE, customers DOUBLE, params VARCHAR)`,
		`ALTER TABLE meta.clv_fits ADD COLUMN IF NOT EXISTS fitted_on VARCHAR`,
	} {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// fitAndScore fits, scores and writes every CLV table; an error means CLV
// is unavailable (the tables are then rewritten by writeUnavailable). It
// returns the as-of day when it got that far.
func fitAndScore(ctx context.Context, conn *sql.Conn, s Settings, runID string, unit clv.Unit, now time.Time) (int64, time.Time, error) {
	var last sql.NullTime
	if err := conn.QueryRowContext(ctx, `SELECT max(purchase_date) FROM `+transactions).Scan(&last); err != nil {
		return 0, time.Time{}, err
	}
	if !last.Valid {
		return 0, time.Time{}, fmt.Errorf("no paid orders to fit on: %w: no transactions", translog.ErrLog)
	}
	asOf := last.Time.UTC()
	if err := createRefitTables(ctx, conn); err != nil {
		return 0, asOf, err
	}
	inUse, err := readFitInUse(ctx, conn, unit)
	if err != nil {
		return 0, asOf, err
	}
	refitNow, why, err := decideRefit(ctx, conn, s, inUse, asOf, unit)
	if err != nil {
		return 0, asOf, err
	}
	var model clv.Model
	if refitNow {
		// Every customer's summary, in memory for the fits and the holdout
		// check (the part of the step whose memory grows with customers).
		summarize := func(o translog.Options) (*translog.Log, error) { return translog.Summarize(ctx, conn, transactions, o) }
		full, err := summarize(translog.Options{CalibrationEnd: asOf, HoldoutEnd: asOf})
		if err != nil {
			return 0, asOf, err
		}
		out, err := fitModels(ctx, conn, summarize, full, s, runID, unit, now)
		if err != nil {
			return 0, asOf, err
		}
		if out.model.Purchases == nil {
			return 0, asOf, errors.New(out.reason)
		}
		if err := writeModelTables(ctx, conn, out, runID, now, unit); err != nil {
			return 0, asOf, err
		}
		if err := saveFit(ctx, conn, runID, asOf, s, out.model, why); err != nil {
			return 0, asOf, err
		}
		model = out.model
	} else {
		if err := restoreFit(ctx, conn, asOf); err != nil {
			return 0, asOf, err
		}
		model = inUse.model
	}
	if err := annotateRefit(ctx, conn, why); err != nil {
		return 0, asOf, err
	}
	co := clv.CLVOptions{Months: s.HorizonMonths, MonthlyDiscount: s.MonthlyDiscountRate, Margin: s.Margin}
	ends, err := monthEnds(ctx, conn, model, s, asOf)
	if err != nil {
		return 0, asOf, err
	}
	var current *monthEnd
	if n := len(ends); n > 0 && ends[n-1].end.Equal(asOf) {
		current = ends[n-1]
	}
	rows, err := scoreCustomers(ctx, conn, model, s, unit, co, asOf, current)
	if err != nil {
		return 0, asOf, err
	}
	if err := writeMonthlyCLV(ctx, conn, model, s, unit, co, ends, asOf); err != nil {
		return 0, asOf, err
	}
	return rows, asOf, nil
}

// scoreAll scores the customers with the parts of the model there are:
// without a spend model, spend and CLV are NaN (NULL in the tables).
func scoreAll(m clv.Model, cs []clv.Summary, unit clv.Unit, co clv.CLVOptions) *clv.Scores {
	o := clv.ScoreOptions{Horizons: []float64{unit.FromDays(90), unit.FromDays(365)}, CLV: co}
	spend := m.Spend
	if spend == nil {
		m.Spend = clv.PooledSpend{Value: 1} // a placeholder: its spend and CLV are dropped below
	}
	sc, err := m.Score(cs, o)
	if err != nil {
		// The model was checked when chosen; a failure here is a bug.
		panic(fmt.Sprintf("clv: scoring with a checked model: %v", err))
	}
	if spend == nil {
		for i := range sc.CLV {
			sc.CLV[i], sc.ExpectedSpend[i] = math.NaN(), math.NaN()
		}
	}
	return sc
}

// fitModels chooses and fits the models: the purchase models compared on
// a holdout split (or, when the data are too short for one, on all data
// by AIC), the chosen one refitted on all data, and Gamma-Gamma, each
// with its fallbacks.
func fitModels(ctx context.Context, conn *sql.Conn, summarize func(translog.Options) (*translog.Log, error), full *translog.Log, s Settings, runID string, unit clv.Unit, now time.Time) (*outcome, error) {
	out := &outcome{asOf: full.CalibrationEnd, model: clv.Model{Unit: unit}, status: StatusOK}
	cal, _ := full.Scaled(unit)
	groups := clv.ScaleGroups(clv.GroupSummaries(full.Calibration), float64(unit))
	record := func(name, fittedOn string, f clv.FitReport, params any, ferr error) error {
		return recordFit(ctx, conn, runID, now, name, fittedOn, f, params, ferr)
	}

	// The comparison of the purchase models.
	var cands []*clv.Candidate
	fittedOn := "all data"
	out.calEnd = full.CalibrationEnd.AddDate(0, 0, -s.HoldoutDays)
	split, err := summarize(translog.Options{CalibrationEnd: out.calEnd, HoldoutEnd: full.CalibrationEnd})
	switch {
	case err == nil:
		fittedOn = "calibration period"
		vcal, track := split.Scaled(unit)
		splitGroups := clv.ScaleGroups(clv.GroupSummaries(split.Calibration), float64(unit))
		cands = clv.FitCandidates(splitGroups, clv.FitOptions{})
		h := clv.Holdout{Calibration: vcal, Full: split.Full(unit), Counts: split.Holdout, Length: unit.FromDays(split.HoldoutDays()), Tracking: track,
			CalibrationGroups: splitGroups, FullGroups: clv.ScaleGroups(clv.GroupSummaries(split.Full(clv.Days)), float64(unit))}
		if err := clv.CheckCandidates(cands, h); err != nil {
			return nil, err
		}
	case errors.Is(err, translog.ErrLog):
		out.calEnd = time.Time{}
		cands = clv.FitCandidates(groups, clv.FitOptions{})
	default:
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	best, why := clv.Choose(cands)
	for i, c := range cands {
		row := modelRow{model: c.Model, role: "purchases", fittedOn: fittedOn, cand: c, selected: i == best}
		if c.Fit != nil {
			row.report = c.Fit.Report()
		} else {
			row.report = clv.FitReport{Model: c.Model}
		}
		switch {
		case i == best:
			row.reason = "chosen: " + why
		case c.Err != nil:
			row.reason = "not used: " + c.Err.Error()
		default:
			row.reason = "not chosen: " + why
		}
		row.status = "ok"
		if c.Err != nil {
			row.status = "not converged"
		}
		var params any
		if c.Fit != nil {
			params = c.Fit.Purchases()
		}
		if err := record(c.Model, fittedOn, row.report, params, c.Err); err != nil {
			return nil, err
		}
		row.inUse = i == best && fittedOn == "all data"
		if row.inUse {
			row.fromRun = runID
		}
		out.rows = append(out.rows, row)
	}

	// The purchase model in use.
	switch {
	case best >= 0 && fittedOn == "all data":
		c := cands[best]
		out.model.Purchases, out.validation = c.Fit.Purchases(), c.Validation
		out.reason = "purchases: " + why
	case best >= 0:
		c := cands[best]
		out.validation = c.Validation
		refit, rerr := refit(groups, c)
		row := modelRow{model: c.Model, role: "purchases", fittedOn: "all data", status: "ok", selected: true}
		var params any
		if refit != nil {
			row.report, params = refit.Report(), refit.Purchases()
		} else {
			row.report = clv.FitReport{Model: c.Model}
		}
		if err := record(c.Model, "all data", row.report, params, rerr); err != nil {
			return nil, err
		}
		if rerr == nil {
			out.model.Purchases = refit.Purchases()
			row.inUse, row.fromRun, row.reason = true, runID, "in use: "+why
			out.reason = "purchases: " + why
		} else {
			// The fit on the calibration period is a fit of the same
			// model on all but the last holdout_days: better than none.
			out.model.Purchases = c.Fit.Purchases()
			row.status, row.reason = "not converged", "the refit on all data failed, so the fit on the calibration period is in use: "+rerr.Error()
			out.rows[best].inUse, out.rows[best].fromRun = true, runID
			out.reason = fmt.Sprintf("purchases: %s, fitted on the data up to %s (the refit on all data failed: %v)", clv.ModelTitle(c.Model), out.calEnd.Format(time.DateOnly), rerr)
		}
		out.rows = append(out.rows, row)
	default:
		prev, prevRun, perr := lastGoodFit(ctx, conn, "purchases")
		if perr != nil {
			return nil, perr
		}
		if prev == nil {
			out.reason = why + " (and no earlier converged fit to fall back on)"
			return out, nil
		}
		out.model.Purchases = prev.purchases()
		out.status = StatusEarlierFit
		out.reason = fmt.Sprintf("purchases: %s of run %s (%s)", clv.ModelTitle(out.model.Purchases.Name()), prevRun, why)
		out.rows = append(out.rows, fallbackRow(out.model.Purchases.Name(), "purchases", out.model.Purchases, prevRun, why))
	}

	// The spend model.
	gg, ggErr := clv.FitGammaGamma(cal, clv.FitOptions{})
	if ggErr == nil && gg.Params.Q <= 1 {
		ggErr = fmt.Errorf("fitting Gamma-Gamma: %w (q = %.4g)", clv.ErrInfiniteSpend, gg.Params.Q)
	}
	if gg != nil {
		row := modelRow{model: "gamma_gamma", role: "spend", fittedOn: "all data", report: gg.Report(), correlation: gg.Correlation, status: "ok"}
		if err := record("gamma_gamma", "all data", row.report, gg.Params, ggErr); err != nil {
			return nil, err
		}
		if ggErr == nil {
			out.model.Spend = gg.Params
			row.inUse, row.fromRun, row.reason = true, runID, "in use"
		} else {
			row.status, row.reason = "not converged", "not used: "+ggErr.Error()
		}
		out.rows = append(out.rows, row)
	}
	if out.model.Spend == nil {
		why := "no repeat customer with a positive amount"
		if ggErr != nil {
			why = ggErr.Error()
		}
		// Gamma-Gamma's limit when it does not identify q, or has an
		// infinite mean: the pooled mean. Otherwise an earlier fit first.
		limit := errors.Is(ggErr, clv.ErrNoSpendSpread) || errors.Is(ggErr, clv.ErrInfiniteSpend)
		prev, prevRun, perr := lastGoodFit(ctx, conn, "spend")
		if perr != nil {
			return nil, perr
		}
		pooled, pErr := clv.FitPooledSpend(cal)
		switch {
		case !limit && prev != nil:
			out.model.Spend = prev.spend()
			out.status = StatusEarlierFit
			out.rows = append(out.rows, fallbackRow(out.model.Spend.Name(), "spend", out.model.Spend, prevRun, why))
			out.reason += fmt.Sprintf("; spend: %s of run %s (%s)", clv.ModelTitle(out.model.Spend.Name()), prevRun, why)
		case pErr == nil:
			out.model.Spend = pooled
			if err := record("pooled_spend", "all data", clv.FitReport{Model: "pooled_spend", Customers: float64(len(cal)), Diagnostics: clv.Diagnostics{Converged: true}}, pooled, nil); err != nil {
				return nil, err
			}
			out.rows = append(out.rows, modelRow{model: "pooled_spend", role: "spend", fittedOn: "all data", status: "ok", inUse: true, fromRun: runID,
				reason: "in use: the limit of Gamma-Gamma when customers do not differ in spend (" + why + ")",
				report: clv.FitReport{Model: "pooled_spend", Parameters: []clv.Parameter{{Name: "mean", Estimate: plain(pooled.Value)}}, Diagnostics: clv.Diagnostics{Converged: true}}})
			out.reason += "; spend: the pooled mean value per purchase day (" + why + ")"
		default:
			out.status = StatusUnavailable
			out.reason += "; spend: no model (" + why + "), so no CLV"
		}
	} else {
		out.reason += "; spend: Gamma-Gamma"
	}
	out.reasonZh = reasonZh(out)
	return out, nil
}

// refit fits the chosen model on all data, starting from its calibration
// fit.
func refit(groups []clv.Group, c *clv.Candidate) (clv.PurchaseFit, error) {
	var from []float64
	for _, p := range c.Fit.Report().Parameters {
		from = append(from, p.Value)
	}
	o := clv.FitOptions{From: from}
	switch c.Model {
	case "bgnbd":
		f, err := clv.FitBGNBD(groups, o)
		return nilIf(f, f == nil), err
	case "pareto_nbd":
		f, err := clv.FitParetoNBD(groups, o)
		return nilIf(f, f == nil), err
	default:
		f, err := clv.FitNBD(groups, o)
		return nilIf(f, f == nil), err
	}
}

// nilIf returns a nil interface for a nil typed pointer.
func nilIf(f clv.PurchaseFit, isNil bool) clv.PurchaseFit {
	if isNil {
		return nil
	}
	return f
}

// plain is an estimate without a standard error.
func plain(v float64) clv.Estimate {
	return clv.Estimate{Value: v, SE: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}
}

// fallbackRow describes parameters of an earlier build in use.
func fallbackRow(model, role string, params any, run, why string) modelRow {
	var ps []clv.Parameter
	b, _ := json.Marshal(params)
	var m map[string]float64
	_ = json.Unmarshal(b, &m)
	for _, p := range paramOrder[model] {
		ps = append(ps, clv.Parameter{Name: p, Estimate: plain(m[p])})
	}
	return modelRow{model: model, role: role, fittedOn: "an earlier build", status: StatusEarlierFit, inUse: true, fromRun: run,
		reason: "in use because the fit of this build failed: " + why,
		report: clv.FitReport{Model: model, Parameters: ps, LogLikelihood: math.NaN(), Customers: math.NaN(), Diagnostics: clv.Diagnostics{Converged: true, Status: StatusEarlierFit}}}
}

var paramOrder = map[string][]string{
	"bgnbd": {"r", "alpha", "a", "b"}, "pareto_nbd": {"r", "alpha", "s", "beta"}, "nbd": {"r", "alpha"},
	"gamma_gamma": {"p", "q", "gamma"}, "pooled_spend": {"mean"},
}

// reasonZh says in Chinese which models are in use.
func reasonZh(o *outcome) string {
	if o.status == StatusUnavailable {
		return "客户终生价值不可用：" + o.reason
	}
	p, s := "-", "-"
	if o.model.Purchases != nil {
		p = clv.ModelTitle(o.model.Purchases.Name())
	}
	if o.model.Spend != nil {
		s = clv.ModelTitle(o.model.Spend.Name())
	}
	prefix := ""
	if o.status == StatusEarlierFit {
		prefix = "本次拟合未收敛，沿用早先的参数；"
	}
	return fmt.Sprintf("%s购买模型：%s（依据验证期的预测表现选定）；客单价模型：%s", prefix, p, s)
}

func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// recordFit appends a fit to meta.clv_fits.
func recordFit(ctx context.Context, conn *sql.Conn, runID string, at time.Time, name, fittedOn string, f clv.FitReport, params any, ferr error) error {
	var ps any
	if params != nil {
		b, err := json.Marshal(recordOf(params))
		if err != nil {
			return err
		}
		ps = string(b)
	}
	msg := f.Message
	if ferr != nil {
		msg = ferr.Error()
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO meta.clv_fits (run_id, fitted_at, model, converged, status, message, iterations, log_likelihood, customers, params, fitted_on)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, at, name, ferr == nil && f.Converged, nullable(f.Status), msg, f.Iterations, finite(f.LogLikelihood), finite(f.Customers), ps, fittedOn)
	return err
}

// lastGoodFit returns the latest converged fit of a role ("purchases" or
// "spend") from meta.clv_fits, preferring fits on all data.
func lastGoodFit(ctx context.Context, conn *sql.Conn, role string) (*fitRecord, string, error) {
	models := "('bgnbd', 'pareto_nbd', 'nbd')"
	if role == "spend" {
		models = "('gamma_gamma', 'pooled_spend')"
	}
	var js, run string
	err := conn.QueryRowContext(ctx, `SELECT params, run_id FROM meta.clv_fits WHERE model IN `+models+` AND converged AND params IS NOT NULL
		ORDER BY coalesce(fitted_on, 'all data') = 'all data' DESC, fitted_at DESC LIMIT 1`).Scan(&js, &run)
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
	if (role == "spend" && f.spend() == nil) || (role == "purchases" && f.purchases() == nil) {
		return nil, "", nil
	}
	return &f, run, nil
}

const scoresDDL = `CREATE OR REPLACE TABLE clv_scores (
	customer_id VARCHAR, frequency DOUBLE, recency DOUBLE, tenure DOUBLE, monetary DOUBLE,
	expected_purchases_90d DOUBLE, expected_purchases_365d DOUBLE, p_alive DOUBLE, p_alive_90d_ago DOUBLE,
	expected_order_value DOUBLE, clv_12m DOUBLE, clv_12m_90d_ago DOUBLE)`

const modelDDL = `CREATE OR REPLACE TABLE mart_clv_model (model VARCHAR, role VARCHAR, fitted_on VARCHAR, parameter VARCHAR,
	value DOUBLE, std_error DOUBLE, ci_low DOUBLE, ci_high DOUBLE, log_likelihood DOUBLE, converged BOOLEAN, status VARCHAR,
	optimizer_status VARCHAR, start VARCHAR, method VARCHAR, iterations INTEGER, customers DOUBLE, correlation DOUBLE,
	holdout_log_likelihood DOUBLE, holdout_mae DOUBLE, holdout_actual DOUBLE, holdout_predicted DOUBLE, holdout_error DOUBLE,
	selected BOOLEAN, in_use BOOLEAN, in_use_from_run VARCHAR, reason VARCHAR,
	time_unit VARCHAR, as_of DATE, calibration_end DATE, fitted_at TIMESTAMPTZ)`

const statusDDL = `CREATE OR REPLACE TABLE mart_clv_status (status VARCHAR, purchase_model VARCHAR, spend_model VARCHAR,
	reason VARCHAR, reason_zh VARCHAR, as_of DATE, fitted_at TIMESTAMPTZ)`

var otherDDL = []string{
	`CREATE OR REPLACE TABLE mart_clv_validation (frequency_bucket VARCHAR, customers BIGINT, actual_holdout DOUBLE, predicted_holdout DOUBLE,
		actual_total DOUBLE, predicted_total DOUBLE)`,
	`CREATE OR REPLACE TABLE mart_clv_tracking (week INTEGER, time_in_unit DOUBLE, actual_cumulative DOUBLE, expected_cumulative DOUBLE, holdout BOOLEAN)`,
	`CREATE OR REPLACE TABLE mart_clv_monthly (month DATE, as_of DATE, customers BIGINT, avg_clv_12m DOUBLE, total_clv_12m DOUBLE)`,
}

func dateOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func writeModelTables(ctx context.Context, conn *sql.Conn, o *outcome, runID string, at time.Time, unit clv.Unit) error {
	for _, st := range append([]string{modelDDL, statusDDL}, otherDDL[:2]...) {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	for _, r := range o.rows {
		var hll, mae, act, pred, herr any
		if c := r.cand; c != nil && c.Validation != nil {
			v := c.Validation
			hll, mae, act, pred = finite(c.HoldoutLogLikelihood), v.MAE, v.Actual, v.Predicted
			if v.Actual > 0 {
				herr = v.Predicted/v.Actual - 1
			}
		}
		d := r.report.Diagnostics
		params := r.report.Parameters
		if len(params) == 0 {
			params = []clv.Parameter{{Estimate: plain(math.NaN())}}
		}
		for _, p := range params {
			if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_model VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.model, r.role, r.fittedOn, nullable(p.Name), finite(p.Value), finite(p.SE), finite(p.Lower), finite(p.Upper),
				finite(r.report.LogLikelihood), d.Converged && r.status != "not converged", r.status, nullable(d.Status), nullable(d.Start), nullable(d.Method),
				d.Iterations, finite(r.report.Customers), finite(r.correlation), hll, mae, act, pred, herr,
				r.selected, r.inUse, nullable(r.fromRun), r.reason, unit.String(), o.asOf, dateOrNull(o.calEnd), at); err != nil {
				return err
			}
		}
	}
	var pm, sm any
	if o.model.Purchases != nil {
		pm = o.model.Purchases.Name()
	}
	if o.model.Spend != nil {
		sm = o.model.Spend.Name()
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_status VALUES (?, ?, ?, ?, ?, ?, ?)`,
		o.status, pm, sm, o.reason, o.reasonZh, dateOrNull(o.asOf), at); err != nil {
		return err
	}
	val := o.validation
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

// writeUnavailable writes every CLV table for a build without CLV:
// clv_scores with one row per customer who bought (the purchase history
// from customer_purchases, in the model's unit, and NULL predictions),
// empty validation, tracking and monthly tables, and mart_clv_model and
// mart_clv_status saying "unavailable" and why.
func writeUnavailable(ctx context.Context, conn *sql.Conn, unit clv.Unit, at time.Time, reason, reasonZh string, asOf time.Time) (int64, error) {
	for _, st := range append([]string{scoresDDL, modelDDL, statusDDL}, otherDDL...) {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return 0, err
		}
	}
	u := float64(unit)
	res, err := conn.ExecContext(ctx, `INSERT INTO clv_scores
		SELECT customer_id, CAST(frequency AS DOUBLE), recency / ?, tenure / ?, CASE WHEN frequency > 0 THEN CAST(monetary AS DOUBLE) END,
		       NULL, NULL, NULL, NULL, NULL, NULL, NULL
		FROM customer_purchases`, u, u)
	if err != nil {
		return 0, fmt.Errorf("writing clv_scores without CLV: %w", err)
	}
	rows, _ := res.RowsAffected()
	for _, role := range []string{"purchases", "spend"} {
		if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_model (role, fitted_on, converged, status, selected, in_use, reason, time_unit, as_of, fitted_at)
			VALUES (?, 'nothing', false, ?, false, false, ?, ?, ?, ?)`, role, StatusUnavailable, reason, unit.String(), dateOrNull(asOf), at); err != nil {
			return 0, err
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_status VALUES (?, NULL, NULL, ?, ?, ?, ?)`,
		StatusUnavailable, reason, reasonZh, dateOrNull(asOf), at); err != nil {
		return 0, err
	}
	// The same columns as a build with CLV, NULL: no fit to say why of.
	if err := annotateRefit(ctx, conn, refitReason{}); err != nil {
		return 0, err
	}
	return rows, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
