package clv

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
)

// ParetoNBD holds the parameters of the Pareto/NBD model (Schmittlein,
// Morrison & Colombo 1987): while alive a customer buys as a Poisson
// process with rate λ ~ Gamma(shape R, rate Alpha), and stays alive for an
// exponential time with rate μ ~ Gamma(shape S, rate Beta), independently.
// Unlike BG/NBD, a customer can drop out at any time, not only after a
// purchase.
type ParetoNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	S     float64 `json:"s"`
	Beta  float64 `json:"beta"`
}

// Name returns "pareto_nbd".
func (ParetoNBD) Name() string { return "pareto_nbd" }

// Validate checks that every parameter is positive and finite.
func (m ParetoNBD) Validate() error {
	return checkPositive("pareto/nbd", Named{"r", m.R}, Named{"alpha", m.Alpha}, Named{"s", m.S}, Named{"beta", m.Beta})
}

// lnTail returns ln I(τ) for a customer with x repeat purchases, where
//
//	I(τ) = ∫_τ^∞ (α+u)^−(r+x) (β+u)^−(s+1) du
//	     = (κ+τ)^−n 2F1(a, n; n+1; z) / n,   n = r+s+x, z = (κ−κ')/(κ+τ),
//
// with κ = max(α, β), κ' = min(α, β) and a = s+1 when α ≥ β, else r+x
// (the two cases of Fader, Hardie & Lee 2005, "A note on deriving the
// Pareto/NBD model"). Euler's transformation writes the 2F1 as
// (1−z)^(1−a) 2F1(n+1−a, 1; n+1; z), whose series has terms below z^k, so
// the large factor stays in the logarithm and nothing overflows. With grad
// not nil it also returns ∂ ln I/∂(r, α, s, β) in grad.
func (m ParetoNBD) lnTail(x, tau float64, grad *[4]float64) float64 {
	n := m.R + m.S + x
	la, lb := math.Log(m.Alpha+tau), math.Log(m.Beta+tau)
	ia, ib := 1/(m.Alpha+tau), 1/(m.Beta+tau)
	if m.Alpha >= m.Beta {
		z := (m.Alpha - m.Beta) * ia
		G, Ga, Gc, Gz := tailSeries(m.R+x, n+1, z, grad != nil)
		if grad != nil {
			*grad = [4]float64{
				-la - 1/n + (Ga+Gc)/G,
				(m.S-n)*ia + Gz/G*(m.Beta+tau)*ia*ia,
				-lb - 1/n + Gc/G,
				-m.S*ib - Gz/G*ia,
			}
		}
		return -n*la - math.Log(n) - m.S*(lb-la) + math.Log(G)
	}
	z := (m.Beta - m.Alpha) * ib
	G, Ga, Gc, Gz := tailSeries(m.S+1, n+1, z, grad != nil)
	if grad != nil {
		*grad = [4]float64{
			-la - 1/n + Gc/G,
			(1-m.R-x)*ia - Gz/G*ib,
			-lb - 1/n + (Ga+Gc)/G,
			(m.R+x-1-n)*ib + Gz/G*(m.Alpha+tau)*ib*ib,
		}
	}
	return -n*lb - math.Log(n) + (1-m.R-x)*(la-lb) + math.Log(G)
}

