// Package logfit fits the CLV models on a transaction log file: the work
// behind `crmwh clv fit`. It reads and summarises the log with translog,
// fits the purchase models (BG/NBD, and with Model "auto" Pareto/NBD too,
// picked on the holdout) and Gamma-Gamma on the calibration period, checks
// the fit on the holdout period, and writes the results as a table, as
// JSON, or as per-customer scores.
package logfit

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/translog"
)

// Options say what to read and how to fit.
type Options struct {
	Source  translog.Source
	Periods translog.Options
	// Unit is the time unit of the fitted parameters (0: days).
	Unit clv.Unit
	Fit  clv.FitOptions
	// Model is the purchase model: "bgnbd" (the default), "pareto_nbd",
	// or "auto" (both, the one with the higher holdout log-likelihood
	// used, as the warehouse does).
	Model string
	// IDs reads the customer ids, which WriteScores needs.
	IDs bool
}

// Models are the values Options.Model takes.
var Models = []string{"bgnbd", "pareto_nbd", "auto"}

// PurchaseModel is one purchase model's fit and holdout check.
type PurchaseModel struct {
	clv.FitReport
	// Error says why the fit is not used ("" when it converged).
	Error string `json:"error,omitempty"`
	// Holdout is the check on the holdout period (nil without one).
	Holdout *Check `json:"holdout,omitempty"`
}

// Check is a model's holdout figures.
type Check struct {
	LogLikelihood float64 `json:"log_likelihood"`
	MAE           float64 `json:"mae"`
	Actual        float64 `json:"actual"`
	Predicted     float64 `json:"predicted"`
}

// Result is what a fit on a log found. Times are dates (YYYY-MM-DD); the
// fits' parameters are in Unit.
type Result struct {
	File           string `json:"file"`
	Rows           int64  `json:"rows"`
	FirstDate      string `json:"first_date"`
	LastDate       string `json:"last_date"`
	CalibrationEnd string `json:"calibration_end"`
	HoldoutEnd     string `json:"holdout_end"`
	Unit           string `json:"unit"`
	// Customers is the calibration cohort.
	Customers int `json:"customers"`
	// PurchaseModels are the purchase models fitted on the calibration
	// period (also those that did not converge).
	PurchaseModels []PurchaseModel `json:"purchase_models"`
	// Chosen names the purchase model used ("" when none converged) and
	// Why says why, in words.
	Chosen string `json:"chosen"`
	Why    string `json:"why"`
	// GammaGamma is nil when the log has no amounts; its error, if any,
	// is in GammaGammaError, and the spend model then falls back to the
	// pooled mean (SpendModel "pooled_spend", PooledSpend its value).
	GammaGamma      *clv.GammaGammaFit `json:"gamma_gamma"`
	GammaGammaError string             `json:"gamma_gamma_error,omitempty"`
	SpendModel      string             `json:"spend_model,omitempty"`
	PooledSpend     float64            `json:"pooled_spend,omitempty"`
	// Validation compares the chosen model's predictions for the holdout
	// period with what happened; nil without a holdout period.
	Validation *clv.Validation `json:"validation"`

	unit      clv.Unit
	log       *translog.Log
	purchases clv.Purchases
	spend     clv.Spend
}

