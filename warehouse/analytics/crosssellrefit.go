package analytics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"crmwh/warehouse/basket"
	"crmwh/warehouse/duckdb"
)

// The cross-sell step counts the baskets again only when it is time to
// (the count reads every order line of every customer): the first time,
// when the cross-sell settings or the products change, when the data end
// before the last build's, or when RefitDays of new data have come in
// since the counts in use. Otherwise it keeps the counts in use (and the
// marts built on them: pairs, rules, the offers' validation), and scores
// again only the customers whose paid order lines changed since the last
// build, with those counts. Every other customer keeps their offers, as
// long as they are active. A full build of the same data, starting from
// the same published warehouse, reaches the same decision and the same
// offers: the state below lives in the meta schema, which full builds
// carry forward.

// DefaultCrossSellRefitDays is the default of crmwh.yaml
// analytics.cross_sell.refit_days.
const DefaultCrossSellRefitDays = 7

// The cross-sell state in the meta schema, and the step's work tables.
const (
	crossSellFit         = "meta.cross_sell_fit"
	crossSellFitItemsets = "meta.cross_sell_fit_itemsets"
	crossSellFitChecks   = "meta.cross_sell_fit_validation"
	scoredCustomers      = "meta.cross_sell_scored_customers"
	// scoredOffers holds every active customer's offers as last scored,
	// with the day of their last purchase; OffersTable is a view of it.
	scoredOffers     = "meta.cross_sell_scored_offers"
	customerStateNow = "meta.cross_sell_customers_now"
	rescoredOffers   = "cross_sell_rescored_offers"
)

// crossSellState is every table of the state: without one of them, the
// step counts again.
var crossSellState = []string{crossSellFit, crossSellFitItemsets, crossSellFitChecks, scoredCustomers, scoredOffers}

// fingerprintCustomers writes customerStateNow: every customer with a paid
// order and a fingerprint of their paid orders' sale lines (what their
// offers are scored from). It returns the last day with paid orders, and
// false when there is none.
func fingerprintCustomers(ctx context.Context, conn *sql.Conn) (int32, bool, error) {
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE `+customerStateNow+` AS
		SELECT o.customer_id,
			bit_xor(hash(o.order_id, o.order_date, i.product_id)) AS fingerprint,
			-- a second sum, as equal lines cancel out in the first
			sum(hash(o.order_id, o.order_date, i.product_id) >> 32)::BIGINT AS checksum,
			count(*) AS lines
		FROM fct_orders o
		LEFT JOIN fct_order_items i ON i.order_id = o.order_id AND i.line_type = 'sale'
		WHERE o.status = 'paid'
		GROUP BY o.customer_id`); err != nil {
		return 0, false, fmt.Errorf("reading the customers' order lines: %w", err)
	}
	// As of the last day with paid orders, as customer_purchases.
	var asOf sql.NullInt32
	if err := conn.QueryRowContext(ctx, `SELECT datediff('day', DATE '1970-01-01', max(order_date))::INTEGER FROM fct_orders WHERE status = 'paid'`).Scan(&asOf); err != nil {
		return 0, false, fmt.Errorf("reading the last day with orders: %w", err)
	}
	return asOf.Int32, asOf.Valid, nil
}

// publishOffers makes OffersTable the view of the scored offers.
func publishOffers(ctx context.Context, conn *sql.Conn) error {
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ?`, OffersTable).Scan(&n); err != nil {
		return err
	}
	if n > 0 { // a table, from a build before the view
		if _, err := conn.ExecContext(ctx, "DROP TABLE "+OffersTable); err != nil {
			return err
		}
	}
	_, err := conn.ExecContext(ctx, `CREATE OR REPLACE VIEW `+OffersTable+` AS
		SELECT customer_id, level, rank, item, score, evidence, group_preference, because_of, confidence, lift, popularity
		FROM `+scoredOffers)
	return err
}

