package parquetfile_test

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	_ "crmwh/pipelines/sources/parquetfile"
	"crmwh/warehouse/warehousetest"
)

// duckdbFile writes a Parquet file with DuckDB's own writer (the way most
// exports are made: DuckDB, pandas and Spark write the same logical types).
func duckdbFile(t *testing.T, path, query string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	db := warehousetest.Open(t, "", false)
	warehousetest.Exec(t, db, "COPY ("+query+") TO '"+path+"' (FORMAT parquet, ROW_GROUP_SIZE 700)")
	require.NoError(t, db.Close())
}

// ordersQuery makes n rows from first on, every type DuckDB writes that the
// lake loads, with NULLs.
const ordersQuery = `SELECT
	'O' || lpad(i::VARCHAR, 5, '0') AS order_no,
	CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 100 - 50)::TINYINT END AS ti,
	(i * 7 - 3000)::SMALLINT AS si,
	(i * 100003)::INTEGER AS i32,
	(i * 1000000007)::BIGINT AS i64,
	(i * 1000000000000)::UBIGINT AS u64,
	(i * 3)::UINTEGER AS u32,
	(i / 8.0)::FLOAT AS f32,
	CASE WHEN i % 13 = 0 THEN NULL ELSE i / 3.0 END::DOUBLE AS f64,
	((i - 500) * 1.25)::DECIMAL(9,2) AS d9,
	((i - 500) * 123456.789)::DECIMAL(18,3) AS d18,
	((i - 500) * 12345678901234567.8901)::DECIMAL(30,4) AS d30,
	i % 3 = 0 AS flag,
	DATE '2023-12-30' + i::INTEGER AS day,
	TIMESTAMP '2024-03-10 01:30:00' + i * INTERVAL 37 MINUTE AS local_ts,
	TIMESTAMPTZ '2024-03-10 01:30:00+00' + i * INTERVAL 41 MINUTE AS utc_ts,
	TIMESTAMP_MS '2024-01-01 00:00:00.123' + i * INTERVAL 1 SECOND AS ms_ts,
	TIMESTAMP_NS '2024-01-01 00:00:00.123456789' + i * INTERVAL 1 SECOND AS ns_ts,
	TIME '10:11:12.5' + i * INTERVAL 1 SECOND AS at_time,
	('00000000-0000-4000-8000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS uid,
	('{"n": ' || i || '}')::JSON AS doc,
	(['paid', 'refund'][i % 2 + 1])::ENUM('paid', 'refund') AS status,
	CASE WHEN i % 5 = 0 THEN '张伟' ELSE 'name ' || i END AS name
FROM range(FROM_ROW, TO_ROW) r(i)`

