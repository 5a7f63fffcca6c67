package csvfile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/sources/csvfile"
	"crmwh/warehouse/warehousetest"
)

var orderColumns = []pipelines.ColumnConfig{
	{Name: "order_id", Type: "string", Required: true},
	{Name: "amount", Type: "decimal(18,2)", Required: true},
	{Name: "ordered_at", Type: "timestamp"},
}

// extract runs one stream into a fresh or given lake and returns the sink.
func extract(t *testing.T, dir string, l *lake.Lake, st pipelines.StreamConfig) (*lake.StreamSink, error) {
	t.Helper()
	src, err := csvfile.New(pipelines.SourceConfig{Name: "billing", Kind: "csv"}, pipelines.Env{BaseDir: dir})
	require.NoError(t, err)
	m, err := l.Manifest("billing", st.Name)
	require.NoError(t, err)
	sink := l.Sink("billing", st.Name, "run"+time.Now().Format("150405.000000"), time.Now())
	err = src.Extract(context.Background(), st, m.State(), sink)
	return sink, err
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))
}

// lakeRows reads a stream's committed rows through DuckDB.
func lakeRows(t *testing.T, l *lake.Lake, stream, q string) [][]string {
	t.Helper()
	m, err := l.Manifest("billing", stream)
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	var files []string
	for _, p := range m.Parts {
		files = append(files, filepath.Join(l.Dir, p.Path))
	}
	_, err = db.Exec("SET TimeZone = 'UTC'")
	require.NoError(t, err)
	if len(files) == 0 {
		return nil
	}
	list := ""
	for i, f := range files {
		if i > 0 {
			list += ", "
		}
		list += "'" + f + "'"
	}
	_, err = db.Exec("CREATE VIEW t AS SELECT * FROM read_parquet([" + list + "], hive_partitioning = false)")
	require.NoError(t, err)
	return warehousetest.Rows(t, db, q)
}

func quarantine(t *testing.T, l *lake.Lake, stream string) [][]string {
	t.Helper()
	m, err := l.Manifest("billing", stream)
	require.NoError(t, err)
	var files []string
	for _, p := range m.Quarantine {
		files = append(files, filepath.Join(l.Dir, p.Path))
	}
	if len(files) == 0 {
		return nil
	}
	db := warehousetest.Open(t, "", false)
	return warehousetest.Rows(t, db, "SELECT origin, line, reason FROM read_parquet(?) ORDER BY origin, line", files)
}

func TestMalformedRowsGoToQuarantineWithFileAndLine(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "in", "orders_1.csv"), []byte(
		"order_id,amount,ordered_at\n"+
			"A1,10.50,2025-01-02T10:00:00+08:00\n"+
			"A2,12\n"+ // wrong field count
			"A3,\"1,234.50\",2025-01-02T11:00:00Z\n"+
			"A4,12.3.4,2025-01-02T11:00:00Z\n"+ // bad decimal
			"A5,5.00,2025-13-45\n"+ // bad date
			",5.00,2025-01-02\n"+ // missing required
			"A6,\"7.00,2025-01-02\n"+ // unbalanced quote, never closed
			"A7,8.00,\"2025-01-02 09:30:00\"\n"+
			"A8,\"multi\nline\",2025-01-02\n"+ // a quoted field spanning lines: bad decimal, line 10
			"A9,1.00,2025-01-03\n"))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	st := pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderColumns, MaxBadRatio: ptr(0.9)}
	sink, err := extract(t, dir, l, st)
	require.NoError(t, err)
	require.Equal(t, int64(4), sink.Rows.Load())
	require.Equal(t, int64(6), sink.Bad.Load())

	require.Equal(t, [][]string{
		{"A1", "10.50", "2025-01-02 02:00:00"},
		{"A3", "1234.50", "2025-01-02 11:00:00"},
		{"A7", "8.00", "2025-01-02 09:30:00"},
		{"A9", "1.00", "2025-01-03 00:00:00"},
	}, lakeRows(t, l, "orders", "SELECT order_id, amount, strftime(ordered_at, '%Y-%m-%d %H:%M:%S') FROM t ORDER BY order_id"))
	require.Equal(t, [][]string{
		{"in/orders_1.csv", "3", "expected 3 fields, found 2"},
		{"in/orders_1.csv", "5", `column amount: "12.3.4" is not a decimal number`},
		{"in/orders_1.csv", "6", `column ordered_at: "2025-13-45" is not a timestamp (expected RFC 3339 such as 2006-01-02T15:04:05+08:00, or 2006-01-02 15:04:05 with or without an offset, or 2006-01-02; declare the column's format for others)`},
		{"in/orders_1.csv", "7", "column order_id: value is missing"},
		{"in/orders_1.csv", "8", "unbalanced quote: a quoted field is never closed"},
		{"in/orders_1.csv", "10", `column amount: "multi\nline" is not a decimal number`},
	}, quarantine(t, l, "orders"))

	m, err := l.Manifest("billing", "orders")
	require.NoError(t, err)
	require.Equal(t, int64(4), m.Files["in/orders_1.csv"].Rows)
	require.Equal(t, int64(6), m.Files["in/orders_1.csv"].Bad)
}

