package iceberg_test

// The lake's streams published as Iceberg tables, read back through
// iceberg-go's own scanner and compared row by row with the lake as
// DuckDB reads it (the warehouse's raw views), and the tables' metadata
// checked against the Iceberg table spec (format version 2) from the
// metadata JSON itself.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"crmwh/pipelines"
	"crmwh/pipelines/extract"
	"crmwh/pipelines/iceberg"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/laketest"
	_ "crmwh/pipelines/sources/sqlite"
	"crmwh/warehouse/warehousetest"
)

var ctx = context.Background()

// The source: a shop's orders in SQLite, one row a minute from
// 2024-03-01 10:00 UTC, every tenth row (with nullWatermark) without an
// updated_at, so it lands in the NULL-watermark snapshot.
const ordersDDL = `CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer TEXT, amount NUMERIC(12,2),
	placed DATE, updated_at DATETIME, paid BOOLEAN, score REAL, meta JSON)`

type fixture struct {
	*laketest.Lake
	srcPath string
	src     *sql.DB
	cat     *iceberg.Catalog
	cfg     iceberg.Config
}

func ordersStream() pipelines.StreamConfig {
	return pipelines.StreamConfig{Name: "orders", Table: "orders", Watermark: "updated_at", PrimaryKey: []string{"order_id"},
		CommitRows: 40, NullWatermark: "load"}
}

// newFixture makes the source database, a lake that extracts it, and the
// catalog cfg names (the default SQLite one when cfg is zero).
func newFixture(t *testing.T, cfg iceberg.Config, st pipelines.StreamConfig) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{srcPath: filepath.Join(dir, "shop.sqlite"), cfg: cfg}
	var err error
	f.src, err = sql.Open("sqlite", f.srcPath)
	require.NoError(t, err)
	t.Cleanup(func() { f.src.Close() })
	_, err = f.src.Exec(ordersDDL)
	require.NoError(t, err)
	f.Lake = laketest.New(t, dir, pipelines.SourceConfig{Name: "shop", Kind: "sqlite", DSN: f.srcPath,
		Streams: []pipelines.StreamConfig{st}})
	if f.cfg.Catalog == "" {
		f.cfg.Catalog = iceberg.CatalogSQLite
	}
	f.open(t)
	return f
}

// open opens the catalog and makes every extract publish in it.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	cat, err := iceberg.Open(ctx, f.cfg, f.Lake.Lake, f.Env)
	require.NoError(t, err)
	cat.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Cleanup(func() { cat.Close() })
	f.cat = cat
	f.Catalog = cat
	f.Readers = func() (map[string]bool, error) { return cat.Files(ctx) }
}

// insert adds orders [from, to); columns may name extra columns and their
// value for row i.
func (f *fixture) insert(t *testing.T, from, to int, nullWatermark bool, extra ...map[string]func(i int) any) {
	t.Helper()
	names := []string{"order_id", "customer", "amount", "placed", "updated_at", "paid", "score", "meta"}
	cols := map[string]func(int) any{}
	for _, e := range extra {
		for k, v := range e {
			cols[k] = v
		}
	}
	keys := make([]string, 0, len(cols))
	for k := range cols {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names = append(names, keys...)
	q := fmt.Sprintf("INSERT INTO orders (%s) VALUES (%s)", strings.Join(names, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(names)), ", "))
	for i := from; i < to; i++ {
		var cust, upd any = fmt.Sprintf("C%03d", i%17), time.Date(2024, 3, 1, 10, i, 0, 0, time.UTC).Format("2006-01-02 15:04:05")
		if i%5 == 0 {
			cust = nil
		}
		if nullWatermark && i%10 == 0 {
			upd = nil
		}
		args := []any{i, cust, fmt.Sprintf("%d.%02d", i*37%1000, i%100), fmt.Sprintf("2024-02-%02d", 1+i%28), upd, i%2 == 0,
			float64(i) / 3, fmt.Sprintf(`{"i": %d}`, i)}
		for _, k := range keys {
			args = append(args, cols[k](i))
		}
		_, err := f.src.Exec(q, args...)
		require.NoError(t, err)
	}
}

func (f *fixture) extract(t *testing.T, full bool) extract.Result {
	t.Helper()
	res, err := f.Extract(t, full)
	require.NoError(t, err)
	require.Empty(t, res.CatalogErrors)
	return res
}

