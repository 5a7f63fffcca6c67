// Package logfit fits the CLV models on a transaction log file: the work
// behind `crmwh clv fit`. It reads and summarises the log with translog,
// fits BG/NBD and Gamma-Gamma on the calibration period, checks the fit on
// the holdout period, and writes the results as a table, as JSON, or as
// per-customer scores.
package logfit

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
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
	// BGNBD is the fit on the calibration period (with its diagnostics
	// also when it did not converge).
	BGNBD *clv.BGNBDFit `json:"bgnbd"`
	// GammaGamma is nil when the log has no amounts; its error, if any, is
	// in GammaGammaError.
	GammaGamma      *clv.GammaGammaFit `json:"gamma_gamma"`
	GammaGammaError string             `json:"gamma_gamma_error,omitempty"`
	// Validation compares predictions for the holdout period with what
	// happened; nil without a holdout period or a converged fit.
	Validation *clv.Validation `json:"validation"`

	unit clv.Unit
	log  *translog.Log
}

// Run reads the log with DuckDB through db (an in-memory database is
// enough), fits and validates. When a fit fails it returns the Result so
// far together with the error (wrapping clv.ErrNotConverged, clv.ErrNoData
// or translog.ErrLog).
func Run(ctx context.Context, db translog.Querier, o Options) (*Result, error) {
	u := o.Unit
	if u == 0 {
		u = clv.Days
	}
	l, err := translog.Load(ctx, db, o.Source, o.Periods)
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
	days := clv.GroupSummaries(l.Calibration)
	fit, err := clv.FitBGNBD(clv.ScaleGroups(days, float64(u)), o.Fit)
	r.BGNBD = fit
	if err != nil {
		return r, err
	}
	if o.Source.Amount != translog.NoAmount {
		gg, err := clv.FitGammaGamma(cal, o.Fit)
		r.GammaGamma = gg
		if err != nil {
			r.GammaGammaError = err.Error()
			return r, err
		}
	}
	if l.HoldoutDays() > 0 {
		v, err := clv.Validate(fit.Params, cal, l.Holdout, u.FromDays(l.HoldoutDays()), track)
		if err != nil {
			return r, err
		}
		r.Validation = v
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
	if f := r.BGNBD; f != nil {
		p("\nBG/NBD: log-likelihood %.2f, %s\n", f.LogLikelihood, status(f.Diagnostics))
		p("parameter\testimate\tstd. error\t95%% interval\t\n")
		for _, e := range []struct {
			name string
			e    clv.Estimate
		}{{"r", f.R}, {"alpha", f.Alpha}, {"a", f.A}, {"b", f.B}} {
			row(p, e.name, e.e)
		}
	}
	if r.GammaGamma != nil {
		f := r.GammaGamma
		p("\nGamma-Gamma on %d repeat customers: log-likelihood %.2f, %s\n", f.Customers, f.LogLikelihood, status(f.Diagnostics))
		p("parameter\testimate\tstd. error\t95%% interval\t\n")
		for _, e := range []struct {
			name string
			e    clv.Estimate
		}{{"p", f.P}, {"q", f.Q}, {"gamma", f.Gamma}} {
			row(p, e.name, e.e)
		}
		p("correlation of frequency and mean value: %.4f (the model assumes 0)\n", f.Correlation)
		if f.Excluded > 0 {
			p("%d repeat customers with a mean value ≤ 0 left out\n", f.Excluded)
		}
		if m := f.Params.Mean(); !math.IsNaN(m) {
			p("mean value per purchase day: %.2f\n", m)
		}
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

func row(p func(string, ...any), name string, e clv.Estimate) {
	if math.IsNaN(e.SE) {
		p("%s\t%.6g\t-\t-\t\n", name, e.Value)
		return
	}
	p("%s\t%.6g\t%.4g\t%.6g – %.6g\t\n", name, e.Value, e.SE, e.Lower, e.Upper)
}

func status(d clv.Diagnostics) string {
	s := fmt.Sprintf("%d iterations, gradient %.2g, %s", d.Iterations, d.GradientNorm, d.Duration.Round(time.Millisecond))
	if d.Converged {
		return "converged in " + s
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

// ErrNoFit is returned by WriteScores when the BG/NBD fit did not converge.
var ErrNoFit = errors.New("no converged BG/NBD fit to score with")

// WriteScores writes one CSV row per calibration customer, scored at the
// calibration end with the calibration fit: customer_id, x, t_x, T (in
// the unit), monetary, p_alive, expected purchases in the next 90 and 365
// days, and, with amounts, expected spend and CLV.
func (r *Result) WriteScores(w io.Writer, o ScoreOptions) error {
	if r.BGNBD == nil || !r.BGNBD.Converged {
		return ErrNoFit
	}
	cal, _ := r.log.Scaled(r.unit)
	horizons := []float64{r.unit.FromDays(90), r.unit.FromDays(365)}
	var sc *clv.Scores
	if r.GammaGamma != nil && r.GammaGamma.Converged {
		m := clv.Model{BGNBD: r.BGNBD.Params, GammaGamma: r.GammaGamma.Params, Unit: r.unit}
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
	bg := r.BGNBD.Params
	for i, c := range cal {
		rec := []string{r.log.Customers[i], f(c.X), f(c.Tx), f(c.T), ""}
		if c.X > 0 {
			rec[4] = f(c.Monetary)
		}
		if sc != nil {
			rec = append(rec, f(sc.PAlive[i]), f(sc.Expected[0][i]), f(sc.Expected[1][i]), f(sc.ExpectedSpend[i]), f(sc.CLV[i]))
		} else {
			rec = append(rec, f(bg.ProbAlive(c.X, c.Tx, c.T)), f(bg.ConditionalExpected(horizons[0], c.X, c.Tx, c.T)),
				f(bg.ConditionalExpected(horizons[1], c.X, c.Tx, c.T)))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
