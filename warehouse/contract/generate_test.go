package contract_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/contract"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
	"crmwh/warehouse/warehousetest"
)

// lake makes raw.<name> relations in an in-memory DuckDB, standing in for
// the lake's views, and returns the set Generate takes.
func lake(t *testing.T, db *sql.DB, rels map[string]string) map[string]bool {
	t.Helper()
	warehousetest.Exec(t, db, "CREATE SCHEMA IF NOT EXISTS raw", "SET TimeZone = 'UTC'")
	raw := map[string]bool{}
	for name, q := range rels {
		warehousetest.Exec(t, db, "CREATE OR REPLACE VIEW raw."+name+" AS "+q)
		raw["raw."+name] = true
	}
	return raw
}

// build creates every generated model as a table and returns them by name.
func build(t *testing.T, db *sql.DB, ms []*models.Model) map[string]*models.Model {
	t.Helper()
	out := map[string]*models.Model{}
	for _, m := range ms {
		warehousetest.Exec(t, db, "CREATE OR REPLACE TABLE "+duckdb.QuoteIdent(m.Name)+" AS\n"+m.SQL)
		out[m.Name] = m
	}
	return out
}

func generate(t *testing.T, db *sql.DB, raw map[string]bool, tz string, ms map[string]contract.Mapping) ([]*models.Model, error) {
	t.Helper()
	return contract.Generate(context.Background(), db, ms, contract.Options{Timezone: tz, Currency: "EUR", File: "crmwh.yaml", Raw: raw})
}

// An invoice-line export: lines summed per invoice, cancellations as
// refunds, float customer ids as integers, local times in the project's
// zone, defaults filled in, and rows without a customer left out and
// reported.
func TestInvoiceLinesBecomeOrders(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	raw := lake(t, db, map[string]string{"shop_lines": `SELECT * FROM (VALUES
		('536365', 'A', 6, 2.55::DOUBLE, TIMESTAMP '2010-12-01 08:26:00', 17850.0::DOUBLE),
		('536365', 'B', 6, 3.39, TIMESTAMP '2010-12-01 08:26:00', 17850.0),
		('C536379', 'A', -1, 2.55, TIMESTAMP '2010-12-01 09:41:00', 17850.0),
		('536367', 'C', 32, 1.69, TIMESTAMP '2010-12-31 23:30:00', 13047.0),
		('536368', 'C', 4, 1.69, TIMESTAMP '2010-12-01 10:00:00', NULL)
	) t(InvoiceNo, StockCode, Quantity, UnitPrice, InvoiceDate, CustomerID)`})
	ms, err := generate(t, db, raw, "Europe/London", map[string]contract.Mapping{
		"orders": {Rows: contract.RowsLines, Source: contract.Source{Stream: "shop.lines", Fields: map[string]string{
			"order_id":    "InvoiceNo",
			"customer_id": "CustomerID",
			"ordered_at":  "InvoiceDate",
			"amount":      "Quantity * UnitPrice",
			"status":      "case when InvoiceNo like 'C%' then 'refund' else 'paid' end",
		}}},
		"order_lines": {Source: contract.Source{Stream: "shop.lines", Fields: map[string]string{
			"order_id": "InvoiceNo", "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice",
		}}},
	})
	require.NoError(t, err)
	got := build(t, db, ms)
	require.Equal(t, models.Table, got["stg_orders"].Materialize, "summed lines cannot be merged incrementally")
	require.Equal(t, [][]string{
		{"536365", "17850", "2010-12-01 08:26:00+00", "35.64", "paid", "35.64", "0.00", "EUR", "2010-12-01", "2010-12-01", "shop.lines"},
		{"536367", "13047", "2010-12-31 23:30:00+00", "54.08", "paid", "54.08", "0.00", "EUR", "2010-12-31", "2010-12-01", "shop.lines"},
		{"C536379", "17850", "2010-12-01 09:41:00+00", "-2.55", "refund", "-2.55", "0.00", "EUR", "2010-12-01", "2010-12-01", "shop.lines"},
	}, warehousetest.Rows(t, db, `SELECT order_id, customer_id, strftime(ordered_at, '%Y-%m-%d %H:%M:%S+00'), amount, status,
		gross_amount, discount_amount, currency, order_date, order_month, source_stream FROM stg_orders ORDER BY order_id`))

	// The invoice without a customer is left out, and its data test says so.
	var test models.TestSpec
	for _, ts := range got["stg_orders"].Spec.Tests {
		if ts.Name == "rows_left_out_stg_orders" {
			test = ts
		}
	}
	require.Equal(t, models.SeverityWarn, test.Severity)
	require.Equal(t, [][]string{{"shop.lines", "536368", "NULL"}}, warehousetest.Rows(t, db, "SELECT source_stream, order_id, customer_id FROM ("+test.Query+")"))

	// Lines are numbered by product when the export has no line number.
	require.Equal(t, [][]string{{"536365", "1", "A", "6", "15.30"}, {"536365", "2", "B", "6", "20.34"}},
		warehousetest.Rows(t, db, "SELECT order_id, line_no, product_id, quantity, amount FROM stg_order_lines WHERE order_id = '536365' ORDER BY line_no"))
	require.Equal(t, "5", warehousetest.Scalar(t, db, "SELECT count(*) FROM stg_order_lines"), "lines need no customer: every line stays")
}

