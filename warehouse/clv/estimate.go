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
	// Converged is true when the optimiser stopped at a point with a small
	// gradient, away from the bounds, where the Hessian is negative
	// definite.
	Converged bool `json:"converged"`
	// Status is the optimiser's termination status (gonum optimize).
	Status string `json:"status"`
	// Message says why a fit is not converged ("" when it is).
	Message string `json:"message,omitempty"`
	// Iterations and Evaluations count the optimiser's major iterations
	// and likelihood evaluations, over every start tried.
	Iterations  int `json:"iterations"`
	Evaluations int `json:"evaluations"`
	// Starts is the number of starting points tried.
	Starts int `json:"starts"`
	// GradientNorm is the largest absolute component of the gradient of
	// the mean log-likelihood per customer, in the log parameters, at the
	// returned point.
	GradientNorm float64 `json:"gradient_norm"`
	// Duration is the wall time of the fit, standard errors included.
	Duration time.Duration `json:"duration_ns"`
}

// Defaults of FitOptions.
const (
	DefaultMaxIterations = 500
	DefaultGradientTol   = 1e-6
)

// FitOptions tune a maximum-likelihood fit. The zero value is sensible.
type FitOptions struct {
	// MaxIterations bounds the optimiser's major iterations per start
	// (default DefaultMaxIterations).
	MaxIterations int
	// GradientTol is the largest gradient of the mean log-likelihood per
	// customer, in the log parameters, accepted as converged (default
	// DefaultGradientTol). At the default the remaining error in each
	// parameter is far below its standard error.
	GradientTol float64
}

func (o FitOptions) withDefaults() FitOptions {
	if o.MaxIterations <= 0 {
		o.MaxIterations = DefaultMaxIterations
	}
	if o.GradientTol <= 0 {
		o.GradientTol = DefaultGradientTol
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
// negative log-likelihood per customer. eval returns the value, fills grad
// and, when hess is not nil, the Hessian. The wrapper serves gonum's
// separate Func, Grad and Hess calls from a one-point cache, so a Newton
// step costs one pass over the data.
type problem struct {
	dim   int
	eval  func(x, grad []float64, hess *mat.SymDense) float64
	evals int

	lastX    []float64
	lastF    float64
	lastGrad []float64
	lastHess *mat.SymDense
}

// at evaluates the problem at x unless x is the cached point. Every pass
// computes the Hessian too: next to the exponentials and logarithms of a
// pass it costs a few multiply-adds per row, and gonum's Newton asks for it
// at most points it evaluates.
func (p *problem) at(x []float64) {
	if p.lastX != nil && equal(p.lastX, x) {
		return
	}
	if p.lastX == nil {
		p.lastX = make([]float64, p.dim)
		p.lastGrad = make([]float64, p.dim)
	}
	copy(p.lastX, x)
	p.evals++
	h := mat.NewSymDense(p.dim, nil)
	f := p.eval(x, p.lastGrad, h)
	// The bound penalty.
	for i, v := range x {
		var ex float64
		switch {
		case v > logUpper:
			ex = v - logUpper
		case v < logLower:
			ex = v - logLower
		default:
			continue
		}
		f += 50 * ex * ex
		p.lastGrad[i] += 100 * ex
		h.SetSym(i, i, h.At(i, i)+100)
	}
	if math.IsNaN(f) {
		f = math.Inf(1)
	}
	p.lastF = f
	p.lastHess = h
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// minimum is the outcome of minimising a problem from some starts.
type minimum struct {
	x      []float64
	f      float64
	status optimize.Status
	iters  int
	starts int
	grad   float64
	err    error
}

// minimise runs Newton's method (with gonum's modification of an
// indefinite Hessian and a line search) from each start in turn, falling
// back to BFGS from the same start, until one converges to a small
// gradient, and returns the best point found.
func minimise(p *problem, starts [][]float64, o FitOptions) minimum {
	var best minimum
	best.f = math.Inf(1)
	prob := optimize.Problem{
		Func: func(x []float64) float64 { p.at(x); return p.lastF },
		Grad: func(g, x []float64) { p.at(x); copy(g, p.lastGrad) },
		Hess: func(h *mat.SymDense, x []float64) { p.at(x); h.CopySym(p.lastHess) },
	}
	for _, x0 := range starts {
		best.starts++
		for _, method := range []optimize.Method{&optimize.Newton{}, &optimize.BFGS{}} {
			settings := &optimize.Settings{
				GradientThreshold: o.GradientTol / 10,
				MajorIterations:   o.MaxIterations,
				Converger: &optimize.FunctionConverge{
					Absolute:   1e-15,
					Relative:   1e-15,
					Iterations: 20,
				},
			}
			res, err := optimize.Minimize(prob, x0, settings, method)
			if res == nil {
				best.err = err
				continue
			}
			best.iters += res.MajorIterations
			if res.F < best.f {
				best.x = append([]float64(nil), res.X...)
				best.f = res.F
				best.status = res.Status
				best.err = err
				p.at(res.X)
				best.grad = maxAbs(p.lastGrad)
				if math.IsNaN(best.grad) || math.IsInf(best.grad, 0) {
					best.grad = math.MaxFloat64 // JSON cannot hold NaN or Inf
				}
			}
			if best.grad <= o.GradientTol && !math.IsInf(best.f, 0) {
				return best
			}
		}
	}
	return best
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

// finish decides convergence and computes standard errors from the
// analytic Hessian; names label the parameters in messages.
func finish(p *problem, m minimum, n float64, names []string, o FitOptions) (Diagnostics, *mat.SymDense) {
	d := Diagnostics{
		Status:       m.status.String(),
		Iterations:   m.iters,
		Starts:       m.starts,
		GradientNorm: m.grad,
	}
	if m.x == nil {
		d.Message = fmt.Sprintf("the optimiser failed: %v", m.err)
		return d, nil
	}
	for i, l := range m.x {
		if l > atBound || l < -atBound {
			d.Message = fmt.Sprintf("%s ran to its bound (%.3g): the data do not identify it", names[i], math.Exp(l))
			return d, nil
		}
	}
	if math.IsInf(m.f, 0) || math.IsNaN(m.f) {
		d.Message = "the log-likelihood is not finite at the end point"
		return d, nil
	}
	if m.grad > o.GradientTol {
		d.Message = fmt.Sprintf("the gradient is still %.3g (tolerance %.3g) after %d iterations (%s)", m.grad, o.GradientTol, m.iters, d.Status)
		return d, nil
	}
	p.at(m.x)
	cov, ok := covariance(p.lastHess, n)
	if !ok {
		d.Message = "the Hessian is not negative definite at the end point: not a proper maximum"
		return d, nil
	}
	d.Converged = true
	return d, cov
}
