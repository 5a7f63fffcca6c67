package analytics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"crmwh/warehouse/basket"
	"crmwh/warehouse/build"
	"crmwh/warehouse/duckdb"
)

// The tables the cross-sell step writes; the marts mart_product_affinity,
// mart_association_rules, mart_next_best_offer and
// mart_next_best_offer_validation read them (docs/analytics.md).
const (
	// ItemsetsTable holds the exact basket counts of itemsets of one, two
	// and three items, by level and scope, and of the empty itemset (the
	// number of baskets).
	ItemsetsTable = "cross_sell_itemsets"
	// OffersTable holds the next best offers of the active customers.
	OffersTable = "cross_sell_offers"
	// OfferValidationTable holds the offers' hits on a holdout period
	// against the best sellers'.
	OfferValidationTable = "cross_sell_validation"
)

// CrossSell are the cross-sell definitions (crmwh.yaml
// analytics.cross_sell).
type CrossSell struct {
	// WindowDays cuts each customer's orders into baskets of this many
	// days from their first order.
	WindowDays int
	// MinPairBaskets is the fewest baskets a pair must be bought together
	// in to count as evidence (mart_product_affinity, the offers).
	MinPairBaskets int
	// MinSupport and MinConfidence are the thresholds of the rules.
	MinSupport, MinConfidence float64
	// HoldoutDays is the holdout period of the offers' validation.
	HoldoutDays int
	// RefitDays is how many days of new data the counts in use serve
	// before a build counts again (crosssellrefit.go); zero means
	// DefaultCrossSellRefitDays.
	RefitDays int
}

// Offers per customer, by level.
const offersPerCustomer = 3

// CrossSellStep counts what sells together and scores the next best
// offers (docs/analytics.md): it reads every paid order's sale lines once
// and counts, exactly, the baskets holding each product and category,
// pair and (for the rules) triple, in orders and in customers' windows;
// then scores each active customer's offers from their history and the
// window counts, and validates the same scoring on a holdout period.
func CrossSellStep(s Settings) build.Step {
	return build.Step{
		Name:   "cross_sell",
		Reads:  []string{"fct_orders", "fct_order_items", "dim_product", SettingsTable},
		Writes: []string{ItemsetsTable, OffersTable, OfferValidationTable},
		Run: func(ctx context.Context, conn *sql.Conn) (int64, error) {
			return runCrossSell(ctx, conn, s)
		},
	}
}

// catalogue is the items of both levels: products by id, and categories.
type catalogue struct {
	products   []string
	categories []string
	category   basket.Level // product → category, -1 without one
}

