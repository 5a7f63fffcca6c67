package basket

import (
	"math"
	"slices"
)

// Offer is an item offered to a customer who has not bought it.
type Offer struct {
	Item int32
	// Score ranks the offers (a relative propensity, not a probability):
	//
	//	popularity × group preference × exp(Σ log lift / √m)
	//
	// over the m items the customer bought that have evidence with the
	// item (pairs in at least minPair baskets).
	Score float64
	// Evidence is exp(Σ log lift / √m), 1 without evidence: above 1 the
	// customer's items speak for the item, below 1 against it.
	Evidence float64
	// GroupPreference is how much more often than customers at large
	// the customer buys in the item's group (its category), 1 without
	// groups.
	GroupPreference float64
	// Because is the bought item with the highest lift for the item
	// (above 1), the reason given; -1 when none raises it.
	Because int32
	// Confidence and Lift are those of Because → Item (0 without one).
	Confidence, Lift float64
	// Popularity is the share of baskets holding the item.
	Popularity float64
}

// MaxEvidence is the most partners of an item the score uses: those with
// the strongest evidence (largest absolute log-lift). It bounds the work
// per customer on catalogues of many thousands of items.
const MaxEvidence = 200

// evidence is what buying an item says about another item.
type evidence struct {
	item             int32
	logLift          float64
	confidence, lift float64
}

// Recommender scores the next best offers of customers from basket
// counts (the evidence of pairs) and, optionally, the shares of the
// items' groups.
type Recommender struct {
	popularity, logPopularity []float64
	// evidence[i] lists the items bought with i in at least minPair
	// baskets, strongest evidence first.
	evidence [][]evidence
	// group maps items to groups (nil: no groups); share is each group's
	// share of all purchases; byGroup lists each group's items by
	// popularity, the items without a group last.
	group   Level
	share   []float64
	byGroup [][]int32
	// scratch, per item, for one customer: stamp marks the items with
	// evidence (now) and those bought (now + 1).
	sum, bestLift, bestConf []float64
	count                   []int32
	best                    []int32
	stamp                   []uint32
	now                     uint32
	top                     []Offer
	touched                 []int32
}

// NewRecommender prepares offers from counts: the pairs bought together
// in at least minPair baskets are the evidence.
func NewRecommender(c *Counts, minPair int64) *Recommender {
	n := len(c.Items)
	r := &Recommender{popularity: make([]float64, n), logPopularity: make([]float64, n), evidence: make([][]evidence, n),
		sum: make([]float64, n), bestLift: make([]float64, n), bestConf: make([]float64, n), count: make([]int32, n),
		best: make([]int32, n), stamp: make([]uint32, n)}
	var popular []int32
	for i, k := range c.Items {
		if c.Baskets > 0 && k > 0 {
			r.popularity[i] = float64(k) / float64(c.Baskets)
			r.logPopularity[i] = math.Log(r.popularity[i])
			popular = append(popular, int32(i))
		}
	}
	r.byGroup = [][]int32{byShare(popular, r.popularity)}
	for p, k := range c.Pairs {
		if k < minPair {
			continue
		}
		na, nb := float64(c.Items[p.A]), float64(c.Items[p.B])
		lift := float64(k) * float64(c.Baskets) / (na * nb)
		r.evidence[p.A] = append(r.evidence[p.A], evidence{p.B, math.Log(lift), float64(k) / na, lift})
		r.evidence[p.B] = append(r.evidence[p.B], evidence{p.A, math.Log(lift), float64(k) / nb, lift})
	}
	for i, es := range r.evidence {
		slices.SortFunc(es, func(a, b evidence) int {
			if c := cmpDesc(math.Abs(a.logLift), math.Abs(b.logLift)); c != 0 {
				return c
			}
			return int(a.item) - int(b.item)
		})
		r.evidence[i] = es[:min(len(es), MaxEvidence)]
	}
	return r
}

// WithGroups lets a customer's preference for the items' groups weigh
// in: group maps items to groups (-1: none) and purchases[i] counts the
// purchases of item i (orders holding it), from which each group's share
// of all purchases comes.
func (r *Recommender) WithGroups(group Level, groups int, purchases []int64) *Recommender {
	r.group = group
	r.share = make([]float64, groups)
	var total float64
	for i, k := range purchases {
		if g := group[i]; g >= 0 {
			r.share[g] += float64(k)
		}
		total += float64(k)
	}
	for g := range r.share {
		if total > 0 {
			r.share[g] /= total
		}
	}
	all := r.byGroup[0]
	r.byGroup = make([][]int32, groups+1)
	for _, j := range all { // in popularity order
		g := group[j]
		if g < 0 {
			g = int32(groups)
		}
		r.byGroup[g] = append(r.byGroup[g], j)
	}
	return r
}

