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
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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
	// date, amount), or are SQL expressions over the file's columns, such
	// as "Quantity * UnitPrice" or "strptime(InvoiceDate, '%m/%d/%Y %H:%M')".
	// Amount "-" means the log has no amounts: the summaries then have no
	// monetary values. A CSV file's columns are typed by DuckDB's sniffer
	// (a customer column named here is always read as text, so ids keep
	// their leading zeros).
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
	// only purchases, e.g. "status = 'paid'" or "Quantity > 0". It must be
	// one expression (duckdb.CheckExpression), as must Customer, Date and
	// Amount when they are expressions.
	Where string
	// Whitespace reads a text file whose columns are separated by runs of
	// spaces or tabs (leading and trailing blanks ignored), with a header
	// line, such as the CDNOW log; it is turned into CSV first.
	Whitespace bool
	// Files, when set, are the files Path names (see Expand), to read
	// instead of Path: the caller may then let the database read these
	// files and no others.
	Files []string
}

// NoAmount as Source.Amount says the log has no amounts.
const NoAmount = "-"

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
	// NoCustomerIDs leaves Log.Customers empty: reading a million ids
	// costs about half a second, and a fit does not need them.
	NoCustomerIDs bool
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
	// HoldoutRecency is each customer's t_x at the holdout end: the days
	// from the first purchase to the last one up to HoldoutEnd. With x +
	// Holdout and T + HoldoutDays it is the summary over calibration and
	// holdout together (Full), which the holdout log-likelihood needs.
	HoldoutRecency []float64
	// Tracking is the weekly cumulative repeat purchases of the cohort, at
	// CalibrationEnd + 7k days for every whole week back to the first
	// purchase and forward to HoldoutEnd (which ends the series). Time is
	// in days from CalibrationEnd; Expected is left for clv.Validate.
	Tracking []clv.TrackPoint
}

// HoldoutDays is the length of the holdout period in days.
func (l *Log) HoldoutDays() float64 { return days(l.CalibrationEnd, l.HoldoutEnd) }

// Full returns each customer's summary over calibration and holdout
// together, in unit u (the monetary values are the calibration ones).
func (l *Log) Full(u clv.Unit) []clv.Summary {
	h := l.HoldoutDays()
	out := make([]clv.Summary, len(l.Calibration))
	for i, c := range l.Calibration {
		out[i] = clv.Summary{X: c.X + l.Holdout[i], Tx: u.FromDays(l.HoldoutRecency[i]), T: u.FromDays(c.T + h), Monetary: c.Monetary}
	}
	return out
}

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

