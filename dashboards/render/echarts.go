package render

import (
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"crmwh/dashboards/spec"
)

// payload is what a page embeds for an ECharts chart, as JSON: the option
// that go-echarts built, plus the number formats that the page's script
// turns into axis, label and tooltip formatters (functions cannot travel
// as JSON).
type payload struct {
	Kind   spec.Kind      `json:"kind"`
	Format payloadFormat  `json:"format"`
	Option map[string]any `json:"option"`
	// Trend charts of metrics: the metrics drawn, the months (ISO dates),
	// the provisional points (series index -> category indexes) and the
	// target line, for the page's script (styles and filters).
	Metrics     []string       `json:"metrics,omitempty"`
	Months      []string       `json:"months,omitempty"`
	Provisional map[int][]int  `json:"provisional,omitempty"`
	Target      *payloadTarget `json:"target,omitempty"`
	// Link leads a click on an item to another page, filtered to the
	// item's value: the page's file, the column filtered there, and the
	// value of each item (by name).
	Link *payloadLink `json:"link,omitempty"`
	// Continuous is set when x is a number scale (Axis.Continuous).
	Continuous bool `json:"continuous,omitempty"`
}

// payloadTarget is a target line of a trend chart, one value per month.
type payloadTarget struct {
	Name   string     `json:"name"`
	Values []*float64 `json:"values"`
}

// payloadLink is where a click on a chart's item leads.
type payloadLink struct {
	Href   string            `json:"href"` // ends with "column=": the value follows
	Filter string            `json:"filter"`
	Values map[string]string `json:"values"` // item name -> value passed
}

// payloadFormat holds the number formats of a chart: Y of the value axis
// of cartesian charts (and of a scatter chart's y), X of a scatter chart's
// x, Value of the values of pie, treemap, funnel and heatmap charts.
type payloadFormat struct {
	X     spec.Format `json:"x,omitempty"`
	Y     spec.Format `json:"y"`
	Value spec.Format `json:"value,omitempty"`
}

// echarter builds the ECharts option of one chart in one language.
type echarter struct {
	c    spec.Chart
	id   string // element id
	file string // download name of saved images
	lang string
	l    labeler
	r    *result
	// colors are the page's fixed colours of values (Page.Colors); link is
	// where a click on an item leads (Chart.Link), both optional.
	colors map[string]map[string]string
	link   *payloadLink
}

// build returns the chart's payload.
func (e echarter) build() (payload, error) {
	switch k := e.c.Kind; {
	case k.Cartesian():
		return e.cartesian()
	case k.Parts():
		return e.parts()
	case k == spec.Heatmap:
		return e.heatmap()
	case k == spec.Scatter:
		return e.scatter()
	}
	return payload{}, fmt.Errorf("kind: chart kind %q is not drawn by ECharts", e.c.Kind)
}

// global are the options every ECharts chart shares: its id, a toolbox to
// save it as an image (titled by ECharts' own locale) and the tooltip.
func (e echarter) global(trigger string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: e.id}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(true), Right: "0", Top: "0",
			Feature: &opts.ToolBoxFeature{SaveAsImage: &opts.ToolBoxFeatureSaveAsImage{Show: opts.Bool(true), Name: e.file}}}),
	}
}

func (e echarter) legend(n int) charts.GlobalOpts {
	// Right of the legend stays clear for the toolbox's icon, pager and all.
	return charts.WithLegendOpts(opts.Legend{Show: opts.Bool(n > 1), Top: "0", Left: "0", Right: "56", Type: "scroll"})
}

// categoryAxis is a category axis. go-echarts writes axisLabel.interval
// as a string, which ECharts would add to as text; this axis writes it as
// the number ECharts expects: every label that does not overlap another.
type categoryAxis struct {
	Type         string         `json:"type"`
	Data         []string       `json:"data"`
	Name         string         `json:"name,omitempty"`
	NameLocation string         `json:"nameLocation,omitempty"`
	NameGap      int            `json:"nameGap,omitempty"`
	Inverse      bool           `json:"inverse,omitempty"`
	AxisLabel    map[string]any `json:"axisLabel"`
	SplitArea    map[string]any `json:"splitArea,omitempty"`
}

