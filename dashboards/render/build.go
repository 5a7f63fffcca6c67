package render

import (
	"encoding/json"
	"fmt"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"crmwh/dashboards/spec"
)

// MaxTableRows is how many rows a table chart shows; the CSV file beside
// the page always has every row.
const MaxTableRows = 1000

// payload is what a page embeds for an ECharts chart, as JSON: the option
// that go-echarts built, plus the number formats that the page's script
// turns into axis and tooltip formatters (functions cannot travel as JSON).
type payload struct {
	Kind   spec.Kind      `json:"kind"`
	Format payloadFormat  `json:"format"`
	Option map[string]any `json:"option"`
}

type payloadFormat struct {
	Y spec.Format `json:"y"`
}

// kpiCard is a KPI card: the value of the last row and its change from
// the row before.
type kpiCard struct {
	Value      *float64 `json:"value"`
	Previous   *float64 `json:"previous"`
	Text       string   `json:"text"`        // compact, as shown
	FullText   string   `json:"full_text"`   // in full, as the tooltip
	Delta      string   `json:"delta"`       // "+12.3%", "" when none
	Direction  string   `json:"direction"`   // up, down, flat or ""
	Tone       string   `json:"tone"`        // good, bad or neutral
	Period     string   `json:"period"`      // the last row's period, if x is set
	PrevPeriod string   `json:"prev_period"` // the previous row's period
}

// tableView is a table chart's header and formatted cells.
type tableView struct {
	Headers   []tableHeader `json:"headers"`
	Rows      [][]tableCell `json:"rows"`
	TotalRows int           `json:"total_rows"`
}

type tableHeader struct {
	Text    string `json:"text"`
	Numeric bool   `json:"numeric"`
}

type tableCell struct {
	Text    string `json:"text"`
	Numeric bool   `json:"numeric,omitempty"`
}

// xLabels formats the x column's values as category labels.
func xLabels(f Formatter, r *result, xi int, format spec.Format) []string {
	out := make([]string, len(r.rows))
	for i, row := range r.rows {
		out[i] = cellText(f, row[xi], format)
	}
	return out
}

// cellText writes a cell for people: numbers and dates formatted, text as is.
func cellText(f Formatter, c cell, format spec.Format) string {
	switch c.kind {
	case nullCell:
		return Missing
	case numberCell:
		if format == spec.Date || format == spec.Month {
			format = ""
		}
		return f.Number(c.num, format)
	case timeCell:
		return f.Time(c.t, format, c.date)
	default:
		return c.text
	}
}

// seriesData is one series of a cartesian chart: its name and one value
// per category, nil where the query had no number.
type seriesData struct {
	name   string
	values []*float64
}

// cartesianSeries reads the series of a line, bar, stacked bar or area
// chart from wide rows (one column per series) or long rows (split_by).
func cartesianSeries(c spec.Chart, lang string, f Formatter, r *result) (categories []string, series []seriesData, err error) {
	xi, err := r.column(c.X.Column)
	if err != nil {
		return nil, nil, fmt.Errorf("x.column: %w", err)
	}
	if c.SplitBy == "" {
		categories = xLabels(f, r, xi, c.X.Format)
		for i, s := range c.Series {
			ci, err := r.column(s.Column)
			if err != nil {
				return nil, nil, fmt.Errorf("series[%d].column: %w", i, err)
			}
			vals, err := numbers(r, ci)
			if err != nil {
				return nil, nil, fmt.Errorf("series[%d].column: %w", i, err)
			}
			series = append(series, seriesData{name: s.Label.In(lang), values: vals})
		}
		return categories, series, nil
	}

	// Long rows: categories and series in the order they first appear.
	si, err := r.column(c.SplitBy)
	if err != nil {
		return nil, nil, fmt.Errorf("split_by: %w", err)
	}
	vi, err := r.column(c.Value)
	if err != nil {
		return nil, nil, fmt.Errorf("value: %w", err)
	}
	vals, err := numbers(r, vi)
	if err != nil {
		return nil, nil, fmt.Errorf("value: %w", err)
	}
	xs := xLabels(f, r, xi, c.X.Format)
	catIndex := map[string]int{}
	serIndex := map[string]int{}
	for i, row := range r.rows {
		x := xs[i]
		if _, ok := catIndex[x]; !ok {
			catIndex[x] = len(categories)
			categories = append(categories, x)
		}
		name := cellText(f, row[si], "")
		if _, ok := serIndex[name]; !ok {
			serIndex[name] = len(series)
			series = append(series, seriesData{name: name})
		}
	}
	for i := range series {
		series[i].values = make([]*float64, len(categories))
	}
	for i, row := range r.rows {
		s := &series[serIndex[cellText(f, row[si], "")]]
		ci := catIndex[xs[i]]
		if s.values[ci] != nil {
			return nil, nil, fmt.Errorf("split_by: two rows for x %q and %s %q (aggregate them in the query)", xs[i], c.SplitBy, s.name)
		}
		s.values[ci] = vals[i]
	}
	return categories, series, nil
}

