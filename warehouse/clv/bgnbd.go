package clv

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"gonum.org/v1/gonum/mat"
)

// BGNBD holds the parameters of the BG/NBD model (Fader, Hardie & Lee
// 2005, "Counting your customers the easy way"): while alive a customer
// buys as a Poisson process with rate λ ~ Gamma(shape R, rate Alpha) per
// time unit, and after each repeat purchase drops out with probability
// p ~ Beta(A, B).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// Name returns "bgnbd".
func (BGNBD) Name() string { return "bgnbd" }

// Validate checks that every parameter is positive and finite.
func (m BGNBD) Validate() error {
	return checkPositive("bg/nbd", Named{"r", m.R}, Named{"alpha", m.Alpha}, Named{"a", m.A}, Named{"b", m.B})
}

// BGNBDFit is a maximum-likelihood fit of BG/NBD.
type BGNBDFit struct {
	// Params are the point estimates.
	Params BGNBD `json:"params"`
	// R, Alpha, A and B are the estimates with standard errors and 95%
	// intervals (NaN when the fit did not converge).
	R     Estimate `json:"r"`
	Alpha Estimate `json:"alpha"`
	A     Estimate `json:"a"`
	B     Estimate `json:"b"`
	// LogLikelihood is the maximised log-likelihood (a sum over customers).
	LogLikelihood float64 `json:"log_likelihood"`
	// Customers is the total weight of the groups; Groups their number.
	Customers float64 `json:"customers"`
	Groups    int     `json:"groups"`
	// Covariance is the covariance matrix of (ln r, ln α, ln a, ln b)
	// (zero when the fit did not converge).
	Covariance [4][4]float64 `json:"covariance_log"`
	Diagnostics
}

var bgNames = []string{"r", "alpha", "a", "b"}

// FitBGNBD fits BG/NBD by maximum likelihood on grouped customers (see
// GroupSummaries): Newton, BFGS and Nelder-Mead on the log parameters
// from several starting points, with the analytic gradient and Hessian;
// the best proper maximum wins (minimise). A fit that does not reach one
// is returned together with an error wrapping ErrNotConverged, and also
// ErrNoDropout when the search runs off towards "nobody drops out" (a → 0
// or b → ∞: no proper maximum, and the limiting model NBD, FitNBD, does
// as well as the best point found); too little data gives ErrNoData.
func FitBGNBD(groups []Group, o FitOptions) (*BGNBDFit, error) {
	t0 := time.Now()
	o = o.withDefaults()
	d, err := newBGData(groups)
	if err != nil {
		return nil, err
	}
	p := &problem{dim: 4, fgh: d.eval, hess: true, names: bgNames, n: d.n}
	sol := sampled(p, func() *problem {
		sd, err := newBGData(sampleGroups(groups))
		if err != nil {
			return nil
		}
		return &problem{dim: 4, fgh: sd.eval, hess: true, names: bgNames, n: sd.n}
	}, d.starts(), d.n, len(d.rep)+len(d.times), o)
	fit := &BGNBDFit{Customers: d.n, Groups: len(groups)}
	if sol.x != nil {
		est := estimates(sol.x, sol.cov)
		fit.Params = BGNBD{R: est[0].Value, Alpha: est[1].Value, A: est[2].Value, B: est[3].Value}
		fit.R, fit.Alpha, fit.A, fit.B = est[0], est[1], est[2], est[3]
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
			fit.Message = fmt.Sprintf("the likelihood keeps rising towards a model where nobody drops out (a → 0 or b → ∞; the search ended at a = %.3g, b = %.3g), whose limit is NBD: %s",
				fit.Params.A, fit.Params.B, fit.Message)
			return fit, fmt.Errorf("fitting BG/NBD: %w (%w): %s", ErrNotConverged, ErrNoDropout, fit.Message)
		}
		return fit, fmt.Errorf("fitting BG/NBD: %w: %s", ErrNotConverged, fit.Message)
	}
	return fit, nil
}

