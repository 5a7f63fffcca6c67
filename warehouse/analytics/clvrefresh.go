package analytics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/translog"
	"crmwh/warehouse/duckdb"
)

// The CLV step refits the models only when it is time to (a refit is the
// expensive part, and it keeps every customer's summary in memory): the
// first time, when the analytics settings change, when RefitDays of new
// data have come in since the fit in use, or when the fit's tracking error
// since then passes RefitDrift. Otherwise the fit in use scores the
// customers again, and its tables (mart_clv_model, mart_clv_status,
// mart_clv_validation, mart_clv_tracking) are those of the fit; the
// column mart_clv_model.refit says which it was and why.
//
// Scoring streams: customers come from customer_purchases (and their
// history 90 days back from the orders) in chunks, are scored and appended,
// so memory does not grow with the number of customers. The monthly CLV
// of past month ends is kept while the purchases up to that month end and
// the model are the same (meta.clv_monthly), so a day's build scores the
// customers once.

// Defaults of the refit policy (crmwh.yaml analytics.clv_refit_days and
// analytics.clv_refit_drift).
const (
	DefaultRefitDays  = 7
	DefaultRefitDrift = 0.1
)

// The meta tables of the fit in use.
const (
	refitsTable    = "meta.clv_refits"
	monthlyState   = "meta.clv_monthly"
	scoreChunkRows = 65536
	trackingSample = 100000
)

// fitCopies are the tables a refit writes and a kept fit restores: the
// mart and its copy in meta.
var fitCopies = [][2]string{
	{ModelTable, "meta.clv_fit_model"},
	{StatusTable, "meta.clv_fit_status"},
	{ValidationTable, "meta.clv_fit_validation"},
	{TrackingTable, "meta.clv_fit_tracking"},
}

// fitInUse is the latest refit, from meta.clv_refits.
type fitInUse struct {
	run, settings string
	asOf          time.Time
	model         clv.Model
	// days is how many purchase days (customer and day) the fit saw.
	days int64
}

