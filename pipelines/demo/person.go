package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	"gonum.org/v1/gonum/stat/distuv"
)

// chunk holds everything generated for a run of consecutive customers, in
// the order it must be written. Rows refer to customers by position in the
// chunk; the writers turn that into ids, because duplicate CRM records are
// numbered after all primary records in the order they are met.
type chunk struct {
	first, n int

	people       []chunkPerson
	customers    []crmCustomer
	interactions []crmInteraction
	tickets      []crmTicket
	opps         []crmOpp
	responses    []crmResponse
	memberships  []crmMembership

	rows  []outRow // CSV rows; data[rows[k-1].end:rows[k].end]
	data  []byte
	truth []byte // people.csv rows after the crm ids column

	stats chunkStats
	refs  atomic.Int32 // writers still using the chunk
}

type chunkPerson struct {
	dup      bool
	truthEnd int32
}

type custRef struct {
	person int32 // position in the chunk
	dup    bool
}

type crmCustomer struct {
	ref                         custRef
	corporate                   bool
	name, company, email, phone string
	city                        int
	channel, status             string
	manager                     int // -1 for none
	created, updated            int64
}

type crmInteraction struct {
	ref                       custRef
	channel, direction, topic string
	at, updated               int64
	duration                  int32 // -1 for none
}

type crmTicket struct {
	ref               custRef
	category          int8
	satisfaction      int8 // 0 for none
	priority, subject string
	status            string
	opened, resolved  int64 // resolved -1 while open
	updated           int64
}

type crmOpp struct {
	ref                     custRef
	category                int8
	stage                   string
	amount                  int64 // fen
	created, closed, update int64 // closed -1 while open
}

type crmResponse struct {
	ref                      custRef
	campaign                 int32
	response                 string
	sent, responded, updated int64 // responded -1 for none
}

type outRow struct {
	file int32
	bad  uint8
	end  int32
}

type chunkStats struct {
	buyers, prospects, dups, billingCustomers            int
	orders, repeat, lines, refunds, cancelled, malformed int64
	complaints, surveys                                  int64
}

// Malformed-row kinds, as named in truth/malformed_rows.csv.
const (
	badNone uint8 = iota
	badFieldCount
	badQuote
	badAmount
	badDate
)

var badReasons = [...]string{"", "wrong field count", "unbalanced quote", "bad amount", "bad date"}

// Order statuses in the modern and legacy systems.
const (
	stPaid = iota
	stCancelled
	stRefund
)

var (
	statusModern = [...]string{"paid", "cancelled", "refund"}
	statusLegacy = [...]string{"已支付", "已取消", "退款"}
)

// gen generates customers; one per worker, reused for every customer.
type gen struct {
	w   *world
	src *rand.PCG
	r   *rand.Rand
	ck  *chunk

	row     row
	bad     row
	purch   []purchase
	lines   []orderLine
	refund  []orderLine
	tmp     []byte
	recs    [2]billRec
	idBuf   []byte
	origBuf []byte
	aff     affinity // planted affinities (affinity.go)
	club    club     // tea club memberships (membership.go)
}

type purchase struct {
	at        int64
	complaint bool
}

type orderLine struct {
	prod                    int
	qty, unit, disc, amount int64
}

// billRec is one billing customer record: its number and contact fields.
type billRec struct {
	no, email, phone string
}

func newGen(w *world) *gen {
	src := rand.NewPCG(0, 0)
	return &gen{w: w, src: src, r: rand.New(src)}
}

// identity is who a person is: names, city and canonical contact details.
type identity struct {
	nameZh, namePy       string
	companyZh, companyEn string
	corporate            bool
	city                 int
	email, phone         string // canonical, valid
}

