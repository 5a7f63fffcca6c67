// Package basket is market-basket analysis: exact support counts of
// itemsets of one, two and three items over baskets (Apriori's counting,
// level by level), and the next best offers scored from a customer's
// history and those counts. It knows nothing of the warehouse: items are
// small integers and baskets are sorted lists of them. docs/analytics.md
// defines every measure computed from these counts.
package basket

import (
	"iter"
	"math"
	"sort"
)

// Pair is two items, A < B.
type Pair struct{ A, B int32 }

// Triple is three items, A < B < C.
type Triple struct{ A, B, C int32 }

// Options say which itemsets of two and three items are kept.
type Options struct {
	// MinPair keeps the pairs found in at least this many baskets (1
	// keeps every pair that occurs).
	MinPair int64
	// MinSupport is Apriori's minimum support, a share of the baskets
	// (MinCount turns it into a count): the pairs and triples that reach
	// it are kept, and a triple is counted only when its three pairs
	// reach it (a subset of a frequent itemset is frequent). 0 counts no
	// triples.
	MinSupport float64
}

// Counts are exact basket counts: how many baskets hold each item, pair
// and triple. Pairs are kept when they reach MinPair or MinItemset,
// triples when they reach MinItemset.
type Counts struct {
	// Baskets is the number of baskets (the count of the empty itemset).
	Baskets int64
	// MinItemset is the minimum support as a count (0 without one).
	MinItemset int64
	// Items holds the baskets holding each item.
	Items   []int64
	Pairs   map[Pair]int64
	Triples map[Triple]int64
}

// denseLimit is the number of items up to which pairs are counted in a
// triangular array (4096 items: 8.4 million counters, 34 MB) rather than
// a map: an array increment is several times faster than a map's.
const denseLimit = 4096

// Count counts the itemsets of up to three items of the baskets. Each
// basket is a list of distinct items in increasing order, each below
// items; baskets is iterated up to three times (pairs, and triples when
// MinSupport is set; with more than 4,096 items the items first). The
// counts are exact (no sampling, no hashing of items).
func Count(items int, baskets iter.Seq[[]int32], o Options) *Counts {
	c := &Counts{Items: make([]int64, items), Pairs: map[Pair]int64{}, Triples: map[Triple]int64{}}
	// The smallest count a pair is kept at, once the baskets are counted.
	minPair := func() int64 {
		m := max(o.MinPair, 1)
		if o.MinSupport > 0 {
			c.MinItemset = MinCount(o.MinSupport, c.Baskets)
			m = min(m, c.MinItemset)
		}
		return m
	}
	if items <= denseLimit {
		tri := make([]uint32, items*(items-1)/2)
		// row(a) is the index of pair (a, a+1); pair (a, b) is row(a) + b − a − 1.
		row := make([]int, items)
		for a := range row {
			row[a] = a*(2*items-a-1)/2 - a - 1
		}
		var big map[int]int64 // counters past the uint32 range
		for b := range baskets {
			c.Baskets++
			for i, x := range b {
				c.Items[x]++
				r := row[x]
				for _, y := range b[i+1:] {
					k := r + int(y)
					tri[k]++
					if tri[k] == math.MaxUint32 {
						if big == nil {
							big = map[int]int64{}
						}
						big[k] += int64(tri[k])
						tri[k] = 0
					}
				}
			}
		}
		keep := minPair()
		for a := range items {
			for b := a + 1; b < items; b++ {
				k := row[a] + b
				if n := int64(tri[k]) + big[k]; n >= keep {
					c.Pairs[Pair{int32(a), int32(b)}] = n
				}
			}
		}
	} else {
		// Many items: the items first, then the pairs of the items that
		// reach the minimum (a pair is in no more baskets than its items).
		for b := range baskets {
			c.Baskets++
			for _, x := range b {
				c.Items[x]++
			}
		}
		least := minPair()
		all := map[Pair]int64{}
		var keep []int32
		for b := range baskets {
			keep = keep[:0]
			for _, x := range b {
				if c.Items[x] >= least {
					keep = append(keep, x)
				}
			}
			for i, x := range keep {
				for _, y := range keep[i+1:] {
					all[Pair{x, y}]++
				}
			}
		}
		for p, n := range all {
			if n >= least {
				c.Pairs[p] = n
			}
		}
	}
	if o.MinSupport > 0 {
		c.countTriples(baskets, c.MinItemset)
	}
	return c
}