func createRefitTables(ctx context.Context, conn *sql.Conn) error {
	for _, st := range []string{
		`CREATE TABLE IF NOT EXISTS ` + refitsTable + ` (run_id VARCHAR, as_of DATE, settings VARCHAR, params VARCHAR, reason VARCHAR, purchase_days BIGINT)`,
		`CREATE TABLE IF NOT EXISTS ` + monthlyState + ` (month DATE, as_of DATE, fingerprint VARCHAR, customers BIGINT, avg_clv_12m DOUBLE, total_clv_12m DOUBLE)`,
	} {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// readFitInUse returns the latest refit, or nil when there is none (or
// its tables are missing).
func readFitInUse(ctx context.Context, conn *sql.Conn, unit clv.Unit) (*fitInUse, error) {
	var f fitInUse
	var params string
	err := conn.QueryRowContext(ctx, `SELECT run_id, as_of, settings, params, purchase_days FROM `+refitsTable+` ORDER BY as_of DESC, run_id DESC LIMIT 1`).
		Scan(&f.run, &f.asOf, &f.settings, &params, &f.days)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec fitRecord
	if err := json.Unmarshal([]byte(params), &rec); err != nil {
		return nil, fmt.Errorf("reading the fit in use: %w", err)
	}
	f.model = clv.Model{Purchases: rec.purchases(), Spend: rec.spend(), Unit: unit}
	if f.model.Purchases == nil {
		return nil, nil
	}
	for _, c := range fitCopies {
		if ok, err := tablesExist(ctx, conn, c[1]); err != nil || !ok {
			return nil, err
		}
	}
	f.asOf = f.asOf.UTC()
	return &f, nil
}

// refitReason says in words, in English and Chinese, whether a build
// fitted the CLV models again or kept the fit in use, and why.
type refitReason struct{ en, zh string }

// decideRefit says whether this build refits the models, and why (or why
// not), for mart_clv_model.refit and mart_clv_status.refit.
func decideRefit(ctx context.Context, conn *sql.Conn, s Settings, last *fitInUse, asOf time.Time, unit clv.Unit) (bool, refitReason, error) {
	days, drift := s.refitPolicy()
	if last == nil {
		return true, refitReason{"refitted: the first fit", "已重新拟合：首次拟合"}, nil
	}
	if last.settings != s.Fingerprint() {
		return true, refitReason{"refitted: the analytics settings changed", "已重新拟合：分析设置已更改"}, nil
	}
	fitDay, dataEnd := last.asOf.Format(time.DateOnly), asOf.Format(time.DateOnly)
	since := int(math.Round(asOf.Sub(last.asOf).Hours() / 24))
	if since < 0 {
		return true, refitReason{
			fmt.Sprintf("refitted: the data now end on %s, before the fit's as-of day %s", dataEnd, fitDay),
			fmt.Sprintf("已重新拟合：数据现截止于 %s，早于上次拟合的数据截止日 %s", dataEnd, fitDay)}, nil
	}
	// Orders before the fit's day that came late, or went: a fit on
	// other data than there is now.
	seen, err := purchaseDaysUpTo(ctx, conn, last.asOf)
	if err != nil {
		return false, refitReason{}, err
	}
	if d := math.Abs(float64(seen-last.days)) / math.Max(float64(last.days), 1); d > drift/10 {
		return true, refitReason{
			fmt.Sprintf("refitted: the purchase days up to the fit's day %s are now %d, not %d", fitDay, seen, last.days),
			fmt.Sprintf("已重新拟合：截至上次拟合日 %s 的购买天数现为 %d，而非 %d（有补录或撤销的订单）", fitDay, seen, last.days)}, nil
	}
	if since >= days {
		return true, refitReason{
			fmt.Sprintf("refitted: %d days of new data since the fit of %s (analytics.clv_refit_days: %d)", since, fitDay, days),
			fmt.Sprintf("已重新拟合：自 %s 的拟合以来已有 %d 天新数据（analytics.clv_refit_days：%d）", fitDay, since, days)}, nil
	}
	if since == 0 {
		return false, refitReason{
			fmt.Sprintf("kept the fit of run %s (data as of %s): no new data since", last.run, fitDay),
			fmt.Sprintf("沿用运行 %s 的拟合（数据截至 %s）：此后没有新数据", last.run, fitDay)}, nil
	}
	e, err := trackingError(ctx, conn, last, asOf, unit)
	if err != nil {
		return false, refitReason{}, err
	}
	if math.Abs(e) > drift {
		return true, refitReason{
			fmt.Sprintf("refitted: since the fit of %s customers made %+.1f%% repeat purchases against the model's expectation, beyond %.0f%% (analytics.clv_refit_drift)",
				fitDay, 100*e, 100*drift),
			fmt.Sprintf("已重新拟合：自 %s 的拟合以来，客户复购次数与模型预期相差 %+.1f%%，超过 %.0f%%（analytics.clv_refit_drift）", fitDay, 100*e, 100*drift)}, nil
	}
	return false, refitReason{
		fmt.Sprintf("kept the fit of run %s (data as of %s): %d days of new data, repeat purchases %+.1f%% against its expectation (refit after %d days or beyond %.0f%%)",
			last.run, fitDay, since, 100*e, days, 100*drift),
		fmt.Sprintf("沿用运行 %s 的拟合（数据截至 %s）：新增 %d 天数据，复购次数与其预期相差 %+.1f%%（满 %d 天或相差超过 %.0f%% 时重新拟合）",
			last.run, fitDay, since, 100*e, days, 100*drift)}, nil
}

// purchaseDaysUpTo counts the purchase days (customer and day) up to a day.
func purchaseDaysUpTo(ctx context.Context, conn *sql.Conn, day time.Time) (int64, error) {
	var n int64
	err := conn.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT DISTINCT customer_id, purchase_date FROM `+transactions+` WHERE purchase_date <= ?)`, day).Scan(&n)
	return n, err
}

// refitPolicy returns the refit period and drift, with defaults.
func (s Settings) refitPolicy() (int, float64) {
	days, drift := s.RefitDays, s.RefitDrift
	if days <= 0 {
		days = DefaultRefitDays
	}
	if drift <= 0 {
		drift = DefaultRefitDrift
	}
	return days, drift
}

// trackingError is how far the repeat purchases of the fit's customers
// since the fit are from what the fit expected: actual / expected − 1,
// over the customers who had bought by the fit's as-of day (or a sample of
// them). The customers are grouped by (x, t_x, T) at that day, so the
// model is evaluated once per group.
func trackingError(ctx context.Context, conn *sql.Conn, last *fitInUse, asOf time.Time, unit clv.Unit) (float64, error) {
	fit := dateSQL(last.asOf)
	// Beyond a hundred thousand customers, a fixed sample of about that
	// many (by a hash of the id) measures the error as well.
	var customers int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM customer_purchases").Scan(&customers); err != nil {
		return 0, err
	}
	every := max(1, customers/trackingSample)
	q := fmt.Sprintf(`WITH days AS (
	SELECT DISTINCT customer_id, purchase_date AS day FROM %s WHERE purchase_date <= %s AND hash(customer_id) %% %d = 0
),
c AS (
	SELECT count(*) FILTER (WHERE day <= %s) - 1 AS x,
		date_diff('day', min(day), max(day) FILTER (WHERE day <= %s)) AS t_x,
		date_diff('day', min(day), %s) AS "T",
		count(*) FILTER (WHERE day > %s) AS later
	FROM days GROUP BY customer_id HAVING min(day) <= %s
)
SELECT x, t_x, "T", count(*), sum(later) FROM c GROUP BY ALL`, transactions, dateSQL(asOf), every, fit, fit, fit, fit, fit)
	t := unit.FromDays(asOf.Sub(last.asOf).Hours() / 24)
	var expected, actual float64
	err := translog.Scan(ctx, conn, q, 5, func(v []driver.Value) error {
		x, tx, T := toFloat(v[0]), unit.FromDays(toFloat(v[1])), unit.FromDays(toFloat(v[2]))
		n, later := toFloat(v[3]), toFloat(v[4])
		e := last.model.Purchases.ConditionalExpected(t, x, tx, T)
		if !math.IsNaN(e) && !math.IsInf(e, 0) {
			expected += n * e
		}
		actual += later
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("checking the fit in use: %w", err)
	}
	if expected <= 0 {
		return 0, nil
	}
	return actual/expected - 1, nil
}

// toFloat reads a driver value (an integer or a float) as a float64.
func toFloat(v driver.Value) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float64:
		return x
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	}
	return math.NaN()
}

func dateSQL(t time.Time) string { return "DATE '" + t.Format(time.DateOnly) + "'" }

// saveFit records the models a refit chose as the fit in use, with copies
// of the tables that describe it.
func saveFit(ctx context.Context, conn *sql.Conn, runID string, asOf time.Time, s Settings, m clv.Model, why refitReason) error {
	rec := recordOf(m.Purchases)
	if m.Spend != nil {
		sp := recordOf(m.Spend)
		rec.GammaGamma, rec.PooledSpend = sp.GammaGamma, sp.PooledSpend
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	days, err := purchaseDaysUpTo(ctx, conn, asOf)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO `+refitsTable+` VALUES (?, ?, ?, ?, ?, ?)`, runID, asOf, s.Fingerprint(), string(b), why.en, days); err != nil {
		return err
	}
	for _, c := range fitCopies {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT * FROM %s", c[1], c[0])); err != nil {
			return err
		}
	}
	return nil
}