// tailSeries returns G = 2F1(a, 1; c; z) = Σ_k (a)_k/(c)_k z^k for
// 0 ≤ z < 1 and 0 < a < c and, when deriv is set, ∂G/∂a, ∂G/∂c and
// ∂G/∂z. Each term's derivatives are the term times running harmonic
// sums, ∂t_k/∂a = t_k Σ_{j<k} 1/(a+j) and ∂t_k/∂c = −t_k Σ_{j<k} 1/(c+j),
// so one pass gives all four. The ratio of consecutive terms stays below
// z, which bounds the tail: the sum stops when the bound on what is left
// is below 1e-17 of G. When the terms decay slowly (the ratio above 0.99:
// z near 1 with large a, where the power series would need up to millions
// of terms and the 1−z transformation cancels catastrophically), the rest
// of the sum is taken by Euler-Maclaurin (tailSum).
func tailSeries(a, c, z float64, deriv bool) (G, Ga, Gc, Gz float64) {
	if z == 0 {
		return 1, 0, 0, a / c
	}
	G = 1
	t, ha, hc, kz := 1.0, 0.0, 0.0, 0.0
	w := z / (1 - z) // Σ_{m≥1} z^m
	for k := 0; ; k++ {
		fk := float64(k)
		ratio := (a + fk) / (c + fk) * z
		ha += 1 / (a + fk)
		hc += 1 / (c + fk)
		t *= ratio
		G += t
		Ga += t * ha
		Gc -= t * hc
		kz += (fk + 1) * t
		// The tail of G is below t·w; those of the derivatives below
		// t·w·(harmonic sum + k + 1 + 1/(1−z)).
		if t*w*(1+ha+hc+fk+1+1/(1-z)) <= 1e-17*G {
			return G, Ga, Gc, kz / z
		}
		if ratio > 0.99 && k >= 30 {
			t0, ta, tc, tz := tailSum(a, c, z, fk+2)
			return G + t0, Ga + ta, Gc + tc, (kz + tz) / z
		}
	}
}

// tailSum returns Σ_{k≥K} f(k) and the same sums weighted by
// ψ(a+k)−ψ(a), −(ψ(c+k)−ψ(c)) and k, where f(k) = (a)_k/(c)_k z^k, by
// Euler-Maclaurin: the integral from K plus F(K)/2 − F′(K)/12 +
// F‴(K)/720 (derivatives by differences over unit steps). Past K the terms
// change by under 1% a step, so the next correction is below 1e-11 of the
// sum. The integral is done by exp-sinh quadrature,
// x = K + σ e^((π/2) sinh u) with σ the decay length of the terms at K,
// halving the step until two results agree to 1e-10 (about the accuracy
// of the differences of log-gamma functions in the terms), at most down to
// a step of 1/16, where the error of this double-exponential rule on such
// smooth integrands is far below that.
func tailSum(a, c, z, K float64) (f0, fa, fc, fz float64) {
	la, lc, lz := lgamma(a), lgamma(c), math.Log(z)
	pa, pc := mathext.Digamma(a), mathext.Digamma(c)
	F := func(x float64) [4]float64 {
		v := math.Exp(lgamma(a+x) - la - lgamma(c+x) + lc + x*lz)
		if v == 0 || math.IsNaN(v) {
			return [4]float64{}
		}
		return [4]float64{v, v * (mathext.Digamma(a+x) - pa), -v * (mathext.Digamma(c+x) - pc), v * x}
	}
	sigma := -1 / (mathext.Digamma(a+K) - mathext.Digamma(c+K) + lz)
	// Nodes u = j·h for |u| ≤ 5; each halving of h adds the odd
	// multiples only. A node whose term is below 1e-18 of the sum ends
	// its side at the coarsest level (the integrand decays on both).
	node := func(u float64) [4]float64 {
		e := math.Exp(math.Pi / 2 * math.Sinh(u))
		v := F(K + sigma*e)
		wt := sigma * math.Pi / 2 * math.Cosh(u) * e
		return [4]float64{wt * v[0], wt * v[1], wt * v[2], wt * v[3]}
	}
	var sum [4]float64
	add := func(v [4]float64) {
		for i := range sum {
			sum[i] += v[i]
		}
	}
	h := 0.5
	lo, hi := -5.0, 5.0
	add(node(0))
	for side := -1.0; side <= 1; side += 2 {
		for j := 1.0; j*h <= 5; j++ {
			v := node(side * j * h)
			add(v)
			if math.Abs(v[0]) < 1e-18*math.Abs(sum[0]) {
				if side < 0 {
					lo = -j * h
				} else {
					hi = j * h
				}
				break
			}
		}
	}
	est := sum[0] * h
	for ; h > 1.0/16; h /= 2 {
		for u := lo + h/2; u < hi; u += h {
			add(node(u))
		}
		next := sum[0] * h / 2
		if math.Abs(next-est) <= 1e-10*math.Abs(next) {
			h /= 2
			break
		}
		est = next
	}
	for i := range sum {
		sum[i] *= h
	}
	m2, m1, p0, p1, p2 := F(K-2), F(K-1), F(K), F(K+1), F(K+2)
	var out [4]float64
	for i := range out {
		d1 := (p1[i] - m1[i]) / 2
		d3 := (p2[i] - 2*p1[i] + 2*m1[i] - m2[i]) / 2
		out[i] = sum[i] + p0[i]/2 - d1/12 + d3/720
	}
	return out[0], out[1], out[2], out[3]
}

