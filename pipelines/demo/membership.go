package demo

import (
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// The tea club: a monthly membership (a box of tea every month) that some
// buyers join, renew month by month, and leave. Each member has a
// cancellation probability θ, the same at every monthly renewal, drawn
// from Beta(α, β) of their plan: the shifted-beta-geometric model of
// Fader & Hardie (2007), which mart_contract_retention fits, with known
// parameters (truth/contracts.json). Memberships are drawn from a random
// stream of the person's own (like the planted affinities), so nothing
// else the demo writes changes.

// clubPlan is one plan of the club.
type clubPlan struct {
	name        string
	fee         int64   // fen per month
	share       float64 // of the members
	alpha, beta float64
}

var (
	clubPlans = []clubPlan{
		// Basic: a heterogeneous crowd, many trying it for a month or two.
		{name: "tea_club", fee: 3900, share: 0.65, alpha: 0.9, beta: 3.0},
		// Plus: pricier, more committed members.
		{name: "tea_club_plus", fee: 9900, share: 0.35, alpha: 1.6, beta: 9.0},
	}
	// clubJoinShare of the buyers join, on average clubJoinDays after
	// their first purchase (exponentially distributed).
	clubJoinShare = 0.25
	clubJoinDays  = 30.0
)

// membershipSalt sets the membership stream apart from the others.
const membershipSalt = 0x6d65_6d62_6572_7368

// crmMembership is one membership row of the CRM.
type crmMembership struct {
	ref   custRef
	plan  int8
	start int64
	end   int64 // -1 while active
}

// club is a generator's membership state.
type club struct {
	src *rand.PCG
	r   *rand.Rand
}

// membership draws person i's membership, if any, for a buyer whose first
// purchase was at t0, and appends it to the chunk.
func (g *gen) membership(i int, t0 int64) {
	c := &g.club
	if c.r == nil {
		c.src = rand.NewPCG(0, 0)
		c.r = rand.New(c.src)
	}
	c.src.Seed(personSeeds(g.w.o.Seed^membershipSalt, i))
	r, clk := c.r, g.w.clk
	if r.Float64() >= clubJoinShare {
		return
	}
	start := t0 + int64(r.ExpFloat64()*clubJoinDays*daySec)
	plan := 0
	if r.Float64() >= clubPlans[0].share {
		plan = 1
	}
	p := clubPlans[plan]
	theta := distuv.Beta{Alpha: p.alpha, Beta: p.beta, Src: c.src}.Rand()
	if start >= clk.end {
		return
	}
	// Renewal k falls k months after the start (local calendar months);
	// the member leaves at the first renewal they do not take.
	m := crmMembership{ref: custRef{person: int32(i - g.ck.first)}, plan: int8(plan), start: start, end: -1}
	at := clk.start.Add(time.Duration(start) * time.Second)
	for k := 1; ; k++ {
		renewal := int64(at.AddDate(0, k, 0).Sub(clk.start) / time.Second)
		if renewal >= clk.end {
			break
		}
		if r.Float64() < theta {
			m.end = renewal
			break
		}
	}
	g.ck.memberships = append(g.ck.memberships, m)
}

// writeContractTruth writes truth/contracts.json: the plans' planted sBG
// parameters and how memberships are drawn.
func writeContractTruth(path string, members int64) error {
	type plan struct {
		Plan       string  `json:"plan"`
		MonthlyFee float64 `json:"monthly_fee"`
		Share      float64 `json:"share_of_members"`
		Alpha      float64 `json:"alpha"`
		Beta       float64 `json:"beta"`
	}
	doc := struct {
		Table     string  `json:"table"`
		Period    string  `json:"period"`
		Model     string  `json:"model"`
		JoinShare float64 `json:"join_share"`
		JoinDays  float64 `json:"mean_days_to_join"`
		Members   int64   `json:"memberships"`
		Plans     []plan  `json:"plans"`
	}{
		Table:     "crm.sqlite memberships",
		Period:    "month",
		Model:     "shifted-beta-geometric: a member cancels at each monthly renewal with probability theta ~ Beta(alpha, beta) of the plan; ended_at is the first renewal not taken, NULL while active",
		JoinShare: clubJoinShare, JoinDays: clubJoinDays, Members: members,
	}
	for _, p := range clubPlans {
		doc.Plans = append(doc.Plans, plan{Plan: p.name, MonthlyFee: float64(p.fee) / 100, Share: p.share, Alpha: p.alpha, Beta: p.beta})
	}
	return writeJSON(path, doc)
}
