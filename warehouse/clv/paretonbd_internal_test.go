package clv

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// brute sums 2F1(a, 1; c; z) term by term until the terms vanish.
func brute(a, c, z float64) float64 {
	G, t := 1.0, 1.0
	for k := 0; k < 50_000_000; k++ {
		t *= (a + float64(k)) / (c + float64(k)) * z
		G += t
		if t < 1e-19*G {
			break
		}
	}
	return G
}

// TestTailSeries checks the value and the three derivatives of
// 2F1(a, 1; c; z) against the series summed term by term (and its
// differences), on the direct path and on the Euler-Maclaurin path (z near
// 1 with a up to 8·10⁴, where hypergeo.Hyp2F1 cancels catastrophically).
func TestTailSeries(t *testing.T) {
	for _, p := range [][3]float64{
		{3.3, 4.8, 0.5}, {0.3, 12, 0.9999}, {3.3, 4.8, 0.995}, {5, 8, 0.999}, {50, 50.5, 0.9995},
		{1166, 1172, 0.9994}, {2000, 2005, 0.9999}, {81458, 81464.5, 0.999}, {81458, 81464.5, 0.99999},
	} {
		a, c, z := p[0], p[1], p[2]
		G, Ga, Gc, Gz := tailSeries(a, c, z, true)
		require.InEpsilon(t, brute(a, c, z), G, 2e-10, "%v", p)
		h := 1e-4
		require.InEpsilon(t, (brute(a+h, c, z)-brute(a-h, c, z))/(2*h), Ga, 1e-6, "∂a %v", p)
		require.InEpsilon(t, (brute(a, c+h, z)-brute(a, c-h, z))/(2*h), Gc, 1e-6, "∂c %v", p)
		hz := 1e-4 * (1 - z)
		require.InEpsilon(t, (brute(a, c, z+hz)-brute(a, c, z-hz))/(2*hz), Gz, 1e-5, "∂z %v", p)
	}
}

// TestParetoNBDGradient compares the analytic gradient of the mean
// log-likelihood with central differences of the value, on both sides of
// α = β and at the extremes the search visits.
func TestParetoNBDGradient(t *testing.T) {
	groups := []Group{{X: 0, T: 30, N: 3}, {X: 1, Tx: 5, T: 40, N: 2}, {X: 3, Tx: 20, T: 25, N: 1},
		{X: 10, Tx: 300, T: 365, N: 4}, {X: 40, Tx: 700, T: 730, N: 1}, {X: 2, Tx: 9, T: 9, N: 1}, {X: 0, T: 0, N: 2}}
	d, err := newPNData(groups)
	require.NoError(t, err)
	// The last set takes the Euler-Maclaurin path, whose values are good
	// to about 1e-10 (differences of log-gamma functions): the differences
	// that check it need a longer step and a looser tolerance.
	for k, m := range []ParetoNBD{{0.55, 10.58, 0.61, 11.67}, {1.5, 120, 2.3, 1100}, {0.5, 300, 0.8, 20}, {2, 5, 5, 5}, {1.8, 138, 900, 4e5}} {
		x := []float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.S), math.Log(m.Beta)}
		g := make([]float64, 4)
		d.eval(x, g, nil)
		h, tol := 1e-6, 1e-7
		if k == 4 {
			h, tol = 1e-4, 2e-5
		}
		for i := range 4 {
			y := append([]float64(nil), x...)
			y[i] += h
			fp := d.eval(y, nil, nil)
			y[i] -= 2 * h
			fm := d.eval(y, nil, nil)
			require.InDelta(t, (fp-fm)/(2*h), g[i], tol*math.Max(1, math.Abs(g[i])), "%+v ∂%s", m, pnNames[i])
		}
	}
}