// newCategoryAxis returns a category axis; down says that the categories
// go down the side of the chart, the first at the top.
func newCategoryAxis(categories []string, label string, down bool) categoryAxis {
	a := categoryAxis{Type: "category", Data: categories, AxisLabel: map[string]any{"interval": 0, "hideOverlap": true}}
	if categories == nil {
		a.Data = []string{}
	}
	if label != "" {
		a.Name, a.NameLocation, a.NameGap = label, "middle", 28
	}
	if down {
		a.Inverse = true
		// Long names are cut at a fixed width, so that the plot keeps room.
		a.AxisLabel["width"], a.AxisLabel["overflow"] = 220, "truncate"
		if label != "" {
			a.NameLocation, a.NameGap = "start", 12
		}
	}
	return a
}

// seriesData is one series of a cartesian chart: its name and one value
// per category, nil where the query had no number.
type seriesData struct {
	name   string
	values []*float64
	color  string // fixed by the page's colors, or ""
	dashed bool   // drawn dashed (the chart's dashed column is true)
}

// cartesian builds a line, bar, stacked bar or area chart.
func (e echarter) cartesian() (payload, error) {
	c := e.c
	categories, raw, series, err := e.cartesianSeries()
	if err != nil {
		return payload{}, err
	}
	marks, err := e.marks(raw, categories)
	if err != nil {
		return payload{}, err
	}
	if c.X.Continuous && !c.Horizontal {
		for i, x := range raw {
			if !x.finite() {
				return payload{}, fmt.Errorf("x.column: a continuous x axis needs numbers, and row %d holds %q", i+1, x.csvText())
			}
			marks.xs = append(marks.xs, x.num)
		}
		for _, l := range marks.lines {
			if at, ok := l["xAxis"].(int); ok {
				l["xAxis"] = marks.xs[at]
			}
		}
	}
	xLabel := ""
	if c.X != nil {
		xLabel = c.X.Label.In(e.lang)
	}
	catAxis := newCategoryAxis(categories, xLabel, c.Horizontal)
	valAxis := yAxis(c, e.lang)
	// The grid contains the axis labels, not the axis names: an axis name
	// under the plot needs room of its own below the labels.
	bottom := "8"
	if (xLabel != "" && !c.Horizontal) || (c.Horizontal && valAxis.Name != "") {
		bottom = "30"
	}
	global := append(e.global("axis"),
		e.legend(len(series)),
		charts.WithGridOpts(opts.Grid{Left: "16", Right: "24", Top: gridTop(c, len(series)), Bottom: bottom, ContainLabel: opts.Bool(true)}),
	)
	if !c.Horizontal {
		global = append(global, charts.WithYAxisOpts(valAxis))
	}
	withMarks := func(i int, so []charts.SeriesOpts) []charts.SeriesOpts {
		return append(so, charts.WithSeriesOpts(func(s *charts.SingleSeries) { marks.apply(s, i, series[i].values) }))
	}
	var option map[string]any
	switch c.Kind {
	case spec.Bar, spec.StackedBar:
		ch := charts.NewBar()
		ch.SetGlobalOptions(global...)
		for i, s := range series {
			data := make([]opts.BarData, len(s.values))
			for j, v := range s.values {
				data[j] = opts.BarData{Value: value(v)}
			}
			var so []charts.SeriesOpts
			if c.Kind == spec.StackedBar {
				so = append(so, charts.WithBarChartOpts(opts.BarChart{Stack: "total"}))
			}
			if s.color != "" {
				so = append(so, charts.WithItemStyleOpts(opts.ItemStyle{Color: s.color}))
			}
			ch.AddSeries(s.name, data, withMarks(i, so)...)
		}
		ch.Validate()
		option = ch.JSON()
	default: // line, area
		ch := charts.NewLine()
		ch.SetGlobalOptions(global...)
		for i, s := range series {
			data := make([]opts.LineData, len(s.values))
			for j, v := range s.values {
				data[j] = opts.LineData{Value: value(v)}
				if marks.xs != nil {
					data[j].Value = []any{marks.xs[j], value(v)}
				}
			}
			so := []charts.SeriesOpts{charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(len(categories) <= 36)})}
			if s.color != "" {
				so = append(so, charts.WithItemStyleOpts(opts.ItemStyle{Color: s.color}), charts.WithLineStyleOpts(opts.LineStyle{Color: s.color}))
			}
			if c.Kind == spec.Area {
				so = append(so, charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.25)}))
			}
			if s.dashed {
				so = append(so, charts.WithLineStyleOpts(opts.LineStyle{Color: s.color, Type: "dashed"}))
			}
			ch.AddSeries(s.name, data, withMarks(i, so)...)
		}
		ch.Validate()
		option = ch.JSON()
	}
	pl := payload{Kind: c.Kind, Format: payloadFormat{Y: yFormat(c)}, Option: option, Link: e.link}
	switch {
	case c.Horizontal:
		// Bars from left to right: the values along the x axis, the
		// categories down the y axis with the first row at the top.
		x := opts.XAxis{Type: "value", Name: valAxis.Name, Min: valAxis.Min, Max: valAxis.Max, AxisLabel: valAxis.AxisLabel}
		if x.Name != "" {
			x.NameLocation, x.NameGap = "middle", 28
		}
		option["xAxis"] = []opts.XAxis{x}
		option["yAxis"] = []categoryAxis{catAxis}
	case c.X.Continuous:
		// x on a number scale: each point is [x, y], the marks' x values
		// are values too.
		if err := e.continuous(option, marks.xs); err != nil {
			return payload{}, err
		}
		pl.Continuous = true
		pl.Format.X = c.X.Format
		if pl.Format.X == "" {
			pl.Format.X = spec.Number
		}
	default:
		option["xAxis"] = []categoryAxis{catAxis}
	}
	return pl, nil
}

