package postgres_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
)

func TestUnsupportedTypesStopTheRunNamingTableColumnAndType(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db,
		`CREATE TYPE pair AS (a int, b int)`,
		`CREATE TABLE t_bytea (id int, payload bytea)`,
		`CREATE TABLE t_money (id int, price money)`,
		`CREATE TABLE t_point (id int, location point)`,
		`CREATE TABLE t_range (id int, valid int4range)`,
		`CREATE TABLE t_composite (id int, p pair)`,
		`CREATE TABLE t_wide (id int, n numeric(50,2))`)
	for _, c := range []struct{ table, want string }{
		{"t_bytea", "table t_bytea: column payload has type bytea, which crmwh cannot load: binary data has no lake type; select encode(col, 'base64') AS col in a query stream"},
		{"t_money", "table t_money: column price has type money, which crmwh cannot load: its text depends on the server's lc_monetary"},
		{"t_point", "table t_point: column location has type point, which crmwh cannot load: type point is not supported; cast it in a query stream"},
		{"t_range", "table t_range: column valid has type int4range, which crmwh cannot load"},
		{"t_composite", "table t_composite: column p has type pair, which crmwh cannot load"},
		{"t_wide", "table t_wide: column n has type numeric(50,2), which crmwh cannot load: the lake keeps decimals of up to 38 digits"},
	} {
		t.Run(c.table, func(t *testing.T) {
			l := laketest.New(t, "", source(s, db, pipelines.StreamConfig{Name: c.table, Table: c.table}))
			res, err := l.Extract(t, false)
			require.Error(t, err)
			require.Contains(t, res.Streams[0].Error, c.want)
			require.Empty(t, l.Manifest(t, "crm", c.table).Parts)
		})
	}

	t.Run("a query stream casting the column loads it", func(t *testing.T) {
		exec(t, s, db, `INSERT INTO t_bytea VALUES (1, '\x00ff')`, `INSERT INTO t_money VALUES (1, 12.5)`)
		l := laketest.New(t, "", source(s, db,
			pipelines.StreamConfig{Name: "blobs", Query: "SELECT id, encode(payload, 'base64') AS payload FROM t_bytea"},
			pipelines.StreamConfig{Name: "prices", Query: "SELECT id, price::numeric(19,2) AS price FROM t_money;"}))
		_, err := l.Extract(t, false)
		require.NoError(t, err)
		require.Equal(t, [][]string{{"1", "AP8=", "12.50"}},
			l.Rows(t, "SELECT b.id, payload, price FROM raw.crm_blobs b JOIN raw.crm_prices USING (id)"))
	})
}

func TestValuesThatDoNotFitGoToQuarantineWithKeyAndReason(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, `CREATE TABLE readings (id int PRIMARY KEY, value numeric, taken_at timestamptz, day date)`,
		`INSERT INTO readings SELECT g, g * 1.5, '2025-01-01'::timestamptz + g * interval '1 minute', '2025-01-01' FROM generate_series(1, 400) g`,
		`INSERT INTO readings VALUES (401, 'NaN', '2025-01-02', '2025-01-02'), (402, 0.12345678901234, '2025-01-02', '2025-01-02'),
			(403, 1, 'infinity', '2025-01-02'), (404, 1, '2025-01-02', '-infinity')`)
	l := laketest.New(t, "", source(s, db, pipelines.StreamConfig{Name: "readings", Table: "readings", PrimaryKey: []string{"id"}}))
	r := l.MustExtract(t)
	require.Equal(t, "ok", r.State, r.Error)
	require.Equal(t, int64(400), r.Rows)
	require.Equal(t, int64(4), r.Quarantine)
	q := l.Rows(t, "SELECT origin, row_key, reason FROM raw.crm_readings__quarantine ORDER BY row_key")
	require.Equal(t, [][]string{
		{"table readings", "401", `column value: "NaN" is not a decimal number`},
		{"table readings", "402", `column value: "0.12345678901234" has more than 10 decimal places`},
		{"table readings", "403", "column taken_at: infinity does not fit a lake date or timestamp"},
		{"table readings", "404", "column day: infinity does not fit a lake date or timestamp"},
	}, q)
	raw := l.Rows(t, "SELECT raw FROM raw.crm_readings__quarantine WHERE row_key = '403'")
	require.True(t, strings.HasPrefix(raw[0][0], "id=403, value=1, taken_at=infinity"), raw[0][0])
}

