// Package spec reads dashboard pages written as YAML files (dashboards/*.yaml):
// each page is a list of sections, each section a list of charts, and each
// chart a SQL query over the warehouse plus a chart kind, axes, number formats
// and labels in English and Simplified Chinese.
//
// Load is strict: unknown keys, unknown kinds, missing texts and keys that a
// kind does not use are errors, all reported at once as
// "file:line: key.path: what is wrong". README.md in the dashboards folder is
// the reference for analysts.
package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Languages are the languages every text of a page is written in.
var Languages = []string{"en", "zh"}

// Text is a label written in English and Simplified Chinese.
type Text struct {
	En string `yaml:"en"`
	Zh string `yaml:"zh"`
}

// In returns the text in the language ("zh" for Chinese, anything else English).
func (t Text) In(lang string) string {
	if lang == "zh" {
		return t.Zh
	}
	return t.En
}

// IsZero reports whether neither language was written.
func (t Text) IsZero() bool { return t.En == "" && t.Zh == "" }

// Page is one dashboard page, rendered to <name>.html.
type Page struct {
	// Name identifies the page in file names and element ids: lower-case
	// letters, digits, '_' and '-', starting with a letter.
	Name string `yaml:"name"`
	// Order sorts pages in the navigation (then by name). Default 0.
	Order int `yaml:"order"`
	// Title is required in both languages.
	Title Text `yaml:"title"`
	// Description is an optional line under the title and in the index.
	Description Text `yaml:"description"`
	// Requires lists the entities of the data contract (docs/your-data.md)
	// the page needs: when the project does not map one, the page is left
	// out and the index says what would enable it. Sections and charts can
	// say the same of themselves. A chart whose query reads a model the
	// build left out is left out too, without saying so here.
	Requires []string  `yaml:"requires"`
	Sections []Section `yaml:"sections"`
	// Labels translate values from the data: a value v of a query column
	// named c is shown as Labels[c][v] in the page's language, wherever
	// the page shows it (categories, series and slice names, table cells).
	// Values without a label are shown as they are.
	Labels map[string]map[string]Text `yaml:"labels"`
	// Colors fix the colour of values from the data, by column: a slice,
	// rectangle, stage or series named by value v of column c is drawn in
	// Colors[c][v] (a CSS hex colour such as "#c62828"), so that statuses
	// and scales keep their meaning (warnings amber, never green).
	Colors map[string]map[string]string `yaml:"colors"`
	// Filters are the filters the page offers (period, region, channel,
	// segment): applied in the browser to the page's metrics (charts and
	// cards that name a metric read from a model with cells of customers),
	// from data embedded in the page.
	Filters []string `yaml:"filters"`

	// Targets are the project's targets (dashboards/targets.yaml), for the
	// metrics the page shows.
	Targets Targets `yaml:"-"`
	// DataThrough is the query of the last day the data cover
	// (metrics.yaml's data_through), when the folder has one.
	DataThrough string `yaml:"-"`
	// File is the file the page was read from, as dir/name.yaml.
	File string `yaml:"-"`
}

// Section is a titled group of charts on a page.
type Section struct {
	// Title is optional; when written it needs both languages. {month} in
	// it is replaced by the month the page's KPI cards show (October 2026),
	// so that a heading always names its month.
	Title Text `yaml:"title"`
	// Requires lists entities the section needs (see Page.Requires).
	Requires []string `yaml:"requires"`
	// When, if written, is a SQL query: the section is shown only when its
	// first row's first column is true (no rows, NULL or false hide it,
	// and its charts' queries are not run). A page can so show a notice
	// in place of charts that have nothing to show.
	When   string  `yaml:"when"`
	Charts []Chart `yaml:"charts"`

	// File, Line and Path say where the section was written, for errors
	// at render time.
	File string `yaml:"-"`
	Line int    `yaml:"-"`
	Path string `yaml:"-"`
}

