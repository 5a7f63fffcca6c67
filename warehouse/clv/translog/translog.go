// Package translog turns a transaction log (one row per purchase: who,
// when, how much) into the per-customer summaries of package clv. The
// definitions are DuckDB SQL (SummarySQL, TrackingSQL), which Summarize
// runs, for a file an analyst points `crmwh clv fit` at or the warehouse's
// fct_orders. History computes the same in Go from one read of the log,
// for callers that need many periods (the warehouse's CLV step).
//
// Definitions (DESIGN.md, "Analytics"): a purchase day is a calendar day
// with at least one transaction; x is the number of purchase days after
// the first in the calibration period; t_x and T are the days from the
// first purchase to the last purchase in calibration and to the end of
// calibration; the monetary value is the mean value of those x repeat
// purchase days (a day's value is the sum of its transactions); holdout x
// is the number of purchase days in the holdout period. Customers whose
// first purchase falls after the calibration period are not in the
// calibration cohort.
package translog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/duckdb"
)

// Source names a transaction log file and its columns.
type Source struct {
	// Path is a CSV file (header row; any extension but .parquet) or a
	// Parquet file; a glob such as data/*.csv reads several as one.
	Path string
	// Customer, Date and Amount name the columns (defaults customer_id,
	// date, amount). Amount "-" means the log has no amounts: the
	// summaries then have no monetary values.
	Customer, Date, Amount string
	// DateFormat is a strptime format for text dates, such as
	// "%d/%m/%Y" or "%Y-%m-%d %H:%M:%S%z". Empty reads ISO 8601 dates and
	// timestamps, with or without a UTC offset.
	DateFormat string
	// TimeZone is the zone whose calendar decides the day of a timestamp
	// that carries an offset or time zone (default UTC). Timestamps
	// without one are taken at their face value.
	TimeZone string
	// Where is an optional SQL condition on the file's columns that keeps
	// only purchases, e.g. "status = 'paid'". It must be one expression
	// (duckdb.CheckExpression).
	Where string
	// Files, when set, are the files Path names (see Expand): the caller
	// may then let the database read these files and no others.
	Files []string
}

// Expand returns the files a path names, as absolute paths: the path
// itself, or the files a glob (*, ?, [...]) matches, sorted. A glob that
// matches nothing is an error naming it.
func Expand(path string) ([]string, error) {
	m := []string{path}
	if strings.ContainsAny(path, "*?[") {
		var err error
		if m, err = filepath.Glob(path); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrLog, path, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%w: no file matches %s", ErrLog, path)
		}
	}
	for i, f := range m {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		m[i] = a
	}
	return m, nil
}

// NoAmount as Source.Amount says the log has no amounts.
const NoAmount = "-"

func (s Source) withDefaults() Source {
	if s.Customer == "" {
		s.Customer = "customer_id"
	}
	if s.Date == "" {
		s.Date = "date"
	}
	if s.Amount == "" {
		s.Amount = "amount"
	}
	if s.TimeZone == "" {
		s.TimeZone = "UTC"
	}
	return s
}

// Options choose the calibration and holdout periods. Dates are calendar
// days; both ends are inclusive.
type Options struct {
	// CalibrationEnd is the last day of the calibration period (zero: the
	// log's last date, which leaves no holdout).
	CalibrationEnd time.Time
	// HoldoutEnd is the last day of the holdout period (zero: the log's
	// last date).
	HoldoutEnd time.Time
}

// Log is a summarised transaction log. Times in the summaries and the
// tracking series are in days; Scaled converts them.
type Log struct {
	// Customers are the ids of the calibration cohort, sorted; the other
	// slices are in the same order.
	Customers []string
	// FirstPurchase is each customer's first purchase day.
	FirstPurchase []time.Time
	// Calibration holds each customer's (x, t_x, T, monetary) in days.
	Calibration []clv.Summary
	// Holdout is each customer's number of purchase days in the holdout.
	Holdout []float64
	// Rows is the number of transactions read (after Where); FirstDate
	// and LastDate are the log's first and last purchase days.
	Rows                int64
	FirstDate, LastDate time.Time
	// CalibrationEnd and HoldoutEnd are the periods used.
	CalibrationEnd, HoldoutEnd time.Time
	// Tracking is the weekly cumulative repeat purchases of the cohort, at
	// CalibrationEnd + 7k days for every whole week back to the first
	// purchase and forward to HoldoutEnd (which ends the series). Time is
	// in days from CalibrationEnd; Expected is left for clv.Validate.
	Tracking []clv.TrackPoint
}

