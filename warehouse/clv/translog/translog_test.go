package translog_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/translog"
	"crmwh/warehouse/duckdb"
)

// The hand-made log: calibration is January 2025, holdout February.
//
//	A: Jan 1 (10 + 5, one purchase day), Jan 5 (20), Jan 20 (30) | Feb 10 (40 + 1) | Mar 5 (after the holdout)
//	B: Jan 31 (7)                                                 | Feb 1, Feb 28
//	C:                                                            | Feb 3 (first purchase after calibration: not in the cohort)
//	D: Jan 10 twice                                               |
//	E: a refund on Jan 12, filtered out by the Where condition
const tinyLog = `customer,when,value,status
A,2025-01-01,10,paid
A,2025-01-01 18:30:00,5,paid
B,2025-01-31,7,paid
A,2025-01-05,20,paid
A,2025-01-20,30.00,paid
A,2025-02-10,40,paid
A,2025-02-10,1,paid
A,2025-03-05,99,paid
B,2025-02-01,3,paid
B,2025-02-28,4,paid
C,2025-02-03,8,paid
D,2025-01-10,2,paid
D,2025-01-10,2,paid
E,2025-01-12,-20,refund
`

var (
	jan31 = time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)
	feb28 = time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC)
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := duckdb.Open("", duckdb.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func tinySource(path string) translog.Source {
	return translog.Source{Path: path, Customer: "customer", Date: "when", Amount: "value", Where: "status = 'paid'"}
}

func TestSummariesOfAHandMadeLog(t *testing.T) {
	db := openDB(t)
	l, err := translog.Load(context.Background(), db, tinySource(write(t, "log.csv", tinyLog)), translog.Options{CalibrationEnd: jan31, HoldoutEnd: feb28})
	require.NoError(t, err)
	checkTiny(t, l)
}

func checkTiny(t *testing.T, l *translog.Log) {
	t.Helper()
	require.Equal(t, []string{"A", "B", "D"}, l.Customers)
	require.Equal(t, []clv.Summary{
		{X: 2, Tx: 19, T: 30, Monetary: 25}, // Jan 5 and Jan 20: (20+30)/2
		{X: 0, Tx: 0, T: 0},
		{X: 0, Tx: 0, T: 21},
	}, l.Calibration)
	require.Equal(t, []float64{1, 2, 0}, l.Holdout)
	require.Equal(t, []float64{40, 28, 0}, l.HoldoutRecency, "A's last purchase up to Feb 28 is Feb 10")
	require.Equal(t, []clv.Summary{{X: 3, Tx: 40, T: 58, Monetary: 25}, {X: 2, Tx: 28, T: 28}, {X: 0, Tx: 0, T: 49}}, l.Full(clv.Days))
	require.Equal(t, time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), l.FirstPurchase[2])
	require.Equal(t, int64(13), l.Rows)
	require.Equal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), l.FirstDate)
	require.Equal(t, time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), l.LastDate)
	require.Equal(t, 28.0, l.HoldoutDays())
	// Repeat purchase days of the cohort, days from Jan 31: A −26, −11,
	// +10; B +1, +28.
	want := []clv.TrackPoint{
		{Time: -28}, {Time: -21, Actual: 1}, {Time: -14, Actual: 1}, {Time: -7, Actual: 2}, {Time: 0, Actual: 2},
		{Time: 7, Actual: 3}, {Time: 14, Actual: 4}, {Time: 21, Actual: 4}, {Time: 28, Actual: 5},
	}
	require.Equal(t, want, l.Tracking)

	s, tr := l.Scaled(clv.Weeks)
	require.Equal(t, clv.Summary{X: 2, Tx: 19.0 / 7, T: 30.0 / 7, Monetary: 25}, s[0])
	require.Equal(t, -4.0, tr[0].Time)
}

