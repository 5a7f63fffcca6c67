// Package demo writes the operational systems of an imaginary Chinese
// retailer: a CRM database (SQLite), daily billing CSV exports (modern UTF-8
// and legacy GB18030), monthly survey CSVs, and a truth/ folder that tests
// check the analytics against. docs/demo-data.md is the specification.
//
// Generation is deterministic (same options, same bytes), streams customer
// by customer so memory stays flat, and publishes the output folder only when
// every file is complete.
package demo

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Options are the flags of `crmwh demo`.
type Options struct {
	Customers int       // people in the CRM, prospects included
	Years     int       // length of the observed period
	End       time.Time // last observed day; only its date is used
	Seed      uint64
	Out       string // output folder

	CRMDupRate     float64 // share of people entered twice in the CRM
	BillingDupRate float64 // share of buyers given a second billing customer number
	BadEmailRate   float64 // share of contact records with a malformed or missing e-mail
	BadPhoneRate   float64 // share of contact records with a malformed phone
	BadRowRate     float64 // share of billing CSV rows written malformed
	CancelRate     float64 // cancelled extra orders per purchase
	RefundRate     float64 // share of purchases later refunded
	LegacyShare    float64 // share of days exported by the legacy billing system
	UTCRate        float64 // share of modern billing rows stamped in UTC

	// Params are the generating parameters; the zero value means
	// DefaultParams.
	Params Params
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Customers:      20000,
		Years:          2,
		End:            time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC),
		Seed:           1,
		Out:            "data/demo",
		CRMDupRate:     0.03,
		BillingDupRate: 0.02,
		BadEmailRate:   0.02,
		BadPhoneRate:   0.02,
		BadRowRate:     0.001,
		CancelRate:     0.02,
		RefundRate:     0.03,
		LegacyShare:    0.1,
		UTCRate:        0.1,
		Params:         DefaultParams(),
	}
}

// Limits of the options; beyond them identifiers would need wider formats.
const (
	MaxCustomers = 100_000_000
	MaxYears     = 30
)

// Validate reports the first invalid option, naming its flag.
func (o Options) Validate() error {
	if o.Customers < 1 {
		return errors.New("--customers must be at least 1")
	}
	if o.Customers > MaxCustomers {
		return fmt.Errorf("--customers must be at most %d", MaxCustomers)
	}
	if o.Years < 1 || o.Years > MaxYears {
		return fmt.Errorf("--years must be between 1 and %d, got %d", MaxYears, o.Years)
	}
	if o.End.IsZero() {
		return errors.New("--end must be a date such as 2026-10-31")
	}
	if y := o.End.Year(); y < 1990 || y > 2200 {
		return fmt.Errorf("--end must be between 1990 and 2200, got %s", o.End.Format(time.DateOnly))
	}
	if o.Out == "" {
		return errors.New("--out must name a folder")
	}
	rates := []struct {
		flag string
		v    float64
	}{
		{"--crm-dup-rate", o.CRMDupRate},
		{"--billing-dup-rate", o.BillingDupRate},
		{"--bad-email-rate", o.BadEmailRate},
		{"--bad-phone-rate", o.BadPhoneRate},
		{"--bad-row-rate", o.BadRowRate},
		{"--cancel-rate", o.CancelRate},
		{"--refund-rate", o.RefundRate},
		{"--legacy-share", o.LegacyShare},
		{"--utc-rate", o.UTCRate},
	}
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %g", r.flag, r.v)
		}
	}
	if o.BadEmailRate+o.BadPhoneRate > 1 {
		return errors.New("--bad-email-rate plus --bad-phone-rate must be at most 1 (a record never has both bad)")
	}
	if o.BadRowRate > 0.5 {
		return fmt.Errorf("--bad-row-rate must be at most 0.5, got %g", o.BadRowRate)
	}
	if o.Params != (Params{}) {
		if err := o.Params.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// params returns the parameters in force.
func (o Options) params() Params {
	if o.Params == (Params{}) {
		return DefaultParams()
	}
	return o.Params
}

// Params are the generating processes' parameters (the ground truth). Time is
// in days and money in CNY.
type Params struct {
	// Purchase rate while alive: λ ~ Gamma(shape R, rate Alpha) per day.
	R, Alpha float64
	// Dropout after each repeat purchase: p ~ Beta(A, B).
	A, B float64
	// Order value (Gamma-Gamma): ν ~ Gamma(shape Q, rate Gamma) per buyer,
	// each order z ~ Gamma(shape P, rate ν).
	P, Q, Gamma float64
	// After each repeat purchase a complaint is filed with probability
	// ComplaintProb; dropout after it is min(1, ComplaintFactor·p), and after
	// a purchase without one it is lowered so that the marginal stays p.
	ComplaintProb, ComplaintFactor float64
	// ProspectShare of the people never buy.
	ProspectShare float64
	// AnnualGrowth of acquisitions (0.5 = 50% more a year later).
	AnnualGrowth float64
	// Seasonality multiplies acquisitions by calendar month (January first).
	Seasonality [12]float64
}

// DefaultParams returns the documented parameters.
func DefaultParams() Params {
	return Params{
		R: 0.9, Alpha: 60,
		A: 0.8, B: 3.2,
		P: 6, Q: 4, Gamma: 150,
		ComplaintProb: 0.05, ComplaintFactor: 4,
		ProspectShare: 0.08,
		AnnualGrowth:  0.5,
		// A dip around the Spring Festival, peaks for 618 and Double 11.
		Seasonality: [12]float64{1.0, 0.65, 0.95, 1.0, 1.05, 1.5, 0.95, 0.9, 1.0, 1.05, 1.7, 1.15},
	}
}

// Validate checks that the parameters define proper distributions.
func (p Params) Validate() error {
	pos := []struct {
		name string
		v    float64
	}{{"r", p.R}, {"alpha", p.Alpha}, {"a", p.A}, {"b", p.B}, {"p", p.P}, {"q", p.Q}, {"gamma", p.Gamma}}
	for _, v := range pos {
		if !(v.v > 0) || math.IsInf(v.v, 0) {
			return fmt.Errorf("params: %s must be positive, got %g", v.name, v.v)
		}
	}
	if !(p.ComplaintProb >= 0 && p.ComplaintProb < 1) {
		return fmt.Errorf("params: complaint probability must be in [0, 1), got %g", p.ComplaintProb)
	}
	if !(p.ComplaintFactor >= 0) || p.ComplaintProb*p.ComplaintFactor > 1 {
		return fmt.Errorf("params: complaint factor must be at least 0 with probability × factor at most 1, got %g", p.ComplaintFactor)
	}
	if !(p.ProspectShare >= 0 && p.ProspectShare < 1) {
		return fmt.Errorf("params: prospect share must be in [0, 1), got %g", p.ProspectShare)
	}
	if !(p.AnnualGrowth > -1) || math.IsInf(p.AnnualGrowth, 0) {
		return fmt.Errorf("params: annual growth must be above -1, got %g", p.AnnualGrowth)
	}
	for i, s := range p.Seasonality {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("params: seasonality of month %d must be positive, got %g", i+1, s)
		}
	}
	return nil
}

// dropout returns the dropout probabilities after a repeat purchase with and
// without a complaint, so that c·pc + (1-c)·pn = p.
func (p Params) dropout(prob float64) (pc, pn float64) {
	c := p.ComplaintProb
	pc = math.Min(1, p.ComplaintFactor*prob)
	if c == 0 {
		return pc, prob
	}
	pn = (prob - c*pc) / (1 - c)
	return pc, math.Min(1, math.Max(0, pn))
}
