package clv

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"crmwh/warehouse/clv/hypergeo"
)

// SBG holds the parameters of the shifted-beta-geometric model of
// contractual retention (Fader & Hardie 2007, "How to project customer
// retention", JIM 21(1)): at the end of every period (a year of a
// membership, a month of a plan) a customer who is still under contract
// cancels with probability θ, the same at every renewal, and θ ~
// Beta(Alpha, Beta) across customers. The cohort's retention rate rises
// over time because those with a high θ leave first.
type SBG struct {
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
}

// Validate checks that both parameters are positive and finite.
func (m SBG) Validate() error {
	return checkPositive("sbg", Named{"alpha", m.Alpha}, Named{"beta", m.Beta})
}

// Survival returns S(t), the share of a cohort still active after t
// periods (S(0) = 1):
//
//	S(t) = B(α, β+t)/B(α, β) = Π_{j=1..t} (β+j−1)/(α+β+j−1)
func (m SBG) Survival(t int) float64 {
	if t <= 0 {
		return 1
	}
	return math.Exp(lgamma(m.Beta+float64(t)) - lgamma(m.Beta) - lgamma(m.Alpha+m.Beta+float64(t)) + lgamma(m.Alpha+m.Beta))
}

// Churn returns P(T = t), the share of the cohort that leaves at the end
// of period t ≥ 1: B(α+1, β+t−1)/B(α, β).
func (m SBG) Churn(t int) float64 {
	if t <= 0 {
		return 0
	}
	return m.Survival(t-1) - m.Survival(t)
}

// Retention returns r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1), the share of
// those active after t−1 periods who renew for period t (t ≥ 1).
func (m SBG) Retention(t int) float64 {
	return (m.Beta + float64(t) - 1) / (m.Alpha + m.Beta + float64(t) - 1)
}

// DERL returns the discounted expected residual lifetime of a customer who
// has just renewed for the n-th period (n ≥ 1; n−1 renewals so far), in
// periods, discounted at rate d per period (Fader & Hardie 2010,
// "Customer-base valuation in a contractual setting", eq. 6):
//
//	DERL = Σ_{t≥n} S(t)/S(n−1) / (1+d)^(t−n)
//	     = (β+n−1)/(α+β+n−1) · 2F1(1, β+n; α+β+n; 1/(1+d))
//
// Times the net value of a period, paid at each renewal from the next
// one on, it is the customer's expected residual value. d must be
// positive (without discounting the sum is infinite when α ≤ 1).
func (m SBG) DERL(d float64, n int) float64 {
	if !(d > 0) || n < 1 {
		return math.NaN()
	}
	fn := float64(n)
	return (m.Beta + fn - 1) / (m.Alpha + m.Beta + fn - 1) * hypergeo.Hyp2F1(1, m.Beta+fn, m.Alpha+m.Beta+fn, 1/(1+d))
}

// ResidualValue returns DERL(d, n) × value, the expected discounted value
// of a customer's remaining renewals when each is worth value.
func (m SBG) ResidualValue(value, d float64, n int) float64 { return value * m.DERL(d, n) }

// Project returns the expected number of a cohort of size n0 still active
// after each of the periods 0 … horizon.
func (m SBG) Project(n0 float64, horizon int) []float64 {
	out := make([]float64, horizon+1)
	for t := range out {
		out[t] = n0 * m.Survival(t)
	}
	return out
}

// SBGFit is a maximum-likelihood fit of the sBG model to one cohort.
type SBGFit struct {
	Params SBG `json:"params"`
	// Alpha and Beta are the estimates with standard errors and 95%
	// intervals (NaN when the fit did not converge).
	Alpha Estimate `json:"alpha"`
	Beta  Estimate `json:"beta"`
	// LogLikelihood is the maximised log-likelihood of the cohort.
	LogLikelihood float64 `json:"log_likelihood"`
	// Customers is the cohort's size; Periods the periods observed.
	Customers float64 `json:"customers"`
	Periods   int     `json:"periods"`
	Diagnostics
}

// Report describes the fit.
func (f *SBGFit) Report() FitReport {
	return FitReport{Model: "sbg", LogLikelihood: f.LogLikelihood, Customers: f.Customers, Diagnostics: f.Diagnostics,
		Parameters: []Parameter{{"alpha", f.Alpha}, {"beta", f.Beta}}}
}

var sbgNames = []string{"alpha", "beta"}

// FitSBG fits the sBG model by maximum likelihood to one cohort's counts
// of active customers: alive[0] customers started period 1 together, and
// alive[t] of them were still active after t periods (non-increasing).
// Each of the alive[t−1] − alive[t] who left after period t contributes
// ln P(T = t), each of the alive[n] still active ln S(n) (Fader & Hardie
// 2007, eq. 6). Counts may be fractional (weights). A build step calls it
// once per cohort or segment. Errors as FitBGNBD; ErrNoData when nobody
// left or nobody stayed (the maximum is then at a bound).
func FitSBG(alive []float64, o FitOptions) (*SBGFit, error) {
	return FitSBGGroups([][]float64{alive}, o)
}