// generate appends customer i to the chunk.
func (g *gen) generate(i int) {
	w, r, o, par, clk := g.w, g.r, &g.w.o, &g.w.par, g.w.clk
	ck := g.ck
	pi := int32(i - ck.first)
	g.src.Seed(personSeeds(o.Seed, i))
	g.aff.start(o.Seed, i)

	// The customer process.
	t0 := w.acq.at(i, r.Float64())
	prospect := r.Float64() < par.ProspectShare
	lambda := distuv.Gamma{Alpha: par.R, Beta: par.Alpha, Src: g.src}.Rand()
	pDrop := distuv.Beta{Alpha: par.A, Beta: par.B, Src: g.src}.Rand()
	nu := distuv.Gamma{Alpha: par.Q, Beta: par.Gamma, Src: g.src}.Rand()
	meanSpend := par.P / nu

	id := g.identity(i, prospect, meanSpend)

	channel, mgr := g.channelAndManager(id, meanSpend)
	primBad := g.badKind()
	crmDup := r.Float64() < o.CRMDupRate
	billDup := !prospect && r.Float64() < o.BillingDupRate

	// Purchases: BG/NBD with the complaint mechanism.
	g.purch = g.purch[:0]
	dropAt := int64(-1)
	complaints := 0
	alive := !prospect
	if !prospect {
		g.purch = append(g.purch, purchase{at: t0})
		horizon := float64(clk.end-t0) / daySec
		pc, pn := par.dropout(pDrop)
		t := 0.0
		for {
			t += r.ExpFloat64() / lambda
			if !(t < horizon) {
				break
			}
			at := min(t0+int64(t*daySec), clk.end-1)
			comp := r.Float64() < par.ComplaintProb
			g.purch = append(g.purch, purchase{at: at, complaint: comp})
			if comp {
				complaints++
			}
			q := pn
			if comp {
				q = pc
			}
			if r.Float64() < q {
				alive = false
				dropAt = at
				break
			}
		}
	}

	dupAt := int64(-1)
	if crmDup {
		dupAt = t0 + 3600 + int64(r.ExpFloat64()*150*daySec)
		if dupAt >= clk.end {
			dupAt = t0 + int64(r.Float64()*float64(clk.end-t0))
		}
	}
	ref := func(at int64) custRef {
		return custRef{person: pi, dup: dupAt >= 0 && at >= dupAt && r.Float64() < 0.3}
	}

	status, closedAt := "active", int64(-1)
	if prospect {
		status = "prospect"
	} else if !alive {
		pClose := 0.1
		if complaints > 0 {
			pClose = 0.5
		}
		if r.Float64() < pClose {
			if at := dropAt + int64((7+r.Float64()*113)*daySec); at < clk.end {
				status, closedAt = "closed", at
			}
		}
	}

	// CRM customer records.
	updated := t0
	if closedAt >= 0 {
		updated = closedAt
	} else if r.Float64() < 0.25 {
		updated = t0 + int64(r.Float64()*float64(clk.end-t0))
	}
	prim := crmCustomer{
		ref: custRef{person: pi}, corporate: id.corporate, name: id.namePy, company: id.companyEn,
		city: id.city, channel: channel, status: status, manager: mgr, created: t0, updated: updated,
	}
	prim.email, prim.phone = g.contact(id, primBad, 0)
	ck.customers = append(ck.customers, prim)
	if crmDup {
		d := prim
		d.ref.dup = true
		d.created, d.updated = dupAt, dupAt
		if !prospect {
			d.status = "active"
		}
		switch r.IntN(4) {
		case 0:
			d.name = strings.ToUpper(surnameOf(id.namePy)) + id.namePy[len(surnameOf(id.namePy)):]
		case 1:
			d.name = id.nameZh
		}
		if r.Float64() < 0.3 {
			d.channel = [...]string{"store", "wechat", "online"}[r.IntN(3)]
		}
		d.email, d.phone = g.contact(id, compatible(g.badKind(), primBad), 1)
		ck.customers = append(ck.customers, d)
		ck.stats.dups++
	}

	if !prospect {
		g.membership(i, t0)
	}

	// Billing.
	var used2 bool
	refunded := -1 // index of the last refunded purchase
	if !prospect {
		ck.stats.buyers++
		g.recs[0] = g.billingRecord(i, 0, id, compatible(g.badKind(), primBad))
		if billDup {
			g.recs[1] = g.billingRecord(i, 1, id, compatible(g.badKind(), primBad))
		}
		fav := pickCum(r, w.catCum)
		seq := 0
		for k, pu := range g.purch {
			b := 0
			if billDup && k > 0 && r.Float64() < 0.5 {
				b, used2 = 1, true
			}
			ship := id.city
			if r.Float64() < 0.08 {
				ship = pickCum(r, w.cityCum)
			}
			value := g.orderValue(nu)
			gross, disc := g.buildOrder(value, fav, id.corporate)
			seq++
			g.idBuf = w.orderID(g.idBuf[:0], "SO", i, seq)
			oid := string(g.idBuf)
			g.emitOrder(oid, &g.recs[b], id, ship, pu.at, stPaid, gross, disc, value, "")
			g.emitLines(oid, pu.at, g.lines)
			ck.stats.orders++
			if k > 0 {
				ck.stats.repeat++
			}

			// A refund of part or all of the order.
			refundAt := int64(-1)
			if r.Float64() < o.RefundRate {
				rem := clk.end - 1 - pu.at
				delay := int64((1.0/24 + r.Float64()*29) * daySec)
				if delay > rem {
					delay = int64(r.Float64() * float64(rem))
				}
				refundAt = pu.at + delay
				rg, rd, rn := g.refundLines(r)
				seq++
				g.idBuf = w.orderID(g.idBuf[:0], "RF", i, seq)
				rid := string(g.idBuf)
				g.emitOrder(rid, &g.recs[b], id, ship, refundAt, stRefund, rg, rd, rn, oid)
				g.emitLines(rid, refundAt, g.refund)
				ck.stats.refunds++
				refunded = k
			}

			// An extra order placed and cancelled soon after.
			if r.Float64() < o.CancelRate {
				at := min(pu.at+300+r.Int64N(3*3600), clk.end-1)
				v := g.orderValue(nu)
				cg, cd := g.buildOrder(v, fav, id.corporate)
				seq++
				g.idBuf = w.orderID(g.idBuf[:0], "SO", i, seq)
				cid := string(g.idBuf)
				g.emitOrder(cid, &g.recs[b], id, ship, at, stCancelled, cg, cd, v, "")
				g.emitLines(cid, at, g.lines)
				ck.stats.cancelled++
			}

			// Service around the order.
			rem := clk.end - 1 - pu.at
			if pu.complaint {
				opened := pu.at + int64(r.Float64()*float64(min(rem, 3*daySec)))
				g.ticket(ref(opened), tkComplaint, opened)
				ck.stats.complaints++
			}
			if r.Float64() < 0.03 {
				if at := pu.at + int64((1+5*r.Float64())*daySec); at < clk.end {
					g.ticket(ref(at), tkDelivery, at)
				}
			}
			if r.Float64() < 0.01 {
				if at := pu.at + int64(10*r.Float64()*daySec); at < clk.end {
					g.ticket(ref(at), tkBilling, at)
				}
			}
			if refundAt >= 0 && r.Float64() < 0.6 {
				at := pu.at + int64(r.Float64()*float64(refundAt-pu.at))
				g.ticket(ref(at), tkReturn, at)
			}
			if r.Float64() < 0.07 {
				if at := pu.at + int64((1+13*r.Float64())*daySec); at < clk.end {
					g.survey(id, primBad, at, k, refunded == k)
				}
			}
			if id.corporate && k > 0 && r.Float64() < 0.35 {
				created := max(t0, pu.at-int64((7+38*r.Float64())*daySec))
				ck.opps = append(ck.opps, crmOpp{
					ref: ref(created), category: int8(fav), stage: "won", amount: value,
					created: created, closed: pu.at, update: pu.at,
				})
			}
		}
		ck.stats.billingCustomers++
		if used2 {
			ck.stats.billingCustomers++
		}
	} else {
		ck.stats.prospects++
	}

	g.interactions(id, prospect, t0, dropAt, ref)
	g.inquiries(id, t0, ref)
	if id.corporate {
		g.openOpportunities(t0, meanSpend, ref)
	}
	g.campaignResponses(prospect, id, t0, meanSpend, closedAt, dupAt, pi)

	// Truth: everything after the crm ids column.
	b := ck.truth
	if !prospect {
		b = append(b, g.recs[0].no...)
		if used2 {
			b = append(b, ';')
			b = append(b, g.recs[1].no...)
		}
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, prospect)
	b = append(b, ',')
	b = clk.appendLocal(b, t0)
	b = append(b, ',')
	if !prospect {
		b = strconv.AppendFloat(b, lambda, 'g', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, pDrop, 'g', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, nu, 'g', -1, 64)
	} else {
		b = append(b, ",,"...)
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, alive)
	b = append(b, ',')
	if dropAt >= 0 {
		b = clk.appendLocal(b, dropAt)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(len(g.purch)), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(max(0, len(g.purch)-1)), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(complaints), 10)
	b = append(b, '\n')
	ck.truth = b
	ck.people = append(ck.people, chunkPerson{dup: crmDup, truthEnd: int32(len(b))})
}