// continuous turns a line chart's category axis into a value axis: the
// points become [x, y] pairs and the vertical marks sit at their x values.
func (e echarter) continuous(option map[string]any, xs []float64) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range xs {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	x := opts.XAxis{Type: "value", AxisLabel: &opts.AxisLabel{Show: opts.Bool(true)}}
	if e.c.X.Min != nil {
		lo = *e.c.X.Min
	}
	if e.c.X.Max != nil {
		hi = *e.c.X.Max
	}
	if !math.IsInf(lo, 0) {
		x.Min, x.Max = lo, hi
	}
	if l := e.c.X.Label.In(e.lang); l != "" {
		x.Name, x.NameLocation, x.NameGap = l, "middle", 28
	}
	option["xAxis"] = []opts.XAxis{x}
	return nil
}

// cartesianSeries reads the series of a line, bar, stacked bar or area
// chart from wide rows (one column per series) or long rows (split_by).
// raw holds the x cell of each category.
func (e echarter) cartesianSeries() (categories []string, raw []cell, series []seriesData, err error) {
	c, r, lang := e.c, e.r, e.lang
	xi, err := r.column(c.X.Column.In(lang))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("x.column: %w", err)
	}
	xName := r.columns[xi]
	if e.link != nil {
		defer func() {
			for i, c := range categories {
				e.link.Values[c] = raw[i].csvText()
			}
		}()
	}
	if c.SplitBy.IsZero() {
		for _, row := range r.rows {
			categories = append(categories, e.l.category(xName, row[xi], c.X.Format))
			raw = append(raw, row[xi])
		}
		for i, s := range c.Series {
			ci, err := r.column(s.Column.In(lang))
			if err != nil {
				return nil, nil, nil, fmt.Errorf("series[%d].column: %w", i, err)
			}
			vals, err := numbers(r, ci)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("series[%d].column: %w", i, err)
			}
			series = append(series, seriesData{name: s.Label.In(lang), values: vals})
		}
		return categories, raw, series, nil
	}

	// Long rows: categories and series in the order they first appear.
	si, err := r.column(c.SplitBy.In(lang))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("split_by: %w", err)
	}
	vi, err := r.column(c.Value.In(lang))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("value: %w", err)
	}
	vals, err := numbers(r, vi)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("value: %w", err)
	}
	di := -1
	if !c.Dashed.IsZero() {
		if di, err = r.column(c.Dashed.In(lang)); err != nil {
			return nil, nil, nil, fmt.Errorf("dashed: %w", err)
		}
	}
	catIndex := map[string]int{}
	serIndex := map[string]int{}
	xs := make([]string, len(r.rows))
	names := make([]string, len(r.rows))
	for i, row := range r.rows {
		xs[i] = e.l.category(xName, row[xi], c.X.Format)
		if _, ok := catIndex[xs[i]]; !ok {
			catIndex[xs[i]] = len(categories)
			categories = append(categories, xs[i])
			raw = append(raw, row[xi])
		}
		names[i] = e.l.text(r.columns[si], row[si], "")
		if _, ok := serIndex[names[i]]; !ok {
			serIndex[names[i]] = len(series)
			series = append(series, seriesData{name: names[i], color: e.colors[r.columns[si]][row[si].csvText()],
				dashed: di >= 0 && row[di].csvText() == "true"})
		}
	}
	for i := range series {
		series[i].values = make([]*float64, len(categories))
	}
	for i := range r.rows {
		s := &series[serIndex[names[i]]]
		ci := catIndex[xs[i]]
		if s.values[ci] != nil {
			return nil, nil, nil, fmt.Errorf("split_by: two rows for x %q and %s %q (aggregate them in the query)", xs[i], c.SplitBy.In(lang), s.name)
		}
		s.values[ci] = vals[i]
	}
	return categories, raw, series, nil
}

