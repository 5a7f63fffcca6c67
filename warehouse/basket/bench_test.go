package basket_test

import (
	"math/rand/v2"
	"testing"

	"crmwh/warehouse/basket"
)

// benchHistory is 1,000,000 orders of 100,000 customers, about 3.1 items
// each of 60 (skewed to the first), in 10 categories: the demo's shape.
func benchHistory() (*basket.History, basket.Level) {
	r := rand.New(rand.NewPCG(1, 2))
	var h basket.History
	h.Grow(1_000_000, 3_200_000)
	items := make([]int32, 0, 8)
	for c := range 100_000 {
		day := int32(r.IntN(300))
		for range 10 {
			items = items[:0]
			for range 1 + r.IntN(5) {
				items = append(items, int32(60*r.Float64()*r.Float64()))
			}
			h.AddOrder(int32(c), day, items)
			day += int32(r.IntN(40))
		}
	}
	lv := make(basket.Level, 60)
	for i := range lv {
		lv[i] = int32(i % 10)
	}
	return &h, lv
}

func BenchmarkCount(b *testing.B) {
	h, _ := benchHistory()
	b.Run("orders", func(b *testing.B) {
		for b.Loop() {
			basket.Count(60, h.OrderBaskets(nil, 60, 1<<30), basket.Options{MinPair: 10, MinSupport: 0.001})
		}
	})
	b.Run("windows", func(b *testing.B) {
		for b.Loop() {
			basket.Count(60, h.WindowBaskets(nil, 60, 30, 1<<30), basket.Options{MinPair: 10, MinSupport: 0.001})
		}
	})
}

func BenchmarkOffers(b *testing.B) {
	h, lv := benchHistory()
	c := basket.Count(60, h.WindowBaskets(nil, 60, 30, 1<<30), basket.Options{MinPair: 10})
	rec := basket.NewRecommender(c, 10).WithGroups(lv, 10, h.Purchases(nil, 60, 1<<30))
	set, buf := basket.NewSet(60), make([]float64, 10)
	for b.Loop() {
		for first, end := range h.Customers() {
			rec.Offers(h.Bought(set, nil, first, end, 0, 1<<30), h.GroupPurchases(lv, first, end, 1<<30, buf), 3)
		}
	}
}