// identity draws a name, city and contact details. E-mail and phone are
// built from bijections of the customer index, so no two people share one.
func (g *gen) identity(i int, prospect bool, meanSpend float64) identity {
	w, r := g.w, g.r
	sn := surnames[pickCum(r, w.surnameCum)]
	g1 := givenChars[r.IntN(len(givenChars))]
	givenPy, givenZh := g1.py, g1.zh
	if r.Float64() < 0.6 {
		g2 := givenChars[r.IntN(len(givenChars))]
		givenPy += g2.py
		givenZh += g2.zh
	}
	id := identity{
		nameZh: sn.zh + givenZh,
		namePy: sn.py + " " + capitalize(givenPy),
		city:   pickCum(r, w.cityCum),
	}
	pCorp := 0.06
	switch {
	case prospect:
		pCorp = 0.12
	case meanSpend > 700:
		pCorp = 0.35
	}
	id.corporate = r.Float64() < pCorp
	var slug string
	if id.corporate {
		cw := companyWords[r.IntN(len(companyWords))]
		tr := trades[r.IntN(len(trades))]
		c := cities[id.city]
		id.companyZh = c.zh + cw.zh + tr.zh
		id.companyEn = c.en + " " + cw.py + " " + tr.en
		slug = strings.ToLower(cw.py) + "-" + tr.slug
	}

	sur := strings.ToLower(sn.py)
	var local string
	switch r.IntN(5) {
	case 0:
		local = sur + givenPy
	case 1:
		local = givenPy + "." + sur
	case 2:
		local = sur + "." + givenPy
	case 3:
		local = sur + givenPy[:1]
	default:
		local = givenPy + sur
	}
	suffix := strconv.FormatUint(w.emailPerm.at(uint64(i)), 10)
	switch {
	case id.corporate:
		id.email = local + suffix + "@" + slug + ".com.cn"
	default:
		d := emailDomains[pickCum(r, w.domainCum)].domain
		if d == "qq.com" && r.Float64() < 0.7 {
			id.email = strconv.FormatUint(10000+w.qqPerm.at(uint64(i)), 10) + "@qq.com"
		} else {
			id.email = local + suffix + "@" + d
		}
	}
	n := w.phonePerm.at(uint64(i))
	g.tmp = append(g.tmp[:0], mobilePrefixes[n/1e8]...)
	g.tmp = appendPad(g.tmp, n%1e8, 8)
	id.phone = string(g.tmp)
	return id
}