func (f *fixture) table(t *testing.T) *table.Table {
	t.Helper()
	tbl, err := f.cat.Table(ctx, "shop", "orders")
	require.NoError(t, err)
	return tbl
}

// scan reads the table through iceberg-go's scanner into Arrow, and writes
// the result to a Parquet file for DuckDB (Arrow's own writer: a faithful
// copy of the scanned values).
func (f *fixture) scan(t *testing.T, opts ...table.ScanOption) (path string, rows int64) {
	t.Helper()
	at, err := f.table(t).Scan(opts...).ToArrowTable(ctx)
	require.NoError(t, err)
	defer at.Release()
	path = filepath.Join(t.TempDir(), "scan.parquet")
	out, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, pqarrow.WriteTable(at, out, 1<<16, nil, pqarrow.DefaultWriterProps()))
	return path, at.NumRows()
}

// requireSame compares every row of the lake's raw view with the
// Iceberg scan: same count, and no row of one missing from the other
// (EXCEPT ALL both ways). exprs gives a lake column's value as an
// expression over the scan (default: the column of that name).
func (f *fixture) requireSame(t *testing.T, exprs map[string]string) {
	t.Helper()
	path, n := f.scan(t)
	m := f.Manifest(t, "shop", "orders")
	db := f.DB(t)
	var lakeCols, iceCols []string
	for _, c := range m.Schema {
		q := `"` + c.Name + `"`
		lakeCols = append(lakeCols, q)
		e, ok := exprs[c.Name]
		if !ok {
			e = q
		}
		iceCols = append(iceCols, fmt.Sprintf("CAST(%s AS %s)", e, c.DuckDBType()))
	}
	lakeQ := "SELECT " + strings.Join(lakeCols, ", ") + " FROM raw.shop_orders"
	iceQ := "SELECT " + strings.Join(iceCols, ", ") + fmt.Sprintf(" FROM read_parquet('%s')", path)
	require.Equal(t, m.Rows(), warehousetest.Int(t, db, "SELECT count(*) FROM raw.shop_orders"))
	require.Equal(t, m.Rows(), n, "rows scanned through iceberg-go")
	require.Zero(t, warehousetest.Int(t, db, fmt.Sprintf("SELECT count(*) FROM (%s EXCEPT ALL %s)", lakeQ, iceQ)), "lake rows missing from the iceberg scan")
	require.Zero(t, warehousetest.Int(t, db, fmt.Sprintf("SELECT count(*) FROM (%s EXCEPT ALL %s)", iceQ, lakeQ)), "iceberg rows not in the lake")
}

// metadata is the table metadata JSON, as the spec names its fields.
type metadata struct {
	FormatVersion      int    `json:"format-version"`
	TableUUID          string `json:"table-uuid"`
	LastSequenceNumber int64  `json:"last-sequence-number"`
	LastColumnID       int    `json:"last-column-id"`
	CurrentSchemaID    int    `json:"current-schema-id"`
	Schemas            []struct {
		SchemaID int `json:"schema-id"`
		Fields   []struct {
			ID       int    `json:"id"`
			Name     string `json:"name"`
			Required bool   `json:"required"`
			Type     string `json:"type"`
		} `json:"fields"`
	} `json:"schemas"`
	DefaultSpecID  int `json:"default-spec-id"`
	PartitionSpecs []struct {
		SpecID int `json:"spec-id"`
		Fields []struct {
			SourceID  int    `json:"source-id"`
			FieldID   int    `json:"field-id"`
			Name      string `json:"name"`
			Transform string `json:"transform"`
		} `json:"fields"`
	} `json:"partition-specs"`
	LastPartitionID   int               `json:"last-partition-id"`
	Properties        map[string]string `json:"properties"`
	CurrentSnapshotID int64             `json:"current-snapshot-id"`
	Snapshots         []struct {
		SnapshotID     int64             `json:"snapshot-id"`
		ParentID       *int64            `json:"parent-snapshot-id"`
		SequenceNumber int64             `json:"sequence-number"`
		ManifestList   string            `json:"manifest-list"`
		SchemaID       int               `json:"schema-id"`
		Summary        map[string]string `json:"summary"`
	} `json:"snapshots"`
	Refs map[string]struct {
		SnapshotID int64  `json:"snapshot-id"`
		Type       string `json:"type"`
	} `json:"refs"`
}

func mustID(t *testing.T, m *lake.StreamManifest, name, class string) int {
	t.Helper()
	id, ok := m.FieldIDOf(name, class)
	require.True(t, ok, name)
	return id
}

