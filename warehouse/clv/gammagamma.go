package clv

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
)

// GammaGamma holds the parameters of the Gamma-Gamma spend model (Fader,
// Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999): each
// transaction's value is Gamma(shape P, rate ν) with ν ~ Gamma(shape Q,
// rate Gamma) per customer, so a customer's mean value is P/ν and the
// population's mean P·Gamma/(Q−1).
type GammaGamma struct {
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
}

// Spend is a fitted model of the value of a purchase day: GammaGamma, or
// PooledSpend, its limit when customers do not differ in what they spend.
type Spend interface {
	// Name is "gamma_gamma" or "pooled_spend".
	Name() string
	// ExpectedSpend is the expected value of a customer's purchase day
	// given x repeat purchase days with mean value m.
	ExpectedSpend(x, m float64) float64
	// Mean is the population's mean value of a purchase day.
	Mean() float64
	// Validate checks the parameters, and that the mean is finite.
	Validate() error
}

// Name returns "gamma_gamma".
func (GammaGamma) Name() string { return "gamma_gamma" }

// Validate checks that every parameter is positive and finite, and that
// q > 1 (ErrInfiniteSpend otherwise).
func (g GammaGamma) Validate() error {
	if err := checkPositive("gamma-gamma", Named{"p", g.P}, Named{"q", g.Q}, Named{"gamma", g.Gamma}); err != nil {
		return err
	}
	if g.Q <= 1 {
		return fmt.Errorf("%w (q = %g)", ErrInfiniteSpend, g.Q)
	}
	return nil
}

// PooledSpend is the limit of Gamma-Gamma as q and γ grow together (ν the
// same for every customer): every customer's expected spend per purchase
// day is the population's, whose maximum-likelihood estimate is the pooled
// mean Σ x m_x / Σ x of the repeat purchase days. The model to fall back
// on when the Gamma-Gamma fit does not identify q (ErrNoSpendSpread) or
// finds q ≤ 1 (an infinite mean).
type PooledSpend struct {
	Value float64 `json:"mean"`
}

// Name returns "pooled_spend".
func (PooledSpend) Name() string { return "pooled_spend" }

// ExpectedSpend is the pooled mean, whatever the customer's history.
func (p PooledSpend) ExpectedSpend(x, m float64) float64 { return p.Value }

// Mean is the pooled mean.
func (p PooledSpend) Mean() float64 { return p.Value }

// Validate checks that the mean is positive and finite.
func (p PooledSpend) Validate() error { return checkPositive("pooled spend", Named{"mean", p.Value}) }

// FitPooledSpend returns the pooled mean of the repeat purchase days of
// the customers with X ≥ 1 and positive Monetary (ErrNoData without any).
func FitPooledSpend(customers []Summary) (PooledSpend, error) {
	var sx, sxm float64
	for _, c := range customers {
		if c.X >= 1 && c.Monetary > 0 && !math.IsInf(c.Monetary, 0) {
			sx += c.X
			sxm += c.X * c.Monetary
		}
	}
	if sx == 0 {
		return PooledSpend{}, fmt.Errorf("pooling spend: %w: no repeat customer with a positive mean value", ErrNoData)
	}
	return PooledSpend{Value: sxm / sx}, nil
}

// Mean returns the population's mean transaction value P·Gamma/(Q−1), or
// NaN when Q ≤ 1 (the mean is infinite).
func (g GammaGamma) Mean() float64 {
	if g.Q <= 1 {
		return math.NaN()
	}
	return g.P * g.Gamma / (g.Q - 1)
}

// ExpectedSpend returns the expected value of a customer's transactions
// given x repeat transactions with mean value m (FHL 2005 "RFM and CLV",
// eq. 5):
//
//	E[Z | x, m] = P(Gamma + x·m) / (P·x + Q − 1)
//
// a weighted average of the population mean and the customer's own mean.
// With x = 0, or m not positive, it is the population mean. NaN when
// Q ≤ 1.
func (g GammaGamma) ExpectedSpend(x, m float64) float64 {
	if g.Q <= 1 {
		return math.NaN()
	}
	if !(x > 0) || !(m > 0) || math.IsInf(m, 0) {
		return g.Mean()
	}
	return g.P * (g.Gamma + x*m) / (g.P*x + g.Q - 1)
}

// GammaGammaFit is a maximum-likelihood fit of Gamma-Gamma.
type GammaGammaFit struct {
	Params GammaGamma `json:"params"`
	// P, Q and Gamma are the estimates with standard errors and 95%
	// intervals (NaN when the fit did not converge).
	P     Estimate `json:"p"`
	Q     Estimate `json:"q"`
	Gamma Estimate `json:"gamma"`
	// LogLikelihood is the maximised log-likelihood of the repeat
	// customers' mean values.
	LogLikelihood float64 `json:"log_likelihood"`
	// Customers is the number of repeat customers fitted on; Excluded
	// those with repeat purchases whose mean value was not positive.
	Customers int `json:"customers"`
	Excluded  int `json:"excluded"`
	// Correlation is Pearson's correlation between frequency x and mean
	// value m over the repeat customers. The model assumes they are
	// independent; far from 0 (say beyond ±0.3) the model is suspect.
	Correlation float64 `json:"correlation"`
	// Covariance is the covariance of (ln p, ln q, ln γ) (zero when the fit
	// did not converge).
	Covariance [3][3]float64 `json:"covariance_log"`
	Diagnostics
}