// TestConnections loads through a pool with several idle connections
// (DuckDB's temporary tables belong to one connection, so Load must stay on
// one) and through a *sql.Conn, as a warehouse build step has, where the
// table of purchase days stays for the caller.
func TestConnections(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	db.SetMaxIdleConns(4)
	var conns []*sql.Conn
	for range 4 {
		c, err := db.Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	path := write(t, "log.csv", tinyLog)
	other := write(t, "other.csv", "customer,when,value,status\nZ,2025-01-02,1,paid\nZ,2025-01-09,3,paid\n")
	o := translog.Options{CalibrationEnd: jan31, HoldoutEnd: feb28}
	// Two loads at once on one pool: each must see its own table.
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			if i%2 == 0 {
				l, err := translog.Load(ctx, db, tinySource(path), o)
				if err == nil && len(l.Customers) != 3 {
					err = fmt.Errorf("tiny log read as %v", l.Customers)
				}
				errs <- err
				return
			}
			l, err := translog.Load(ctx, db, tinySource(other), o)
			if err == nil && (len(l.Customers) != 1 || l.Calibration[0] != clv.Summary{X: 1, Tx: 7, T: 29, Monetary: 3}) {
				err = fmt.Errorf("other log read as %v %v", l.Customers, l.Calibration)
			}
			errs <- err
		}()
	}
	for range 20 {
		require.NoError(t, <-errs)
	}
	l, err := translog.Load(ctx, db, tinySource(path), o)
	require.NoError(t, err)
	checkTiny(t, l)

	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	l, err = translog.Load(ctx, conn, tinySource(path), o)
	require.NoError(t, err)
	checkTiny(t, l)
	var days, rows int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT count(*), sum(rows) FROM clv_purchase_days").Scan(&days, &rows))
	require.Equal(t, []int{10, 13}, []int{days, rows}, "one row per customer and purchase day")
	l, err = translog.Summarize(ctx, conn, "(SELECT customer_id, purchase_date, amount FROM clv_purchase_days WHERE customer_id <> 'D')", o)
	require.NoError(t, err)
	require.Equal(t, []string{"A", "B"}, l.Customers)
}