func surnameOf(namePy string) string {
	if k := strings.IndexByte(namePy, ' '); k > 0 {
		return namePy[:k]
	}
	return namePy
}

func (g *gen) channelAndManager(id identity, meanSpend float64) (string, int) {
	r := g.r
	var channel string
	u := r.Float64()
	if id.corporate {
		switch {
		case u < 0.7:
			channel = "sales"
		case u < 0.85:
			channel = "referral"
		default:
			channel = "online"
		}
	} else {
		switch {
		case u < 0.45:
			channel = "online"
		case u < 0.7:
			channel = "store"
		case u < 0.9:
			channel = "wechat"
		default:
			channel = "referral"
		}
	}
	mgr := -1
	if id.corporate || (meanSpend > 600 && r.Float64() < 0.3) {
		ms := g.w.byRegion[cities[id.city].region]
		mgr = ms[r.IntN(len(ms))]
	}
	return channel, mgr
}

// badKind draws a record's identifier dirt: 0 none, 1 e-mail, 2 phone.
func (g *gen) badKind() uint8 {
	u := g.r.Float64()
	switch {
	case u < g.w.o.BadEmailRate:
		return 1
	case u < g.w.o.BadEmailRate+g.w.o.BadPhoneRate:
		return 2
	}
	return 0
}

// compatible drops dirt that would leave a secondary record without an
// identifier in common with the primary one.
func compatible(k, prim uint8) uint8 {
	if k != 0 && prim != 0 && k != prim {
		return 0
	}
	return k
}

