package lake_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/warehouse/warehousetest"
)

// fileFieldIDs reads the field id of each column of a part file with DuckDB.
func fileFieldIDs(t *testing.T, l *lake.Lake, p lake.Part) map[string]string {
	t.Helper()
	db := warehousetest.Open(t, "", false)
	out := map[string]string{}
	for _, r := range warehousetest.Rows(t, db, "SELECT name, coalesce(field_id::VARCHAR, 'none') FROM parquet_schema(?) WHERE num_children IS NULL",
		filepath.Join(l.Dir, p.Path)) {
		out[r[0]] = r[1]
	}
	return out
}

func commitUnit(t *testing.T, s *lake.StreamSink, schema pipelines.Schema, row []any) {
	t.Helper()
	u, err := s.Begin(schema, "test")
	require.NoError(t, err)
	require.NoError(t, u.Write([][]any{row}))
	require.NoError(t, u.Commit(pipelines.StateChange{}))
}

func TestPartsCarryFieldIDsAndCommitsCountVersions(t *testing.T) {
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	row := []any{int64(1), "a", pipelines.Decimal{Unscaled: 100}, 0.5, true, now, now, `{}`}

	s := l.Sink("crm", "people", "run1", now)
	s.Policy = pipelines.SchemaCoerce
	commitUnit(t, s, allTypes, row)
	m, err := l.Manifest("crm", "people")
	require.NoError(t, err)
	require.EqualValues(t, 1, m.Version)
	// Ids start above the partition column's, in the columns' order.
	want := map[string]string{}
	for i, c := range allTypes {
		id, ok := m.FieldIDOf(c.Name, lake.FieldClass(c))
		require.True(t, ok)
		require.Equal(t, lake.PartitionFieldID+1+i, id, c.Name)
		want[c.Name] = fmt.Sprint(id)
	}
	p1 := m.Parts[0]
	require.True(t, p1.FieldIDs)
	require.EqualValues(t, 1, p1.Version)
	require.Equal(t, want, fileFieldIDs(t, l, p1))

	// amount retyped to text and a column added: both get new ids, the
	// other columns keep theirs; a wider decimal of the same scale would
	// keep its id.
	next := append(pipelines.Schema(nil), allTypes...)
	next[2] = pipelines.Column{Name: "amount", Type: pipelines.TypeString}
	next = append(next, pipelines.Column{Name: "extra", Type: pipelines.TypeInt64})
	commitUnit(t, s, next, append(append([]any(nil), row[:2]...), append([]any{"1.00"}, append(row[3:], int64(7))...)...))
	m, err = l.Manifest("crm", "people")
	require.NoError(t, err)
	require.EqualValues(t, 2, m.Version)
	p2 := m.Parts[1]
	require.EqualValues(t, 2, p2.Version)
	got := fileFieldIDs(t, l, p2)
	require.Equal(t, fmt.Sprint(lake.PartitionFieldID+1+len(allTypes)), got["amount"])
	require.Equal(t, fmt.Sprint(lake.PartitionFieldID+2+len(allTypes)), got["extra"])
	for _, c := range allTypes {
		if c.Name != "amount" {
			require.Equal(t, want[c.Name], got[c.Name], c.Name)
		}
	}
	require.Equal(t, "decimal(*,2)", lake.FieldClass(pipelines.Column{Type: pipelines.TypeDecimal, Precision: 30, Scale: 2}))
	require.Equal(t, "string", lake.FieldClass(pipelines.Column{Type: pipelines.TypeJSON}))

	// A snapshot is a commit; the next one replaces it, and the part it
	// retires says by which version.
	snapshotOf := func(run string) {
		s := l.Sink("crm", "people", run, now)
		s.Policy = pipelines.SchemaCoerce
		u, err := s.BeginSnapshot("null_watermark", allTypes, "test")
		require.NoError(t, err)
		require.NoError(t, u.Write([][]any{row}))
		require.NoError(t, u.Commit(pipelines.StateChange{}))
		require.NoError(t, s.Finish(nil))
	}
	snapshotOf("run2")
	snapshotOf("run3")
	m, err = l.Manifest("crm", "people")
	require.NoError(t, err)
	require.EqualValues(t, 4, m.Version)
	require.EqualValues(t, 4, m.Snapshots["null_watermark"].Parts[0].Version)
	require.Len(t, m.Retired, 1)
	require.EqualValues(t, 4, m.Retired[0].RetiredVersion)

	// A reload's commits are not versions until it completes, in one.
	require.NoError(t, l.RequestReload("crm", "people", "test"))
	r := l.Sink("crm", "people", "run4", now)
	_, err = r.State()
	require.NoError(t, err)
	commitUnit(t, r, allTypes, row)
	commitUnit(t, r, allTypes, row)
	m, err = l.Manifest("crm", "people")
	require.NoError(t, err)
	require.EqualValues(t, 4, m.Version)
	require.NoError(t, r.Finish(nil))
	m, err = l.Manifest("crm", "people")
	require.NoError(t, err)
	require.EqualValues(t, 5, m.Version)
	require.Len(t, m.LiveParts(), 2)
	for _, p := range m.LiveParts() {
		require.EqualValues(t, 5, p.Version)
		require.Equal(t, want["id"], fileFieldIDs(t, l, p)["id"], "a reload keeps the stream's ids")
	}
	retired := map[int64]int{}
	for _, p := range m.Retired {
		retired[p.RetiredVersion]++
	}
	require.Equal(t, map[int64]int{4: 1, 5: 3}, retired, "the two units and the snapshot, replaced by the reload")

	// Every column has its id already: FieldIDs changes nothing.
	before := m.UpdatedAt
	m, err = l.FieldIDs("crm", "people")
	require.NoError(t, err)
	require.Equal(t, before, m.UpdatedAt)
}
