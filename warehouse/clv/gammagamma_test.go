package clv_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

// TestGammaGammaLikelihoodIsTheMixture checks the closed-form density of a
// customer's mean value against its definition: the mean m of x values
// Gamma(p, ν) has density x·Gamma(px, ν)(x m), and ν ~ Gamma(q, γ) is
// integrated out numerically (trapezoid in ln ν).
func TestGammaGammaLikelihoodIsTheMixture(t *testing.T) {
	g := clv.GammaGamma{P: 6, Q: 4, Gamma: 150}
	customers := []clv.Summary{
		{X: 1, Tx: 3, T: 9, Monetary: 120}, {X: 4, Tx: 30, T: 90, Monetary: 333.3},
		{X: 25, Tx: 300, T: 400, Monetary: 80}, {X: 0, T: 5, Monetary: 99}, // x = 0 is ignored
	}
	var want float64
	for _, c := range customers {
		if c.X == 0 {
			continue
		}
		px := g.P * c.X
		var dens float64
		h := 0.01
		for s := -20.0; s < 5; s += h {
			nu := math.Exp(s)
			// ln of x·Gamma(px, ν)(x m) · Gamma(q, γ)(ν) · ν (Jacobian of ln ν)
			l := math.Log(c.X) + px*math.Log(nu) - lg(px) + (px-1)*math.Log(c.X*c.Monetary) - nu*c.X*c.Monetary +
				g.Q*math.Log(g.Gamma) - lg(g.Q) + (g.Q-1)*math.Log(nu) - g.Gamma*nu + s
			dens += math.Exp(l) * h
		}
		want += math.Log(dens)
	}
	got, err := g.LogLikelihood(customers)
	require.NoError(t, err)
	require.InEpsilon(t, want, got, 1e-10)
}

func TestGammaGammaRecoversSimulatedParameters(t *testing.T) {
	cs := clvsim.Simulate(clvsim.Options{Customers: 100_000, BGNBD: demoBG, GammaGamma: demoGG, MaxT: 730, Seed: 11})
	fit, err := clv.FitGammaGamma(clvsim.Summaries(cs), clv.FitOptions{})
	require.NoError(t, err)
	for _, c := range []struct {
		name  string
		est   clv.Estimate
		truth float64
	}{{"p", fit.P, demoGG.P}, {"q", fit.Q, demoGG.Q}, {"gamma", fit.Gamma, demoGG.Gamma}} {
		t.Logf("%s: %.4g ± %.2g (95%% %.4g–%.4g), truth %g", c.name, c.est.Value, c.est.SE, c.est.Lower, c.est.Upper, c.truth)
		require.InDelta(t, c.truth, c.est.Value, 3*c.est.SE, c.name)
	}
	// Frequency and value are independent in the simulation.
	require.InDelta(t, 0, fit.Correlation, 0.02)
	require.Greater(t, fit.Customers, 30_000)
	require.Zero(t, fit.Excluded)
	t.Logf("%d repeat customers, correlation %.4f, %+v", fit.Customers, fit.Correlation, fit.Diagnostics)

	// The standard errors are those of the numerical Hessian of the
	// log-likelihood in the log parameters.
	s := clvsim.Summaries(cs)
	ll := func(x []float64) float64 {
		v, err := clv.GammaGamma{P: math.Exp(x[0]), Q: math.Exp(x[1]), Gamma: math.Exp(x[2])}.LogLikelihood(s)
		require.NoError(t, err)
		return v
	}
	x0 := []float64{math.Log(fit.Params.P), math.Log(fit.Params.Q), math.Log(fit.Params.Gamma)}
	cov := invert(t, numericHessian(ll, x0, 1e-3))
	for i, e := range []clv.Estimate{fit.P, fit.Q, fit.Gamma} {
		require.InEpsilon(t, math.Sqrt(-cov[i][i])*e.Value, e.SE, 1e-3)
	}
}

func TestExpectedSpend(t *testing.T) {
	g := clv.GammaGamma{P: 6, Q: 4, Gamma: 150}
	// p(γ + x m)/(p x + q − 1) = 6 (150 + 3·250)/(18 + 3) = 5400/21.
	require.InEpsilon(t, 5400.0/21, g.ExpectedSpend(3, 250), 1e-15)
	// Without repeat purchases: the population mean pγ/(q−1) = 300.
	require.InEpsilon(t, 300.0, g.ExpectedSpend(0, 0), 1e-15)
	require.InEpsilon(t, 300.0, g.Mean(), 1e-15)
	require.InEpsilon(t, 300.0, g.ExpectedSpend(2, -5), 1e-15, "a refund-only mean falls back to the population")
	require.True(t, math.IsNaN(clv.GammaGamma{P: 1, Q: 0.9, Gamma: 1}.ExpectedSpend(1, 1)))
}

func TestCorrelationAndExclusions(t *testing.T) {
	// m = 100, 200, 300 for x = 1, 2, 3: perfectly correlated; the refund
	// customer (m < 0) is excluded from the fit.
	cs := []clv.Summary{
		{X: 1, Tx: 1, T: 10, Monetary: 100}, {X: 2, Tx: 2, T: 10, Monetary: 200}, {X: 3, Tx: 3, T: 10, Monetary: 300},
		{X: 2, Tx: 2, T: 10, Monetary: -40}, {X: 0, T: 10},
	}
	fit, _ := clv.FitGammaGamma(cs, clv.FitOptions{})
	require.NotNil(t, fit)
	require.InEpsilon(t, 1, fit.Correlation, 1e-12)
	require.Equal(t, 3, fit.Customers)
	require.Equal(t, 1, fit.Excluded)

	_, err := clv.FitGammaGamma(cs[3:], clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNoData)
}