// FitSBGGroups fits one sBG model to several groups of customers that
// share α and β but were observed for different numbers of periods
// (contracts that started at different times, seen up to the same day):
// groups[g] holds the counts of group g as FitSBG's alive. The
// log-likelihood is the sum of the groups' (Fader & Hardie 2007 fit
// several cohorts this way); with one group it is FitSBG.
func FitSBGGroups(groups [][]float64, o FitOptions) (*SBGFit, error) {
	t0 := time.Now()
	o = o.withDefaults()
	var size, stayed, left float64
	periods := 0
	for g, alive := range groups {
		if len(alive) < 2 {
			return nil, fmt.Errorf("fitting sBG: %w: group %d has %d counts (want the cohort's size and at least one period)", ErrNoData, g, len(alive))
		}
		for t, n := range alive {
			switch {
			case !(n >= 0) || math.IsInf(n, 0):
				return nil, fmt.Errorf("fitting sBG: period %d: %v active customers is not a count ≥ 0", t, n)
			case t > 0 && n > alive[t-1]:
				return nil, fmt.Errorf("fitting sBG: period %d: %v active customers, more than the %v before (counts must not rise)", t, n, alive[t-1])
			}
		}
		last := alive[len(alive)-1]
		size += alive[0]
		stayed += last
		left += alive[0] - last
		periods = max(periods, len(alive)-1)
	}
	if left == 0 || stayed == 0 {
		return nil, fmt.Errorf("fitting sBG: %w: of %v customers %v left and %v stayed (nobody leaving or nobody staying)", ErrNoData, size, left, stayed)
	}
	d := &sbgData{groups: groups, n: size}
	p := &problem{dim: 2, fgh: d.eval, hess: true, names: sbgNames, n: size}
	retention := stayed / size
	starts := []start{
		{name: "moderate", x: []float64{0, 0}},
		{name: "heterogeneous", x: []float64{math.Log(0.3), math.Log(0.3 * retention / (1 - retention))}},
		{name: "homogeneous", x: []float64{math.Log(10), math.Log(10 * retention / (1 - retention))}},
	}
	sol := search(p, starts, size, periods+1, o)
	fit := &SBGFit{Customers: size, Periods: periods}
	if sol.x != nil {
		est := estimates(sol.x, sol.cov)
		fit.Params = SBG{Alpha: est[0].Value, Beta: est[1].Value}
		fit.Alpha, fit.Beta = est[0], est[1]
		fit.LogLikelihood = -sol.f * size
	}
	sol.diag.Evaluations = p.evals
	sol.diag.Duration = time.Since(t0)
	fit.Diagnostics = sol.diag
	if !fit.Converged {
		return fit, fmt.Errorf("fitting sBG: %w: %s", ErrNotConverged, fit.Message)
	}
	return fit, nil
}

// LogLikelihood returns the sBG log-likelihood of a cohort's counts.
func (m SBG) LogLikelihood(alive []float64) (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	if len(alive) < 2 || alive[0] <= 0 {
		return 0, fmt.Errorf("sBG log-likelihood: %w", ErrNoData)
	}
	d := &sbgData{groups: [][]float64{alive}, n: alive[0]}
	return -d.eval([]float64{math.Log(m.Alpha), math.Log(m.Beta)}, make([]float64, 2), nil) * alive[0], nil
}

// sbgData holds the counts of one or more groups and their total size n.
// With ln P(T=t) = ln α − ln(α+β+t−1) +
// Σ_{j<t} [ln(β+j−1) − ln(α+β+j−1)] (j from 1) and ln S(n) = Σ_{j≤n}
// [ln(β+j−1) − ln(α+β+j−1)], the log-likelihood is a weighted sum of
// ln α, ln(β+c) and ln(α+β+c) terms, whose derivatives are immediate.
type sbgData struct {
	groups [][]float64
	n      float64
}

func (d *sbgData) eval(x, grad []float64, hess *mat.SymDense) float64 {
	a, b := math.Exp(x[0]), math.Exp(x[1])
	n := 0
	for _, alive := range d.groups {
		n = max(n, len(alive)-1)
	}
	// wB[j], wAB[j]: the weights of ln(β+j) and ln(α+β+j), j = 0 … n.
	wB := make([]float64, n+1)
	wAB := make([]float64, n+1)
	var wA float64
	for _, alive := range d.groups {
		m := len(alive) - 1
		// Survivors after period m: Σ_{j=1..m} ln(β+j−1) − ln(α+β+j−1).
		surv := alive[m]
		for j := 1; j <= m; j++ {
			wB[j-1] += surv
			wAB[j-1] -= surv
		}
		for t := 1; t <= m; t++ {
			lost := alive[t-1] - alive[t]
			if lost == 0 {
				continue
			}
			wA += lost
			wAB[t-1] -= lost
			for j := 1; j < t; j++ {
				wB[j-1] += lost
				wAB[j-1] -= lost
			}
		}
	}
	ll := wA * math.Log(a)
	g := [2]float64{wA / a, 0}
	var H [2][2]float64
	H[0][0] = -wA / (a * a)
	for j := 0; j <= n; j++ {
		fj := float64(j)
		if w := wB[j]; w != 0 {
			ll += w * math.Log(b+fj)
			g[1] += w / (b + fj)
			H[1][1] -= w / ((b + fj) * (b + fj))
		}
		if w := wAB[j]; w != 0 {
			s := a + b + fj
			ll += w * math.Log(s)
			g[0] += w / s
			g[1] += w / s
			h := -w / (s * s)
			H[0][0] += h
			H[0][1] += h
			H[1][1] += h
		}
	}
	toLogScale([]float64{a, b}, g[:], [][]float64{H[0][:], H[1][:]}, d.n, grad, hess)
	return -ll / d.n
}
