package clv_test

import (
	"fmt"
	"testing"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/clvsim"
)

// benchCustomers simulates n customers over two years in whole days, like
// a real log: first purchases spread over 730 days, the demo's parameters.
func benchCustomers(n int) []clv.Summary {
	return clvsim.Summaries(clvsim.Simulate(clvsim.Options{
		Customers: n, BGNBD: demoBG, GammaGamma: demoGG, MaxT: 730, Whole: true, Seed: 1,
	}))
}

var benchSizes = []int{10_000, 100_000, 1_000_000}

// BenchmarkFit groups the customers and fits BG/NBD and Gamma-Gamma with
// standard errors: what a warehouse build does for one model.
func BenchmarkFit(b *testing.B) {
	for _, n := range benchSizes {
		s := benchCustomers(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fit, err := clv.FitBGNBD(clv.GroupSummaries(s), clv.FitOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := clv.FitGammaGamma(s, clv.FitOptions{}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(fit.Groups), "groups")
			}
		})
	}
}

// BenchmarkScore computes P(alive), expected purchases in 90 and 365 days,
// expected spend and 12-month CLV for every customer.
func BenchmarkScore(b *testing.B) {
	m := clv.Model{Purchases: demoBG, Spend: demoGG}
	o := clv.ScoreOptions{Horizons: []float64{90, 365}, CLV: clv.CLVOptions{MonthlyDiscount: 0.01}}
	for _, n := range benchSizes {
		s := benchCustomers(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Score(s, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