func TestGB18030WithChineseHeadersDatesAndThousands(t *testing.T) {
	dir := t.TempDir()
	text := "订单号,金额,下单时间,城市\n" +
		"L1,\"1,234.50\",2025年3月5日 14:03:00,上海\n" +
		"L2,88.00,2025年12月31日 23:59:59,乌鲁木齐\n"
	enc, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	require.NoError(t, err)
	write(t, filepath.Join(dir, "legacy", "orders_20250305.csv"), []byte(enc))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	st := pipelines.StreamConfig{Name: "legacy", Path: "legacy/*.csv", Encoding: "gb18030", Timezone: "Asia/Shanghai",
		Columns: []pipelines.ColumnConfig{
			{Name: "order_id", Header: "订单号", Type: "string"},
			{Name: "amount", Header: "金额", Type: "decimal(18,2)"},
			{Name: "ordered_at", Header: "下单时间", Type: "timestamp", Format: "2006年1月2日 15:04:05"},
			{Name: "city", Header: "城市", Type: "string"},
		}}
	sink, err := extract(t, dir, l, st)
	require.NoError(t, err)
	require.Equal(t, int64(0), sink.Bad.Load())
	require.Equal(t, [][]string{
		{"L1", "1234.50", "2025-03-05 06:03:00", "上海"},
		{"L2", "88.00", "2025-12-31 15:59:59", "乌鲁木齐"},
	}, lakeRows(t, l, "legacy", "SELECT order_id, amount, strftime(ordered_at, '%Y-%m-%d %H:%M:%S'), city FROM t ORDER BY order_id"))
}

func TestUTF8FileReadAsUTF8ButHoldingGB18030IsQuarantined(t *testing.T) {
	dir := t.TempDir()
	gb, err := simplifiedchinese.GB18030.NewEncoder().String("L1,1.00,上海\n")
	require.NoError(t, err)
	write(t, filepath.Join(dir, "in", "a.csv"), []byte("\ufefforder_id,amount,city\nU1,2.00,北京\n"+gb))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	st := pipelines.StreamConfig{Name: "o", Path: "in/*.csv", MaxBadRatio: ptr(0.5), Columns: []pipelines.ColumnConfig{
		{Name: "order_id", Type: "string"}, {Name: "amount", Type: "decimal(18,2)"}, {Name: "city", Type: "string"}}}
	_, err = extract(t, dir, l, st)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"U1", "北京"}}, lakeRows(t, l, "o", "SELECT order_id, city FROM t"))
	q := quarantine(t, l, "o")
	require.Len(t, q, 1)
	require.Equal(t, "3", q[0][1])
	require.Contains(t, q[0][2], "not valid UTF-8")
}

