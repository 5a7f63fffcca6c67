package render

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"crmwh/dashboards/spec"
)

// The metrics of dashboards/metrics.yaml are read once per model: every
// column the site's metrics of that model use, by month (and cell of
// customers, when the model has them). A KPI card or trend chart that names
// a metric is computed from those rows here for all customers, and again
// in the browser (assets/crmwh-metrics.js, which mirrors this file) for
// the cells a reader filters on.

// metricStore holds the rows of every metric model the site reads.
type metricStore struct {
	models map[string]*metricModel
}

// metricModel is the rows of one model: months, cell columns and values.
type metricModel struct {
	name  string
	err   error
	cells []string // the cell columns it has (spec.CellColumns values), sorted
	res   *result
	index map[string]int // column -> index in res
}

// loadMetrics reads the models the pages' metrics name. A model whose
// query fails fails the charts that read it, not the site.
func loadMetrics(ctx context.Context, db *sql.DB, pages []spec.Page) (*metricStore, error) {
	st := &metricStore{models: map[string]*metricModel{}}
	cols := map[string]map[string]bool{}
	for _, p := range pages {
		for _, s := range p.Sections {
			for _, c := range s.Charts {
				for _, m := range c.Defs {
					if cols[m.From] == nil {
						cols[m.From] = map[string]bool{}
					}
					for _, col := range []string{m.Sum, m.Over, m.Complete, m.Mature, m.Valid} {
						if col != "" {
							cols[m.From][col] = true
						}
					}
				}
			}
		}
	}
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		mm := &metricModel{name: name, index: map[string]int{}}
		st.models[name] = mm
		probe, err := runQuery(ctx, db, "SELECT * FROM "+name+" LIMIT 0")
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rendering dashboards: %w", ctx.Err())
		}
		if err != nil {
			mm.err = fmt.Errorf("metrics model %s: %w", name, err)
			continue
		}
		has := map[string]bool{}
		for _, c := range probe.columns {
			has[c] = true
		}
		for _, f := range spec.Filters {
			if c, ok := spec.CellColumns[f]; ok && has[c] {
				mm.cells = append(mm.cells, c)
			}
		}
		sel := append([]string{"month"}, mm.cells...)
		for _, c := range sortedKeys(cols[name]) {
			if !has[c] {
				mm.err = fmt.Errorf("metrics model %s has no column %s (columns: %s)", name, c, strings.Join(probe.columns, ", "))
				break
			}
			sel = append(sel, c)
		}
		if mm.err != nil {
			continue
		}
		q := "SELECT " + strings.Join(sel, ", ") + " FROM " + name + " ORDER BY " + strings.Join(append([]string{"month"}, mm.cells...), ", ")
		mm.res, err = runQuery(ctx, db, q)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rendering dashboards: %w", ctx.Err())
		}
		if err != nil {
			mm.err = fmt.Errorf("metrics model %s: %w", name, err)
			continue
		}
		for i, c := range mm.res.columns {
			mm.index[c] = i
		}
		for i, row := range mm.res.rows {
			if row[0].kind != timeCell {
				mm.err = fmt.Errorf("metrics model %s: month holds %q in row %d, not a date", name, row[0].csvText(), i+1)
				break
			}
		}
	}
	return st, nil
}

// series is a metric month by month: complete months only, each month's
// sums over the rows kept, and whether its value is final and valid.
type series struct {
	m      *spec.Metric
	months []time.Time
	num    []float64
	den    []float64 // nil without Over
	mature []bool
	valid  []bool
}

// rowFilter keeps a row of a metric model (nil keeps every row).
type rowFilter func(mm *metricModel, row []cell) bool

// series sums a metric's columns by month over the rows keep keeps.
func (st *metricStore) series(m *spec.Metric, keep rowFilter) (series, error) {
	mm := st.models[m.From]
	if mm == nil {
		return series{}, fmt.Errorf("metric %s: model %s was not read", m.Name, m.From)
	}
	if mm.err != nil {
		return series{}, fmt.Errorf("metric %s: %w", m.Name, mm.err)
	}
	s := series{m: m}
	col := func(name string) int {
		if name == "" {
			return -1
		}
		return mm.index[name]
	}
	sum, over, complete, mature, valid := col(m.Sum), col(m.Over), col(m.Complete), col(m.Mature), col(m.Valid)
	at := map[time.Time]int{}
	for i, row := range mm.res.rows {
		if keep != nil && !keep(mm, row) {
			continue
		}
		month := row[0].t
		if complete >= 0 && !truthy(row[complete]) {
			continue
		}
		j, ok := at[month]
		if !ok {
			j = len(s.months)
			at[month] = j
			s.months = append(s.months, month)
			s.num = append(s.num, 0)
			if over >= 0 {
				s.den = append(s.den, 0)
			}
			s.mature = append(s.mature, true)
			s.valid = append(s.valid, true)
		}
		n, err := number(mm, row, sum, i)
		if err != nil {
			return series{}, fmt.Errorf("metric %s: %w", m.Name, err)
		}
		s.num[j] += n
		if over >= 0 {
			d, err := number(mm, row, over, i)
			if err != nil {
				return series{}, fmt.Errorf("metric %s: %w", m.Name, err)
			}
			s.den[j] += d
		}
		if mature >= 0 && !truthy(row[mature]) {
			s.mature[j] = false
		}
		if valid >= 0 && !truthy(row[valid]) {
			s.valid[j] = false
		}
	}
	return s, nil
}