// Run reads the log with DuckDB through db (an in-memory database is
// enough), fits and validates. When no purchase model can be fitted it
// returns the Result so far together with the error (wrapping
// clv.ErrNotConverged or clv.ErrNoData), and a log that cannot be read
// gives translog.ErrLog.
func Run(ctx context.Context, db translog.Querier, o Options) (*Result, error) {
	u := o.Unit
	if u == 0 {
		u = clv.Days
	}
	var models []string
	switch o.Model {
	case "", "bgnbd":
		models = []string{"bgnbd"}
	case "pareto_nbd":
		models = []string{"pareto_nbd"}
	case "auto":
	default:
		return nil, fmt.Errorf("unknown model %q (want one of: %s)", o.Model, strings.Join(Models, ", "))
	}
	periods := o.Periods
	periods.NoCustomerIDs = !o.IDs
	l, err := translog.Load(ctx, db, o.Source, periods)
	if err != nil {
		return nil, err
	}
	r := &Result{
		File: o.Source.Path, Rows: l.Rows,
		FirstDate: day(l.FirstDate), LastDate: day(l.LastDate),
		CalibrationEnd: day(l.CalibrationEnd), HoldoutEnd: day(l.HoldoutEnd),
		Unit: u.String(), Customers: len(l.Calibration), unit: u, log: l,
	}
	cal, track := l.Scaled(u)
	// The spend model needs only the calibration summaries: it is fitted
	// while the purchase models are.
	var gg *clv.GammaGammaFit
	var ggErr error
	ggDone := make(chan struct{})
	go func() {
		defer close(ggDone)
		if o.Source.Amount != translog.NoAmount {
			gg, ggErr = clv.FitGammaGamma(cal, o.Fit)
		}
	}()
	defer func() { <-ggDone }()
	// So are the groups of the summaries over calibration and holdout,
	// which the holdout check needs.
	var fullGroups []clv.Group
	fullDone := make(chan struct{})
	go func() {
		defer close(fullDone)
		if l.HoldoutDays() > 0 {
			fullGroups = clv.ScaleGroups(clv.GroupSummaries(l.Full(clv.Days)), float64(u))
		}
	}()
	defer func() { <-fullDone }()
	groups := clv.ScaleGroups(clv.GroupSummaries(l.Calibration), float64(u))
	cands := clv.FitCandidates(groups, o.Fit, models...)
	if l.HoldoutDays() > 0 {
		<-fullDone
		h := clv.Holdout{Calibration: cal, Full: l.Full(u), Counts: l.Holdout, Length: u.FromDays(l.HoldoutDays()), Tracking: track,
			CalibrationGroups: groups, FullGroups: fullGroups}
		if err := clv.CheckCandidates(cands, h); err != nil {
			return r, err
		}
	}
	best, why := clv.Choose(cands)
	for _, c := range cands {
		pm := PurchaseModel{}
		if c.Fit != nil {
			pm.FitReport = c.Fit.Report()
		} else {
			pm.Model = c.Model
		}
		if c.Err != nil {
			pm.Error = c.Err.Error()
		}
		if v := c.Validation; v != nil {
			pm.Holdout = &Check{LogLikelihood: c.HoldoutLogLikelihood, MAE: v.MAE, Actual: v.Actual, Predicted: v.Predicted}
		}
		r.PurchaseModels = append(r.PurchaseModels, pm)
	}
	r.Why = why
	if best < 0 {
		var errs []error
		for _, c := range cands {
			errs = append(errs, c.Err)
		}
		return r, errors.Join(errs...)
	}
	c := cands[best]
	r.Chosen, r.purchases, r.Validation = c.Model, c.Fit.Purchases(), c.Validation
	<-ggDone
	if o.Source.Amount != translog.NoAmount {
		err := ggErr
		r.GammaGamma = gg
		switch {
		case err == nil && gg.Params.Q > 1:
			r.spend, r.SpendModel = gg.Params, "gamma_gamma"
		default:
			if err == nil {
				err = fmt.Errorf("fitting Gamma-Gamma: %w (q = %.4g)", clv.ErrInfiniteSpend, gg.Params.Q)
			}
			r.GammaGammaError = err.Error()
			if ps, perr := clv.FitPooledSpend(cal); perr == nil {
				r.spend, r.SpendModel, r.PooledSpend = ps, "pooled_spend", ps.Value
			}
		}
	}
	return r, nil
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

// WriteText writes the result as tables for a terminal.
func (r *Result) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("transaction log %s: %d rows, %s to %s\n", r.File, r.Rows, r.FirstDate, r.LastDate)
	if r.HoldoutEnd != r.CalibrationEnd {
		p("calibration to %s (%d customers), holdout to %s; time unit %s\n", r.CalibrationEnd, r.Customers, r.HoldoutEnd, r.Unit)
	} else {
		p("calibration to %s (%d customers), no holdout (give --calibration-end to check the fit); time unit %s\n", r.CalibrationEnd, r.Customers, r.Unit)
	}
	for _, m := range r.PurchaseModels {
		if m.Parameters == nil {
			p("\n%s: %s\n", clv.ModelTitle(m.Model), m.Error)
			continue
		}
		p("\n%s: log-likelihood %.2f, %s\n", clv.ModelTitle(m.Model), m.LogLikelihood, status(m.Diagnostics))
		table(p, m.Parameters)
		if h := m.Holdout; h != nil {
			p("holdout: log-likelihood %.2f, mean absolute error %.4f per customer, predicted %.1f against %.0f actual (%+.1f%%)\n",
				h.LogLikelihood, h.MAE, h.Predicted, h.Actual, pct(h.Predicted, h.Actual))
		}
	}
	if r.Chosen != "" {
		p("\nmodel used: %s\n", r.Why)
	}
	if f := r.GammaGamma; f != nil {
		p("\nGamma-Gamma on %d repeat customers: log-likelihood %.2f, %s\n", f.Customers, f.LogLikelihood, status(f.Diagnostics))
		table(p, f.Report().Parameters)
		p("correlation of frequency and mean value: %.4f (the model assumes 0)\n", f.Correlation)
		if f.Excluded > 0 {
			p("%d repeat customers with a mean value ≤ 0 left out\n", f.Excluded)
		}
		if m := f.Params.Mean(); !math.IsNaN(m) && r.SpendModel == "gamma_gamma" {
			p("mean value per purchase day: %.2f\n", m)
		}
	}
	if r.SpendModel == "pooled_spend" {
		p("spend: Gamma-Gamma not used (%s); the pooled mean value per repeat purchase day instead: %.2f\n", r.GammaGammaError, r.PooledSpend)
	}
	if v := r.Validation; v != nil {
		p("\nholdout: %g %s, %d customers: actual %.0f repeat purchases, predicted %.1f (%+.1f%%), mean absolute error %.4f per customer\n",
			v.HoldoutLength, r.Unit, v.Customers, v.Actual, v.Predicted, pct(v.Predicted, v.Actual), v.MAE)
		p("x in calibration\tcustomers\tactual (mean)\tpredicted (mean)\t\n")
		for _, b := range v.ByFrequency {
			p("%s\t%d\t%.3f\t%.3f\t\n", b.Label, b.Customers, b.Actual, b.Predicted)
		}
		if n := len(v.Tracking); n > 0 {
			var atCal clv.TrackPoint
			for _, t := range v.Tracking {
				if t.Time == 0 {
					atCal = t
				}
			}
			last := v.Tracking[n-1]
			p("tracking (%d weekly points, in --json): cumulative repeat purchases at calibration end %.0f (expected %.1f), at holdout end %.0f (expected %.1f)\n",
				n, atCal.Actual, atCal.Expected, last.Actual, last.Expected)
		}
	}
	return tw.Flush()
}

