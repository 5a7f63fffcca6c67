package analytics

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	"crmwh/warehouse/build"
	"crmwh/warehouse/clv"
	"crmwh/warehouse/duckdb"
)

// RetentionTable is the table the contract retention step writes: per
// cohort of contracts and period, the actual and projected survival and
// retention, and the cohort's sBG parameters, expected residual lifetime
// and value (docs/analytics.md, "Contract renewals").
const RetentionTable = "mart_contract_retention"

// The values of mart_contract_retention.status.
const (
	ContractsOK           = "ok"
	ContractsTooFew       = "too few contracts"
	ContractsTooShort     = "too few periods"
	ContractsNoDropOut    = "no drop-out"
	ContractsNotConverged = "not converged"
)

// Thresholds of a cohort's fit: fewer contracts, or fewer periods seen
// from start to renewal, and the cohort is described but not fitted.
const (
	minCohortContracts = 20
	minCohortPeriods   = 2
	// projectionPeriods: the projection runs this many periods past the
	// longest observed one.
	projectionPeriods = 12
)

// ContractRetentionStep fits the shifted-beta-geometric model (Fader &
// Hardie 2007) to every cohort of contracts: the contracts of one plan
// that started in one calendar year. A contract's periods (months or
// years, analytics.contract_period) run from its own start; it is alive
// after t periods when it had not ended by then. Contracts seen for
// different numbers of periods (by the last day of the data) are fitted
// together with clv.FitSBGGroups. A cohort too small, too young or
// without drop-out is written with its actuals and says why; a fit that
// fails never fails the build. The step reads stg_contracts, so it and its
// mart are left out of projects that do not map contracts.
func ContractRetentionStep(s Settings) build.Step {
	return build.Step{
		Name:        "contract_retention",
		Reads:       []string{"stg_contracts", SettingsTable},
		Writes:      []string{RetentionTable},
		Fingerprint: s.Fingerprint(),
		Run: func(ctx context.Context, conn *sql.Conn) (int64, error) {
			return runContractRetention(ctx, conn, s)
		},
	}
}

// PeriodMonths returns the months in a contract period (month or year).
func PeriodMonths(period string) (int, error) {
	switch period {
	case "", "month":
		return 1, nil
	case "year":
		return 12, nil
	}
	return 0, fmt.Errorf("contract period %q is not month or year", period)
}

// contractRow is one contract as the step sees it.
type contractRow struct {
	plan          string
	start         time.Time
	end           time.Time // zero while active
	amount        float64
	hasAmount     bool
	horizon, life int // full periods seen; periods it ran (ended ones)
}

// cohort gathers a cohort's contracts by how long they were seen.
type cohort struct {
	plan  string
	year  int
	size  int
	bad   int // contracts that end before they start: left out
	group map[int][]float64
	// active[h]: contracts still active after h full periods; amount[h]
	// their amounts per period, amounts[h] how many had one.
	active  map[int]int
	amount  map[int]float64
	amounts map[int]int
}

func (c *cohort) label() string { return c.plan + " " + strconv.Itoa(c.year) }

// add counts a contract: a group of the contracts seen for h full periods
// holds, for t = 0 … h, how many were still active after t periods.
func (c *cohort) add(k contractRow) {
	c.size++
	h := k.horizon
	ended := !k.end.IsZero()
	if ended && k.life > h {
		h = k.life // it ended in its running period: the outcome is known
	}
	g := c.group[h]
	if g == nil {
		g = make([]float64, h+1)
		c.group[h] = g
	}
	alive := h + 1
	if ended {
		alive = k.life
	}
	for t := 0; t < alive; t++ {
		g[t]++
	}
	if !ended {
		c.active[h]++
		if k.hasAmount {
			c.amount[h] += k.amount
			c.amounts[h]++
		}
	}
}

// addPeriods returns t + n periods of months each, in t's location.
func addPeriods(t time.Time, n, months int) time.Time { return t.AddDate(0, n*months, 0) }

// fullPeriods returns the number of whole periods from start to at.
func fullPeriods(start, at time.Time, months int) int {
	n := ((at.Year()-start.Year())*12 + int(at.Month()) - int(start.Month())) / months
	for n > 0 && addPeriods(start, n, months).After(at) {
		n--
	}
	for !addPeriods(start, n+1, months).After(at) {
		n++
	}
	return max(n, 0)
}