func TestRowsWithANullWatermark(t *testing.T) {
	s := pgtest.Start(t)
	setup := func(t *testing.T) string {
		db, _ := s.NewDatabase(t)
		exec(t, s, db, customersDDL, `INSERT INTO customers VALUES
			('C1', 'Ann', 'active', '2025-01-01 10:00:00Z'), ('C2', 'Bo', 'active', NULL), ('C3', 'Cai', 'active', NULL)`)
		return db
	}
	t.Run("load: a snapshot read again every run, replacing the last", func(t *testing.T) {
		db := setup(t)
		l := laketest.New(t, "", source(s, db, customersStream("")))
		r := l.MustExtract(t)
		require.Equal(t, int64(1), r.Rows, "only rows with a watermark count as new rows")
		require.Equal(t, int64(2), r.Counters["null_watermark"])
		require.Equal(t, int64(3), l.Int(t, "SELECT count(*) FROM raw.crm_customers"))

		r = l.MustExtract(t)
		require.Zero(t, r.Rows)
		require.Equal(t, int64(2), r.Counters["null_watermark"])
		require.Equal(t, int64(3), l.Int(t, "SELECT count(*) FROM raw.crm_customers"), "the snapshot was replaced, not added")

		// C2 gets a watermark: it moves from the snapshot to the stream.
		exec(t, s, db, `UPDATE customers SET updated_at = '2025-01-01 11:00:00Z' WHERE customer_id = 'C2'`)
		r = l.MustExtract(t)
		require.Equal(t, int64(1), r.Rows)
		require.Equal(t, int64(1), r.Counters["null_watermark"])
		require.Equal(t, [][]string{{"C1"}, {"C2"}, {"C3"}}, l.Rows(t, "SELECT customer_id FROM raw.crm_customers ORDER BY 1"))
		m := l.Manifest(t, "crm", "customers")
		require.Len(t, m.Snapshots["null_watermark"].Parts, 1)
		require.Contains(t, m.Snapshots["null_watermark"].Parts[0].Path, "/snapshot=null_watermark/")

		// The replaced snapshot's file is deleted by the next run.
		retired := m.Retired
		require.NotEmpty(t, retired)
		l.MustExtract(t)
		for _, p := range retired {
			_, err := os.Stat(l.Dir + "/" + p.Path)
			require.True(t, os.IsNotExist(err), p.Path)
		}
	})
	t.Run("quarantine: set aside with a reason, every run", func(t *testing.T) {
		db := setup(t)
		st := customersStream("")
		st.NullWatermark = pipelines.NullQuarantine
		l := laketest.New(t, "", source(s, db, st))
		for i := 0; i < 2; i++ {
			r := l.MustExtract(t)
			require.Equal(t, int64(2), r.Counters["null_watermark_quarantined"])
			require.Zero(t, r.Quarantine, "not counted against max_bad_ratio")
		}
		require.Equal(t, int64(1), l.Int(t, "SELECT count(*) FROM raw.crm_customers"))
		require.Equal(t, [][]string{
			{"C2", "watermark column updated_at is NULL (null_watermark: quarantine; the row is read again every run)"},
			{"C3", "watermark column updated_at is NULL (null_watermark: quarantine; the row is read again every run)"},
		}, l.Rows(t, "SELECT row_key, reason FROM raw.crm_customers__quarantine ORDER BY 1"))
	})
	t.Run("fail: the run stops and loads nothing", func(t *testing.T) {
		db := setup(t)
		st := customersStream("")
		st.NullWatermark = pipelines.NullFail
		l := laketest.New(t, "", source(s, db, st))
		res, err := l.Extract(t, false)
		require.Error(t, err)
		require.Contains(t, res.Streams[0].Error, "table customers: 2 row(s) have NULL in the watermark column updated_at and the stream's null_watermark is fail")
		require.Empty(t, l.Manifest(t, "crm", "customers").Parts)
	})
}

func TestBadRowsAreQuarantinedOnceWithAWatermark(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, `CREATE TABLE readings (id int PRIMARY KEY, value numeric)`,
		`INSERT INTO readings SELECT g, g FROM generate_series(1, 300) g`,
		`INSERT INTO readings VALUES (301, 'NaN'), (302, 'NaN')`)
	for _, lookback := range []int64{0, 50} {
		t.Run(fmt.Sprintf("lookback %d", lookback), func(t *testing.T) {
			st := pipelines.StreamConfig{Name: "readings", Table: "readings", Watermark: "id", Lookback: pipelines.Lookback{Count: lookback}, PrimaryKey: []string{"id"}}
			l := laketest.New(t, "", source(s, db, st))
			r := l.MustExtract(t)
			require.Equal(t, int64(300), r.Rows)
			require.Equal(t, int64(2), r.Quarantine)
			require.Equal(t, "302", l.Manifest(t, "crm", "readings").Watermark.Value, "the watermark moved past the bad rows")
			r = l.MustExtract(t)
			require.Zero(t, r.Rows)
			require.Zero(t, r.Quarantine, "the bad rows are not quarantined again")
			require.Equal(t, int64(2), l.Int(t, "SELECT count(*) FROM raw.crm_readings__quarantine"))
		})
	}
}
