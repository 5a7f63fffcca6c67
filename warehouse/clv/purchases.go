package clv

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
)

// Purchases is a fitted model of the purchase process of non-contractual
// customers: BGNBD, ParetoNBD, or NBD (the limit of both when nobody drops
// out). Each predicts from a customer's (x, t_x, T) as P(alive) times what
// a customer known to be alive would buy, which depends on (x, T) only.
type Purchases interface {
	// Name is "bgnbd", "pareto_nbd" or "nbd".
	Name() string
	// ProbAlive is the probability that the customer is alive at T.
	ProbAlive(x, tx, T float64) float64
	// AliveExpected is the expected number of purchases in the next t of a
	// customer alive at T after x repeat purchases.
	AliveExpected(t, x, T float64) float64
	// ConditionalExpected is ProbAlive × AliveExpected.
	ConditionalExpected(t, x, tx, T float64) float64
	// Expected is E[X(t)], the expected repeat purchases in (0, t] of a
	// customer who made the first purchase at 0.
	Expected(t float64) float64
	// LogLikelihood is the log-likelihood of grouped customers.
	LogLikelihood(groups []Group) (float64, error)
	// Validate checks that every parameter is positive and finite.
	Validate() error
}

// Named is a parameter's name and value.
type Named struct {
	Name  string
	Value float64
}

// checkPositive returns an error naming the first parameter that is not
// positive and finite.
func checkPositive(model string, ps ...Named) error {
	for _, p := range ps {
		if !(p.Value > 0) || math.IsInf(p.Value, 0) {
			return fmt.Errorf("%s parameter %s = %v is not positive and finite", model, p.Name, p.Value)
		}
	}
	return nil
}

// NBD is the negative binomial distribution model of purchases without
// drop-out (Ehrenberg 1959): every customer buys as a Poisson process with
// rate λ ~ Gamma(shape R, rate Alpha) for ever. It is the limit of BG/NBD
// as b → ∞ (or a → 0) and of Pareto/NBD as β → ∞ with s fixed: the model
// to fall back on when the data show no drop-out (ErrNoDropout). P(alive)
// is 1.
type NBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
}

// Name returns "nbd".
func (NBD) Name() string { return "nbd" }

// Validate checks that every parameter is positive and finite.
func (m NBD) Validate() error { return checkPositive("nbd", Named{"r", m.R}, Named{"alpha", m.Alpha}) }

// ProbAlive is 1: nobody drops out.
func (NBD) ProbAlive(x, tx, T float64) float64 { return 1 }

// AliveExpected is the posterior mean rate (r+x)/(α+T) times t.
func (m NBD) AliveExpected(t, x, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	return (m.R + x) / (m.Alpha + T) * t
}

// ConditionalExpected equals AliveExpected.
func (m NBD) ConditionalExpected(t, x, tx, T float64) float64 { return m.AliveExpected(t, x, T) }

// Expected is r t / α.
func (m NBD) Expected(t float64) float64 { return m.AliveExpected(t, 0, 0) }

// NBDFit is a maximum-likelihood fit of NBD.
type NBDFit struct {
	Params NBD `json:"params"`
	// R and Alpha are the estimates with standard errors and 95%
	// intervals (NaN when the fit did not converge).
	R     Estimate `json:"r"`
	Alpha Estimate `json:"alpha"`
	// LogLikelihood is the maximised log-likelihood (a sum over customers).
	LogLikelihood float64 `json:"log_likelihood"`
	Customers     float64 `json:"customers"`
	Groups        int     `json:"groups"`
	// Covariance is the covariance matrix of (ln r, ln α).
	Covariance [2][2]float64 `json:"covariance_log"`
	Diagnostics
}

var nbdNames = []string{"r", "alpha"}

// LogLikelihood returns the NBD log-likelihood of grouped customers: for
// each, lnΓ(r+x) − lnΓ(r) + r ln α − (r+x) ln(α+T) (the density of the
// purchase times, as BG/NBD's and Pareto/NBD's, so the three compare).
func (m NBD) LogLikelihood(groups []Group) (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	d, err := newNBDData(groups)
	if err != nil {
		return 0, err
	}
	return -d.eval([]float64{math.Log(m.R), math.Log(m.Alpha)}, make([]float64, 2), nil) * d.n, nil
}