// Where returns "file:line: path" for messages about the section.
func (s Section) Where() string { return where(s.File, s.Line, s.Path) }

// Chart is one chart, KPI card or table: a query and how to show its rows.
type Chart struct {
	// Name identifies the chart within its page (element id, CSV file name).
	Name  string `yaml:"name"`
	Kind  Kind   `yaml:"kind"`
	Title Text   `yaml:"title"`
	// Note is an optional explanation shown under the chart.
	Note Text `yaml:"note"`
	// Query is the SQL run against the warehouse. Charts show the rows in
	// the order the query returns them, so it should end with ORDER BY.
	Query string `yaml:"query"`
	// Width is "full" (the default) or "half" of the page's width.
	Width Width `yaml:"width"`
	// Requires lists entities the chart needs (see Page.Requires).
	Requires []string `yaml:"requires"`
	// OmitEmpty leaves the chart out when its query returns no rows,
	// instead of showing "No data.": for cuts some projects' data do not
	// have (churn by region when no source knows regions).
	OmitEmpty bool `yaml:"omit_empty"`

	// X is the category axis of line, bar, stacked_bar and area charts (a
	// column of the query), the columns of a heatmap, the horizontal value
	// axis of a scatter chart, and the period column of a KPI card.
	X *Axis `yaml:"x"`
	// Y is the value axis of line, bar, stacked_bar and area charts (label,
	// number format, bounds), the rows of a heatmap (Y.Column), and the
	// vertical value axis of a scatter chart (Y.Column).
	Y *Axis `yaml:"y"`
	// Series lists the value columns drawn as series (wide rows).
	Series []Series `yaml:"series"`
	// SplitBy names a column whose distinct values become the series, for
	// long rows (x, split_by, value); the measure is then Value. Scatter
	// charts draw one series per distinct value too.
	SplitBy Col `yaml:"split_by"`
	// Dashed names a boolean column of a line chart with SplitBy: the
	// series whose rows have it true are drawn dashed (a model's
	// projection beside the actuals).
	Dashed Col `yaml:"dashed"`
	// Value is the measured column of a KPI card, the text column of a
	// notice (one paragraph per row), of a chart with SplitBy,
	// of a heatmap's cells, and of the slices, rectangles or stages of pie,
	// treemap and funnel charts.
	Value Col `yaml:"value"`
	// Names is the column naming the slices, rectangles or stages of pie,
	// treemap and funnel charts, and the points of a scatter chart.
	Names Col `yaml:"names"`
	// Format is the number format of a KPI card's value and of Value in
	// pie, treemap, funnel and heatmap charts.
	Format Format `yaml:"format"`
	// Horizontal draws a bar or stacked_bar chart's bars from left to
	// right, the first row at the top (for long category names).
	Horizontal bool `yaml:"horizontal"`
	// Marks are reference lines on line, area, bar and stacked_bar charts.
	Marks []Mark `yaml:"marks"`
	// Good says whether a rise ("up", the default) or a fall ("down") of a
	// KPI is good news; it colours the delta.
	Good string `yaml:"good"`
	// Columns chooses, labels and formats the columns of a table (default:
	// every column of the query, labelled with its name).
	Columns []Column `yaml:"columns"`
	// Metric names the KPI of a KPI card, defined in metrics.yaml: the card
	// then needs no query, value or format, and shows the metric's last
	// complete month with its change on the month before, the year before,
	// the year to date and the trailing twelve months, a sparkline, and the
	// project's target.
	Metric string `yaml:"metric"`
	// Metrics names the KPIs a line, bar or area chart draws month by
	// month, instead of a query and series.
	Metrics []string `yaml:"metrics"`
	// Link makes a chart's slices, rectangles or bars (pie, treemap, bar)
	// lead to another page, filtered to the value clicked.
	Link *Link `yaml:"link"`
	// Defs are the definitions of Metric and Metrics (Load attaches them).
	Defs []*Metric `yaml:"-"`

	// File, Line and Path say where the chart was written, for errors at
	// render time: dashboards/overview.yaml, 14, sections[0].charts[1].
	File string `yaml:"-"`
	Line int    `yaml:"-"`
	Path string `yaml:"-"`
}

