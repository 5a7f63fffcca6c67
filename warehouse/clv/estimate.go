package clv

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// ErrNotConverged is wrapped by the error of a fit that did not reach a
// proper maximum of the likelihood: the optimiser stopped early, the
// gradient is not small, a parameter ran to its bound, or the Hessian is
// not negative definite there. The fit is still returned with its
// Diagnostics; callers keep their previous good parameters.
var ErrNotConverged = errors.New("fit did not converge")

// ErrNoData is wrapped by the error of a fit given too little data (no
// customers, or no repeat customers) to estimate the parameters.
var ErrNoData = errors.New("not enough data to fit")

// ErrNoDropout is wrapped, together with ErrNotConverged, by the error of
// a BG/NBD or Pareto/NBD fit whose likelihood keeps rising towards "no
// customer ever drops out": the data show no drop-out, so they do not
// identify its parameters. The limiting model is NBD (FitNBD), with
// P(alive) = 1.
var ErrNoDropout = errors.New("the data show no drop-out")

// ErrNoSpendSpread is wrapped, together with ErrNotConverged, by the error
// of a Gamma-Gamma fit whose q runs to its upper bound: customers' mean
// spends differ no more than the spread of single purchases explains. The
// limiting model is PooledSpend.
var ErrNoSpendSpread = errors.New("customers do not differ in what they spend")

// Estimate is one fitted parameter with its uncertainty.
type Estimate struct {
	Value float64 `json:"value"`
	// SE is the standard error, from the observed information at the
	// optimum (the inverse Hessian of the log-likelihood in the log
	// parameter, times the value: the delta method).
	SE float64 `json:"se"`
	// Lower and Upper bound the 95% Wald interval on the log scale,
	// exp(ln value ± 1.96 SE_ln): always positive and asymmetric.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
}

// MarshalJSON writes NaN (no standard error) as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Value float64  `json:"value"`
		SE    *float64 `json:"se"`
		Lower *float64 `json:"lower"`
		Upper *float64 `json:"upper"`
	}{e.Value, finite(e.SE), finite(e.Lower), finite(e.Upper)})
}

// finite returns nil for NaN and ±Inf, which JSON cannot hold.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Contains reports whether v lies inside the 95% interval.
func (e Estimate) Contains(v float64) bool { return v >= e.Lower && v <= e.Upper }

// Diagnostics describe how a fit went.
type Diagnostics struct {
	// Converged is true when the fit ended at a proper maximum of the
	// likelihood: a small gradient, away from the bounds, with the Hessian
	// of the log-likelihood negative definite there.
	Converged bool `json:"converged"`
	// Status is the optimiser's termination status (gonum optimize) of the
	// run that found the point returned.
	Status string `json:"status"`
	// Message says why a fit is not converged ("" when it is).
	Message string `json:"message,omitempty"`
	// Start and Method name the starting point and the method whose run
	// found the point returned ("newton", "bfgs" or "nelder-mead", the
	// last polished by Newton or BFGS); docs/clv.md lists the starts.
	Start  string `json:"start"`
	Method string `json:"method"`
	// Iterations and Evaluations count the optimiser's major iterations
	// and likelihood evaluations, over every run.
	Iterations  int `json:"iterations"`
	Evaluations int `json:"evaluations"`
	// Starts is the number of starting points tried.
	Starts int `json:"starts"`
	// Attempts lists every run: start, method, where it ended and whether
	// that point is a proper maximum.
	Attempts []Attempt `json:"attempts"`
	// GradientNorm is the largest absolute component of the gradient of
	// the mean log-likelihood per customer, in the log parameters, at the
	// returned point.
	GradientNorm float64 `json:"gradient_norm"`
	// Duration is the wall time of the fit, standard errors included.
	Duration time.Duration `json:"duration_ns"`
}

// Attempt is one optimiser run from one starting point.
type Attempt struct {
	Start  string `json:"start"`
	Method string `json:"method"`
	// MeanLogLikelihood is the log-likelihood per customer at the end
	// point (null when not finite).
	MeanLogLikelihood float64 `json:"mean_log_likelihood"`
	// Outcome is "maximum" for a proper maximum, or why the end point is
	// not one.
	Outcome    string `json:"outcome"`
	Iterations int    `json:"iterations"`
}