// markSet is the reference lines and points of a cartesian chart.
type markSet struct {
	horizontal bool
	xs         []float64        // the x values of a continuous axis, by category
	lines      []map[string]any // on the first series
	points     []int            // category indexes marked on the first series
	pointText  func(v float64) string
}

// marks resolves the chart's marks against its categories.
func (e echarter) marks(raw []cell, categories []string) (markSet, error) {
	c := e.c
	f := e.l.f
	ms := markSet{horizontal: c.Horizontal, pointText: func(v float64) string { return f.Compact(v, yFormat(c)) }}
	axisX, axisY := "xAxis", "yAxis"
	if c.Horizontal {
		axisX, axisY = axisY, axisX
	}
	for i, m := range c.Marks {
		line := map[string]any{"lineStyle": map[string]any{"type": "dashed", "color": "#5b6775"}}
		label := m.Label.In(e.lang)
		if m.Y != nil {
			line[axisY] = *m.Y
			if label == "" {
				label = f.Compact(*m.Y, yFormat(c))
			}
		} else {
			at := -1
			for j, x := range raw {
				if x.matches(m.X) {
					at = j
					break
				}
			}
			if at < 0 {
				return markSet{}, fmt.Errorf("marks[%d].x: no row has %s = %s", i, c.X.Column.In(e.lang), m.X)
			}
			line[axisX] = at
			if label == "" {
				label = categories[at]
			}
			ms.points = append(ms.points, at)
		}
		// A vertical line is labelled at its foot, clear of the curve's
		// marker near the top; a horizontal one at its right end.
		pos := "insideEndTop"
		if m.Y == nil {
			pos = "insideStartTop"
		}
		line["label"] = map[string]any{"formatter": label, "position": pos}
		ms.lines = append(ms.lines, line)
	}
	return ms, nil
}