// restoreFit writes the tables of the fit in use again; the status says
// the data's as-of day.
func restoreFit(ctx context.Context, conn *sql.Conn, asOf time.Time) error {
	for _, c := range fitCopies {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT * FROM %s", c[0], c[1])); err != nil {
			return err
		}
	}
	_, err := conn.ExecContext(ctx, `UPDATE `+StatusTable+` SET as_of = ?`, asOf)
	return err
}

// annotateRefit writes why the fit in use is in use into the refit and
// refit_zh columns of mart_clv_model and mart_clv_status (NULL when there
// is no fit: CLV unavailable).
func annotateRefit(ctx context.Context, conn *sql.Conn, why refitReason) error {
	for _, table := range []string{ModelTable, StatusTable} {
		for _, st := range []string{
			`ALTER TABLE ` + table + ` ADD COLUMN IF NOT EXISTS refit VARCHAR`,
			`ALTER TABLE ` + table + ` ADD COLUMN IF NOT EXISTS refit_zh VARCHAR`,
		} {
			if _, err := conn.ExecContext(ctx, st); err != nil {
				return err
			}
		}
		if _, err := conn.ExecContext(ctx, `UPDATE `+table+` SET refit = ?, refit_zh = ?`, nullable(why.en), nullable(why.zh)); err != nil {
			return err
		}
	}
	return nil
}

