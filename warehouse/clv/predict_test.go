package clv_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/hypergeo"
)

// paramSets cover the demo's parameters, a ≈ 1 (where the textbook formula
// divides 0 by 0), a > 1 with little dropout, and a small α, which puts
// z = t/(α+T+t) within 1e-3 of 1 for recent customers (the 1−z
// transformation and the quadrature fallback).
var paramSets = []clv.BGNBD{
	{R: 0.9, Alpha: 60, A: 0.8, B: 3.2},
	{R: 0.25, Alpha: 4, A: 1.0004, B: 2.5},
	{R: 2.2, Alpha: 150, A: 3.5, B: 40},
	{R: 0.5, Alpha: 0.3, A: 0.6, B: 1.1},
	{R: 0.5, Alpha: 0.2, A: 1.003, B: 0.9},
	{R: 1.3, Alpha: 0.25, A: 2.4, B: 1.7},
}

var histories = []struct{ x, tx, T float64 }{
	{0, 0, 0}, {0, 0, 30}, {1, 5, 40}, {3, 20, 25}, {10, 300, 365}, {40, 700, 730}, {2, 0.5, 0.6},
}

// TestPredictionsAgainstPosteriorIntegration checks P(alive) and the
// conditional expectation E[Y(t) | x, t_x, T] against a computation that
// uses none of the closed forms: the posterior of (λ, p) is prior times
// likelihood,
//
//	alive: (1−p)^x λ^x e^(−λT),  dropped out: 1{x>0} p (1−p)^(x−1) λ^x e^(−λ t_x)
//
// and a customer alive at T with (λ, p) buys (1 − e^(−λpt))/p times in the
// next t in expectation (FHL 2005, eq. 7). The double integral over
// (ln λ, logit p) is done by the trapezoidal rule, which converges
// geometrically for these smooth, fast-decaying integrands.
func TestPredictionsAgainstPosteriorIntegration(t *testing.T) {
	for _, m := range paramSets {
		for _, h := range histories {
			post := newPosterior(m, h.x, h.tx, h.T)
			t.Run(fmt.Sprintf("%v/%v", m, h), func(t *testing.T) {
				require.InEpsilon(t, post.pAlive(), m.ProbAlive(h.x, h.tx, h.T), 1e-9, "P(alive)")
				for _, horizon := range []float64{1, 30, 365} {
					want := post.expected(horizon)
					got := m.ConditionalExpected(horizon, h.x, h.tx, h.T)
					require.InEpsilon(t, want, got, 1e-8, "E[Y(%g)]", horizon)
				}
			})
		}
	}
}

// TestExpectedIsTheUnconditionalMean checks E[X(t)] against the same
// integration over the prior, and against the textbook closed form with
// hypergeo.Hyp2F1 where a is far from 1.
func TestExpectedIsTheUnconditionalMean(t *testing.T) {
	for _, m := range paramSets {
		post := newPosterior(m, 0, 0, 0)
		for _, horizon := range []float64{0.5, 7, 90, 365, 3650} {
			got := m.Expected(horizon)
			require.InEpsilon(t, post.expected(horizon), got, 1e-8, "%v t=%g", m, horizon)
			if math.Abs(m.A-1) > 0.1 {
				z := horizon / (m.Alpha + horizon)
				textbook := (m.A + m.B - 1) / (m.A - 1) * (1 - math.Pow(m.Alpha/(m.Alpha+horizon), m.R)*hypergeo.Hyp2F1(m.R, m.B, m.A+m.B-1, z))
				require.InEpsilon(t, textbook, got, 1e-10, "%v t=%g", m, horizon)
			}
		}
	}
	require.Zero(t, paramSets[0].Expected(0))
}