// MarshalJSON writes a log-likelihood that is not finite as null.
func (a Attempt) MarshalJSON() ([]byte, error) {
	type plain Attempt
	return json.Marshal(struct {
		plain
		MeanLogLikelihood *float64 `json:"mean_log_likelihood"`
	}{plain(a), finite(a.MeanLogLikelihood)})
}

// Defaults of FitOptions.
const (
	DefaultMaxIterations  = 500
	DefaultGradientTol    = 1e-6
	DefaultMaxEvaluations = 3000
)

// FitOptions tune a maximum-likelihood fit. The zero value is sensible.
type FitOptions struct {
	// MaxIterations bounds the optimiser's major iterations per run
	// (default DefaultMaxIterations; Newton gets a fifth of it,
	// Nelder-Mead twice as many evaluations).
	MaxIterations int
	// MaxEvaluations bounds the likelihood evaluations of the whole
	// search (default DefaultMaxEvaluations): a fit that finds no maximum
	// gives up after about that many passes over the data instead of
	// trying every run to the end. A fit that converges needs tens.
	MaxEvaluations int
	// GradientTol is the largest gradient of the mean log-likelihood per
	// customer, in the log parameters, accepted as converged (default
	// DefaultGradientTol). At the default the remaining error in each
	// parameter is far below its standard error.
	GradientTol float64
	// From, when set, holds parameters (in the model's order, natural
	// scale) of an earlier fit of the same model on nearly the same data,
	// such as the fit on the calibration period before the fit on all of
	// it: the search starts there and stops at the first proper maximum
	// it reaches from there, before the documented starts.
	From []float64
}

func (o FitOptions) withDefaults() FitOptions {
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	if o.GradientTol <= 0 {
		o.GradientTol = DefaultGradientTol
	}
	if o.MaxEvaluations <= 0 {
		o.MaxEvaluations = DefaultMaxEvaluations
	}
	return o
}

// Bounds on every log parameter: e^±18 is about 1.5e-8 and 6.6e7. Beyond
// them a smooth quadratic penalty pulls the optimiser back, and a fit that
// ends near them is reported as not converged: the data do not identify
// that parameter.
const (
	logLower = -18.0
	logUpper = 18.0
	atBound  = 17.0
)

// problem is a smooth function of the log parameters to minimise: the mean
// negative log-likelihood per customer, plus the bound penalty. fgh gives
// the value and the gradient analytically in one pass over the data, and
// the Hessian too when hess is set (BG/NBD, Gamma-Gamma, NBD); otherwise
// (Pareto/NBD) the Hessian comes from central differences of the
// gradient. gonum asks for value, gradient and Hessian separately; a
// one-point cache serves them from one pass.
type problem struct {
	dim int
	// fgh returns the value at x, fills grad and, when hess is not nil
	// and the problem has an analytic Hessian, the Hessian.
	fgh   func(x, grad []float64, hess *mat.SymDense) float64
	hess  bool
	names []string
	// upper, when set, lowers the upper bound of some log parameters
	// (0: the default logUpper).
	upper []float64
	// n is the number of customers (the objective is per customer).
	n     float64
	evals int

	lastX    []float64
	lastF    float64
	lastGrad []float64
	lastHess *mat.SymDense // nil until asked for, without an analytic Hessian
}

// upperBound returns the upper bound of log parameter i.
func (p *problem) upperBound(i int) float64 {
	if i < len(p.upper) && p.upper[i] != 0 {
		return p.upper[i]
	}
	return logUpper
}

// penalty returns the bound penalty at x and adds its derivatives.
func (p *problem) penalty(x, grad []float64, hess *mat.SymDense) float64 {
	var f float64
	for i, v := range x {
		var ex float64
		switch up := p.upperBound(i); {
		case v > up:
			ex = v - up
		case v < logLower:
			ex = v - logLower
		default:
			continue
		}
		f += 50 * ex * ex
		grad[i] += 100 * ex
		if hess != nil {
			hess.SetSym(i, i, hess.At(i, i)+100)
		}
	}
	return f
}

