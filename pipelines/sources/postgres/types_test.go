package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
	_ "crmwh/pipelines/sources/postgres"
)

// source is a postgres source over one database with the given streams.
func source(s *pgtest.Server, db string, streams ...pipelines.StreamConfig) pipelines.SourceConfig {
	return pipelines.SourceConfig{Name: "crm", Kind: "postgres", DSN: s.DSN(db), Streams: streams}
}

func exec(t *testing.T, s *pgtest.Server, db string, sql ...string) {
	t.Helper()
	require.NoError(t, s.Exec(context.Background(), db, sql...))
}

// TestEveryMappedTypeArrivesInTheLake checks each row of the type mapping
// table (types.go, docs/pipelines.md) by reading the lake back in DuckDB.
func TestEveryMappedTypeArrivesInTheLake(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db,
		`CREATE EXTENSION citext`,
		`CREATE TYPE mood AS ENUM ('sad', 'happy')`,
		`CREATE TABLE all_types (
			id serial PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint, o oid,
			f4 real, f8 double precision, n numeric(12,2), nbig numeric(38,6), nplain numeric,
			d date, ts timestamp, tstz timestamptz,
			t text, vc varchar(20), c char(3), nm name, qc "char", ci citext, e mood, u uuid,
			tm time, ttz timetz, iv interval, ip inet, net cidr, mac macaddr, mac8 macaddr8, bt bit(4), vb varbit, x xml,
			j json, jb jsonb,
			ai int[], atx text[], an numeric[], ab bool[], ats timestamptz[], a2 int[][], ajb jsonb[], ae mood[])`,
		`INSERT INTO all_types (b, i2, i4, i8, o, f4, f8, n, nbig, nplain, d, ts, tstz, t, vc, c, nm, qc, ci, e, u,
			tm, ttz, iv, ip, net, mac, mac8, bt, vb, x, j, jb, ai, atx, an, ab, ats, a2, ajb, ae) VALUES
			(true, -32768, 2147483647, -9223372036854775808, 4294967295, 0.1, 1.5e300, -1234567890.12,
			 '12345678901234567890123456789012.123456', 1234.5, '1969-12-31', '2025-03-05 14:03:00.123456',
			 '2025-03-05 14:03:00+08', '张伟 "quoted"', 'varchar', 'ab', 'name', 'q', 'MiXeD', 'happy',
			 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '13:45:01.5', '13:45:01+08', '1 day 02:03:04', '192.168.0.1/24',
			 '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', B'1010', B'101', '<a>x</a>',
			 '{"k": [1, 2]}', '{"k": [1, 2]}', '{1,NULL,3}', '{"a b","c\"d",NULL,"NULL"}', '{1.50,-2}', '{t,f}',
			 '{"2025-01-02 03:04:05+00"}', '{{1,2},{3,4}}', ARRAY['{"a":1}'::jsonb, 'null'::jsonb], '{sad,happy}')`,
		`INSERT INTO all_types (id) VALUES (2)`)
	l := laketest.New(t, "", source(s, db, pipelines.StreamConfig{Name: "all_types", Table: "all_types", Watermark: "id"}))
	r := l.MustExtract(t)
	require.Equal(t, "ok", r.State, r.Error)
	require.Equal(t, int64(2), r.Rows)
	require.Zero(t, r.Quarantine)

	types := map[string]string{}
	for _, row := range l.Rows(t, "SELECT column_name, column_type FROM (DESCRIBE raw.crm_all_types)") {
		types[row[0]] = row[1]
	}
	want := map[string]string{
		"id": "BIGINT", "b": "BOOLEAN", "i2": "BIGINT", "i4": "BIGINT", "i8": "BIGINT", "o": "BIGINT",
		"f4": "DOUBLE", "f8": "DOUBLE", "n": "DECIMAL(12,2)", "nbig": "DECIMAL(38,6)", "nplain": "DECIMAL(38,10)",
		"d": "DATE", "ts": "TIMESTAMP WITH TIME ZONE", "tstz": "TIMESTAMP WITH TIME ZONE",
		"t": "VARCHAR", "vc": "VARCHAR", "c": "VARCHAR", "nm": "VARCHAR", "qc": "VARCHAR", "ci": "VARCHAR", "e": "VARCHAR", "u": "VARCHAR",
		"tm": "VARCHAR", "ttz": "VARCHAR", "iv": "VARCHAR", "ip": "VARCHAR", "net": "VARCHAR", "mac": "VARCHAR", "mac8": "VARCHAR",
		"bt": "VARCHAR", "vb": "VARCHAR", "x": "VARCHAR", "j": "VARCHAR", "jb": "VARCHAR",
		"ai": "VARCHAR", "atx": "VARCHAR", "an": "VARCHAR", "ab": "VARCHAR", "ats": "VARCHAR", "a2": "VARCHAR", "ajb": "VARCHAR", "ae": "VARCHAR",
	}
	require.Equal(t, want, types)

	row := func(id int) map[string]string {
		out := map[string]string{}
		db := l.DB(t)
		rows, err := db.Query(`SELECT * EXCLUDE (ts, tstz), strftime(ts, '%Y-%m-%d %H:%M:%S.%f') AS ts,
			strftime(tstz, '%Y-%m-%d %H:%M:%S') AS tstz FROM raw.crm_all_types WHERE id = ?`, id)
		require.NoError(t, err)
		defer rows.Close()
		cols, _ := rows.Columns()
		require.True(t, rows.Next())
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, c := range cols {
			out[c] = "NULL"
			if vals[i] != nil {
				out[c] = formatValue(vals[i])
			}
		}
		return out
	}
	require.Equal(t, map[string]string{
		"id": "1", "b": "true", "i2": "-32768", "i4": "2147483647", "i8": "-9223372036854775808", "o": "4294967295",
		"f4": "0.1", "f8": "1.5e+300", "n": "-1234567890.12", "nbig": "12345678901234567890123456789012.123456",
		"nplain": "1234.5000000000", "d": "1969-12-31", "ts": "2025-03-05 14:03:00.123456", "tstz": "2025-03-05 06:03:00",
		"t": `张伟 "quoted"`, "vc": "varchar", "c": "ab ", "nm": "name", "qc": "q", "ci": "MiXeD", "e": "happy",
		"u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "tm": "13:45:01.5", "ttz": "13:45:01+08", "iv": "1 day 02:03:04",
		"ip": "192.168.0.1/24", "net": "10.0.0.0/8", "mac": "08:00:2b:01:02:03", "mac8": "08:00:2b:01:02:03:04:05",
		"bt": "1010", "vb": "101", "x": "<a>x</a>", "j": `{"k": [1, 2]}`, "jb": `{"k": [1, 2]}`,
		"ai": "[1,null,3]", "atx": `["a b","c\"d",null,"NULL"]`, "an": "[1.50,-2]", "ab": "[true,false]",
		"ats": `["2025-01-02 03:04:05+00"]`, "a2": "[[1,2],[3,4]]", "ajb": `[{"a": 1},null]`, "ae": `["sad","happy"]`,
	}, row(1))
	nulls := row(2)
	for k, v := range nulls {
		if k != "id" {
			require.Equal(t, "NULL", v, k)
		}
	}
}

func formatValue(v any) string { return duckdbFormat(v) }
