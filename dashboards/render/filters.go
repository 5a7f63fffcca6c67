package render

import (
	"slices"
	"sort"
	"time"

	"crmwh/dashboards/spec"
)

// A page with filters (spec.Page.Filters) embeds the rows of its metric
// models, so that the page's script (assets/crmwh-metrics.js) computes its
// KPI cards and trend charts again for the period, region, channel and
// segment a reader picks, with no server and no network. The cards and
// charts written into the page are the same computation for all customers
// (metrics.go), which the script reproduces exactly.

// filterBar is the filters of a page in one language, as its form shows
// them.
type filterBar struct {
	Filters []filterSelect
	UI      filterTexts
}

// filterSelect is one filter: its key, label and options.
type filterSelect struct {
	Key     string // period, region, channel, segment
	Column  string // the cell column (empty for period)
	Label   string
	Options []filterOption
}

type filterOption struct {
	Value, Text string
	Selected    bool
}

// filterTexts are the filter bar's words in a language.
type filterTexts struct {
	All, Clear, Filters, Unfiltered string
	Labels                          map[string]string
}

var filterWords = map[string]filterTexts{
	"en": {All: "All", Clear: "Clear filters", Filters: "Filters",
		Unfiltered: "Not filtered: this figure is for all customers.",
		Labels:     map[string]string{"period": "Month", "region": "Region", "channel": "Channel", "segment": "Segment"}},
	"zh": {All: "全部", Clear: "清除筛选", Filters: "筛选",
		Unfiltered: "未筛选：此数据为全部客户。",
		Labels:     map[string]string{"period": "月份", "region": "区域", "channel": "渠道", "segment": "细分"}},
}

// filterData is what a page with filters embeds for its script.
type filterData struct {
	Lang string `json:"lang"`
	// Until is the month the cards show at first (the last complete one).
	Until   string                       `json:"until,omitempty"`
	Months  []string                     `json:"months"`
	Models  map[string]filterModel       `json:"models"`
	Metrics map[string]filterMetric      `json:"metrics"`
	Targets map[string][][2]any          `json:"targets"`
	Texts   kpiTexts                     `json:"texts"`
	Labels  map[string]map[string]string `json:"labels"`
}

// filterModel is a metric model's rows, column by column: the month as an
// index into filterData.Months, each cell column as an index into its
// values, every number, and flags as 0 or 1.
type filterModel struct {
	Month  []int                `json:"month"`
	Cells  map[string][]int     `json:"cells"`
	Values map[string][]string  `json:"values"`
	Cols   map[string][]float64 `json:"cols"`
	Flags  map[string][]int     `json:"flags"`
}

// filterMetric is a metric's definition as the script needs it.
type filterMetric struct {
	From     string      `json:"from"`
	Sum      string      `json:"sum"`
	Over     string      `json:"over,omitempty"`
	Scale    float64     `json:"scale"`
	Months   string      `json:"months"`
	Complete string      `json:"complete,omitempty"`
	Mature   string      `json:"mature,omitempty"`
	Valid    string      `json:"valid,omitempty"`
	Format   spec.Format `json:"format"`
	Good     string      `json:"good"`
	Cells    bool        `json:"cells"`
}