func number(mm *metricModel, row []cell, ci, i int) (float64, error) {
	c := row[ci]
	switch {
	case c.finite():
		return c.num, nil
	case c.kind == nullCell:
		return 0, nil
	default:
		return 0, fmt.Errorf("column %s of %s holds %q in row %d, not a number", mm.res.columns[ci], mm.name, c.csvText(), i+1)
	}
}

// truthy is a flag column's value: NULL counts as true (no ticket data
// means no immature complaints).
func truthy(c cell) bool { return c.kind != boolCell || c.text == "true" }

// value is the metric in month i, if it has one.
func (s series) value(i int) (float64, bool) {
	if i < 0 || i >= len(s.months) || !s.valid[i] {
		return 0, false
	}
	if s.den != nil {
		if s.den[i] == 0 {
			return 0, false
		}
		return s.num[i] / s.den[i] * s.m.Scale, true
	}
	return s.num[i] * s.m.Scale, true
}

// find returns the index of a month, or -1.
func (s series) find(month time.Time) int {
	for i, m := range s.months {
		if m.Equal(month) {
			return i
		}
	}
	return -1
}

// period combines months from..to (indexes, inclusive) as the metric's
// Months says; ok is false when a month is missing, blank or the metric
// has no period figure.
func (s series) period(from, to int) (v float64, provisional, ok bool) {
	if from < 0 || to >= len(s.months) || from > to {
		return 0, false, false
	}
	var num, den, sum float64
	for i := from; i <= to; i++ {
		x, ok := s.value(i)
		if !ok {
			return 0, false, false
		}
		provisional = provisional || !s.mature[i]
		num += s.num[i]
		if s.den != nil {
			den += s.den[i]
		}
		sum += x
	}
	switch s.m.Months {
	case spec.MonthsSum:
		return num * s.m.Scale, provisional, true
	case spec.MonthsRatio:
		if den == 0 {
			return 0, false, false
		}
		return num / den * s.m.Scale, provisional, true
	case spec.MonthsMean:
		return sum / float64(to-from+1), provisional, true
	case spec.MonthsLast:
		x, _ := s.value(to)
		return x, !s.mature[to], true
	}
	return 0, false, false
}

// contiguous reports whether months from..to are consecutive calendar
// months (a gap makes a period figure meaningless).
func (s series) contiguous(from, to int) bool {
	for i := from + 1; i <= to; i++ {
		if !s.months[i].Equal(addMonths(s.months[i-1], 1)) {
			return false
		}
	}
	return true
}

func addMonths(t time.Time, n int) time.Time {
	return time.Date(t.Year(), t.Month()+time.Month(n), 1, 0, 0, 0, 0, t.Location())
}

// latest is the index of the last month up to `until` (zero: any).
func (s series) latest(until time.Time) int {
	for i := len(s.months) - 1; i >= 0; i-- {
		if until.IsZero() || !s.months[i].After(until) {
			return i
		}
	}
	return -1
}

// kpiContext is what a metric's KPI card shows beside its value.
type kpiContext struct {
	Provisional bool        `json:"provisional,omitempty"`
	Blank       bool        `json:"blank,omitempty"`
	Changes     []kpiChange `json:"changes"`
	Periods     []kpiPeriod `json:"periods,omitempty"`
	Target      *kpiTarget  `json:"target,omitempty"`
	Spark       *sparkline  `json:"spark,omitempty"`
}

// kpiChange is a change against an earlier month (MoM, YoY).
type kpiChange struct {
	Key       string `json:"key"` // mom, yoy
	Text      string `json:"text"`
	Direction string `json:"direction"`
	Tone      string `json:"tone"`
	Vs        string `json:"vs"` // "vs Sep 2026"
}