// FitNBD fits NBD by maximum likelihood on grouped customers, as FitBGNBD
// does (t_x plays no part). It fails to converge when purchase rates show
// no heterogeneity (r runs to its upper bound: a Poisson process).
func FitNBD(groups []Group, o FitOptions) (*NBDFit, error) {
	t0 := time.Now()
	o = o.withDefaults()
	d, err := newNBDData(groups)
	if err != nil {
		return nil, err
	}
	rate := d.sumX / d.sumT
	l := math.Log
	starts := []start{
		{name: "moderate", x: []float64{0, l(1 / rate)}},
		{name: "heterogeneous", x: []float64{l(0.3), l(0.3 / rate)}},
		{name: "homogeneous", x: []float64{l(3), l(3 / rate)}},
	}
	p := &problem{dim: 2, fgh: d.eval, hess: true, names: nbdNames, n: d.n}
	sol := search(p, starts, d.n, len(d.times), o)
	fit := &NBDFit{Customers: d.n, Groups: len(groups)}
	if sol.x != nil {
		est := estimates(sol.x, sol.cov)
		fit.Params = NBD{R: est[0].Value, Alpha: est[1].Value}
		fit.R, fit.Alpha = est[0], est[1]
		fit.LogLikelihood = -sol.f * d.n
		if sol.cov != nil {
			for i := range 2 {
				for j := range 2 {
					fit.Covariance[i][j] = sol.cov.At(i, j)
				}
			}
		}
	}
	sol.diag.Evaluations = p.evals
	sol.diag.Duration = time.Since(t0)
	fit.Diagnostics = sol.diag
	if !fit.Converged {
		return fit, fmt.Errorf("fitting NBD: %w: %s", ErrNotConverged, fit.Message)
	}
	return fit, nil
}

// nbdData: Σ_j S_j ln(r+j) as for BG/NBD, and per distinct T the number
// of customers and their Σ x.
type nbdData struct {
	n, sumX, sumT float64
	surv          []float64
	times         []float64
	w, wx         []float64
}

func newNBDData(groups []Group) (*nbdData, error) {
	d := &nbdData{}
	idx := map[float64]int{}
	maxX := 0
	for i, g := range groups {
		s := Summary{X: g.X, Tx: g.Tx, T: g.T}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("group %d: %w", i, err)
		}
		if !(g.N >= 0) || math.IsInf(g.N, 0) {
			return nil, fmt.Errorf("group %d: weight %v is not a finite number ≥ 0", i, g.N)
		}
		if g.N == 0 {
			continue
		}
		k, ok := idx[g.T]
		if !ok {
			k = len(d.times)
			idx[g.T] = k
			d.times = append(d.times, g.T)
			d.w = append(d.w, 0)
			d.wx = append(d.wx, 0)
		}
		d.w[k] += g.N
		d.wx[k] += g.N * g.X
		d.n += g.N
		d.sumX += g.N * g.X
		d.sumT += g.N * g.T
		maxX = max(maxX, int(g.X))
	}
	switch {
	case d.n == 0:
		return nil, fmt.Errorf("fitting NBD: %w: no customers", ErrNoData)
	case maxX == 0:
		return nil, fmt.Errorf("fitting NBD: %w: no customer made a repeat purchase", ErrNoData)
	case d.sumT == 0:
		return nil, fmt.Errorf("fitting NBD: %w: every customer has T = 0", ErrNoData)
	}
	d.surv = survivors(groups, maxX)
	return d, nil
}

// survivors returns S_j, the weight of the groups with x > j, j < maxX.
func survivors(groups []Group, maxX int) []float64 {
	counts := make([]float64, maxX+1)
	for _, g := range groups {
		if g.N > 0 {
			counts[int(g.X)] += g.N
		}
	}
	surv := make([]float64, maxX)
	var above float64
	for j := maxX - 1; j >= 0; j-- {
		above += counts[j+1]
		surv[j] = above
	}
	return surv
}

func (d *nbdData) eval(x, grad []float64, hess *mat.SymDense) float64 {
	r, alpha := math.Exp(x[0]), math.Exp(x[1])
	var ll float64
	var g [2]float64
	var H [2][2]float64
	for j, s := range d.surv {
		ir := 1 / (r + float64(j))
		ll += s * math.Log(r+float64(j))
		g[0] += s * ir
		H[0][0] -= s * ir * ir
	}
	la := math.Log(alpha)
	ll += d.n * r * la
	g[0] += d.n * la
	g[1] += d.n * r / alpha
	H[0][1] += d.n / alpha
	H[1][1] -= d.n * r / (alpha * alpha)
	for k, T := range d.times {
		w, wx := d.w[k], d.wx[k]
		lT, iT := math.Log(alpha+T), 1/(alpha+T)
		ll -= (w*r + wx) * lT
		g[0] -= w * lT
		g[1] -= (w*r + wx) * iT
		H[0][1] -= w * iT
		H[1][1] += (w*r + wx) * iT * iT
	}
	toLogScale([]float64{r, alpha}, g[:], [][]float64{H[0][:], H[1][:]}, d.n, grad, hess)
	return -ll / d.n
}