func readMetadata(t *testing.T, tbl *table.Table) metadata {
	t.Helper()
	b, err := os.ReadFile(strings.TrimPrefix(tbl.MetadataLocation(), "file://"))
	require.NoError(t, err)
	var md metadata
	require.NoError(t, json.Unmarshal(b, &md))
	return md
}

// currentFields are the current schema's fields by name: id and type.
func (md metadata) currentFields() map[string][2]string {
	out := map[string][2]string{}
	for _, s := range md.Schemas {
		if s.SchemaID == md.CurrentSchemaID {
			for _, f := range s.Fields {
				out[f.Name] = [2]string{fmt.Sprint(f.ID), f.Type}
			}
		}
	}
	return out
}

// checkSpec checks a table against the spec and the stream's manifest:
// format version 2; the partition spec (identity of the ingest date, field
// 1000 from column 1); the current schema's field ids are the lake's;
// snapshots chained by parent with sequence numbers 1, 2, … (when none
// expired), the current one at the lake's version; the current
// snapshot's data files are exactly the live parts, each with the record
// count DuckDB counts in the file, its size, its ingest date partition,
// and the data sequence number of the snapshot that added it; and each
// part's Parquet columns carry the lake's field ids. It returns the
// metadata.
func (f *fixture) checkSpec(t *testing.T) metadata {
	t.Helper()
	tbl := f.table(t)
	md := readMetadata(t, tbl)
	m := f.Manifest(t, "shop", "orders")
	require.Equal(t, 2, md.FormatVersion)
	require.NotEmpty(t, md.TableUUID)
	require.Len(t, md.PartitionSpecs, 1)
	require.Equal(t, 0, md.DefaultSpecID)
	require.Equal(t, 1000, md.LastPartitionID)
	ps := md.PartitionSpecs[0]
	require.Len(t, ps.Fields, 1)
	require.Equal(t, lake.PartitionFieldID, ps.Fields[0].SourceID)
	require.Equal(t, 1000, ps.Fields[0].FieldID)
	require.Equal(t, "ingest_date", ps.Fields[0].Name)
	require.Equal(t, "identity", ps.Fields[0].Transform)
	require.Equal(t, "false", md.Properties["gc.enabled"])

	fields := md.currentFields()
	require.Equal(t, [2]string{"1", "date"}, fields["ingest_date"])
	maxID := 0
	for _, s := range md.Schemas {
		for _, fl := range s.Fields {
			maxID = max(maxID, fl.ID)
		}
	}
	require.Equal(t, maxID, md.LastColumnID)
	for _, c := range m.Schema {
		id, ok := m.FieldIDOf(c.Name, lake.FieldClass(c))
		if ok && fields[c.Name][0] == fmt.Sprint(id) {
			continue
		}
		// A retyped column's name went to another kind; its own kind
		// keeps its id under another name.
		found := false
		for _, fl := range fields {
			found = found || fl[0] == fmt.Sprint(id)
		}
		require.True(t, found, "column %s (id %d) is not in the current schema %v", c.Name, id, fields)
	}

	// Snapshots: a chain of parents, sequence numbers in order.
	require.NotEmpty(t, md.Snapshots)
	require.Equal(t, md.CurrentSnapshotID, md.Refs["main"].SnapshotID)
	require.Equal(t, "branch", md.Refs["main"].Type)
	bySeq := map[int64]int64{}
	for i, s := range md.Snapshots {
		bySeq[s.SnapshotID] = s.SequenceNumber
		if i > 0 {
			require.Equal(t, md.Snapshots[i-1].SnapshotID, *s.ParentID)
			require.Equal(t, md.Snapshots[i-1].SequenceNumber+1, s.SequenceNumber)
		}
		require.Contains(t, []string{"append", "overwrite"}, s.Summary["operation"])
		require.NotEmpty(t, s.Summary["crmwh.lake-version"])
	}
	last := md.Snapshots[len(md.Snapshots)-1]
	require.Equal(t, md.CurrentSnapshotID, last.SnapshotID)
	require.Equal(t, md.LastSequenceNumber, last.SequenceNumber)
	require.Equal(t, fmt.Sprint(m.Version), last.Summary["crmwh.lake-version"])
	require.Equal(t, fmt.Sprint(m.Rows()), last.Summary["total-records"])

	// The manifest list and the data files.
	live := map[string]lake.Part{}
	for _, p := range m.LiveParts() {
		live["file://"+filepath.ToSlash(filepath.Join(f.Dir, p.Path))] = p
	}
	fsys, err := tbl.FS(ctx)
	require.NoError(t, err)
	snap := tbl.CurrentSnapshot()
	require.Equal(t, last.ManifestList, snap.ManifestList)
	mans, err := snap.Manifests(fsys)
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	seen := map[string]bool{}
	for _, mf := range mans {
		for e, err := range mf.Entries(fsys, true) {
			require.NoError(t, err)
			df := e.DataFile()
			p, ok := live[df.FilePath()]
			require.True(t, ok, "data file %s is not a live part", df.FilePath())
			seen[df.FilePath()] = true
			file := strings.TrimPrefix(df.FilePath(), "file://")
			require.Equal(t, warehousetest.Int(t, db, fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", file)), df.Count())
			st, err := os.Stat(file)
			require.NoError(t, err)
			require.Equal(t, st.Size(), df.FileSizeBytes())
			require.Equal(t, ice.ParquetFile, df.FileFormat())
			if day, ok := strings.CutPrefix(filepath.Base(filepath.Dir(file)), "ingest_date="); ok {
				d, err := time.Parse("2006-01-02", day)
				require.NoError(t, err)
				require.Equal(t, ice.Date(d.Unix()/86400), df.Partition()[1000])
			} else {
				require.Nil(t, df.Partition()[1000], "a snapshot's part has no ingest date")
			}
			if p.FieldIDs {
				// Column statistics from the footer: row and null counts,
				// and order_id's bounds (8 bytes little-endian, as the spec
				// serialises a long) as DuckDB finds them.
				id, _ := m.FieldIDOf("order_id", "int64")
				require.Equal(t, df.Count(), df.ValueCounts()[id])
				require.Equal(t, warehousetest.Int(t, db, fmt.Sprintf("SELECT count(*) - count(customer) FROM read_parquet('%s')", file)),
					df.NullValueCounts()[mustID(t, m, "customer", "string")])
				lo, hi := df.LowerBoundValues()[id], df.UpperBoundValues()[id]
				require.Len(t, lo, 8)
				require.Equal(t, warehousetest.Rows(t, db, fmt.Sprintf("SELECT min(order_id), max(order_id) FROM read_parquet('%s')", file)),
					[][]string{{fmt.Sprint(int64(binary.LittleEndian.Uint64(lo))), fmt.Sprint(int64(binary.LittleEndian.Uint64(hi)))}})
			}
			seq, ok := bySeq[e.SnapshotID()]
			require.True(t, ok, "the snapshot that added %s is gone", file)
			require.Equal(t, seq, e.SequenceNum(), "data sequence number of %s", file)
			// The file's columns carry the lake's field ids (none in the
			// parts of a lake written before it recorded them).
			s := m.Schemas[p.SchemaHash]
			for _, row := range warehousetest.Rows(t, db, fmt.Sprintf(
				"SELECT name, coalesce(field_id::VARCHAR, 'none') FROM parquet_schema('%s') WHERE num_children IS NULL OR num_children = 0", file)) {
				i := s.Index(row[0])
				require.GreaterOrEqual(t, i, 0, "column %s of %s", row[0], file)
				want := "none"
				if p.FieldIDs {
					id, _ := m.FieldIDOf(row[0], lake.FieldClass(s[i]))
					want = fmt.Sprint(id)
				}
				require.Equal(t, want, row[1], "field id of %s in %s", row[0], file)
			}
		}
	}
	require.Len(t, seen, len(live), "every live part is a data file")
	return md
}

func TestStreamPublishedWithOneSnapshotPerLakeCommit(t *testing.T) {
	f := newFixture(t, iceberg.Config{}, ordersStream())
	f.insert(t, 0, 100, true)
	f.extract(t, false)
	// 90 rows with a watermark in units of 40 (three commits), then the
	// NULL-watermark snapshot (a fourth).
	m := f.Manifest(t, "shop", "orders")
	require.EqualValues(t, 4, m.Version)
	f.requireSame(t, nil)
	md := f.checkSpec(t)
	require.Len(t, md.Snapshots, 4)
	for i, s := range md.Snapshots {
		require.Equal(t, "append", s.Summary["operation"])
		require.Equal(t, fmt.Sprint(i+1), s.Summary["crmwh.lake-version"])
	}
	require.Equal(t, "10", md.Snapshots[3].Summary["added-records"])
	fields := md.currentFields()
	for name, typ := range map[string]string{"order_id": "long", "customer": "string", "amount": "decimal(12, 2)", "placed": "date",
		"updated_at": "timestamptz", "paid": "boolean", "score": "double", "meta": "string"} {
		require.Equal(t, typ, fields[name][1], name)
	}

	// The ingest date partition prunes: today's holds every row but the
	// snapshot's, another day none. (iceberg-go reads the column itself
	// as NULL: it is not in the files; Spark and Trino take it from the
	// partition, as the spec says.)
	today := ice.Date(time.Now().UTC().Truncate(24*time.Hour).Unix() / 86400)
	_, n := f.scan(t, table.WithRowFilter(ice.EqualTo(ice.Reference("ingest_date"), today)))
	require.EqualValues(t, 90, n)
	_, n = f.scan(t, table.WithRowFilter(ice.EqualTo(ice.Reference("ingest_date"), today-1)))
	require.Zero(t, n)

	// A second run: two more commits and a new NULL-watermark snapshot,
	// which replaces the old one (an overwrite).
	old := m.Snapshots["null_watermark"].Parts
	f.insert(t, 100, 160, true)
	f.extract(t, false)
	m = f.Manifest(t, "shop", "orders")
	require.EqualValues(t, 7, m.Version)
	f.requireSame(t, nil)
	md = f.checkSpec(t)
	require.Len(t, md.Snapshots, 7)
	over := md.Snapshots[6].Summary
	require.Equal(t, "overwrite", over["operation"])
	require.Equal(t, "1", over["deleted-data-files"])
	require.Equal(t, "10", over["deleted-records"])
	require.Equal(t, "16", over["added-records"])

	// Up to date: publishing again adds nothing.
	before := f.table(t).CurrentSnapshot().SnapshotID
	p, err := f.cat.Sync(ctx, "shop", "orders")
	require.NoError(t, err)
	require.Zero(t, p.Snapshots)
	require.Equal(t, before, p.SnapshotID)
	require.EqualValues(t, 7, p.LakeVersion)
	require.EqualValues(t, 160, p.Rows)

	// The replaced snapshot part is kept while a snapshot the table keeps
	// reads it; once those expire, the next extract deletes it.
	retired := filepath.Join(f.Dir, old[0].Path)
	files, err := f.cat.Files(ctx)
	require.NoError(t, err)
	require.True(t, files[old[0].Path])
	f.extract(t, false)
	require.FileExists(t, retired)
	kept := len(readMetadata(t, f.table(t)).Snapshots)
	setProperty(t, f, table.MaxSnapshotAgeMsKey, "0")
	p, err = f.cat.Sync(ctx, "shop", "orders")
	require.NoError(t, err)
	require.Equal(t, kept-1, p.Expired)
	files, err = f.cat.Files(ctx)
	require.NoError(t, err)
	require.False(t, files[old[0].Path])
	f.extract(t, false)
	require.NoFileExists(t, retired)
	f.requireSame(t, nil)
	md = readMetadata(t, f.table(t))
	require.Len(t, md.Snapshots, 1)
	// The expired snapshots' manifest lists are gone from the metadata
	// folder; the kept one is there.
	lists, err := filepath.Glob(filepath.Join(strings.TrimPrefix(f.table(t).Location(), "file://"), "metadata", "snap-*.avro"))
	require.NoError(t, err)
	require.Equal(t, []string{strings.TrimPrefix(md.Snapshots[0].ManifestList, "file://")}, lists)
}

// setProperty sets a table property through the catalog, as an engine's
// ALTER TABLE … SET TBLPROPERTIES would.
func setProperty(t *testing.T, f *fixture, key, value string) {
	t.Helper()
	tx := f.table(t).NewTransaction()
	require.NoError(t, tx.SetProperties(ice.Properties{key: value}))
	_, err := tx.Commit(ctx)
	require.NoError(t, err)
}

func TestFullReloadReplacesEveryFileInOneSnapshot(t *testing.T) {
	f := newFixture(t, iceberg.Config{}, ordersStream())
	f.insert(t, 0, 100, false)
	f.extract(t, false)
	before := f.Manifest(t, "shop", "orders").LiveParts()
	require.Len(t, before, 3)
	_, err := f.src.Exec("DELETE FROM orders WHERE order_id < 30")
	require.NoError(t, err)
	res := f.extract(t, true)
	require.True(t, res.Streams[0].Full)
	m := f.Manifest(t, "shop", "orders")
	require.EqualValues(t, 70, m.Rows())
	f.requireSame(t, nil)
	md := f.checkSpec(t)
	require.Len(t, md.Snapshots, 4)
	s := md.Snapshots[3].Summary
	require.Equal(t, "overwrite", s["operation"])
	require.Equal(t, "3", s["deleted-data-files"])
	require.Equal(t, "100", s["deleted-records"])
	require.Equal(t, "70", s["added-records"])
	require.Equal(t, "70", s["total-records"])
	// The old parts stay while the table keeps the snapshots that read
	// them.
	f.extract(t, false)
	for _, p := range before {
		require.FileExists(t, filepath.Join(f.Dir, p.Path))
	}
}

func TestSchemaEvolutionMapsToIcebergSchemaEvolution(t *testing.T) {
	st := ordersStream()
	st.OnSchemaChange = pipelines.SchemaCoerce
	f := newFixture(t, iceberg.Config{}, st)
	f.insert(t, 0, 50, false)
	f.extract(t, false)
	md0 := f.checkSpec(t)
	ids0 := md0.currentFields()

	// A column added at the source: a new field, the others unchanged.
	_, err := f.src.Exec("ALTER TABLE orders ADD COLUMN channel TEXT")
	require.NoError(t, err)
	f.insert(t, 50, 80, false, map[string]func(int) any{"channel": func(i int) any { return []string{"web", "store"}[i%2] }})
	f.extract(t, false)
	f.requireSame(t, nil)
	md1 := f.checkSpec(t)
	ids1 := md1.currentFields()
	for name, v := range ids0 {
		require.Equal(t, v, ids1[name], name)
	}
	require.Equal(t, "string", ids1["channel"][1])
	require.Greater(t, atoi(ids1["channel"][0]), md0.LastColumnID)
	require.Greater(t, md1.CurrentSchemaID, md0.CurrentSchemaID)

	// amount retyped from a decimal to text (coerced): the text is a new
	// field named amount, the decimals keep their field, renamed.
	for _, q := range []string{
		`CREATE TABLE orders_new (order_id INTEGER PRIMARY KEY, customer TEXT, amount TEXT, placed DATE, updated_at DATETIME,
			paid BOOLEAN, score REAL, meta JSON, channel TEXT)`,
		`INSERT INTO orders_new SELECT order_id, customer, CAST(amount AS TEXT), placed, updated_at, paid, score, meta, channel FROM orders`,
		`DROP TABLE orders`, `ALTER TABLE orders_new RENAME TO orders`,
	} {
		_, err := f.src.Exec(q)
		require.NoError(t, err)
	}
	f.insert(t, 80, 100, false, map[string]func(int) any{"channel": func(int) any { return "phone" }})
	_, err = f.src.Exec("UPDATE orders SET amount = amount || ' CNY' WHERE order_id >= 80")
	require.NoError(t, err)
	f.extract(t, false)
	m := f.Manifest(t, "shop", "orders")
	require.Equal(t, "string", string(m.Schema[m.Schema.Index("amount")].Type))
	f.requireSame(t, map[string]string{"amount": "coalesce(amount, CAST(amount__decimal_2 AS VARCHAR))"})
	md2 := f.checkSpec(t)
	ids2 := md2.currentFields()
	require.Equal(t, ids0["amount"], ids2["amount__decimal_2"], "the decimals keep their field id")
	require.Equal(t, "string", ids2["amount"][1])
	require.Greater(t, atoi(ids2["amount"][0]), md1.LastColumnID)
	require.Greater(t, md2.CurrentSchemaID, md1.CurrentSchemaID)
	// Every snapshot names the schema it was written with.
	schemas := map[int]bool{}
	for _, s := range md2.Snapshots {
		schemas[s.SchemaID] = true
	}
	require.GreaterOrEqual(t, len(schemas), 3)
	// Rows read back by kind: the text rows, and the decimals of before.
	path, _ := f.scan(t)
	db := f.DB(t)
	require.Equal(t, [][]string{{fmt.Sprint(m.Rows() - 80), "80"}}, warehousetest.Rows(t, db, fmt.Sprintf(
		"SELECT count(amount), count(amount__decimal_2) FROM read_parquet('%s')", path)))
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