// eval returns value and gradient at x (and fills hess, when not nil and
// analytic), penalty included; a value that is not a number is +Inf.
func (p *problem) eval(x, grad []float64, hess *mat.SymDense) float64 {
	p.evals++
	for i := range grad {
		grad[i] = 0
	}
	f := p.fgh(x, grad, hess)
	f += p.penalty(x, grad, hess)
	if math.IsNaN(f) {
		f = math.Inf(1)
	}
	return f
}

// at evaluates the problem at x unless x is the cached point. An analytic
// pass computes the Hessian too: next to the exponentials and logarithms
// of a pass it costs a few multiply-adds per row, and gonum's Newton asks
// for it at most points it evaluates.
func (p *problem) at(x []float64) {
	if p.lastX != nil && equal(p.lastX, x) {
		return
	}
	if p.lastX == nil {
		p.lastX = make([]float64, p.dim)
		p.lastGrad = make([]float64, p.dim)
	}
	copy(p.lastX, x)
	p.lastHess = nil
	var h *mat.SymDense
	if p.hess {
		h = mat.NewSymDense(p.dim, nil)
	}
	p.lastF = p.eval(x, p.lastGrad, h)
	p.lastHess = h
}

// hessian returns the Hessian at x: analytic, or by central differences
// of the analytic gradient with step 1e-5 in the log parameters
// (symmetrised; error about 1e-8 relative).
func (p *problem) hessian(x []float64) *mat.SymDense {
	p.at(x)
	if p.lastHess != nil {
		return p.lastHess
	}
	const h = 1e-5
	H := mat.NewSymDense(p.dim, nil)
	y := append([]float64(nil), x...)
	gp, gm := make([]float64, p.dim), make([]float64, p.dim)
	cols := make([][]float64, p.dim)
	for j := range p.dim {
		y[j] = x[j] + h
		p.eval(y, gp, nil)
		y[j] = x[j] - h
		p.eval(y, gm, nil)
		y[j] = x[j]
		cols[j] = make([]float64, p.dim)
		for i := range p.dim {
			cols[j][i] = (gp[i] - gm[i]) / (2 * h)
		}
	}
	for i := range p.dim {
		for j := i; j < p.dim; j++ {
			H.SetSym(i, j, (cols[j][i]+cols[i][j])/2)
		}
	}
	p.lastHess = H
	return H
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// start is a named starting point in log parameters.
type start struct {
	name string
	x    []float64
	// warm marks a start already known to be in the right basin (an
	// earlier fit, the optimum of a sample): the search stops at the
	// first proper maximum reached from it.
	warm bool
}

// run is one optimiser run and where it ended.
type run struct {
	start, method string
	x             []float64
	f             float64
	status        optimize.Status
	iters         int
	grad          float64
	// why is "" at a proper maximum, else why the end point is not one.
	why string
	// flat says the end point is on a ridge of the likelihood (a
	// parameter at its bound, or a Hessian that is singular rather than
	// indefinite): the function has no maximum there, whatever the method.
	flat bool
}

// The methods, in the order they are tried from each start.
const (
	methodNewton     = "newton"
	methodBFGS       = "bfgs"
	methodNelderMead = "nelder-mead"
)

// allStartsBelow is the number of distinct rows below which every start
// is run; above it the search stops once two starts reach the same
// maximum.
const allStartsBelow = 20000

// minimise searches for the minimum of p: from each start in turn Newton's
// method (gonum's, which adds a multiple of the identity to an indefinite
// Hessian, with a line search), then BFGS, then Nelder-Mead on the log
// parameters (its end point polished by Newton or BFGS), until one run
// ends at a proper minimum (see classify). With rows ≥ allStartsBelow it
// stops as soon as two starts agree on the minimum; otherwise it runs
// every start. It returns every run and the index of the best proper
// minimum (the lowest value), or −1 with none.
func minimise(p *problem, starts []start, rows int, o FitOptions) ([]run, int) {
	if len(o.From) == p.dim {
		x := make([]float64, p.dim)
		ok := true
		for i, v := range o.From {
			x[i] = math.Log(v)
			ok = ok && v > 0 && !math.IsInf(v, 0)
		}
		if ok {
			starts = append([]start{{name: "previous fit", x: x, warm: true}}, starts...)
		}
	}
	prob := optimize.Problem{
		Func: func(x []float64) float64 { p.at(x); return p.lastF },
		Grad: func(g, x []float64) { p.at(x); copy(g, p.lastGrad) },
	}
	if p.hess {
		prob.Hess = func(h *mat.SymDense, x []float64) { h.CopySym(p.hessian(x)) }
	}
	settings := func() *optimize.Settings {
		return &optimize.Settings{
			GradientThreshold: o.GradientTol / 10,
			MajorIterations:   o.MaxIterations,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 20},
		}
	}
	local := func(x0 []float64, m optimize.Method) (*optimize.Result, error) {
		return optimize.Minimize(prob, x0, settings(), m)
	}
	methods := []string{methodNewton, methodBFGS, methodNelderMead}
	// Newton converges in a few iterations or not at all (on a ridge it
	// creeps along for ever): it gets a fifth of the budget.
	polish := func() optimize.Method { return &optimize.Newton{} }
	if !p.hess {
		methods = methods[1:]
		polish = func() optimize.Method { return &optimize.BFGS{} }
	}
	var runs []run
	best := -1
	for _, st := range starts {
		for mi, name := range methods {
			if p.evals >= o.MaxEvaluations {
				return runs, best
			}
			// Nelder-Mead is for runs that stopped short of a small
			// gradient, or at a saddle point; on a ridge, where the
			// gradient methods ended, it finds the same ridge.
			if name == methodNelderMead && mi > 0 && runs[len(runs)-1].flat && (mi < 2 || runs[len(runs)-2].flat) {
				break
			}
			r := run{start: st.name, method: name}
			var res *optimize.Result
			var err error
			switch name {
			case methodNewton:
				s := settings()
				s.MajorIterations = max(1, o.MaxIterations/5)
				res, err = optimize.Minimize(prob, st.x, s, &optimize.Newton{})
			case methodBFGS:
				res, err = local(st.x, &optimize.BFGS{})
			case methodNelderMead:
				s := settings()
				s.GradientThreshold = 0 // Nelder-Mead does not look at gradients
				s.Converger = &optimize.FunctionConverge{Absolute: 1e-13, Relative: 1e-13, Iterations: 100}
				s.MajorIterations = 0
				s.FuncEvaluations = 2 * o.MaxIterations
				res, err = optimize.Minimize(optimize.Problem{Func: prob.Func}, st.x, s, &optimize.NelderMead{SimplexSize: 0.5})
				if res != nil {
					iters := res.MajorIterations
					if pr, perr := local(res.X, polish()); pr != nil && pr.F <= res.F {
						res, err = pr, perr
					}
					res.MajorIterations += iters
				}
			}
			if res == nil {
				r.f, r.why = math.Inf(1), fmt.Sprintf("the optimiser failed: %v", err)
				runs = append(runs, r)
				continue
			}
			r.x, r.f, r.status, r.iters = append([]float64(nil), res.X...), res.F, res.Status, res.MajorIterations
			r.grad, r.why, r.flat = p.classify(r.x, o)
			runs = append(runs, r)
			if r.why != "" {
				if best < 0 && r.flat && sameRidge(runs) {
					return runs, best
				}
				continue
			}
			if st.warm {
				return runs, len(runs) - 1
			}
			if best >= 0 && agree(runs[best].f, r.f) && rows >= allStartsBelow {
				return runs, better(runs, best, len(runs)-1)
			}
			if best < 0 {
				best = len(runs) - 1
			} else {
				best = better(runs, best, len(runs)-1)
			}
			break
		}
	}
	return runs, best
}