// monthEnd is one row of mart_clv_monthly to be: the month, the day its
// customers are scored as of, and a fingerprint of what decides it.
type monthEnd struct {
	month, end  time.Time
	fingerprint string
	customers   int64
	sum         float64
	known       bool // taken from meta.clv_monthly
}

// monthEnds lists the last twelve month ends up to asOf (the last being
// asOf when its month is not over), each with a fingerprint of the
// purchases up to it and of the model and settings, and the values kept
// from an earlier build with the same fingerprint.
func monthEnds(ctx context.Context, conn *sql.Conn, m clv.Model, s Settings, asOf time.Time) ([]*monthEnd, error) {
	params, err := json.Marshal(struct {
		P, S any
		F    string
	}{recordOf(m.Purchases), recordOf(m.Spend), s.Fingerprint()})
	if err != nil {
		return nil, err
	}
	// Cumulative count and hash of the purchase days, by month.
	type cumulative struct {
		month time.Time
		f     string
	}
	var cum []cumulative
	err = translog.Scan(ctx, conn, `WITH d AS (SELECT customer_id, purchase_date AS day, sum(amount) AS amount FROM `+transactions+` GROUP BY ALL),
b AS (SELECT CAST(date_trunc('month', day) AS DATE) AS m, count(*) AS n, sum(hash(customer_id, day, amount)) AS h FROM d GROUP BY 1)
SELECT m, CAST(sum(n) OVER w AS VARCHAR) || '/' || CAST(sum(h) OVER w AS VARCHAR) FROM b WINDOW w AS (ORDER BY m)`, 2, func(v []driver.Value) error {
		t, _ := v[0].(time.Time)
		f, _ := v[1].(string)
		cum = append(cum, cumulative{t.UTC(), f})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(cum, func(i, j int) bool { return cum[i].month.Before(cum[j].month) })
	kept := map[time.Time]*monthEnd{}
	rows, err := conn.QueryContext(ctx, `SELECT month, as_of, fingerprint, customers, total_clv_12m FROM `+monthlyState)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var e monthEnd
		if err := rows.Scan(&e.month, &e.end, &e.fingerprint, &e.customers, &e.sum); err != nil {
			rows.Close()
			return nil, err
		}
		e.month, e.end = e.month.UTC(), e.end.UTC()
		kept[e.month] = &e
	}
	rows.Close()
	var out []*monthEnd
	start := time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	for k := 11; k >= 0; k-- {
		mo := start.AddDate(0, -k, 0)
		end := mo.AddDate(0, 1, -1)
		if end.After(asOf) {
			end = asOf
		}
		// The purchases up to the end: those of the months up to it (the
		// last month's only up to asOf, which is the end then).
		upTo := ""
		for _, c := range cum {
			if !c.month.After(mo) {
				upTo = c.month.Format(time.DateOnly) + "=" + c.f
			}
		}
		if upTo == "" {
			continue // no customer had bought by then: no row
		}
		e := &monthEnd{month: mo, end: end, fingerprint: end.Format(time.DateOnly) + "|" + upTo + "|" + string(params)}
		if k, ok := kept[mo]; ok && k.fingerprint == e.fingerprint && k.end.Equal(end) {
			e.customers, e.sum, e.known = k.customers, k.sum, true
		}
		out = append(out, e)
	}
	return out, nil
}

// churnedAt says whether a customer with summary c (in days) and P(alive)
// pa counts as churned under the settings.
func (s Settings) churnedAt(c clv.Summary, pa float64) bool {
	if s.ChurnDefinition == "p_alive" {
		return pa < s.PAliveThreshold
	}
	return c.T-c.Tx >= float64(s.InactivityDays)
}

// summaryRow reads x, t_x, T and monetary (in days) from driver values;
// ok is false when the customer has no summary (NULL x).
func summaryRow(v []driver.Value) (clv.Summary, bool) {
	if v[0] == nil {
		return clv.Summary{}, false
	}
	s := clv.Summary{X: toFloat(v[0]), Tx: toFloat(v[1]), T: toFloat(v[2])}
	if v[3] != nil {
		s.Monetary = toFloat(v[3])
	}
	return s, true
}

func scaled(s clv.Summary, u clv.Unit) clv.Summary {
	return clv.Summary{X: s.X, Tx: u.FromDays(s.Tx), T: u.FromDays(s.T), Monetary: s.Monetary}
}

// pastSummarySQL gives each customer's summary as of a day, from the
// orders: customer_id, x, t_x, T (days), monetary.
func pastSummarySQL(asOf time.Time) string {
	d := dateSQL(asOf)
	return fmt.Sprintf(`SELECT customer_id, count(*) - 1 AS x, date_diff('day', min(day), max(day)) AS t_x, date_diff('day', min(day), %s) AS "T",
	CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) END AS monetary
FROM (SELECT customer_id, purchase_date AS day, sum(amount) AS amount FROM %s WHERE purchase_date <= %s GROUP BY ALL)
GROUP BY customer_id`, d, transactions, d)
}

// scoreCustomers writes clv_scores: every customer of customer_purchases
// scored now and on their history 90 days back, a chunk at a time. It
// adds the customers not churned now to the last month end when that is
// to be computed. Customers are numbered in id order, so the sums add up
// in the same order, to the same bits, in every build.
func scoreCustomers(ctx context.Context, conn *sql.Conn, m clv.Model, s Settings, unit clv.Unit, co clv.CLVOptions, asOf time.Time, current *monthEnd) (int64, error) {
	if _, err := conn.ExecContext(ctx, scoresDDL); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE clv_to_score AS
SELECT row_number() OVER (ORDER BY c.customer_id) AS n, c.customer_id, c.frequency, c.recency, c.tenure, c.monetary, p.x, p.t_x, p."T", p.monetary AS monetary_90d
FROM customer_purchases c LEFT JOIN (%s) p USING (customer_id)`, pastSummarySQL(asOf.AddDate(0, 0, -90)))); err != nil {
		return 0, fmt.Errorf("summarising customers: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS clv_to_score")
	var total int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM clv_to_score").Scan(&total); err != nil {
		return 0, err
	}
	var rows int64
	for from := int64(1); from <= total; from += scoreChunkRows {
		var ids []string
		var now, past []clv.Summary
		var pastAt []int
		err := translog.Scan(ctx, conn, fmt.Sprintf(`SELECT customer_id, frequency, recency, tenure, monetary, x, t_x, "T", monetary_90d
FROM clv_to_score WHERE n >= %d AND n < %d`, from, from+scoreChunkRows), 9, func(v []driver.Value) error {
			id, _ := v[0].(string)
			c, _ := summaryRow(v[1:5])
			ids = append(ids, id)
			now = append(now, c)
			if p, ok := summaryRow(v[5:9]); ok {
				past = append(past, p)
				pastAt = append(pastAt, len(ids)-1)
			}
			return nil
		})
		if err != nil {
			return rows, fmt.Errorf("reading customers to score: %w", err)
		}
		sn := make([]clv.Summary, len(now))
		for i, c := range now {
			sn[i] = scaled(c, unit)
		}
		sc := scoreAll(m, sn, unit, co)
		pa90 := make([]any, len(ids))
		clv90 := make([]any, len(ids))
		if len(past) > 0 {
			sp := make([]clv.Summary, len(past))
			for i, c := range past {
				sp[i] = scaled(c, unit)
			}
			ps := scoreAll(m, sp, unit, co)
			for k, i := range pastAt {
				pa90[i], clv90[i] = ps.PAlive[k], finite(ps.CLV[k])
			}
		}
		if current != nil && !current.known && m.Spend != nil {
			for i, c := range now {
				if !s.churnedAt(c, sc.PAlive[i]) && !math.IsNaN(sc.CLV[i]) {
					current.customers++
					current.sum += sc.CLV[i]
				}
			}
		}
		i := 0
		n, err := duckdb.Append(ctx, conn, "main", ScoresTable, func() []driver.Value {
			if i >= len(ids) {
				return nil
			}
			c := sn[i]
			var monetary any
			if c.X > 0 {
				monetary = c.Monetary
			}
			row := []driver.Value{ids[i], c.X, c.Tx, c.T, monetary, sc.Expected[0][i], sc.Expected[1][i], sc.PAlive[i], pa90[i],
				finite(sc.ExpectedSpend[i]), finite(sc.CLV[i]), clv90[i]}
			i++
			return row
		})
		rows += n
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// scoreMonthEnds adds up, for each month end given, the 12-month CLV of
// the customers not churned then, scored on their history up to it, in
// one read of the purchase days ordered by customer: each customer's days
// are held only while they are read.
func scoreMonthEnds(ctx context.Context, conn *sql.Conn, m clv.Model, s Settings, unit clv.Unit, co clv.CLVOptions, ends []*monthEnd) error {
	if len(ends) == 0 {
		return nil
	}
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	endDay := make([]int64, len(ends))
	for i, e := range ends {
		endDay[i] = int64(e.end.Sub(epoch).Hours() / 24)
	}
	batches := make([][]clv.Summary, len(ends))
	flush := func(i int) {
		b := batches[i]
		if len(b) == 0 {
			return
		}
		sn := make([]clv.Summary, len(b))
		for k, c := range b {
			sn[k] = scaled(c, unit)
		}
		sc := scoreAll(m, sn, unit, co)
		for k, c := range b {
			if !s.churnedAt(c, sc.PAlive[k]) && !math.IsNaN(sc.CLV[k]) {
				ends[i].customers++
				ends[i].sum += sc.CLV[k]
			}
		}
		batches[i] = b[:0]
	}
	var id string
	var days []int64
	var amounts []float64
	customer := func() {
		if len(days) == 0 {
			return
		}
		for i, e := range endDay {
			n, sum := 0, 0.0
			for k, d := range days {
				if d > e {
					break
				}
				n++
				if k > 0 {
					sum += amounts[k]
				}
			}
			if n == 0 {
				continue
			}
			c := clv.Summary{X: float64(n - 1), Tx: float64(days[n-1] - days[0]), T: float64(e - days[0])}
			if n > 1 {
				c.Monetary = sum / float64(n-1)
			}
			batches[i] = append(batches[i], c)
			if len(batches[i]) == scoreChunkRows {
				flush(i)
			}
		}
		days, amounts = days[:0], amounts[:0]
	}
	last := dateSQL(ends[len(ends)-1].end)
	err := translog.Scan(ctx, conn, `SELECT customer_id, date_diff('day', DATE '1970-01-01', purchase_date), CAST(sum(amount) AS DOUBLE)
FROM `+transactions+` WHERE purchase_date <= `+last+` GROUP BY customer_id, purchase_date ORDER BY customer_id, purchase_date`, 3, func(v []driver.Value) error {
		c, _ := v[0].(string)
		if c != id {
			customer()
			id = c
		}
		days = append(days, int64(toFloat(v[1])))
		amounts = append(amounts, toFloat(v[2]))
		return nil
	})
	if err != nil {
		return err
	}
	customer()
	for i := range ends {
		flush(i)
	}
	return nil
}

// writeMonthlyCLV writes mart_clv_monthly from the month ends (computing
// those not kept) and records them in meta.clv_monthly. Without a spend
// model the table stays empty.
func writeMonthlyCLV(ctx context.Context, conn *sql.Conn, m clv.Model, s Settings, unit clv.Unit, co clv.CLVOptions, ends []*monthEnd, asOf time.Time) error {
	if _, err := conn.ExecContext(ctx, otherDDL[2]); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+monthlyState); err != nil {
		return err
	}
	if m.Spend == nil {
		return nil
	}
	var todo []*monthEnd
	for _, e := range ends {
		if !e.known && !e.end.Equal(asOf) {
			todo = append(todo, e)
		}
	}
	if err := scoreMonthEnds(ctx, conn, m, s, unit, co, todo); err != nil {
		return err
	}
	for _, e := range ends {
		var avg any
		if e.customers > 0 {
			avg = e.sum / float64(e.customers)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO mart_clv_monthly VALUES (?, ?, ?, ?, ?)`, e.month, e.end, e.customers, avg, e.sum); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+monthlyState+` VALUES (?, ?, ?, ?, ?, ?)`, e.month, e.end, e.fingerprint, e.customers, avg, e.sum); err != nil {
			return err
		}
	}
	return nil
}
