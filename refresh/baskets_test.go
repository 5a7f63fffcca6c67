package refresh_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/project"
	"crmwh/project/onboard"
	"crmwh/refresh"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/warehousetest"
)

// A public basket data set has transactions and items and nothing else: no
// customer, no date, no amount. docs/analytics.md says how to count its
// rules with crmwh: `crmwh init` with the file as orders and order lines,
// then an order per transaction (`rows: lines`), any customer and date,
// amount 0, and the published thresholds. Done so with the textbook
// example of Han, Kamber & Pei (Table 6.1, minimum support count 2 of 9,
// minimum confidence 70%), the build passes its data tests (a Pareto share
// of no revenue at all is NULL, not 0/0), the pages render, and the rules
// are the textbook's: the three strong rules of {I1, I2, I5} and the three
// of its frequent pairs.
func TestBasketsWithoutCustomersDatesOrAmounts(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	file := filepath.Join(data, "baskets.csv")
	transactions := map[string]string{
		"T100": "I1 I2 I5", "T200": "I2 I4", "T300": "I2 I3", "T400": "I1 I2 I4", "T500": "I1 I3",
		"T600": "I2 I3", "T700": "I1 I3", "T800": "I1 I2 I3 I5", "T900": "I1 I2 I3",
	}
	csv := "transaction,item\n"
	for _, id := range []string{"T100", "T200", "T300", "T400", "T500", "T600", "T700", "T800", "T900"} {
		for _, item := range strings.Fields(transactions[id]) {
			csv += id + "," + item + "\n"
		}
	}
	require.NoError(t, os.WriteFile(file, []byte(csv), 0o644))

	dir := t.TempDir()
	var ins []onboard.Input
	for _, entity := range []string{"orders", "order_lines"} {
		in, err := onboard.ParseInput(entity, file)
		require.NoError(t, err)
		ins = append(ins, in)
	}
	res, err := onboard.Propose(ctx, onboard.Options{Dir: dir, Timezone: "UTC", Currency: "USD", Inputs: ins})
	require.NoError(t, err)
	require.ErrorContains(t, res.Err(), "orders.customer_id: no column of "+file+" fits", "nothing is guessed")
	// The TODO lines filled in as the docs say.
	config := string(res.Config)
	config = config[:strings.Index(config, "\nentities:")] + `
entities:
  orders:
    stream: baskets.orders
    rows: lines
    fields:
      order_id: transaction
      customer_id: transaction
      ordered_at: "DATE '2024-01-01'"
      amount: "0"
  order_lines:
    stream: baskets.orders
    fields:
      order_id: transaction
      product_id: item
      quantity: "1"
      unit_price: "0"

analytics:
  cross_sell:
    min_support: 0.2
    min_confidence: 0.7
`
	_, err = project.Write(dir, project.WriteOptions{Files: map[string][]byte{project.ConfigFile: []byte(config)}})
	require.NoError(t, err)
	p, err := project.Load(dir)
	require.NoError(t, err)
	clock := time.Date(2024, 1, 2, 3, 0, 0, 0, time.UTC)
	r := &refresh.Runner{Project: p, RunID: refresh.NewRunID(clock), Now: func() time.Time { return clock }}
	_, err = r.Run(ctx, refresh.AllSteps)
	require.NoError(t, err, "the build's data tests pass and the pages render")

	db := warehousetest.Open(t, p.WarehouseFile(), true)
	defer db.Close()
	require.Equal(t, [][]string{
		// confidence 2/2; lift = 1 / (n(Y)/9): I2 in 7 baskets, I1 in 6, {I1, I2} in 4
		{"[I1, I5]", "[I2]", "2", "2", "1", "1.2857"},
		{"[I2, I5]", "[I1]", "2", "2", "1", "1.5"},
		{"[I4]", "[I2]", "2", "2", "1", "1.2857"},
		{"[I5]", "[I1, I2]", "2", "2", "1", "2.25"},
		{"[I5]", "[I1]", "2", "2", "1", "1.5"},
		{"[I5]", "[I2]", "2", "2", "1", "1.2857"},
	}, warehousetest.Rows(t, db, `SELECT antecedent::VARCHAR, consequent::VARCHAR, baskets, antecedent_baskets, round(confidence, 4), round(lift, 4)
		FROM mart_association_rules WHERE level = 'product' AND scope = 'order' AND total_baskets = 9 ORDER BY 1, 2`))
	require.Equal(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM mart_association_rules WHERE level = 'product' AND scope = 'order' AND total_baskets <> 9"))
	require.Equal(t, [][]string{{"100", "0", "0.00"}}, warehousetest.Rows(t, db, "SELECT count(*), count(revenue_share), max(net_revenue) FROM mart_pareto"))
	require.Equal(t, [][]string{{"10", "0"}}, warehousetest.Rows(t, db, "SELECT count(*), count(share_of_revenue) FROM mart_segments"))
	// No figure anywhere is 0/0: every double of every published relation
	// is a number or NULL.
	for _, col := range warehousetest.Rows(t, db, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'main' AND data_type IN ('DOUBLE', 'FLOAT')`) {
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE isnan(%s) OR isinf(%s)", duckdb.QuoteIdent(col[0]), duckdb.QuoteIdent(col[1]), duckdb.QuoteIdent(col[1]))
		require.Equal(t, "0", warehousetest.Scalar(t, db, q), "%s.%s", col[0], col[1])
	}
	// All on one day: nothing before the holdout period to score offers
	// on, and the validation says so (on the page too) rather than nothing.
	require.Equal(t, [][]string{{"product", "0", "NULL", "Not checked: no customer was active before the holdout period (the data's last 90 days), so there were no offers to check."}},
		warehousetest.Rows(t, db, "SELECT level, customers_scored, offer_hit_rate, verdict FROM mart_next_best_offer_validation"))
	page, err := os.ReadFile(filepath.Join(p.SiteDir(), "cross_sell.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), "Not checked: no customer was active before the holdout period")
	csvs, err := filepath.Glob(filepath.Join(p.SiteDir(), "data", "*", "*.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, csvs)
	for _, f := range csvs {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NotContains(t, string(b), "NaN", f)
	}
}