func TestParquetFilesLoadWithTheFilesSchema(t *testing.T) {
	dir := t.TempDir()
	q := func(from, to int) string {
		return replaceRange(ordersQuery, from, to)
	}
	duckdbFile(t, filepath.Join(dir, "exports", "orders-1.parquet"), q(0, 1500))
	duckdbFile(t, filepath.Join(dir, "exports", "orders-2.parquet"), q(1500, 2000))
	st := pipelines.StreamConfig{Name: "orders", Path: "exports/*.parquet", Timezone: "Asia/Shanghai"}
	l := laketest.New(t, dir, pipelines.SourceConfig{Name: "shop", Kind: "parquet", Streams: []pipelines.StreamConfig{st}})
	r := l.MustExtract(t)
	require.Equal(t, "ok", r.State, r.Error)
	require.Equal(t, int64(2000), r.Rows)
	require.Zero(t, r.Quarantine)

	db := l.DB(t)
	types := warehousetest.Rows(t, db, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'raw' AND table_name = 'shop_orders' ORDER BY ordinal_position`)
	require.Equal(t, [][]string{
		{"order_no", "VARCHAR"}, {"ti", "BIGINT"}, {"si", "BIGINT"}, {"i32", "BIGINT"}, {"i64", "BIGINT"}, {"u64", "BIGINT"},
		{"u32", "BIGINT"}, {"f32", "DOUBLE"}, {"f64", "DOUBLE"}, {"d9", "DECIMAL(9,2)"}, {"d18", "DECIMAL(18,3)"},
		{"d30", "DECIMAL(30,4)"}, {"flag", "BOOLEAN"}, {"day", "DATE"}, {"local_ts", "TIMESTAMP WITH TIME ZONE"},
		{"utc_ts", "TIMESTAMP WITH TIME ZONE"}, {"ms_ts", "TIMESTAMP WITH TIME ZONE"}, {"ns_ts", "TIMESTAMP WITH TIME ZONE"},
		{"at_time", "VARCHAR"}, {"uid", "VARCHAR"}, {"doc", "VARCHAR"}, {"status", "VARCHAR"}, {"name", "VARCHAR"},
	}, types)

	// The same values as DuckDB's own reader gives; times without a zone
	// are wall clocks in the stream's zone (Asia/Shanghai).
	const ts = `'%Y-%m-%d %H:%M:%S.%f'`
	lake := warehousetest.Rows(t, db, `SELECT order_no, ti, si, i32, i64, u64, u32, f32, f64, d9, d18, d30, flag, day,
		strftime(local_ts, `+ts+`), strftime(utc_ts, `+ts+`), strftime(ms_ts, `+ts+`), strftime(ns_ts, `+ts+`),
		at_time, uid, doc, status, name FROM raw.shop_orders ORDER BY order_no`)
	want := warehousetest.Rows(t, db, `SELECT order_no, ti, si, i32, i64, u64, u32, f32::DOUBLE, f64, d9, d18, d30, flag, day,
		strftime(timezone('Asia/Shanghai', local_ts), `+ts+`), strftime(utc_ts, `+ts+`),
		strftime(timezone('Asia/Shanghai', ms_ts::TIMESTAMP), `+ts+`), strftime(timezone('Asia/Shanghai', ns_ts::TIMESTAMP), `+ts+`),
		at_time::VARCHAR, uid::VARCHAR, doc::VARCHAR, status::VARCHAR, name
		FROM read_parquet(?) ORDER BY order_no`, filepath.Join(dir, "exports", "*.parquet"))
	require.Len(t, lake, 2000)
	require.Equal(t, want, lake)
	// A few values spelled out, so that a shared mistake cannot hide.
	require.Equal(t, [][]string{{"O00003", "-47", "0.375", "-621.25", "-6135802413913580241.3797", "2024-03-10 03:21:00",
		"2024-03-09 19:21:00+00", "00000000-0000-4000-8000-000000000003", "10:11:15.5", `{"n": 3}`, "refund"}},
		warehousetest.Rows(t, db, `SELECT order_no, ti, f32, d9, d30,
			strftime(timezone('Asia/Shanghai', local_ts), '%Y-%m-%d %H:%M:%S'), strftime(local_ts, '%Y-%m-%d %H:%M:%S+00'),
			uid, at_time, doc, status FROM raw.shop_orders WHERE order_no = 'O00003'`))

	t.Run("each file loads once; a new file is added", func(t *testing.T) {
		require.Zero(t, l.MustExtract(t).Rows)
		duckdbFile(t, filepath.Join(dir, "exports", "orders-3.parquet"), q(2000, 2010))
		require.Equal(t, int64(10), l.MustExtract(t).Rows)
		require.Equal(t, int64(2010), l.Int(t, "SELECT count(DISTINCT order_no) FROM raw.shop_orders"))
	})

	t.Run("a file with other columns fails naming the column; the others load", func(t *testing.T) {
		duckdbFile(t, filepath.Join(dir, "exports", "orders-4.parquet"), q(3000, 3001))
		duckdbFile(t, filepath.Join(dir, "exports", "orders-5.parquet"), "SELECT 'X1' AS order_no, 'text' AS ti")
		res, err := l.Extract(t, false)
		require.Error(t, err)
		require.Equal(t, "failed", res.Streams[0].State)
		require.Contains(t, res.Streams[0].Error, "exports/orders-5.parquet: column ti is string here, int64 in the stream's first file of this run")
		require.Equal(t, int64(1), l.Int(t, "SELECT count(*) FROM raw.shop_orders WHERE order_no = 'O03000'"))

		// Next run, it is the first new file: the lake's schema check
		// (on_schema_change) names what changed.
		res, err = l.Extract(t, false)
		require.Error(t, err)
		require.Contains(t, res.Streams[0].Error, "column ti changed type from int64 to string")
	})
}

// replaceRange sets the query's range of rows.
func replaceRange(q string, from, to int) string {
	return strings.NewReplacer("FROM_ROW", strconv.Itoa(from), "TO_ROW", strconv.Itoa(to)).Replace(q)
}

func TestNestedColumnsNeedDeclaredColumns(t *testing.T) {
	dir := t.TempDir()
	duckdbFile(t, filepath.Join(dir, "x", "a.parquet"), "SELECT 1 AS id, [1, 2] AS tags, {'k': 'v'} AS attrs, 'A' AS name")
	src := func(cols ...pipelines.ColumnConfig) pipelines.SourceConfig {
		return pipelines.SourceConfig{Name: "s", Kind: "parquet", Streams: []pipelines.StreamConfig{{Name: "x", Path: "x/*.parquet", Columns: cols}}}
	}
	l := laketest.New(t, dir, src())
	res, err := l.Extract(t, false)
	require.Error(t, err)
	require.Equal(t, "failed", res.Streams[0].State)
	require.Contains(t, res.Streams[0].Error, "x/a.parquet: column tags: a nested column (list, map or struct) cannot be loaded; declare the stream's columns in crmwh.yaml to leave it out")

	l = laketest.New(t, dir, src(pipelines.ColumnConfig{Name: "id", Type: "int64"}, pipelines.ColumnConfig{Name: "label", Field: "NAME", Type: "string"}))
	require.Equal(t, "ok", l.MustExtract(t).State)
	require.Equal(t, [][]string{{"1", "A"}}, l.Rows(t, "SELECT id, label FROM raw.s_x"))
}

// writeParquet writes rows (by column name; nil is NULL) with parquet-go.
func writeParquet(t *testing.T, path string, g parquet.Group, rows []map[string]any) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	schema := parquet.NewSchema("row", g)
	f, err := os.Create(path)
	require.NoError(t, err)
	w := parquet.NewWriter(f, schema)
	for _, r := range rows {
		var row parquet.Row
		for i, col := range schema.Columns() {
			leaf, _ := schema.Lookup(col...)
			x := r[col[0]]
			var v parquet.Value
			switch x := x.(type) {
			case nil:
				v = parquet.NullValue()
			case deprecated.Int96:
				v = parquet.Int96Value(x)
			default:
				v = parquet.ValueOf(x)
			}
			def := 0
			if leaf.MaxDefinitionLevel > 0 && x != nil {
				def = 1
			}
			row = append(row, v.Level(0, def, i))
		}
		_, err := w.WriteRows([]parquet.Row{row})
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
}

func TestDeclaredColumnsConvertTheFilesValues(t *testing.T) {
	dir := t.TempDir()
	at := func(s string) int64 {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v.UnixMilli()
	}
	int96 := func(s string) deprecated.Int96 {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		day := v.Unix()/86400 + 2440588
		nanos := uint64(v.Unix()%86400)*1e9 + uint64(v.Nanosecond())
		return deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(day)}
	}
	g := parquet.Group{
		"Order No":  parquet.String(),
		"cents":     parquet.Int(64),
		"day_text":  parquet.Optional(parquet.String()),
		"placed":    parquet.Timestamp(parquet.Millisecond),
		"big":       parquet.Uint(64),
		"raw_name":  parquet.Leaf(parquet.ByteArrayType),
		"legacy_ts": parquet.Leaf(parquet.Int96Type),
		"cust":      parquet.Optional(parquet.String()),
	}
	writeParquet(t, filepath.Join(dir, "in", "f.parquet"), g, []map[string]any{
		{"Order No": "A1", "cents": int64(1234), "day_text": "2024年3月5日", "placed": at("2024-03-05T20:00:00Z"), "big": uint64(7), "raw_name": []byte("张伟"), "legacy_ts": int96("2020-01-02T03:04:05Z"), "cust": "C1"},
		{"Order No": "A2", "cents": int64(-50), "day_text": nil, "placed": at("2024-03-05T15:59:59Z"), "big": uint64(math.MaxInt64), "raw_name": []byte("x"), "legacy_ts": int96("1999-12-31T23:59:59Z"), "cust": "C2"},
		{"Order No": "A3", "cents": int64(1), "day_text": "yesterday", "placed": at("2024-03-05T00:00:00Z"), "big": uint64(1), "raw_name": []byte("y"), "legacy_ts": int96("2020-01-01T00:00:00Z"), "cust": "C3"},
		{"Order No": "A4", "cents": int64(1), "day_text": nil, "placed": at("2024-03-05T00:00:00Z"), "big": uint64(math.MaxInt64) + 1, "raw_name": []byte("z"), "legacy_ts": int96("2020-01-01T00:00:00Z"), "cust": "C4"},
		{"Order No": "A5", "cents": int64(1), "day_text": nil, "placed": at("2024-03-05T00:00:00Z"), "big": uint64(1), "raw_name": []byte("bad \xff"), "legacy_ts": int96("2020-01-01T00:00:00Z"), "cust": "C5"},
		{"Order No": "A6", "cents": int64(1), "day_text": nil, "placed": at("2024-03-05T00:00:00Z"), "big": uint64(1), "raw_name": []byte("w"), "legacy_ts": int96("2020-01-01T00:00:00Z"), "cust": nil},
	})
	st := pipelines.StreamConfig{Name: "orders", Path: "in/*.parquet", Timezone: "Asia/Shanghai", MaxBadRatio: ptr(1.0), Columns: []pipelines.ColumnConfig{
		{Name: "order_no", Field: "Order No", Type: "string", Required: true},
		{Name: "amount", Field: "cents", Type: "decimal(18,2)"},
		{Name: "day", Field: "day_text", Type: "date", Format: "2006年1月2日"},
		{Name: "placed_on", Field: "placed", Type: "date"},
		{Name: "placed_at", Field: "placed", Type: "timestamp"},
		{Name: "big", Type: "int64"},
		{Name: "name", Field: "raw_name", Type: "string"},
		{Name: "legacy_ts", Type: "timestamp"},
		{Name: "cust", Type: "string", Required: true},
	}}
	l := laketest.New(t, dir, pipelines.SourceConfig{Name: "shop", Kind: "parquet", Streams: []pipelines.StreamConfig{st}})
	r := l.MustExtract(t)
	require.Equal(t, "ok", r.State, r.Error)
	require.Equal(t, int64(2), r.Rows)
	require.Equal(t, [][]string{
		{"A1", "1234.00", "2024-03-05", "2024-03-06", "2024-03-05 20:00:00", "7", "张伟", "2020-01-02 03:04:05"},
		{"A2", "-50.00", "NULL", "2024-03-05", "2024-03-05 15:59:59", "9223372036854775807", "x", "1999-12-31 23:59:59"},
	}, l.Rows(t, `SELECT order_no, amount, day, placed_on, strftime(placed_at, '%Y-%m-%d %H:%M:%S'), big, name,
		strftime(legacy_ts, '%Y-%m-%d %H:%M:%S') FROM raw.shop_orders ORDER BY order_no`))
	require.Equal(t, [][]string{
		{"in/f.parquet", "3", `column day: "yesterday" is not a date (expected 2006年1月2日)`},
		{"in/f.parquet", "4", "column big: 9223372036854775808 does not fit int64"},
		{"in/f.parquet", "5", "column name: text is not valid UTF-8"},
		{"in/f.parquet", "6", "column cust: value is missing"},
	}, l.Rows(t, "SELECT origin, line, reason FROM raw.shop_orders__quarantine ORDER BY line"))

	t.Run("a declared column the file lacks fails the file, naming it", func(t *testing.T) {
		st := st
		st.Path = "in/*.parquet"
		st.Columns = append(append([]pipelines.ColumnConfig{}, st.Columns...), pipelines.ColumnConfig{Name: "region", Type: "string"})
		l := laketest.New(t, dir, pipelines.SourceConfig{Name: "shop", Kind: "parquet", Streams: []pipelines.StreamConfig{st}})
		res, err := l.Extract(t, false)
		require.Error(t, err)
		require.Equal(t, "failed", res.Streams[0].State)
		require.Contains(t, res.Streams[0].Error, `in/f.parquet: file lacks declared column(s) "region" (its columns: `)
	})
}

func TestAFileThatIsNotParquetFailsNamingIt(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "in"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in", "a.parquet"), []byte("order_id,amount\n1,2\n"), 0o644))
	l := laketest.New(t, dir, pipelines.SourceConfig{Name: "s", Kind: "parquet", Streams: []pipelines.StreamConfig{{
		Name: "x", Path: "in/*.parquet", Columns: []pipelines.ColumnConfig{{Name: "order_id", Type: "string"}}}}})
	res, err := l.Extract(t, false)
	require.Error(t, err)
	require.Equal(t, "failed", res.Streams[0].State)
	require.Contains(t, res.Streams[0].Error, "in/a.parquet: not a readable Parquet file")
}

func TestParquetConfigIsCheckedStrictly(t *testing.T) {
	var got []string
	report := func(path, msg string) { got = append(got, path+": "+msg) }
	k, err := pipelines.Lookup("parquet")
	require.NoError(t, err)
	k.Validate(pipelines.SourceConfig{Name: "p", Kind: "parquet", DSN: "x", Streams: []pipelines.StreamConfig{
		{Name: "a", Path: "x/*.parquet"},
		{Name: "b", Path: "y/*.parquet", Encoding: "gbk", Delimiter: ";", Table: "t",
			Columns: []pipelines.ColumnConfig{{Name: "a", Type: "string", Header: "A"}, {Name: "b", Type: "int64", Format: "2006"}}},
	}}, report)
	require.Equal(t, []string{
		"dsn: a parquet source reads files; dsn is for SQL sources",
		"streams[1].table: not used by parquet sources",
		"streams[1].encoding: not used by parquet sources",
		"streams[1].delimiter: not used by parquet sources",
		"streams[1].columns[0].header: not used by parquet sources (the file's column name is field)",
		"streams[1].columns[1].format: format applies only to date and timestamp columns, not int64",
	}, got)
}

func ptr[T any](v T) *T { return &v }