func TestEachFileLoadsOnceAndChangesAreReported(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "in", "orders_1.csv")
	write(t, f, []byte("order_id,amount,ordered_at\nA1,1.00,2025-01-01\n"))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	st := pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderColumns}
	sink, err := extract(t, dir, l, st)
	require.NoError(t, err)
	require.Equal(t, int64(1), sink.Rows.Load())

	sink, err = extract(t, dir, l, st)
	require.NoError(t, err)
	require.Equal(t, int64(0), sink.Rows.Load())
	require.Empty(t, sink.Reports())

	write(t, filepath.Join(dir, "in", "orders_2.csv"), []byte("order_id,amount,ordered_at\nA2,2.00,2025-01-02\n"))
	write(t, f, []byte("order_id,amount,ordered_at\nA1,9.99,2025-01-01\n"))
	require.NoError(t, os.Chtimes(f, time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
	sink, err = extract(t, dir, l, st)
	require.NoError(t, err)
	require.Equal(t, int64(1), sink.Rows.Load())
	require.Len(t, sink.Reports(), 1)
	require.Equal(t, "changed_file", sink.Reports()[0].Kind)
	require.Contains(t, sink.Reports()[0].Msg, "in/orders_1.csv changed")
	require.Equal(t, [][]string{{"A1", "1.00"}, {"A2", "2.00"}},
		lakeRows(t, l, "orders", "SELECT order_id, amount FROM t ORDER BY order_id"))
}

func TestTooManyBadRowsStopTheStreamAndLoadNothingOfTheBatch(t *testing.T) {
	dir := t.TempDir()
	var a, b strings.Builder
	a.WriteString("order_id,amount,ordered_at\n")
	b.WriteString("order_id,amount,ordered_at\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&a, "A%d,1.00,2025-01-01\n", i)
	}
	for i := 0; i < 60; i++ {
		amount := "2.00"
		if i%3 != 0 {
			amount = "x"
		}
		fmt.Fprintf(&b, "B%d,%s,2025-01-01\n", i, amount)
	}
	write(t, filepath.Join(dir, "in", "a.csv"), []byte(a.String()))
	write(t, filepath.Join(dir, "in", "b.csv"), []byte(b.String()))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	st := pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderColumns, MaxBadRatio: ptr(0.1)}
	_, err = extract(t, dir, l, st)
	require.ErrorContains(t, err, "40 of 160 rows read in this run are malformed (25.0%), more than max_bad_ratio 10.0%")
	m, err := l.Manifest("billing", "orders")
	require.NoError(t, err)
	require.Empty(t, m.Parts)
	require.Empty(t, m.Files, "nothing of the batch is recorded, so the files are read again next run")
}

func TestOneBadRowInASmallFileIsNotATrend(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "in", "a.csv"), []byte("order_id,amount,ordered_at\nA1,1.00,2025-01-01\nA2,x,2025-01-01\n"))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	sink, err := extract(t, dir, l, pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderColumns})
	require.NoError(t, err)
	require.Equal(t, int64(1), sink.Rows.Load())
	require.Equal(t, int64(1), sink.Bad.Load())
}

func TestHeaderMissingAColumnNamesIt(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "in", "a.csv"), []byte("order_id,total\nA1,1.00\n"))
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	_, err = extract(t, dir, l, pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderColumns})
	require.ErrorContains(t, err, `in/a.csv: line 1: header lacks declared column(s) "amount", "ordered_at"`)
}

func TestEmptyFileIsRecordedAndReported(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "in", "a.csv"), nil)
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	sink, err := extract(t, dir, l, pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderColumns})
	require.NoError(t, err)
	require.Equal(t, "empty_file", sink.Reports()[0].Kind)
	m, err := l.Manifest("billing", "orders")
	require.NoError(t, err)
	require.Contains(t, m.Files, "in/a.csv")
}

func ptr[T any](v T) *T { return &v }