// noOffers writes no offers, and forgets the state: with paid orders
// again, the step counts from scratch.
func noOffers(ctx context.Context, conn *sql.Conn) error {
	for _, t := range crossSellState {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE cross_sell_customers (customer_id VARCHAR, customer_key INTEGER)`); err != nil {
		return err
	}
	if err := finishOffers(ctx, conn, scoredOffers); err != nil {
		return err
	}
	return publishOffers(ctx, conn)
}

// crossSellCounts are the counts in use: when they were counted, and
// the settings and products they were counted with.
type crossSellCounts struct {
	asOf, scoredAsOf int32
	settings         string
}

// readCrossSellFit returns the counts in use, or nil when there are none
// (or a table of the state is missing).
func readCrossSellFit(ctx context.Context, conn *sql.Conn) (*crossSellCounts, error) {
	if ok, err := tablesExist(ctx, conn, crossSellState...); err != nil || !ok {
		return nil, err
	}
	var f crossSellCounts
	err := conn.QueryRowContext(ctx, `SELECT as_of, scored_as_of, settings FROM `+crossSellFit).Scan(&f.asOf, &f.scoredAsOf, &f.settings)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the cross-sell counts in use: %w", err)
	}
	return &f, nil
}

// crossSellFingerprint identifies what the counts and the offers depend
// on besides the orders: the cross-sell settings but the refit schedule,
// the inactivity that makes a customer active, and the products with
// their categories.
func crossSellFingerprint(s Settings, c *catalogue) string {
	cs := s.CrossSell
	cs.RefitDays = 0
	h := fnv.New64a()
	for i, p := range c.products {
		fmt.Fprintf(h, "%s\x00%d\x00", p, c.category[i])
	}
	for _, name := range c.categories {
		fmt.Fprintf(h, "%s\x00", name)
	}
	return fmt.Sprintf("%+v inactivity_days:%d products:%x", cs, s.InactivityDays, h.Sum64())
}

func (s Settings) crossSellRefitDays() int32 {
	if s.CrossSell.RefitDays > 0 {
		return int32(s.CrossSell.RefitDays)
	}
	return DefaultCrossSellRefitDays
}

// decideCrossSellRefit says whether this build counts again, and why (or
// why not), for cross_sell_validation.refit.
func decideCrossSellRefit(f *crossSellCounts, settings string, asOf int32, s Settings) (bool, refitReason) {
	day := func(d int32) string { return epochDay(d).Format(time.DateOnly) }
	days := s.crossSellRefitDays()
	switch {
	case f == nil:
		return true, refitReason{"counted: the first count", "已统计：首次统计"}
	case f.settings != settings:
		return true, refitReason{"counted again: the cross-sell settings or the products changed", "已重新统计：交叉销售设置或商品已更改"}
	case asOf < f.scoredAsOf:
		return true, refitReason{
			fmt.Sprintf("counted again: the data now end on %s, before the last build's %s", day(asOf), day(f.scoredAsOf)),
			fmt.Sprintf("已重新统计：数据现截至 %s，早于上次构建的 %s", day(asOf), day(f.scoredAsOf))}
	case asOf-f.asOf >= days:
		return true, refitReason{
			fmt.Sprintf("counted again: %d days of new data since the count of %s (analytics.cross_sell.refit_days: %d)", asOf-f.asOf, day(f.asOf), days),
			fmt.Sprintf("已重新统计：自 %s 的统计以来已有 %d 天新数据（analytics.cross_sell.refit_days：%d）", day(f.asOf), asOf-f.asOf, days)}
	}
	return false, refitReason{
		fmt.Sprintf("counts of %s in use: %d days of new data, fewer than analytics.cross_sell.refit_days (%d)", day(f.asOf), asOf-f.asOf, days),
		fmt.Sprintf("沿用 %s 的统计：新数据 %d 天，少于 analytics.cross_sell.refit_days（%d）", day(f.asOf), asOf-f.asOf, days)}
}

// tablesExist reports whether every table (schema.table) is in the
// warehouse being built.
func tablesExist(ctx context.Context, conn *sql.Conn, tables ...string) (bool, error) {
	for _, t := range tables {
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name || '.' || table_name = ?`, t).Scan(&n); err != nil {
			return false, err
		}
		if n == 0 {
			return false, nil
		}
	}
	return true, nil
}

func epochDay(d int32) time.Time {
	return time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(d))
}

// saveCrossSellFit keeps what a count wrote as the counts in use, and
// the customers' fingerprints the offers were scored on.
func saveCrossSellFit(ctx context.Context, conn *sql.Conn, settings string, asOf int32, why refitReason) error {
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`CREATE OR REPLACE TABLE ` + crossSellFit + ` AS SELECT CAST(? AS DATE) AS counted_through, CAST(? AS INTEGER) AS as_of,
			CAST(? AS INTEGER) AS scored_as_of, CAST(? AS VARCHAR) AS settings, CAST(? AS VARCHAR) AS reason`,
			[]any{epochDay(asOf), asOf, asOf, settings, why.en}},
		{`CREATE OR REPLACE TABLE ` + crossSellFitItemsets + ` AS SELECT * FROM ` + ItemsetsTable, nil},
		{`CREATE OR REPLACE TABLE ` + crossSellFitChecks + ` AS SELECT * FROM ` + OfferValidationTable, nil},
	} {
		if _, err := conn.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("keeping the cross-sell counts: %w", err)
		}
	}
	return saveScored(ctx, conn)
}

// saveScored keeps the customers' fingerprints the offers were scored on,
// and publishes the offers.
func saveScored(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{
		`DROP TABLE IF EXISTS ` + scoredCustomers,
		`ALTER TABLE ` + customerStateNow + ` RENAME TO ` + strings.TrimPrefix(scoredCustomers, "meta."),
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("keeping the scored customers: %w", err)
		}
	}
	return publishOffers(ctx, conn)
}

