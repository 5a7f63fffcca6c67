package clv_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
)

// lbeta is ln B(a, b).
func lbeta(a, b float64) float64 { return lg(a) + lg(b) - lg(a+b) }

// TestSBGReproducesFaderHardie2007 fits the paper's two example cohorts
// (Fader & Hardie 2007, "How to project customer retention", table 1:
// customers of a subscription business still active in years 0–7) and
// gets its estimates to the three decimals printed. The projections for
// years 8–12 are B(α, β+t)/B(α, β), and they track what the paper reports
// happened (regular: 223, 207, 194, 183, 173 still active) within 2%.
func TestSBGReproducesFaderHardie2007(t *testing.T) {
	regular := []float64{1000, 631, 468, 382, 326, 289, 262, 241}
	fit, err := clv.FitSBG(regular, clv.FitOptions{})
	require.NoError(t, err)
	require.InDelta(t, 0.704, fit.Params.Alpha, 0.0005)
	require.InDelta(t, 1.182, fit.Params.Beta, 0.0005)
	require.True(t, fit.Converged)
	require.Less(t, fit.Alpha.Lower, 0.704)
	require.Greater(t, fit.Alpha.Upper, 0.704)

	proj := fit.Params.Project(1000, 12)
	for i, actual := range []float64{223, 207, 194, 183, 173} {
		year := 8 + i
		want := 1000 * math.Exp(lbeta(fit.Params.Alpha, fit.Params.Beta+float64(year))-lbeta(fit.Params.Alpha, fit.Params.Beta))
		require.InEpsilon(t, want, proj[year], 1e-12, "year %d", year)
		require.InEpsilon(t, actual, proj[year], 0.02, "year %d against what happened", year)
		t.Logf("year %d: projected %.1f, actual %.0f", year, proj[year], actual)
	}
	for year := 1; year <= 7; year++ {
		require.InEpsilon(t, regular[year], proj[year], 0.025, "the fit of year %d", year)
	}

	high := []float64{1000, 869, 743, 653, 593, 551, 517, 491}
	hfit, err := clv.FitSBG(high, clv.FitOptions{})
	require.NoError(t, err)
	require.InDelta(t, 0.668, hfit.Params.Alpha, 0.0005)
	require.InDelta(t, 3.806, hfit.Params.Beta, 0.0005)

	// The log-likelihood is eq. 6 of the paper written with Beta
	// functions: P(T=t) = B(α+1, β+t−1)/B(α, β), S(t) = B(α, β+t)/B(α, β).
	m := fit.Params
	var want float64
	for t := 1; t < len(regular); t++ {
		want += (regular[t-1] - regular[t]) * (lbeta(m.Alpha+1, m.Beta+float64(t)-1) - lbeta(m.Alpha, m.Beta))
	}
	want += regular[7] * (lbeta(m.Alpha, m.Beta+7) - lbeta(m.Alpha, m.Beta))
	require.InEpsilon(t, want, fit.LogLikelihood, 1e-12)
}

func TestSBGPredictions(t *testing.T) {
	m := clv.SBG{Alpha: 0.704, Beta: 1.182}
	for tt := 1; tt <= 20; tt++ {
		require.InEpsilon(t, m.Survival(tt)/m.Survival(tt-1), m.Retention(tt), 1e-12)
		require.InEpsilon(t, m.Survival(tt-1)-m.Survival(tt), m.Churn(tt), 1e-12)
	}
	require.Equal(t, 1.0, m.Survival(0))
	// DERL is the discounted sum of the survival odds from period n on,
	// summed here term by term.
	for _, d := range []float64{0.1, 0.02} {
		for _, n := range []int{1, 2, 5, 12} {
			var sum float64
			for tt := n; tt < n+20000; tt++ {
				sum += m.Survival(tt) / m.Survival(n-1) / math.Pow(1+d, float64(tt-n))
			}
			require.InEpsilon(t, sum, m.DERL(d, n), 1e-9, "d %g n %d", d, n)
			require.InEpsilon(t, 250*sum, m.ResidualValue(250, d, n), 1e-9)
		}
	}
	require.True(t, math.IsNaN(m.DERL(0, 1)))
}

func TestSBGErrors(t *testing.T) {
	_, err := clv.FitSBG([]float64{1000, 1001}, clv.FitOptions{})
	require.EqualError(t, err, "fitting sBG: period 1: 1001 active customers, more than the 1000 before (counts must not rise)")
	_, err = clv.FitSBG([]float64{1000, 1000, 1000}, clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNoData)
	_, err = clv.FitSBG([]float64{1000}, clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNoData)
	_, err = clv.FitSBG([]float64{100, math.NaN()}, clv.FitOptions{})
	require.EqualError(t, err, "fitting sBG: period 1: NaN active customers is not a count ≥ 0")
}

// Groups observed for different numbers of periods share α and β: the
// fit maximises the sum of the groups' log-likelihoods. Two halves of the
// paper's cohort give the paper's estimates; a group seen for fewer
// periods adds its own terms, checked against each group's
// LogLikelihood.
func TestSBGGroupsSumTheirLikelihoods(t *testing.T) {
	regular := []float64{1000, 631, 468, 382, 326, 289, 262, 241}
	half := make([]float64, len(regular))
	for i, n := range regular {
		half[i] = n / 2
	}
	fit, err := clv.FitSBGGroups([][]float64{half, half}, clv.FitOptions{})
	require.NoError(t, err)
	require.InDelta(t, 0.704, fit.Params.Alpha, 0.0005)
	require.InDelta(t, 1.182, fit.Params.Beta, 0.0005)
	require.Equal(t, 1000.0, fit.Customers)

	late := []float64{400, 250, 190, 160} // started three periods later
	fit, err = clv.FitSBGGroups([][]float64{regular, late}, clv.FitOptions{})
	require.NoError(t, err)
	require.Equal(t, 7, fit.Periods)
	ll := func(m clv.SBG) float64 {
		a, err := m.LogLikelihood(regular)
		require.NoError(t, err)
		b, err := m.LogLikelihood(late)
		require.NoError(t, err)
		return a + b
	}
	require.InEpsilon(t, ll(fit.Params), fit.LogLikelihood, 1e-12)
	// A maximum: moving either parameter by 1% lowers the sum.
	for _, m := range []clv.SBG{{Alpha: fit.Params.Alpha * 1.01, Beta: fit.Params.Beta}, {Alpha: fit.Params.Alpha * 0.99, Beta: fit.Params.Beta},
		{Alpha: fit.Params.Alpha, Beta: fit.Params.Beta * 1.01}, {Alpha: fit.Params.Alpha, Beta: fit.Params.Beta * 0.99}} {
		require.Less(t, ll(m), fit.LogLikelihood)
	}
	_, err = clv.FitSBGGroups([][]float64{{10, 10}, {5, 5, 5}}, clv.FitOptions{})
	require.ErrorIs(t, err, clv.ErrNoData)
}
