package demo

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// Times inside the generator are whole seconds since local midnight of the
// period's first day in Asia/Shanghai, which has had no daylight saving since
// 1991, so a fixed +08:00 zone is exact and needs no tz database.
var shanghai = time.FixedZone("CST", 8*3600)

const (
	daySec    = 86400
	utcOffset = 8 * 3600
)

// clock formats generator times quickly: dates are precomputed per day.
type clock struct {
	start time.Time // local midnight of the first day
	days  int       // days in the period
	end   int64     // first second after the period
	// per day from -1 (the UTC date of early local hours on day 0) to days
	iso    [][10]byte
	zh     [][]byte // 2025年3月5日
	months []int    // month index (0-based) from the first month of the period
	month  []time.Month
}

func newClock(o Options) *clock {
	endDay := time.Date(o.End.Year(), o.End.Month(), o.End.Day(), 0, 0, 0, 0, shanghai)
	start := endDay.AddDate(-o.Years, 0, 1)
	days := int(endDay.Sub(start).Hours()/24+0.5) + 1
	c := &clock{start: start, days: days, end: int64(days) * daySec}
	n := days + 2
	c.iso = make([][10]byte, n)
	c.zh = make([][]byte, n)
	c.months = make([]int, n)
	c.month = make([]time.Month, n)
	for k := range n {
		t := start.AddDate(0, 0, k-1)
		copy(c.iso[k][:], t.Format(time.DateOnly))
		var b []byte
		b = strconv.AppendInt(b, int64(t.Year()), 10)
		b = append(b, "年"...)
		b = strconv.AppendInt(b, int64(t.Month()), 10)
		b = append(b, "月"...)
		b = strconv.AppendInt(b, int64(t.Day()), 10)
		b = append(b, "日"...)
		c.zh[k] = b
		c.months[k] = (t.Year()-start.Year())*12 + int(t.Month()) - int(start.Month())
		c.month[k] = t.Month()
	}
	return c
}

// nMonths is the number of calendar months the period touches.
func (c *clock) nMonths() int { return c.months[c.days] + 1 }

// monthStart returns the first local day (possibly before the period) of
// month index m.
func (c *clock) monthTime(m int) time.Time {
	return time.Date(c.start.Year(), c.start.Month()+time.Month(m), 1, 0, 0, 0, 0, shanghai)
}

func (c *clock) day(s int64) int { return int(floorDiv(s, daySec)) }

// monthOf returns the month index of a local time.
func (c *clock) monthOf(s int64) int { return c.months[c.day(s)+1] }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func appendClock(b []byte, sod int64) []byte {
	h, m, s := sod/3600, sod/60%60, sod%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
}

// appendLocal writes RFC 3339 with +08:00.
func (c *clock) appendLocal(b []byte, s int64) []byte {
	d := floorDiv(s, daySec)
	b = append(b, c.iso[d+1][:]...)
	b = append(b, 'T')
	b = appendClock(b, s-d*daySec)
	return append(b, "+08:00"...)
}

// appendUTC writes RFC 3339 in UTC with Z.
func (c *clock) appendUTC(b []byte, s int64) []byte {
	u := s - utcOffset
	d := floorDiv(u, daySec)
	b = append(b, c.iso[d+1][:]...)
	b = append(b, 'T')
	b = appendClock(b, u-d*daySec)
	return append(b, 'Z')
}

// appendSQL writes the CRM's UTC `YYYY-MM-DD HH:MM:SS`.
func (c *clock) appendSQL(b []byte, s int64) []byte {
	u := s - utcOffset
	d := floorDiv(u, daySec)
	b = append(b, c.iso[d+1][:]...)
	b = append(b, ' ')
	return appendClock(b, u-d*daySec)
}

// appendLegacy writes the legacy system's local `2025年3月5日 14:03:00`.
func (c *clock) appendLegacy(b []byte, s int64) []byte {
	d := floorDiv(s, daySec)
	b = append(b, c.zh[d+1]...)
	b = append(b, ' ')
	return appendClock(b, s-d*daySec)
}

// sql returns the CRM text of a time; date the local date of a day.
func (c *clock) sql(s int64) string { return string(c.appendSQL(make([]byte, 0, 19), s)) }
func (c *clock) date(day int) string {
	if day < -1 || day > c.days {
		return c.start.AddDate(0, 0, day).Format(time.DateOnly)
	}
	return string(c.iso[day+1][:])
}

// acquisition maps customer indexes to acquisition times: a stratified
// inverse-CDF draw from a daily density with growth and monthly seasonality,
// so times increase with the index and need no sorting.
type acquisition struct {
	cum []float64 // cum[d] = weight of days before d
	n   int
}

func newAcquisition(c *clock, par Params, n int) *acquisition {
	a := &acquisition{cum: make([]float64, c.days+1), n: n}
	g := math.Log1p(par.AnnualGrowth) / 365.25
	for d := range c.days {
		w := math.Exp(g*float64(d)) * par.Seasonality[c.month[d+1]-1]
		a.cum[d+1] = a.cum[d] + w
	}
	return a
}

// at returns the acquisition second of customer i given a uniform u.
func (a *acquisition) at(i int, u float64) int64 {
	days := len(a.cum) - 1
	q := (float64(i) + u) / float64(a.n) * a.cum[days]
	d := sort.Search(days, func(k int) bool { return a.cum[k+1] > q })
	if d >= days {
		d = days - 1
	}
	frac := (q - a.cum[d]) / (a.cum[d+1] - a.cum[d])
	sod := int64(frac * daySec)
	sod = max(0, min(sod, daySec-1))
	return int64(d)*daySec + sod
}
