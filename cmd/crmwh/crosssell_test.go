package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/warehousetest"
)

// rawOrderPairs counts, from the raw billing files (encoding/csv, the
// legacy ones decoded from GB18030, the generator's broken rows skipped),
// the paid orders with sale lines, the orders holding each product and
// each pair of products.
func rawOrderPairs(t *testing.T, demo string) (orders int, items map[string]int, pairs map[[2]string]int) {
	t.Helper()
	paid := map[string]bool{}
	for _, o := range readOrders(t, demo) {
		if o.status == "paid" {
			paid[o.id] = true
		}
	}
	baskets := map[string]map[string]bool{}
	for _, b := range billingRecords(t, demo, "order_lines/order_lines_*.csv", "legacy/order_lines_*.csv") {
		r := b.fields
		if !paid[r[0]] || strings.HasPrefix(r[5], "-") {
			continue // not a paid order, or a refund line
		}
		if baskets[r[0]] == nil {
			baskets[r[0]] = map[string]bool{}
		}
		baskets[r[0]][r[2]] = true
	}
	items, pairs = warehousetest.CountPairs(baskets)
	return len(baskets), items, pairs
}

// checkCrossSell checks the cross-sell marts of a demo company's
// warehouse: the order pairs against a count from the raw files, the
// window pairs against a count in SQL of the warehouse's facts, the
// planted affinities against the generator's truth, and the offers'
// verdict against its numbers.
func checkCrossSell(t *testing.T, dir, wh string) {
	demo := filepath.Join(dir, "data", "demo")
	db := warehousetest.Open(t, wh, true)
	minPair := warehousetest.Int(t, db, `SELECT cross_sell_min_pair_baskets FROM analytics_settings`)

	t.Run("order pairs equal a count from the raw files", func(t *testing.T) {
		n, items, pairs := rawOrderPairs(t, demo)
		var want [][]string
		for p, k := range pairs {
			if int64(k) >= minPair {
				want = append(want, []string{p[0], p[1], fmt.Sprint(n), fmt.Sprint(items[p[0]]), fmt.Sprint(items[p[1]]), fmt.Sprint(k)})
			}
		}
		sort.Slice(want, func(i, j int) bool { return want[i][0]+want[i][1] < want[j][0]+want[j][1] })
		got := warehousetest.Rows(t, db, `SELECT item_a, item_b, baskets, baskets_a, baskets_b, baskets_ab FROM mart_product_affinity
			WHERE level = 'product' AND scope = 'order' ORDER BY item_a || item_b`)
		require.Greater(t, len(want), 100)
		require.Equal(t, want, got)
	})

	t.Run("window pairs equal a count in SQL", func(t *testing.T) {
		want := warehousetest.Rows(t, db, `WITH firsts AS (
				SELECT customer_id, min(order_date) AS first FROM fct_orders WHERE status = 'paid' GROUP BY 1
			), bought AS (
				SELECT DISTINCT o.customer_id, datediff('day', f.first, o.order_date) // 30 AS w, i.product_id
				FROM fct_orders o JOIN firsts f USING (customer_id) JOIN fct_order_items i USING (order_id)
				WHERE o.status = 'paid' AND i.line_type = 'sale'
			)
			SELECT a.product_id, b.product_id, count(*) FROM bought a JOIN bought b
				ON a.customer_id = b.customer_id AND a.w = b.w AND a.product_id < b.product_id
			GROUP BY ALL HAVING count(*) >= ? ORDER BY 1, 2`, minPair)
		require.Greater(t, len(want), 100)
		require.Equal(t, want, warehousetest.Rows(t, db, `SELECT item_a, item_b, baskets_ab FROM mart_product_affinity
			WHERE level = 'product' AND scope = 'customer_window' ORDER BY 1, 2`))
	})

	t.Run("the planted affinities are found within the truth's bounds", func(t *testing.T) {
		var truth struct {
			Pairs []struct {
				Kind, A, B string
				Lift       map[string]struct{ Min, Max float64 }
			}
		}
		b, err := os.ReadFile(filepath.Join(demo, "truth", "affinities.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &truth))
		require.Len(t, truth.Pairs, 3)
		for _, p := range truth.Pairs {
			for scope, bound := range p.Lift {
				var lift float64
				var assoc string
				require.NoError(t, db.QueryRow(`SELECT lift, association FROM mart_product_affinity
					WHERE level = 'product' AND scope = ? AND item_a = least(?, ?) AND item_b = greatest(?, ?)`,
					scope, p.A, p.B, p.A, p.B).Scan(&lift, &assoc), "%s pair, %s", p.Kind, scope)
				t.Logf("%s pair %s–%s, %s: lift %.3f (%s; truth %g–%g)", p.Kind, p.A, p.B, scope, lift, assoc, bound.Min, bound.Max)
				require.True(t, lift >= bound.Min && lift <= bound.Max, "%s pair, %s: lift %.3f outside %g–%g", p.Kind, scope, lift, bound.Min, bound.Max)
				require.Equal(t, map[bool]string{true: "negative", false: "positive"}[p.Kind == "negative"], assoc, "%s pair, %s", p.Kind, scope)
			}
		}
	})

	t.Run("the offers say honestly how they did", func(t *testing.T) {
		rows := warehousetest.Rows(t, db, `SELECT level, customers_evaluated > 100, beats_baseline = coalesce(mcnemar_z > 1.96, false),
			CASE WHEN beats_baseline THEN verdict LIKE '%more than chance%' ELSE verdict NOT LIKE '%more than chance%' END
			FROM mart_next_best_offer_validation ORDER BY level`)
		require.Equal(t, [][]string{{"category", "true", "true", "true"}, {"product", "true", "true", "true"}}, rows)
		// Every offer is of something the customer has not bought.
		require.Zero(t, warehousetest.Int(t, db, `SELECT count(*) FROM mart_next_best_offer o
			JOIN fct_orders f ON f.customer_id = o.customer_id AND f.status = 'paid'
			JOIN fct_order_items i ON i.order_id = f.order_id AND i.product_id = o.item AND i.line_type = 'sale'
			WHERE o.level = 'product'`))
		require.Positive(t, warehousetest.Int(t, db, `SELECT count(*) FROM mart_next_best_offer WHERE reason LIKE 'bought %; buyers of %'`))
	})
}