var ggNames = []string{"p", "q", "gamma"}

// MarshalJSON writes an undefined correlation (NaN) as null.
func (f GammaGammaFit) MarshalJSON() ([]byte, error) {
	type plain GammaGammaFit
	return json.Marshal(struct {
		plain
		Correlation *float64 `json:"correlation"`
	}{plain(f), finite(f.Correlation)})
}

// FitGammaGamma fits Gamma-Gamma by maximum likelihood on the customers
// with X ≥ 1 repeat purchases and a positive Monetary value, the mean of
// their X repeat transactions (each customer's likelihood is that of a
// mean of X values, so customers weigh by their frequency), searched for
// as FitBGNBD does, with the analytic gradient and Hessian;
// errors as FitBGNBD.
func FitGammaGamma(customers []Summary, o FitOptions) (*GammaGammaFit, error) {
	t0 := time.Now()
	o = o.withDefaults()
	d, err := newGGData(customers)
	if err != nil {
		return nil, err
	}
	p := &problem{dim: 3, fgh: d.eval, hess: true, names: ggNames, n: d.n}
	sol := sampled(p, func() *problem {
		var sc []Summary
		for i := 0; i < len(customers); i += sampleEvery {
			sc = append(sc, customers[i])
		}
		sd, err := newGGData(sc)
		if err != nil {
			return nil
		}
		return &problem{dim: 3, fgh: sd.eval, hess: true, names: ggNames, n: sd.n}
	}, d.starts(), d.n, len(d.x), o)
	fit := &GammaGammaFit{Customers: len(d.x), Excluded: d.excluded, Correlation: d.correlation()}
	if sol.x != nil {
		est := estimates(sol.x, sol.cov)
		fit.Params = GammaGamma{P: est[0].Value, Q: est[1].Value, Gamma: est[2].Value}
		fit.P, fit.Q, fit.Gamma = est[0], est[1], est[2]
		fit.LogLikelihood = -sol.f * d.n
		if sol.cov != nil {
			for i := range 3 {
				for j := range 3 {
					fit.Covariance[i][j] = sol.cov.At(i, j)
				}
			}
		}
	}
	sol.diag.Evaluations = p.evals
	sol.diag.Duration = time.Since(t0)
	fit.Diagnostics = sol.diag
	if !fit.Converged {
		if sol.x != nil && sol.x[1] > atBound {
			return fit, fmt.Errorf("fitting Gamma-Gamma: %w (%w): %s", ErrNotConverged, ErrNoSpendSpread, fit.Message)
		}
		return fit, fmt.Errorf("fitting Gamma-Gamma: %w: %s", ErrNotConverged, fit.Message)
	}
	return fit, nil
}

// LogLikelihood returns the Gamma-Gamma log-likelihood of the customers
// with X ≥ 1 and positive Monetary.
func (g GammaGamma) LogLikelihood(customers []Summary) (float64, error) {
	if err := g.Validate(); err != nil {
		return 0, err
	}
	d, err := newGGData(customers)
	if err != nil {
		return 0, err
	}
	x := []float64{math.Log(g.P), math.Log(g.Q), math.Log(g.Gamma)}
	return -d.eval(x, make([]float64, 3), nil) * d.n, nil
}

// ggData holds the repeat customers arranged for fast evaluations. One
// customer's log-likelihood is
//
//	ℓ = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln m + px ln x
//	    − (px+q) ln(γ + x m)
//
// Everything but the last term is a function of per-x counts and of sums
// fixed by the data; the last needs Σ ln(γ+s) and Σ x ln(γ+s) over
// customers (s = x m) at each γ, one logarithm per customer.
type ggData struct {
	n        float64
	x, s     []float64 // frequency and total repeat value x·m
	counts   []float64 // customers by x
	sumLnM   float64   // Σ ln m
	sumXLnM  float64   // Σ x ln m
	sumXLnX  float64   // Σ x ln x
	meanM    float64
	excluded int
}

