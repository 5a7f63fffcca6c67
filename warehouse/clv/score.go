package clv

import (
	"errors"
	"fmt"
	"math"
)

// CLVOptions configure the customer lifetime value.
type CLVOptions struct {
	// Months is the horizon (default 12).
	Months int `json:"months"`
	// MonthlyDiscount is the discount rate per month: month k's value is
	// divided by (1+MonthlyDiscount)^k (default 0).
	MonthlyDiscount float64 `json:"monthly_discount"`
	// Margin is the share of spend that is profit; 0 means 1 (CLV as
	// revenue).
	Margin float64 `json:"margin"`
}

// DefaultCLVMonths is the default CLV horizon.
const DefaultCLVMonths = 12

func (o CLVOptions) withDefaults() CLVOptions {
	if o.Months <= 0 {
		o.Months = DefaultCLVMonths
	}
	if o.Margin == 0 {
		o.Margin = 1
	}
	return o
}

func (o CLVOptions) validate() error {
	switch {
	case o.Months > 1200:
		return fmt.Errorf("clv horizon of %d months is more than 100 years", o.Months)
	case !(o.MonthlyDiscount > -1) || math.IsInf(o.MonthlyDiscount, 0):
		return fmt.Errorf("monthly discount rate %v is not above -1", o.MonthlyDiscount)
	case math.IsNaN(o.Margin) || math.IsInf(o.Margin, 0):
		return fmt.Errorf("margin %v is not a number", o.Margin)
	}
	return nil
}

// Model is a fitted purchase model (BG/NBD, Pareto/NBD or NBD) and spend
// model (Gamma-Gamma, or its limit PooledSpend) in a time unit.
type Model struct {
	Purchases Purchases
	Spend     Spend
	// Unit is the time unit of the purchase model's parameters and of
	// Summary times (0 means Days).
	Unit Unit
}

func (m Model) unit() Unit {
	if m.Unit == 0 {
		return Days
	}
	return m.Unit
}

// ErrInfiniteSpend is returned when Gamma-Gamma's q ≤ 1: the expected
// spend is then infinite and no CLV can be computed.
var ErrInfiniteSpend = errors.New("gamma-gamma q ≤ 1: expected spend is infinite")

func (m Model) validate() error {
	if m.Purchases == nil || m.Spend == nil {
		return errors.New("the model has no purchase or no spend part")
	}
	if err := m.Purchases.Validate(); err != nil {
		return err
	}
	return m.Spend.Validate()
}

// CLV returns one customer's lifetime value over o.Months months:
//
//	CLV = margin · E[spend] · Σ_{k=1..M} (E[Y(kℓ)] − E[Y((k−1)ℓ)]) / (1+d)^k
//
// with E[Y(t)] the conditional expected purchases in the next t,
// ℓ = m.Unit.Month() the length of a month, d the monthly discount rate
// and E[spend] the spend model's ExpectedSpend. NaN when q ≤ 1.
func (m Model) CLV(s Summary, o CLVOptions) float64 {
	o = o.withDefaults()
	return o.Margin * m.Spend.ExpectedSpend(s.X, s.Monetary) *
		m.Purchases.ProbAlive(s.X, s.Tx, s.T) * m.discountedAlive(s.X, s.T, o)
}

// discountedAlive is Σ_k (A(kℓ) − A((k−1)ℓ)) / (1+d)^k with A the
// expected purchases if alive.
func (m Model) discountedAlive(x, T float64, o CLVOptions) float64 {
	month := m.unit().Month()
	var sum, prev float64
	f := 1.0
	for k := 1; k <= o.Months; k++ {
		f /= 1 + o.MonthlyDiscount
		cur := m.Purchases.AliveExpected(float64(k)*month, x, T)
		sum += (cur - prev) * f
		prev = cur
	}
	return sum
}

// ScoreOptions choose what Model.Score computes.
type ScoreOptions struct {
	// Horizons are the lengths t, in the model's unit, for which Score
	// returns each customer's expected purchases (e.g. 90 and 365 days).
	Horizons []float64
	// CLV configures the lifetime value.
	CLV CLVOptions
}