// lnG returns ln G = −(r+x) ln(α+T) − s ln(β+T): the likelihood of being
// alive at T, up to the factor all terms share.
func (m ParetoNBD) lnG(x, T float64) float64 {
	return -(m.R+x)*math.Log(m.Alpha+T) - m.S*math.Log(m.Beta+T)
}

// lnSJ returns ln(s J), J = I(t_x) − I(T): the likelihood of having dropped
// out between t_x and T, on the scale of lnG; −Inf when t_x = T.
func (m ParetoNBD) lnSJ(lnItx, lnIT float64) float64 {
	dd := lnIT - lnItx
	if !(dd < 0) {
		return math.Inf(-1)
	}
	return math.Log(m.S) + lnItx + math.Log(-math.Expm1(dd))
}

// ProbAlive returns the probability that a customer with frequency x,
// recency tx and age T is alive at T:
//
//	P(alive) = G / (G + s J)
//
// with G and J as in lnG and lnSJ (Fader, Hardie & Lee 2005, the note,
// eq. 8 written with I).
func (m ParetoNBD) ProbAlive(x, tx, T float64) float64 {
	if tx >= T {
		return 1
	}
	return 1 / (1 + math.Exp(m.lnSJ(m.lnTail(x, tx, nil), m.lnTail(x, T, nil))-m.lnG(x, T)))
}

// AliveExpected returns the expected purchases in the next t of a customer
// alive at T after x repeat purchases: the posterior mean of
// (λ/μ)(1 − e^(−μt)) with λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T),
//
//	(r+x)/(α+T) · (β+T)/(s−1) · [1 − ((β+T)/(β+T+t))^(s−1)]
//
// computed as (r+x)/(α+T) · (β+T) · (−expm1(−(s−1)L)/(s−1)),
// L = ln(1 + t/(β+T)), which stays exact at s = 1 (where it is
// (r+x)/(α+T) · (β+T) · L).
func (m ParetoNBD) AliveExpected(t, x, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	L := math.Log1p(t / (m.Beta + T))
	c := m.S - 1
	g := L
	if c != 0 {
		g = -math.Expm1(-c*L) / c
	}
	return (m.R + x) / (m.Alpha + T) * (m.Beta + T) * g
}

// ConditionalExpected returns E[Y(t) | x, t_x, T] = P(alive) ×
// AliveExpected (Schmittlein, Morrison & Colombo 1987, eq. 22).
func (m ParetoNBD) ConditionalExpected(t, x, tx, T float64) float64 {
	return m.ProbAlive(x, tx, T) * m.AliveExpected(t, x, T)
}

// Expected returns E[X(t)] = rβ/(α(s−1)) [1 − (β/(β+t))^(s−1)].
func (m ParetoNBD) Expected(t float64) float64 { return m.AliveExpected(t, 0, 0) }