// byShare sorts items by share, highest first, then by item.
func byShare(items []int32, share []float64) []int32 {
	slices.SortStableFunc(items, func(a, b int32) int {
		if c := cmpDesc(share[a], share[b]); c != 0 {
			return c
		}
		return int(a) - int(b)
	})
	return items
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// preference is the customer's preference for item j's group: the
// customer's share of purchases in it (add-one smoothed) over everyone's.
func (r *Recommender) preference(purchases []float64, total float64, j int32) float64 {
	if r.group == nil || purchases == nil {
		return 1
	}
	g := r.group[j]
	if g < 0 || r.share[g] == 0 {
		return 1
	}
	return (purchases[g] + 1) / (total + float64(len(r.share))) / r.share[g]
}

// Offers returns the k best offers for a customer who bought the items
// in bought (sorted, distinct), with purchases[g] of their purchases in
// group g (nil without groups): the items not bought, by score (highest
// first, then by item). Every item not bought is ranked, exactly. The
// slice is reused by the next call.
func (r *Recommender) Offers(bought []int32, purchases []float64, k int) []Offer {
	if r.now >= math.MaxUint32-2 {
		clear(r.stamp)
		r.now = 0
	}
	r.now += 2
	touchedMark, boughtMark := r.now, r.now+1
	for _, i := range bought {
		r.stamp[i] = boughtMark
	}
	var total float64
	for _, p := range purchases {
		total += p
	}
	r.top = r.top[:0]
	consider := func(o Offer) {
		// Keep the k best, best first: score, then item.
		n := len(r.top)
		if n == k && !(o.Score > r.top[n-1].Score || o.Score == r.top[n-1].Score && o.Item < r.top[n-1].Item) {
			return
		}
		if n < k {
			r.top = append(r.top, o)
		} else {
			r.top[n-1] = o
			n--
		}
		for ; n > 0; n-- {
			p := r.top[n-1]
			if p.Score > o.Score || p.Score == o.Score && p.Item < o.Item {
				break
			}
			r.top[n] = p
		}
		r.top[n] = o
	}
	offer := func(j int32, evidence float64) Offer {
		pref := r.preference(purchases, total, j)
		return Offer{Item: j, Score: r.popularity[j] * pref * evidence, Evidence: evidence, GroupPreference: pref,
			Because: -1, Popularity: r.popularity[j]}
	}
	touched := r.touched[:0]
	defer func() { r.touched = touched }()
	for _, i := range bought {
		for _, e := range r.evidence[i] {
			j := e.item
			switch r.stamp[j] {
			case boughtMark:
				continue
			case touchedMark:
			default:
				r.stamp[j], r.sum[j], r.count[j], r.best[j], r.bestLift[j] = touchedMark, 0, 0, -1, 1
				touched = append(touched, j)
			}
			r.sum[j] += e.logLift
			r.count[j]++
			if e.lift > r.bestLift[j] {
				r.best[j], r.bestLift[j], r.bestConf[j] = i, e.lift, e.confidence
			}
		}
	}
	for _, j := range touched {
		o := offer(j, math.Exp(r.sum[j]/math.Sqrt(float64(r.count[j]))))
		if i := r.best[j]; i >= 0 {
			o.Because, o.Confidence, o.Lift = i, r.bestConf[j], r.bestLift[j]
		}
		consider(o)
	}
	// Without evidence, an item ranks by popularity within its group: the
	// first k of each group suffice.
	for _, items := range r.byGroup {
		taken := 0
		for _, j := range items {
			if taken == k {
				break
			}
			if m := r.stamp[j]; m == boughtMark || m == touchedMark {
				continue
			}
			taken++
			consider(offer(j, 1))
		}
	}
	return r.top
}

// Baseline offers the best sellers a customer has not bought: the items
// bought by the most customers. It is what the offers are measured
// against.
type Baseline struct {
	share   []float64
	popular []int32
}

// NewBaseline ranks items by the customers who bought them (customers[i]
// of n customers bought item i), as History.CustomerCounts counts them.
func NewBaseline(n int64, customers []int64) *Baseline {
	b := &Baseline{share: make([]float64, len(customers))}
	for i, k := range customers {
		if k > 0 && n > 0 {
			b.share[i] = float64(k) / float64(n)
			b.popular = append(b.popular, int32(i))
		}
	}
	b.popular = byShare(b.popular, b.share)
	return b
}

// Offers returns the k best sellers not in bought (sorted, distinct).
func (b *Baseline) Offers(bought []int32, k int) []Offer {
	var out []Offer
	for _, j := range b.popular {
		if len(out) == k {
			break
		}
		if _, ok := slices.BinarySearch(bought, j); !ok {
			out = append(out, Offer{Item: j, Score: b.share[j], Evidence: 1, GroupPreference: 1, Because: -1, Popularity: b.share[j]})
		}
	}
	return out
}
