package clv

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Parameter is a named estimate.
type Parameter struct {
	Name string `json:"name"`
	Estimate
}

// MarshalJSON writes the name with the estimate (NaN as null); without it
// the embedded Estimate's method would drop the name.
func (p Parameter) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name  string   `json:"name"`
		Value float64  `json:"value"`
		SE    *float64 `json:"se"`
		Lower *float64 `json:"lower"`
		Upper *float64 `json:"upper"`
	}{p.Name, p.Value, finite(p.SE), finite(p.Lower), finite(p.Upper)})
}

// FitReport is what every fit reports, for tables: the model, its
// parameters with standard errors, the log-likelihood and the
// diagnostics.
type FitReport struct {
	// Model is "bgnbd", "pareto_nbd", "nbd", "gamma_gamma" or
	// "pooled_spend".
	Model         string      `json:"model"`
	Parameters    []Parameter `json:"parameters"`
	LogLikelihood float64     `json:"log_likelihood"`
	Customers     float64     `json:"customers"`
	Diagnostics
}

// PurchaseFit is a fit of a purchase model: *BGNBDFit, *ParetoNBDFit or
// *NBDFit.
type PurchaseFit interface {
	// Purchases returns the fitted parameters as a model.
	Purchases() Purchases
	Report() FitReport
}

// Purchases returns the fitted BG/NBD.
func (f *BGNBDFit) Purchases() Purchases { return f.Params }

// Report describes the fit.
func (f *BGNBDFit) Report() FitReport {
	return FitReport{Model: "bgnbd", LogLikelihood: f.LogLikelihood, Customers: f.Customers, Diagnostics: f.Diagnostics,
		Parameters: []Parameter{{"r", f.R}, {"alpha", f.Alpha}, {"a", f.A}, {"b", f.B}}}
}

// Purchases returns the fitted Pareto/NBD.
func (f *ParetoNBDFit) Purchases() Purchases { return f.Params }

// Report describes the fit.
func (f *ParetoNBDFit) Report() FitReport {
	return FitReport{Model: "pareto_nbd", LogLikelihood: f.LogLikelihood, Customers: f.Customers, Diagnostics: f.Diagnostics,
		Parameters: []Parameter{{"r", f.R}, {"alpha", f.Alpha}, {"s", f.S}, {"beta", f.Beta}}}
}

// Purchases returns the fitted NBD.
func (f *NBDFit) Purchases() Purchases { return f.Params }

// Report describes the fit.
func (f *NBDFit) Report() FitReport {
	return FitReport{Model: "nbd", LogLikelihood: f.LogLikelihood, Customers: f.Customers, Diagnostics: f.Diagnostics,
		Parameters: []Parameter{{"r", f.R}, {"alpha", f.Alpha}}}
}

// Report describes the fit.
func (f *GammaGammaFit) Report() FitReport {
	return FitReport{Model: "gamma_gamma", LogLikelihood: f.LogLikelihood, Customers: float64(f.Customers), Diagnostics: f.Diagnostics,
		Parameters: []Parameter{{"p", f.P}, {"q", f.Q}, {"gamma", f.Gamma}}}
}

// ModelTitle is a model's name for people: "BG/NBD", "Pareto/NBD", "NBD
// (no drop-out)", "Gamma-Gamma", "pooled spend".
func ModelTitle(name string) string {
	switch name {
	case "bgnbd":
		return "BG/NBD"
	case "pareto_nbd":
		return "Pareto/NBD"
	case "nbd":
		return "NBD (no drop-out)"
	case "gamma_gamma":
		return "Gamma-Gamma"
	case "pooled_spend":
		return "pooled spend"
	}
	return name
}

// Candidate is one purchase model fitted on a calibration period and,
// when there is a holdout period, checked on it.
type Candidate struct {
	// Model is "bgnbd", "pareto_nbd" or "nbd".
	Model string
	// Fit is the fit (also when it did not converge); nil when there was
	// no data to fit.
	Fit PurchaseFit
	// Err is the fit's error, nil when it converged.
	Err error
	// Validation and HoldoutLogLikelihood are the holdout check (nil and
	// NaN without one).
	Validation           *Validation
	HoldoutLogLikelihood float64
}

// OK reports whether the candidate's fit converged.
func (c *Candidate) OK() bool { return c.Fit != nil && c.Err == nil }

// PurchaseModels are the models FitCandidates fits unless told otherwise.
var PurchaseModels = []string{"bgnbd", "pareto_nbd"}

// FitCandidates fits the named purchase models ("bgnbd", "pareto_nbd";
// none: both) on the grouped customers, and NBD too when one shows no
// drop-out (ErrNoDropout): NBD is then the limiting model that the data do
// identify. Every fit is returned, failed ones with their error.
func FitCandidates(groups []Group, o FitOptions, models ...string) []*Candidate {
	if len(models) == 0 {
		models = PurchaseModels
	}
	var out []*Candidate
	noDropout := false
	add := func(name string, f PurchaseFit, err error) {
		if errors.Is(err, ErrNoDropout) {
			noDropout = true
		}
		c := &Candidate{Model: name, Err: err, HoldoutLogLikelihood: math.NaN()}
		if f != nil && !isNilFit(f) {
			c.Fit = f
		}
		out = append(out, c)
	}
	for _, m := range models {
		switch m {
		case "bgnbd":
			f, err := FitBGNBD(groups, o)
			add(m, f, err)
		case "pareto_nbd":
			f, err := FitParetoNBD(groups, o)
			add(m, f, err)
		default:
			panic("clv: unknown purchase model " + m)
		}
	}
	if noDropout {
		nb, err := FitNBD(groups, o)
		add("nbd", nb, err)
	}
	return out
}