// HoldoutDays is the length of the holdout period in days.
func (l *Log) HoldoutDays() float64 { return days(l.CalibrationEnd, l.HoldoutEnd) }

// Scaled returns the calibration summaries and the tracking series with
// times in unit u.
func (l *Log) Scaled(u clv.Unit) ([]clv.Summary, []clv.TrackPoint) {
	s := make([]clv.Summary, len(l.Calibration))
	for i, c := range l.Calibration {
		s[i] = clv.Summary{X: c.X, Tx: u.FromDays(c.Tx), T: u.FromDays(c.T), Monetary: c.Monetary}
	}
	tr := make([]clv.TrackPoint, len(l.Tracking))
	for i, p := range l.Tracking {
		tr[i] = clv.TrackPoint{Time: u.FromDays(p.Time), Actual: p.Actual, Expected: p.Expected}
	}
	return s, tr
}

// ErrLog is wrapped by errors about the contents of a transaction log: a
// missing column, a date or amount that does not parse, no rows.
var ErrLog = errors.New("bad transaction log")

// Querier is what the functions here need of a DuckDB connection:
// *sql.DB, *sql.Conn (as a warehouse build step gets) and *sql.Tx all
// have these methods.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Load reads a transaction log file into a temporary table
// clv_transactions(customer_id VARCHAR, purchase_date DATE, amount DOUBLE,
// problem INTEGER), checking every row (problem is 0 in every row of a log
// that loads), and summarises it. Errors name the file, the column and,
// for a value that does not parse, the data row (1 is the first row after
// the header) and the value.
//
// DuckDB's temporary tables belong to one connection: given a *sql.DB,
// Load does its work on one connection of the pool and drops the table
// before returning; given a *sql.Conn or *sql.Tx, the table stays there
// for the caller to query.
func Load(ctx context.Context, q Querier, src Source, o Options) (*Log, error) {
	src = src.withDefaults()
	if db, ok := q.(*sql.DB); ok {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading transaction log %s: %w", src.Path, err)
		}
		defer conn.Close()
		defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS clv_transactions")
		q = conn
	}
	if err := loadTable(ctx, q, src); err != nil {
		return nil, err
	}
	l, err := Summarize(ctx, q, "clv_transactions", o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, err)
	}
	return l, nil
}

// reader returns the table function that reads the file.
func reader(src Source) string {
	p := duckdb.QuoteString(src.Path)
	if len(src.Files) > 0 {
		q := make([]string, len(src.Files))
		for i, f := range src.Files {
			q[i] = duckdb.QuoteString(f)
		}
		p = "[" + strings.Join(q, ", ") + "]"
	}
	if strings.EqualFold(filepath.Ext(src.Path), ".parquet") {
		return "read_parquet(" + p + ")"
	}
	return "read_csv(" + p + ", header = true, all_varchar = true)"
}