// In a zone east of UTC, a timestamp without zone is local wall-clock
// time: 2025-01-31 23:30 in Shanghai is 15:30 UTC, still January 31st
// locally; a UTC timestamp of 2025-01-31 20:00 is February 1st there.
func TestTimesWithoutZoneAreLocalAndDatesAreCountedInTheProjectZone(t *testing.T) {
	for _, tc := range []struct {
		tz         string
		naive, utc []string // local date and month of each
	}{
		{"Asia/Shanghai", []string{"2025-01-31", "2025-01-01"}, []string{"2025-02-01", "2025-02-01"}},
		{"America/New_York", []string{"2025-01-31", "2025-01-01"}, []string{"2025-01-31", "2025-01-01"}},
	} {
		t.Run(tc.tz, func(t *testing.T) {
			db := warehousetest.Open(t, "", false)
			raw := lake(t, db, map[string]string{"s_o": `SELECT * FROM (VALUES
				('n', 'c', TIMESTAMP '2025-01-31 23:30:00', 1.0),
				('u', 'c', NULL, 1.0)
			) t(id, cust, naive, amount)`,
				"s_u": `SELECT 'u' AS id, 'c' AS cust, TIMESTAMPTZ '2025-01-31 20:00:00+00' AS ts, 1.0 AS amount`})
			ms, err := generate(t, db, raw, tc.tz, map[string]contract.Mapping{"orders": {Union: []contract.Source{
				{Stream: "s.o", Where: "naive is not null", Fields: map[string]string{"order_id": "id", "customer_id": "cust", "ordered_at": "naive", "amount": "amount"}},
				{Stream: "s.u", Fields: map[string]string{"order_id": "id", "customer_id": "cust", "ordered_at": "ts", "amount": "amount"}},
			}}})
			require.NoError(t, err)
			build(t, db, ms)
			require.Equal(t, [][]string{
				{"n", tc.naive[0], tc.naive[1], "s.o"},
				{"u", tc.utc[0], tc.utc[1], "s.u"},
			}, warehousetest.Rows(t, db, "SELECT order_id, order_date, order_month, source_stream FROM stg_orders ORDER BY 1"))
			// The naive time is the zone's wall-clock time.
			require.Equal(t, "2025-01-31 23:30:00", warehousetest.Scalar(t, db,
				"SELECT strftime(timezone(?, ordered_at), '%Y-%m-%d %H:%M:%S') FROM stg_orders WHERE order_id = 'n'", tc.tz))
		})
	}
}

