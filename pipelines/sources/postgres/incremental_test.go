package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
)

const customersDDL = `CREATE TABLE customers (
	customer_id text PRIMARY KEY, name text, status text, updated_at timestamptz)`

// latest is the staging pattern of sql/staging/crm/stg_crm__customers.sql:
// one row per key, its latest extracted version.
const latest = `SELECT customer_id, name, status, strftime(updated_at, '%H:%M:%S') FROM raw.crm_customers
	WHERE customer_id <> 'C1'
	QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY updated_at DESC) = 1 ORDER BY customer_id`

func customersStream(lookback string) pipelines.StreamConfig {
	st := pipelines.StreamConfig{Name: "customers", Table: "customers", Watermark: "updated_at", PrimaryKey: []string{"customer_id"}}
	if lookback != "" {
		lb, err := pipelines.ParseLookback(lookback)
		if err != nil {
			panic(err)
		}
		st.Lookback = lb
	}
	return st
}

func TestIncrementalRunsWithLateRowsInsideTheLookBackWindow(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, customersDDL, `INSERT INTO customers VALUES
		('C1', 'Ann', 'active', '2025-01-01 10:00:00Z'),
		('C2', 'Bo', 'active', '2025-01-01 10:01:00Z'),
		('C3', 'Cai', 'prospect', '2025-01-01 10:02:00Z')`)
	l := laketest.New(t, "", source(s, db, customersStream("1h")))

	r := l.MustExtract(t)
	require.Equal(t, int64(3), r.Rows)
	m := l.Manifest(t, "crm", "customers")
	require.Equal(t, "2025-01-01T10:02:00Z", m.Watermark.Value)
	require.Equal(t, 3, m.Window.Rows())

	// A second run with nothing new re-reads the window and adds nothing.
	r = l.MustExtract(t)
	require.Zero(t, r.Rows)
	require.Equal(t, int64(3), r.Counters["lookback_reread"])
	require.Equal(t, int64(3), r.Counters["lookback_duplicates"])

	exec(t, s, db,
		// An ordinary update after the watermark.
		`UPDATE customers SET status = 'active', updated_at = '2025-01-01 10:05:00Z' WHERE customer_id = 'C3'`,
		// A row committed late, stamped inside the window (10:02 − 1h).
		`INSERT INTO customers VALUES ('C4', 'Dee', 'active', '2025-01-01 09:30:00Z')`,
		// A late update stamped below the watermark but inside the window.
		`UPDATE customers SET name = 'Bob', updated_at = '2025-01-01 10:01:30Z' WHERE customer_id = 'C2'`,
		// An update that did not touch updated_at: a new row version at
		// the same watermark value, inside the window.
		`UPDATE customers SET status = 'closed' WHERE customer_id = 'C1'`,
		// A row stamped before the window: out of reach by contract.
		`INSERT INTO customers VALUES ('C5', 'Eve', 'active', '2025-01-01 08:00:00Z')`)
	r = l.MustExtract(t)
	require.Equal(t, int64(4), r.Rows, "C3 updated, C4 late, C2 late update, C1 changed in place")
	require.Equal(t, int64(3), r.Counters["lookback_reread"], "C1, C2 and C4 are at or below the old watermark")
	require.Zero(t, r.Counters["lookback_duplicates"], "every row read had changed")

	require.Zero(t, l.MustExtract(t).Rows, "a run after that adds nothing")
	require.Equal(t, int64(7), l.Int(t, "SELECT count(*) FROM raw.crm_customers"), "the lake holds every version")
	require.Equal(t, [][]string{{"active", "10:00:00"}, {"closed", "10:00:00"}},
		l.Rows(t, "SELECT status, strftime(updated_at, '%H:%M:%S') FROM raw.crm_customers WHERE customer_id = 'C1' ORDER BY 1"),
		"both versions of C1, which share their watermark: staging cannot tell which is newer (docs/pipelines.md)")
	require.Equal(t, [][]string{
		{"C2", "Bob", "active", "10:01:30"},
		{"C3", "Cai", "active", "10:05:00"},
		{"C4", "Dee", "active", "09:30:00"},
	}, l.Rows(t, latest))
	require.Equal(t, "2025-01-01T10:05:00Z", l.Manifest(t, "crm", "customers").Watermark.Value)
}

func TestWithLookBackZeroOnlyRowsAtAndAboveTheWatermarkAreRead(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, customersDDL, `INSERT INTO customers VALUES
		('C1', 'Ann', 'active', '2025-01-01 10:00:00Z'), ('C2', 'Bo', 'active', '2025-01-01 10:00:00Z')`)
	l := laketest.New(t, "", source(s, db, customersStream("0")))
	require.Equal(t, int64(2), l.MustExtract(t).Rows)
	require.Zero(t, l.MustExtract(t).Rows)
	require.Equal(t, 2, l.Manifest(t, "crm", "customers").Window.Rows(), "the window holds the rows at the watermark")
	exec(t, s, db, `INSERT INTO customers VALUES ('C3', 'Cai', 'active', '2025-01-01 10:00:01Z'), ('C4', 'Dee', 'active', '2025-01-01 09:00:00Z')`)
	r := l.MustExtract(t)
	require.Equal(t, int64(1), r.Rows, "C4 is below the watermark and there is no look-back")
	require.Equal(t, map[string]int64{"lookback_reread": 2, "lookback_duplicates": 2}, r.Counters, "C1 and C2, at the watermark, were read again")
	require.Equal(t, int64(3), l.Int(t, "SELECT count(*) FROM raw.crm_customers"))
	require.Equal(t, 1, l.Manifest(t, "crm", "customers").Window.Rows(), "only C3 is at the new watermark")
}

func TestIntegerWatermarkWithLookBackInValues(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, `CREATE TABLE events (id bigint PRIMARY KEY, kind text)`,
		`INSERT INTO events SELECT g, 'e' || g FROM generate_series(1, 100) g`)
	st := pipelines.StreamConfig{Name: "events", Table: "events", Watermark: "id", Lookback: pipelines.Lookback{Count: 10}}
	l := laketest.New(t, "", source(s, db, st))
	require.Equal(t, int64(100), l.MustExtract(t).Rows)
	// Ids 95 and 97 were taken by transactions that commit late.
	exec(t, s, db, `DELETE FROM events WHERE id IN (95, 97)`)
	l2 := laketest.New(t, "", source(s, db, st))
	require.Equal(t, int64(98), l2.MustExtract(t).Rows)
	exec(t, s, db, `INSERT INTO events VALUES (95, 'late'), (97, 'late'), (101, 'new')`)
	r := l2.MustExtract(t)
	require.Equal(t, int64(3), r.Rows)
	require.Equal(t, int64(9), r.Counters["lookback_duplicates"], "ids 90 to 100 but 95 and 97 were read again")
	require.Equal(t, [][]string{{"101"}}, l2.Rows(t, "SELECT max(id)::VARCHAR FROM raw.crm_events"))
	require.Equal(t, int64(101), l2.Int(t, "SELECT count(DISTINCT id) FROM raw.crm_events"))
	require.Equal(t, int64(101), l2.Int(t, "SELECT count(*) FROM raw.crm_events"))

	bad := st
	bad.Lookback = pipelines.Lookback{Duration: time.Hour}
	l3 := laketest.New(t, "", source(s, db, bad))
	res, err := l3.Extract(t, false)
	require.Error(t, err)
	require.Contains(t, res.Streams[0].Error, "lookback 1h0m0s is a duration, but the watermark column id is an integer")
}
