package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
)

// Affinities the demo plants between products, so that the cross-sell
// marts have known answers (docs/demo-data.md, truth/affinities.json).
// They act on each order's lines once the order is built, with a random
// stream of the person's own (seeded from the seed and the person, apart
// from the stream everything else is drawn from), and never change what
// an order is worth: a product added to an order is paid for out of the
// order's largest line, a product swapped for another keeps the line's
// amount. Purchases, order values and everything else the truth states
// stay as they are.

// bundle: an order holding product a, and not b, gets b too with
// probability p (a promotion, "b with every a").
type bundle struct {
	name string
	a, b string
	p    float64
}

// substitutes: a person is, with probability loyal, loyal to one of a
// and b (each half the time) and buys that one wherever the other would
// have been in an order.
type substitutes struct {
	name  string
	a, b  string
	loyal float64
}

var (
	plantedBundles = []bundle{
		// Strong: glass teapots are sold with a pack of jasmine tea.
		{name: "strong", a: "TWR-004", b: "TEA-006", p: 0.6},
		// Weak: a small tea-with-snacks promotion.
		{name: "weak", a: "SNK-003", b: "TEA-015", p: 0.1},
	}
	// Negative: two sour snacks people settle on one of.
	plantedSubstitutes = substitutes{name: "negative", a: "SNK-005", b: "SNK-015", loyal: 0.85}
)

// plantedBounds are the lifts the marts must find (truth/affinities.json):
// wide enough for a demo company of 3,000 customers over a year, narrow
// enough that the three pairs cannot be mistaken for one another or for
// pairs of unrelated products (the planting doc in docs/demo-data.md
// works out the expected values).
var plantedBounds = map[string]map[string][2]float64{
	"strong":   {"order": {3.5, 9}, "customer_window": {2.5, 8}},
	"weak":     {"order": {1.15, 2.5}, "customer_window": {1.1, 2.5}},
	"negative": {"order": {0.15, 0.6}, "customer_window": {0.15, 0.6}},
}

// productIndex finds a product of the catalogue by code.
func productIndex(code string) int {
	for i, p := range products {
		if p.code == code {
			return i
		}
	}
	panic("demo: no product " + code)
}

// bundleProducts are the catalogue indexes of each bundle's a and b.
var bundleProducts = func() [][2]int {
	out := make([][2]int, len(plantedBundles))
	for k, b := range plantedBundles {
		out[k] = [2]int{productIndex(b.a), productIndex(b.b)}
	}
	return out
}()

// affinity is a person's planting state.
type affinity struct {
	src *rand.PCG
	r   *rand.Rand
	// keep is the product of the substitutes the person keeps, drop the
	// one they do not buy (both -1: the person buys either).
	keep, drop int
}

// affinitySalt sets the planting stream apart from the person's main one.
const affinitySalt = 0x5eed_a551_0c1a_7e00

// start draws person i's planting state.
func (a *affinity) start(seed uint64, i int) {
	if a.r == nil {
		a.src = rand.NewPCG(0, 0)
		a.r = rand.New(a.src)
	}
	a.src.Seed(personSeeds(seed^affinitySalt, i))
	a.keep, a.drop = -1, -1
	s := plantedSubstitutes
	if a.r.Float64() < s.loyal {
		a.keep, a.drop = productIndex(s.a), productIndex(s.b)
		if a.r.Float64() < 0.5 {
			a.keep, a.drop = a.drop, a.keep
		}
	}
}

// plant applies the planted affinities to the order in g.lines and
// returns its gross amount and discount (its net amount is unchanged).
func (g *gen) plant() (gross, disc int64) {
	a := &g.aff
	if a.drop >= 0 {
		g.substitute(a.drop, a.keep)
	}
	for k, b := range plantedBundles {
		pa, pb := bundleProducts[k][0], bundleProducts[k][1]
		if g.lineOf(pa) >= 0 && g.lineOf(pb) < 0 && a.r.Float64() < b.p {
			g.addFromLargest(pb)
		}
	}
	for _, l := range g.lines {
		gross += l.qty * l.unit
		disc += l.disc
	}
	return gross, disc
}

