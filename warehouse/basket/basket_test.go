package basket_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/basket"
)

func seq(bs [][]int32) func(func([]int32) bool) {
	return func(yield func([]int32) bool) {
		for _, b := range bs {
			if !yield(b) {
				return
			}
		}
	}
}

// The AllElectronics transactions of Han, Kamber & Pei, "Data Mining:
// Concepts and Techniques" (3rd ed., Table 6.1 and Figure 6.2), items
// I1…I5 as 0…4, with the counts the book lists at a minimum support count
// of 2.
var allElectronics = [][]int32{
	{0, 1, 4}, {1, 3}, {1, 2}, {0, 1, 3}, {0, 2}, {1, 2}, {0, 2}, {0, 1, 2, 4}, {0, 1, 2},
}

func TestCountsOfTheTextbookExample(t *testing.T) {
	// A minimum support of 20% is ceil(0.2 × 9) = 2 baskets.
	c := basket.Count(5, seq(allElectronics), basket.Options{MinPair: 2, MinSupport: 0.2})
	require.Equal(t, int64(9), c.Baskets)
	require.Equal(t, int64(2), c.MinItemset)
	require.Equal(t, []int64{6, 7, 6, 2, 2}, c.Items) // C1
	require.Equal(t, map[basket.Pair]int64{           // L2
		{0, 1}: 4, {0, 2}: 4, {0, 4}: 2, {1, 2}: 4, {1, 3}: 2, {1, 4}: 2,
	}, c.Pairs)
	require.Equal(t, map[basket.Triple]int64{{0, 1, 2}: 2, {0, 1, 4}: 2}, c.Triples) // L3
}

// bruteForce counts every itemset of one to three items of every basket.
func bruteForce(bs [][]int32) (items map[int32]int64, pairs map[basket.Pair]int64, triples map[basket.Triple]int64) {
	items, pairs, triples = map[int32]int64{}, map[basket.Pair]int64{}, map[basket.Triple]int64{}
	for _, b := range bs {
		for i := range b {
			items[b[i]]++
			for j := i + 1; j < len(b); j++ {
				pairs[basket.Pair{A: b[i], B: b[j]}]++
				for k := j + 1; k < len(b); k++ {
					triples[basket.Triple{A: b[i], B: b[j], C: b[k]}]++
				}
			}
		}
	}
	return
}

func randomBaskets(r *rand.Rand, n, items, maxSize int) [][]int32 {
	var out [][]int32
	for range n {
		var b []int32
		for range 1 + r.IntN(maxSize) {
			// Skewed: low items are common, as best sellers are.
			b = append(b, int32(float64(items)*r.Float64()*r.Float64()))
		}
		slices.Sort(b)
		out = append(out, slices.Compact(b))
	}
	return out
}

func TestCountsEqualABruteForceEnumeration(t *testing.T) {
	for _, tc := range []struct {
		name                string
		items, baskets, max int
		minPair             int64
		minSupport          float64
		minItemset          int64 // what minSupport is as a count
	}{
		{"few items (dense pairs)", 12, 400, 7, 1, 0.0074, 3},
		{"many items (sparse pairs)", 5000, 3000, 12, 2, 0.0006, 2},
		{"pairs only", 40, 500, 6, 5, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.items)))
			bs := randomBaskets(r, tc.baskets, tc.items, tc.max)
			c := basket.Count(tc.items, seq(bs), basket.Options{MinPair: tc.minPair, MinSupport: tc.minSupport})
			require.Equal(t, tc.minItemset, c.MinItemset)
			items, pairs, triples := bruteForce(bs)
			require.Equal(t, int64(len(bs)), c.Baskets)
			for i, n := range c.Items {
				require.Equal(t, items[int32(i)], n, "item %d", i)
			}
			keep := tc.minPair
			if tc.minItemset > 0 {
				keep = min(keep, tc.minItemset)
			}
			wantPairs := map[basket.Pair]int64{}
			for p, n := range pairs {
				if n >= keep {
					wantPairs[p] = n
				}
			}
			require.Equal(t, wantPairs, c.Pairs)
			wantTriples := map[basket.Triple]int64{}
			for tr, n := range triples {
				if tc.minItemset > 0 && n >= tc.minItemset {
					wantTriples[tr] = n
				}
			}
			require.Equal(t, wantTriples, c.Triples)
			require.NotEmpty(t, c.Pairs)
			if tc.minItemset > 0 {
				require.NotEmpty(t, c.Triples)
			}
		})
	}
}