// Load reads a transaction log file, checking every row, and summarises it
// for the periods o. Errors name the file, the column or expression and,
// for a value that does not parse, the data row (1 is the first row after
// the header) and the value.
//
// The file is read once, into a temporary table clv_purchase_days
// (customer_id, purchase_date, amount, rows: one row per customer and
// purchase day). DuckDB's temporary tables belong to one connection: given
// a *sql.DB, Load works on one connection of the pool and drops the table
// before returning; given a *sql.Conn or *sql.Tx, the table stays there
// for the caller to query.
func Load(ctx context.Context, q Querier, src Source, o Options) (*Log, error) {
	src = src.withDefaults()
	read := src
	if src.Whitespace {
		files, cleanup, err := WhitespaceToCSV(src, "")
		if err != nil {
			return nil, err
		}
		defer cleanup()
		read.Files, read.Whitespace = files, false
	}
	q, done, err := oneConnection(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading transaction log %s: %w", src.Path, err)
	}
	defer done()
	typed, err := typedQuery(ctx, q, src, read)
	if err != nil {
		return nil, err
	}
	// One pass: the purchase days, with the number of rows whose amount
	// is text that is not a number. A row without a customer id or a date
	// that parses ends up in a purchase day whose key says so; checking
	// the keys after grouping costs far less than checking every row.
	badAmounts := "0"
	if typed.amountIsText {
		badAmounts = "count(*) FILTER (WHERE __clv_raw_amount IS NOT NULL AND trim(__clv_raw_amount) <> '' AND __clv_amount IS NULL)"
	}
	if _, err := q.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE clv_purchase_days AS
SELECT __clv_customer AS customer_id, __clv_date AS purchase_date, sum(__clv_amount) AS amount, count(*) AS rows,
  `+badAmounts+` AS bad
FROM (`+typed.sql+`)
GROUP BY 1, 2`); err != nil {
		return nil, typed.execError(err)
	}
	bad, n, first, last, err := checkedExtent(ctx, q, "clv_purchase_days", "sum(rows)",
		"customer_id IS NULL OR purchase_date IS NULL OR bad > 0 OR trim(customer_id) = ''")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, err)
	}
	if bad > 0 {
		return nil, typed.problem(ctx, q)
	}
	l, err := summarizeDays(ctx, q, "clv_purchase_days", o, n, first, last)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Path, err)
	}
	return l, nil
}

// oneConnection returns a Querier that stays on one connection: q itself,
// or a connection of the pool q, which done closes after dropping the
// temporary tables.
func oneConnection(ctx context.Context, q Querier) (Querier, func(), error) {
	db, ok := q.(*sql.DB)
	if !ok {
		return q, func() {}, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	return conn, func() {
		conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS clv_purchase_days")
		conn.Close()
	}, nil
}

// WhitespaceToCSV writes the whitespace-separated files of src (its Files,
// else Path) as CSV files in dir (the system's temporary folder when
// empty) and returns their paths and a function that removes them. A
// caller that sandboxes the database lets it read these files.
func WhitespaceToCSV(src Source, dir string) ([]string, func(), error) {
	files := src.Files
	if len(files) == 0 {
		files = []string{src.Path}
	}
	var out []string
	cleanup := func() {
		for _, f := range out {
			os.Remove(f)
		}
	}
	for _, f := range files {
		c, err := whitespaceToCSV(f, dir)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		out = append(out, c)
	}
	return out, cleanup, nil
}

// whitespaceToCSV writes a whitespace-separated file as CSV to a temporary
// file in dir and returns its path.
func whitespaceToCSV(path, dir string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%w: reading %s: %v", ErrLog, path, err)
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, "crmwh-clv-*.csv")
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	w := csv.NewWriter(bufio.NewWriterSize(out, 1<<16))
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err = w.Write(f); err != nil {
			break
		}
	}
	if err == nil {
		err = sc.Err()
	}
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("%w: reading %s as whitespace-separated columns: %v", ErrLog, path, err)
	}
	return out.Name(), nil
}

// fileReader reads a log's files: Parquet, or CSV with the dialect and
// column types DuckDB's sniffer found in the first file.
type fileReader struct {
	files   string // the quoted path or list of paths
	parquet bool
	// csv holds the read_csv options the sniffer found, but the columns.
	csv string
	// names and types are the columns in order.
	names, types []string
}

// openReader finds the columns of the log's files: for CSV, by running
// DuckDB's sniffer once on the first file. Every later read_csv then has
// the dialect and the columns spelled out, so that DuckDB does not sniff
// again (each sniff reads a sample of the file: a tenth of a second on a
// 70 MB log, and a query that reads the file twice would sniff twice).
func openReader(ctx context.Context, db Querier, src, read Source) (*fileReader, error) {
	path := read.Path
	r := &fileReader{files: duckdb.QuoteString(path)}
	if len(read.Files) == 0 && strings.ContainsAny(path, "*?[") {
		// The sniffer reads one file: the first the glob names.
		files, err := Expand(path)
		if err != nil {
			return nil, err
		}
		read.Files = files
	}
	if len(read.Files) > 0 {
		q := make([]string, len(read.Files))
		for i, f := range read.Files {
			q[i] = duckdb.QuoteString(f)
		}
		r.files = "[" + strings.Join(q, ", ") + "]"
		path = read.Files[0]
	}
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		r.parquet = true
		names, types, err := describe(ctx, db, src, "DESCRIBE SELECT * FROM read_parquet("+r.files+")")
		if err != nil {
			return nil, err
		}
		r.names, r.types = names, types
		return r, nil
	}
	var delim, quote, escape, newLine, comment string
	var skip int64
	var columns []any
	var dateFormat, timestampFormat sql.NullString
	err := db.QueryRowContext(ctx, `SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, Columns, DateFormat, TimestampFormat
FROM sniff_csv(`+duckdb.QuoteString(path)+`, header = true)`).Scan(&delim, &quote, &escape, &newLine, &comment, &skip, &columns, &dateFormat, &timestampFormat)
	if err != nil {
		return nil, readError(src, err)
	}
	// The sniffer writes an option it left empty as "(empty)".
	opt := func(v string) string {
		if v == "(empty)" {
			v = ""
		}
		return duckdb.QuoteString(v)
	}
	r.csv = fmt.Sprintf("auto_detect = false, header = true, delim = %s, quote = %s, escape = %s, new_line = %s, comment = %s, skip = %d",
		opt(delim), opt(quote), opt(escape), opt(newLine), opt(comment), skip)
	if dateFormat.Valid && dateFormat.String != "" {
		r.csv += ", dateformat = " + duckdb.QuoteString(dateFormat.String)
	}
	if timestampFormat.Valid && timestampFormat.String != "" {
		r.csv += ", timestampformat = " + duckdb.QuoteString(timestampFormat.String)
	}
	for _, c := range columns {
		m, ok := c.(map[string]any)
		name, ok1 := m["name"].(string)
		typ, ok2 := m["type"].(string)
		if !ok || !ok1 || !ok2 {
			return nil, fmt.Errorf("reading transaction log %s: unexpected column %v from DuckDB's CSV sniffer", src.Path, c)
		}
		r.names, r.types = append(r.names, name), append(r.types, typ)
	}
	if len(r.names) == 0 {
		return nil, fmt.Errorf("%w: reading %s: no columns", ErrLog, src.Path)
	}
	return r, nil
}

// call returns the table function that reads the files, with the text
// columns (the customer and date columns, when named) read as VARCHAR
// from a CSV file: ids keep their leading zeros, and dates are parsed as
// docs/clv.md says, never by a guessed day-month order.
func (r *fileReader) call(text ...string) string {
	if r.parquet {
		return "read_parquet(" + r.files + ")"
	}
	cols := make([]string, len(r.names))
	for i, n := range r.names {
		typ := r.types[i]
		for _, c := range text {
			if c != "" && strings.EqualFold(c, n) {
				typ = "VARCHAR"
			}
		}
		cols[i] = duckdb.QuoteString(n) + ": " + duckdb.QuoteString(typ)
	}
	return "read_csv(" + r.files + ", " + r.csv + ", columns = {" + strings.Join(cols, ", ") + "})"
}

// typed is the query that reads a log's rows as __clv_customer VARCHAR,
// __clv_date DATE, __clv_amount DOUBLE and the raw date and amount text
// (for the checks), with the file's own columns after them.
type typed struct {
	src, read Source
	rd        string // the table function
	where     string
	columns   string // the query up to FROM
	sql       string
	// labels name the customer, date and amount for messages: "column x"
	// or "expression e".
	custLabel, dateLabel, amountLabel string
	// amountIsText says the amount is read from text, so a row's amount
	// may fail to parse.
	amountIsText bool
}

// problemSQL classifies a row of a typed query: 0 fine, 1 no customer
// id, 2 no date, 3 a date that does not parse, 4 an amount that is not a
// number.
const problemSQL = `CASE
    WHEN __clv_customer IS NULL OR trim(__clv_customer) = '' THEN 1
    WHEN __clv_raw_date IS NULL THEN 2
    WHEN __clv_date IS NULL THEN 3
    WHEN __clv_raw_amount IS NOT NULL AND trim(__clv_raw_amount) <> '' AND __clv_amount IS NULL THEN 4
    ELSE 0 END`

var identRE = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_]*$`)

