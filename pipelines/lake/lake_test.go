package lake_test

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/warehouse/warehousetest"
)

var allTypes = pipelines.Schema{
	{Name: "id", Type: pipelines.TypeInt64},
	{Name: "name", Type: pipelines.TypeString},
	{Name: "amount", Type: pipelines.TypeDecimal, Precision: 18, Scale: 2},
	{Name: "score", Type: pipelines.TypeFloat64},
	{Name: "active", Type: pipelines.TypeBool},
	{Name: "born", Type: pipelines.TypeDate},
	{Name: "seen_at", Type: pipelines.TypeTimestamp},
	{Name: "attrs", Type: pipelines.TypeJSON},
}

func TestUnitCommitReadsBackInDuckDB(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	sink := l.Sink("crm", "people", "run1", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	u, err := sink.Begin(allTypes, "test")
	require.NoError(t, err)
	seen := time.Date(2025, 3, 5, 6, 3, 0, 123456000, time.UTC)
	require.NoError(t, u.Write([][]any{
		{int64(1), "张伟", pipelines.Decimal{Unscaled: 123450}, 0.5, true, time.Date(1990, 7, 1, 0, 0, 0, 0, time.UTC), seen, `{"a":1}`},
		{int64(2), nil, pipelines.Decimal{Unscaled: -5}, nil, false, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), nil, nil},
	}))
	wm := &pipelines.Watermark{Column: "seen_at", Type: pipelines.TypeTimestamp, Value: seen.Format(time.RFC3339Nano)}
	require.NoError(t, u.Commit(pipelines.StateChange{Watermark: wm}))

	m, err := l.Manifest("crm", "people")
	require.NoError(t, err)
	require.Len(t, m.Parts, 1)
	require.Equal(t, int64(2), m.Rows())
	require.Equal(t, wm.Value, m.Watermark.Value)
	require.Nil(t, m.Parts[0].WatermarkBefore)
	require.Equal(t, "run1", m.Parts[0].RunID)
	require.Equal(t, allTypes.Hash(), m.Parts[0].SchemaHash)
	require.True(t, strings.HasPrefix(m.Parts[0].Path, "raw/crm/people/ingest_date=2026-01-02/part-run1-"), m.Parts[0].Path)

	db := warehousetest.Open(t, "", false)
	_, err = db.Exec("SET TimeZone = 'UTC'")
	require.NoError(t, err)
	path := filepath.Join(l.Dir, m.Parts[0].Path)
	// DuckDB reads the Hive partition of the path as a column too.
	types := warehousetest.Rows(t, db, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?)) ORDER BY column_name", path)
	require.Equal(t, [][]string{
		{"active", "BOOLEAN"}, {"amount", "DECIMAL(18,2)"}, {"attrs", "JSON"}, {"born", "DATE"},
		{"id", "BIGINT"}, {"ingest_date", "DATE"}, {"name", "VARCHAR"}, {"score", "DOUBLE"}, {"seen_at", "TIMESTAMP WITH TIME ZONE"},
	}, types)
	rows := warehousetest.Rows(t, db, `SELECT id, name, amount, score, active, born::VARCHAR, strftime(seen_at, '%Y-%m-%d %H:%M:%S.%f'), attrs
		FROM read_parquet(?) ORDER BY id`, path)
	require.Equal(t, [][]string{
		{"1", "张伟", "1234.50", "0.5", "true", "1990-07-01", "2025-03-05 06:03:00.123456", `{"a":1}`},
		{"2", "NULL", "-0.05", "NULL", "false", "1969-12-31", "NULL", "NULL"},
	}, rows)
}

func TestAbortLeavesNothing(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	sink := l.Sink("s", "t", "run1", time.Now())
	u, err := sink.Begin(allTypes[:2], "x")
	require.NoError(t, err)
	require.NoError(t, u.Write([][]any{{int64(1), "a"}}))
	require.NoError(t, u.Quarantine(pipelines.BadRow{Origin: "x", Line: 3, Reason: "bad"}))
	u.Abort()
	require.Equal(t, int64(0), sink.Rows.Load())
	require.Empty(t, files(t, filepath.Join(l.Dir, "raw")))
	require.Empty(t, files(t, filepath.Join(l.Dir, "quarantine")))
	m, err := l.Manifest("s", "t")
	require.NoError(t, err)
	require.Empty(t, m.Parts)
}