// lineOf is the index of the order's line of a product, or -1.
func (g *gen) lineOf(prod int) int {
	for k, l := range g.lines {
		if l.prod == prod {
			return k
		}
	}
	return -1
}

// substitute turns the line of product from into product to, keeping its
// amount (the quantity covers it at to's price; the rest is discount).
func (g *gen) substitute(from, to int) {
	k := g.lineOf(from)
	if k < 0 {
		return
	}
	l := g.lines[k]
	price := products[to].price
	if j := g.lineOf(to); j >= 0 {
		t := &g.lines[j]
		t.amount += l.amount
		t.qty = max(t.qty+l.qty, (t.amount+price-1)/price)
		t.disc = t.qty*price - t.amount
		g.lines = append(g.lines[:k], g.lines[k+1:]...)
		return
	}
	q := max(l.qty, (l.amount+price-1)/price)
	g.lines[k] = orderLine{prod: to, qty: q, unit: price, disc: q*price - l.amount, amount: l.amount}
}

// addFromLargest adds one unit of a product to the order, paid for out
// of the largest line (up to half of it): the order is worth the same,
// with more discount.
func (g *gen) addFromLargest(prod int) {
	big := 0
	for k, l := range g.lines {
		if l.amount > g.lines[big].amount {
			big = k
		}
	}
	price := products[prod].price
	t := min(price, g.lines[big].amount/2)
	g.lines[big].amount -= t
	g.lines[big].disc += t
	g.lines = append(g.lines, orderLine{prod: prod, qty: 1, unit: price, disc: price - t, amount: t})
}

// writeAffinityTruth states the planted affinities in truth/affinities.json.
func writeAffinityTruth(path string) error {
	type pair struct {
		Kind      string             `json:"kind"`
		A         string             `json:"a"`
		AName     string             `json:"a_name"`
		B         string             `json:"b"`
		BName     string             `json:"b_name"`
		Mechanism string             `json:"mechanism"`
		Lift      map[string]any     `json:"lift"`
		Params    map[string]float64 `json:"params"`
	}
	bounds := func(kind string) map[string]any {
		out := map[string]any{}
		for scope, b := range plantedBounds[kind] {
			out[scope] = map[string]float64{"min": b[0], "max": b[1]}
		}
		return out
	}
	var doc struct {
		Level   string `json:"level"`
		Baskets string `json:"baskets"`
		Pairs   []pair `json:"pairs"`
	}
	doc.Level = "product"
	doc.Baskets = "order: a paid order; customer_window: a customer's paid orders in 30-day windows from their first order"
	for _, b := range plantedBundles {
		doc.Pairs = append(doc.Pairs, pair{
			Kind: b.name, A: b.a, AName: products[productIndex(b.a)].en, B: b.b, BName: products[productIndex(b.b)].en,
			Mechanism: fmt.Sprintf("bundle: an order holding %s and not %s gets %s with probability %g, paid for out of the order's largest line (the order's value is unchanged)", b.a, b.b, b.b, b.p),
			Lift:      bounds(b.name), Params: map[string]float64{"probability": b.p},
		})
	}
	s := plantedSubstitutes
	doc.Pairs = append(doc.Pairs, pair{
		Kind: s.name, A: s.a, AName: products[productIndex(s.a)].en, B: s.b, BName: products[productIndex(s.b)].en,
		Mechanism: fmt.Sprintf("substitutes: with probability %g a person is loyal to one of %s and %s (half and half) and buys it wherever the other would have been, at the line's amount", s.loyal, s.a, s.b),
		Lift:      bounds(s.name), Params: map[string]float64{"loyal": s.loyal},
	})
	return writeJSON(path, doc)
}

// writeJSON writes v as indented JSON, the truth files' format.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