// rescoreCrossSell keeps the counts in use and scores the customers whose
// paid order lines changed (or who are new) with them; the others keep
// their offers while they are active.
func rescoreCrossSell(ctx context.Context, conn *sql.Conn, s Settings, levels []*level, asOf int32, phase func(string, ...any)) (int64, error) {
	for _, q := range []string{
		`CREATE OR REPLACE TABLE ` + ItemsetsTable + ` AS SELECT * FROM ` + crossSellFitItemsets,
		`CREATE OR REPLACE TABLE ` + OfferValidationTable + ` AS SELECT * FROM ` + crossSellFitChecks,
		`CREATE OR REPLACE TABLE cross_sell_customers AS
			SELECT n.customer_id, (row_number() OVER () - 1)::INTEGER AS customer_key
			FROM ` + customerStateNow + ` n LEFT JOIN ` + scoredCustomers + ` s USING (customer_id)
			WHERE s.customer_id IS NULL OR s.fingerprint <> n.fingerprint OR s.checksum <> n.checksum OR s.lines <> n.lines`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("keeping the cross-sell counts: %w", err)
		}
	}
	h, err := readHistory(ctx, conn, false)
	if err != nil {
		return 0, err
	}
	phase("read", "orders", h.Orders(), "lines", len(h.Items))
	for _, l := range levels {
		window, purchases, err := countsInUse(ctx, conn, l)
		if err != nil {
			return 0, err
		}
		if err := writeItemKeys(ctx, conn, *l); err != nil {
			return 0, err
		}
		if _, err := writeOffers(ctx, conn, h, *l, l.recommender(window, purchases, s), asOf, s); err != nil {
			return 0, err
		}
	}
	if err := finishOffers(ctx, conn, rescoredOffers); err != nil {
		return 0, err
	}
	// The customers not scored again keep their offers while active (as
	// writeOffers judges them, by the last day they bought on): the
	// others' offers make way for their new ones, or go.
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`DELETE FROM ` + scoredOffers + ` WHERE customer_id IN (SELECT customer_id FROM cross_sell_customers)
			OR CAST(? AS INTEGER) - last_day >= CAST(? AS INTEGER)
			OR customer_id NOT IN (SELECT customer_id FROM ` + customerStateNow + `)`, []any{asOf, s.InactivityDays}},
		{`INSERT INTO ` + scoredOffers + ` SELECT * FROM ` + rescoredOffers, nil},
		{`UPDATE ` + crossSellFit + ` SET scored_as_of = ?`, []any{asOf}},
	} {
		if _, err := conn.ExecContext(ctx, st.q, st.args...); err != nil {
			return 0, fmt.Errorf("writing the offers: %w", err)
		}
	}
	if err := saveScored(ctx, conn); err != nil {
		return 0, err
	}
	var rows int64
	err = conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+ItemsetsTable+`) + (SELECT count(*) FROM `+scoredOffers+`)`).Scan(&rows)
	phase("offers", "rows", rows)
	return rows, err
}

// countsInUse rebuilds a level's customer-window counts and its items'
// purchases (orders holding each) from the counts in use, as the count
// made them for the offers: the baskets, every item, and the pairs kept.
func countsInUse(ctx context.Context, conn *sql.Conn, l *level) (*basket.Counts, []int64, error) {
	index := make(map[string]int32, len(l.items))
	for i, name := range l.items {
		index[name] = int32(i)
	}
	c := &basket.Counts{Items: make([]int64, len(l.items)), Pairs: map[basket.Pair]int64{}, Triples: map[basket.Triple]int64{}}
	purchases := make([]int64, len(l.items))
	_, err := duckdb.ScanRows(ctx, conn, fmt.Sprintf(`SELECT scope, size, item_1, item_2, baskets FROM %s
		WHERE level = '%s' AND size <= 2 AND (scope = 'customer_window' OR size = 1)`, crossSellFitItemsets, l.name), func(r []driver.Value) error {
		scope, size, n := r[0].(string), r[1].(int32), r[4].(int64)
		item := func(v driver.Value) (int32, error) {
			k, ok := index[v.(string)]
			if !ok {
				return 0, fmt.Errorf("the counts in use name %s %q, which is not in dim_product", l.name, v)
			}
			return k, nil
		}
		switch {
		case size == 0:
			c.Baskets = n
		case size == 1:
			i, err := item(r[2])
			if err != nil {
				return err
			}
			if scope == "order" {
				purchases[i] = n
			} else {
				c.Items[i] = n
			}
		default:
			a, err := item(r[2])
			if err != nil {
				return err
			}
			b, err := item(r[3])
			if err != nil {
				return err
			}
			c.Pairs[basket.Pair{A: a, B: b}] = n
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading the cross-sell counts in use: %w", err)
	}
	return c, purchases, nil
}