// sampleGroups returns every sampleEvery-th group, its weight multiplied
// by sampleEvery.
func sampleGroups(groups []Group) []Group {
	out := make([]Group, 0, len(groups)/sampleEvery+1)
	for i := 0; i < len(groups); i += sampleEvery {
		g := groups[i]
		g.N *= sampleEvery
		out = append(out, g)
	}
	return out
}

// noDropout reports whether a fit that found no proper maximum ended where
// the limiting NBD model is: NBD converges and its log-likelihood is at
// least ll (to 1e-9 per customer), so the supremum is the limit "nobody
// drops out".
func noDropout(groups []Group, ll, n float64, o FitOptions) bool {
	nbd, err := FitNBD(groups, o)
	return err == nil && nbd.LogLikelihood >= ll-1e-6-1e-9*n
}

// LogLikelihood returns the BG/NBD log-likelihood of grouped customers
// (the sum over customers, each group counted N times).
func (m BGNBD) LogLikelihood(groups []Group) (float64, error) {
	if err := m.Validate(); err != nil {
		return 0, err
	}
	d, err := newBGData(groups)
	if err != nil {
		return 0, err
	}
	x := []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}
	return -d.eval(x, make([]float64, 4), nil) * d.n, nil
}

// bgData is grouped data arranged for fast likelihood evaluations.
//
// The log-likelihood of one customer (Fader, Hardie & Lee 2005, eq. 6) is
//
//	ℓ = Σ_{j<x} [ln(r+j) + ln(b+j) − ln(a+b+j)] + r ln α + ln D
//	D = (α+T)^−(r+x) + 1{x>0} a/(b+x−1) (α+t_x)^−(r+x)
//
// (the gamma and beta function ratios written as products, which they are
// for whole x). Summed over customers the first part is
// Σ_j S_j [ln(r+j) + ln(b+j) − ln(a+b+j)] with S_j the number of customers
// with x > j, so only ln D needs a pass over the groups, and ln(α+τ) is
// computed once per distinct time τ.
type bgData struct {
	n     float64   // customers
	surv  []float64 // S_j, j < max x
	times []float64 // distinct times (T and t_x)
	w0    []float64 // weight of the x = 0 groups, by index of T in times
	rep   []repGroup
	sumX  float64 // Σ x
	sumT  float64 // Σ T
}

type repGroup struct {
	w       float64
	x       int32
	iT, iTx int32
}

func newBGData(groups []Group) (*bgData, error) {
	d := &bgData{}
	nrep := 0
	for _, g := range groups {
		if g.X > 0 {
			nrep++
		}
	}
	d.rep = make([]repGroup, 0, nrep)
	maxX := 0
	timeIdx := newTimeIndex(groups)
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
		if g.X >= math.MaxInt32 {
			return nil, fmt.Errorf("group %d: x = %v is too large", i, g.X)
		}
		d.n += g.N
		d.sumX += g.N * g.X
		d.sumT += g.N * g.T
		x := int(g.X)
		maxX = max(maxX, x)
		if x == 0 {
			continue
		}
		d.rep = append(d.rep, repGroup{w: g.N, x: int32(x), iT: timeIdx.of(g.T), iTx: timeIdx.of(g.Tx)})
	}
	if d.n == 0 {
		return nil, fmt.Errorf("fitting BG/NBD: %w: no customers", ErrNoData)
	}
	if maxX == 0 {
		return nil, fmt.Errorf("fitting BG/NBD: %w: no customer made a repeat purchase", ErrNoData)
	}
	if d.sumT == 0 {
		return nil, fmt.Errorf("fitting BG/NBD: %w: every customer has T = 0", ErrNoData)
	}
	d.times = timeIdx.values
	d.w0 = make([]float64, len(d.times))
	for _, g := range groups {
		if g.N > 0 && g.X == 0 {
			d.w0[timeIdx.of(g.T)] += g.N
		}
	}
	d.surv = survivors(groups, maxX)
	return d, nil
}

// timeIndex numbers distinct times: whole numbers below a limit index an
// array directly, anything else goes through a map.
type timeIndex struct {
	dense  bool
	values []float64
	m      map[float64]int32
}