// numbers reads a column that must hold numbers (or NULL).
func numbers(r *result, ci int) ([]*float64, error) {
	out := make([]*float64, len(r.rows))
	for i, row := range r.rows {
		switch c := row[ci]; {
		case c.finite():
			v := c.num
			out[i] = &v
		case c.kind == nullCell || c.kind == numberCell:
			// NULL, NaN and infinities are gaps.
		default:
			return nil, fmt.Errorf("column %q (%s) holds %q in row %d, not a number", r.columns[ci], r.types[ci], c.csvText(), i+1)
		}
	}
	return out, nil
}

// echartsOption builds the ECharts option of a cartesian chart with
// go-echarts and returns it as the map go-echarts would render.
func echartsOption(id string, c spec.Chart, lang string, categories []string, series []seriesData) map[string]any {
	global := []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(series) > 1), Top: "0", Type: "scroll"}),
		charts.WithGridOpts(opts.Grid{Left: "8", Right: "24", Top: gridTop(c, len(series)), Bottom: "8", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(xAxis(c, lang, categories)),
		charts.WithYAxisOpts(yAxis(c, lang)),
	}
	switch c.Kind {
	case spec.Bar, spec.StackedBar:
		ch := charts.NewBar()
		ch.SetGlobalOptions(global...)
		ch.SetXAxis(categories)
		for _, s := range series {
			data := make([]opts.BarData, len(s.values))
			for i, v := range s.values {
				data[i] = opts.BarData{Value: value(v)}
			}
			var so []charts.SeriesOpts
			if c.Kind == spec.StackedBar {
				so = append(so, charts.WithBarChartOpts(opts.BarChart{Stack: "total"}))
			}
			ch.AddSeries(s.name, data, so...)
		}
		ch.Validate()
		return ch.JSON()
	default: // line, area
		ch := charts.NewLine()
		ch.SetGlobalOptions(global...)
		ch.SetXAxis(categories)
		for _, s := range series {
			data := make([]opts.LineData, len(s.values))
			for i, v := range s.values {
				data[i] = opts.LineData{Value: value(v)}
			}
			so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(len(categories) <= 36)})}
			if c.Kind == spec.Area {
				so = append(so, charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.25)}))
			}
			ch.AddSeries(s.name, data, so...)
		}
		ch.Validate()
		return ch.JSON()
	}
}

// value is a data point: the number, or "-", which ECharts draws as a gap.
func value(v *float64) any {
	if v == nil {
		return "-"
	}
	return *v
}

// gridTop leaves room above the plot for the legend and the y axis name.
func gridTop(c spec.Chart, series int) string {
	switch {
	case series > 1:
		return "40"
	case c.Y != nil && !c.Y.Label.IsZero():
		return "36"
	default:
		return "16"
	}
}

func xAxis(c spec.Chart, lang string, categories []string) opts.XAxis {
	x := opts.XAxis{Type: "category", Data: categories, AxisLabel: &opts.AxisLabel{HideOverlap: opts.Bool(true)}}
	if c.X != nil && !c.X.Label.IsZero() {
		x.Name = c.X.Label.In(lang)
		x.NameLocation = "middle"
		x.NameGap = 28
	}
	return x
}

