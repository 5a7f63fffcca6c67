package translog_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/clv/translog"
)

// TestHistoryAgreesWithTheSQL checks the in-memory summaries of one read
// of a log (History) against Summarize, which runs SummarySQL and
// TrackingSQL, for many periods of a random log: 3,000 customers, decimal
// amounts, several orders on some days, NULL amounts (some days have only
// those), rows without a customer, and calibration ends before, inside and
// at the end of the log.
func TestHistoryAgreesWithTheSQL(t *testing.T) {
	db := openDB(t)
	db.SetMaxOpenConns(1) // setseed holds for the connection
	ctx := context.Background()
	_, err := db.Exec(`SELECT setseed(0.42)`)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE tx AS
SELECT CASE WHEN random() < 0.01 THEN NULL ELSE 'C' || lpad(CAST(c AS VARCHAR), 5, '0') END AS customer_id,
  DATE '2024-01-01' + CAST(floor(random() * 400) AS INTEGER) AS purchase_date,
  CASE WHEN random() < 0.05 THEN NULL ELSE CAST(round(random() * 500, 2) AS DECIMAL(18, 2)) END AS amount
FROM range(3000) r(c), range(CAST(1 + floor(random() * 12) AS INTEGER))`)
	require.NoError(t, err)
	h, err := translog.ReadHistory(ctx, db, "tx")
	require.NoError(t, err)

	first := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range [][2]int{{0, 399}, {30, 120}, {200, 200}, {250, 399}, {399, 399}, {100, 450}, {-1, 0}} {
		o := translog.Options{CalibrationEnd: first.AddDate(0, 0, p[0]), HoldoutEnd: first.AddDate(0, 0, p[1])}
		want, werr := translog.Summarize(ctx, db, "tx", o)
		got, gerr := h.Summarize(o)
		if werr != nil {
			require.True(t, errors.Is(werr, translog.ErrLog), "%v", werr)
			require.EqualError(t, gerr, werr.Error())
			continue
		}
		require.NoError(t, gerr)
		what := "calibration end " + o.CalibrationEnd.Format(time.DateOnly)
		require.Equal(t, want.Customers, got.Customers, what)
		require.Equal(t, want.FirstPurchase, got.FirstPurchase, what)
		require.Equal(t, want.Holdout, got.Holdout, what)
		require.Equal(t, want.HoldoutRecency, got.HoldoutRecency, what)
		require.Equal(t, want.Tracking, got.Tracking, what)
		require.Equal(t, [5]any{want.Rows, want.FirstDate, want.LastDate, want.CalibrationEnd, want.HoldoutEnd},
			[5]any{got.Rows, got.FirstDate, got.LastDate, got.CalibrationEnd, got.HoldoutEnd}, what)
		require.Len(t, got.Calibration, len(want.Calibration))
		// The exported definitions give the same customers and repeat days.
		require.Equal(t, int64(len(want.Customers)), countRows(t, db, translog.SummarySQL("tx", want.CalibrationEnd, want.HoldoutEnd)), what)
		var repeats int64
		require.NoError(t, db.QueryRow("SELECT coalesce(sum(repeat_days), 0) FROM ("+translog.TrackingSQL("tx", want.CalibrationEnd, want.HoldoutEnd)+")").Scan(&repeats))
		if n := len(want.Tracking); n > 0 {
			require.Equal(t, float64(repeats), want.Tracking[n-1].Actual, what)
		}
		for i, w := range want.Calibration {
			g := got.Calibration[i]
			require.Equal(t, [3]float64{w.X, w.Tx, w.T}, [3]float64{g.X, g.Tx, g.T}, "%s, %s", what, want.Customers[i])
			// Decimal sums in DuckDB, float sums in Go.
			require.InDelta(t, w.Monetary, g.Monetary, 1e-9*math.Max(1, math.Abs(w.Monetary)), "%s, %s", what, want.Customers[i])
		}
		t.Logf("%s, holdout end %s: %d customers, %d tracking points", what, o.HoldoutEnd.Format(time.DateOnly), len(got.Customers), len(got.Tracking))
	}
}

func countRows(t *testing.T, db *sql.DB, q string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.QueryRow("SELECT count(*) FROM ("+q+")").Scan(&n))
	return n
}