// kpiPeriod is a period figure (YTD, TTM) and its change on a year before.
type kpiPeriod struct {
	Key       string `json:"key"`   // ytd, ttm
	Label     string `json:"label"` // "YTD", "年初至今"
	Text      string `json:"text"`
	Full      string `json:"full"`
	Change    string `json:"change"`
	Direction string `json:"direction"`
	Tone      string `json:"tone"`
}

// kpiTarget is the project's target for the month shown.
type kpiTarget struct {
	Text string `json:"text"` // "Target ¥1.6M"
	Gap  string `json:"gap"`  // "-5.0%"
	Tone string `json:"tone"`
}

// kpiTexts are a KPI card's words in one language.
type kpiTexts struct {
	MoM, YoY, YTD, TTM, YTDMean, TTMMean, Target, Provisional, Blank string
}

var kpiWords = map[string]kpiTexts{
	"en": {MoM: "vs", YoY: "vs", YTD: "YTD", TTM: "12 mo.", YTDMean: "YTD avg.", TTMMean: "12-mo. avg.",
		Target: "Target", Provisional: "provisional", Blank: "not enough history yet"},
	"zh": {MoM: "较", YoY: "较", YTD: "年初至今", TTM: "近12个月", YTDMean: "年初至今月均", TTMMean: "近12个月月均",
		Target: "目标", Provisional: "暂定", Blank: "历史数据尚不足"},
}

// metricKPI builds a KPI card from a metric's series: the last month up to
// `until` (zero: the last), with its context.
func metricKPI(s series, lang string, f Formatter, targets spec.Targets, until time.Time) kpiCard {
	m := s.m
	format := orNumber(m.Format)
	w := kpiWords[lang]
	k := kpiCard{Text: Missing, FullText: Missing, Tone: "neutral", Metric: m.Name, Context: &kpiContext{Changes: []kpiChange{}}}
	cur := s.latest(until)
	if cur < 0 {
		return k
	}
	month := s.months[cur]
	k.Period = f.Time(month, spec.Month, true)
	ctx := k.Context
	v, ok := s.value(cur)
	if !ok {
		ctx.Blank = true
		k.Note = w.Blank
	} else {
		k.Value = &v
		k.Text, k.FullText = f.Compact(v, format), f.Number(v, format)
		ctx.Provisional = !s.mature[cur]
	}
	good := m.Good
	if good == "" {
		good = "up"
	}
	change := func(key string, other int, vs string) {
		if !ok || other < 0 {
			return
		}
		pv, pok := s.value(other)
		if !pok {
			return
		}
		text, ch, dok := f.Delta(v, pv, format)
		if !dok {
			return
		}
		c := kpiChange{Key: key, Text: text, Vs: vs}
		c.Direction, c.Tone = shownDirection(text, ch, good)
		if ctx.Provisional || !s.mature[other] {
			c.Tone = "neutral"
		}
		ctx.Changes = append(ctx.Changes, c)
	}
	prev := s.find(addMonths(month, -1))
	change("mom", prev, w.MoM+" "+f.Time(addMonths(month, -1), spec.Month, true))
	change("yoy", s.find(addMonths(month, -12)), w.YoY+" "+f.Time(addMonths(month, -12), spec.Month, true))
	if len(ctx.Changes) > 0 && ctx.Changes[0].Key == "mom" {
		// The card's main delta is the change on the month before.
		c := ctx.Changes[0]
		k.Delta, k.Direction, k.Tone, k.PrevPeriod = c.Text, c.Direction, c.Tone, f.Time(addMonths(month, -1), spec.Month, true)
		if pv, pok := s.value(prev); pok {
			k.Previous = &pv
		}
	}
	if m.Months != spec.MonthsNone && m.Months != spec.MonthsLast && ok {
		jan := s.find(time.Date(month.Year(), 1, 1, 0, 0, 0, 0, month.Location()))
		periods := []struct {
			key, label string
			from       int
		}{{"ytd", w.YTD, jan}, {"ttm", w.TTM, s.find(addMonths(month, -11))}}
		if m.Months == spec.MonthsMean {
			periods[0].label, periods[1].label = w.YTDMean, w.TTMMean
		}
		for _, p := range periods {
			if p.from < 0 || !s.contiguous(p.from, cur) {
				continue
			}
			pv, prov, pok := s.period(p.from, cur)
			if !pok {
				continue
			}
			kp := kpiPeriod{Key: p.key, Label: p.label, Text: f.Compact(pv, format), Full: f.Number(pv, format)}
			a, b := s.find(addMonths(s.months[p.from], -12)), s.find(addMonths(month, -12))
			if a >= 0 && b >= 0 && b-a == cur-p.from && s.contiguous(a, b) {
				if qv, qprov, qok := s.period(a, b); qok {
					if text, ch, dok := f.Delta(pv, qv, format); dok {
						kp.Change = text
						kp.Direction, kp.Tone = shownDirection(text, ch, good)
						if prov || qprov {
							kp.Tone = "neutral"
						}
					}
				}
			}
			ctx.Periods = append(ctx.Periods, kp)
		}
	}
	if t, tok := targets.For(m.Name, month); tok {
		kt := &kpiTarget{Text: w.Target + " " + f.Compact(t, format), Tone: "neutral"}
		if ok {
			if text, ch, dok := f.Delta(v, t, format); dok {
				kt.Gap = text
				_, kt.Tone = shownDirection(text, ch, good)
				if ch == 0 {
					kt.Tone = "good"
				}
			}
		}
		ctx.Target = kt
	}
	ctx.Spark = newSparkline(s, cur, targets)
	return k
}

