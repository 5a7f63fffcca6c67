package demo_test

import (
	"database/sql"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"crmwh/pipelines/demo"
	"crmwh/warehouse/clv"
)

// contractTruth is truth/contracts.json.
type contractTruth struct {
	Period    string  `json:"period"`
	JoinShare float64 `json:"join_share"`
	Members   int64   `json:"memberships"`
	Plans     []struct {
		Plan        string
		Alpha, Beta float64
	} `json:"plans"`
}

// member is a membership as the test reads it: the full months it was
// seen for by the end of the data, and how many it ran when it ended.
type member struct {
	horizon, life int
	ended         bool
}

// fullMonths counts the whole calendar months from a to b.
func fullMonths(a, b time.Time) int {
	n := 0
	for !a.AddDate(0, n+1, 0).After(b) {
		n++
	}
	return n
}

// sbgInformation is the expected Fisher information of (α, β) in a sample
// of contracts seen for the given numbers of periods: per contract,
// Σ over its outcomes (leaving after t = 1…h periods, or staying through
// h) of P · ∇ln P ∇ln Pᵀ, with the gradients by central differences.
func sbgInformation(alpha, beta float64, horizons map[int]int) *mat.SymDense {
	prob := func(a, b float64, h, t int) float64 { // t = h+1: stayed through h
		m := clv.SBG{Alpha: a, Beta: b}
		if t > h {
			return m.Survival(h)
		}
		return m.Survival(t-1) - m.Survival(t)
	}
	info := mat.NewSymDense(2, nil)
	for h, n := range horizons {
		for t := 1; t <= h+1; t++ {
			p := prob(alpha, beta, h, t)
			const e = 1e-6
			ga := (math.Log(prob(alpha+e, beta, h, t)) - math.Log(prob(alpha-e, beta, h, t))) / (2 * e)
			gb := (math.Log(prob(alpha, beta+e, h, t)) - math.Log(prob(alpha, beta-e, h, t))) / (2 * e)
			w := float64(n) * p
			info.SetSym(0, 0, info.At(0, 0)+w*ga*ga)
			info.SetSym(0, 1, info.At(0, 1)+w*ga*gb)
			info.SetSym(1, 1, info.At(1, 1)+w*gb*gb)
		}
	}
	return info
}

// The tea club's memberships, read from crm.sqlite as any loader would,
// recover each plan's planted α and β: a plan's members, each seen from
// their own start to the end of the data, are fitted with
// clv.FitSBGGroups, and each estimate must lie within four standard
// errors of the truth, the standard errors from the expected Fisher
// information of that many members seen that long (so the bound follows
// the sample size; at four standard errors a correct generator fails one
// time in about 16,000 per parameter). The share of buyers who join is
// checked the same way against its binomial standard error.
func TestMembershipsRecoverThePlantedSBG(t *testing.T) {
	sum, dir := generate(t, demo.DefaultOptions())
	raw, err := os.ReadFile(filepath.Join(dir, "truth", "contracts.json"))
	require.NoError(t, err)
	var truth contractTruth
	require.NoError(t, json.Unmarshal(raw, &truth))
	require.Equal(t, "month", truth.Period)
	require.Equal(t, sum.Memberships, truth.Members)

	var params struct {
		PeriodEnd time.Time `json:"period_end"`
	}
	raw, err = os.ReadFile(filepath.Join(dir, "truth", "params.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &params))

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "crm.sqlite")+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT plan, CAST(started_at AS TEXT), CAST(ended_at AS TEXT), status FROM memberships`)
	require.NoError(t, err)
	byPlan := map[string][]member{}
	var n int64
	for rows.Next() {
		var plan, started, status string
		var ended sql.NullString
		require.NoError(t, rows.Scan(&plan, &started, &ended, &status))
		n++
		// The CRM stores UTC; renewals fall on the local calendar.
		start, err := time.Parse(time.DateTime, started)
		require.NoError(t, err)
		start = start.In(shanghai)
		m := member{horizon: fullMonths(start, params.PeriodEnd)}
		require.Equal(t, ended.Valid, status == "lapsed")
		if ended.Valid {
			end, err := time.Parse(time.DateTime, ended.String)
			require.NoError(t, err)
			m.ended, m.life = true, fullMonths(start, end.In(shanghai))
			require.True(t, start.AddDate(0, m.life, 0).Equal(end), "a membership ends at a renewal")
			require.LessOrEqual(t, m.life, m.horizon)
		}
		byPlan[plan] = append(byPlan[plan], m)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, sum.Memberships, n)

	// Joining: a binomial share of the buyers (those whose join date fell
	// after the end of the data do not join).
	p := float64(n) / float64(sum.Buyers)
	se := math.Sqrt(truth.JoinShare * (1 - truth.JoinShare) / float64(sum.Buyers))
	require.Less(t, p, truth.JoinShare+4*se)
	require.Greater(t, p, truth.JoinShare-12*se, "a few join dates fall after the end")
	t.Logf("%d memberships of %d buyers (%.3f)", n, sum.Buyers, p)

	require.Len(t, byPlan, len(truth.Plans))
	for _, plan := range truth.Plans {
		members := byPlan[plan.Plan]
		groups := map[int][]float64{}
		horizons := map[int]int{}
		for _, m := range members {
			if m.horizon == 0 {
				continue // seen for no full month: no renewal yet
			}
			g := groups[m.horizon]
			if g == nil {
				g = make([]float64, m.horizon+1)
				groups[m.horizon] = g
			}
			alive := m.horizon + 1
			if m.ended {
				alive = m.life
			}
			for k := range alive {
				g[k]++
			}
			horizons[m.horizon]++
		}
		var gs [][]float64
		for _, g := range groups {
			gs = append(gs, g)
		}
		fit, err := clv.FitSBGGroups(gs, clv.FitOptions{})
		require.NoError(t, err)
		var cov mat.Dense
		require.NoError(t, cov.Inverse(sbgInformation(plan.Alpha, plan.Beta, horizons)))
		seA, seB := math.Sqrt(cov.At(0, 0)), math.Sqrt(cov.At(1, 1))
		t.Logf("%s: %d members; alpha %.3f (true %.2f, se %.3f), beta %.3f (true %.2f, se %.3f)",
			plan.Plan, len(members), fit.Params.Alpha, plan.Alpha, seA, fit.Params.Beta, plan.Beta, seB)
		require.InDelta(t, plan.Alpha, fit.Params.Alpha, 4*seA, plan.Plan)
		require.InDelta(t, plan.Beta, fit.Params.Beta, 4*seB, plan.Plan)
	}
}