// sameRidge reports whether the last run, which ended on a ridge, reached
// the value of an earlier run from another start that also ended on a
// ridge: two starts agree that the likelihood rises to a supremum it does
// not attain, and the search stops there.
func sameRidge(runs []run) bool {
	last := runs[len(runs)-1]
	for _, r := range runs[:len(runs)-1] {
		if r.flat && r.start != last.start && math.Abs(r.f-last.f) <= 1e-8*math.Max(1, math.Abs(r.f)) {
			return true
		}
	}
	return false
}

// better returns the index of the lower of two minima; one that is lower
// only by rounding does not displace the earlier one.
func better(runs []run, i, j int) int {
	if runs[j].f < runs[i].f && !agree(runs[i].f, runs[j].f) {
		return j
	}
	return i
}

// agree reports whether two minima of the mean negative log-likelihood
// are the same one: equal to 1e-9 relative.
func agree(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }

// classify says whether x is a proper minimum of p: the value finite, no
// parameter near its bound, the gradient below the tolerance, and the
// Hessian positive definite (Cholesky succeeds and its condition number is
// below 1e14; a saddle point or a flat ridge fails). It returns the
// gradient's largest component, "" or the reason in words, and whether
// the point is on a ridge (a bound, or a Hessian that is singular rather
// than indefinite).
func (p *problem) classify(x []float64, o FitOptions) (float64, string, bool) {
	p.at(x)
	g := maxAbs(p.lastGrad)
	if math.IsNaN(g) || math.IsInf(g, 0) {
		g = math.MaxFloat64 // JSON cannot hold NaN or Inf
	}
	if math.IsInf(p.lastF, 0) {
		return g, "the log-likelihood is not finite there", false
	}
	for i, l := range x {
		if l > p.upperBound(i)-(logUpper-atBound) {
			return g, fmt.Sprintf("%s ran to its upper bound (%.3g): the data do not identify it", p.names[i], math.Exp(l)), true
		}
		if l < -atBound {
			return g, fmt.Sprintf("%s ran to its lower bound (%.3g): the data do not identify it", p.names[i], math.Exp(l)), true
		}
	}
	if g > o.GradientTol {
		return g, fmt.Sprintf("the gradient is still %.3g (tolerance %.3g)", g, o.GradientTol), false
	}
	var ev mat.EigenSym
	if !ev.Factorize(p.hessian(x), false) {
		return g, "the Hessian could not be decomposed there", false
	}
	vals := ev.Values(nil)
	lo, hi := vals[0], vals[len(vals)-1]
	if lo < -1e-8*math.Abs(hi) {
		return g, "the Hessian of the log-likelihood is not negative definite there: a saddle point, not a maximum", false
	}
	if !(lo > 0) || hi/lo > 1e14 {
		return g, "the Hessian of the log-likelihood is singular there: a flat ridge, along which the data do not identify the parameters", true
	}
	// A maximum so flat that a parameter's 95% interval reaches its
	// bounds is a ridge too: the likelihood barely changes as the
	// parameter runs off, and a small gradient says nothing.
	if cov, ok := covariance(p.hessian(x), math.Max(p.n, 1)); ok {
		for i, l := range x {
			se := 1.96 * math.Sqrt(cov.At(i, i))
			if l+se > p.upperBound(i) || l-se < logLower {
				return g, fmt.Sprintf("%s is not identified: its 95%% interval runs from %.3g to %.3g, a flat ridge of the likelihood", p.names[i], math.Exp(l-se), math.Exp(l+se)), true
			}
		}
	}
	return g, "", false
}