// apply adds the marks to series i: lines and points go on the first
// series only.
func (ms markSet) apply(s *charts.SingleSeries, i int, values []*float64) {
	if i == 0 && len(ms.lines) > 0 {
		data := make([]any, len(ms.lines))
		for j, l := range ms.lines {
			data[j] = l
		}
		s.MarkLines = &opts.MarkLines{Data: data, MarkLineStyle: opts.MarkLineStyle{Symbol: []string{"none", "none"}}}
	}
	var points []any
	if i > 0 {
		return
	}
	for _, at := range ms.points {
		v := values[at]
		if v == nil {
			continue
		}
		coord := []any{at, *v}
		switch {
		case ms.horizontal:
			coord = []any{*v, at}
		case ms.xs != nil:
			coord = []any{ms.xs[at], *v}
		}
		points = append(points, map[string]any{"coord": coord, "value": ms.pointText(*v)})
	}
	if len(points) > 0 {
		s.MarkPoints = &opts.MarkPoints{Data: points, MarkPointStyle: opts.MarkPointStyle{SymbolSize: 56}}
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
	named := c.Y != nil && !c.Y.Label.IsZero() && !c.Horizontal
	switch {
	case series > 1 && named:
		return "60"
	case series > 1:
		return "40"
	case named:
		return "36"
	default:
		return "28" // the toolbox
	}
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

func valueFormat(c spec.Chart) spec.Format {
	if c.Format == "" {
		return spec.Number
	}
	return c.Format
}

// namedValue is a data item of a pie, funnel or treemap series.
type namedValue struct {
	Name      string         `json:"name"`
	Value     any            `json:"value"`
	ItemStyle map[string]any `json:"itemStyle,omitempty"`
}

// partsSeries is the series of a pie, funnel or treemap chart.
type partsSeries struct {
	Name   string         `json:"name"`
	Type   string         `json:"type"`
	Data   []namedValue   `json:"data"`
	Label  map[string]any `json:"label"`
	Radius []string       `json:"radius,omitempty"`
	Center []string       `json:"center,omitempty"`
	// funnel
	Sort  string `json:"sort,omitempty"`
	Gap   int    `json:"gap,omitempty"`
	Top   string `json:"top,omitempty"`
	Left  string `json:"left,omitempty"`
	Width string `json:"width,omitempty"`
	// treemap
	Roam       *bool          `json:"roam,omitempty"`
	NodeClick  *bool          `json:"nodeClick,omitempty"`
	Breadcrumb map[string]any `json:"breadcrumb,omitempty"`
	ItemStyle  map[string]any `json:"itemStyle,omitempty"`
}

// parts builds a pie, funnel or treemap chart: one slice, stage or
// rectangle per row, in the query's order.
func (e echarter) parts() (payload, error) {
	c, r := e.c, e.r
	ni, err := r.column(c.Names.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("names: %w", err)
	}
	vi, err := r.column(c.Value.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("value: %w", err)
	}
	vals, err := numbers(r, vi)
	if err != nil {
		return payload{}, fmt.Errorf("value: %w", err)
	}
	s := partsSeries{Name: c.Title.In(e.lang), Type: string(c.Kind)}
	for i, row := range r.rows {
		v := vals[i]
		if v != nil && *v < 0 {
			return payload{}, fmt.Errorf("value: column %q holds %s in row %d: a %s cannot show negative values", r.columns[vi], row[vi].csvText(), i+1, c.Kind)
		}
		nv := namedValue{Name: e.l.text(r.columns[ni], row[ni], ""), Value: value(v)}
		if col := e.colors[r.columns[ni]][row[ni].csvText()]; col != "" {
			nv.ItemStyle = map[string]any{"color": col}
		}
		if e.link != nil {
			e.link.Values[nv.Name] = row[ni].csvText()
		}
		s.Data = append(s.Data, nv)
	}
	f := false
	switch c.Kind {
	case spec.Pie:
		s.Radius = []string{"35%", "65%"}
		s.Center = []string{"50%", "55%"}
		s.Label = map[string]any{"show": true, "formatter": "{b}: {d}%"}
	case spec.Funnel:
		s.Sort, s.Gap, s.Top, s.Left, s.Width = "none", 2, "36", "8%", "60%"
		s.Label = map[string]any{"show": true, "position": "right"}
	case spec.Treemap:
		s.Roam, s.NodeClick = &f, &f
		s.Top = "28"
		s.Breadcrumb = map[string]any{"show": false}
		s.Label = map[string]any{"show": true}
		s.ItemStyle = map[string]any{"borderColor": "#fff", "borderWidth": 1, "gapWidth": 1}
	}
	var option map[string]any
	global := append(e.global("item"), charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}))
	switch c.Kind {
	case spec.Pie:
		ch := charts.NewPie()
		ch.SetGlobalOptions(global...)
		ch.Validate()
		option = ch.JSON()
	case spec.Funnel:
		ch := charts.NewFunnel()
		ch.SetGlobalOptions(global...)
		ch.Validate()
		option = ch.JSON()
	default:
		ch := charts.NewTreeMap()
		ch.SetGlobalOptions(global...)
		ch.Validate()
		option = ch.JSON()
	}
	option["series"] = []partsSeries{s}
	return payload{Kind: c.Kind, Format: payloadFormat{Y: spec.Number, Value: valueFormat(c)}, Option: option, Link: e.link}, nil
}

