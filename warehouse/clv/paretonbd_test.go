package clv_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

// pnPosterior integrates over the prior of (λ, μ) on a grid in (ln λ,
// ln μ) (the trapezoidal rule, which converges geometrically for these
// smooth, fast-decaying integrands): the closed forms are used nowhere.
type pnPosterior struct {
	lam, mu, w []float64 // grid points and prior weight × Jacobian × step
}

func newPNPosterior(m clv.ParetoNBD) *pnPosterior {
	p := &pnPosterior{}
	const n = 600
	lg := func(v float64) float64 { l, _ := math.Lgamma(v); return l }
	// ln λ and ln μ over ±25 prior standard deviations of the log.
	span := func(shape, rate float64) (float64, float64) {
		c := math.Log(shape/rate) - 0.5/shape
		s := 25 / math.Sqrt(shape)
		return c - s - 5, c + s
	}
	l0, l1 := span(m.R, m.Alpha)
	m0, m1 := span(m.S, m.Beta)
	hl, hm := (l1-l0)/n, (m1-m0)/n
	for i := 0; i <= n; i++ {
		ll := l0 + float64(i)*hl
		for j := 0; j <= n; j++ {
			lm := m0 + float64(j)*hm
			// Gamma densities in the log variable: shape·u − rate·e^u.
			w := m.R*math.Log(m.Alpha) - lg(m.R) + m.R*ll - m.Alpha*math.Exp(ll) +
				m.S*math.Log(m.Beta) - lg(m.S) + m.S*lm - m.Beta*math.Exp(lm)
			p.lam = append(p.lam, math.Exp(ll))
			p.mu = append(p.mu, math.Exp(lm))
			p.w = append(p.w, math.Exp(w)*hl*hm)
		}
	}
	return p
}

// predict returns P(alive) and E[Y(t)] for a history, from the
// individual-level model: alive at T with likelihood λ^x e^(−(λ+μ)T);
// dead at τ in (t_x, T] with λ^x μ e^(−(λ+μ)τ), which integrates to
// λ^x μ (e^(−(λ+μ)t_x) − e^(−(λ+μ)T)) / (λ+μ); an alive customer buys
// (λ/μ)(1 − e^(−μt)) in expectation in the next t.
func (p *pnPosterior) predict(x, tx, T, t float64) (float64, float64) {
	var alive, dead, buys float64
	for k, w := range p.w {
		l, m := p.lam[k], p.mu[k]
		base := w * math.Exp(x*math.Log(l)-(l+m)*T)
		alive += base
		dead += w * math.Exp(x*math.Log(l)) * m * (math.Exp(-(l+m)*tx) - math.Exp(-(l+m)*T)) / (l + m)
		buys += base * l / m * -math.Expm1(-m*t)
	}
	return alive / (alive + dead), buys / (alive + dead)
}

func TestParetoNBDPredictionsAgainstPosteriorIntegration(t *testing.T) {
	for _, m := range []clv.ParetoNBD{{R: 0.55, Alpha: 10.58, S: 0.61, Beta: 11.67}, {R: 1.5, Alpha: 120, S: 2.3, Beta: 1100}, {R: 2, Alpha: 30, S: 1, Beta: 40}} {
		post := newPNPosterior(m)
		for _, h := range [][3]float64{{0, 0, 30}, {1, 5, 40}, {3, 20, 25}, {10, 30, 36}, {2, 9, 9}} {
			t.Run(fmt.Sprintf("%v/%v", m, h), func(t *testing.T) {
				pa, e := post.predict(h[0], h[1], h[2], 20)
				require.InEpsilon(t, pa, m.ProbAlive(h[0], h[1], h[2]), 1e-6, "P(alive)")
				require.InEpsilon(t, e, m.ConditionalExpected(20, h[0], h[1], h[2]), 1e-6, "E[Y(20)]")
			})
		}
	}
	// s = 1 takes the limit of (1 − ((β+T)/(β+T+t))^(s−1))/(s−1).
	m := clv.ParetoNBD{R: 2, Alpha: 30, S: 1, Beta: 40}
	near := clv.ParetoNBD{R: 2, Alpha: 30, S: 1 + 1e-9, Beta: 40}
	require.InEpsilon(t, near.AliveExpected(20, 3, 25), m.AliveExpected(20, 3, 25), 1e-8)
	require.InEpsilon(t, 2.0/30*40*math.Log(60.0/40), m.Expected(20), 1e-14)
}

// TestParetoNBDRecoversSimulatedParameters fits 100,000 customers
// simulated in continuous time from known parameters: every estimate
// within 3 standard errors of the truth.
func TestParetoNBDRecoversSimulatedParameters(t *testing.T) {
	truth := clv.ParetoNBD{R: 0.55, Alpha: 10.58, S: 0.61, Beta: 11.67}
	cs := clvsim.Simulate(clvsim.Options{Customers: 100_000, ParetoNBD: &truth, GammaGamma: demoGG, MaxT: 39, Seed: 21})
	fit, err := clv.FitParetoNBD(clv.GroupSummaries(clvsim.Summaries(cs)), clv.FitOptions{})
	require.NoError(t, err)
	for i, e := range []clv.Estimate{fit.R, fit.Alpha, fit.S, fit.Beta} {
		want := []float64{truth.R, truth.Alpha, truth.S, truth.Beta}[i]
		t.Logf("%s: %.4g ± %.2g, truth %g", []string{"r", "alpha", "s", "beta"}[i], e.Value, e.SE, want)
		require.InDelta(t, want, e.Value, 3*e.SE)
	}
	// Alive customers get higher P(alive) than dead ones, on average.
	var alive, dead, na, nd float64
	for _, c := range cs[:5000] {
		p := fit.Params.ProbAlive(c.X, c.Tx, c.T)
		if c.Alive {
			alive, na = alive+p, na+1
		} else {
			dead, nd = dead+p, nd+1
		}
	}
	require.Greater(t, alive/na, dead/nd+0.2)
}

// TestNBD: the fit recovers simulated parameters of customers who never
// drop out, and its log-likelihood is BG/NBD's as b → ∞.
func TestNBD(t *testing.T) {
	truth := clv.ParetoNBD{R: 1.2, Alpha: 20, S: 1, Beta: 1e12}
	cs := clvsim.Simulate(clvsim.Options{Customers: 50_000, ParetoNBD: &truth, GammaGamma: demoGG, MaxT: 200, Seed: 22})
	g := clv.GroupSummaries(clvsim.Summaries(cs))
	fit, err := clv.FitNBD(g, clv.FitOptions{})
	require.NoError(t, err)
	require.InDelta(t, 1.2, fit.R.Value, 3*fit.R.SE)
	require.InDelta(t, 20, fit.Alpha.Value, 3*fit.Alpha.SE)
	bg, err := clv.BGNBD{R: fit.Params.R, Alpha: fit.Params.Alpha, A: 1, B: 1e12}.LogLikelihood(g)
	require.NoError(t, err)
	require.InEpsilon(t, fit.LogLikelihood, bg, 1e-9)
	require.Equal(t, 1.0, fit.Params.ProbAlive(3, 10, 100))
	require.InEpsilon(t, (fit.Params.R+3)/(fit.Params.Alpha+100)*30, fit.Params.ConditionalExpected(30, 3, 10, 100), 1e-12)
}