// TestConditionalExpectedTextbookForm compares with FHL's eq. 10 evaluated
// literally with Hyp2F1, for a away from 1.
func TestConditionalExpectedTextbookForm(t *testing.T) {
	for _, m := range paramSets {
		if math.Abs(m.A-1) < 0.1 {
			continue
		}
		for _, h := range histories {
			for _, horizon := range []float64{1, 30, 365} {
				n := m.R + h.x
				z := horizon / (m.Alpha + h.T + horizon)
				num := (m.A + m.B + h.x - 1) / (m.A - 1) * (1 - math.Pow((m.Alpha+h.T)/(m.Alpha+h.T+horizon), n)*hypergeo.Hyp2F1(n, m.B+h.x, m.A+m.B+h.x-1, z))
				den := 1.0
				if h.x > 0 {
					den += m.A / (m.B + h.x - 1) * math.Pow((m.Alpha+h.T)/(m.Alpha+h.tx), n)
				}
				require.InEpsilon(t, num/den, m.ConditionalExpected(horizon, h.x, h.tx, h.T), 1e-9, "%v %v t=%g", m, h, horizon)
			}
		}
	}
}

// posterior integrates over (s, w) = (ln λ, logit p). Up to a constant
// that cancels in every ratio, prior × likelihood × Jacobian is
//
//	alive: exp((r+x)s − λ(α+T) + a ln p + (b+x) ln(1−p))
//	dead:  exp((r+x)s − λ(α+t_x) + (a+1) ln p + (b+x−1) ln(1−p))
type posterior struct {
	m          clv.BGNBD
	x, tx, T   float64
	s, w       []float64 // grids
	hs, hw     float64
	lamA, lamD []float64 // λ factors, scaled by a common constant
	pA, pD     []float64 // p factors, likewise
}

func newPosterior(m clv.BGNBD, x, tx, T float64) *posterior {
	n := m.R + x
	c1, c2 := m.Alpha+T, m.Alpha+tx
	q := &posterior{m: m, x: x, tx: tx, T: T}
	// ln λ: the factor e^(ns − c e^s) peaks at ln(n/c) with width 1/√n.
	q.hs = math.Min(0.1, 0.4/math.Sqrt(n))
	lo := math.Log(n/math.Max(c1, c2)) - 60/n - 10
	hi := math.Log(n/math.Min(c1, c2)) + math.Log(60/n+1) + 3
	for s := lo; s <= hi; s += q.hs {
		q.s = append(q.s, s)
	}
	// logit p: a ln p + β ln(1−p) peaks at ln(a/β).
	beta := m.B + x
	q.hw = math.Min(0.1, 0.4/math.Sqrt(m.A+beta))
	wlo := math.Log(m.A/beta) - 60/m.A - 5
	whi := math.Log(m.A/beta) + 60/math.Max(beta-1, 0.5) + 5
	for w := wlo; w <= whi; w += q.hw {
		q.w = append(q.w, w)
	}
	scale := func(ls []float64) []float64 {
		top := math.Inf(-1)
		for _, l := range ls {
			top = math.Max(top, l)
		}
		out := make([]float64, len(ls))
		for i, l := range ls {
			out[i] = math.Exp(l - top)
		}
		return out
	}
	// A common scale for alive and dead factors keeps their ratio.
	var la, ld, pa, pd []float64
	for _, s := range q.s {
		la = append(la, n*s-math.Exp(s)*c1)
		ld = append(ld, n*s-math.Exp(s)*c2)
	}
	for _, w := range q.w {
		lp := -math.Log1p(math.Exp(-w))
		lq := -math.Log1p(math.Exp(w))
		pa = append(pa, m.A*lp+beta*lq)
		pd = append(pd, (m.A+1)*lp+(beta-1)*lq)
	}
	both := scale(append(la, ld...))
	q.lamA, q.lamD = both[:len(la)], both[len(la):]
	both = scale(append(pa, pd...))
	q.pA, q.pD = both[:len(pa)], both[len(pa):]
	return q
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// mass returns the alive and the dropped-out posterior mass.
func (q *posterior) mass() (alive, dead float64) {
	alive = sum(q.lamA) * sum(q.pA)
	if q.x > 0 {
		dead = sum(q.lamD) * sum(q.pD)
	}
	return alive, dead
}

func (q *posterior) pAlive() float64 {
	a, d := q.mass()
	return a / (a + d)
}

func (q *posterior) expected(t float64) float64 {
	a, d := q.mass()
	var num float64
	for j, w := range q.w {
		p := 1 / (1 + math.Exp(-w))
		var inner float64
		for i, s := range q.s {
			inner += q.lamA[i] * -math.Expm1(-math.Exp(s)*p*t)
		}
		num += q.pA[j] * inner / p
	}
	return num / (a + d)
}