// heatmapSeries is the series of a heatmap; each item is [x index, y
// index, value].
type heatmapSeries struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"`
	Data     [][3]any       `json:"data"`
	Label    map[string]any `json:"label"`
	Emphasis map[string]any `json:"emphasis"`
}

// heatmap builds a heatmap: x values across, y values down (the first at
// the top), cells coloured by value on a scale from the data's smallest to
// its largest value.
func (e echarter) heatmap() (payload, error) {
	c, r := e.c, e.r
	xi, err := r.column(c.X.Column.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("x.column: %w", err)
	}
	yi, err := r.column(c.Y.Column.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("y.column: %w", err)
	}
	vi, err := r.column(c.Value.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("value: %w", err)
	}
	vals, err := numbers(r, vi)
	if err != nil {
		return payload{}, fmt.Errorf("value: %w", err)
	}
	var xs, ys []string
	xIndex, yIndex := map[string]int{}, map[string]int{}
	seen := map[[2]int]bool{}
	lo, hi := math.Inf(1), math.Inf(-1)
	s := heatmapSeries{Name: c.Title.In(e.lang), Type: "heatmap",
		Label:    map[string]any{"show": len(r.rows) <= 400, "fontSize": 10},
		Emphasis: map[string]any{"itemStyle": map[string]any{"borderColor": "#1d2733", "borderWidth": 1}}}
	for i, row := range r.rows {
		x := e.l.category(r.columns[xi], row[xi], c.X.Format)
		y := e.l.category(r.columns[yi], row[yi], c.Y.Format)
		if _, ok := xIndex[x]; !ok {
			xIndex[x] = len(xs)
			xs = append(xs, x)
		}
		if _, ok := yIndex[y]; !ok {
			yIndex[y] = len(ys)
			ys = append(ys, y)
		}
		at := [2]int{xIndex[x], yIndex[y]}
		if seen[at] {
			return payload{}, fmt.Errorf("two rows for x %q and y %q (aggregate them in the query)", x, y)
		}
		seen[at] = true
		if v := vals[i]; v != nil {
			lo, hi = math.Min(lo, *v), math.Max(hi, *v)
		}
		s.Data = append(s.Data, [3]any{at[0], at[1], value(vals[i])})
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if lo == hi {
		hi = lo + 1
	}
	ch := charts.NewHeatMap()
	x := newCategoryAxis(xs, c.X.Label.In(e.lang), false)
	y := newCategoryAxis(ys, c.Y.Label.In(e.lang), true)
	x.SplitArea = map[string]any{"show": true}
	y.SplitArea = map[string]any{"show": true}
	ch.SetGlobalOptions(append(e.global("item"),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithGridOpts(opts.Grid{Left: "8", Right: "24", Top: "36", Bottom: "56", ContainLabel: opts.Bool(true)}),
	)...)
	ch.Validate()
	option := ch.JSON()
	option["xAxis"] = []categoryAxis{x}
	option["yAxis"] = []categoryAxis{y}
	option["series"] = []heatmapSeries{s}
	option["visualMap"] = []map[string]any{{
		"type": "continuous", "min": lo, "max": hi, "calculable": false, "orient": "horizontal",
		"left": "center", "bottom": 0, "itemHeight": 160,
		"text":    []string{e.l.f.Compact(hi, valueFormat(c)), e.l.f.Compact(lo, valueFormat(c))},
		"inRange": map[string]any{"color": []string{"#eef4fb", "#9ecae1", "#3182bd", "#08306b"}},
	}}
	return payload{Kind: c.Kind, Format: payloadFormat{Y: spec.Number, Value: valueFormat(c)}, Option: option}, nil
}

// point is a data item of a scatter series: its name and [x, y].
type point struct {
	Name  string     `json:"name,omitempty"`
	Value [2]float64 `json:"value"`
}

// scatterSeries is one series of a scatter chart.
type scatterSeries struct {
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Data       []point `json:"data"`
	SymbolSize int     `json:"symbolSize"`
	Large      bool    `json:"large,omitempty"`
}

// scatter builds a scatter chart: one point per row with both numbers,
// one series per split_by value.
func (e echarter) scatter() (payload, error) {
	c, r := e.c, e.r
	xi, err := r.column(c.X.Column.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("x.column: %w", err)
	}
	yi, err := r.column(c.Y.Column.In(e.lang))
	if err != nil {
		return payload{}, fmt.Errorf("y.column: %w", err)
	}
	xv, err := numbers(r, xi)
	if err != nil {
		return payload{}, fmt.Errorf("x.column: %w", err)
	}
	yv, err := numbers(r, yi)
	if err != nil {
		return payload{}, fmt.Errorf("y.column: %w", err)
	}
	ni, si := -1, -1
	if !c.Names.IsZero() {
		if ni, err = r.column(c.Names.In(e.lang)); err != nil {
			return payload{}, fmt.Errorf("names: %w", err)
		}
	}
	if !c.SplitBy.IsZero() {
		if si, err = r.column(c.SplitBy.In(e.lang)); err != nil {
			return payload{}, fmt.Errorf("split_by: %w", err)
		}
	}
	var series []scatterSeries
	index := map[string]int{}
	for i, row := range r.rows {
		if xv[i] == nil || yv[i] == nil {
			continue
		}
		group := c.Title.In(e.lang)
		if si >= 0 {
			group = e.l.text(r.columns[si], row[si], "")
		}
		if _, ok := index[group]; !ok {
			index[group] = len(series)
			series = append(series, scatterSeries{Name: group, Type: "scatter", SymbolSize: 8})
		}
		p := point{Value: [2]float64{*xv[i], *yv[i]}}
		if ni >= 0 {
			p.Name = e.l.text(r.columns[ni], row[ni], "")
		}
		s := &series[index[group]]
		s.Data = append(s.Data, p)
	}
	for i := range series {
		series[i].Large = len(series[i].Data) > 2000
	}
	x := opts.XAxis{Type: "value", Scale: opts.Bool(true), AxisLabel: &opts.AxisLabel{Show: opts.Bool(true)}}
	y := opts.YAxis{Type: "value", Scale: opts.Bool(true), AxisLabel: &opts.AxisLabel{Show: opts.Bool(true)}}
	if !c.X.Label.IsZero() {
		x.Name, x.NameLocation, x.NameGap = c.X.Label.In(e.lang), "middle", 28
	}
	if c.X.Min != nil {
		x.Min = *c.X.Min
	}
	if c.X.Max != nil {
		x.Max = *c.X.Max
	}
	if !c.Y.Label.IsZero() {
		y.Name = c.Y.Label.In(e.lang)
	}
	if c.Y.Min != nil {
		y.Min = *c.Y.Min
	}
	if c.Y.Max != nil {
		y.Max = *c.Y.Max
	}
	ch := charts.NewScatter()
	top := "36"
	if len(series) > 1 {
		top = "44"
		if y.Name != "" {
			top = "60"
		}
	}
	bottom := "8"
	if x.Name != "" {
		bottom = "24"
	}
	ch.SetGlobalOptions(append(e.global("item"), e.legend(len(series)),
		charts.WithGridOpts(opts.Grid{Left: "8", Right: "24", Top: top, Bottom: bottom, ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(x), charts.WithYAxisOpts(y),
	)...)
	ch.Validate()
	option := ch.JSON()
	option["xAxis"] = []opts.XAxis{x}
	if series == nil {
		series = []scatterSeries{}
	}
	option["series"] = series
	xf := spec.Number
	if c.X.Format != "" {
		xf = c.X.Format
	}
	return payload{Kind: c.Kind, Format: payloadFormat{X: xf, Y: yFormat(c)}, Option: option}, nil
}

// matches reports whether the cell holds the value written in a spec:
// numbers compare as numbers (20 matches 20.0), anything else by its CSV
// text (dates as 2024-06-01).
func (c cell) matches(s string) bool {
	if c.kind == numberCell {
		f, err := strconv.ParseFloat(s, 64)
		return err == nil && f == c.num
	}
	return c.kind != nullCell && c.csvText() == s
}
