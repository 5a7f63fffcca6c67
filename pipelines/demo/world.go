package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// world is what every customer's generation reads and nobody writes: the
// period, the fixed reference data and the company-wide draws (managers,
// campaigns, legacy days), all made from the seed alone.
type world struct {
	o   Options
	par Params
	clk *clock
	acq *acquisition

	legacy     []bool // per day: exported by the legacy system
	legacyDays int
	campaigns  []campaign
	managers   []manager
	byRegion   [][]int // manager indexes per region

	idWidth, personWidth, orderWidth int
	emailPerm, qqPerm, phonePerm     affine
	billPerm, orderPerm              affine

	cityCum, surnameCum, domainCum, catCum []float64
	productsByCat                          [][]int
	byPrice                                []int // product indexes, cheapest first

	files fileLayout
}

type campaign struct {
	id, name, nameZh, channel, segment string
	first, last                        int // local days, inclusive
}

type manager struct {
	id, name, nameZh string
	region           int
	hired            time.Time
}

// Stream tags for the company-wide random draws.
const (
	tagManagers uint64 = 0x6d616e6167657273
	tagLegacy   uint64 = 0x6c65676163790000
)

func newWorld(o Options) *world {
	w := &world{o: o, par: o.params()}
	w.clk = newClock(o)
	w.acq = newAcquisition(w.clk, w.par, o.Customers)
	w.idWidth = max(7, digits(2*o.Customers))
	w.personWidth = max(7, digits(o.Customers))
	w.orderWidth = max(7, digits(o.Customers))
	s := mix64(o.Seed)
	w.emailPerm = newAffine(pow10(max(4, digits(o.Customers)+1)), s^1)
	w.qqPerm = newAffine(pow10(9), s^2)
	w.phonePerm = newAffine(uint64(len(mobilePrefixes))*1e8, s^3)
	w.billPerm = newAffine(pow10(9), s^4)
	w.orderPerm = newAffine(pow10(w.orderWidth), s^5)

	for _, c := range cities {
		w.cityCum = appendCum(w.cityCum, c.weight)
	}
	for _, sn := range surnames {
		w.surnameCum = appendCum(w.surnameCum, sn.weight)
	}
	for _, d := range emailDomains {
		w.domainCum = appendCum(w.domainCum, d.weight)
	}
	for _, c := range categories {
		w.catCum = appendCum(w.catCum, c.weight)
	}
	w.productsByCat = make([][]int, len(categories))
	for i, p := range products {
		w.productsByCat[p.category] = append(w.productsByCat[p.category], i)
		w.byPrice = append(w.byPrice, i)
	}
	sort.SliceStable(w.byPrice, func(a, b int) bool { return products[w.byPrice[a]].price < products[w.byPrice[b]].price })

	w.pickLegacyDays()
	w.makeManagers()
	w.makeCampaigns()
	w.files = newFileLayout(w)
	return w
}

// pickLegacyDays chooses exactly round(share × days) days for the legacy
// system.
func (w *world) pickLegacyDays() {
	r := rand.New(rand.NewPCG(mix64(w.o.Seed^tagLegacy), tagLegacy))
	w.legacy = make([]bool, w.clk.days)
	w.legacyDays = int(math.Round(w.o.LegacyShare * float64(w.clk.days)))
	for _, d := range r.Perm(w.clk.days)[:w.legacyDays] {
		w.legacy[d] = true
	}
}

func (w *world) makeManagers() {
	r := rand.New(rand.NewPCG(mix64(w.o.Seed^tagManagers), tagManagers))
	w.byRegion = make([][]int, len(regions))
	firstHire := time.Date(2012, 1, 1, 0, 0, 0, 0, shanghai)
	span := w.clk.start.AddDate(0, -1, 0).Sub(firstHire).Hours() / 24
	for reg := range regions {
		for range 4 {
			sn := surnames[pickCum(r, w.surnameCum)]
			g := givenChars[r.IntN(len(givenChars))]
			m := manager{
				id:     fmt.Sprintf("AM%03d", len(w.managers)+1),
				name:   sn.py + " " + capitalize(g.py),
				nameZh: sn.zh + g.zh,
				region: reg,
				hired:  firstHire.AddDate(0, 0, int(r.Float64()*span)),
			}
			if r.IntN(2) == 0 {
				g2 := givenChars[r.IntN(len(givenChars))]
				m.name += g2.py
				m.nameZh += g2.zh
			}
			w.byRegion[reg] = append(w.byRegion[reg], len(w.managers))
			w.managers = append(w.managers, m)
		}
	}
}