func newGGData(customers []Summary) (*ggData, error) {
	d := &ggData{}
	nrep := 0
	for _, c := range customers {
		if c.X >= 1 {
			nrep++
		}
	}
	d.x, d.s = make([]float64, 0, nrep), make([]float64, 0, nrep)
	maxX := 0
	for i, c := range customers {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("customer %d: %w", i, err)
		}
		if c.X < 1 {
			continue
		}
		if !(c.Monetary > 0) || math.IsInf(c.Monetary, 0) {
			d.excluded++
			continue
		}
		d.x = append(d.x, c.X)
		d.s = append(d.s, c.X*c.Monetary)
		lm := math.Log(c.Monetary)
		d.sumLnM += lm
		d.sumXLnM += c.X * lm
		d.sumXLnX += c.X * math.Log(c.X)
		d.meanM += c.Monetary
		maxX = max(maxX, int(c.X))
	}
	if len(d.x) < 2 {
		return nil, fmt.Errorf("fitting Gamma-Gamma: %w: %d repeat customers with a positive mean value", ErrNoData, len(d.x))
	}
	d.n = float64(len(d.x))
	d.meanM /= d.n
	d.counts = make([]float64, maxX+1)
	for _, x := range d.x {
		d.counts[int(x)]++
	}
	return d, nil
}

func (d *ggData) starts() []start {
	l := math.Log
	// γ from the mean: E[m] ≈ pγ/(q−1).
	return []start{
		{name: "moderate", x: []float64{l(2), l(3), l(d.meanM)}},
		{name: "heavy tail", x: []float64{l(1), l(2), l(d.meanM)}},
		{name: "light tail", x: []float64{l(5), l(5), l(d.meanM * 4 / 5)}},
		{name: "little spread", x: []float64{l(20), l(20), l(d.meanM * 19 / 20)}},
	}
}

// ggChunk is the size of the chunks of customers summed in parallel.
const ggChunk = 32768

// ggPartial holds one chunk's Σ ln(γ+s), Σ x ln(γ+s), Σ 1/(γ+s),
// Σ x/(γ+s), Σ 1/(γ+s)², Σ x/(γ+s)².
type ggPartial struct{ l0, l1, r0, r1, q0, q1 float64 }

// eval returns the mean negative log-likelihood per customer at log
// parameters x, its gradient and, when hess is not nil, its Hessian.
func (d *ggData) eval(x, grad []float64, hess *mat.SymDense) float64 {
	p, q, g := math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2])
	parts := make([]ggPartial, (len(d.x)+ggChunk-1)/ggChunk)
	parallel(len(parts), func(c int) {
		var pt ggPartial
		end := min((c+1)*ggChunk, len(d.x))
		xs, ss := d.x[c*ggChunk:end], d.s[c*ggChunk:end]
		for i, s := range ss {
			l := math.Log(g + s)
			inv := 1 / (g + s)
			pt.l0 += l
			pt.l1 += xs[i] * l
			pt.r0 += inv
			pt.r1 += xs[i] * inv
			pt.q0 += inv * inv
			pt.q1 += xs[i] * inv * inv
		}
		parts[c] = pt
	})
	var S ggPartial
	for _, pt := range parts {
		S.l0 += pt.l0
		S.l1 += pt.l1
		S.r0 += pt.r0
		S.r1 += pt.r1
		S.q0 += pt.q0
		S.q1 += pt.q1
	}
	var ll, gp, gq, hpp, hpq, hqq float64
	for xi, c := range d.counts {
		if c == 0 {
			continue
		}
		fx := float64(xi)
		a, b := p*fx+q, p*fx
		la, _ := math.Lgamma(a)
		lb, _ := math.Lgamma(b)
		da, db := mathext.Digamma(a), mathext.Digamma(b)
		ll += c * (la - lb)
		gp += c * fx * (da - db)
		gq += c * da
		if hess != nil {
			ta, tb := trigamma(a), trigamma(b)
			hpp += c * fx * fx * (ta - tb)
			hpq += c * fx * ta
			hqq += c * ta
		}
	}
	n := d.n
	lq, _ := math.Lgamma(q)
	lg := math.Log(g)
	ll += -n*lq + n*q*lg + p*d.sumXLnM - d.sumLnM + p*d.sumXLnX - p*S.l1 - q*S.l0
	gp += d.sumXLnM + d.sumXLnX - S.l1
	gq += -n*mathext.Digamma(q) + n*lg - S.l0
	gg := n*q/g - p*S.r1 - q*S.r0
	H := [][]float64{
		{hpp, hpq, -S.r1},
		{0, hqq - n*trigamma(q), n/g - S.r0},
		{0, 0, -n*q/(g*g) + p*S.q1 + q*S.q0},
	}
	toLogScale([]float64{p, q, g}, []float64{gp, gq, gg}, H, n, grad, hess)
	return -ll / n
}

// correlation is Pearson's r between x and m = s/x.
func (d *ggData) correlation() float64 {
	var mx, mm float64
	for i, x := range d.x {
		mx += x
		mm += d.s[i] / x
	}
	mx /= d.n
	mm /= d.n
	var sxy, sxx, syy float64
	for i, x := range d.x {
		dx, dy := x-mx, d.s[i]/x-mm
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}