// Where returns "file:line: path" for messages about the chart.
func (c Chart) Where() string { return where(c.File, c.Line, c.Path) }

func where(file string, line int, path string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(line))
	}
	if path != "" {
		b.WriteString(": ")
		b.WriteString(path)
	}
	return b.String()
}

// Axis describes an axis of a chart.
type Axis struct {
	// Column is the query column on this axis: x of cartesian, heatmap and
	// scatter charts and of KPI cards, y of heatmap and scatter charts.
	Column Col `yaml:"column"`
	// Label is the axis name; optional, both languages when written.
	Label Text `yaml:"label"`
	// Format formats the axis values (numbers or dates).
	Format Format `yaml:"format"`
	// Min and Max fix the value axis bounds (default: ECharts chooses).
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// Continuous draws the x values of a line or area chart on a number
	// scale (percentiles, weeks) rather than as categories.
	Continuous bool `yaml:"continuous"`
}

// Series is one value column drawn as a series.
type Series struct {
	Column Col `yaml:"column"`
	// Label names the series in the legend and tooltip (both languages).
	Label Text `yaml:"label"`
}

// Column is one column of a table.
type Column struct {
	Column Col `yaml:"column"`
	// Label is the column header (both languages); default the column name.
	Label  Text   `yaml:"label"`
	Format Format `yaml:"format"`
	// Link makes each cell lead to another page, filtered to the cell's
	// value.
	Link *Link `yaml:"link"`
	// Key is the query column that links from other pages filter this
	// column on (default the column itself): a manager's name filtered by
	// the manager's id.
	Key string `yaml:"key"`
}

// Source returns the column whose value a link passes: Column, or else
// Filter.
func (l Link) Source() string {
	if l.Column != "" {
		return l.Column
	}
	return l.Filter
}

// Link leads from a value (a table cell, a slice of a chart) to another
// page, where the tables that have the column Filter show only the rows
// with that value: page.html#filter=column:value.
type Link struct {
	// Page is the name of the page to open.
	Page string `yaml:"page"`
	// Filter is the column filtered on there; the value is the clicked
	// row's value of Column (default Filter) here.
	Filter string `yaml:"filter"`
	Column string `yaml:"column"`
}

// Mark is a reference line on a cartesian chart: a vertical line at the
// category whose x value is X (with a marker on the first series there,
// labelled with its value), or a horizontal line at the value Y.
type Mark struct {
	// X is an x value as the query returns it: 20, 0.2, 2024-06-01, Retail.
	X string `yaml:"x"`
	// Y is a value on the value axis.
	Y *float64 `yaml:"y"`
	// Label is written beside the line (default: the value).
	Label Text `yaml:"label"`
}

// Col names a query column: the same column in both languages (region), or
// one per language ({en: signals, zh: signals_zh}) for data that the
// warehouse keeps in both.
type Col struct {
	En string `yaml:"en"`
	Zh string `yaml:"zh"`
}

// In returns the column's name in the language ("zh" or else English).
func (c Col) In(lang string) string {
	if lang == "zh" {
		return c.Zh
	}
	return c.En
}

// IsZero reports whether no column was written.
func (c Col) IsZero() bool { return c.En == "" && c.Zh == "" }

// String names the column for messages: region, or en: signals, zh: signals_zh.
func (c Col) String() string {
	if c.En == c.Zh {
		return c.En
	}
	return "en: " + c.En + ", zh: " + c.Zh
}

// UnmarshalYAML reads a column name, or a mapping {en: ..., zh: ...}.
// Problems are reported as a *yaml.TypeError, so that decoding goes on
// and every problem of the file is reported at once.
func (c *Col) UnmarshalYAML(n *yaml.Node) error {
	if err := c.decode(n); err != nil {
		return &yaml.TypeError{Errors: []string{err.Error()}}
	}
	return nil
}

