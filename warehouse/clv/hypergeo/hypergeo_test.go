package hypergeo_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv/hypergeo"
)

// Reference values computed with mpmath 1.3.0 (mp.hyp2f1 at 40 significant
// digits), printed to 20 digits. They cover the classical cases, c−a−b at
// or within 1e-7…5e-4 of an integer, z up to 1−1e-6, negative z, large
// parameters, and the two forms the BG/NBD conditional expectation takes:
// 2F1(r+x, b+x; a+b+x−1; z) and its Euler transform 2F1(a+b−1−r, a−1;
// a+b+x−1; z).
var tabulated = []struct{ a, b, c, z, want float64 }{
	{1, 1, 2, 0.5, 1.3862943611198906188},
	{1, 1, 2, 0.99, 4.6516870565536267891},
	{1, 1, 2, 0.999999, 13.815524373459892297},
	{1, 1, 2, -0.9, 0.71317098463599419094},
	{1, 1, 2, -50, 0.078636512654486515433},
	{0.5, 0.5, 1, 0.3, 1.0910959103627815623},
	{0.5, 0.5, 1, 0.9, 1.6412644143423707998},
	{0.5, 0.5, 1, 0.9999, 3.8143642420736259199},
	{0.5, 0.5, 1.5, 0.25, 1.0471975511965977462},
	{-3, 2, 5, 0.7, 0.4148},
	{1.5, 2.5, 3.5, 0.8, 4.7103900750607871062},
	{0.1, 0.2, 0.3, 0.95, 1.2027034401166201469},
	{2, 3, 4, 0.5, 2.728935333122625148},
	{2, 3, 4, 0.97, 86.417208152405114286},
	{3.3, -1.7, 5.2, 0.6, 0.45194779514572300918},
	{0.25, 0.75, 1.5, -3, 0.81649658092772603273},
	{1.2, 0.8, 2.0000001, 0.98, 3.8248254623889474103},
	{1.2, 0.8, 3.0005, 0.95, 1.7352990532394365484},
	{1.2, 0.8, 2.9995, 0.9999, 1.9478644498308800571},
	{0.7, 1.3, 1.0002, 0.75, 3.6550176491747585516},
	{0.9, 3.2, 3.0, 0.859, 7.0380494182944077521},
	{0.9, 3.2, 3.0, 0.999, 1468.5767372535908068},
	{10.9, 13.2, 13.0, 0.86, 2914923403.0136942226},
	{100.9, 103.2, 103.0, 0.86, 2.1130702574228261481e+86},
	{50.9, 53.2, 53.0, 0.3, 82120053.800012821747},
	{0.243, 4.414, 4.207, 0.95, 2.3142162407503247251},
	{0.243, 4.414, 4.207, 0.99999, 71.843350405631400134},
	{2.1, -0.2, 3.0, 0.859, 0.81581809884444396891},
	{2.1, -0.2, 3.0, 0.9999, 0.73472486144402061134},
	{2.1, -0.2, 103.0, 0.99, 0.99591431218260682787},
	{3.964, -0.207, 4.207, 0.999, 0.43723982701233966542},
	{0.5, 0.0001, 1.7, 0.999, 1.0000495746151727964},
	{-0.5, 0.3, 0.7, 0.9, 0.74296761908397552948},
	{1.5, 2.5, 4.0, -0.5, 0.67404024682559335905},
	{1.5, 2.5, 4.0, -20, 0.028298321179806107749},
	{0.3, 0.6, 2.2, -1000, 0.26156004013822662659},
	{20, 30, 45, 0.6, 73409.174981928365444},
	{5, 7, 2, 0.9, 176725000000.00039942},
	{1, 1, 2, 0.999999999, 20.723265885951608319},
	{1, 1, 2, 0.999999999999, 27.631043237920989003},
	{0.5, 0.5, 1, 0.999999999999, 9.6777766288061004518},
	{1.2, 0.8, 2.0002, 0.999999, 13.001894119147924719},
	{1.2, 0.8, 2.0009, 0.999999, 12.947609559372355817},
	{1.2, 0.8, 2.0011, 0.999999, 12.9321607279345087},
	{2.3, 1.7, 3.0004, 0.9999999999, 18704053295.02065892},
	{2.3, 1.7, 6.0004, 0.9999999999, 3.2486773620582294979},
	{2.3, 1.7, 1.0004, 0.9999999999, 1.8681618837111850364e+30},
	{0.3, 0.4, 0.7, 0.9999999999, 5.4645597953204856516},
	{2, 3, 4, 0.99999, 299939.92052620952831},
}