// ParetoNBDFit is a maximum-likelihood fit of Pareto/NBD.
type ParetoNBDFit struct {
	Params ParetoNBD `json:"params"`
	// R, Alpha, S and Beta are the estimates with standard errors and 95%
	// intervals (NaN when the fit did not converge).
	R     Estimate `json:"r"`
	Alpha Estimate `json:"alpha"`
	S     Estimate `json:"s"`
	Beta  Estimate `json:"beta"`
	// LogLikelihood is the maximised log-likelihood (a sum over customers).
	LogLikelihood float64 `json:"log_likelihood"`
	Customers     float64 `json:"customers"`
	Groups        int     `json:"groups"`
	// Covariance is the covariance matrix of (ln r, ln α, ln s, ln β).
	Covariance [4][4]float64 `json:"covariance_log"`
	Diagnostics
}

var pnNames = []string{"r", "alpha", "s", "beta"}

// shapeUpper bounds Pareto/NBD's ln r and ln s: beyond e^7 ≈ 1100 the
// gamma distributions of the purchase and drop-out rates have a
// coefficient of variation under 3%, indistinguishable from every
// customer having the same rate, and the fit reports that the data do not
// identify the shape (a likelihood that rises towards "the same drop-out
// rate for all" has its supremum at s → ∞, where each evaluation would
// cost thousands of hypergeometric terms per customer).
const shapeUpper = 8.0

// LogLikelihood returns the Pareto/NBD log-likelihood of grouped
// customers (Fader, Hardie & Lee 2005, the note, eq. 2 written with I):
//
//	ℓ = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β + ln[(α+T)^−(r+x) (β+T)^−s + s (I(t_x) − I(T))]
func (m ParetoNBD) LogLikelihood(groups []Group) (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	d, err := newPNData(groups)
	if err != nil {
		return 0, err
	}
	return -d.eval([]float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.S), math.Log(m.Beta)}, nil, nil) * d.n, nil
}

// FitParetoNBD fits Pareto/NBD by maximum likelihood on grouped customers.
// The likelihood needs the hypergeometric function; its series carries
// the gradient along (tailSeries), so the search is BFGS, then
// Nelder-Mead, from several starts, and the Hessian of the second-order
// check comes from differences of the gradient. Each evaluation computes
// the hypergeometric part once per distinct (x, t_x) and (x, T), not per
// customer. Errors as
// FitBGNBD (ErrNoDropout towards s → 0 or β → ∞).
func FitParetoNBD(groups []Group, o FitOptions) (*ParetoNBDFit, error) {
	t0 := time.Now()
	o = o.withDefaults()
	d, err := newPNData(groups)
	if err != nil {
		return nil, err
	}
	p := &problem{dim: 4, fgh: d.eval, names: pnNames, upper: []float64{shapeUpper, 0, shapeUpper, 0}, n: d.n}
	sol := sampled(p, func() *problem {
		sd, err := newPNData(sampleGroups(groups))
		if err != nil {
			return nil
		}
		return &problem{dim: 4, fgh: sd.eval, names: pnNames, upper: p.upper, n: sd.n}
	}, d.starts(), d.n, len(d.rows)+len(d.slots), o)
	fit := &ParetoNBDFit{Customers: d.n, Groups: len(groups)}
	if sol.x != nil {
		est := estimates(sol.x, sol.cov)
		fit.Params = ParetoNBD{R: est[0].Value, Alpha: est[1].Value, S: est[2].Value, Beta: est[3].Value}
		fit.R, fit.Alpha, fit.S, fit.Beta = est[0], est[1], est[2], est[3]
		fit.LogLikelihood = -sol.f * d.n
		if sol.cov != nil {
			for i := range 4 {
				for j := range 4 {
					fit.Covariance[i][j] = sol.cov.At(i, j)
				}
			}
		}
	}
	sol.diag.Evaluations = p.evals
	sol.diag.Duration = time.Since(t0)
	fit.Diagnostics = sol.diag
	if !fit.Converged {
		if sol.x != nil && noDropout(groups, fit.LogLikelihood, d.n, o) {
			fit.Message = fmt.Sprintf("the likelihood keeps rising towards a model where nobody drops out (s → 0 or β → ∞; the search ended at s = %.3g, β = %.3g), whose limit is NBD: %s",
				fit.Params.S, fit.Params.Beta, fit.Message)
			return fit, fmt.Errorf("fitting Pareto/NBD: %w (%w): %s", ErrNotConverged, ErrNoDropout, fit.Message)
		}
		return fit, fmt.Errorf("fitting Pareto/NBD: %w: %s", ErrNotConverged, fit.Message)
	}
	return fit, nil
}

