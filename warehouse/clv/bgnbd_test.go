package clv_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

var demoBG = clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2}
var demoGG = clv.GammaGamma{P: 6, Q: 4, Gamma: 150}

// TestLogLikelihoodMatchesTheFormula evaluates FHL 2005 eq. 6 literally,
// customer by customer, with Γ and B functions:
//
//	L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
//	  + 1{x>0} B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
func TestLogLikelihoodMatchesTheFormula(t *testing.T) {
	groups := []clv.Group{
		{X: 0, Tx: 0, T: 0, N: 3}, {X: 0, Tx: 0, T: 38, N: 2}, {X: 1, Tx: 2, T: 30, N: 1},
		{X: 2, Tx: 30.5, T: 40, N: 4}, {X: 7, Tx: 200, T: 210, N: 1}, {X: 35, Tx: 600, T: 700, N: 0.5},
	}
	for _, m := range paramSets {
		var want float64
		for _, g := range groups {
			lb := func(a, b float64) float64 { return lg(a) + lg(b) - lg(a+b) }
			common := lg(m.R+g.X) - lg(m.R) + m.R*math.Log(m.Alpha)
			l1 := lb(m.A, m.B+g.X) - lb(m.A, m.B) + common - (m.R+g.X)*math.Log(m.Alpha+g.T)
			l := math.Exp(l1)
			if g.X > 0 {
				l += math.Exp(lb(m.A+1, m.B+g.X-1) - lb(m.A, m.B) + common - (m.R+g.X)*math.Log(m.Alpha+g.Tx))
			}
			want += g.N * math.Log(l)
		}
		got, err := m.LogLikelihood(groups)
		require.NoError(t, err)
		require.InEpsilon(t, want, got, 1e-12, "%+v", m)
	}
}

// TestFitRecoversSimulatedParameters fits 100,000 customers simulated in
// continuous time from known parameters: every estimate must lie within 3
// standard errors of the truth (the simulation is seeded, so the test is
// deterministic; 3 SE fails by chance with probability 0.3% per parameter).
func TestFitRecoversSimulatedParameters(t *testing.T) {
	for _, truth := range []clv.BGNBD{demoBG, {R: 0.25, Alpha: 4, A: 1.6, B: 6}} {
		cs := clvsim.Simulate(clvsim.Options{Customers: 100_000, BGNBD: truth, GammaGamma: demoGG, MaxT: 730, Seed: 7})
		fit, err := clv.FitBGNBD(clv.GroupSummaries(clvsim.Summaries(cs)), clv.FitOptions{})
		require.NoError(t, err)
		require.True(t, fit.Converged)
		require.Equal(t, 100_000.0, fit.Customers)
		for _, c := range []struct {
			name      string
			est       clv.Estimate
			truth     float64
			estimated float64
		}{
			{"r", fit.R, truth.R, fit.Params.R}, {"alpha", fit.Alpha, truth.Alpha, fit.Params.Alpha},
			{"a", fit.A, truth.A, fit.Params.A}, {"b", fit.B, truth.B, fit.Params.B},
		} {
			t.Logf("%s: %.4g ± %.2g (95%% %.4g–%.4g), truth %g", c.name, c.est.Value, c.est.SE, c.est.Lower, c.est.Upper, c.truth)
			require.Equal(t, c.estimated, c.est.Value)
			require.InDelta(t, c.truth, c.est.Value, 3*c.est.SE, c.name)
			require.Less(t, c.est.Lower, c.est.Value)
			require.Greater(t, c.est.Upper, c.est.Value)
		}
		t.Logf("%+v", fit.Diagnostics)
	}
}