func (c *Col) decode(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag != "!!str" && n.Tag != "!!int" {
			return fmt.Errorf("line %d: expected a column name, or {en: column, zh: column}", n.Line)
		}
		c.En, c.Zh = n.Value, n.Value
		return nil
	case yaml.MappingNode:
		*c = Col{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
				return fmt.Errorf("line %d: expected a column name for %s", v.Line, k.Value)
			}
			switch k.Value {
			case "en":
				c.En = v.Value
			case "zh":
				c.Zh = v.Value
			default:
				return fmt.Errorf("line %d: unknown key %q in a column (expected one of: en, zh)", k.Line, k.Value)
			}
		}
		if c.En == "" || c.Zh == "" {
			return fmt.Errorf("line %d: a column per language needs both en and zh", n.Line)
		}
		return nil
	default:
		return fmt.Errorf("line %d: expected a column name, or {en: column, zh: column}", n.Line)
	}
}

// Kind is what a chart is drawn as.
type Kind string

// The chart kinds.
const (
	Line       Kind = "line"
	Bar        Kind = "bar"
	StackedBar Kind = "stacked_bar"
	Area       Kind = "area"
	Pie        Kind = "pie"
	Treemap    Kind = "treemap"
	Heatmap    Kind = "heatmap"
	Funnel     Kind = "funnel"
	Scatter    Kind = "scatter"
	KPI        Kind = "kpi"
	Table      Kind = "table"
	// Notice shows text from the query: each row's Value column as a
	// paragraph (a column per language for data kept in both).
	Notice Kind = "notice"
	// Summary is a "what changed" card: the largest moves of its metrics
	// and the targets they crossed, written out in words.
	Summary Kind = "summary"
)

// Kinds lists every chart kind, sorted.
var Kinds = []Kind{Area, Bar, Funnel, Heatmap, KPI, Line, Notice, Pie, Scatter, StackedBar, Summary, Table, Treemap}

// Known reports whether k is a chart kind.
func (k Kind) Known() bool { return slices.Contains(Kinds, k) }

// Cartesian reports whether k is drawn on a category and a value axis with
// series (line, bar, stacked_bar, area).
func (k Kind) Cartesian() bool {
	return k == Line || k == Bar || k == StackedBar || k == Area
}

// Parts reports whether k shows the parts of a whole, one row each, named
// by Names and sized by Value (pie, treemap, funnel).
func (k Kind) Parts() bool { return k == Pie || k == Treemap || k == Funnel }

// ECharts reports whether ECharts draws k in the browser (every kind but
// KPI cards, tables, notices and summaries, which are plain HTML).
func (k Kind) ECharts() bool {
	return k.Known() && k != KPI && k != Table && k != Notice && k != Summary
}

// Format is how numbers or dates are written.
type Format string

// The formats. Number formats: Number (grouped, up to two decimals),
// Thousands (grouped integer), Currency (the site's currency symbol, two
// decimals), Percent (a fraction 0.123 shown as 12.3%). Large numbers are
// shortened on axes and KPI cards: K/M/B in English, 万/亿 in Chinese.
// Date formats: Date (2024-06-30), Month (Jun 2024, 2024年6月). ID writes
// a number as it is, without grouping (ticket numbers).
const (
	ID        Format = "id"
	Number    Format = "number"
	Thousands Format = "thousands"
	Currency  Format = "currency"
	Percent   Format = "percent"
	Date      Format = "date"
	Month     Format = "month"
)

// Formats lists every format, sorted.
var Formats = []Format{Currency, Date, ID, Month, Number, Percent, Thousands}

// Known reports whether f is a format, or empty (the default).
func (f Format) Known() bool { return f == "" || slices.Contains(Formats, f) }

// Width is how much of the page's width a chart takes.
type Width string

// The widths.
const (
	Full Width = "full"
	Half Width = "half"
)