func newTimeIndex(groups []Group) *timeIndex {
	ti := &timeIndex{dense: true}
	var top float64
	for _, g := range groups {
		for _, v := range []float64{g.T, g.Tx} {
			if !(v >= 0) || v != math.Trunc(v) || v > 1<<22 {
				ti.dense = false
			}
			top = math.Max(top, v)
		}
	}
	if ti.dense && top <= float64(4*len(groups)+4096) {
		ti.values = make([]float64, int(top)+1)
		for i := range ti.values {
			ti.values[i] = float64(i)
		}
		return ti
	}
	ti.dense = false
	ti.m = map[float64]int32{}
	for _, g := range groups {
		for _, v := range []float64{g.T, g.Tx} {
			if _, ok := ti.m[v]; !ok {
				ti.m[v] = int32(len(ti.values))
				ti.values = append(ti.values, v)
			}
		}
	}
	return ti
}

func (ti *timeIndex) of(v float64) int32 {
	if ti.dense {
		return int32(v)
	}
	return ti.m[v]
}

// starts returns the starting points in log parameters (docs/clv.md): the
// mean purchase rate Σx/ΣT sets α for a given r; a and b range from
// strong to weak drop-out.
func (d *bgData) starts() []start {
	rate := d.sumX / d.sumT
	if !(rate > 0) {
		rate = 1 / (d.sumT / d.n)
	}
	l := math.Log
	return []start{
		{name: "moderate", x: []float64{0, l(1 / rate), 0, l(3)}},
		{name: "heterogeneous", x: []float64{l(0.5), l(0.5 / rate), l(0.5), l(1)}},
		{name: "homogeneous", x: []float64{l(2), l(2 / rate), l(2), l(10)}},
		{name: "little drop-out", x: []float64{l(0.25), l(0.25 / rate), l(0.1), l(20)}},
	}
}

// bgChunk is the size of the chunks of repeat groups summed in parallel.
// The split depends only on the data, so sums are the same on any number
// of CPUs.
const bgChunk = 16384

// bgPartial holds one chunk's sums: the log-likelihood, the gradient in
// (r, α, a, b) (a's as Σ w π2, divided by a later) and the Hessian's upper
// triangle (the a-terms likewise scaled later).
type bgPartial struct {
	ll                 float64
	gr, gal, sumP2, gb float64
	h                  [10]float64 // rr, rα, ra, rb, αα, αa, αb, aa, ab, bb
}