func TestMinCountIsArulesCeiling(t *testing.T) {
	require.Equal(t, int64(10), basket.MinCount(0.001, 9835)) // the Groceries data: 9.835 → 10
	require.Equal(t, int64(2), basket.MinCount(2.0/9, 9))
	require.Equal(t, int64(1), basket.MinCount(0, 100))
}

func TestBasketsOfOrdersAndWindows(t *testing.T) {
	var h basket.History
	// Customer 0: day 0 {2, 1, 1}, day 10 {3}, day 29 {1}, day 30 {4}, day 75 {0}.
	// Customer 1: day 5 {4, 0}.
	h.AddOrder(0, 0, []int32{2, 1, 1})
	h.AddOrder(0, 10, []int32{3})
	h.AddOrder(0, 29, []int32{1})
	h.AddOrder(0, 30, []int32{4})
	h.AddOrder(0, 75, []int32{0})
	h.AddOrder(1, 5, []int32{4, 0})
	collect := func(s func(func([]int32) bool)) [][]int32 {
		var out [][]int32
		for b := range s {
			out = append(out, slices.Clone(b))
		}
		return out
	}
	require.Equal(t, [][]int32{{1, 2}, {3}, {1}, {4}, {0}, {0, 4}}, collect(h.OrderBaskets(nil, 5, 1000)))
	// Windows of 30 days from each customer's first order: days 0–29,
	// 30–59, 60–89.
	require.Equal(t, [][]int32{{1, 2, 3}, {4}, {0}, {0, 4}}, collect(h.WindowBaskets(nil, 5, 30, 1000)))
	require.Equal(t, [][]int32{{1, 2, 3}, {0, 4}}, collect(h.WindowBaskets(nil, 5, 30, 12)))
	// Categories: items 0, 1 → 0; 2 → 1; 3 → none; 4 → 1.
	lv := basket.Level{0, 0, 1, -1, 1}
	require.Equal(t, [][]int32{{0, 1}, {0}, {1}, {0}, {0, 1}}, collect(h.OrderBaskets(lv, 2, 1000)))
	require.Equal(t, [][]int32{{0, 1}, {1}, {0}, {0, 1}}, collect(h.WindowBaskets(lv, 2, 30, 1000)))
}

// bruteOffers scores every item not bought as docs/analytics.md says,
// popularity × group preference × exp(Σ log lift / √m) over the m bought
// items with evidence, and sorts them.
func bruteOffers(c *basket.Counts, minPair int64, group basket.Level, purchases []int64, customer []float64, bought []int32, k int) []basket.Offer {
	var out []basket.Offer
	n := float64(c.Baskets)
	share := map[int32]float64{}
	var all, mine float64
	for i, p := range purchases {
		share[group[i]] += float64(p)
		all += float64(p)
	}
	for _, p := range customer {
		mine += p
	}
	for j := range c.Items {
		j := int32(j)
		if slices.Contains(bought, j) || c.Items[j] == 0 {
			continue
		}
		pop := float64(c.Items[j]) / n
		o := basket.Offer{Item: j, Because: -1, Popularity: pop, GroupPreference: 1}
		if g := group[j]; g >= 0 {
			o.GroupPreference = (customer[g] + 1) / (mine + float64(len(customer))) / (share[g] / all)
		}
		sum, m := 0.0, 0
		for _, i := range bought {
			nij := c.Pairs[basket.Pair{A: min(i, j), B: max(i, j)}]
			if nij < minPair {
				continue
			}
			lift := float64(nij) * n / float64(c.Items[i]*c.Items[j])
			sum += math.Log(lift)
			m++
			if lift > 1 && lift > o.Lift {
				o.Because, o.Lift, o.Confidence = i, lift, float64(nij)/float64(c.Items[i])
			}
		}
		o.Evidence = 1
		if m > 0 {
			o.Evidence = math.Exp(sum / math.Sqrt(float64(m)))
		}
		o.Score = pop * o.GroupPreference * o.Evidence
		out = append(out, o)
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].Item < out[b].Item
	})
	return out[:min(k, len(out))]
}

