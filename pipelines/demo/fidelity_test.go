package demo_test

import (
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/demo"
)

// TestRepeatPurchasesFollowBGNBD counts every buyer's repeat purchases in
// the billing files and compares their sample mean and variance with what
// the BG/NBD model with the stated parameters predicts for each buyer's own
// observation length T.
//
// Tolerances: given the T_i, the counts X_i are independent, so
// Var(mean) = Σ Var(X_i) / n² exactly, from the pmf. For the sample
// variance s², Var(s²) ≈ (μ4 − σ⁴)/n with μ4 and σ² the central moments of
// the mixture over the buyers' T (this slightly overstates the conditional
// variance, so it is conservative). Both statistics are close to normal at
// n ≈ 90,000, and the test allows 4 standard errors: a correct generator
// fails with probability below 1e-4 per check.
func TestRepeatPurchasesFollowBGNBD(t *testing.T) {
	if testing.Short() {
		t.Skip("go test -short: this test generates a 100,000-person demo company; make test and CI run it without -short")
	}
	o := demo.DefaultOptions()
	o.Customers, o.Years = 100_000, 1
	par := demo.DefaultParams()
	sum, dir := generate(t, o)
	d := openDataset(t, dir)

	// Repeat purchases from the billing files: paid rows only, malformed
	// rows (listed in truth) skipped by d.rows.
	people := readCSV(t, filepath.Join(dir, "truth", "people.csv"))
	require.Equal(t, []string{"person_id", "crm_customer_ids", "billing_customer_nos", "is_prospect", "acquired_at", "lambda", "p", "nu",
		"alive_at_end", "dropout_at", "purchases", "repeat_purchases", "complaints"}, people[0])
	personOf := map[string]int{}
	for i, p := range people[1:] {
		if p[2] == "" {
			continue
		}
		for _, no := range strings.Split(p[2], ";") {
			personOf[no] = i
		}
	}
	counts := make([]int, len(people)-1)
	for _, rel := range append(d.files(t, "billing/orders/*.csv"), d.files(t, "billing/legacy/orders_*.csv")...) {
		for _, r := range d.rows(t, rel, true) {
			if statusWords[r.fields[6]] != "paid" {
				continue
			}
			i, ok := personOf[r.fields[1]]
			if !ok {
				t.Fatalf("%s:%d: billing customer %s belongs to nobody", rel, r.line, r.fields[1])
			}
			counts[i]++
		}
	}

	var params struct {
		PeriodEnd string `json:"period_end"`
	}
	readJSON(t, filepath.Join(dir, "truth", "params.json"), &params)
	end, err := time.Parse(time.RFC3339, params.PeriodEnd)
	require.NoError(t, err)

	var xs, ts []float64
	for i, p := range people[1:] {
		if p[3] == "true" {
			require.Zero(t, counts[i], "prospect %s bought", p[0])
			continue
		}
		repeat, err := strconv.Atoi(p[11])
		require.NoError(t, err)
		if counts[i]-1 != repeat {
			t.Fatalf("person %s: %d repeat purchases in the billing files, truth says %d", p[0], counts[i]-1, repeat)
		}
		acquired, err := time.Parse(time.RFC3339, p[4])
		require.NoError(t, err)
		xs = append(xs, float64(repeat))
		ts = append(ts, end.Sub(acquired).Hours()/24)
	}
	n := float64(len(xs))
	require.Equal(t, sum.Buyers, len(xs))
	require.Greater(t, n, 85_000.0)

	// The expectation, buyer by buyer, from the pmf.
	m := newBGNBD(par.R, par.Alpha, par.A, par.B)
	var m1, m2, m3, m4, varSum float64
	mu := make([]float64, len(ts))
	for i, T := range ts {
		e1, e2, e3, e4 := m.moments(T)
		mu[i] = e1
		m1 += e1
		m2 += e2
		m3 += e3
		m4 += e4
		varSum += e2 - e1*e1
	}
	m1, m2, m3, m4 = m1/n, m2/n, m3/n, m4/n

	var mean, ss, between float64
	for _, x := range xs {
		mean += x
	}
	mean /= n
	for i, x := range xs {
		ss += (x - mean) * (x - mean)
		between += (mu[i] - m1) * (mu[i] - m1)
	}
	sampleVar := ss / (n - 1)

	seMean := math.Sqrt(varSum) / n
	wantVar := varSum/n + between/(n-1)
	sigma2 := m2 - m1*m1
	mu4 := m4 - 4*m3*m1 + 6*m2*m1*m1 - 3*m1*m1*m1*m1
	seVar := math.Sqrt((mu4 - sigma2*sigma2) / n)
	t.Logf("buyers %d: mean %.4f (expected %.4f ± %.4f), variance %.3f (expected %.3f ± %.3f)",
		len(xs), mean, m1, seMean, sampleVar, wantVar, seVar)
	require.InDelta(t, m1, mean, 4*seMean, "mean repeat purchases")
	require.InDelta(t, wantVar, sampleVar, 4*seVar, "variance of repeat purchases")
}