func TestRecoverRemovesUncommittedFiles(t *testing.T) {
	dir := t.TempDir()
	l, err := lake.Open(dir)
	require.NoError(t, err)
	u, err := l.Sink("s", "t", "run1", time.Now()).Begin(allTypes[:2], "x")
	require.NoError(t, err)
	require.NoError(t, u.Write([][]any{{int64(1), "a"}}))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
	committed := files(t, filepath.Join(dir, "raw"))
	require.Len(t, committed, 1)

	// What a run killed between rename and manifest write leaves behind,
	// and a temporary file of a run killed while writing.
	part := filepath.Join(filepath.Dir(committed[0]), "part-run2-00001.parquet")
	tmp := filepath.Join(filepath.Dir(committed[0]), ".part-run2-00002.parquet.tmp")
	require.NoError(t, os.WriteFile(part, []byte("PAR1"), 0o644))
	require.NoError(t, os.WriteFile(tmp, []byte("PAR1"), 0o644))

	l2, err := lake.Open(dir)
	require.NoError(t, err)
	rec, err := l2.Recover(nil)
	require.NoError(t, err)
	require.Equal(t, 2, rec.Removed)
	require.Equal(t, committed, files(t, filepath.Join(dir, "raw")))
}

func TestQuarantineFilesAreReadable(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	u, err := l.Sink("billing", "orders", "run1", time.Now()).Begin(allTypes[:1], "orders_1.csv")
	require.NoError(t, err)
	require.NoError(t, u.Quarantine(pipelines.BadRow{Origin: "orders_1.csv", Line: 7, Reason: "expected 3 fields, found 2", Raw: "a,\xff"}))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
	m, err := l.Manifest("billing", "orders")
	require.NoError(t, err)
	require.Len(t, m.Quarantine, 1)
	db := warehousetest.Open(t, "", false)
	rows := warehousetest.Rows(t, db, "SELECT origin, line, reason, raw FROM read_parquet(?)", filepath.Join(l.Dir, m.Quarantine[0].Path))
	require.Equal(t, [][]string{{"orders_1.csv", "7", "expected 3 fields, found 2", "a,\uFFFD"}}, rows)
}

// TestQuarantineView: raw.quarantine is empty, with its columns, before
// any stream exists, and then has each stream's quarantined rows named by
// stream (a stream without bad rows adds none).
func TestQuarantineView(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	create := func() {
		ms, err := l.Manifests()
		require.NoError(t, err)
		views := []lake.View{l.QuarantineView(ms)}
		for _, m := range ms {
			views = append(l.RawViews(m), views...)
		}
		for _, v := range views {
			_, err := db.Exec("CREATE OR REPLACE VIEW raw." + v.Name + " AS " + v.SQL)
			require.NoError(t, err, v.SQL)
		}
	}
	_, err = db.Exec("CREATE SCHEMA raw")
	require.NoError(t, err)
	create()
	require.Equal(t, [][]string{{"stream", "VARCHAR"}, {"origin", "VARCHAR"}, {"line", "BIGINT"}, {"row_key", "VARCHAR"},
		{"reason", "VARCHAR"}, {"raw", "VARCHAR"}, {"run_id", "VARCHAR"}, {"quarantined_at", "TIMESTAMP WITH TIME ZONE"}},
		warehousetest.Rows(t, db, "SELECT column_name, column_type FROM (DESCRIBE raw.quarantine)"))
	require.Equal(t, [][]string{{"0"}}, warehousetest.Rows(t, db, "SELECT count(*) FROM raw.quarantine"))

	for _, s := range []struct {
		stream string
		bad    int
	}{{"orders", 2}, {"order_lines", 0}, {"legacy_orders", 1}} {
		u, err := l.Sink("billing", s.stream, "run1", time.Now()).Begin(allTypes[:1], s.stream+".csv")
		require.NoError(t, err)
		require.NoError(t, u.Write([][]any{{int64(1)}}))
		for i := range s.bad {
			require.NoError(t, u.Quarantine(pipelines.BadRow{Origin: s.stream + ".csv", Line: int64(i + 2), Reason: "bad"}))
		}
		require.NoError(t, u.Commit(pipelines.StateChange{}))
	}
	create()
	require.Equal(t, [][]string{
		{"billing.legacy_orders", "legacy_orders.csv", "2"},
		{"billing.orders", "orders.csv", "2"},
		{"billing.orders", "orders.csv", "3"},
	}, warehousetest.Rows(t, db, "SELECT stream, origin, line FROM raw.quarantine ORDER BY ALL"))
}