// Rows that are versions of a record: the latest by updated_at wins, then
// the source listed first; coded values are lower-cased.
func TestTheLatestVersionWins(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	raw := lake(t, db, map[string]string{
		"crm_people": `SELECT * FROM (VALUES
			(' 7 ', 'Ann', 'Corporate', TIMESTAMPTZ '2025-01-01 00:00:00+00'),
			('7', 'Ann Lee', 'corporate', TIMESTAMPTZ '2025-03-01 00:00:00+00'),
			('8', 'Bo', NULL, TIMESTAMPTZ '2025-01-01 00:00:00+00'),
			('', 'Nobody', NULL, TIMESTAMPTZ '2025-01-01 00:00:00+00')
		) t(id, name, kind, changed)`,
		"old_people": `SELECT '8' AS id, 'Bo (old system)' AS name, TIMESTAMPTZ '2025-01-01 00:00:00+00' AS changed`,
		"shop_o":     `SELECT 'o1' AS id, '7' AS cust, TIMESTAMPTZ '2025-01-01 00:00:00+00' AS ts, 5 AS amount`,
	})
	ms, err := generate(t, db, raw, "UTC", map[string]contract.Mapping{
		"orders": {Source: contract.Source{Stream: "shop.o", Fields: map[string]string{"order_id": "id", "customer_id": "cust", "ordered_at": "ts", "amount": "amount"}}},
		"customers": {Union: []contract.Source{
			{Stream: "crm.people", Fields: map[string]string{"customer_id": "id", "name": "name", "customer_type": "kind", "updated_at": "changed"}},
			{Stream: "old.people", Fields: map[string]string{"customer_id": "id", "name": "name", "updated_at": "changed"}},
		}},
	})
	require.NoError(t, err)
	got := build(t, db, ms)
	// Entities kept by key are incremental tables, merged in the order
	// that picks the latest version.
	require.Equal(t, models.Incremental, got["stg_customers"].Materialize)
	require.Equal(t, []string{"customer_id"}, got["stg_customers"].Spec.UniqueKey)
	require.Equal(t, `"updated_at" DESC NULLS LAST, "signed_up_at" DESC NULLS LAST, CASE source_stream WHEN 'crm.people' THEN 1 WHEN 'old.people' THEN 2 END`, got["stg_customers"].MergeOrder)
	require.Equal(t, models.Incremental, got["stg_orders"].Materialize)
	require.Equal(t, []string{"order_id"}, got["stg_orders"].Spec.UniqueKey)
	require.Equal(t, [][]string{{"7", "Ann Lee", "corporate"}, {"8", "Bo", "individual"}},
		warehousetest.Rows(t, db, "SELECT customer_id, name, customer_type FROM stg_customers ORDER BY 1"))
	// Unmapped entities are placeholders with the entity's columns and no rows.
	tickets := got["stg_tickets"]
	require.True(t, tickets.Placeholder)
	require.Equal(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM stg_tickets"))
	require.Equal(t, [][]string{{"ticket_id", "VARCHAR"}, {"customer_id", "VARCHAR"}, {"opened_at", "TIMESTAMP WITH TIME ZONE"}},
		warehousetest.Rows(t, db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'stg_tickets' ORDER BY ordinal_position LIMIT 3"))
}

// Mistakes in expressions are found before anything runs, each at its
// line in crmwh.yaml, with DuckDB's reason and a hint.
func TestExpressionsAreCheckedAgainstTheStreamsColumns(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	raw := lake(t, db, map[string]string{"shop_o": `SELECT 'o1' AS id, 'c' AS cust, '20250101' AS day, '12.50' AS total, 3 AS qty`})
	m := contract.Mapping{
		Source: contract.Source{Stream: "shop.o", Where: "qty >", Fields: map[string]string{
			"order_id": "id", "customer_id": "custt", "ordered_at": "day", "amount": "total", "status": "qty",
		}},
		Lines: map[string]int{"": 10, "where": 12, "fields.customer_id": 14, "fields.ordered_at": 15, "fields.amount": 16},
	}
	_, err := generate(t, db, raw, "UTC", map[string]contract.Mapping{"orders": m, "tickets": {Source: contract.Source{Stream: "crm.tickets",
		Fields: map[string]string{"ticket_id": "id", "customer_id": "c", "opened_at": "t"}}, Lines: map[string]int{"stream": 30}}})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`crmwh.yaml:12: entities.orders.where: Parser Error`,
		`crmwh.yaml:14: entities.orders.fields.customer_id: Binder Error: Referenced column "custt" not found`,
		"crmwh.yaml:15: entities.orders.fields.ordered_at: `day` is VARCHAR, not a timestamp: parse it in the expression, e.g. strptime(x, '%Y%m%d')",
		"crmwh.yaml:16: entities.orders.fields.amount: `total` is VARCHAR, not a number",
		"crmwh.yaml:30: entities.tickets.stream: stream crm.tickets has no data in the lake yet (run `crmwh extract crm.tickets` first)",
	} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "fields.status", "a string field takes any type")
	require.Len(t, strings.Split(msg, "\n"), 5, msg)

	_, err = generate(t, db, raw, "UTC", map[string]contract.Mapping{})
	require.EqualError(t, err, "crmwh.yaml: entities.orders: missing: map orders before building (the fields order_id, customer_id, ordered_at, amount); see docs/your-data.md, or let `crmwh init --orders FILE` propose it")
}