// Scores are per-customer predictions, each slice in the order of the
// customers scored.
type Scores struct {
	// PAlive is the probability of being alive at the end of the period.
	PAlive []float64
	// Expected[h][i] is customer i's expected number of purchases in the
	// next Horizons[h].
	Expected [][]float64
	// ExpectedSpend is Gamma-Gamma's expected value per purchase.
	ExpectedSpend []float64
	// CLV is the discounted lifetime value over the CLV horizon.
	CLV []float64
}

// Score computes P(alive), the expected purchases in each horizon, the
// expected spend and the CLV of every customer. The hypergeometric parts
// depend only on (x, T), so they are computed once per distinct pair and
// shared; the per-customer part is one exponential. Work is split over
// GOMAXPROCS goroutines.
func (m Model) Score(customers []Summary, o ScoreOptions) (*Scores, error) {
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	co := o.CLV.withDefaults()
	if err := co.validate(); err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	for i, h := range o.Horizons {
		if !(h >= 0) || math.IsInf(h, 0) {
			return nil, fmt.Errorf("scoring: horizon %d = %v is not a time ≥ 0", i, h)
		}
	}
	pair, pairs, err := pairIndex(customers)
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}

	// Per distinct (x, T): expected purchases if alive in each horizon,
	// then the discounted monthly sum.
	nh := len(o.Horizons)
	stride := nh + 1
	perPair := make([]float64, len(pairs)*stride)
	const pairChunk = 256
	parallel((len(pairs)+pairChunk-1)/pairChunk, func(c int) {
		for k := c * pairChunk; k < min((c+1)*pairChunk, len(pairs)); k++ {
			p := pairs[k]
			row := perPair[k*stride : (k+1)*stride]
			for h, t := range o.Horizons {
				row[h] = m.Purchases.AliveExpected(t, p[0], p[1])
			}
			row[nh] = m.discountedAlive(p[0], p[1], co)
		}
	})

	n := len(customers)
	sc := &Scores{
		PAlive:        make([]float64, n),
		Expected:      make([][]float64, nh),
		ExpectedSpend: make([]float64, n),
		CLV:           make([]float64, n),
	}
	for h := range sc.Expected {
		sc.Expected[h] = make([]float64, n)
	}
	const chunk = 65536
	parallel((n+chunk-1)/chunk, func(c int) {
		for i := c * chunk; i < min((c+1)*chunk, n); i++ {
			s := customers[i]
			pa := m.Purchases.ProbAlive(s.X, s.Tx, s.T)
			row := perPair[int(pair[i])*stride:]
			for h := range nh {
				sc.Expected[h][i] = pa * row[h]
			}
			spend := m.Spend.ExpectedSpend(s.X, s.Monetary)
			sc.PAlive[i] = pa
			sc.ExpectedSpend[i] = spend
			sc.CLV[i] = co.Margin * spend * pa * row[nh]
		}
	})
	return sc, nil
}

// pairIndex numbers the distinct (x, T) of the customers, after checking
// each summary.
func pairIndex(customers []Summary) ([]int32, [][2]float64, error) {
	idx := make([]int32, len(customers))
	var pairs [][2]float64
	packed := map[uint64]int32{}
	var general map[[2]float64]int32
	for i, s := range customers {
		if err := s.Validate(); err != nil {
			return nil, nil, fmt.Errorf("customer %d: %w", i, err)
		}
		if whole21(s.X) && whole21(s.T) {
			k := uint64(s.X)<<21 | uint64(s.T)
			j, ok := packed[k]
			if !ok {
				j = int32(len(pairs))
				packed[k] = j
				pairs = append(pairs, [2]float64{s.X, s.T})
			}
			idx[i] = j
			continue
		}
		if general == nil {
			general = map[[2]float64]int32{}
		}
		k := [2]float64{s.X, s.T}
		j, ok := general[k]
		if !ok {
			j = int32(len(pairs))
			general[k] = j
			pairs = append(pairs, k)
		}
		idx[i] = j
	}
	return idx, pairs, nil
}