// pnData is grouped data arranged for Pareto/NBD evaluations: the
// customers' distinct (x, τ) for τ in {t_x, T} ("slots", where I(τ) is
// computed once per evaluation) and per group the indices of its slots.
type pnData struct {
	n, sumX, sumT float64
	surv          []float64
	slots         []pnSlot
	rows          []pnRow
	times         []float64 // distinct T
}

type pnSlot struct{ x, tau float64 }

type pnRow struct {
	w, x    float64
	iT      int32 // index of T in times
	sTx, sT int32 // slots of (x, t_x) and (x, T); −1 when t_x = T
}

func newPNData(groups []Group) (*pnData, error) {
	d := &pnData{}
	slot := map[pnSlot]int32{}
	of := func(x, tau float64) int32 {
		k := pnSlot{x, tau}
		i, ok := slot[k]
		if !ok {
			i = int32(len(d.slots))
			slot[k] = i
			d.slots = append(d.slots, k)
		}
		return i
	}
	maxX := 0
	ti := map[float64]int32{}
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
		d.n += g.N
		d.sumX += g.N * g.X
		d.sumT += g.N * g.T
		maxX = max(maxX, int(g.X))
		iT, ok := ti[g.T]
		if !ok {
			iT = int32(len(d.times))
			ti[g.T] = iT
			d.times = append(d.times, g.T)
		}
		r := pnRow{w: g.N, x: g.X, iT: iT, sTx: -1, sT: -1}
		if g.Tx < g.T {
			r.sTx, r.sT = of(g.X, g.Tx), of(g.X, g.T)
		}
		d.rows = append(d.rows, r)
	}
	switch {
	case d.n == 0:
		return nil, fmt.Errorf("fitting Pareto/NBD: %w: no customers", ErrNoData)
	case maxX == 0:
		return nil, fmt.Errorf("fitting Pareto/NBD: %w: no customer made a repeat purchase", ErrNoData)
	case d.sumT == 0:
		return nil, fmt.Errorf("fitting Pareto/NBD: %w: every customer has T = 0", ErrNoData)
	}
	d.surv = survivors(groups, maxX)
	return d, nil
}

// starts: the mean purchase rate sets α for a given r, the mean age T̄
// sets β for a given s (a mean lifetime β/(s−1) of the order of T̄).
func (d *pnData) starts() []start {
	rate := d.sumX / d.sumT
	meanT := d.sumT / d.n
	l := math.Log
	return []start{
		{name: "moderate", x: []float64{0, l(1 / rate), 0, l(meanT)}},
		{name: "heterogeneous", x: []float64{l(0.5), l(0.5 / rate), l(0.5), l(0.5 * meanT)}},
		{name: "homogeneous", x: []float64{l(2), l(2 / rate), l(2), l(4 * meanT)}},
		{name: "little drop-out", x: []float64{l(0.5), l(0.5 / rate), l(0.2), l(10 * meanT)}},
	}
}

// pnChunk is the size of the chunks summed in parallel (fixed, so sums are
// the same on any number of CPUs).
const pnChunk = 8192

// pnPartial is one chunk's log-likelihood and gradient in (r, α, s, β).
type pnPartial struct {
	ll float64
	g  [4]float64
}