// filters builds a page's filter bar and embedded data in a language; nil
// when the page has no filters or no metrics to filter.
func (s *site) filters(pd *pageData, lang string) (*filterBar, *filterData) {
	p := pd.page
	if len(p.Filters) == 0 || len(p.MetricNames()) == 0 {
		return nil, nil
	}
	w := filterWords[lang]
	f := Formatter{Lang: lang, Currency: s.opts.Currency}
	l := labeler{f: f, lang: lang, labels: p.Labels}
	fd := &filterData{Lang: lang, Until: isoMonth(s.status.Month), Models: map[string]filterModel{}, Metrics: map[string]filterMetric{},
		Targets: map[string][][2]any{}, Texts: kpiWords[lang], Labels: map[string]map[string]string{}}
	monthSet := map[time.Time]bool{}
	models := map[string]bool{}
	var complete []time.Time // months the cards can show
	for _, cd := range pd.charts {
		for i, m := range cd.spec.Defs {
			mm := s.metrics.models[m.From]
			if mm == nil || mm.err != nil {
				continue
			}
			models[m.From] = true
			fd.Metrics[m.Name] = filterMetric{From: m.From, Sum: m.Sum, Over: m.Over, Scale: m.Scale, Months: m.Months,
				Complete: m.Complete, Mature: m.Mature, Valid: m.Valid, Format: orNumber(m.Format), Good: orGood(m.Good),
				Cells: len(mm.cells) > 0}
			if _, done := fd.Targets[m.Name]; !done && len(p.Targets[m.Name]) > 0 {
				for _, t := range p.Targets[m.Name] {
					fd.Targets[m.Name] = append(fd.Targets[m.Name], [2]any{t.From, t.Value})
				}
			}
			if i < len(cd.series) {
				for _, month := range cd.series[i].months {
					if !slices.ContainsFunc(complete, month.Equal) {
						complete = append(complete, month)
					}
				}
			}
		}
	}
	for name := range models {
		for _, row := range s.metrics.models[name].res.rows {
			monthSet[row[0].t] = true
		}
	}
	var months []time.Time
	for m := range monthSet {
		months = append(months, m)
	}
	slices.SortFunc(months, func(a, b time.Time) int { return a.Compare(b) })
	monthIndex := map[time.Time]int{}
	for i, m := range months {
		monthIndex[m] = i
		fd.Months = append(fd.Months, m.Format("2006-01-02"))
	}
	cellValues := map[string]map[string]bool{}
	for _, name := range sortedKeys(models) {
		mm := s.metrics.models[name]
		fm := filterModel{Cells: map[string][]int{}, Values: map[string][]string{}, Cols: map[string][]float64{}, Flags: map[string][]int{}}
		vals := map[string]map[string]int{}
		for _, c := range mm.cells {
			vals[c] = map[string]int{}
			if cellValues[c] == nil {
				cellValues[c] = map[string]bool{}
			}
		}
		for _, row := range mm.res.rows {
			fm.Month = append(fm.Month, monthIndex[row[0].t])
			for _, c := range mm.cells {
				v := row[mm.index[c]].csvText()
				cellValues[c][v] = true
				j, ok := vals[c][v]
				if !ok {
					j = len(fm.Values[c])
					vals[c][v] = j
					fm.Values[c] = append(fm.Values[c], v)
				}
				fm.Cells[c] = append(fm.Cells[c], j)
			}
			for col, ci := range mm.index {
				if col == "month" || slices.Contains(mm.cells, col) {
					continue
				}
				cv := row[ci]
				switch {
				case mm.res.types[ci] == "BOOLEAN":
					b := 0
					if truthy(cv) {
						b = 1
					}
					fm.Flags[col] = append(fm.Flags[col], b)
				case cv.finite():
					fm.Cols[col] = append(fm.Cols[col], cv.num)
				default:
					fm.Cols[col] = append(fm.Cols[col], 0)
				}
			}
		}
		fd.Models[name] = fm
	}
	bar := &filterBar{UI: w}
	slices.SortFunc(complete, func(a, b time.Time) int { return a.Compare(b) })
	for _, key := range spec.Filters {
		if !slices.Contains(p.Filters, key) {
			continue
		}
		fs := filterSelect{Key: key, Label: w.Labels[key]}
		if key == "period" {
			sel := len(complete) - 1
			for i, m := range complete {
				if m.Equal(s.status.Month) {
					sel = i
				}
			}
			for i := len(complete) - 1; i >= 0; i-- {
				fs.Options = append(fs.Options, filterOption{Value: complete[i].Format("2006-01-02"),
					Text: f.Time(complete[i], spec.Month, true), Selected: i == sel})
			}
		} else {
			fs.Column = spec.CellColumns[key]
			values := sortedKeys(cellValues[fs.Column])
			if len(values) < 2 {
				continue // nothing to choose between (a project whose data know no regions)
			}
			fs.Options = append(fs.Options, filterOption{Value: "", Text: w.All, Selected: true})
			texts := map[string]string{}
			for _, v := range values {
				texts[v] = l.text(fs.Column, cell{kind: textCell, text: v}, "")
			}
			sort.SliceStable(values, func(i, j int) bool { return texts[values[i]] < texts[values[j]] })
			for _, v := range values {
				fs.Options = append(fs.Options, filterOption{Value: v, Text: texts[v]})
			}
			fd.Labels[fs.Column] = texts
		}
		bar.Filters = append(bar.Filters, fs)
	}
	return bar, fd
}

func orGood(g string) string {
	if g == "" {
		return "up"
	}
	return g
}

// metricNames joins the names of metrics for a data attribute.
func metricNames(ms []*spec.Metric) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += " "
		}
		out += m.Name
	}
	return out
}

// isoMonth writes a month as 2026-10-01, or "" for none.
func isoMonth(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}