func readCatalogue(ctx context.Context, conn *sql.Conn) (*catalogue, error) {
	c := &catalogue{}
	var cats []string
	_, err := duckdb.ScanRows(ctx, conn, `SELECT product_id, category FROM dim_product ORDER BY product_id`, func(r []driver.Value) error {
		c.products = append(c.products, r[0].(string))
		name, _ := r[1].(string)
		cats = append(cats, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the products: %w", err)
	}
	// Categories are numbered in order, as products are, so that a pair's
	// first item is the smaller at both levels.
	index := map[string]int32{}
	for _, name := range cats {
		if name != "" {
			index[name] = 0
		}
	}
	for name := range index {
		c.categories = append(c.categories, name)
	}
	slices.Sort(c.categories)
	for k, name := range c.categories {
		index[name] = int32(k)
	}
	for _, name := range cats {
		k, ok := index[name]
		if !ok {
			k = -1
		}
		c.category = append(c.category, k)
	}
	return c, nil
}

// historyQuery reads every paid order's sale lines, one row per line, in
// customer, day and order order; products are numbered as dim_product
// sorted by product_id, customers as cross_sell_customers numbers them.
const historyQuery = `WITH products AS (
	SELECT product_id, (row_number() OVER (ORDER BY product_id) - 1)::INTEGER AS item FROM dim_product
)
SELECT c.customer_key, datediff('day', DATE '1970-01-01', o.order_date)::INTEGER AS day, o.rowid AS order_key, p.item
FROM fct_orders o
JOIN cross_sell_customers c USING (customer_id)
JOIN fct_order_items i USING (order_id)
JOIN products p USING (product_id)
WHERE o.status = 'paid' AND i.line_type = 'sale'
ORDER BY c.customer_key, day, order_key`

// readHistory reads the history of the customers of cross_sell_customers;
// grow makes room for every paid order and sale line at once (when they
// are every customer's).
func readHistory(ctx context.Context, conn *sql.Conn, grow bool) (*basket.History, error) {
	h := &basket.History{}
	if grow {
		var orders, lines int
		if err := conn.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM fct_orders WHERE status = 'paid'),
			(SELECT count(*) FROM fct_order_items WHERE line_type = 'sale')`).Scan(&orders, &lines); err != nil {
			return nil, fmt.Errorf("counting the order lines: %w", err)
		}
		h.Grow(orders, lines)
	}
	var items []int32
	cust, day, order := int32(-1), int32(0), int64(-1)
	flush := func() {
		if order >= 0 {
			h.AddOrder(cust, day, items)
		}
		items = items[:0]
	}
	_, err := duckdb.ScanRows(ctx, conn, historyQuery, func(r []driver.Value) error {
		c, d, o, it := r[0].(int32), r[1].(int32), r[2].(int64), r[3].(int32)
		if o != order || c != cust {
			flush()
			cust, day, order = c, d, o
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the order lines: %w", err)
	}
	flush()
	return h, nil
}

// level is one of the two levels baskets are counted at.
type level struct {
	name string
	// key numbers the level in cross_sell_offer_keys and
	// cross_sell_item_keys.
	key   int8
	items []string
	lv    basket.Level
	// group and groups: the items' groups (the products' categories),
	// whose preference weighs in the offers; nil for categories.
	group  basket.Level
	groups int
	// What the step works out for the level.
	byOrder, byWindow *basket.Counts
	validation        *validation
}

// recommender prepares a level's offers from window counts, with the
// customers' preference for the items' groups when it has groups
// (purchases: the orders holding each item).
func (l *level) recommender(c *basket.Counts, purchases []int64, s Settings) *basket.Recommender {
	r := basket.NewRecommender(c, int64(s.CrossSell.MinPairBaskets))
	if l.group != nil {
		r.WithGroups(l.group, l.groups, purchases)
	}
	return r
}

// offers scores a customer's offers from their orders up to day until.
func (l *level) offers(r *basket.Recommender, h *basket.History, set *basket.Set, buf []float64, first, end int, until int32) ([]basket.Offer, bool) {
	bought := h.Bought(set, l.lv, first, end, math.MinInt32, until)
	if len(bought) == 0 {
		return nil, false
	}
	var purchases []float64
	if l.group != nil {
		purchases = h.GroupPurchases(l.group, first, end, until, buf)
	}
	return r.Offers(bought, purchases, offersPerCustomer), true
}

func runCrossSell(ctx context.Context, conn *sql.Conn, s Settings) (rows int64, err error) {
	cs := s.CrossSell
	if cs.WindowDays < 1 {
		return 0, fmt.Errorf("cross-sell window of %d days: must be at least 1", cs.WindowDays)
	}
	if err := createCrossSellTables(ctx, conn); err != nil {
		return 0, err
	}
	defer func() {
		for _, t := range []string{"cross_sell_customers", "cross_sell_offer_keys", "cross_sell_item_keys", customerStateNow, rescoredOffers} {
			if _, derr := conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+t); derr != nil && err == nil {
				err = derr
			}
		}
	}()
	log := build.Logger(ctx)
	phase := phases(log)
	cat, err := readCatalogue(ctx, conn)
	if err != nil {
		return 0, err
	}
	asOf, ok, err := fingerprintCustomers(ctx, conn)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, noOffers(ctx, conn)
	}
	fit, err := readCrossSellFit(ctx, conn)
	if err != nil {
		return 0, err
	}
	fp := crossSellFingerprint(s, cat)
	refit, why := decideCrossSellRefit(fit, fp, asOf, s)
	log.Info("cross_sell", "refit", refit, "why", why.en)
	levels := cat.levels()
	if !refit {
		return rescoreCrossSell(ctx, conn, s, levels, asOf, phase)
	}
	// Customers are numbered (in no particular order) for the Go side.
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE cross_sell_customers AS
		SELECT customer_id, (row_number() OVER () - 1)::INTEGER AS customer_key FROM `+customerStateNow); err != nil {
		return 0, fmt.Errorf("numbering the customers: %w", err)
	}
	h, err := readHistory(ctx, conn, true)
	if err != nil {
		return 0, err
	}
	phase("read", "orders", h.Orders(), "lines", len(h.Items))
	if h.Orders() == 0 {
		return 0, noOffers(ctx, conn)
	}
	// The counts and the validation of both levels, on every core.
	opts := basket.Options{MinPair: int64(cs.MinPairBaskets), MinSupport: cs.MinSupport}
	var tasks []func()
	for _, l := range levels {
		n := len(l.items)
		tasks = append(tasks,
			func() { l.byOrder = basket.Count(n, h.OrderBaskets(l.lv, n, asOf), opts) },
			func() { l.byWindow = basket.Count(n, h.WindowBaskets(l.lv, n, int32(cs.WindowDays), asOf), opts) },
			func() { l.validation = validateOffers(h, l, asOf, s) })
	}
	parallel(tasks)
	phase("count")
	for _, l := range levels {
		for _, sc := range []struct {
			scope string
			c     *basket.Counts
		}{{"order", l.byOrder}, {"customer_window", l.byWindow}} {
			k, err := writeItemsets(ctx, conn, *l, sc.scope, sc.c)
			if err != nil {
				return 0, err
			}
			rows += k
		}
		if err := writeItemKeys(ctx, conn, *l); err != nil {
			return 0, err
		}
		k, err := writeOffers(ctx, conn, h, *l, l.recommender(l.byWindow, l.byOrder.Items, s), asOf, s)
		if err != nil {
			return 0, err
		}
		rows += k
		if v := l.validation; v != nil {
			epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
			if _, err := conn.ExecContext(ctx, `INSERT INTO cross_sell_validation VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				l.name, epoch.AddDate(0, 0, int(v.calEnd)), epoch.AddDate(0, 0, int(asOf)),
				v.scored, v.evaluated, v.hits, v.baseHits, v.onlyOffer, v.onlyBase, why.en, why.zh); err != nil {
				return 0, err
			}
		}
	}
	phase("offers", "rows", rows)
	if err := finishOffers(ctx, conn, scoredOffers); err != nil {
		return 0, err
	}
	err = saveCrossSellFit(ctx, conn, fp, asOf, why)
	phase("finish")
	return rows, err
}

// levels are the levels the catalogue has: products, and categories
// when products have them.
func (c *catalogue) levels() []*level {
	levels := []*level{{name: "product", key: 0, items: c.products}}
	if len(c.categories) > 0 {
		levels[0].group, levels[0].groups = c.category, len(c.categories)
		levels = append(levels, &level{name: "category", key: 1, items: c.categories, lv: c.category})
	}
	return levels
}

// phases logs the time each phase of the step took.
func phases(log *slog.Logger) func(name string, attrs ...any) {
	last := time.Now()
	return func(name string, attrs ...any) {
		log.Info("cross_sell", append([]any{"phase", name, "seconds", time.Since(last).Seconds()}, attrs...)...)
		last = time.Now()
	}
}

// parallel runs the tasks, as many at once as there are cores.
func parallel(tasks []func()) {
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t()
		}()
	}
	wg.Wait()
}

func createCrossSellTables(ctx context.Context, conn *sql.Conn) error {
	for _, st := range []string{
		`CREATE SCHEMA IF NOT EXISTS meta`,
		`CREATE OR REPLACE TABLE cross_sell_itemsets (level VARCHAR, scope VARCHAR, size INTEGER,
			item_1 VARCHAR, item_2 VARCHAR, item_3 VARCHAR, baskets BIGINT)`,
		`CREATE OR REPLACE TABLE cross_sell_offer_keys (customer_key INTEGER, level_key TINYINT, rank INTEGER, item_key INTEGER,
			score DOUBLE, evidence DOUBLE, group_preference DOUBLE, because_key INTEGER, confidence DOUBLE, lift DOUBLE,
			popularity DOUBLE, last_day INTEGER)`,
		`CREATE OR REPLACE TABLE cross_sell_item_keys (level_key TINYINT, level VARCHAR, item_key INTEGER, item VARCHAR)`,
		`CREATE OR REPLACE TABLE cross_sell_validation (level VARCHAR, calibration_end DATE, holdout_end DATE,
			customers_scored BIGINT, customers_evaluated BIGINT, offer_hits BIGINT, baseline_hits BIGINT,
			offer_only_hits BIGINT, baseline_only_hits BIGINT, refit VARCHAR, refit_zh VARCHAR)`,
	} {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("creating the cross-sell tables: %w", err)
		}
	}
	return nil
}

// writeItemsets appends a level and scope's counts: the empty itemset
// (the baskets), every item, and the pairs and triples kept.
func writeItemsets(ctx context.Context, conn *sql.Conn, l level, scope string, c *basket.Counts) (int64, error) {
	type row struct {
		size    int32
		a, b, c any
		n       int64
	}
	out := []row{{0, nil, nil, nil, c.Baskets}}
	for i, n := range c.Items {
		if n > 0 {
			out = append(out, row{1, l.items[i], nil, nil, n})
		}
	}
	for _, p := range c.SortedPairs() {
		out = append(out, row{2, l.items[p.A], l.items[p.B], nil, c.Pairs[p]})
	}
	for _, t := range c.SortedTriples() {
		out = append(out, row{3, l.items[t.A], l.items[t.B], l.items[t.C], c.Triples[t]})
	}
	i := 0
	return duckdb.Append(ctx, conn, "main", ItemsetsTable, func() []driver.Value {
		if i == len(out) {
			return nil
		}
		r := out[i]
		i++
		return []driver.Value{l.name, scope, r.size, r.a, r.b, r.c, r.n}
	})
}

// active reports whether a customer whose last order was on day last is
// active on day asOf: not churned under the inactivity definition.
func active(last, asOf int32, s Settings) bool {
	return asOf-last < int32(s.InactivityDays)
}

// writeItemKeys numbers a level's items for cross_sell_offer_keys, which
// holds numbers rather than names: appending offers with their names
// took about twice as long (4 million offers: 7.7 s against 4.1 s).
func writeItemKeys(ctx context.Context, conn *sql.Conn, l level) error {
	i := 0
	_, err := duckdb.Append(ctx, conn, "main", "cross_sell_item_keys", func() []driver.Value {
		if i == len(l.items) {
			return nil
		}
		i++
		return []driver.Value{l.key, l.name, int32(i - 1), l.items[i-1]}
	})
	return err
}

// writeOffers scores every active customer's offers from the window
// counts and their whole history.
func writeOffers(ctx context.Context, conn *sql.Conn, h *basket.History, l level, rec *basket.Recommender, asOf int32, s Settings) (int64, error) {
	set, buf := basket.NewSet(len(l.items)), make([]float64, l.groups)
	var offers []basket.Offer
	var cust, last int32
	first, k := 0, 0
	return duckdb.Append(ctx, conn, "main", "cross_sell_offer_keys", func() []driver.Value {
		for k == len(offers) {
			if first == h.Orders() {
				return nil
			}
			end := h.CustomerEnd(first)
			if active(h.Day[end-1], asOf, s) {
				if os, ok := l.offers(rec, h, set, buf, first, end, asOf); ok {
					offers, cust, last, k = os, h.Customer[first], h.Day[end-1], 0
				}
			}
			first = end
		}
		o := offers[k]
		k++
		var because, conf, lift any
		if o.Because >= 0 {
			because, conf, lift = o.Because, o.Confidence, o.Lift
		}
		return []driver.Value{cust, l.key, int32(k), o.Item, o.Score, o.Evidence, o.GroupPreference,
			because, conf, lift, o.Popularity, last}
	})
}

// validation is how the offers did on the holdout period.
type validation struct {
	calEnd                                                 int32
	scored, evaluated, hits, baseHits, onlyOffer, onlyBase int64
}

// validateOffers scores the customers active holdout_days before the data
// ends on their history up to then, with counts of the windows up to
// then, and checks the offers, and the best sellers they have not bought,
// against what they bought for the first time in the holdout period.
// Without history before the holdout period nobody is scored: the
// validation says so (no customer scored) rather than nothing.
func validateOffers(h *basket.History, l *level, asOf int32, s Settings) *validation {
	calEnd := asOf - int32(s.CrossSell.HoldoutDays)
	n := len(l.items)
	c := basket.Count(n, h.WindowBaskets(l.lv, n, int32(s.CrossSell.WindowDays), calEnd), basket.Options{MinPair: int64(s.CrossSell.MinPairBaskets)})
	if c.Baskets == 0 {
		return &validation{calEnd: calEnd}
	}
	rec := l.recommender(c, h.Purchases(l.lv, n, calEnd), s)
	base := basket.NewBaseline(h.CustomerCounts(l.lv, n, calEnd))
	before, after, buf := basket.NewSet(n), basket.NewSet(n), make([]float64, l.groups)
	var fresh []int32
	v := &validation{calEnd: calEnd}
	for first, end := range h.Customers() {
		if h.Day[first] > calEnd {
			continue // a customer of the holdout period only
		}
		last := first
		for last+1 < end && h.Day[last+1] <= calEnd {
			last++
		}
		if !active(h.Day[last], calEnd, s) {
			continue
		}
		offers, ok := l.offers(rec, h, before, buf, first, end, calEnd)
		if !ok {
			continue
		}
		bought := h.Bought(before, l.lv, first, end, math.MinInt32, calEnd)
		v.scored++
		later := h.Bought(after, l.lv, first, end, calEnd+1, asOf)
		fresh = fresh[:0]
		for _, x := range later {
			if !contains(bought, x) {
				fresh = append(fresh, x)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		v.evaluated++
		hit := anyIn(offers, fresh)
		baseHit := anyIn(base.Offers(bought, offersPerCustomer), fresh)
		v.hits += b2i(hit)
		v.baseHits += b2i(baseHit)
		v.onlyOffer += b2i(hit && !baseHit)
		v.onlyBase += b2i(baseHit && !hit)
	}
	return v
}

func contains(sorted []int32, x int32) bool {
	for _, y := range sorted {
		if y >= x {
			return y == x
		}
	}
	return false
}

func anyIn(offers []basket.Offer, items []int32) bool {
	for _, o := range offers {
		for _, x := range items {
			if o.Item == x {
				return true
			}
		}
	}
	return false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// finishOffers puts the customers' ids on the offers, into table.
func finishOffers(ctx context.Context, conn *sql.Conn, table string) error {
	_, err := conn.ExecContext(ctx, `CREATE OR REPLACE TABLE `+table+` AS
		SELECT c.customer_id, i.level, o.rank, i.item, o.score, o.evidence, o.group_preference,
			b.item AS because_of, o.confidence, o.lift, o.popularity, o.last_day
		FROM cross_sell_offer_keys o
		JOIN cross_sell_customers c USING (customer_key)
		JOIN cross_sell_item_keys i ON i.level_key = o.level_key AND i.item_key = o.item_key
		LEFT JOIN cross_sell_item_keys b ON b.level_key = o.level_key AND b.item_key = o.because_key`)
	if err != nil {
		return fmt.Errorf("writing the offers: %w", err)
	}
	return nil
}