// TestValidationOfTheHandMadeLog runs the holdout check on the hand-made
// log with the demo's parameters. The cohort is A (x = 2, t_x = 19, T = 30,
// 1 holdout purchase), B (0, 0, 0; 2) and D (0, 0, 21; 0); the holdout is
// the 28 days of February.
func TestValidationOfTheHandMadeLog(t *testing.T) {
	db := openDB(t)
	l, err := translog.Load(context.Background(), db, tinySource(write(t, "log.csv", tinyLog)), translog.Options{CalibrationEnd: jan31, HoldoutEnd: feb28})
	require.NoError(t, err)
	m := clv.BGNBD{R: 0.9, Alpha: 60, A: 0.8, B: 3.2}
	v, err := clv.Validate(m, l.Calibration, l.Holdout, l.HoldoutDays(), l.Tracking)
	require.NoError(t, err)

	pA := m.ConditionalExpected(28, 2, 19, 30)
	pB := m.ConditionalExpected(28, 0, 0, 0)
	pD := m.ConditionalExpected(28, 0, 0, 21)
	require.Equal(t, 3, v.Customers)
	require.Equal(t, 3.0, v.Actual)
	require.InEpsilon(t, pA+pB+pD, v.Predicted, 1e-14)
	require.InEpsilon(t, (abs(1-pA)+abs(2-pB)+abs(0-pD))/3, v.MAE, 1e-14)
	require.Equal(t, clv.FrequencyBucket{Label: "0", Customers: 2, Actual: 1, Predicted: (pB + pD) / 2}, v.ByFrequency[0])
	require.Equal(t, clv.FrequencyBucket{Label: "2", Customers: 1, Actual: 1, Predicted: pA}, v.ByFrequency[2])
	require.Zero(t, v.ByFrequency[1].Customers)

	// Expected cumulative repeat purchases at τ days from Jan 31: each
	// customer contributes E[X(τ + T)] once τ + T > 0 (A has T = 30, B 0,
	// D 21).
	E := m.Expected
	want := map[float64]float64{
		-28: E(2), -21: E(9), -14: E(16) + E(7), -7: E(23) + E(14), 0: E(30) + E(21),
		7: E(37) + E(7) + E(28), 28: E(58) + E(28) + E(49),
	}
	for _, p := range v.Tracking {
		if w, ok := want[p.Time]; ok {
			require.InEpsilon(t, w, p.Expected, 1e-14, "τ = %g", p.Time)
		}
	}
	require.Equal(t, 5.0, v.Tracking[len(v.Tracking)-1].Actual)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// TestParquetTimestampsAndFormats reads the same log as Parquet with
// timestamps that carry offsets, and as CSV with day-first dates.
func TestParquetTimestampsAndFormats(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	csvPath := write(t, "log.csv", tinyLog)
	pq := filepath.Join(t.TempDir(), "log.parquet")
	// 23:30 UTC on Jan 30 is already Jan 31 in Shanghai: B's first
	// purchase stays on Jan 31 there.
	_, err := db.Exec(`COPY (SELECT customer, CASE WHEN customer = 'B' AND "when" = '2025-01-31'
	    THEN TIMESTAMPTZ '2025-01-30 23:30:00+00' ELSE timezone('Asia/Shanghai', CAST("when" AS TIMESTAMP)) END AS "when",
	    CAST(value AS DECIMAL(10,2)) AS value, status FROM read_csv(` + duckdb.QuoteString(csvPath) + `, header = true, all_varchar = true))
	  TO ` + duckdb.QuoteString(pq) + ` (FORMAT parquet)`)
	require.NoError(t, err)
	src := tinySource(pq)
	src.TimeZone = "Asia/Shanghai"
	l, err := translog.Load(ctx, db, src, translog.Options{CalibrationEnd: jan31, HoldoutEnd: feb28})
	require.NoError(t, err)
	checkTiny(t, l)

	// In UTC that purchase is on Jan 30, and B's Feb 1 purchase (midnight
	// in Shanghai) on Jan 31: B then has x = 1, t_x = 1, T = 1.
	src.TimeZone = "UTC"
	l, err = translog.Load(ctx, db, src, translog.Options{CalibrationEnd: jan31, HoldoutEnd: feb28})
	require.NoError(t, err)
	require.Equal(t, clv.Summary{X: 1, Tx: 1, T: 1, Monetary: 3}, l.Calibration[1])
	require.Equal(t, 1.0, l.Holdout[1])

	dayFirst := "customer,when,value,status\nA,01/01/2025,10,paid\nA,05/01/2025,20,paid\nB,31/01/2025,7,paid\n"
	l, err = translog.Load(ctx, db, translog.Source{Path: write(t, "d.csv", dayFirst), Customer: "customer", Date: "when", Amount: "value", DateFormat: "%d/%m/%Y"}, translog.Options{})
	require.NoError(t, err)
	require.Equal(t, []clv.Summary{{X: 1, Tx: 4, T: 30, Monetary: 20}, {X: 0, Tx: 0, T: 0}}, l.Calibration)
	require.Equal(t, jan31, l.CalibrationEnd, "no calibration end: the last date, no holdout")
	require.Equal(t, 0.0, l.HoldoutDays())
}

func TestErrorsNameTheFileTheColumnAndTheRow(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	load := func(content string, src translog.Source) error {
		p := write(t, "log.csv", content)
		src.Path = p
		_, err := translog.Load(ctx, db, src, translog.Options{})
		if err != nil {
			// The temporary path reads LOG in the expected messages.
			return renamed{strings.ReplaceAll(err.Error(), p, "LOG"), err}
		}
		return nil
	}
	src := translog.Source{Customer: "customer", Date: "when", Amount: "value"}
	err := load("customer,day,value\nA,2025-01-01,1\n", src)
	require.EqualError(t, err, `bad transaction log: LOG has no date column "when" (its columns: customer, day, value)`)
	err = load("customer,when,value\nA,2025-01-01,1\nA,2025-13-01,2\nB,yesterday,3\n", src)
	require.EqualError(t, err, `bad transaction log: LOG, row 2: date "2025-13-01" in column when does not parse as an ISO date or timestamp (give the format with --date-format) (and 1 more rows like it)`)
	err = load("customer,when,value\nA,2025-01-01,1\nA,2025-01-02,1;5\n", src)
	require.EqualError(t, err, `bad transaction log: LOG, row 2: amount "1;5" in column value is not a number`)
	err = load("customer,when,value\nA,2025-01-01,1\n,2025-01-02,1\n", src)
	require.EqualError(t, err, `bad transaction log: LOG, row 2: has no customer id (column customer)`)
	err = load("customer,when,value\nA,2025-01-01,1\nA,2025-01-02,1\n  ,2025-01-02,1\n", src)
	require.EqualError(t, err, `bad transaction log: LOG, row 3: has no customer id (column customer)`)
	err = load("customer,when,value\nA,2025-01-01,1\nB,,1\n", src)
	require.EqualError(t, err, `bad transaction log: LOG, row 2: has no date (column when)`)
	withFormat := src
	withFormat.DateFormat = "%d/%m/%Y"
	err = load("customer,when,value\nA,01/01/2025,1\nA,2025-01-02,1\n", withFormat)
	require.EqualError(t, err, `bad transaction log: LOG, row 2: date "2025-01-02" in column when does not parse with format "%d/%m/%Y"`)
	badTZ := src
	badTZ.TimeZone = "Mars/Olympus"
	err = load("customer,when,value\nA,2025-01-01,1\n", badTZ)
	require.EqualError(t, err, `bad transaction log: unknown time zone "Mars/Olympus" (use a name such as UTC or Asia/Shanghai)`)
	require.ErrorIs(t, load("customer,when,value\n", src), translog.ErrLog)

	_, err = translog.Load(ctx, db, translog.Source{Path: filepath.Join(t.TempDir(), "missing.csv")}, translog.Options{})
	require.ErrorIs(t, err, translog.ErrLog)
	require.ErrorContains(t, err, "missing.csv (it must be well-formed CSV with a header row, or Parquet; several files need the same columns): IO Error: No files found")
	withWhere := src
	withWhere.Where = "statuss = 'paid'"
	err = load("customer,when,value,status\nA,2025-01-01,1,paid\n", withWhere)
	require.ErrorContains(t, err, `bad transaction log: the condition "statuss = 'paid'" on LOG: Binder Error: Referenced column "statuss" not found`)
}

// renamed is an error with another message that still unwraps.
type renamed struct {
	msg string
	err error
}

func (r renamed) Error() string { return r.msg }
func (r renamed) Unwrap() error { return r.err }

// TestExpressionsAndSniffedTypes reads a retailer's export: the amount is
// an expression over sniffed numeric columns, the date an expression that
// parses US dates with times, the condition compares a number without a
// cast, and the ids keep their leading zeros.
func TestExpressionsAndSniffedTypes(t *testing.T) {
	// 00012: Dec 1 (2 × 2.50 + 1 × 10), Dec 3 (3 × 4), a return on Dec 5
	// (left out by Quantity > 0), Dec 20 (1 × 7.25); 00013: Dec 2 only.
	export := "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n" +
		"536365,85123A,2,12/1/2025 8:26,2.50,00012\n" +
		"536365,71053,1,12/1/2025 8:26,10,00012\n" +
		"536366,22633,3,12/3/2025 9:02,4,00012\n" +
		"C536379,22633,-3,12/5/2025 9:41,4,00012\n" +
		"536367,84879,1,12/20/2025 10:00,7.25,00012\n" +
		"536368,22960,6,12/2/2025 11:30,1.25,00013\n"
	src := translog.Source{Path: write(t, "retail.csv", export), Customer: "CustomerID", Amount: "Quantity * UnitPrice",
		Date: "strptime(InvoiceDate, '%m/%d/%Y %H:%M')", Where: "Quantity > 0"}
	l, err := translog.Load(context.Background(), openDB(t), src, translog.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"00012", "00013"}, l.Customers)
	require.Equal(t, []clv.Summary{{X: 2, Tx: 19, T: 19, Monetary: (12 + 7.25) / 2}, {X: 0, Tx: 0, T: 18}}, l.Calibration)
	require.Equal(t, int64(5), l.Rows)

	// A bad expression names the flag; a row whose expression gives no
	// date names the row.
	src.Amount = "Quantity * Price"
	_, err = translog.Load(context.Background(), openDB(t), src, translog.Options{})
	require.ErrorContains(t, err, "bad transaction log: the --amount expression Quantity * Price on ")
	src.Amount = "Quantity * UnitPrice"
	src.Date = "strptime(InvoiceDate, '%d/%m/%Y %H:%M')"
	_, err = translog.Load(context.Background(), openDB(t), src, translog.Options{})
	require.ErrorContains(t, err, `: Invalid Input Error: Could not parse string "12/20/2025 10:00" according to format specifier "%d/%m/%Y %H:%M"`)
	require.ErrorContains(t, err, "bad transaction log: evaluating the columns and expressions on ")
	src.Date = "try_strptime(InvoiceDate, '%d/%m/%Y %H:%M')"
	_, err = translog.Load(context.Background(), openDB(t), src, translog.Options{})
	require.ErrorContains(t, err, `, row 5: has no date (expression try_strptime(InvoiceDate, '%d/%m/%Y %H:%M'))`)
}