// countTriples counts, in a second pass, the triples whose three pairs
// are each in at least min baskets, and keeps those in at least min.
func (c *Counts) countTriples(baskets iter.Seq[[]int32], min int64) {
	// Only the items of frequent pairs can be in a frequent triple: they
	// are numbered 0 … f−1, and the frequent pairs among them marked in
	// an f × f table.
	local := make([]int32, len(c.Items))
	for i := range local {
		local[i] = -1
	}
	var global []int32
	for p, n := range c.Pairs {
		if n < min {
			continue
		}
		for _, x := range []int32{p.A, p.B} {
			if local[x] < 0 {
				local[x] = 0 // numbered below, in item order
			}
		}
	}
	for i, l := range local {
		if l == 0 {
			local[i] = int32(len(global))
			global = append(global, int32(i))
		}
	}
	f := len(global)
	if f < 3 {
		return
	}
	// The frequent pairs: a bit table up to 16,384 items (32 MB), else
	// the pairs' map.
	var bits []uint64
	if f <= 1<<14 {
		bits = make([]uint64, (f*f+63)/64)
		for p, n := range c.Pairs {
			if n >= min {
				k := int(local[p.A])*f + int(local[p.B])
				bits[k/64] |= 1 << (k % 64)
			}
		}
	}
	frequent := func(k int) bool {
		if bits != nil {
			return bits[k/64]&(1<<(k%64)) != 0
		}
		return c.Pairs[Pair{global[k/f], global[k%f]}] >= min
	}
	// Triples counted in an array when there are few items, else in a
	// map keyed by the three 21-bit numbers (or by the triple, past 2^21
	// items).
	var dense []uint32
	var sparse map[uint64]int64
	var huge map[Triple]int64
	switch {
	case f <= 128:
		dense = make([]uint32, f*f*f)
	case f < 1<<21:
		sparse = map[uint64]int64{}
	default:
		huge = map[Triple]int64{}
	}
	var keep []int32
	for b := range baskets {
		keep = keep[:0]
		for _, x := range b {
			if l := local[x]; l >= 0 {
				keep = append(keep, l)
			}
		}
		for i := 0; i+2 < len(keep); i++ {
			a := int(keep[i]) * f
			for j := i + 1; j+1 < len(keep); j++ {
				if !frequent(a + int(keep[j])) {
					continue
				}
				bj := int(keep[j]) * f
				for k := j + 1; k < len(keep); k++ {
					if frequent(a+int(keep[k])) && frequent(bj+int(keep[k])) {
						switch {
						case dense != nil:
							dense[(a+int(keep[j]))*f+int(keep[k])]++
						case sparse != nil:
							sparse[uint64(keep[i])<<42|uint64(keep[j])<<21|uint64(keep[k])]++
						default:
							huge[Triple{keep[i], keep[j], keep[k]}]++
						}
					}
				}
			}
		}
	}
	keepTriple := func(a, b, cc int, n int64) {
		if n >= min {
			c.Triples[Triple{global[a], global[b], global[cc]}] = n
		}
	}
	for k, n := range dense {
		if n > 0 {
			keepTriple(k/(f*f), k/f%f, k%f, int64(n))
		}
	}
	for k, n := range sparse {
		keepTriple(int(k>>42), int(k>>21&(1<<21-1)), int(k&(1<<21-1)), n)
	}
	for t, n := range huge {
		keepTriple(int(t.A), int(t.B), int(t.C), n)
	}
}

// SortedPairs returns the kept pairs in increasing order.
func (c *Counts) SortedPairs() []Pair {
	out := make([]Pair, 0, len(c.Pairs))
	for p := range c.Pairs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].A != out[j].A {
			return out[i].A < out[j].A
		}
		return out[i].B < out[j].B
	})
	return out
}

// SortedTriples returns the kept triples in increasing order.
func (c *Counts) SortedTriples() []Triple {
	out := make([]Triple, 0, len(c.Triples))
	for t := range c.Triples {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.A != b.A {
			return a.A < b.A
		}
		if a.B != b.B {
			return a.B < b.B
		}
		return a.C < b.C
	})
	return out
}

// MinCount is the smallest basket count that reaches a minimum support
// (a share of n baskets), as arules and Borgelt's apriori compute it:
// ceil(support × n), at least 1.
func MinCount(support float64, n int64) int64 {
	return max(1, int64(math.Ceil(support*float64(n))))
}
