package render

import (
	"strconv"
	"time"

	"crmwh/dashboards/spec"
)

// metricRows computes a metric chart's series for all customers and its
// rows as a result (month, then one column per metric), which its CSV file
// holds and, for a trend chart, the cartesian builder draws.
func (s *site) metricRows(c spec.Chart) ([]series, *result, error) {
	var ss []series
	var defs []*spec.Metric
	for _, m := range c.Defs {
		sr, err := s.metrics.series(m, nil)
		if err != nil && c.Kind == spec.Summary {
			continue // a summary tells of the metrics it can read
		}
		if err != nil {
			return nil, nil, err
		}
		ss = append(ss, sr)
		defs = append(defs, m)
	}
	months, _ := metricCategories(ss, Formatter{}, s.status.Month)
	r := &result{columns: []string{"month"}, types: []string{"DATE"}}
	for _, m := range defs {
		r.columns = append(r.columns, m.Name)
		r.types = append(r.types, "DOUBLE")
	}
	for _, month := range months {
		row := []cell{{kind: timeCell, t: month, date: true}}
		for _, sr := range ss {
			v, ok := sr.value(sr.find(month))
			if ok {
				row = append(row, floatCell(tidy(v)))
			} else {
				row = append(row, cell{})
			}
		}
		r.rows = append(r.rows, row)
	}
	return ss, r, nil
}

// metricChartSpec is a trend chart of metrics as the cartesian builder
// takes it: x the month, one series per metric, the metrics' format.
func metricChartSpec(c spec.Chart) spec.Chart {
	out := c
	out.X = &spec.Axis{Column: spec.Col{En: "month", Zh: "month"}, Format: spec.Month}
	y := spec.Axis{}
	if c.Y != nil {
		y = *c.Y
	}
	y.Format = orNumber(c.Defs[0].Format)
	out.Y = &y
	out.Series = nil
	for _, m := range c.Defs {
		out.Series = append(out.Series, spec.Series{Column: spec.Col{En: m.Name, Zh: m.Name}, Label: m.Label})
	}
	return out
}

// metricPayload adds to a trend chart's payload what the page's script
// needs to redraw it for a filter: the metrics, the months, and which
// points are provisional (drawn paler) or the project's targets.
func (e echarter) metricPayload(pl payload, ss []series, targets spec.Targets, until time.Time) payload {
	months, _ := metricCategories(ss, e.l.f, until)
	pl.Months = make([]string, len(months))
	for i, m := range months {
		pl.Months[i] = m.Format("2006-01-02")
	}
	for _, s := range ss {
		pl.Metrics = append(pl.Metrics, s.m.Name)
	}
	provisional := map[int][]int{} // series -> category indexes
	for si, s := range ss {
		for i, m := range months {
			if j := s.find(m); j >= 0 && !s.mature[j] {
				provisional[si] = append(provisional[si], i)
			}
		}
	}
	pl.Provisional = provisional
	// A single metric with a target gets the target as a dashed line.
	if len(ss) == 1 {
		var tv []*float64
		found := false
		for _, m := range months {
			if t, ok := targets.For(ss[0].m.Name, m); ok {
				v := t
				tv = append(tv, &v)
				found = true
			} else {
				tv = append(tv, nil)
			}
		}
		if found {
			pl.Target = &payloadTarget{Name: kpiWords[e.lang].Target, Values: tv}
		}
	}
	return pl
}

// tidy rounds a sum of decimals to 12 significant digits, so that the
// CSV file and the chart show 1180000.5, not the float sum's
// 1180000.5000000002.
func tidy(v float64) float64 {
	t, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return t
}