// eval returns the mean negative log-likelihood per customer at log
// parameters x, its gradient and, when hess is not nil, its Hessian.
//
// Per repeat group, with u = −(r+x) ln(α+T), v = ln a − ln(b+x−1) −
// (r+x) ln(α+t_x), ln D = LSE(u, v) and π1 = e^u/D, π2 = e^v/D:
//
//	∇ ln D  = π1 ∇u + π2 ∇v
//	∇² ln D = π1 ∇²u + π2 ∇²v + π1 π2 (∇u − ∇v)(∇u − ∇v)ᵀ
func (d *bgData) eval(x, grad []float64, hess *mat.SymDense) float64 {
	r, alpha, a, b := math.Exp(x[0]), math.Exp(x[1]), math.Exp(x[2]), math.Exp(x[3])
	withH := hess != nil
	// Per distinct time: ln(α+τ) and 1/(α+τ).
	lnA := make([]float64, len(d.times))
	invA := make([]float64, len(d.times))
	for i, tau := range d.times {
		lnA[i] = math.Log(alpha + tau)
		invA[i] = 1 / (alpha + tau)
	}
	// The whole-x part, and ln(b+j), 1/(b+j) for the second term of D.
	maxX := len(d.surv)
	lnB := make([]float64, maxX)
	invB := make([]float64, maxX)
	var ll float64
	var g [4]float64
	var H [4][4]float64
	for j, s := range d.surv {
		fj := float64(j)
		lnB[j] = math.Log(b + fj)
		invB[j] = 1 / (b + fj)
		if s == 0 {
			continue
		}
		iab := 1 / (a + b + fj)
		ir := 1 / (r + fj)
		ll += s * (math.Log(r+fj) + lnB[j] - math.Log(a+b+fj))
		g[0] += s * ir
		g[2] -= s * iab
		g[3] += s * (invB[j] - iab)
		H[0][0] -= s * ir * ir
		H[2][2] += s * iab * iab
		H[2][3] += s * iab * iab
		H[3][3] += s * (iab*iab - invB[j]*invB[j])
	}
	la := math.Log(alpha)
	ll += d.n * r * la
	g[0] += d.n * la
	g[1] += d.n * r / alpha
	H[0][1] += d.n / alpha
	H[1][1] -= d.n * r / (alpha * alpha)
	// x = 0: ln D = −r ln(α+T).
	for i, w := range d.w0 {
		if w == 0 {
			continue
		}
		ll -= w * r * lnA[i]
		g[0] -= w * lnA[i]
		g[1] -= w * r * invA[i]
		H[0][1] -= w * invA[i]
		H[1][1] += w * r * invA[i] * invA[i]
	}
	// x > 0, in parallel chunks.
	lna := math.Log(a)
	parts := make([]bgPartial, (len(d.rep)+bgChunk-1)/bgChunk)
	pass := func(c int) {
		var p bgPartial
		end := min((c+1)*bgChunk, len(d.rep))
		for _, gr := range d.rep[c*bgChunk : end] {
			w := gr.w
			n := r + float64(gr.x)
			lT, lTx := lnA[gr.iT], lnA[gr.iTx]
			iT, iTx := invA[gr.iT], invA[gr.iTx]
			iB := invB[gr.x-1]
			u := -n * lT
			v := lna - lnB[gr.x-1] - n*lTx
			// ln D by log-sum-exp. e is in (0, 1], so ln(1+e) is exact to
			// rounding without Log1p (which, unlike Log, has no assembly
			// version and would double the cost of the pass).
			var lnD, p1, p2 float64
			if u >= v {
				e := math.Exp(v - u)
				lnD = u + math.Log(1+e)
				p2 = e / (1 + e)
				p1 = 1 - p2
			} else {
				e := math.Exp(u - v)
				lnD = v + math.Log(1+e)
				p1 = e / (1 + e)
				p2 = 1 - p1
			}
			p.ll += w * lnD
			p.gr -= w * (p1*lT + p2*lTx)
			p.gal -= w * n * (p1*iT + p2*iTx)
			p.sumP2 += w * p2
			p.gb -= w * p2 * iB
			if !withH {
				continue
			}
			// ∇u − ∇v = (ln(α+t_x) − ln(α+T), −n(1/(α+T) − 1/(α+t_x)), −1/a, 1/(b+x−1));
			// the a-component's 1/a is applied after the sum.
			dr, dal, db := lTx-lT, -n*(iT-iTx), iB
			k := w * p1 * p2
			p.h[0] += k * dr * dr
			p.h[1] += k*dr*dal - w*(p1*iT+p2*iTx)
			p.h[2] -= k * dr
			p.h[3] += k * dr * db
			p.h[4] += k*dal*dal + w*n*(p1*iT*iT+p2*iTx*iTx)
			p.h[5] -= k * dal
			p.h[6] += k * dal * db
			p.h[7] += k - w*p2 // × 1/a²: π1π2 − π2
			p.h[8] -= k * db
			p.h[9] += k*db*db + w*p2*iB*iB
		}
		parts[c] = p
	}
	parallel(len(parts), pass)
	for _, p := range parts {
		ll += p.ll
		g[0] += p.gr
		g[1] += p.gal
		g[2] += p.sumP2 / a
		g[3] += p.gb
		if withH {
			H[0][0] += p.h[0]
			H[0][1] += p.h[1]
			H[0][2] += p.h[2] / a
			H[0][3] += p.h[3]
			H[1][1] += p.h[4]
			H[1][2] += p.h[5] / a
			H[1][3] += p.h[6]
			H[2][2] += p.h[7] / (a * a)
			H[2][3] += p.h[8] / a
			H[3][3] += p.h[9]
		}
	}
	Hs := [][]float64{H[0][:], H[1][:], H[2][:], H[3][:]}
	toLogScale([]float64{r, alpha, a, b}, g[:], Hs, d.n, grad, hess)
	return -ll / d.n
}

// parallel runs f(0) … f(n−1) on up to GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