func loadTable(ctx context.Context, db Querier, src Source) error {
	rd := reader(src)
	// The file's columns and types.
	rows, err := db.QueryContext(ctx, "DESCRIBE SELECT * FROM "+rd)
	if err != nil {
		return readError(src, err)
	}
	types := map[string]string{} // lower-case name → type
	names := map[string]string{} // lower-case name → name in the file
	var order []string
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			rows.Close()
			return fmt.Errorf("reading transaction log %s: %w", src.Path, err)
		}
		types[strings.ToLower(name)] = typ
		names[strings.ToLower(name)] = name
		order = append(order, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading transaction log %s: %w", src.Path, err)
	}
	col := func(flag, want string) (string, string, error) {
		n, ok := names[strings.ToLower(want)]
		if !ok {
			return "", "", fmt.Errorf("%w: %s has no %s column %q (its columns: %s)", ErrLog, src.Path, flag, want, strings.Join(order, ", "))
		}
		return duckdb.QuoteIdent(n), types[strings.ToLower(want)], nil
	}
	cust, _, err := col("customer", src.Customer)
	if err != nil {
		return err
	}
	date, dateType, err := col("date", src.Date)
	if err != nil {
		return err
	}
	amountExpr, amountRaw := "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR)"
	if src.Amount != NoAmount {
		amt, amtType, err := col("amount", src.Amount)
		if err != nil {
			return err
		}
		amountRaw = "CAST(" + amt + " AS VARCHAR)"
		amountExpr = "try_cast(" + amt + " AS DOUBLE)"
		if isNumeric(amtType) {
			amountExpr = "CAST(" + amt + " AS DOUBLE)"
		}
	}
	tz := duckdb.QuoteString(src.TimeZone)
	if err := checkTimeZone(ctx, db, src.TimeZone); err != nil {
		return err
	}
	dateExpr := dateSQL(date, dateType, src.DateFormat, tz)
	where := ""
	if strings.TrimSpace(src.Where) != "" {
		if err := duckdb.CheckExpression(ctx, db, src.Where); err != nil {
			return fmt.Errorf("%w: the condition %q on %s: %v", ErrLog, src.Where, src.Path, err)
		}
		where = "WHERE (\n" + src.Where + "\n)"
	}
	// One pass builds the table and classifies each row: 0 fine, 1 no
	// customer id, 2 no date, 3 a date that does not parse, 4 an amount
	// that is not a number. The derived columns get names a file cannot
	// clash with.
	typed := fmt.Sprintf(`SELECT
  CAST(%[1]s AS VARCHAR) AS __clv_customer,
  %[2]s AS __clv_date,
  %[3]s AS __clv_amount,
  CAST(%[4]s AS VARCHAR) AS __clv_raw_date,
  %[5]s AS __clv_raw_amount`, cust, dateExpr, amountExpr, date, amountRaw)
	problem := `CASE
    WHEN __clv_customer IS NULL OR trim(__clv_customer) = '' THEN 1
    WHEN __clv_raw_date IS NULL THEN 2
    WHEN __clv_date IS NULL THEN 3
    WHEN __clv_raw_amount IS NOT NULL AND trim(__clv_raw_amount) <> '' AND __clv_amount IS NULL THEN 4
    ELSE 0 END`
	q := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE clv_transactions AS
SELECT __clv_customer AS customer_id, __clv_date AS purchase_date, __clv_amount AS amount, %s AS problem
FROM (%s, * FROM %s %s)`, problem, typed, rd, where)
	if _, err := db.ExecContext(ctx, q); err != nil {
		msg := err.Error()
		if where != "" && (strings.HasPrefix(msg, "Binder Error") || strings.HasPrefix(msg, "Parser Error")) {
			return fmt.Errorf("%w: the condition %q on %s: %s", ErrLog, src.Where, src.Path, firstLines(msg, 1))
		}
		return readError(src, err)
	}
	var bad int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM clv_transactions WHERE problem <> 0`).Scan(&bad); err != nil {
		return fmt.Errorf("checking transaction log %s: %w", src.Path, err)
	}
	if bad == 0 {
		return nil
	}
	// Something is wrong: read the file again with row numbers (taken
	// before the filter, in file order: DuckDB keeps insertion order for
	// a scan) to say where.
	var rowNo, n, kind int64
	var rawDate, rawAmount sql.NullString
	err = db.QueryRowContext(ctx, fmt.Sprintf(`WITH rows AS (
  SELECT __clv_row, __clv_raw_date, __clv_raw_amount, %s AS problem
  FROM (SELECT row_number() OVER () AS __clv_row, %s, * FROM %s %s)
), worst AS (SELECT min(problem) FILTER (WHERE problem <> 0) AS kind FROM rows)
SELECT min(__clv_row), count(*), any_value(kind), arg_min(__clv_raw_date, __clv_row), arg_min(__clv_raw_amount, __clv_row)
FROM rows, worst WHERE problem = kind`, problem, strings.TrimPrefix(typed, "SELECT"), rd, where)).
		Scan(&rowNo, &n, &kind, &rawDate, &rawAmount)
	if err != nil {
		return fmt.Errorf("checking transaction log %s: %w", src.Path, err)
	}
	var what string
	switch kind {
	case 1:
		what = fmt.Sprintf("has no customer id (column %s)", src.Customer)
	case 2:
		what = fmt.Sprintf("has no date (column %s)", src.Date)
	case 3:
		what = fmt.Sprintf("date %q in column %s does not parse", rawDate.String, src.Date)
		if src.DateFormat != "" {
			what += fmt.Sprintf(" with format %q", src.DateFormat)
		} else {
			what += " as an ISO date or timestamp (give the format with --date-format)"
		}
	default:
		what = fmt.Sprintf("amount %q in column %s is not a number", rawAmount.String, src.Amount)
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf(" (and %d more rows like it)", n-1)
	}
	return fmt.Errorf("%w: %s, row %d: %s%s", ErrLog, src.Path, rowNo, what, more)
}