// contact formats a CRM record's e-mail and phone; variant 0 is the primary
// record, 1 a duplicate typed in again by someone else.
func (g *gen) contact(id identity, bad uint8, variant int) (email, phone string) {
	r := g.r
	email, phone = id.email, id.phone
	if bad == 1 {
		email = g.badEmail(id.email)
	} else if variant == 0 {
		if r.Float64() < 0.1 {
			email = capitalize(email)
		}
	} else {
		switch r.IntN(3) {
		case 0:
			email = strings.ToUpper(email)
		case 1:
			email = [...]string{"  ", " ", "\t"}[r.IntN(3)] + email + [...]string{"", " ", "  "}[r.IntN(3)]
		}
	}
	if bad == 2 {
		phone = g.badPhone(id.phone)
	} else if variant == 0 {
		if r.Float64() < 0.15 {
			phone = "+86 " + phone
		}
	} else {
		switch r.IntN(4) {
		case 0:
			phone = "+86 " + phone[:3] + "-" + phone[3:7] + "-" + phone[7:]
		case 1:
			phone = "0086" + phone
		case 2:
			phone = phone[:3] + " " + phone[3:7] + " " + phone[7:]
		}
	}
	return email, phone
}

// badEmail returns a malformed or missing version of a valid address.
func (g *gen) badEmail(e string) string {
	at := strings.IndexByte(e, '@')
	local, dom := e[:at], e[at+1:]
	switch g.r.IntN(6) {
	case 0:
		return ""
	case 1:
		return local + "@@" + dom
	case 2:
		return local + dom
	case 3:
		return local + "@" + dom[:strings.IndexByte(dom, '.')]
	case 4:
		return local + " @" + dom
	default:
		return local + "@" + strings.Replace(dom, ".", ",", 1)
	}
}

// badPhone returns a malformed version of a valid mobile number that still
// differs from everyone else's numbers after normalisation.
func (g *gen) badPhone(p string) string {
	switch g.r.IntN(3) {
	case 0:
		return p + p[len(p)-1:]
	case 1:
		return "0" + p
	default:
		return "1" + p
	}
}

func (g *gen) billingRecord(i, k int, id identity, bad uint8) billRec {
	r := g.r
	g.tmp = g.w.billingNo(g.tmp[:0], i, k)
	rec := billRec{no: string(g.tmp), email: id.email, phone: id.phone}
	if bad == 1 {
		rec.email = g.badEmail(id.email)
	} else if k == 1 && r.Float64() < 0.3 {
		rec.email = strings.ToUpper(id.email)
	}
	if bad == 2 {
		rec.phone = g.badPhone(id.phone)
	} else if u := r.Float64(); u < 0.1 {
		rec.phone = "+86" + id.phone
	} else if k == 1 && u < 0.4 {
		rec.phone = "0086 " + id.phone
	}
	return rec
}

// orderValue draws an order's net value in fen from Gamma(P, ν).
func (g *gen) orderValue(nu float64) int64 {
	z := distuv.Gamma{Alpha: g.w.par.P, Beta: nu, Src: g.src}.Rand()
	return max(100, int64(math.Round(z*100)))
}

// buildOrder fills g.lines with catalogue items at list prices whose total
// reaches the target net value; the overshoot becomes the order's discount,
// spread over the lines in proportion to their value.
func (g *gen) buildOrder(target int64, fav int, corporate bool) (gross, disc int64) {
	r := g.r
	g.lines = g.lines[:0]
	rem := target
	for rem > 0 {
		pi := -1
		if len(g.lines) < 5 {
			pi = g.pickProduct(fav)
			if products[pi].price > rem {
				pi = -1
			}
		}
		var q int64 = 1
		if pi < 0 {
			pi = g.cover(rem)
			if p := products[pi].price; p < rem {
				q = (rem + p - 1) / p
			}
		} else if maxq := rem / products[pi].price; maxq >= 2 && (corporate || r.Float64() < 0.25) {
			q = 1 + r.Int64N(min(maxq, 30))
		}
		price := products[pi].price
		merged := false
		for k := range g.lines {
			if g.lines[k].prod == pi {
				g.lines[k].qty += q
				merged = true
				break
			}
		}
		if !merged {
			g.lines = append(g.lines, orderLine{prod: pi, qty: q, unit: price})
		}
		rem -= q * price
	}
	disc = -rem
	gross = target + disc
	var alloc int64
	largest := 0
	for k := range g.lines {
		l := &g.lines[k]
		lg := l.qty * l.unit
		l.disc = disc * lg / gross
		alloc += l.disc
		if lg > g.lines[largest].qty*g.lines[largest].unit {
			largest = k
		}
	}
	g.lines[largest].disc += disc - alloc
	for k := range g.lines {
		l := &g.lines[k]
		l.amount = l.qty*l.unit - l.disc
	}
	return g.plant()
}

