package translog

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"crmwh/warehouse/clv"
)

// History is a transaction log read once into memory as each customer's
// purchase days and their values. Summaries for any number of
// calibration periods then cost no further queries: the warehouse's CLV
// step summarises the same orders fifteen times (the fit, the validation
// split, the scores 90 days back and twelve month ends), and each query
// would send every customer's row through database/sql again.
type History struct {
	// Customers are the customer ids, sorted (DuckDB's and Go's byte
	// order agree).
	Customers []string
	// start[i]:start[i+1] are customer i's entries in days and amounts.
	start []int
	// days are purchase days (days since 1970-01-01), ascending within a
	// customer; amounts are the days' totals, NaN for a day whose
	// transactions have no amount.
	days    []int32
	amounts []float64
	// Rows is the number of transactions; FirstDate and LastDate the
	// log's first and last purchase days.
	Rows                int64
	FirstDate, LastDate time.Time
}

var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// ReadHistory reads a relation with columns customer_id, purchase_date
// (DATE) and amount (numeric, may be NULL), as Summarize takes.
func ReadHistory(ctx context.Context, db Querier, relation string) (*History, error) {
	h := &History{}
	var err error
	h.Rows, h.FirstDate, h.LastDate, err = extent(ctx, db, relation, "count(*)")
	if err != nil {
		return nil, err
	}
	if days(h.FirstDate, h.LastDate) >= 1<<21 {
		return nil, fmt.Errorf("%w: the purchases span %s to %s, more than 5,000 years", ErrLog, h.FirstDate.Format(time.DateOnly), h.LastDate.Format(time.DateOnly))
	}
	// database/sql converts every value it scans, at about a microsecond
	// each: the customer id travels only on a customer's first day, and
	// the day as an offset from the first date.
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`WITH purchase_days AS (
  SELECT customer_id, purchase_date AS day, CAST(sum(amount) AS DOUBLE) AS amount
  FROM %s
  WHERE customer_id IS NOT NULL AND purchase_date IS NOT NULL
  GROUP BY customer_id, purchase_date
)
SELECT CASE WHEN day = min(day) OVER (PARTITION BY customer_id) THEN customer_id END,
  date_diff('day', %s, day), amount
FROM purchase_days
ORDER BY customer_id, day`, relation, dateLit(h.FirstDate)))
	if err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	defer rows.Close()
	base := int32(days(epoch, h.FirstDate))
	for rows.Next() {
		var id sql.NullString
		var d int32
		var a sql.NullFloat64
		if err := rows.Scan(&id, &d, &a); err != nil {
			return nil, fmt.Errorf("summarising transactions: %w", err)
		}
		if id.Valid {
			h.Customers = append(h.Customers, id.String)
			h.start = append(h.start, len(h.days))
		}
		h.days = append(h.days, base+d)
		if a.Valid {
			h.amounts = append(h.amounts, a.Float64)
		} else {
			h.amounts = append(h.amounts, math.NaN())
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarising transactions: %w", err)
	}
	h.start = append(h.start, len(h.days))
	return h, nil
}

// Summarize gives the summaries and tracking series of SummarySQL and
// TrackingSQL for the periods o (zero ends as in Options).
func (h *History) Summarize(o Options) (*Log, error) {
	l, err := newLog(h.Rows, h.FirstDate, h.LastDate, o)
	if err != nil {
		return nil, err
	}
	cal := int32(days(epoch, l.CalibrationEnd))
	hold := int32(days(epoch, l.HoldoutEnd))
	repeats := map[int32]int64{} // purchase day → the cohort's repeat purchase days on it
	for i, id := range h.Customers {
		ds, as := h.days[h.start[i]:h.start[i+1]], h.amounts[h.start[i]:h.start[i+1]]
		first := ds[0]
		if first > cal {
			continue
		}
		var n, hx int
		var last, lastHold int32
		// The calibration days' total less the first day's: the first day
		// with an amount, as DuckDB's arg_min skips NULLs.
		var sum, firstAmount float64
		valued := false
		for k, d := range ds {
			if d > hold {
				break
			}
			if k > 0 {
				repeats[d]++
			}
			lastHold = d
			if d > cal {
				hx++
				continue
			}
			n++
			last = d
			if !math.IsNaN(as[k]) {
				if !valued {
					firstAmount = as[k]
				}
				sum += as[k]
				valued = true
			}
		}
		var m float64
		if n > 1 && valued {
			m = (sum - firstAmount) / float64(n-1)
		}
		l.Customers = append(l.Customers, id)
		l.FirstPurchase = append(l.FirstPurchase, epoch.AddDate(0, 0, int(first)))
		l.Calibration = append(l.Calibration, clv.Summary{X: float64(n - 1), Tx: float64(last - first), T: float64(cal - first), Monetary: m})
		l.Holdout = append(l.Holdout, float64(hx))
		l.HoldoutRecency = append(l.HoldoutRecency, float64(lastHold-first))
	}
	dayNo := make([]int64, 0, len(repeats))
	for d := range repeats {
		dayNo = append(dayNo, int64(d))
	}
	slices.Sort(dayNo)
	counts := make([]int64, len(dayNo))
	for k, d := range dayNo {
		counts[k] = repeats[int32(d)]
		dayNo[k] = d - int64(cal)
	}
	l.weekly(dayNo, counts)
	return l, nil
}