// isNilFit reports a typed nil pointer inside the interface.
func isNilFit(f PurchaseFit) bool {
	switch v := f.(type) {
	case *BGNBDFit:
		return v == nil
	case *ParetoNBDFit:
		return v == nil
	case *NBDFit:
		return v == nil
	}
	return false
}

// Holdout is a calibration/holdout split of the same customers, for
// CheckCandidates: the calibration summaries, each customer's summary
// over calibration and holdout together, the holdout purchase counts, the
// holdout length and the tracking series (all in the model's unit).
type Holdout struct {
	Calibration []Summary
	Full        []Summary
	Counts      []float64
	Length      float64
	Tracking    []TrackPoint
	// CalibrationGroups and FullGroups are GroupSummaries of Calibration
	// and Full, when the caller has them: grouping whole days and then
	// scaling (ScaleGroups) is several times faster than grouping
	// fractional weeks, and the fit has the calibration groups already.
	CalibrationGroups, FullGroups []Group
}

// CheckCandidates validates every converged candidate on the holdout and
// computes its holdout log-likelihood.
//
// The checks of each candidate (the validation and the holdout
// log-likelihood, each a pass over every customer) run at the same time;
// each is computed in one goroutine, in the customers' order, so the
// results do not depend on the number of cores.
func CheckCandidates(cs []*Candidate, h Holdout) error {
	if h.CalibrationGroups == nil {
		h.CalibrationGroups = GroupSummaries(h.Calibration)
	}
	if h.FullGroups == nil {
		if len(h.Full) != len(h.Calibration) {
			return fmt.Errorf("checking: %d full summaries for %d customers", len(h.Full), len(h.Calibration))
		}
		h.FullGroups = GroupSummaries(h.Full)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2*len(cs))
	for i, c := range cs {
		if !c.OK() {
			continue
		}
		m := c.Fit.Purchases()
		wg.Add(2)
		go func() {
			defer wg.Done()
			v, err := Validate(m, h.Calibration, h.Counts, h.Length, h.Tracking)
			if err != nil {
				errs[2*i] = fmt.Errorf("checking %s: %w", ModelTitle(c.Model), err)
				return
			}
			c.Validation = v
		}()
		go func() {
			defer wg.Done()
			ll, err := HoldoutLogLikelihood(m, h.CalibrationGroups, h.FullGroups)
			if err != nil {
				errs[2*i+1] = fmt.Errorf("checking %s: %w", ModelTitle(c.Model), err)
				return
			}
			c.HoldoutLogLikelihood = ll
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Choose picks the candidate to use and says why, in words. With a
// holdout check it is the converged candidate whose holdout
// log-likelihood is highest (the proper score: it rewards predicting who
// buys again and when, not only totals); without one, the lowest AIC
// (2k − 2ℓ) on the calibration period. It returns −1 when no candidate
// converged, with the reasons.
func Choose(cs []*Candidate) (int, string) {
	var ok []int
	checked := false
	for i, c := range cs {
		if c.OK() {
			ok = append(ok, i)
			checked = checked || c.Validation != nil
		}
	}
	if len(ok) == 0 {
		var why []string
		for _, c := range cs {
			if c.Err != nil {
				why = append(why, c.Err.Error())
			}
		}
		return -1, "no purchase model could be fitted: " + strings.Join(why, "; ")
	}
	score := func(i int) float64 {
		c := cs[i]
		if checked {
			if c.Validation == nil {
				return math.Inf(-1)
			}
			return c.HoldoutLogLikelihood
		}
		r := c.Fit.Report()
		return r.LogLikelihood - float64(len(r.Parameters)) // −AIC/2
	}
	slices.SortStableFunc(ok, func(a, b int) int {
		sa, sb := score(a), score(b)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	best := cs[ok[0]]
	var b strings.Builder
	title := ModelTitle(best.Model)
	if len(ok) == 1 {
		fmt.Fprintf(&b, "%s: the only model that converged", title)
	} else if checked {
		fmt.Fprintf(&b, "%s: the highest log-likelihood of the holdout purchases", title)
	} else {
		fmt.Fprintf(&b, "%s: the lowest AIC on the data (no holdout period to compare the models on)", title)
	}
	var parts []string
	for _, i := range ok {
		c := cs[i]
		if c.Validation != nil {
			v := c.Validation
			parts = append(parts, fmt.Sprintf("%s %.1f (mean absolute error %.4f per customer, %s predicted against %s actual purchases)",
				ModelTitle(c.Model), c.HoldoutLogLikelihood, v.MAE, number(v.Predicted), number(v.Actual)))
		} else {
			r := c.Fit.Report()
			parts = append(parts, fmt.Sprintf("%s log-likelihood %.1f with %d parameters", ModelTitle(c.Model), r.LogLikelihood, len(r.Parameters)))
		}
	}
	if checked {
		b.WriteString(" (holdout log-likelihood: ")
	} else {
		b.WriteString(" (")
	}
	b.WriteString(strings.Join(parts, "; "))
	b.WriteString(")")
	for _, c := range cs {
		if !c.OK() && c.Err != nil {
			fmt.Fprintf(&b, "; %s not used: %v", ModelTitle(c.Model), c.Err)
		}
	}
	return ok[0], b.String()
}

// number writes a count with thousands separators.
func number(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