func TestWriteRejectsValuesOfTheWrongType(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	u, err := l.Sink("s", "t", "run1", time.Now()).Begin(allTypes[:2], "x")
	require.NoError(t, err)
	err = u.Write([][]any{{"not an int", "a"}})
	require.ErrorContains(t, err, "column id")
	err = u.Write([][]any{{int64(1)}})
	require.ErrorContains(t, err, "row has 1 values")
	u.Abort()
}

func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	}))
	return out
}

func TestDecimalsAbove18DigitsReadBackExactly(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	schema := pipelines.Schema{
		{Name: "id", Type: pipelines.TypeInt64},
		{Name: "big", Type: pipelines.TypeDecimal, Precision: 38, Scale: 4},
		{Name: "mid", Type: pipelines.TypeDecimal, Precision: 20, Scale: 0},
	}
	u, err := l.Sink("s", "t", "run1", time.Now()).Begin(schema, "x")
	require.NoError(t, err)
	max38, ok := new(big.Int).SetString("99999999999999999999999999999999999999", 10)
	require.True(t, ok)
	d38, ok := pipelines.Decimal128FromBig(max38)
	require.True(t, ok)
	b := pipelines.NewBatch(schema)
	require.NoError(t, b.AppendRow([]any{int64(1), d38, pipelines.Decimal{Unscaled: -5}}))
	require.NoError(t, b.AppendRow([]any{int64(2), d38.Neg(), nil}))
	require.NoError(t, b.AppendRow([]any{int64(3), pipelines.Decimal{Unscaled: -12345}, pipelines.Decimal128Of(-1)}))
	require.NoError(t, u.WriteBatch(b))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
	m, err := l.Manifest("s", "t")
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	path := filepath.Join(l.Dir, m.Parts[0].Path)
	require.Equal(t, [][]string{{"big", "DECIMAL(38,4)"}, {"mid", "DECIMAL(20,0)"}},
		warehousetest.Rows(t, db, "SELECT column_name, column_type FROM (DESCRIBE SELECT big, mid FROM read_parquet(?))", path))
	require.Equal(t, [][]string{
		{"1", "9999999999999999999999999999999999.9999", "-5"},
		{"2", "-9999999999999999999999999999999999.9999", "NULL"},
		{"3", "-1.2345", "-1"},
	}, warehousetest.Rows(t, db, "SELECT id, big::VARCHAR, mid::VARCHAR FROM read_parquet(?) ORDER BY id", path))
}

func TestEncodingsAndStatisticsAsDocumented(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	u, err := l.Sink("s", "t", "run1", time.Now()).Begin(allTypes, "x")
	require.NoError(t, err)
	seen := time.Date(2025, 3, 5, 6, 3, 0, 0, time.UTC)
	require.NoError(t, u.Write([][]any{
		{int64(1), "b", pipelines.Decimal{Unscaled: 1}, 0.5, true, time.Date(1990, 7, 1, 0, 0, 0, 0, time.UTC), seen, `{"a":1}`},
		{int64(2), "a", pipelines.Decimal{Unscaled: 2}, 1.5, false, time.Date(1991, 7, 1, 0, 0, 0, 0, time.UTC), seen.Add(time.Hour), `{"a":2}`},
	}))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
	m, err := l.Manifest("s", "t")
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	require.Equal(t, [][]string{
		{"active", "PLAIN, RLE", "ZSTD", "false", "true"},
		{"amount", "PLAIN, RLE", "ZSTD", "0.01", "0.02"},
		{"attrs", "RLE, DELTA_LENGTH_BYTE_ARRAY", "ZSTD", "NULL", "NULL"},
		{"born", "RLE, DELTA_BINARY_PACKED", "ZSTD", "1990-07-01", "1991-07-01"},
		{"id", "RLE, DELTA_BINARY_PACKED", "ZSTD", "1", "2"},
		{"name", "RLE, DELTA_LENGTH_BYTE_ARRAY", "ZSTD", "NULL", "NULL"},
		{"score", "PLAIN, RLE", "ZSTD", "0.5", "1.5"},
		{"seen_at", "RLE, DELTA_BINARY_PACKED", "ZSTD", "2025-03-05 06:03:00+00", "2025-03-05 07:03:00+00"},
	}, warehousetest.Rows(t, db, `SELECT path_in_schema, encodings, compression, stats_min_value, stats_max_value
		FROM parquet_metadata(?) ORDER BY path_in_schema`, filepath.Join(l.Dir, m.Parts[0].Path)))
}
