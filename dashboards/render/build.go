package render

import (
	"encoding/json"
	"fmt"
	"strings"

	"crmwh/dashboards/spec"
)

// MaxTableRows is how many rows a table chart shows; the CSV file beside
// the page always has every row.
const MaxTableRows = 1000

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
	// Metric cards (spec.Chart.Metric): the metric's name, its context
	// (changes on the month and the year before, the year to date, the
	// trailing twelve months, target, sparkline) and why it is blank.
	Metric  string      `json:"metric,omitempty"`
	Context *kpiContext `json:"context,omitempty"`
	Note    string      `json:"note,omitempty"`
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
	// Date is set when every value is a date or time (kept on one line).
	Date bool `json:"date,omitempty"`
	// Key is the query column, which links from other pages filter on.
	Key string `json:"key"`
}

type tableCell struct {
	Text    string `json:"text"`
	Numeric bool   `json:"numeric,omitempty"`
	Date    bool   `json:"date,omitempty"`
	// Break is set on long text without spaces (identifiers, file
	// paths), which may break anywhere so that the table fits its card.
	Break bool `json:"break,omitempty"`
	// Raw is the value as the data hold it, when the text shows it
	// otherwise (a label, a formatted number): the page's script sorts
	// and filters on it.
	Raw string `json:"raw,omitempty"`
	// Href is where the cell leads (a column's Link).
	Href string `json:"href,omitempty"`
	// Key is the value links filter the cell on (a column's Key).
	Key string `json:"key,omitempty"`
}

// labeler writes values from the data for people in one language: text
// translated by the page's labels when it has one, numbers and dates
// formatted.
type labeler struct {
	f      Formatter
	lang   string
	labels map[string]map[string]spec.Text // column -> value -> text
}

// label returns the page's label for a value of a column, if it has one.
func (l labeler) label(col string, c cell) (string, bool) {
	if c.kind == nullCell {
		return "", false
	}
	t, ok := l.labels[col][c.csvText()]
	if !ok {
		return "", false
	}
	return t.In(l.lang), true
}

// text writes a cell of column col as a table or a tooltip shows it.
func (l labeler) text(col string, c cell, format spec.Format) string {
	if s, ok := l.label(col, c); ok {
		return s
	}
	return cellText(l.f, c, format)
}

// category writes a cell of column col as an axis category: like text,
// but numbers shortened as on axes (20%, not 20.0%).
func (l labeler) category(col string, c cell, format spec.Format) string {
	if s, ok := l.label(col, c); ok {
		return s
	}
	if c.kind == numberCell && format != spec.Date && format != spec.Month {
		return l.f.Compact(c.num, format)
	}
	return cellText(l.f, c, format)
}

// cellText writes a cell for people: numbers and dates formatted, text as is.
func cellText(f Formatter, c cell, format spec.Format) string {
	switch c.kind {
	case nullCell:
		return Missing
	case numberCell:
		if format == spec.ID {
			return c.text
		}
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

// buildKPI reads a KPI card from the last two rows of the query.
func buildKPI(c spec.Chart, lang string, f Formatter, r *result) (kpiCard, error) {
	vi, err := r.column(c.Value.In(lang))
	if err != nil {
		return kpiCard{}, fmt.Errorf("value: %w", err)
	}
	vals, err := numbers(r, vi)
	if err != nil {
		return kpiCard{}, fmt.Errorf("value: %w", err)
	}
	xi := -1
	if c.X != nil {
		if xi, err = r.column(c.X.Column.In(lang)); err != nil {
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

// noticeView is the text of a notice, a paragraph per row.
type noticeView struct {
	Paragraphs []string `json:"paragraphs"`
}

// buildNotice takes the text of each row's value column (labels apply).
func buildNotice(c spec.Chart, l labeler, r *result) (noticeView, error) {
	col := c.Value.In(l.lang)
	vi, err := r.column(col)
	if err != nil {
		return noticeView{}, fmt.Errorf("value: %w", err)
	}
	n := noticeView{Paragraphs: []string{}}
	for _, row := range r.rows {
		if row[vi].kind != nullCell {
			n.Paragraphs = append(n.Paragraphs, l.text(r.columns[vi], row[vi], ""))
		}
	}
	return n, nil
}

// buildTable formats a table chart's cells; href makes the address of a
// cell of a column with a link.
func buildTable(c spec.Chart, l labeler, r *result, href func(spec.Link, string) string) (tableView, error) {
	lang := l.lang
	type col struct {
		index  int
		format spec.Format
		link   *spec.Link
		from   int // the column whose value a link passes
		key    int // the column links filter on, or -1
	}
	var cols []col
	t := tableView{TotalRows: r.count()}
	if len(c.Columns) == 0 {
		for i, name := range r.columns {
			cols = append(cols, col{index: i, key: -1})
			t.Headers = append(t.Headers, tableHeader{Text: name, Key: name})
		}
	}
	for i, sc := range c.Columns {
		ci, err := r.column(sc.Column.In(lang))
		if err != nil {
			return tableView{}, fmt.Errorf("columns[%d].column: %w", i, err)
		}
		cl := col{index: ci, format: sc.Format, link: sc.Link, from: ci, key: -1}
		if sc.Link != nil {
			if cl.from, err = r.column(sc.Link.Source()); err != nil {
				return tableView{}, fmt.Errorf("columns[%d].link.column: %w", i, err)
			}
		}
		key := r.columns[ci]
		if sc.Key != "" {
			if cl.key, err = r.column(sc.Key); err != nil {
				return tableView{}, fmt.Errorf("columns[%d].key: %w", i, err)
			}
			key = r.columns[cl.key]
		}
		cols = append(cols, cl)
		h := sc.Label.In(lang)
		if h == "" {
			h = r.columns[ci]
		}
		t.Headers = append(t.Headers, tableHeader{Text: h, Key: key})
	}
	// A column is numeric (right-aligned) when all its values are numbers.
	for j, cl := range cols {
		t.Headers[j].Numeric = r.only(cl.index, numberCell, nullCell)
		t.Headers[j].Date = r.only(cl.index, timeCell, nullCell)
	}
	for i, row := range r.rows {
		if i == MaxTableRows {
			break
		}
		cells := make([]tableCell, len(cols))
		for j, cl := range cols {
			c := row[cl.index]
			cells[j] = tableCell{Text: l.text(r.columns[cl.index], c, cl.format), Numeric: t.Headers[j].Numeric, Date: t.Headers[j].Date}
			if txt := cells[j].Text; len(txt) > 20 && !strings.ContainsAny(txt, " \u3000") {
				cells[j].Break = true
			}
			if raw := c.csvText(); raw != cells[j].Text {
				cells[j].Raw = raw
			}
			if cl.link != nil && href != nil && row[cl.from].kind != nullCell {
				cells[j].Href = href(*cl.link, row[cl.from].csvText()) // "" when the page is left out
			}
			if cl.key >= 0 {
				cells[j].Key = row[cl.key].csvText()
			}
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
