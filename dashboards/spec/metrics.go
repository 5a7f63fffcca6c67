package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"crmwh/project/strictyaml"
)

// MetricsFile and TargetsFile are the two files of the dashboards folder
// that are not pages: the KPIs every page reads by name, and the project's
// targets for them.
const (
	MetricsFile = "metrics.yaml"
	TargetsFile = "targets.yaml"
)

// DefaultMetricsModel is the model a metric is read from when it names none:
// the additive parts of the monthly KPIs by month and cell of customers.
const DefaultMetricsModel = "mart_metrics_monthly"

// CellColumns are the columns of a metrics model that say which cell of
// customers a row counts (their current region, acquisition channel and
// RFM segment). A model that has them can be filtered by them in the
// browser; the filter names are the keys.
var CellColumns = map[string]string{"region": "region", "channel": "acquisition_channel", "segment": "rfm_segment"}

// Filters lists the filters a page can offer (Page.Filters), in the order
// the page shows them.
var Filters = []string{"period", "region", "channel", "segment"}

// Metric is one KPI, defined once in dashboards/metrics.yaml: its name and
// meaning in both languages, how it is computed from the monthly parts in a
// model (a sum, or a ratio of sums, of columns over the rows of a month),
// and how its months combine into a year to date and a trailing twelve
// months. KPI cards and trend charts name it (`metric:`, `metrics:`), so a
// label always means the same number.
type Metric struct {
	// Name is the metric's key in metrics.yaml.
	Name        string `yaml:"-"`
	Label       Text   `yaml:"label"`
	Description Text   `yaml:"description"`
	Format      Format `yaml:"format"`
	// Good is "up" (default) or "down": whether a rise is good news.
	Good string `yaml:"good"`
	// From is the model the metric is read from: one row per month, or per
	// month and cell (CellColumns), with a DATE column named month.
	// Default DefaultMetricsModel.
	From string `yaml:"from"`
	// Sum is the column summed over a month's rows: the metric, or its
	// numerator when Over is set.
	Sum string `yaml:"sum"`
	// Over is the column whose sum divides Sum's (a rate); optional.
	Over string `yaml:"over"`
	// Scale multiplies the value (1000: per thousand). Default 1.
	Scale float64 `yaml:"scale"`
	// Months says how the months of a period (year to date, trailing twelve
	// months) combine: sum (revenue), ratio (the sums' ratio, for rates),
	// mean (the mean of the months, for counts of customers active in a
	// month), last (a stock: the period's last month) or none (no period
	// figures, for medians). Default ratio with Over, else sum.
	Months string `yaml:"months"`
	// Complete names a boolean column: months where it is false (the month
	// in progress) are left out. Optional.
	Complete string `yaml:"complete"`
	// Mature names a boolean column: a month where it is false is shown as
	// provisional (flagged, its change not coloured), for figures that are
	// still moving, such as the newest month's complaint resolution.
	Mature string `yaml:"mature"`
	// Valid names a boolean column: a month where it is false has no value
	// (blank), for figures that mean nothing yet, such as churn before
	// anyone could have been inactive long enough.
	Valid string `yaml:"valid"`
	// Requires lists entities the metric needs (see Page.Requires).
	Requires []string `yaml:"requires"`

	// File and Line say where the metric was defined.
	File string `yaml:"-"`
	Line int    `yaml:"-"`
}

// Period combinations (Metric.Months).
const (
	MonthsSum   = "sum"
	MonthsRatio = "ratio"
	MonthsMean  = "mean"
	MonthsLast  = "last"
	MonthsNone  = "none"
)

// Target is a project's goal for a metric: a monthly value, from a month on.
type Target struct {
	// From is the first month the value applies to (2026-01); empty for
	// every month.
	From  string  `yaml:"from"`
	Value float64 `yaml:"value"`
}

// Targets are the project's goals, by metric name (dashboards/targets.yaml).
// A metric's target for a month is the value of the latest entry whose
// From is not after the month.
type Targets map[string][]Target

// For returns the target of a metric for the month (the first day of a
// month), and whether there is one.
func (ts Targets) For(metric string, month time.Time) (float64, bool) {
	var v float64
	ok := false
	for _, t := range ts[metric] {
		if t.From != "" {
			from, err := time.Parse("2006-01", t.From)
			if err != nil || from.After(time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)) {
				continue
			}
		}
		v, ok = t.Value, true
	}
	return v, ok
}