func (g *gen) pickProduct(fav int) int {
	r := g.r
	cat := fav
	if r.Float64() >= 0.5 {
		cat = pickCum(r, g.w.catCum)
	}
	ps := g.w.productsByCat[cat]
	// Cheaper items sell more often.
	a, b := ps[r.IntN(len(ps))], ps[r.IntN(len(ps))]
	if products[b].price < products[a].price {
		a = b
	}
	return a
}

// cover picks one of the cheapest items that cover rem, or the dearest item
// when none does.
func (g *gen) cover(rem int64) int {
	bp := g.w.byPrice
	lo, hi := 0, len(bp)
	for lo < hi {
		m := (lo + hi) / 2
		if products[bp[m]].price >= rem {
			hi = m
		} else {
			lo = m + 1
		}
	}
	if lo == len(bp) {
		return bp[len(bp)-1]
	}
	return bp[lo+g.r.IntN(min(3, len(bp)-lo))]
}

// refundLines fills g.refund with negated lines of the order in g.lines:
// all of them, one of them, or one unit of a single line.
func (g *gen) refundLines(r *rand.Rand) (gross, disc, net int64) {
	g.refund = g.refund[:0]
	ls := g.lines
	switch {
	case r.Float64() < 0.5 || (len(ls) == 1 && ls[0].qty == 1):
		for _, l := range ls {
			g.refund = append(g.refund, orderLine{prod: l.prod, qty: -l.qty, unit: l.unit, disc: -l.disc, amount: -l.amount})
		}
	case len(ls) > 1:
		l := ls[r.IntN(len(ls))]
		g.refund = append(g.refund, orderLine{prod: l.prod, qty: -l.qty, unit: l.unit, disc: -l.disc, amount: -l.amount})
	default:
		l := ls[0]
		d := l.disc / l.qty
		g.refund = append(g.refund, orderLine{prod: l.prod, qty: -1, unit: l.unit, disc: -d, amount: -(l.unit - d)})
	}
	for _, l := range g.refund {
		gross += l.qty * l.unit
		disc += l.disc
		net += l.amount
	}
	return gross, disc, net
}

// ticket adds a service ticket; complaints and slow resolutions are rated
// lower. A complaint also leaves an inbound contact and a follow-up call.
func (g *gen) ticket(ref custRef, cat int, opened int64) {
	r, clk, ck := g.r, g.w.clk, g.ck
	median := 6.0
	switch cat {
	case tkComplaint:
		median = 30
	case tkDelivery:
		median = 20
	case tkReturn:
		median = 12
	}
	hours := median * math.Exp(r.NormFloat64())
	t := crmTicket{
		ref: ref, category: int8(cat), opened: opened, resolved: -1, updated: opened, status: "open",
		subject: ticketSubjects[cat][r.IntN(len(ticketSubjects[cat]))],
	}
	u := r.Float64()
	if cat == tkComplaint {
		t.priority = "normal"
		if u < 0.15 {
			t.priority = "urgent"
		} else if u < 0.55 {
			t.priority = "high"
		}
	} else {
		t.priority = "normal"
		if u < 0.3 {
			t.priority = "low"
		} else if u > 0.9 {
			t.priority = "high"
		}
	}
	if res := opened + int64(hours*3600); res < clk.end {
		t.resolved, t.updated, t.status = res, res, "resolved"
		if cl := res + int64((1+2*r.Float64())*daySec); cl < clk.end && r.Float64() < 0.5 {
			t.status, t.updated = "closed", cl
		}
		s := 4.4 + 0.8*r.NormFloat64()
		if cat == tkComplaint {
			s -= 1.4
		}
		if hours > 24 {
			s -= 0.5
		}
		if hours > 72 {
			s -= 0.8
		}
		if hours > 168 {
			s -= 0.7
		}
		if r.Float64() < 0.65 {
			t.satisfaction = int8(max(1, min(5, math.Round(s))))
		}
	}
	ck.tickets = append(ck.tickets, t)
	if cat == tkComplaint {
		ch := "call"
		if r.Float64() < 0.4 {
			ch = "wechat"
		}
		ck.interactions = append(ck.interactions, crmInteraction{
			ref: ref, channel: ch, direction: "inbound", topic: "complaint",
			at: opened, updated: opened + 600, duration: int32(120 + r.IntN(900)),
		})
		if t.resolved >= 0 {
			ck.interactions = append(ck.interactions, crmInteraction{
				ref: ref, channel: "call", direction: "outbound", topic: "complaint follow-up",
				at: t.resolved, updated: t.resolved + 300, duration: int32(60 + r.IntN(600)),
			})
		}
	}
}