func yAxis(c spec.Chart, lang string) opts.YAxis {
	y := opts.YAxis{Type: "value", AxisLabel: &opts.AxisLabel{Show: opts.Bool(true)}}
	if c.Y == nil {
		return y
	}
	if !c.Y.Label.IsZero() {
		y.Name = c.Y.Label.In(lang)
	}
	if c.Y.Min != nil {
		y.Min = *c.Y.Min
	}
	if c.Y.Max != nil {
		y.Max = *c.Y.Max
	}
	return y
}

func yFormat(c spec.Chart) spec.Format {
	if c.Y == nil || c.Y.Format == "" {
		return spec.Number
	}
	return c.Y.Format
}

// buildKPI reads a KPI card from the last two rows of the query.
func buildKPI(c spec.Chart, f Formatter, r *result) (kpiCard, error) {
	vi, err := r.column(c.Value)
	if err != nil {
		return kpiCard{}, fmt.Errorf("value: %w", err)
	}
	vals, err := numbers(r, vi)
	if err != nil {
		return kpiCard{}, fmt.Errorf("value: %w", err)
	}
	xi := -1
	if c.X != nil {
		if xi, err = r.column(c.X.Column); err != nil {
			return kpiCard{}, fmt.Errorf("x.column: %w", err)
		}
	}
	format := c.Format
	if format == "" {
		format = spec.Number
	}
	k := kpiCard{Text: Missing, FullText: Missing, Tone: "neutral"}
	n := len(r.rows)
	if n == 0 {
		return k, nil
	}
	k.Value = vals[n-1]
	if k.Value != nil {
		k.Text = f.Compact(*k.Value, format)
		k.FullText = f.Number(*k.Value, format)
	}
	if xi >= 0 {
		k.Period = cellText(f, r.rows[n-1][xi], c.X.Format)
	}
	if n < 2 {
		return k, nil
	}
	k.Previous = vals[n-2]
	if xi >= 0 {
		k.PrevPeriod = cellText(f, r.rows[n-2][xi], c.X.Format)
	}
	if k.Value == nil || k.Previous == nil {
		return k, nil
	}
	text, change, ok := f.Delta(*k.Value, *k.Previous, format)
	if !ok {
		return k, nil
	}
	k.Delta = text
	switch {
	case change > 0:
		k.Direction = "up"
	case change < 0:
		k.Direction = "down"
	default:
		k.Direction = "flat"
	}
	good := c.Good
	if good == "" {
		good = "up"
	}
	if k.Direction != "flat" {
		k.Tone = "bad"
		if k.Direction == good {
			k.Tone = "good"
		}
	}
	return k, nil
}

// buildTable formats a table chart's cells.
func buildTable(c spec.Chart, lang string, f Formatter, r *result) (tableView, error) {
	type col struct {
		index  int
		format spec.Format
	}
	var cols []col
	t := tableView{TotalRows: len(r.rows)}
	if len(c.Columns) == 0 {
		for i, name := range r.columns {
			cols = append(cols, col{index: i})
			t.Headers = append(t.Headers, tableHeader{Text: name})
		}
	}
	for i, sc := range c.Columns {
		ci, err := r.column(sc.Column)
		if err != nil {
			return tableView{}, fmt.Errorf("columns[%d].column: %w", i, err)
		}
		cols = append(cols, col{index: ci, format: sc.Format})
		h := sc.Label.In(lang)
		if h == "" {
			h = r.columns[ci]
		}
		t.Headers = append(t.Headers, tableHeader{Text: h})
	}
	// A column is numeric (right-aligned) when all its values are numbers.
	for j, cl := range cols {
		numeric := len(r.rows) > 0
		for _, row := range r.rows {
			if k := row[cl.index].kind; k != numberCell && k != nullCell {
				numeric = false
				break
			}
		}
		t.Headers[j].Numeric = numeric
	}
	for i, row := range r.rows {
		if i == MaxTableRows {
			break
		}
		cells := make([]tableCell, len(cols))
		for j, cl := range cols {
			cells[j] = tableCell{Text: cellText(f, row[cl.index], cl.format), Numeric: t.Headers[j].Numeric}
		}
		t.Rows = append(t.Rows, cells)
	}
	return t, nil
}

// marshal encodes v as JSON with encoding/json's HTML escaping: <, > and &
// become \u003c, \u003e and \u0026, so the JSON can sit in a <script>
// element whatever text the data holds.
func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding chart data as JSON: %w", err)
	}
	return b, nil
}