// TestFitIsAMaximumWithTheRightCurvature checks the fit against the
// likelihood itself, by finite differences that use none of the fit's
// analytic derivatives: the gradient at the estimate is zero, and the
// standard errors are those of the numerical Hessian of the log-likelihood
// in the log parameters.
func TestFitIsAMaximumWithTheRightCurvature(t *testing.T) {
	cs := clvsim.Simulate(clvsim.Options{Customers: 20_000, BGNBD: demoBG, GammaGamma: demoGG, MaxT: 730, Whole: true, Seed: 3})
	groups := clv.GroupSummaries(clvsim.Summaries(cs))
	fit, err := clv.FitBGNBD(groups, clv.FitOptions{})
	require.NoError(t, err)
	x0 := []float64{math.Log(fit.Params.R), math.Log(fit.Params.Alpha), math.Log(fit.Params.A), math.Log(fit.Params.B)}
	ll := func(x []float64) float64 {
		v, err := clv.BGNBD{R: math.Exp(x[0]), Alpha: math.Exp(x[1]), A: math.Exp(x[2]), B: math.Exp(x[3])}.LogLikelihood(groups)
		require.NoError(t, err)
		return v
	}
	l0 := ll(x0)
	require.InEpsilon(t, l0, fit.LogLikelihood, 1e-12)
	H := numericHessian(ll, x0, 1e-3)
	for i := range 4 {
		// The first derivative by central differences.
		xp, xm := append([]float64(nil), x0...), append([]float64(nil), x0...)
		xp[i] += 1e-4
		xm[i] -= 1e-4
		d := (ll(xp) - ll(xm)) / 2e-4
		require.Less(t, math.Abs(d), 1e-3*fit.Customers*1e-3, "gradient %d", i)
	}
	cov := invert(t, H)
	for i, e := range []clv.Estimate{fit.R, fit.Alpha, fit.A, fit.B} {
		seLog := math.Sqrt(-cov[i][i])
		require.InEpsilon(t, seLog*e.Value, e.SE, 1e-3, "SE of parameter %d", i)
		require.InEpsilon(t, math.Exp(math.Log(e.Value)+1.96*seLog), e.Upper, 1e-4)
		for j := range 4 {
			require.InEpsilon(t, -cov[i][j], fit.Covariance[i][j], 2e-3, "cov %d %d", i, j)
		}
	}
}

