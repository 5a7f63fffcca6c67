package clv_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

// TestCLVOfAFixedRateCustomer uses parameters where BG/NBD has almost no
// heterogeneity and no dropout, so the answer is arithmetic: λ ~
// Gamma(1e7, 1e8) is 0.1 a day to within 0.03%, p ~ Beta(2, 1e9) is 2e-9.
// A customer who is surely alive then buys 0.1 × 30.4375 times a month.
func TestCLVOfAFixedRateCustomer(t *testing.T) {
	m := clv.Model{
		Purchases: clv.BGNBD{R: 1e7, Alpha: 1e8, A: 2, B: 1e9},
		Spend:     clv.GammaGamma{P: 6, Q: 4, Gamma: 150},
	}
	c := clv.Summary{X: 5, Tx: 100, T: 100, Monetary: 250}
	o := clv.CLVOptions{Months: 12, MonthlyDiscount: 0.01, Margin: 0.3}

	perMonth := 0.1 * 365.25 / 12                 // 3.04375 purchases
	spend := 6 * (150 + 5*250.0) / (6*5 + 4 - 1)  // 8400/33 = 254.54…
	annuity := (1 - math.Pow(1.01, -12)) / 0.01   // Σ_{k=1..12} 1.01^-k = 11.2550…
	want := 0.3 * spend * perMonth * annuity      // 76.3636 × 3.04375 × 11.2551
	require.InEpsilon(t, 2616.0381, want, 1e-6)   // the arithmetic, once more by hand
	require.InEpsilon(t, want, m.CLV(c, o), 1e-5) // λ's posterior mean is 0.1 × (1 − 1e-6)
	require.InEpsilon(t, 1, m.Purchases.ProbAlive(5, 100, 100), 1e-8)

	sc, err := m.Score([]clv.Summary{c}, clv.ScoreOptions{Horizons: []float64{90}, CLV: o})
	require.NoError(t, err)
	require.InEpsilon(t, want, sc.CLV[0], 1e-5)
	require.InEpsilon(t, 9.0, sc.Expected[0][0], 1e-5)
	require.InEpsilon(t, spend, sc.ExpectedSpend[0], 1e-15)

	// Defaults: 12 months, no discount, margin 1.
	require.InEpsilon(t, spend*perMonth*12, m.CLV(c, clv.CLVOptions{}), 1e-5)
}

// TestCLVByTheMonth spells the CLV sum out month by month for the demo's
// parameters: expected purchases in month k are the difference of the
// conditional expectations at the month's end and start.
func TestCLVByTheMonth(t *testing.T) {
	m := clv.Model{Purchases: demoBG, Spend: demoGG}
	c := clv.Summary{X: 4, Tx: 200, T: 300, Monetary: 280}
	month := 365.25 / 12
	var want float64
	for k := 1; k <= 24; k++ {
		purchases := m.Purchases.ConditionalExpected(float64(k)*month, 4, 200, 300) - m.Purchases.ConditionalExpected(float64(k-1)*month, 4, 200, 300)
		want += purchases / math.Pow(1.015, float64(k))
	}
	want *= 0.4 * 6 * (150 + 4*280.0) / (6*4 + 4 - 1)
	o := clv.CLVOptions{Months: 24, MonthlyDiscount: 0.015, Margin: 0.4}
	require.InEpsilon(t, want, m.CLV(c, o), 1e-12)

	// In weeks the parameters and times scale: α in weeks is α/7.
	w := clv.Model{Purchases: clv.BGNBD{R: demoBG.R, Alpha: demoBG.Alpha / 7, A: demoBG.A, B: demoBG.B}, Spend: demoGG, Unit: clv.Weeks}
	require.InEpsilon(t, want, w.CLV(clv.Summary{X: 4, Tx: 200.0 / 7, T: 300.0 / 7, Monetary: 280}, o), 1e-10)
}

// TestScoreMatchesTheSingleCustomerFunctions scores simulated customers in
// days (whole numbers: the packed path) and in fractional weeks (the map
// path) and compares every output with the per-customer methods.
func TestScoreMatchesTheSingleCustomerFunctions(t *testing.T) {
	cs := clvsim.Summaries(clvsim.Simulate(clvsim.Options{Customers: 3000, BGNBD: demoBG, GammaGamma: demoGG, MaxT: 730, Whole: true, Seed: 5}))
	o := clv.ScoreOptions{Horizons: []float64{90, 365}, CLV: clv.CLVOptions{MonthlyDiscount: 0.01, Margin: 0.25}}
	check := func(m clv.Model, cs []clv.Summary, o clv.ScoreOptions) {
		sc, err := m.Score(cs, o)
		require.NoError(t, err)
		for i, c := range cs {
			require.InEpsilon(t, m.Purchases.ProbAlive(c.X, c.Tx, c.T), sc.PAlive[i], 1e-14)
			for h, t0 := range o.Horizons {
				require.InEpsilon(t, m.Purchases.ConditionalExpected(t0, c.X, c.Tx, c.T), sc.Expected[h][i], 1e-14)
			}
			require.InEpsilon(t, m.Spend.ExpectedSpend(c.X, c.Monetary), sc.ExpectedSpend[i], 1e-14)
			require.InEpsilon(t, m.CLV(c, o.CLV), sc.CLV[i], 1e-13)
		}
	}
	days := clv.Model{Purchases: demoBG, Spend: demoGG}
	check(days, cs, o)

	weeks := clv.Model{Purchases: clv.BGNBD{R: demoBG.R, Alpha: demoBG.Alpha / 7, A: demoBG.A, B: demoBG.B}, Spend: demoGG, Unit: clv.Weeks}
	ws := make([]clv.Summary, len(cs))
	for i, c := range cs {
		ws[i] = clv.Summary{X: c.X, Tx: c.Tx / 7, T: c.T / 7, Monetary: c.Monetary}
	}
	wo := clv.ScoreOptions{Horizons: []float64{90.0 / 7, 365.0 / 7}, CLV: o.CLV}
	check(weeks, ws, wo)
	// The same customers in days and in weeks get the same scores.
	a, err := days.Score(cs, o)
	require.NoError(t, err)
	b, err := weeks.Score(ws, wo)
	require.NoError(t, err)
	for i := range cs {
		require.InEpsilon(t, a.CLV[i], b.CLV[i], 1e-9)
		require.InEpsilon(t, a.Expected[1][i], b.Expected[1][i], 1e-9)
	}
}