func TestHyp2F1MatchesTabulatedValues(t *testing.T) {
	for _, c := range tabulated {
		t.Run(fmt.Sprintf("%g,%g;%g;%g", c.a, c.b, c.c, c.z), func(t *testing.T) {
			got := hypergeo.Hyp2F1(c.a, c.b, c.c, c.z)
			require.InEpsilon(t, c.want, got, 1e-12)
		})
	}
}

// TestHyp2F1ClosedForms checks identities that hold exactly, on grids that
// run up to z = 1 − 1e-12.
func TestHyp2F1ClosedForms(t *testing.T) {
	zs := []float64{-1e6, -30, -2, -0.999, -0.5, -1e-3, 1e-9, 1e-3, 0.1, 0.3, 0.5, 0.6, 0.75, 0.9, 0.95, 0.99, 0.999, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12}
	for _, z := range zs {
		// 2F1(1, 1; 2; z) = −ln(1−z)/z (c−a−b = 0: the degenerate case).
		require.InEpsilon(t, -math.Log1p(-z)/z, hypergeo.Hyp2F1(1, 1, 2, z), 1e-12, "2F1(1,1;2;%g)", z)
		// 2F1(a, b; b; z) = (1−z)^(−a).
		for _, a := range []float64{-2.5, 0.3, 1, 4.7, 60} {
			for _, b := range []float64{0.2, 1.5, 9} {
				want := math.Exp(-a * math.Log1p(-z))
				if math.IsInf(want, 0) || want == 0 {
					continue
				}
				require.InEpsilon(t, want, hypergeo.Hyp2F1(a, b, b, z), 1e-12, "2F1(%g,%g;%g;%g)", a, b, b, z)
			}
		}
		// 2F1(1/2, 1/2; 1; m) = 2K(m)/π with K by the arithmetic-geometric
		// mean (c−a−b = 0 again), for m < 1.
		if z > -1e3 {
			want := 1 / agm(1, math.Sqrt(1-z))
			require.InEpsilon(t, want, hypergeo.Hyp2F1(0.5, 0.5, 1, z), 1e-11, "2F1(1/2,1/2;1;%g)", z)
		}
		if z > 0 {
			// 2F1(1/2, 1/2; 3/2; x²) = arcsin(x)/x and 2F1(1, 1/2; 3/2; x²)
			// = atanh(x)/x, written with 1−z (exact here) so that the
			// reference keeps its accuracy next to x = 1.
			x := math.Sqrt(z)
			asin := math.Atan2(x, math.Sqrt(1-z))
			atanh := 0.5 * (math.Log1p(x) - math.Log((1-z)/(1+x)))
			require.InEpsilon(t, asin/x, hypergeo.Hyp2F1(0.5, 0.5, 1.5, z), 1e-12, "2F1(1/2,1/2;3/2;%g)", z)
			require.InEpsilon(t, atanh/x, hypergeo.Hyp2F1(1, 0.5, 1.5, z), 1e-12, "2F1(1,1/2;3/2;%g)", z)
		}
	}
	// Gauss's sum at z = 1: Γ(c)Γ(c−a−b) / (Γ(c−a)Γ(c−b)).
	g := func(x float64) float64 { return math.Gamma(x) }
	require.InEpsilon(t, g(5.5)*g(1.3)/(g(3.4)*g(3.4)), hypergeo.Hyp2F1(2.1, 2.1, 5.5, 1), 1e-13)
	require.True(t, math.IsNaN(hypergeo.Hyp2F1(2, 3, 4, 1)), "diverges at z = 1 when c−a−b ≤ 0")
	require.True(t, math.IsNaN(hypergeo.Hyp2F1(2, 3, 4, 1.5)), "branch cut")
	require.True(t, math.IsNaN(hypergeo.Hyp2F1(2, 3, -4, 0.5)), "pole at c = −4")
	require.Equal(t, 1.0, hypergeo.Hyp2F1(2, 3, 4, 0))
	// A terminating series is a polynomial, also beyond z = 1.
	require.InEpsilon(t, 1-3.0/4*3, hypergeo.Hyp2F1(-1, 3, 4, 3), 1e-15) // 1 + (−1)(3)/4 · 3
}

