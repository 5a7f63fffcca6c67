package clv

import (
	"math"

	"crmwh/warehouse/clv/hypergeo"
)

// ProbAlive returns the probability that a customer with frequency x,
// recency tx and age T is still alive at T (FHL 2005, eq. 11):
//
//	P(alive) = 1 / (1 + 1{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x))
func (m BGNBD) ProbAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	w := math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	return 1 / (1 + math.Exp(w))
}

// ConditionalExpected returns the expected number of repeat purchases in
// the next t of a customer with frequency x, recency tx and age T (FHL
// 2005, eq. 10): P(alive) × AliveExpected(t, x, T).
func (m BGNBD) ConditionalExpected(t, x, tx, T float64) float64 {
	return m.ProbAlive(x, tx, T) * m.AliveExpected(t, x, T)
}

// Expected returns E[X(t)], the expected number of repeat purchases in
// (0, t] of a customer who made the first purchase at 0 (FHL 2005, eq. 9).
// It is AliveExpected(t, 0, 0).
func (m BGNBD) Expected(t float64) float64 { return m.AliveExpected(t, 0, 0) }

// AliveExpected returns the expected number of purchases in the next t of
// a customer who is alive at T after x repeat purchases: the posterior
// mean of (1 − e^(−λpt))/p with λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x).
// In closed form (FHL 2005, eq. 10 without its P(alive) factor):
//
//	(c/(a−1)) [1 − (1−z)^(r+x) 2F1(r+x, b+x; c; z)],  c = a+b+x−1, z = t/(α+T+t)
//
// That form divides two vanishing quantities as a → 1. By Euler's
// transformation it equals, with ε = a−1, L = ln(1−z) and m = a+b−1−r,
//
//	−c·expm1(εL)/ε − e^(εL)·c·(2F1(m, ε; c; z) − 1)/ε
//
// which is how it is computed: hypergeo.Hyp2F1Diff sums the last quotient
// as a power series that stays exact at ε = 0. Close to z = 1, where that
// series would need thousands of terms, the quotient comes from
// hypergeo.Hyp2F1 (which then uses its 1−z transformation) when |ε| ≥
// 0.01, and otherwise from double-exponential quadrature of the posterior
// mean over p.
func (m BGNBD) AliveExpected(t, x, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	if m.A+m.B+x-1 == 0 {
		// c = 0 (a+b = 1, x = 0): the series' first term divides by c.
		return betaMean(m.A, m.B+x, m.R+x, t/(m.Alpha+T))
	}
	s := t / (m.Alpha + T)
	z := s / (1 + s)
	L := -math.Log1p(s) // ln(1−z)
	eps := m.A - 1
	c := m.A + m.B + x - 1
	mm := m.A + m.B - 1 - m.R
	var first float64
	if eps == 0 {
		first = -c * L
	} else {
		first = -c * math.Expm1(eps*L) / eps
	}
	q, ok := hypergeo.Hyp2F1Diff(mm, eps, c, z, 0)
	switch {
	case ok:
	case math.Abs(eps) >= 0.01 && c > 0:
		q = (hypergeo.Hyp2F1(mm, eps, c, z) - 1) / eps
	default:
		return betaMean(m.A, m.B+x, m.R+x, s)
	}
	return first - math.Exp(eps*L)*c*q
}

// betaMean returns E[(1 − (1+ps)^(−n))/p] for p ~ Beta(a, b) by tanh-sinh
// quadrature, p = 1/(1+e^(−π sinh u)), refining the step until two
// successive results agree to 1e-13.
func betaMean(a, b, n, s float64) float64 {
	lnB := lgamma(a) + lgamma(b) - lgamma(a+b)
	f := func(u float64) float64 {
		v := math.Pi * math.Sinh(u)
		var lp, lq float64 // ln p, ln(1−p)
		if v > 0 {
			lp = -math.Log1p(math.Exp(-v))
			lq = -v + lp
		} else {
			lq = -math.Log1p(math.Exp(v))
			lp = v + lq
		}
		p := math.Exp(lp)
		g := n * s
		if p > 0 {
			g = -math.Expm1(-n*math.Log1p(p*s)) / p
		}
		// p^(a−1) (1−p)^(b−1) dp/du with dp/du = π cosh(u) p (1−p).
		return math.Exp(a*lp+b*lq-lnB) * math.Pi * math.Cosh(u) * g
	}
	// The integrand decays like exp(−min(a, b) π sinh|u|).
	umax := math.Asinh(60/(math.Pi*math.Min(a, b))) + 0.5
	prev := math.NaN()
	for h := 1.0 / 8; ; h /= 2 {
		sum := f(0)
		for u := h; u <= umax; u += h {
			sum += f(u) + f(-u)
		}
		sum *= h
		if math.Abs(sum-prev) <= 1e-13*math.Abs(sum) || h < 1.0/1024 {
			return sum
		}
		prev = sum
	}
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}