func table(p func(string, ...any), ps []clv.Parameter) {
	p("parameter\testimate\tstd. error\t95%% interval\t\n")
	for _, e := range ps {
		if math.IsNaN(e.SE) {
			p("%s\t%.6g\t-\t-\t\n", e.Name, e.Value)
			continue
		}
		p("%s\t%.6g\t%.4g\t%.6g – %.6g\t\n", e.Name, e.Value, e.SE, e.Lower, e.Upper)
	}
}

func status(d clv.Diagnostics) string {
	s := fmt.Sprintf("%d iterations, gradient %.2g, %s", d.Iterations, d.GradientNorm, d.Duration.Round(time.Millisecond))
	if d.Converged {
		return fmt.Sprintf("converged (%s from the %s start) in %s", d.Method, d.Start, s)
	}
	return "NOT CONVERGED (" + d.Message + ") after " + s
}

func pct(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return 100 * (a/b - 1)
}

// ScoreOptions configure WriteScores.
type ScoreOptions struct {
	CLV clv.CLVOptions
}

// ErrNoFit is returned by WriteScores when no purchase model converged.
var ErrNoFit = errors.New("no converged purchase model to score with")

// WriteScores writes one CSV row per calibration customer, scored at the
// calibration end with the calibration fit: customer_id, x, t_x, T (in
// the unit), monetary, p_alive, expected purchases in the next 90 and 365
// days, and, with a spend model, expected spend and CLV. It needs the
// customer ids (Options.IDs).
func (r *Result) WriteScores(w io.Writer, o ScoreOptions) error {
	if r.purchases == nil {
		return ErrNoFit
	}
	if len(r.log.Customers) != len(r.log.Calibration) {
		return errors.New("writing scores: the customer ids were not read (logfit.Options.IDs)")
	}
	cal, _ := r.log.Scaled(r.unit)
	horizons := []float64{r.unit.FromDays(90), r.unit.FromDays(365)}
	var sc *clv.Scores
	if r.spend != nil {
		m := clv.Model{Purchases: r.purchases, Spend: r.spend, Unit: r.unit}
		var err error
		if sc, err = m.Score(cal, clv.ScoreOptions{Horizons: horizons, CLV: o.CLV}); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	head := []string{"customer_id", "x", "t_x", "T", "monetary", "p_alive", "expected_90d", "expected_365d"}
	if sc != nil {
		head = append(head, "expected_spend", "clv")
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	pm := r.purchases
	for i, c := range cal {
		rec := []string{r.log.Customers[i], f(c.X), f(c.Tx), f(c.T), ""}
		if c.X > 0 {
			rec[4] = f(c.Monetary)
		}
		if sc != nil {
			rec = append(rec, f(sc.PAlive[i]), f(sc.Expected[0][i]), f(sc.Expected[1][i]), f(sc.ExpectedSpend[i]), f(sc.CLV[i]))
		} else {
			rec = append(rec, f(pm.ProbAlive(c.X, c.Tx, c.T)), f(pm.ConditionalExpected(horizons[0], c.X, c.Tx, c.T)),
				f(pm.ConditionalExpected(horizons[1], c.X, c.Tx, c.T)))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