// TestBGNBDMeanMatchesClosedForm checks the test's own pmf against the
// closed form of E[X(t)] (Fader, Hardie & Lee 2005, eq. 9).
func TestBGNBDMeanMatchesClosedForm(t *testing.T) {
	p := demo.DefaultParams()
	m := newBGNBD(p.R, p.Alpha, p.A, p.B)
	for _, T := range []float64{1, 30, 180, 365, 730, 3650} {
		e1, _, _, _ := m.moments(T)
		want := m.closedFormMean(T)
		require.InEpsilon(t, want, e1, 1e-9, "t = %g", T)
	}
	// Without dropout and without heterogeneity checks: a (nearly) pure
	// Poisson with rate r/alpha.
	pois := newBGNBD(1e6, 1e6, 1e-9, 1e9)
	e1, e2, _, _ := pois.moments(10)
	require.InDelta(t, 10, e1, 1e-3)
	require.InDelta(t, 10+100, e2, 2e-2)
}

// bgnbd evaluates P(X(t) = x) of the BG/NBD model (Fader, Hardie & Lee
// 2005, eq. 8):
//
//	P(X=x) = B(a, b+x)/B(a, b) · NB(x) + 1{x>0} · B(a+1, b+x−1)/B(a, b) · P(NB ≥ x)
//
// where NB(x) = Γ(r+x)/(Γ(r) x!) (α/(α+t))^r (t/(α+t))^x.
type bgnbd struct {
	r, alpha, a, b  float64
	lnb, lnA1, lnA2 []float64 // per x: ln Γ(r+x)/(Γ(r) x!), ln of the two beta ratios
}

const maxX = 6000

func newBGNBD(r, alpha, a, b float64) *bgnbd {
	m := &bgnbd{r: r, alpha: alpha, a: a, b: b}
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	lnB := lg(a) + lg(b) - lg(a+b)
	for x := range maxX {
		fx := float64(x)
		m.lnb = append(m.lnb, lg(r+fx)-lg(r)-lg(fx+1))
		m.lnA1 = append(m.lnA1, lg(a)+lg(b+fx)-lg(a+b+fx)-lnB)
		if x > 0 {
			m.lnA2 = append(m.lnA2, lg(a+1)+lg(b+fx-1)-lg(a+b+fx)-lnB)
		} else {
			m.lnA2 = append(m.lnA2, math.Inf(-1))
		}
	}
	return m
}

// pmf returns P(X(t) = x) for x = 0, 1, … until the rest is negligible.
func (m *bgnbd) pmf(t float64) []float64 {
	lp := m.r * math.Log(m.alpha/(m.alpha+t))
	lq := math.Log(t / (m.alpha + t))
	nb := make([]float64, 0, 256)
	for x := range maxX {
		v := math.Exp(m.lnb[x] + lp + float64(x)*lq)
		nb = append(nb, v)
		if v < 1e-18 && float64(x) > 2*m.r*t/m.alpha+10 {
			break
		}
	}
	// Tail sums from the top keep P(NB ≥ x) accurate where it is tiny.
	tail := make([]float64, len(nb)+1)
	for x := len(nb) - 1; x >= 0; x-- {
		tail[x] = tail[x+1] + nb[x]
	}
	out := make([]float64, len(nb))
	for x := range nb {
		out[x] = math.Exp(m.lnA1[x]) * nb[x]
		if x > 0 {
			out[x] += math.Exp(m.lnA2[x]) * tail[x]
		}
	}
	return out
}

// moments returns E[X], E[X²], E[X³], E[X⁴] for observation length t.
func (m *bgnbd) moments(t float64) (e1, e2, e3, e4 float64) {
	var total float64
	for x, p := range m.pmf(t) {
		fx := float64(x)
		total += p
		e1 += fx * p
		e2 += fx * fx * p
		e3 += fx * fx * fx * p
		e4 += fx * fx * fx * fx * p
	}
	if math.Abs(total-1) > 1e-9 {
		panic("pmf does not sum to 1: " + strconv.FormatFloat(total, 'g', -1, 64))
	}
	return e1, e2, e3, e4
}

// closedFormMean is E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r ·
// 2F1(r, b; a+b−1; t/(α+t))].
func (m *bgnbd) closedFormMean(t float64) float64 {
	z := t / (m.alpha + t)
	c := m.a + m.b - 1
	// Gauss's series converges for |z| < 1.
	sum, term := 1.0, 1.0
	for k := 0.0; k < 1e6; k++ {
		term *= (m.r + k) * (m.b + k) / ((c + k) * (k + 1)) * z
		sum += term
		if math.Abs(term) < 1e-17*math.Abs(sum) {
			break
		}
	}
	return c / (m.a - 1) * (1 - math.Pow(m.alpha/(m.alpha+t), m.r)*sum)
}