// TestHyp2F1AgainstEulerIntegral compares with an independent computation,
// Euler's integral Γ(c)/(Γ(b)Γ(c−b)) ∫₀¹ t^(b−1) (1−t)^(c−b−1) (1−zt)^(−a) dt
// (c > b > 0) by double-exponential quadrature, on a grid of the BG/NBD's
// shapes: a = r+x, b = b+x, c = a+b+x−1 with a > 1, for z up to 0.9999.
func TestHyp2F1AgainstEulerIntegral(t *testing.T) {
	for _, r := range []float64{0.25, 0.9, 3} {
		for _, ab := range [][2]float64{{1.4, 0.7}, {2.5, 8}, {1.05, 40}} {
			for _, x := range []float64{0, 1, 3, 12, 60} {
				for _, z := range []float64{0.05, 0.4, 0.7, 0.9, 0.99, 0.9999} {
					A, B, C := r+x, ab[1]+x, ab[0]+ab[1]+x-1
					want := eulerIntegral(A, B, C, z)
					got := hypergeo.Hyp2F1(A, B, C, z)
					require.InEpsilon(t, want, got, 1e-10, "2F1(%g,%g;%g;%g)", A, B, C, z)
				}
			}
		}
	}
}

func TestHyp2F1DiffIsTheDifferenceQuotient(t *testing.T) {
	for _, c := range []struct{ a, b, c, z float64 }{
		{2.1, -0.2, 3, 0.859}, {2.1, 0.35, 8, 0.5}, {-0.4, 1.7, 2.2, 0.9}, {3, 2, 4.5, 0.97},
	} {
		got, ok := hypergeo.Hyp2F1Diff(c.a, c.b, c.c, c.z, 0)
		require.True(t, ok)
		want := (hypergeo.Hyp2F1(c.a, c.b, c.c, c.z) - 1) / c.b
		require.InEpsilon(t, want, got, 1e-12, "%+v", c)
	}
	// At b = 0 the quotient is the derivative in b: Σ_{k≥1} (a)_k z^k / ((c)_k k).
	a, cc, z := 2.1, 3.0, 0.6
	var want float64
	term := 1.0
	for k := 1; k < 400; k++ {
		fk := float64(k)
		term *= (a + fk - 1) / (cc + fk - 1) * z
		want += term / fk
	}
	got, ok := hypergeo.Hyp2F1Diff(a, 0, cc, z, 0)
	require.True(t, ok)
	require.InEpsilon(t, want, got, 1e-13)
	// Close to z = 1 the series is too slow and says so.
	_, ok = hypergeo.Hyp2F1Diff(2.1, -0.2, 3, 1-1e-6, 1000)
	require.False(t, ok)
}

func agm(a, b float64) float64 {
	for range 60 { // converges quadratically; 60 rounds is far more than enough
		a, b = (a+b)/2, math.Sqrt(a*b)
	}
	return a
}

// eulerIntegral evaluates Euler's integral by tanh-sinh quadrature, with
// t and 1−t both computed without cancellation near the ends, and the
// integrand scaled by its largest value so that huge results do not
// overflow.
func eulerIntegral(a, b, c, z float64) float64 {
	lnB := lg(b) + lg(c-b) - lg(c)
	logf := func(u float64) float64 {
		v := math.Pi / 2 * math.Sinh(u)
		// t = 1/(1+e^(−2v)), 1−t = 1/(1+e^(2v))
		lt := -math.Log1p(math.Exp(-2 * v))
		l1t := -math.Log1p(math.Exp(2 * v))
		t := math.Exp(lt)
		ldt := math.Log(math.Pi*math.Cosh(u)) + lt + l1t // log dt/du
		return (b-1)*lt + (c-b-1)*l1t - a*math.Log1p(-z*t) + ldt
	}
	prev := math.NaN()
	for h := 0.125; ; h /= 2 {
		var us []float64
		for k := -int(6.5 / h); k <= int(6.5/h); k++ {
			us = append(us, float64(k)*h)
		}
		ls := make([]float64, len(us))
		top := math.Inf(-1)
		for i, u := range us {
			ls[i] = logf(u)
			if !math.IsNaN(ls[i]) {
				top = math.Max(top, ls[i])
			}
		}
		var s float64
		for _, l := range ls {
			if !math.IsNaN(l) {
				s += math.Exp(l - top)
			}
		}
		s = math.Log(s*h) + top - lnB
		if math.Abs(s-prev) < 1e-15 || h < 1e-3 {
			return math.Exp(s)
		}
		prev = s
	}
}

func lg(x float64) float64 { v, _ := math.Lgamma(x); return v }