// TestWhitespaceColumns reads columns separated by runs of blanks, as the
// CDNOW log is written.
func TestWhitespaceColumns(t *testing.T) {
	log := " customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n" +
		" 00002 19970112  5   77.00\r\n 00002 19970301 2  20.00\r\n"
	l, err := translog.Load(context.Background(), openDB(t), translog.Source{Path: write(t, "cdnow.txt", log), Whitespace: true,
		DateFormat: "%Y%m%d", Amount: "dollar_value"}, translog.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"00001", "00002"}, l.Customers)
	require.Equal(t, []clv.Summary{{X: 0, T: 59}, {X: 1, Tx: 48, T: 48, Monetary: 20}}, l.Calibration)
}

// TestTheSniffedDialectReadsEveryFile reads two exports in one glob: the
// dialect and the columns DuckDB's sniffer finds in the first file
// (semicolons, quotes around fields that hold one, CRLF line ends,
// decimal amounts, ids with leading zeros) read the second as well.
func TestTheSniffedDialectReadsEveryFile(t *testing.T) {
	dir := t.TempDir()
	first := "id;\"when\";amount;note\r\n" +
		"\"007\";2025-01-01 10:00:00;10.50;\"first; with a semicolon\"\r\n" +
		"008;2025-01-02 11:00:00;4;plain\r\n"
	second := "id;\"when\";amount;note\r\n" +
		"\"007\";2025-01-11 09:30:00;20.25;\"again; and again\"\r\n" +
		"007;2025-01-11 17:00:00;1;same day\r\n" +
		"009;2025-01-31 08:00:00;3;\r\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte(first), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.csv"), []byte(second), 0o644))
	glob := filepath.Join(dir, "*.csv")
	files, err := translog.Expand(glob)
	require.NoError(t, err)
	l, err := translog.Load(context.Background(), openDB(t), translog.Source{Path: glob, Files: files, Customer: "id", Date: "when"},
		translog.Options{CalibrationEnd: time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Equal(t, []string{"007", "008", "009"}, l.Customers)
	// 007: Jan 1 (10.50) and Jan 11 (20.25 + 1, one purchase day).
	require.Equal(t, []clv.Summary{{X: 1, Tx: 10, T: 30, Monetary: 21.25}, {X: 0, T: 29}, {X: 0, T: 0}}, l.Calibration)
	require.Equal(t, int64(5), l.Rows)
	// The glob alone, without the files it names, reads the same.
	alone, err := translog.Load(context.Background(), openDB(t), translog.Source{Path: glob, Customer: "id", Date: "when"},
		translog.Options{CalibrationEnd: time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Equal(t, l, alone)
}