// typedQuery reads the file's columns and types and builds the typed
// query. src is the log as the user named it, read the file to read.
func typedQuery(ctx context.Context, db Querier, src, read Source) (*typed, error) {
	fr, err := openReader(ctx, db, src, read)
	if err != nil {
		return nil, err
	}
	names, types, order := map[string]string{}, map[string]string{}, fr.names
	for i, n := range fr.names {
		names[strings.ToLower(n)] = n
		types[strings.ToLower(n)] = fr.types[i]
	}
	t := &typed{src: src, read: read}
	// resolve turns a flag's value into SQL: the quoted column when it
	// names one, else the expression as written; a bare name that is not
	// a column is reported as a missing column.
	resolve := func(flag, spec string) (string, string, string, error) {
		if n, ok := names[strings.ToLower(spec)]; ok {
			return duckdb.QuoteIdent(n), "column " + n, n, nil
		}
		if identRE.MatchString(spec) {
			return "", "", "", fmt.Errorf("%w: %s has no %s column %q (its columns: %s)", ErrLog, src.Path, flag, spec, strings.Join(order, ", "))
		}
		if err := duckdb.CheckExpression(ctx, db, spec); err != nil {
			return "", "", "", fmt.Errorf("%w: the %s expression %q on %s: %v", ErrLog, flag, spec, src.Path, err)
		}
		return "(" + spec + ")", "expression " + spec, "", nil
	}
	cust, custLabel, custCol, err := resolve("customer", src.Customer)
	if err != nil {
		return nil, err
	}
	date, dateLabel, dateCol, err := resolve("date", src.Date)
	if err != nil {
		return nil, err
	}
	t.rd = fr.call(custCol, dateCol)
	if !fr.parquet {
		for _, c := range []string{custCol, dateCol} {
			if c != "" {
				types[strings.ToLower(c)] = "VARCHAR"
			}
		}
	}
	t.custLabel, t.dateLabel, t.amountLabel = custLabel, dateLabel, "no amount"
	if strings.TrimSpace(src.Where) != "" {
		if err := duckdb.CheckExpression(ctx, db, src.Where); err != nil {
			return nil, fmt.Errorf("%w: the condition %q on %s: %v", ErrLog, src.Where, src.Path, err)
		}
		t.where = "WHERE (\n" + src.Where + "\n)"
	}
	// The type of each expression, and a clear message when one does not
	// bind.
	typeOf := func(flag, expr, label string) (string, error) {
		if n, ok := names[strings.ToLower(strings.Trim(expr, `"`))]; ok && strings.HasPrefix(label, "column") {
			return types[strings.ToLower(n)], nil
		}
		var name, typ string
		var null, key, def, extra sql.NullString
		err := db.QueryRowContext(ctx, "DESCRIBE SELECT "+expr+" AS v FROM "+t.rd).Scan(&name, &typ, &null, &key, &def, &extra)
		if err != nil {
			return "", fmt.Errorf("%w: the %s %s on %s: %s", ErrLog, flag, label, src.Path, firstLines(err.Error(), 1))
		}
		return typ, nil
	}
	if _, err := typeOf("--customer", cust, custLabel); err != nil {
		return nil, err
	}
	dateType, err := typeOf("--date", date, dateLabel)
	if err != nil {
		return nil, err
	}
	amountExpr, amountRaw := "CAST(NULL AS DOUBLE)", "CAST(NULL AS VARCHAR)"
	if src.Amount != NoAmount {
		amt, label, _, err := resolve("amount", src.Amount)
		if err != nil {
			return nil, err
		}
		t.amountLabel = label
		amtType, err := typeOf("--amount", amt, label)
		if err != nil {
			return nil, err
		}
		// A numeric column needs no check (and turning a million numbers
		// into text to check them costs a tenth of the read).
		amountExpr = "CAST(" + amt + " AS DOUBLE)"
		if !isNumeric(amtType) {
			amountRaw = "CAST(" + amt + " AS VARCHAR)"
			t.amountIsText = true
			amountExpr = "try_cast(" + amt + " AS DOUBLE)"
		}
	}
	if err := checkTimeZone(ctx, db, src.TimeZone); err != nil {
		return nil, err
	}
	t.columns = fmt.Sprintf(`SELECT
  CAST(%[1]s AS VARCHAR) AS __clv_customer,
  %[2]s AS __clv_date,
  %[3]s AS __clv_amount,
  CAST(%[4]s AS VARCHAR) AS __clv_raw_date,
  %[5]s AS __clv_raw_amount,
  *
FROM `, cust, dateSQL(date, dateType, src.DateFormat, duckdb.QuoteString(src.TimeZone)), amountExpr, date, amountRaw)
	t.sql = t.columns + t.rd + " " + t.where
	return t, nil
}