// interactions adds contacts as a Poisson process over the customer's time
// in the CRM: more for corporate customers, fewer after they stop buying.
func (g *gen) interactions(id identity, prospect bool, t0, dropAt int64, ref func(int64) custRef) {
	r, clk, ck := g.r, g.w.clk, g.ck
	perYear := 1.2
	switch {
	case id.corporate:
		perYear = 6
	case prospect:
		perYear = 0.8
	}
	add := func(at int64, inbound bool) {
		var ch string
		u := r.Float64()
		if id.corporate {
			ch = pickStr(u, []float64{0.3, 0.65, 0.85}, "visit", "call", "email", "wechat")
		} else {
			ch = pickStr(u, []float64{0.3, 0.7, 0.95}, "call", "wechat", "email", "visit")
		}
		x := crmInteraction{ref: ref(at), channel: ch, direction: "outbound", at: at, duration: -1}
		if inbound {
			x.direction = "inbound"
			x.topic = topicsInbound[r.IntN(len(topicsInbound))]
		} else {
			x.topic = topicsOutbound[r.IntN(len(topicsOutbound))]
			if id.corporate && ch == "visit" {
				x.topic = "business review"
			}
		}
		switch ch {
		case "call":
			x.duration = int32(30 + r.ExpFloat64()*240)
		case "visit":
			x.duration = int32(1800 + r.IntN(5400))
		case "wechat":
			x.duration = int32(60 + r.IntN(840))
		}
		x.updated = x.at + int64(max(x.duration, 0)) + 60
		ck.interactions = append(ck.interactions, x)
	}
	if prospect || id.corporate {
		if at := t0 + int64(r.Float64()*3*daySec); at < clk.end {
			add(at, false)
		}
	}
	rate := perYear / 365.25
	for at := t0 + int64(r.ExpFloat64()/rate*daySec); at < clk.end; at += int64(r.ExpFloat64() / rate * daySec) {
		inbound := r.Float64() < 0.45
		if dropAt >= 0 && at > dropAt && r.Float64() < 0.5 {
			continue
		}
		add(at, inbound)
	}
}

func pickStr(u float64, cuts []float64, vals ...string) string {
	for k, c := range cuts {
		if u < c {
			return vals[k]
		}
	}
	return vals[len(vals)-1]
}

// inquiries adds questions unrelated to a particular order.
func (g *gen) inquiries(id identity, t0 int64, ref func(int64) custRef) {
	r, clk := g.r, g.w.clk
	rate := 0.25 / 365.25
	for at := t0 + int64(r.ExpFloat64()/rate*daySec); at < clk.end; at += int64(r.ExpFloat64() / rate * daySec) {
		g.ticket(ref(at), tkInquiry, at)
	}
}

// openOpportunities adds corporate deals that were lost or are still open.
func (g *gen) openOpportunities(t0 int64, meanSpend float64, ref func(int64) custRef) {
	r, clk, ck := g.r, g.w.clk, g.ck
	rate := 1.0 / 365.25
	for at := t0 + int64(r.ExpFloat64()/rate*daySec); at < clk.end; at += int64(r.ExpFloat64() / rate * daySec) {
		o := crmOpp{
			ref: ref(at), category: int8(pickCum(r, g.w.catCum)), created: at, closed: -1, update: at,
			amount: int64(math.Round(meanSpend*(1+2*r.Float64()))) * 100,
			stage:  openStages[r.IntN(len(openStages))],
		}
		if cl := at + int64((14+46*r.Float64())*daySec); cl < clk.end && r.Float64() < 0.75 {
			o.stage, o.closed, o.update = "lost", cl, cl
		}
		ck.opps = append(ck.opps, o)
	}
}