// Yearly marketing calendar.
var campaignTemplates = []struct {
	month          time.Month
	day, days      int
	code, en, zh   string
	channel, segmt string
}{
	{1, 6, 18, "CNY", "Spring Festival Gifts", "春节年货节", "wechat", "all"},
	{2, 20, 14, "NEW", "Welcome Gift for New Members", "新会员见面礼", "sms", "new"},
	{3, 1, 8, "W38", "Women's Day Tea Sale", "三八女神节", "email", "all"},
	{4, 1, 20, "TEA", "New Spring Tea", "春茶上新", "wechat", "vip"},
	{6, 1, 18, "618", "618 Mid-year Sale", "618年中大促", "sms", "all"},
	{7, 5, 26, "WIN", "Summer Win-back", "夏季老客召回", "email", "lapsed"},
	{8, 25, 20, "MAF", "Mid-Autumn Corporate Gifts", "中秋企业礼盒", "email", "corporate"},
	{10, 20, 23, "D11", "Double 11", "双十一狂欢节", "app", "all"},
	{12, 1, 12, "D12", "Double 12 Member Day", "双十二会员日", "app", "vip"},
}

func (w *world) makeCampaigns() {
	last := w.clk.start.AddDate(0, 0, w.clk.days-1)
	for y := w.clk.start.Year(); y <= last.Year(); y++ {
		for _, t := range campaignTemplates {
			s := time.Date(y, t.month, t.day, 0, 0, 0, 0, shanghai)
			// Campaigns that start in the period; one may end after it.
			if s.Before(w.clk.start) || s.After(last) {
				continue
			}
			first := int(s.Sub(w.clk.start).Hours()/24 + 0.5)
			w.campaigns = append(w.campaigns, campaign{
				id:   fmt.Sprintf("CMP-%04d%02d-%s", y, int(t.month), t.code),
				name: fmt.Sprintf("%s %d", t.en, y), nameZh: fmt.Sprintf("%d%s", y, t.zh),
				channel: t.channel, segment: t.segmt,
				first: first, last: first + t.days - 1,
			})
		}
	}
	sort.SliceStable(w.campaigns, func(a, b int) bool { return w.campaigns[a].first < w.campaigns[b].first })
}

// Identifier formats.

func (w *world) customerID(b []byte, n int) []byte {
	b = append(b, 'C')
	return appendPad(b, uint64(n), w.idWidth)
}

func (w *world) billingNo(b []byte, person, k int) []byte {
	b = append(b, "BC"...)
	return appendPad(b, w.billPerm.at(uint64(2*person+k)), 9)
}

func (w *world) orderID(b []byte, prefix string, person, seq int) []byte {
	b = append(b, prefix...)
	b = appendPad(b, w.orderPerm.at(uint64(person)), w.orderWidth)
	return appendPad(b, uint64(seq), 3)
}

// affine is a bijection of [0, m): x ↦ (k·x + c) mod m, with k coprime to
// m. It turns customer indexes into unique but unordered numbers.
type affine struct{ k, c, m uint64 }

func newAffine(m, seed uint64) affine {
	// A multiplier near m/φ ending in 7 is coprime to 2 and 5, the only prime
	// factors of the moduli used here.
	k := uint64(float64(m) * 0.6180339887)
	k = k - k%10 + 7
	if k >= m {
		k = 7
	}
	return affine{k: k, c: mix64(seed) % m, m: m}
}

func (a affine) at(x uint64) uint64 {
	// k < m ≤ 4e9 and x < m keep the product below 2^64.
	return (x%a.m*a.k + a.c) % a.m
}

// mix64 is SplitMix64's finaliser.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// personSeeds gives customer i its own PCG stream, so a customer's data does
// not depend on which worker made it or in what order.
func personSeeds(seed uint64, i int) (uint64, uint64) {
	a := mix64(seed ^ mix64(uint64(i)+0x632be59bd9b4e019))
	return a, mix64(a ^ 0xd1b54a32d192ed03)
}

func digits(n int) int {
	return len(strconv.Itoa(n))
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

func appendPad(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	s := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func appendCum(c []float64, w float64) []float64 {
	if len(c) == 0 {
		return append(c, w)
	}
	return append(c, c[len(c)-1]+w)
}

// pickCum draws an index with probability proportional to its weight.
func pickCum(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	i := sort.SearchFloat64s(cum, x)
	if i < len(cum) && cum[i] == x {
		i++
	}
	return min(i, len(cum)-1)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