func maxAbs(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

// toLogScale turns the gradient g and Hessian H of ℓ in parameters θ into
// those of −ℓ/n in x = ln θ: ∂/∂x_i = θ_i g_i and ∂²/∂x_i∂x_j =
// θ_i θ_j H_ij + [i = j] θ_i g_i.
func toLogScale(theta, g []float64, H [][]float64, n float64, grad []float64, hess *mat.SymDense) {
	for i := range theta {
		grad[i] = -theta[i] * g[i] / n
	}
	if hess == nil {
		return
	}
	for i := range theta {
		for j := i; j < len(theta); j++ {
			v := theta[i] * theta[j] * H[i][j]
			if i == j {
				v += theta[i] * g[i]
			}
			hess.SetSym(i, j, -v/n)
		}
	}
}

// covariance inverts n × H, the observed information of the total
// log-likelihood when H is the Hessian of the mean negative
// log-likelihood; ok is false when H is not positive definite.
func covariance(H *mat.SymDense, n float64) (*mat.SymDense, bool) {
	info := mat.NewSymDense(H.SymmetricDim(), nil)
	info.ScaleSym(n, H)
	var ch mat.Cholesky
	if !ch.Factorize(info) {
		return nil, false
	}
	var cov mat.SymDense
	if err := ch.InverseTo(&cov); err != nil {
		return nil, false
	}
	return &cov, true
}

// estimates turns log parameters and their covariance into Estimates.
func estimates(x []float64, cov *mat.SymDense) []Estimate {
	out := make([]Estimate, len(x))
	for i, l := range x {
		v := math.Exp(l)
		e := Estimate{Value: v, SE: math.NaN(), Lower: math.NaN(), Upper: math.NaN()}
		if cov != nil {
			s := math.Sqrt(cov.At(i, i))
			e.SE = v * s
			e.Lower = math.Exp(l - 1.96*s)
			e.Upper = math.Exp(l + 1.96*s)
		}
		out[i] = e
	}
	return out
}

// solution is the outcome of a fit: the point returned (the best proper
// maximum, or with none the best point any run reached), its value, the
// covariance of the log parameters (nil when not converged) and the
// diagnostics.
type solution struct {
	x    []float64
	f    float64
	cov  *mat.SymDense
	diag Diagnostics
}

// sampleAbove is the number of distinct rows from which a fit searches a
// sample first: the documented starts run on every sampleEvery-th row
// (the rows are sorted, so the sample spreads over all of them, and its
// weights are multiplied by sampleEvery), and only the best proper
// maximum of the sample is polished on all the rows. A million customers
// then cost about as much as one start did before the search had
// several. When the polish does not reach a proper maximum, the full
// search runs on all the rows.
const (
	sampleAbove = 200_000
	sampleEvery = 10
)

// sampled runs the search on a sample first when the data are large (see
// sampleAbove); sample builds the problem of the sample, nil when the
// model cannot be sampled.
func sampled(p *problem, sample func() *problem, starts []start, n float64, rows int, o FitOptions) solution {
	if sample == nil || rows < sampleAbove || len(o.From) > 0 {
		return search(p, starts, n, rows, o)
	}
	sp := sample()
	ss := search(sp, starts, sp.n, rows/sampleEvery, o)
	if !ss.diag.Converged {
		return search(p, starts, n, rows, o)
	}
	name := fmt.Sprintf("%s (the best maximum of a 1-in-%d sample of the rows, %s)", ss.diag.Start, sampleEvery, ss.diag.Method)
	first := start{name: name, x: ss.x, warm: true}
	sol := search(p, append([]start{first}, starts...), n, rows, o)
	for i := range ss.diag.Attempts {
		ss.diag.Attempts[i].Start = "sample: " + ss.diag.Attempts[i].Start
	}
	sol.diag.Attempts = append(ss.diag.Attempts, sol.diag.Attempts...)
	sol.diag.Iterations += ss.diag.Iterations
	return sol
}

// search minimises p from the starts and describes the result; n is the
// number of customers (the objective is per customer) and rows the number
// of distinct rows summed per pass.
func search(p *problem, starts []start, n float64, rows int, o FitOptions) solution {
	runs, best := minimise(p, starts, rows, o)
	var sol solution
	d := &sol.diag
	seen := map[string]bool{}
	for _, r := range runs {
		d.Iterations += r.iters
		seen[r.start] = true
		a := Attempt{Start: r.start, Method: r.method, MeanLogLikelihood: -r.f, Outcome: "maximum", Iterations: r.iters}
		if r.why != "" {
			a.Outcome = r.why
		}
		d.Attempts = append(d.Attempts, a)
	}
	d.Starts = len(seen)
	pick := best
	if pick < 0 {
		for i, r := range runs {
			if r.x != nil && (pick < 0 || r.f < runs[pick].f) {
				pick = i
			}
		}
	}
	if pick < 0 {
		d.Message = "the optimiser failed from every start: " + runs[len(runs)-1].why
		return sol
	}
	r := runs[pick]
	sol.x, sol.f = r.x, r.f
	d.Status, d.Start, d.Method, d.GradientNorm = r.status.String(), r.start, r.method, r.grad
	if best < 0 {
		gaveUp := ""
		if p.evals >= o.MaxEvaluations {
			gaveUp = fmt.Sprintf(", giving up after %d likelihood evaluations", p.evals)
		}
		d.Message = fmt.Sprintf("no start reached a proper maximum (%d runs from %d starts%s); the best point: %s", len(runs), d.Starts, gaveUp, r.why)
		return sol
	}
	cov, ok := covariance(p.hessian(r.x), n)
	if !ok {
		d.Message = "the Hessian is not negative definite at the end point: not a proper maximum"
		return sol
	}
	d.Converged = true
	sol.cov = cov
	return sol
}