// shownDirection is direction for a change as its text shows it: a change
// that rounds to zero (+0.0 pp) is flat, not a rise in red.
func shownDirection(text string, change float64, good string) (dir, tone string) {
	if strings.Trim(text, "+-0.,% pp个百分点") == "" {
		return "flat", "neutral"
	}
	return direction(change, good)
}

// direction names a change's direction and whether it is good news.
func direction(change float64, good string) (dir, tone string) {
	switch {
	case change > 0:
		dir = "up"
	case change < 0:
		dir = "down"
	default:
		return "flat", "neutral"
	}
	if dir == good {
		return dir, "good"
	}
	return dir, "bad"
}

func orNumber(f spec.Format) spec.Format {
	if f == "" {
		return spec.Number
	}
	return f
}

// SparkMonths is how many months a KPI card's sparkline shows.
const SparkMonths = 24

// sparkline is a KPI card's trend: the last months' values as an SVG
// polyline (drawn in a 240 × 40 box), the target as a dashed one.
type sparkline struct {
	Points      string `json:"points"`
	Target      string `json:"target,omitempty"`
	LastX       string `json:"last_x,omitempty"` // the month shown, when it has a value
	LastY       string `json:"last_y,omitempty"`
	Provisional bool   `json:"provisional,omitempty"`
}

// Sparkline geometry.
const (
	sparkW, sparkH, sparkPad = 240.0, 40.0, 3.0
)

func newSparkline(s series, cur int, targets spec.Targets) *sparkline {
	from := max(0, cur-SparkMonths+1)
	n := cur - from + 1
	if n < 2 {
		return nil
	}
	vals := make([]*float64, n)
	tvals := make([]*float64, n)
	lo, hi := math.Inf(1), math.Inf(-1)
	anyTarget := false
	for i := 0; i < n; i++ {
		if v, ok := s.value(from + i); ok {
			vals[i] = &v
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if t, ok := targets.For(s.m.Name, s.months[from+i]); ok {
			tvals[i] = &t
			anyTarget = true
			lo, hi = math.Min(lo, t), math.Max(hi, t)
		}
	}
	if math.IsInf(lo, 0) {
		return nil
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	xy := func(i int, v float64) (string, string) {
		x := sparkPad + (sparkW-2*sparkPad)*float64(i)/float64(n-1)
		y := sparkPad + (sparkH-2*sparkPad)*(hi-v)/(hi-lo)
		return fmt.Sprintf("%.1f", x), fmt.Sprintf("%.1f", y)
	}
	pt := func(i int, v float64) string {
		x, y := xy(i, v)
		return x + "," + y
	}
	join := func(vs []*float64) string {
		var parts []string
		for i, v := range vs {
			if v != nil {
				parts = append(parts, pt(i, *v))
			}
		}
		return strings.Join(parts, " ")
	}
	sp := &sparkline{Points: join(vals)}
	if anyTarget {
		sp.Target = join(tvals)
	}
	if v := vals[n-1]; v != nil {
		sp.LastX, sp.LastY = xy(n-1, *v)
		sp.Provisional = !s.mature[cur]
	}
	return sp
}

// metricCategories are the month labels of a trend chart's metrics, and
// the months themselves: the union of their complete months, in order,
// up to `until` (zero: all).
func metricCategories(ss []series, f Formatter, until time.Time) ([]time.Time, []string) {
	set := map[time.Time]bool{}
	var months []time.Time
	for _, s := range ss {
		for _, m := range s.months {
			if !set[m] && (until.IsZero() || !m.After(until)) {
				set[m] = true
				months = append(months, m)
			}
		}
	}
	slices.SortFunc(months, func(a, b time.Time) int { return a.Compare(b) })
	labels := make([]string, len(months))
	for i, m := range months {
		labels[i] = f.Time(m, spec.Month, true)
	}
	return months, labels
}