func TestFitThatDoesNotConvergeSaysSoAndWhy(t *testing.T) {
	cs := clvsim.Simulate(clvsim.Options{Customers: 5000, BGNBD: demoBG, GammaGamma: demoGG, MaxT: 730, Seed: 1})
	groups := clv.GroupSummaries(clvsim.Summaries(cs))
	fit, err := clv.FitBGNBD(groups, clv.FitOptions{MaxIterations: 1})
	require.ErrorIs(t, err, clv.ErrNotConverged)
	require.NotErrorIs(t, err, clv.ErrNoDropout)
	require.NotNil(t, fit, "a failed fit still returns its diagnostics")
	require.False(t, fit.Converged)
	require.Contains(t, err.Error(), "fitting BG/NBD: fit did not converge: no start reached a proper maximum (12 runs from 4 starts); the best point: the gradient is still")
	require.Equal(t, 4, fit.Starts, "it tried every starting point")
	require.Len(t, fit.Attempts, 12, "Newton, BFGS and Nelder-Mead from each")
	for i, a := range fit.Attempts {
		require.Equal(t, []string{"newton", "bfgs", "nelder-mead"}[i%3], a.Method)
		require.NotEqual(t, "maximum", a.Outcome)
	}
	require.True(t, math.IsNaN(fit.R.SE))

	// Nobody ever came back: no information about the purchase process.
	_, err = clv.FitBGNBD([]clv.Group{{X: 0, T: 10, N: 100}}, clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNoData)
	_, err = clv.FitBGNBD(nil, clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNoData)

	// Every repeat customer bought right at the end of the period: no
	// sign of dropout at all, so b runs off to infinity, and NBD (the
	// limit) is the model the data identify.
	noDrop := []clv.Group{{X: 0, T: 50, N: 100}, {X: 1, Tx: 50, T: 50, N: 20}, {X: 2, Tx: 50, T: 50, N: 5}}
	fit, err = clv.FitBGNBD(noDrop, clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNotConverged)
	require.ErrorIs(t, err, clv.ErrNoDropout)
	require.False(t, errors.Is(err, clv.ErrNoData))
	require.Contains(t, fit.Message, "nobody drops out")
	nbd, err := clv.FitNBD(noDrop, clv.FitOptions{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, nbd.LogLikelihood, fit.LogLikelihood-1e-6, "NBD is the supremum BG/NBD runs towards")

	_, err = clv.FitBGNBD([]clv.Group{{X: 1, Tx: 5, T: 3, N: 1}}, clv.FitOptions{})
	require.EqualError(t, err, "group 0: t_x = 5 is not between 0 and T = 3")
	_, err = clv.FitBGNBD([]clv.Group{{X: 1.5, Tx: 1, T: 3, N: 1}}, clv.FitOptions{})
	require.EqualError(t, err, "group 0: x = 1.5 is not a whole number ≥ 0")
}

func TestGroupSummaries(t *testing.T) {
	s := []clv.Summary{
		{X: 2, Tx: 10, T: 30, Monetary: 5}, {X: 0, T: 30}, {X: 2, Tx: 10, T: 30, Monetary: 7}, {X: 0, T: 12}, {X: 0, T: 30},
	}
	want := []clv.Group{{X: 0, Tx: 0, T: 12, N: 1}, {X: 0, Tx: 0, T: 30, N: 2}, {X: 2, Tx: 10, T: 30, N: 2}}
	require.Equal(t, want, clv.GroupSummaries(s))
	// Fractional times take the map path and give the same grouping.
	scaled := make([]clv.Summary, len(s))
	for i, c := range s {
		scaled[i] = clv.Summary{X: c.X, Tx: c.Tx / 7, T: c.T / 7}
	}
	require.Equal(t, clv.ScaleGroups(want, 7), clv.GroupSummaries(scaled))
	require.Empty(t, clv.GroupSummaries(nil))

	// The fit on groups is the fit on customers.
	cs := clvsim.Summaries(clvsim.Simulate(clvsim.Options{Customers: 3000, BGNBD: demoBG, GammaGamma: demoGG, MaxT: 365, Whole: true, Seed: 2}))
	ungrouped := make([]clv.Group, len(cs))
	for i, c := range cs {
		ungrouped[i] = clv.Group{X: c.X, Tx: c.Tx, T: c.T, N: 1}
	}
	grouped := clv.GroupSummaries(cs)
	require.Less(t, len(grouped), len(cs))
	a, err := demoBG.LogLikelihood(grouped)
	require.NoError(t, err)
	b, err := demoBG.LogLikelihood(ungrouped)
	require.NoError(t, err)
	require.InEpsilon(t, b, a, 1e-12)
}

func TestUnits(t *testing.T) {
	u, err := clv.ParseUnit("weeks")
	require.NoError(t, err)
	require.Equal(t, clv.Weeks, u)
	require.Equal(t, 2.0, u.FromDays(14))
	require.InEpsilon(t, 365.25/12/7, u.Month(), 1e-15)
	_, err = clv.ParseUnit("months")
	require.EqualError(t, err, `unknown time unit "months" (want days or weeks)`)
}

// numericHessian by central second differences.
func numericHessian(f func([]float64) float64, x []float64, h float64) [][]float64 {
	n := len(x)
	H := make([][]float64, n)
	at := func(di, dj int, si, sj float64) float64 {
		y := append([]float64(nil), x...)
		y[di] += si * h
		y[dj] += sj * h
		return f(y)
	}
	for i := range n {
		H[i] = make([]float64, n)
		for j := range n {
			H[i][j] = (at(i, j, 1, 1) - at(i, j, 1, -1) - at(i, j, -1, 1) + at(i, j, -1, -1)) / (4 * h * h)
		}
	}
	return H
}

// invert a small matrix by Gauss-Jordan elimination with partial pivoting.
func invert(t *testing.T, a [][]float64) [][]float64 {
	n := len(a)
	m := make([][]float64, n)
	for i := range n {
		m[i] = append(append([]float64(nil), a[i]...), make([]float64, n)...)
		m[i][n+i] = 1
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		require.NotZero(t, m[c][c])
		for r := range n {
			if r == c {
				continue
			}
			f := m[r][c] / m[c][c]
			for k := range 2 * n {
				m[r][k] -= f * m[c][k]
			}
		}
	}
	out := make([][]float64, n)
	for i := range n {
		out[i] = make([]float64, n)
		for k := range n {
			out[i][k] = m[i][n+k] / m[i][i]
		}
	}
	return out
}

func lg(x float64) float64 { v, _ := math.Lgamma(x); return v }
