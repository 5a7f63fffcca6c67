package clv

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Summary is one customer's purchase history over a calibration period,
// in the sufficient statistics of BG/NBD and Gamma-Gamma. Times are in the
// model's unit (days unless said otherwise) from the first purchase.
type Summary struct {
	// X is the frequency: the number of repeat purchase days (days with a
	// purchase, minus one for the first).
	X float64 `json:"x"`
	// Tx is the recency: the time from the first to the last purchase (0
	// when X is 0).
	Tx float64 `json:"t_x"`
	// T is the time from the first purchase to the end of the period.
	T float64 `json:"T"`
	// Monetary is the mean value of the repeat purchase days (the first
	// day excluded); it is ignored when X is 0.
	Monetary float64 `json:"monetary"`
}

// Validate checks that a summary can come from a purchase history: X a
// whole number, 0 ≤ Tx ≤ T, and Tx = 0 when X = 0.
func (s Summary) Validate() error {
	switch {
	case !(s.X >= 0) || s.X != math.Trunc(s.X) || math.IsInf(s.X, 0):
		return fmt.Errorf("x = %v is not a whole number ≥ 0", s.X)
	case !(s.T >= 0) || math.IsInf(s.T, 0):
		return fmt.Errorf("T = %v is not a finite time ≥ 0", s.T)
	case !(s.Tx >= 0) || s.Tx > s.T:
		return fmt.Errorf("t_x = %v is not between 0 and T = %v", s.Tx, s.T)
	case s.X == 0 && s.Tx != 0:
		return fmt.Errorf("t_x = %v with x = 0 (a customer without repeat purchases has t_x = 0)", s.Tx)
	}
	return nil
}

// Group is a distinct (X, Tx, T) and how many customers have it: the
// BG/NBD likelihood depends on nothing else, so a fit on groups costs the
// same as a fit on customers, and there are far fewer groups.
type Group struct {
	X  float64 `json:"x"`
	Tx float64 `json:"t_x"`
	T  float64 `json:"T"`
	// N is the number of customers (a weight: it need not be whole).
	N float64 `json:"n"`
}

// GroupSummaries returns the distinct (X, Tx, T) of the summaries with
// their counts, sorted by X, then Tx, then T. When every value is a whole
// number below 2^21 (times in days) it packs them into one integer key
// and radix-sorts, which takes milliseconds for a million customers; other
// values go through a map. Group in days and scale the groups' times for
// other units.
func GroupSummaries(s []Summary) []Group {
	if keys, ok := packKeys(s); ok {
		radixSort(keys)
		distinct := 0
		for i := range keys {
			if i == 0 || keys[i] != keys[i-1] {
				distinct++
			}
		}
		out := make([]Group, 0, distinct)
		for i := 0; i < len(keys); {
			j := i + 1
			for j < len(keys) && keys[j] == keys[i] {
				j++
			}
			k := keys[i]
			out = append(out, Group{X: float64(k >> 42), Tx: float64(k >> 21 & mask21), T: float64(k & mask21), N: float64(j - i)})
			i = j
		}
		return out
	}
	type key struct{ x, tx, t float64 }
	idx := map[key]int{}
	var out []Group
	for _, c := range s {
		k := key{c.X, c.Tx, c.T}
		if i, ok := idx[k]; ok {
			out[i].N++
			continue
		}
		idx[k] = len(out)
		out = append(out, Group{X: c.X, Tx: c.Tx, T: c.T, N: 1})
	}
	slices.SortFunc(out, func(a, b Group) int {
		switch {
		case a.X != b.X:
			return cmpFloat(a.X, b.X)
		case a.Tx != b.Tx:
			return cmpFloat(a.Tx, b.Tx)
		}
		return cmpFloat(a.T, b.T)
	})
	return out
}

// ScaleGroups returns groups with Tx and T divided by f, e.g. 7 to turn
// days into weeks.
func ScaleGroups(g []Group, f float64) []Group {
	out := make([]Group, len(g))
	for i, v := range g {
		out[i] = Group{X: v.X, Tx: v.Tx / f, T: v.T / f, N: v.N}
	}
	return out
}

func cmpFloat(a, b float64) int {
	if a < b {
		return -1
	}
	return 1
}

const mask21 = 1<<21 - 1

// packKeys packs whole-number (x, tx, T) below 2^21 into x<<42|tx<<21|T.
func packKeys(s []Summary) ([]uint64, bool) {
	keys := make([]uint64, len(s))
	for i, c := range s {
		if !whole21(c.X) || !whole21(c.Tx) || !whole21(c.T) {
			return nil, false
		}
		keys[i] = uint64(c.X)<<42 | uint64(c.Tx)<<21 | uint64(c.T)
	}
	return keys, true
}

func whole21(v float64) bool { return v >= 0 && v < 1<<21 && v == math.Trunc(v) }

// radixSort sorts keys in place, 16 bits per pass, skipping the passes
// above the largest key's top bit.
func radixSort(keys []uint64) {
	if len(keys) == 0 {
		return
	}
	var top uint64
	for _, k := range keys {
		top |= k
	}
	buf := make([]uint64, len(keys))
	src, dst := keys, buf
	for shift := uint(0); shift < 64 && top>>shift != 0; shift += 16 {
		var count [1 << 16]int
		for _, k := range src {
			count[k>>shift&0xffff]++
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, k := range src {
			d := k >> shift & 0xffff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}

// Unit is the time unit of Tx, T and prediction horizons, in days.
type Unit float64

// The supported units.
const (
	Days  Unit = 1
	Weeks Unit = 7
)

// ParseUnit reads "days" or "weeks".
func ParseUnit(s string) (Unit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "days", "day", "d":
		return Days, nil
	case "weeks", "week", "w":
		return Weeks, nil
	}
	return 0, fmt.Errorf("unknown time unit %q (want days or weeks)", s)
}

// String returns "days" or "weeks" (or the number of days).
func (u Unit) String() string {
	switch u {
	case Days:
		return "days"
	case Weeks:
		return "weeks"
	}
	return fmt.Sprintf("%g days", float64(u))
}

// FromDays converts a duration in days to the unit.
func (u Unit) FromDays(d float64) float64 { return d / float64(u) }

// Month is the length of an average month (365.25/12 days) in the unit.
func (u Unit) Month() float64 { return 365.25 / 12 / float64(u) }