func TestOffersEqualScoringEveryItem(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	bs := randomBaskets(r, 2000, 30, 6)
	const minPair = 8
	c := basket.Count(30, seq(bs), basket.Options{MinPair: minPair})
	require.Zero(t, c.MinItemset)
	require.Empty(t, c.Triples)
	// Groups: items 0–9, 10–19, 20–24; 25–29 have none.
	group := make(basket.Level, 30)
	for i := range group {
		group[i] = int32(i / 10)
		if i >= 25 {
			group[i] = -1
		}
	}
	purchases := make([]int64, 30)
	for _, b := range bs {
		for _, x := range b {
			purchases[x]++
		}
	}
	plain := basket.NewRecommender(c, minPair)
	grouped := basket.NewRecommender(c, minPair).WithGroups(group, 3, purchases)
	reasons, against, preferred := 0, 0, 0
	for trial := range 600 {
		bought := randomBaskets(r, 1, 30, 10)[0]
		customer := []float64{float64(r.IntN(5)), float64(r.IntN(5)), float64(r.IntN(5))}
		none := slices.Repeat(basket.Level{-1}, 30)
		rec, want := plain, bruteOffers(c, minPair, none, purchases, nil, bought, 3)
		if trial%2 == 1 {
			rec, want = grouped, bruteOffers(c, minPair, group, purchases, customer, bought, 3)
		} else {
			customer = nil
		}
		got := rec.Offers(bought, customer, 3)
		require.Len(t, got, 3)
		for i := range want {
			w, g := want[i], got[i]
			require.Equal(t, w.Item, g.Item, "bought %v", bought)
			require.InDelta(t, w.Score, g.Score, 1e-12)
			require.InDelta(t, w.Evidence, g.Evidence, 1e-12)
			require.InDelta(t, w.GroupPreference, g.GroupPreference, 1e-12)
			require.Equal(t, w.Because, g.Because)
			require.InDelta(t, w.Lift, g.Lift, 1e-12)
			require.InDelta(t, w.Confidence, g.Confidence, 1e-12)
			if g.Because >= 0 {
				reasons++
			}
			if g.Evidence < 1 {
				against++
			}
			if g.GroupPreference > 1 {
				preferred++
			}
		}
	}
	require.Positive(t, reasons, "some offers come with a reason")
	require.Positive(t, against, "some offers are held back by what was bought")
	require.Positive(t, preferred, "some offers are in a group the customer prefers")
}

func TestBaselineOffersTheBestSellersNotBought(t *testing.T) {
	// Customers: item 2 bought by 5, item 0 by 3, item 3 by 3, item 1 by 1.
	b := basket.NewBaseline(6, []int64{3, 1, 5, 3})
	items := func(os []basket.Offer) []int32 {
		var out []int32
		for _, o := range os {
			out = append(out, o.Item)
		}
		return out
	}
	require.Equal(t, []int32{2, 0, 3}, items(b.Offers(nil, 3)))
	require.Equal(t, []int32{2, 3, 1}, items(b.Offers([]int32{0}, 3)))
	require.Equal(t, []int32{1}, items(b.Offers([]int32{0, 2, 3}, 3)))
	var h basket.History
	h.AddOrder(0, 1, []int32{2, 0})
	h.AddOrder(0, 5, []int32{2})
	h.AddOrder(1, 2, []int32{3})
	h.AddOrder(1, 9, []int32{1})
	n, counts := h.CustomerCounts(nil, 4, 5)
	require.Equal(t, int64(2), n)
	require.Equal(t, []int64{1, 0, 1, 1}, counts)
	require.Equal(t, []int64{1, 0, 2, 1}, h.Purchases(nil, 4, 5))
	// Groups: items 0, 1 → 0; 2 → 1; 3 → none.
	require.Equal(t, []float64{1, 2}, h.GroupPurchases(basket.Level{0, 0, 1, -1}, 0, 2, 5, make([]float64, 2)))
}