const contractsQuery = `SELECT coalesce(CAST(plan AS VARCHAR), 'all') AS plan, started_at, ended_at, CAST(amount AS DOUBLE) AS amount,
	max(greatest(started_at, coalesce(ended_at, started_at))) OVER () AS as_of
FROM stg_contracts WHERE started_at IS NOT NULL
ORDER BY contract_id`

func runContractRetention(ctx context.Context, conn *sql.Conn, s Settings) (int64, error) {
	months, err := PeriodMonths(s.ContractPeriod)
	if err != nil {
		return 0, err
	}
	loc := time.UTC
	if s.Timezone != "" {
		if loc, err = time.LoadLocation(s.Timezone); err != nil {
			return 0, fmt.Errorf("contract retention: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, retentionDDL); err != nil {
		return 0, err
	}
	rows, err := conn.QueryContext(ctx, contractsQuery)
	if err != nil {
		return 0, fmt.Errorf("reading stg_contracts: %w", err)
	}
	defer rows.Close()
	cohorts := map[string]*cohort{}
	var asOf time.Time
	for rows.Next() {
		var k contractRow
		var end sql.NullTime
		var amount sql.NullFloat64
		if err := rows.Scan(&k.plan, &k.start, &end, &amount, &asOf); err != nil {
			return 0, fmt.Errorf("reading stg_contracts: %w", err)
		}
		k.start, asOf = k.start.In(loc), asOf.In(loc)
		key := k.plan + "\x00" + strconv.Itoa(k.start.Year())
		c := cohorts[key]
		if c == nil {
			c = &cohort{plan: k.plan, year: k.start.Year(), group: map[int][]float64{}, active: map[int]int{},
				amount: map[int]float64{}, amounts: map[int]int{}}
			cohorts[key] = c
		}
		if end.Valid {
			k.end = end.Time.In(loc)
			if k.end.Before(k.start) {
				c.bad++
				continue
			}
			// The periods it ran: those that had begun before it ended.
			k.life = max(1, fullPeriods(k.start, k.end, months))
			if addPeriods(k.start, k.life, months).Before(k.end) {
				k.life++
			}
		}
		k.amount, k.hasAmount = amount.Float64, amount.Valid
		k.horizon = fullPeriods(k.start, asOf, months)
		c.add(k)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading stg_contracts: %w", err)
	}
	rows.Close()
	list := make([]*cohort, 0, len(cohorts))
	for _, c := range cohorts {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *cohort) int { return cmp.Or(cmp.Compare(a.plan, b.plan), cmp.Compare(a.year, b.year)) })
	// A period's discount rate from the monthly one.
	d := math.Pow(1+s.MonthlyDiscountRate, float64(months)) - 1
	unit := "month"
	if months == 12 {
		unit = "year"
	}
	var out [][]driver.Value
	for _, c := range list {
		out = append(out, c.rows(d, unit, asOf)...)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	next := 0
	return duckdb.Append(ctx, conn, "main", RetentionTable, func() []driver.Value {
		if next == len(out) {
			return nil
		}
		next++
		return out[next-1]
	})
}

const retentionDDL = `CREATE OR REPLACE TABLE mart_contract_retention (
	cohort VARCHAR, plan VARCHAR, start_year INTEGER, period_unit VARCHAR, period INTEGER,
	contracts BIGINT, observed_contracts BIGINT, actual_alive BIGINT, actual_survival DOUBLE, actual_retention DOUBLE,
	projected_alive DOUBLE, projected_survival DOUBLE, projected_retention DOUBLE, is_projection BOOLEAN,
	alpha DOUBLE, beta DOUBLE, alpha_std_error DOUBLE, beta_std_error DOUBLE, log_likelihood DOUBLE,
	active_contracts BIGINT, next_retention DOUBLE, derl DOUBLE, residual_value DOUBLE, discount_rate DOUBLE,
	status VARCHAR, note VARCHAR, as_of DATE)`

// fit fits the cohort, or says why it is not fitted.
func (c *cohort) fit() (*clv.SBGFit, string, string) {
	longest := 0
	var groups [][]float64
	for _, h := range sortedKeys(c.group) {
		if h > 0 {
			groups = append(groups, c.group[h])
			longest = h
		}
	}
	n := c.size
	switch {
	case n < minCohortContracts:
		return nil, ContractsTooFew, fmt.Sprintf("%d contracts: a fit needs at least %d", n, minCohortContracts)
	case longest < minCohortPeriods:
		return nil, ContractsTooShort, fmt.Sprintf("seen for %d full period(s): a fit needs at least %d", longest, minCohortPeriods)
	}
	f, err := clv.FitSBGGroups(groups, clv.FitOptions{})
	switch {
	case errors.Is(err, clv.ErrNoData):
		return nil, ContractsNoDropOut, "nobody left or nobody stayed yet, so retention cannot be estimated"
	case err != nil:
		slog.Warn("contract retention: fit failed", "cohort", c.label(), "error", err)
		return nil, ContractsNotConverged, err.Error()
	}
	return f, ContractsOK, fmt.Sprintf("fitted on %d contracts seen for up to %d periods", n, longest)
}

// rows returns the cohort's rows of the mart, period 0 to the projection
// horizon (or the longest observed period when it is not fitted).
func (c *cohort) rows(d float64, unit string, asOf time.Time) [][]driver.Value {
	if len(c.group) == 0 {
		return nil // every contract of the cohort was broken
	}
	f, status, note := c.fit()
	if c.bad > 0 {
		note += fmt.Sprintf("; %d contract(s) ending before they start left out", c.bad)
	}
	longest := slices.Max(sortedKeys(c.group))
	last := longest
	var m clv.SBG
	if f != nil {
		m = f.Params
		last = longest + projectionPeriods
	}
	// The cohort's figures: its active contracts, by full periods seen.
	var active int
	var nextRet, derl, value float64
	amounts := 0
	// In period order: sums of floats add up to the same bits every build.
	for _, h := range sortedKeys(c.active) {
		k := c.active[h]
		active += k
		amounts += c.amounts[h]
		if f != nil {
			nextRet += float64(k) * m.Retention(h+1)
			dl := m.DERL(d, h+1)
			derl += float64(k) * dl
			value += c.amount[h] * dl
		}
	}
	var vAlpha, vBeta, seAlpha, seBeta, ll, vNext, vDERL, vValue, vDisc any
	if d > 0 {
		vDisc = d
	}
	if f != nil {
		vAlpha, vBeta, ll = m.Alpha, m.Beta, f.LogLikelihood
		seAlpha, seBeta = nanToNil(f.Alpha.SE), nanToNil(f.Beta.SE)
		if active > 0 {
			vNext = nextRet / float64(active)
			if d > 0 {
				vDERL = derl / float64(active)
				if amounts > 0 {
					vValue = value
				}
			}
		}
		if !(d > 0) {
			note += "; no residual lifetime without a discount rate (analytics.monthly_discount_rate is 0)"
		}
	}
	day := time.Date(asOf.Year(), asOf.Month(), asOf.Day(), 0, 0, 0, 0, time.UTC)
	var out [][]driver.Value
	survival := 1.0
	for t := 0; t <= last; t++ {
		// Actuals among the contracts seen for at least t periods.
		var observed, alive, atRisk float64
		for _, h := range sortedKeys(c.group) {
			g := c.group[h]
			if h >= t {
				observed += g[0]
				alive += g[t]
				if t > 0 {
					atRisk += g[t-1]
				}
			}
		}
		var vObs, vAlive, vSurv, vRet any
		if observed > 0 {
			vObs, vAlive = int64(observed), int64(alive)
			if t > 0 {
				if atRisk > 0 {
					survival *= alive / atRisk
					vRet = alive / atRisk
				}
			}
			vSurv = survival
		}
		var pAlive, pSurv, pRet any
		if f != nil {
			pSurv = m.Survival(t)
			pAlive = float64(c.size) * m.Survival(t)
			if t > 0 {
				pRet = m.Retention(t)
			}
		}
		if vObs == nil {
			vObs = int64(0)
		}
		out = append(out, []driver.Value{c.label(), c.plan, int32(c.year), unit, int32(t),
			int64(c.size), vObs, vAlive, vSurv, vRet, pAlive, pSurv, pRet, observed == 0,
			vAlpha, vBeta, seAlpha, seBeta, ll, int64(active), vNext, vDERL, vValue, vDisc, status, note, day})
	}
	return out
}

func nanToNil(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