func TestScoreRefusesWhatItCannotCompute(t *testing.T) {
	m := clv.Model{Purchases: demoBG, Spend: clv.GammaGamma{P: 2, Q: 0.8, Gamma: 10}}
	_, err := m.Score([]clv.Summary{{X: 0, T: 3}}, clv.ScoreOptions{})
	require.ErrorIs(t, err, clv.ErrInfiniteSpend)
	m.Spend = demoGG
	_, err = m.Score([]clv.Summary{{X: 0, T: 3}, {X: 2, Tx: 9, T: 3}}, clv.ScoreOptions{})
	require.EqualError(t, err, "scoring: customer 1: t_x = 9 is not between 0 and T = 3")
	_, err = m.Score(nil, clv.ScoreOptions{Horizons: []float64{-1}})
	require.EqualError(t, err, "scoring: horizon 0 = -1 is not a time ≥ 0")
	_, err = m.Score(nil, clv.ScoreOptions{CLV: clv.CLVOptions{MonthlyDiscount: -1}})
	require.EqualError(t, err, "scoring: monthly discount rate -1 is not above -1")
}

// TestValidateOnAHandMadeCohort works the holdout comparison out by hand
// for four customers.
func TestValidateOnAHandMadeCohort(t *testing.T) {
	m := demoBG
	cal := []clv.Summary{
		{X: 0, T: 100}, {X: 2, Tx: 50, T: 200}, {X: 9, Tx: 190, T: 200}, {X: 1, Tx: 3, T: 20},
	}
	holdout := []float64{0, 1, 4, 2}
	track := []clv.TrackPoint{{Time: -150, Actual: 1}, {Time: 0, Actual: 12}, {Time: 30, Actual: 15}}
	v, err := clv.Validate(m, cal, holdout, 60, track)
	require.NoError(t, err)

	pred := make([]float64, len(cal))
	var total, abs float64
	for i, c := range cal {
		pred[i] = m.ConditionalExpected(60, c.X, c.Tx, c.T)
		total += pred[i]
		abs += math.Abs(holdout[i] - pred[i])
	}
	require.Equal(t, 4, v.Customers)
	require.Equal(t, 7.0, v.Actual)
	require.InEpsilon(t, total, v.Predicted, 1e-14)
	require.InEpsilon(t, abs/4, v.MAE, 1e-14)
	require.Equal(t, 60.0, v.HoldoutLength)

	require.Len(t, v.ByFrequency, 8)
	labels := []string{}
	for _, b := range v.ByFrequency {
		labels = append(labels, b.Label)
	}
	require.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "7+"}, labels)
	require.Equal(t, clv.FrequencyBucket{Label: "0", Customers: 1, Actual: 0, Predicted: pred[0]}, v.ByFrequency[0])
	require.Equal(t, clv.FrequencyBucket{Label: "1", Customers: 1, Actual: 2, Predicted: pred[3]}, v.ByFrequency[1])
	require.Equal(t, clv.FrequencyBucket{Label: "2", Customers: 1, Actual: 1, Predicted: pred[1]}, v.ByFrequency[2])
	require.Equal(t, clv.FrequencyBucket{Label: "3"}, v.ByFrequency[3])
	require.Equal(t, clv.FrequencyBucket{Label: "7+", Customers: 1, Actual: 4, Predicted: pred[2]}, v.ByFrequency[7])

	// Tracking: at −150 only the customers with T > 150 had started, for
	// 50 days; at 0 everyone, for T; at +30, for T + 30.
	E := m.Expected
	require.InEpsilon(t, 2*E(50), v.Tracking[0].Expected, 1e-14)
	require.InEpsilon(t, E(100)+2*E(200)+E(20), v.Tracking[1].Expected, 1e-14)
	require.InEpsilon(t, E(130)+2*E(230)+E(50), v.Tracking[2].Expected, 1e-14)
	require.Equal(t, []float64{1, 12, 15}, []float64{v.Tracking[0].Actual, v.Tracking[1].Actual, v.Tracking[2].Actual})

	_, err = clv.Validate(m, cal, holdout[:2], 60, nil)
	require.EqualError(t, err, "validating: 2 holdout counts for 4 customers")
}