func isNumeric(typ string) bool {
	t := strings.ToUpper(typ)
	for _, p := range []string{"DECIMAL", "DOUBLE", "FLOAT", "REAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "UHUGEINT"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// dateSQL returns an expression giving the calendar day of the date column.
func dateSQL(col, typ, format, tz string) string {
	t := strings.ToUpper(typ)
	switch {
	case format != "":
		v := "try_strptime(CAST(" + col + " AS VARCHAR), " + duckdb.QuoteString(format) + ")"
		if strings.Contains(format, "%z") || strings.Contains(format, "%Z") {
			return "CAST(timezone(" + tz + ", " + v + ") AS DATE)"
		}
		return "CAST(" + v + " AS DATE)"
	case t == "DATE":
		return col
	case strings.HasPrefix(t, "TIMESTAMP WITH TIME ZONE"):
		return "CAST(timezone(" + tz + ", " + col + ") AS DATE)"
	case strings.HasPrefix(t, "TIMESTAMP"):
		return "CAST(" + col + " AS DATE)"
	}
	// Text: with a UTC offset (Z, +08, +08:00, +0800) an instant, whose
	// day is taken in the time zone; without, a wall-clock date or time.
	v := "CAST(" + col + " AS VARCHAR)"
	return "CASE WHEN length(" + v + ") = 10 THEN try_cast(" + v + " AS DATE) " +
		"WHEN regexp_matches(trim(" + v + `), '(Z|[+-]\d\d(:?\d\d)?)$') ` +
		"THEN CAST(timezone(" + tz + ", try_cast(trim(" + v + ") AS TIMESTAMPTZ)) AS DATE) " +
		"ELSE CAST(try_cast(trim(" + v + ") AS TIMESTAMP) AS DATE) END"
}

func checkTimeZone(ctx context.Context, db Querier, tz string) error {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_timezone_names() WHERE name = ?", tz).Scan(&n)
	if err != nil {
		return fmt.Errorf("checking time zone %q: %w", tz, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: unknown time zone %q (use a name such as UTC or Asia/Shanghai)", ErrLog, tz)
	}
	return nil
}

func days(a, b time.Time) float64 {
	return float64(b.Sub(a).Round(time.Hour).Hours() / 24)
}

func dateLit(t time.Time) string { return "DATE '" + t.Format(time.DateOnly) + "'" }

// purchaseDays is the common part of the queries: one row per customer and
// purchase day up to the holdout end, with the day's value.
func purchaseDays(relation string, holdoutEnd time.Time) string {
	return fmt.Sprintf(`WITH purchase_days AS (
  SELECT customer_id, purchase_date AS day, sum(amount) AS amount
  FROM %s
  WHERE purchase_date <= %s AND customer_id IS NOT NULL
  GROUP BY customer_id, purchase_date
)`, relation, dateLit(holdoutEnd))
}

// SummarySQL returns a query over relation, which has columns customer_id,
// purchase_date (DATE) and amount (DOUBLE, may be NULL), giving one row
// per customer whose first purchase is on or before calibrationEnd:
//
//	customer_id, first_purchase DATE, x BIGINT, t_x BIGINT, T BIGINT (days),
//	monetary DOUBLE (NULL when x = 0), holdout_x BIGINT
//
// ordered by customer_id. Purchases after holdoutEnd are ignored. The
// monetary value is the calibration days' total less the first day's,
// divided by x.
func SummarySQL(relation string, calibrationEnd, holdoutEnd time.Time) string {
	cal := dateLit(calibrationEnd)
	return purchaseDays(relation, holdoutEnd) + fmt.Sprintf(`
SELECT customer_id,
  min(day) AS first_purchase,
  count(*) FILTER (WHERE day <= %[1]s) - 1 AS x,
  date_diff('day', min(day), max(day) FILTER (WHERE day <= %[1]s)) AS t_x,
  date_diff('day', min(day), %[1]s) AS "T",
  CASE WHEN count(*) FILTER (WHERE day <= %[1]s) > 1
    THEN (sum(amount) FILTER (WHERE day <= %[1]s) - arg_min(amount, day)) / (count(*) FILTER (WHERE day <= %[1]s) - 1)
  END AS monetary,
  count(*) FILTER (WHERE day > %[1]s) AS holdout_x
FROM purchase_days
GROUP BY customer_id
HAVING min(day) <= %[1]s
ORDER BY customer_id`, cal)
}

// TrackingSQL returns a query over relation (as SummarySQL) giving the
// calibration cohort's repeat purchase days per day: day (days from
// calibrationEnd, negative before it), repeat_days, ordered by day.
func TrackingSQL(relation string, calibrationEnd, holdoutEnd time.Time) string {
	cal := dateLit(calibrationEnd)
	return purchaseDays(relation, holdoutEnd) + fmt.Sprintf(`, cohort AS (
  SELECT customer_id, min(day) AS first_day FROM purchase_days GROUP BY customer_id HAVING min(day) <= %[1]s
)
SELECT date_diff('day', %[1]s, day) AS day, count(*) AS repeat_days
FROM purchase_days JOIN cohort USING (customer_id)
WHERE day > first_day
GROUP BY 1
ORDER BY 1`, cal)
}

// Summarize summarises a relation with columns customer_id, purchase_date
// and amount (a table, a view or a parenthesised query) with SummarySQL
// and TrackingSQL: the quickest way to one summary. For several periods
// of the same log, ReadHistory once and History.Summarize each.
func Summarize(ctx context.Context, db Querier, relation string, o Options) (*Log, error) {
	n, first, last, err := extent(ctx, db, relation)
	if err != nil {
		return nil, err
	}
	l, err := newLog(n, first, last, o)
	if err != nil {
		return nil, err
	}

	// database/sql converts every value it scans, at about a microsecond
	// each: x, t_x and T travel packed in one BIGINT (each is below 2^21
	// days), and the first purchase is the calibration end less T.
	rows, err := db.QueryContext(ctx, `SELECT customer_id, (x << 42) | (t_x << 21) | "T", monetary, holdout_x FROM (`+
		SummarySQL(relation, l.CalibrationEnd, l.HoldoutEnd)+`)`)
	if err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	defer rows.Close()
	const mask = 1<<21 - 1
	for rows.Next() {
		var id string
		var packed, hx int64
		var m sql.NullFloat64
		if err := rows.Scan(&id, &packed, &m, &hx); err != nil {
			return nil, fmt.Errorf("summarising transactions: %w", err)
		}
		T := packed & mask
		l.Customers = append(l.Customers, id)
		l.FirstPurchase = append(l.FirstPurchase, l.CalibrationEnd.AddDate(0, 0, -int(T)))
		l.Calibration = append(l.Calibration, clv.Summary{X: float64(packed >> 42), Tx: float64(packed >> 21 & mask), T: float64(T), Monetary: m.Float64})
		l.Holdout = append(l.Holdout, float64(hx))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	if err := l.track(ctx, db, relation); err != nil {
		return nil, err
	}
	return l, nil
}

// track fills the weekly tracking series from TrackingSQL's daily counts.
func (l *Log) track(ctx context.Context, db Querier, relation string) error {
	rows, err := db.QueryContext(ctx, TrackingSQL(relation, l.CalibrationEnd, l.HoldoutEnd))
	if err != nil {
		return fmt.Errorf("tracking repeat purchases: %w", err)
	}
	defer rows.Close()
	var dayNo, counts []int64
	for rows.Next() {
		var d, n int64
		if err := rows.Scan(&d, &n); err != nil {
			return fmt.Errorf("tracking repeat purchases: %w", err)
		}
		dayNo = append(dayNo, d)
		counts = append(counts, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tracking repeat purchases: %w", err)
	}
	l.weekly(dayNo, counts)
	return nil
}

// extent gives the number of transactions and the first and last
// purchase days of a relation.
func extent(ctx context.Context, db Querier, relation string) (int64, time.Time, time.Time, error) {
	var n int64
	var first, last sql.NullTime
	err := db.QueryRowContext(ctx, "SELECT count(*), min(purchase_date), max(purchase_date) FROM "+relation).Scan(&n, &first, &last)
	if err != nil {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("summarising transactions: %w", err)
	}
	if n == 0 || !first.Valid {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("%w: no transactions", ErrLog)
	}
	return n, dayOf(first.Time.UTC()), dayOf(last.Time.UTC()), nil
}

// newLog starts the summary of a log of n transactions from first to
// last with the periods o (zero ends as in Options), checked.
func newLog(n int64, first, last time.Time, o Options) (*Log, error) {
	l := &Log{Rows: n, FirstDate: first, LastDate: last, CalibrationEnd: o.CalibrationEnd, HoldoutEnd: o.HoldoutEnd}
	if l.HoldoutEnd.IsZero() {
		l.HoldoutEnd = l.LastDate
	}
	if l.CalibrationEnd.IsZero() {
		l.CalibrationEnd = l.HoldoutEnd
	}
	l.CalibrationEnd = dayOf(l.CalibrationEnd)
	l.HoldoutEnd = dayOf(l.HoldoutEnd)
	switch {
	case l.HoldoutEnd.Before(l.CalibrationEnd):
		return nil, fmt.Errorf("holdout end %s is before calibration end %s", l.HoldoutEnd.Format(time.DateOnly), l.CalibrationEnd.Format(time.DateOnly))
	case l.CalibrationEnd.Before(l.FirstDate):
		return nil, fmt.Errorf("%w: calibration end %s is before the first purchase (%s)", ErrLog, l.CalibrationEnd.Format(time.DateOnly), l.FirstDate.Format(time.DateOnly))
	case days(l.FirstDate, l.HoldoutEnd) >= 1<<21:
		return nil, fmt.Errorf("%w: the purchases span %s to %s, more than 5,000 years", ErrLog, l.FirstDate.Format(time.DateOnly), l.HoldoutEnd.Format(time.DateOnly))
	}

	return l, nil
}

// weekly fills the weekly tracking series from the daily counts of repeat
// purchase days (dayNo in days from the calibration end, ascending).
func (l *Log) weekly(dayNo, counts []int64) {
	// Points every 7 days from the calibration end, back to the first
	// purchase and forward to the holdout end, which is always the last.
	back := int64(days(l.FirstDate, l.CalibrationEnd))
	fwd := int64(days(l.CalibrationEnd, l.HoldoutEnd))
	var times []int64
	for t := -(back / 7) * 7; t <= fwd; t += 7 {
		times = append(times, t)
	}
	if len(times) == 0 || times[len(times)-1] != fwd {
		times = append(times, fwd)
	}
	var cum float64
	k := 0
	for _, t := range times {
		for k < len(dayNo) && dayNo[k] <= t {
			cum += float64(counts[k])
			k++
		}
		l.Tracking = append(l.Tracking, clv.TrackPoint{Time: float64(t), Actual: cum})
	}
}

func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// readError reports a file DuckDB could not read, with the first lines of
// its (long) explanation.
func readError(src Source, err error) error {
	return fmt.Errorf("%w: reading %s (it must be well-formed CSV with a header row, or Parquet; several files need the same columns): %s",
		ErrLog, src.Path, firstLines(err.Error(), 2))
}

// firstLines keeps the first n lines of DuckDB's long error messages.
func firstLines(s string, n int) string {
	ls := strings.SplitN(s, "\n", n+1)
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.TrimSpace(strings.Join(ls, " "))
}