// Catalog is what the dashboards folder defines besides pages: the metrics
// and the targets.
type Catalog struct {
	Metrics map[string]*Metric
	Targets Targets
	// DataThrough is the query whose single value is the last day the data
	// cover (metrics.yaml's data_through), shown on every page.
	DataThrough string
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

type metricsFile struct {
	DataThrough string             `yaml:"data_through"`
	Metrics     map[string]*Metric `yaml:"metrics"`
}

type targetsFile struct {
	Targets map[string][]Target `yaml:"targets"`
}

// loadCatalog reads dir/metrics.yaml and dir/targets.yaml when they exist.
func loadCatalog(fsys fs.FS, dir string) (*Catalog, strictyaml.Problems, error) {
	cat := &Catalog{Metrics: map[string]*Metric{}, Targets: Targets{}}
	var problems strictyaml.Problems
	file := path.Join(dir, MetricsFile)
	if data, err := fs.ReadFile(fsys, file); err == nil {
		var mf metricsFile
		doc := strictyaml.Decode(file, data, &mf)
		doc.ValidateAfterDecode(func() {
			for _, name := range sortedKeys(mf.Metrics) {
				m := mf.Metrics[name]
				if m == nil {
					m = &Metric{}
				}
				m.Name, m.File = name, file
				p := "metrics." + name
				m.Line = doc.Line(p)
				validateMetric(doc, p, m)
				cat.Metrics[name] = m
			}
			cat.DataThrough = strings.TrimSpace(mf.DataThrough)
		})
		problems = append(problems, doc.Problems...)
	} else if !isNotExist(err) {
		return nil, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	file = path.Join(dir, TargetsFile)
	if data, err := fs.ReadFile(fsys, file); err == nil {
		var tf targetsFile
		doc := strictyaml.Decode(file, data, &tf)
		doc.ValidateAfterDecode(func() {
			for _, name := range sortedKeys(tf.Targets) {
				p := "targets." + name
				if _, ok := cat.Metrics[name]; !ok {
					doc.Addf(p, "no metric named %q in %s (metrics: %s)", name, MetricsFile, strings.Join(sortedKeys(cat.Metrics), ", "))
				}
				for i, t := range tf.Targets[name] {
					if t.From != "" {
						if _, err := time.Parse("2006-01", t.From); err != nil {
							doc.Addf(fmt.Sprintf("%s[%d].from", p, i), "invalid month %q (expected YYYY-MM, such as 2026-01)", t.From)
						}
					}
					if i > 0 && t.From <= tf.Targets[name][i-1].From {
						doc.Addf(fmt.Sprintf("%s[%d].from", p, i), "targets must be listed by month, each after the one before")
					}
				}
				cat.Targets[name] = tf.Targets[name]
			}
		})
		problems = append(problems, doc.Problems...)
	} else if !isNotExist(err) {
		return nil, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return cat, problems, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func validateMetric(doc *strictyaml.Doc, p string, m *Metric) {
	v := validator{doc: doc}
	if !pageNameRE.MatchString(m.Name) {
		doc.Addf(p, "invalid metric name %q (use lower-case letters, digits, '_' or '-', starting with a letter)", m.Name)
	}
	v.text(p+".label", m.Label, true)
	v.text(p+".description", m.Description, false)
	v.format(p+".format", m.Format)
	if m.Format == Date || m.Format == Month {
		doc.Addf(p+".format", "a metric is a number: %q is a date format", m.Format)
	}
	if m.Good != "" && m.Good != "up" && m.Good != "down" {
		doc.Addf(p+".good", "unknown direction %q (expected one of: up, down)", m.Good)
	}
	if m.From == "" {
		m.From = DefaultMetricsModel
	}
	if m.Sum == "" {
		doc.Addf(p+".sum", "missing (the column summed over a month's rows)")
	}
	for key, col := range map[string]string{"from": m.From, "sum": m.Sum, "over": m.Over, "complete": m.Complete, "mature": m.Mature, "valid": m.Valid} {
		if col != "" && !identRE.MatchString(col) {
			doc.Addf(p+"."+key, "%q is not a plain column or model name", col)
		}
	}
	if m.Scale == 0 {
		m.Scale = 1
	}
	if m.Months == "" {
		m.Months = MonthsSum
		if m.Over != "" {
			m.Months = MonthsRatio
		}
	}
	if !slices.Contains([]string{MonthsSum, MonthsRatio, MonthsMean, MonthsLast, MonthsNone}, m.Months) {
		doc.Addf(p+".months", "unknown combination %q (expected one of: sum, ratio, mean, last, none)", m.Months)
	}
	if m.Months == MonthsRatio && m.Over == "" {
		doc.Addf(p+".months", "ratio needs over (the column that divides sum)")
	}
	v.requires(p+".requires", m.Requires)
}

// resolveMetrics checks the metrics a page's charts name and attaches their
// definitions; charts naming an unknown metric are problems.
func resolveMetrics(p *Page, doc *strictyaml.Doc, cat *Catalog) {
	known := func() string { return strings.Join(sortedKeys(cat.Metrics), ", ") }
	for i := range p.Sections {
		for j := range p.Sections[i].Charts {
			c := &p.Sections[i].Charts[j]
			cp := fmt.Sprintf("sections[%d].charts[%d]", i, j)
			if c.Metric != "" {
				m, ok := cat.Metrics[c.Metric]
				if !ok {
					doc.Addf(cp+".metric", "no metric named %q in %s (metrics: %s)", c.Metric, MetricsFile, known())
					continue
				}
				c.Defs = []*Metric{m}
				if c.Title.IsZero() {
					c.Title = m.Label
				}
				if c.Note.IsZero() {
					c.Note = m.Description
				}
			}
			var format Format
			for k, name := range c.Metrics {
				m, ok := cat.Metrics[name]
				if !ok {
					doc.Addf(fmt.Sprintf("%s.metrics[%d]", cp, k), "no metric named %q in %s (metrics: %s)", name, MetricsFile, known())
					continue
				}
				if k > 0 && m.Format != format && c.Kind.Cartesian() {
					doc.Addf(fmt.Sprintf("%s.metrics[%d]", cp, k), "metric %q is in %s, the chart's first metric in %s: a chart's metrics share one axis and format", name, orNumber(m.Format), orNumber(format))
				}
				format = m.Format
				c.Defs = append(c.Defs, m)
			}
		}
	}
	p.Targets = cat.Targets
	p.DataThrough = cat.DataThrough
}

func orNumber(f Format) Format {
	if f == "" {
		return Number
	}
	return f
}

// MetricNames returns the names of the metrics a page's charts read,
// sorted.
func (p Page) MetricNames() []string {
	set := map[string]bool{}
	for _, s := range p.Sections {
		for _, c := range s.Charts {
			for _, m := range c.Defs {
				set[m.Name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
