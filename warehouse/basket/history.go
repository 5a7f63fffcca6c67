package basket

import (
	"iter"
	"math"
	"slices"
)

// History is every customer's orders, compactly: order k belongs to
// customer Customer[k] on day Day[k] and holds the items
// Items[Start[k]:Start[k+1]]. Orders are grouped by customer, and by day
// within a customer.
type History struct {
	Customer []int32
	Day      []int32
	Start    []int32
	Items    []int32
}

// Grow makes room for orders more orders and lines more items.
func (h *History) Grow(orders, lines int) {
	h.Customer = slices.Grow(h.Customer, orders)
	h.Day = slices.Grow(h.Day, orders)
	h.Start = slices.Grow(h.Start, orders+1)
	h.Items = slices.Grow(h.Items, lines)
}

// Orders is the number of orders.
func (h *History) Orders() int { return len(h.Customer) }

// AddOrder appends an order; items may repeat and come in any order.
func (h *History) AddOrder(customer, day int32, items []int32) {
	if len(h.Start) == 0 {
		h.Start = append(h.Start, 0)
	}
	h.Customer = append(h.Customer, customer)
	h.Day = append(h.Day, day)
	start := len(h.Items)
	h.Items = append(h.Items, items...)
	s := h.Items[start:]
	slices.Sort(s)
	h.Items = h.Items[:start+len(slices.Compact(s))]
	h.Start = append(h.Start, int32(len(h.Items)))
}

// items returns order k's items.
func (h *History) items(k int) []int32 { return h.Items[h.Start[k]:h.Start[k+1]] }

// CustomerEnd returns the index after the last order of the customer
// whose orders start at first.
func (h *History) CustomerEnd(first int) int {
	e := first + 1
	for e < len(h.Customer) && h.Customer[e] == h.Customer[first] {
		e++
	}
	return e
}

// Customers iterates over the customers: each one's first and last order
// (exclusive).
func (h *History) Customers() iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for k := 0; k < len(h.Customer); {
			e := h.CustomerEnd(k)
			if !yield(k, e) {
				return
			}
			k = e
		}
	}
}

// Level maps items to the level baskets are counted at: nil keeps the
// items, otherwise Level[item] is the item's group (its category), or -1
// when it has none (the item is then left out).
type Level []int32

// Set collects distinct items into a sorted list, reusing its memory.
type Set struct {
	seen  []uint32 // stamp per item
	stamp uint32
	items []int32
}

// NewSet makes a set for items 0 … items−1.
func NewSet(items int) *Set { return &Set{seen: make([]uint32, items)} }

func (s *Set) reset() {
	s.stamp++
	if s.stamp == 0 { // wrapped: clear the stamps
		clear(s.seen)
		s.stamp = 1
	}
	s.items = s.items[:0]
}

func (s *Set) add(lv Level, items []int32) {
	for _, x := range items {
		if lv != nil {
			if x = lv[x]; x < 0 {
				continue
			}
		}
		if s.seen[x] != s.stamp {
			s.seen[x] = s.stamp
			s.items = append(s.items, x)
		}
	}
}

func (s *Set) sorted() []int32 {
	slices.Sort(s.items)
	return s.items
}

// OrderBaskets iterates over the orders placed on or before day until as
// baskets of items at the level (of n items). Orders with no item at the
// level are no baskets.
func (h *History) OrderBaskets(lv Level, n int, until int32) iter.Seq[[]int32] {
	return func(yield func([]int32) bool) {
		s := NewSet(n)
		for k := range h.Customer {
			if h.Day[k] > until {
				continue
			}
			if lv == nil {
				if b := h.items(k); len(b) > 0 && !yield(b) {
					return
				}
				continue
			}
			s.reset()
			s.add(lv, h.items(k))
			if len(s.items) > 0 && !yield(s.sorted()) {
				return
			}
		}
	}
}

// WindowBaskets iterates over customer-window baskets: each customer's
// orders placed on or before day until, cut into windows of days days
// from the customer's first order (window w holds the orders of days
// first + w·days to first + (w+1)·days − 1), each window being one
// basket of every item bought in it.
func (h *History) WindowBaskets(lv Level, n int, days, until int32) iter.Seq[[]int32] {
	return func(yield func([]int32) bool) {
		s := NewSet(n)
		for first, end := range h.Customers() {
			start := h.Day[first]
			for k := first; k < end && h.Day[k] <= until; {
				w := (h.Day[k] - start) / days
				s.reset()
				for ; k < end && h.Day[k] <= until && (h.Day[k]-start)/days == w; k++ {
					s.add(lv, h.items(k))
				}
				if len(s.items) > 0 && !yield(s.sorted()) {
					return
				}
			}
		}
	}
}

// Bought returns the distinct items, at the level, of the orders first to
// end−1 (one customer's) placed from day from to day until, sorted. The
// list is the set's, valid until its next use.
func (h *History) Bought(s *Set, lv Level, first, end int, from, until int32) []int32 {
	s.reset()
	for k := first; k < end; k++ {
		if d := h.Day[k]; d >= from && d <= until {
			s.add(lv, h.items(k))
		}
	}
	return s.sorted()
}

// CustomerCounts counts the customers who bought each item (at the
// level) on or before day until, and the customers who bought anything.
func (h *History) CustomerCounts(lv Level, n int, until int32) (customers int64, counts []int64) {
	counts = make([]int64, n)
	s := NewSet(n)
	for first, end := range h.Customers() {
		items := h.Bought(s, lv, first, end, math.MinInt32, until)
		if len(items) == 0 {
			continue
		}
		customers++
		for _, x := range items {
			counts[x]++
		}
	}
	return customers, counts
}

// Purchases counts the orders holding each item (at the level) placed on
// or before day until.
func (h *History) Purchases(lv Level, n int, until int32) []int64 {
	out := make([]int64, n)
	for b := range h.OrderBaskets(lv, n, until) {
		for _, x := range b {
			out[x]++
		}
	}
	return out
}

// GroupPurchases counts, into dst (one entry per group, cleared first),
// the purchases (an item in an order) in each group of the orders first
// to end−1 placed on or before day until.
func (h *History) GroupPurchases(group Level, first, end int, until int32, dst []float64) []float64 {
	clear(dst)
	for k := first; k < end && h.Day[k] <= until; k++ {
		for _, x := range h.items(k) {
			if g := group[x]; g >= 0 {
				dst[g]++
			}
		}
	}
	return dst
}
