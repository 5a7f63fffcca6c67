package render

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"crmwh/dashboards/spec"
)

// siteStatus is what every page says about how fresh its data are: the
// last day the data cover (metrics.yaml's data_through), the month the
// pages' KPI cards show, and the freshness tests that did not pass in
// their latest run, for the banner.
type siteStatus struct {
	// DataThrough is the last day the data cover (zero when unknown).
	DataThrough time.Time
	// Month is the last complete month: the month of DataThrough when it
	// is the month's last day, else the month before.
	Month time.Time
	Stale []staleTest
	// Err is why data_through could not be read; the pages are written
	// without it and the run fails, as for a chart.
	Err error
}

// staleTest is a freshness test that warned or failed in its latest run.
type staleTest struct {
	Test, Model, Column, Status string
	// Latest is the newest value of the column, when the test recorded it.
	Latest time.Time
}

// loadStatus reads the data-through day and the freshness tests.
func loadStatus(ctx context.Context, db *sql.DB, pages []spec.Page, o Options) (siteStatus, error) {
	var st siteStatus
	q := ""
	for _, p := range pages {
		if p.DataThrough != "" {
			q = p.DataThrough
			break
		}
	}
	if q != "" {
		r, err := runQuery(ctx, db, q)
		if ctx.Err() != nil {
			return st, fmt.Errorf("rendering dashboards: %w", ctx.Err())
		}
		switch {
		case err != nil:
			st.Err = fmt.Errorf("%s: data_through: %w", spec.MetricsFile, err)
		case len(r.rows) != 1 || len(r.columns) != 1 || (r.rows[0][0].kind != timeCell && r.rows[0][0].kind != nullCell):
			st.Err = fmt.Errorf("%s: data_through: the query must return one date (it returned %d rows of %s)", spec.MetricsFile, len(r.rows), strings.Join(r.types, ", "))
		case r.rows[0][0].kind == timeCell:
			t := r.rows[0][0].t
			st.DataThrough = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			st.Month = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
			if st.DataThrough.AddDate(0, 0, 1).Day() != 1 {
				st.Month = st.Month.AddDate(0, -1, 0)
			}
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'test_results'`).Scan(&n); err != nil {
		return st, fmt.Errorf("rendering dashboards: reading the freshness tests: %w", err)
	}
	if n == 0 {
		return st, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT test, coalesce(model, ''), coalesce(column_name, ''), status, coalesce(sample, '')
		FROM (SELECT *, row_number() OVER (PARTITION BY test ORDER BY tested_at DESC) AS n
		      FROM meta.test_results WHERE kind = 'freshness')
		WHERE n = 1 AND status <> 'pass'
		ORDER BY test`)
	if err != nil {
		return st, fmt.Errorf("rendering dashboards: reading the freshness tests: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t staleTest
		var sample string
		if err := rows.Scan(&t.Test, &t.Model, &t.Column, &t.Status, &sample); err != nil {
			return st, fmt.Errorf("rendering dashboards: reading the freshness tests: %w", err)
		}
		var rs []struct {
			Latest string `json:"latest"`
		}
		if json.Unmarshal([]byte(sample), &rs) == nil && len(rs) > 0 {
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02"} {
				if lt, err := time.Parse(layout, rs[0].Latest); err == nil {
					t.Latest = lt
					break
				}
			}
		}
		st.Stale = append(st.Stale, t)
	}
	return st, rows.Err()
}

// statusTexts are the freshness words of one language.
type statusTexts struct {
	DataThrough, Refreshed, NoDataThrough, Stale, StaleLatest, StaleNoLatest, Warn, Fail, LastMonth string
}

var statusWords = map[string]statusTexts{
	"en": {
		DataThrough:   "Data through",
		Refreshed:     "Refreshed",
		NoDataThrough: "unknown",
		Stale:         "The data may be out of date:",
		StaleLatest:   "the newest %s is from %s, %d days before this refresh (freshness test %s, %s).",
		StaleNoLatest: "%s is not fresh (freshness test %s, %s).",
		Warn:          "warning",
		Fail:          "failed",
		LastMonth:     "Last month",
	},
	"zh": {
		DataThrough:   "数据截至",
		Refreshed:     "刷新于",
		NoDataThrough: "未知",
		Stale:         "数据可能已过时：",
		StaleLatest:   "%s 的最新数据为 %s，比本次刷新早 %d 天（新鲜度测试 %s：%s）。",
		StaleNoLatest: "%s 不够新（新鲜度测试 %s：%s）。",
		Warn:          "警告",
		Fail:          "失败",
		LastMonth:     "上月",
	},
}

// banner is the stale-data banner's lines in a language (none when every
// freshness test passed).
func (st siteStatus) banner(lang string, refreshed time.Time) []string {
	w := statusWords[lang]
	var out []string
	for _, t := range st.Stale {
		what := t.Model
		if t.Column != "" {
			what += "." + t.Column
		}
		status := w.Fail
		if t.Status == "warn" {
			status = w.Warn
		}
		if t.Latest.IsZero() {
			out = append(out, fmt.Sprintf(w.StaleNoLatest, what, t.Test, status))
			continue
		}
		latest := t.Latest.In(refreshed.Location())
		days := int(refreshed.Sub(latest).Hours() / 24)
		out = append(out, fmt.Sprintf(w.StaleLatest, what, latest.Format("2006-01-02"), days, t.Test, status))
	}
	return out
}

// monthTitle replaces {month} in a heading with the month the page's
// cards show, in the language.
func (st siteStatus) monthTitle(title, lang string) string {
	if !strings.Contains(title, "{month}") {
		return title
	}
	name := statusWords[lang].LastMonth
	if !st.Month.IsZero() {
		f := Formatter{Lang: lang}
		name = f.LongMonth(st.Month)
	}
	return strings.ReplaceAll(title, "{month}", name)
}

// LongMonth writes a month in full: October 2026, 2026年10月.
func (f Formatter) LongMonth(t time.Time) string {
	if f.Lang == "zh" {
		return f.Time(t, spec.Month, true)
	}
	return t.Format("January 2006")
}