// describe returns a relation's column names and types, in order.
func describe(ctx context.Context, db Querier, src Source, query string) ([]string, []string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, nil, readError(src, err)
	}
	defer rows.Close()
	var names, types []string
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			return nil, nil, fmt.Errorf("reading transaction log %s: %w", src.Path, err)
		}
		names, types = append(names, name), append(types, typ)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("reading transaction log %s: %w", src.Path, err)
	}
	return names, types, nil
}

// execError explains a failed read: a condition that does not bind, or a
// file DuckDB cannot read.
func (t *typed) execError(err error) error {
	msg := err.Error()
	if t.where != "" && (strings.HasPrefix(msg, "Binder Error") || strings.HasPrefix(msg, "Parser Error")) {
		return fmt.Errorf("%w: the condition %q on %s: %s", ErrLog, t.src.Where, t.src.Path, firstLines(msg, 1))
	}
	if strings.HasPrefix(msg, "Invalid Input Error") || strings.HasPrefix(msg, "Conversion Error") {
		return fmt.Errorf("%w: evaluating the columns and expressions on %s: %s (try_strptime and try_cast give NULL instead, and the row is then reported)",
			ErrLog, t.src.Path, firstLines(msg, 1))
	}
	return readError(t.src, err)
}

// problem reads the file again with row numbers (taken before the filter,
// in file order: DuckDB keeps insertion order for a scan) to say which row
// is wrong and how.
func (t *typed) problem(ctx context.Context, db Querier) error {
	var rowNo, n, kind int64
	var rawDate, rawAmount sql.NullString
	inner := t.columns + "(SELECT row_number() OVER () AS __clv_row, * FROM " + t.rd + ") " + t.where
	err := db.QueryRowContext(ctx, fmt.Sprintf(`WITH rows AS (
  SELECT __clv_row, __clv_raw_date, __clv_raw_amount, %s AS problem FROM (%s)
), worst AS (SELECT min(problem) FILTER (WHERE problem <> 0) AS kind FROM rows)
SELECT min(__clv_row), count(*), any_value(kind), arg_min(__clv_raw_date, __clv_row), arg_min(__clv_raw_amount, __clv_row)
FROM rows, worst WHERE problem = kind`, problemSQL, inner)).Scan(&rowNo, &n, &kind, &rawDate, &rawAmount)
	if err != nil {
		return fmt.Errorf("checking transaction log %s: %w", t.src.Path, err)
	}
	var what string
	switch kind {
	case 1:
		what = fmt.Sprintf("has no customer id (%s)", t.custLabel)
	case 2:
		what = fmt.Sprintf("has no date (%s)", t.dateLabel)
	case 3:
		what = fmt.Sprintf("date %q in %s does not parse", rawDate.String, t.dateLabel)
		if t.src.DateFormat != "" {
			what += fmt.Sprintf(" with format %q", t.src.DateFormat)
		} else {
			what += " as an ISO date or timestamp (give the format with --date-format)"
		}
	default:
		what = fmt.Sprintf("amount %q in %s is not a number", rawAmount.String, t.amountLabel)
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf(" (and %d more rows like it)", n-1)
	}
	return fmt.Errorf("%w: %s, row %d: %s%s", ErrLog, t.src.Path, rowNo, what, more)
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

// summaryOfDays is the per-customer summary over purchase_days (one row per
// customer and day, with columns customer_id, day, amount), of the
// calibration cohort when cohort is set, else of every customer (the
// summary of one whose first purchase is after calibrationEnd is then
// meaningless but for first_purchase).
func summaryOfDays(calibrationEnd, holdoutEnd time.Time, cohort bool) string {
	having := ""
	if cohort {
		having = "\nHAVING min(day) <= " + dateLit(calibrationEnd)
	}
	return fmt.Sprintf(`
SELECT customer_id,
  min(day) AS first_purchase,
  count(*) FILTER (WHERE day <= %[1]s) - 1 AS x,
  date_diff('day', min(day), max(day) FILTER (WHERE day <= %[1]s)) AS t_x,
  date_diff('day', min(day), %[1]s) AS "T",
  CASE WHEN count(*) FILTER (WHERE day <= %[1]s) > 1
    THEN (sum(amount) FILTER (WHERE day <= %[1]s) - arg_min(amount, day)) / (count(*) FILTER (WHERE day <= %[1]s) - 1)
  END AS monetary,
  count(*) FILTER (WHERE day > %[1]s AND day <= %[2]s) AS holdout_x,
  date_diff('day', min(day), max(day) FILTER (WHERE day <= %[2]s)) AS holdout_t_x
FROM purchase_days
GROUP BY customer_id`, dateLit(calibrationEnd), dateLit(holdoutEnd)) + having
}

// trackingOfDays is the cohort's repeat purchase days per day over
// purchase_days.
func trackingOfDays(calibrationEnd, holdoutEnd time.Time) string {
	return fmt.Sprintf(`
SELECT date_diff('day', %[1]s, p.day) AS day, count(*) AS repeat_days
FROM purchase_days p JOIN (
  SELECT customer_id, min(day) AS first_day FROM purchase_days GROUP BY customer_id HAVING min(day) <= %[1]s
) c USING (customer_id)
WHERE p.day > c.first_day AND p.day <= %[2]s
GROUP BY 1
ORDER BY 1`, dateLit(calibrationEnd), dateLit(holdoutEnd))
}

// SummarySQL returns a query over relation, which has columns customer_id,
// purchase_date (DATE) and amount (DOUBLE, may be NULL), giving one row
// per customer whose first purchase is on or before calibrationEnd:
//
//	customer_id, first_purchase DATE, x BIGINT, t_x BIGINT, T BIGINT (days),
//	monetary DOUBLE (NULL when x = 0), holdout_x BIGINT, holdout_t_x BIGINT
//
// ordered by customer_id. Purchases after holdoutEnd are ignored. The
// monetary value is the calibration days' total less the first day's,
// divided by x; holdout_t_x is the recency at the holdout end.
func SummarySQL(relation string, calibrationEnd, holdoutEnd time.Time) string {
	return purchaseDays(relation, holdoutEnd) + summaryOfDays(calibrationEnd, holdoutEnd, true) + "\nORDER BY customer_id"
}

// TrackingSQL returns a query over relation (as SummarySQL) giving the
// calibration cohort's repeat purchase days per day: day (days from
// calibrationEnd, negative before it), repeat_days, ordered by day.
func TrackingSQL(relation string, calibrationEnd, holdoutEnd time.Time) string {
	return purchaseDays(relation, holdoutEnd) + trackingOfDays(calibrationEnd, holdoutEnd)
}

// Summarize summarises a relation with columns customer_id, purchase_date
// and amount (a table, a view or a parenthesised query) as SummarySQL and
// TrackingSQL define it, for the periods o. It reads the relation once
// into a temporary table of purchase days (kept on a *sql.Conn or
// *sql.Tx, as Load does). Customers come in the order of their ids. For
// several periods of the same log, ReadHistory once and History.Summarize
// each.
func Summarize(ctx context.Context, db Querier, relation string, o Options) (*Log, error) {
	q, done, err := oneConnection(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	defer done()
	if _, err := q.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE clv_purchase_days AS
SELECT customer_id, purchase_date, sum(amount) AS amount, count(*) AS rows
FROM `+relation+`
GROUP BY ALL`); err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	n, first, last, err := extent(ctx, q, "clv_purchase_days", "sum(rows)")
	if err != nil {
		return nil, err
	}
	return summarizeDays(ctx, q, "clv_purchase_days", o, n, first, last)
}

// summarizeDays summarises a table of purchase days (customer_id,
// purchase_date, amount, rows).
func summarizeDays(ctx context.Context, db Querier, days string, o Options, n int64, first, last time.Time) (*Log, error) {
	l, err := newLog(n, first, last, o)
	if err != nil {
		return nil, err
	}
	with := fmt.Sprintf("WITH purchase_days AS (SELECT customer_id, purchase_date AS day, amount FROM %s WHERE purchase_date <= %s AND customer_id IS NOT NULL)",
		days, dateLit(l.HoldoutEnd))
	// database/sql converts every value it scans, at about a microsecond
	// each, and even the driver's own rows take 20 ns a number, more than
	// 100 ns a value of a column with NULLs and more still a string: x,
	// t_x and T travel packed in one BIGINT (each is below 2^21 days), the
	// holdout x and recency in another, the monetary value never NULL (0
	// when there is none, as clv.Summary has it), and the ids only when
	// asked for.
	//
	// The customers go to a temporary table first, those whose first
	// purchase is after the calibration period too: the tracking series
	// leaves out their purchase days.
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE clv_customers AS `+with+`
SELECT customer_id, first_purchase,
  CASE WHEN x >= 0 THEN (x << 42) | (t_x << 21) | "T" END AS packed,
  CAST(coalesce(monetary, 0) AS DOUBLE) AS monetary,
  CASE WHEN x >= 0 THEN (holdout_x << 21) | holdout_t_x END AS hold
FROM (`+
		summaryOfDays(l.CalibrationEnd, l.HoldoutEnd, false)+`)`); err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	defer db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS clv_customers")
	cal := dateLit(l.CalibrationEnd)
	query := `SELECT packed, monetary, hold FROM clv_customers WHERE first_purchase <= ` + cal
	cols := 3
	if !o.NoCustomerIDs {
		query = `SELECT packed, monetary, hold, customer_id FROM clv_customers WHERE first_purchase <= ` + cal + `
ORDER BY customer_id`
		cols = 4
	}
	// Growing five slices of a million entries costs more than the scan.
	var cohort int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM clv_customers WHERE first_purchase <= `+cal).Scan(&cohort); err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	if !o.NoCustomerIDs {
		l.Customers = make([]string, 0, cohort)
	}
	l.FirstPurchase = make([]time.Time, 0, cohort)
	l.Calibration = make([]clv.Summary, 0, cohort)
	l.Holdout = make([]float64, 0, cohort)
	l.HoldoutRecency = make([]float64, 0, cohort)
	const mask = 1<<21 - 1
	err = scan(ctx, db, query, cols, func(v []driver.Value) error {
		packed, ok1 := v[0].(int64)
		m, ok2 := v[1].(float64)
		hold, ok3 := v[2].(int64)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("unexpected summary row %v", v)
		}
		if len(v) > 3 {
			s, _ := v[3].(string)
			l.Customers = append(l.Customers, s)
		}
		T := packed & mask
		l.FirstPurchase = append(l.FirstPurchase, l.CalibrationEnd.Add(-time.Duration(T)*24*time.Hour))
		l.Calibration = append(l.Calibration, clv.Summary{X: float64(packed >> 42), Tx: float64(packed >> 21 & mask), T: float64(T), Monetary: m})
		l.Holdout = append(l.Holdout, float64(hold>>21))
		l.HoldoutRecency = append(l.HoldoutRecency, float64(hold&mask))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	var dayNo, counts []int64
	// TrackingSQL's definition without joining every purchase day to its
	// customer: the cohort's repeat purchase days on a day are the
	// purchase days on it, less the cohort's first purchases on it, less
	// the purchase days of customers who first bought after the
	// calibration period (a join of the few of them to the holdout's
	// purchase days).
	tracking := fmt.Sprintf(`%[1]s,
days AS (SELECT day, count(*) AS n FROM purchase_days GROUP BY day),
firsts AS (SELECT first_purchase AS day, count(*) AS n FROM clv_customers WHERE first_purchase <= %[2]s GROUP BY 1),
later AS (
  SELECT day, count(*) AS n FROM purchase_days
  WHERE day > %[2]s AND customer_id IN (SELECT customer_id FROM clv_customers WHERE first_purchase > %[2]s)
  GROUP BY day
)
SELECT date_diff('day', %[2]s, day) AS day, days.n - coalesce(firsts.n, 0) - coalesce(later.n, 0) AS repeat_days
FROM days LEFT JOIN firsts USING (day) LEFT JOIN later USING (day)
ORDER BY 1`, with, cal)
	err = scan(ctx, db, tracking, 2, func(v []driver.Value) error {
		d, ok1 := v[0].(int64)
		c, ok2 := v[1].(int64)
		if !ok1 || !ok2 {
			return fmt.Errorf("unexpected tracking row %v", v)
		}
		dayNo, counts = append(dayNo, d), append(counts, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tracking repeat purchases: %w", err)
	}
	l.weekly(dayNo, counts)
	return l, nil
}

// Scan runs a query on q and calls f with each row's driver values, as
// cheaply as the driver allows (see scan). f must not keep the slice.
func Scan(ctx context.Context, q Querier, query string, cols int, f func([]driver.Value) error) error {
	return scan(ctx, q, query, cols, f)
}

// scan runs a query and calls f with each row's driver values (int64,
// float64, string, nil, …), reading them straight from the driver when q
// is a *sql.Conn: three to ten times cheaper than database/sql's Scan.
func scan(ctx context.Context, q Querier, query string, cols int, f func([]driver.Value) error) error {
	if conn, ok := q.(*sql.Conn); ok {
		_, err := duckdb.ScanRows(ctx, conn, query, f)
		return err
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	dest := make([]driver.Value, cols)
	ptrs := make([]any, cols)
	for i := range dest {
		ptrs[i] = &dest[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := f(dest); err != nil {
			return err
		}
	}
	return rows.Err()
}

// extent gives the number of transactions (rows, an aggregate such as
// count(*)) and the first and last purchase days of a relation.
func extent(ctx context.Context, db Querier, relation, rows string) (int64, time.Time, time.Time, error) {
	_, n, first, last, err := checkedExtent(ctx, db, relation, rows, "false")
	return n, first, last, err
}

// checkedExtent is extent with, in the same scan, the number of rows of
// the relation where the condition bad holds; with bad rows it returns no
// error for the extent.
func checkedExtent(ctx context.Context, db Querier, relation, rows, bad string) (int64, int64, time.Time, time.Time, error) {
	var nBad int64
	var n sql.NullInt64
	var first, last sql.NullTime
	err := db.QueryRowContext(ctx, "SELECT count(*) FILTER (WHERE "+bad+"), "+rows+", min(purchase_date), max(purchase_date) FROM "+relation).Scan(&nBad, &n, &first, &last)
	switch {
	case err != nil:
		return 0, 0, time.Time{}, time.Time{}, fmt.Errorf("summarising transactions: %w", err)
	case nBad > 0:
		return nBad, 0, time.Time{}, time.Time{}, nil
	case !n.Valid || n.Int64 == 0 || !first.Valid:
		return 0, 0, time.Time{}, time.Time{}, fmt.Errorf("%w: no transactions", ErrLog)
	}
	return 0, n.Int64, dayOf(first.Time.UTC()), dayOf(last.Time.UTC()), nil
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