// eval returns the mean negative log-likelihood per customer at log
// parameters x and fills grad (hess is not computed: the caller
// differences the gradient). Per row, with lnG and lnSJ as in ProbAlive,
// ln D = LSE(lnG, lnSJ) and ∇ln D = π1 ∇lnG + π2 ∇lnSJ, where
// ∇lnSJ = ∇ln s + (1+q) ∇lnI(t_x) − q ∇lnI(T), q = 1/expm1(lnI(t_x) − lnI(T)).
func (d *pnData) eval(x, grad []float64, _ *mat.SymDense) float64 {
	m := ParetoNBD{R: math.Exp(x[0]), Alpha: math.Exp(x[1]), S: math.Exp(x[2]), Beta: math.Exp(x[3])}
	withG := grad != nil
	lnI := make([]float64, len(d.slots))
	var dI [][4]float64
	if withG {
		dI = make([][4]float64, len(d.slots))
	}
	parallel((len(d.slots)+pnChunk-1)/pnChunk, func(c int) {
		for k := c * pnChunk; k < min((c+1)*pnChunk, len(d.slots)); k++ {
			var g *[4]float64
			if withG {
				g = &dI[k]
			}
			lnI[k] = m.lnTail(d.slots[k].x, d.slots[k].tau, g)
		}
	})
	la, lb := make([]float64, len(d.times)), make([]float64, len(d.times))
	for i, T := range d.times {
		la[i], lb[i] = math.Log(m.Alpha+T), math.Log(m.Beta+T)
	}
	lns := math.Log(m.S)
	parts := make([]pnPartial, (len(d.rows)+pnChunk-1)/pnChunk)
	parallel(len(parts), func(c int) {
		var p pnPartial
		for _, r := range d.rows[c*pnChunk : min((c+1)*pnChunk, len(d.rows))] {
			lnG := -(m.R+r.x)*la[r.iT] - m.S*lb[r.iT]
			lnD, p2 := lnG, 0.0
			var dd float64
			if r.sT >= 0 {
				dd = lnI[r.sT] - lnI[r.sTx]
			}
			if dd < 0 {
				lnSJ := lns + lnI[r.sTx] + math.Log(-math.Expm1(dd))
				// ln D = LSE(lnG, lnSJ) with one exponential.
				if lnSJ <= lnG {
					e := math.Exp(lnSJ - lnG)
					lnD, p2 = lnG+math.Log1p(e), e/(1+e)
				} else {
					e := math.Exp(lnG - lnSJ)
					lnD, p2 = lnSJ+math.Log1p(e), 1/(1+e)
				}
			}
			p.ll += r.w * lnD
			if !withG {
				continue
			}
			T := d.times[r.iT]
			p1 := 1 - p2
			p.g[0] -= r.w * p1 * la[r.iT]
			p.g[1] -= r.w * p1 * (m.R + r.x) / (m.Alpha + T)
			p.g[2] -= r.w * p1 * lb[r.iT]
			p.g[3] -= r.w * p1 * m.S / (m.Beta + T)
			if p2 == 0 {
				continue
			}
			q := 1 / math.Expm1(-dd)
			a, b := &dI[r.sTx], &dI[r.sT]
			for i := range 4 {
				p.g[i] += r.w * p2 * ((1+q)*a[i] - q*b[i])
			}
			p.g[2] += r.w * p2 / m.S
		}
		parts[c] = p
	})
	ll := d.n * (m.R*x[1] + m.S*x[3])
	g := [4]float64{d.n * x[1], d.n * m.R / m.Alpha, d.n * x[3], d.n * m.S / m.Beta}
	for j, s := range d.surv {
		ll += s * math.Log(m.R+float64(j))
		g[0] += s / (m.R + float64(j))
	}
	for _, p := range parts {
		ll += p.ll
		for i := range 4 {
			g[i] += p.g[i]
		}
	}
	if withG {
		toLogScale([]float64{m.R, m.Alpha, m.S, m.Beta}, g[:], nil, d.n, grad, nil)
	}
	return -ll / d.n
}