// campaignResponses targets the customer with the campaigns of their
// segment; a purchase during the campaign counts as its response.
func (g *gen) campaignResponses(prospect bool, id identity, t0 int64, meanSpend float64, closedAt, dupAt int64, pi int32) {
	r, w, ck := g.r, g.w, g.ck
	for ci, c := range w.campaigns {
		cs := int64(c.first) * daySec
		if t0 >= cs || (closedAt >= 0 && closedAt < cs) {
			continue
		}
		var bought int
		last := int64(-1)
		for _, pu := range g.purch {
			if pu.at < cs {
				bought++
				last = pu.at
			}
		}
		p := 0.0
		switch c.segment {
		case "all":
			p = 0.1
		case "new":
			if cs-t0 <= 90*daySec {
				p = 0.5
			}
		case "vip":
			if !prospect && (bought >= 3 || meanSpend > 800) {
				p = 0.6
			}
		case "lapsed":
			if !prospect && last >= 0 && cs-last > 120*daySec {
				p = 0.45
			}
		case "corporate":
			if id.corporate {
				p = 0.7
			}
		}
		if p == 0 || r.Float64() >= p {
			continue
		}
		ce := min(int64(c.last+1)*daySec, w.clk.end)
		sent := min(cs+int64(r.IntN(3))*daySec+int64((8+12*r.Float64())*3600), ce-1)
		resp := crmResponse{
			ref:      custRef{person: pi, dup: dupAt >= 0 && sent >= dupAt && r.Float64() < 0.3},
			campaign: int32(ci), sent: sent, responded: -1, response: "none", updated: sent,
		}
		bought = -1
		for k, pu := range g.purch {
			if pu.at >= sent && pu.at < ce {
				bought = k
				break
			}
		}
		if bought >= 0 && r.Float64() < 0.85 {
			resp.response, resp.responded = "purchased", g.purch[bought].at
		} else if u := r.Float64(); u < 0.27 {
			resp.response = "opened"
			if u < 0.07 {
				resp.response = "clicked"
			}
			resp.responded = min(sent+600+int64(r.Float64()*2*daySec), w.clk.end-1)
		}
		if resp.responded >= 0 {
			resp.updated = resp.responded
		}
		ck.responses = append(ck.responses, resp)
	}
}

// survey adds a survey answer a buyer gave after purchase k.
func (g *gen) survey(id identity, primBad uint8, at int64, k int, refunded bool) {
	r, w, ck := g.r, g.w, g.ck
	mood := 0.6 + 0.8*r.NormFloat64()
	for _, pu := range g.purch[:k+1] {
		if pu.complaint {
			mood -= 1.6
			break
		}
	}
	if refunded {
		mood -= 0.6
	}
	if k >= 2 {
		mood += 0.3
	}
	sat := int64(max(1, min(5, math.Round(3.9+0.9*mood))))
	nps := int64(max(0, min(10, math.Round(7.2+2.2*mood))))
	email, phone := id.email, id.phone
	switch {
	case primBad == 1:
		email = ""
	case primBad == 2:
		phone = ""
	default:
		switch u := r.Float64(); {
		case u < 0.25:
			email = ""
		case u < 0.5:
			phone = ""
		}
	}
	comment := ""
	if r.Float64() < 0.45 {
		m := 2
		if mood < -0.3 {
			m = 0
		} else if mood < 0.8 {
			m = 1
		}
		comment = surveyComments[m][r.IntN(len(surveyComments[m]))]
	}
	rw := &g.row
	rw.reset()
	rw.buf = w.clk.appendLocal(rw.buf, at)
	rw.end()
	rw.str(email)
	rw.str(phone)
	rw.int(nps)
	rw.int(sat)
	rw.str(comment)
	ck.data = rw.appendCSV(ck.data)
	ck.rows = append(ck.rows, outRow{file: w.files.survey(w.clk.monthOf(at)), end: int32(len(ck.data))})
	ck.stats.surveys++
}
