package clv

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
)

// TrackPoint is one point of the cumulative repeat-purchase tracking
// series of a calibration cohort (FHL 2005, figure 2).
type TrackPoint struct {
	// Time of the point relative to the end of the calibration period, in
	// the model's unit: negative inside calibration, positive in the
	// holdout.
	Time float64 `json:"time"`
	// Actual is the number of repeat purchases (days) the cohort made up
	// to Time, counted from each customer's first purchase.
	Actual float64 `json:"actual"`
	// Expected is the model's Σ_i E[X(Time + T_i)] over the customers
	// whose first purchase was before Time (Time + T_i > 0).
	Expected float64 `json:"expected"`
}

// FrequencyBucket compares holdout purchases of customers grouped by their
// calibration frequency x.
type FrequencyBucket struct {
	// Label is "0" … "6", or "7+" for x ≥ 7.
	Label string `json:"x"`
	// Customers in the bucket.
	Customers int `json:"customers"`
	// Actual and Predicted are the mean holdout purchases per customer.
	Actual    float64 `json:"actual"`
	Predicted float64 `json:"predicted"`
}

// Validation is the holdout check of a purchase model's fit.
type Validation struct {
	// HoldoutLength is the length of the holdout period in the model's
	// unit.
	HoldoutLength float64 `json:"holdout_length"`
	// Customers is the calibration cohort: everyone whose first purchase
	// fell in the calibration period.
	Customers int `json:"customers"`
	// Actual and Predicted are the cohort's total repeat purchases in the
	// holdout: observed, and Σ E[Y(holdout) | x, t_x, T].
	Actual    float64 `json:"actual"`
	Predicted float64 `json:"predicted"`
	// MAE is the mean absolute error per customer, mean |actual − predicted|.
	MAE float64 `json:"mae"`
	// ByFrequency breaks the comparison down by calibration frequency.
	ByFrequency []FrequencyBucket `json:"by_frequency"`
	// Tracking is the cumulative repeat-purchase series, actual against
	// expected, through calibration and holdout.
	Tracking []TrackPoint `json:"tracking"`
}

// FrequencyBuckets is the number of buckets: x = 0 … 6 and 7+.
const FrequencyBuckets = 8

// Validate compares a purchase model, fitted on the calibration summaries,
// with what the same customers did in the holdout period: holdout[i] is
// customer i's number of purchase days in the holdout, of length
// holdoutLength. track gives the tracking series' times and actual values;
// Validate fills in the expected ones (Time + T_i below 0 counts nothing).
func Validate(m Purchases, calibration []Summary, holdout []float64, holdoutLength float64, track []TrackPoint) (*Validation, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("validating: %w", err)
	}
	if len(holdout) != len(calibration) {
		return nil, fmt.Errorf("validating: %d holdout counts for %d customers", len(holdout), len(calibration))
	}
	if !(holdoutLength >= 0) || math.IsInf(holdoutLength, 0) {
		return nil, fmt.Errorf("validating: holdout length %v is not a time ≥ 0", holdoutLength)
	}
	v := &Validation{HoldoutLength: holdoutLength, Customers: len(calibration)}
	buckets := make([]FrequencyBucket, FrequencyBuckets)
	for i := range buckets {
		buckets[i].Label = strconv.Itoa(i)
	}
	buckets[FrequencyBuckets-1].Label = strconv.Itoa(FrequencyBuckets-1) + "+"

	// E[Y(t)] if alive depends only on (x, T): cache it.
	type xt struct{ x, T float64 }
	alive := map[xt]float64{}
	var absErr float64
	for i, s := range calibration {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("validating: customer %d: %w", i, err)
		}
		k := xt{s.X, s.T}
		a, ok := alive[k]
		if !ok {
			a = m.AliveExpected(holdoutLength, s.X, s.T)
			alive[k] = a
		}
		pred := m.ProbAlive(s.X, s.Tx, s.T) * a
		act := holdout[i]
		v.Actual += act
		v.Predicted += pred
		absErr += math.Abs(act - pred)
		b := &buckets[min(int(s.X), FrequencyBuckets-1)]
		b.Customers++
		b.Actual += act
		b.Predicted += pred
	}
	if len(calibration) > 0 {
		v.MAE = absErr / float64(len(calibration))
	}
	for i := range buckets {
		if n := float64(buckets[i].Customers); n > 0 {
			buckets[i].Actual /= n
			buckets[i].Predicted /= n
		}
	}
	v.ByFrequency = buckets

	// Tracking: customers by T (sorted, so that sums do not depend on map
	// order), E[X(t)] cached by t.
	count := map[float64]float64{}
	for _, s := range calibration {
		count[s.T]++
	}
	Ts := slices.Sorted(maps.Keys(count))
	expected := map[float64]float64{}
	v.Tracking = make([]TrackPoint, len(track))
	for i, p := range track {
		var sum float64
		for _, T := range Ts {
			n := count[T]
			t := p.Time + T
			if t <= 0 {
				continue
			}
			e, ok := expected[t]
			if !ok {
				e = m.Expected(t)
				expected[t] = e
			}
			sum += n * e
		}
		v.Tracking[i] = TrackPoint{Time: p.Time, Actual: p.Actual, Expected: sum}
	}
	return v, nil
}

// HoldoutLogLikelihood returns the log-likelihood of what customers did in
// the holdout period given what they did before, under m:
//
//	Σ_i [ℓ(full_i) − ℓ(calibration_i)]
//
// where full_i is customer i's summary over calibration and holdout
// together (the same first purchase, T extended by the holdout), given as
// the grouped summaries of both (GroupSummaries). Each model's likelihood
// is the density of a customer's purchase times, of which (x, t_x, T) are
// sufficient, so the difference is the density of the holdout purchases
// given the calibration history: a proper out-of-sample score on which
// models of different structure compare.
func HoldoutLogLikelihood(m Purchases, calibration, full []Group) (float64, error) {
	var nc, nf float64
	for _, g := range calibration {
		nc += g.N
	}
	for _, g := range full {
		nf += g.N
	}
	if nc != nf {
		return 0, fmt.Errorf("holdout log-likelihood: %.0f full summaries for %.0f customers", nf, nc)
	}
	lf, err := m.LogLikelihood(full)
	if err != nil {
		return 0, fmt.Errorf("holdout log-likelihood: %w", err)
	}
	lc, err := m.LogLikelihood(calibration)
	if err != nil {
		return 0, fmt.Errorf("holdout log-likelihood: %w", err)
	}
	return lf - lc, nil
}
