package extract_test

// Nothing is silently read as nothing: a missing glob, SQLite file or table
// fails its stream, naming it (unless the stream is optional), and a file
// that changed or grew after it was loaded is reported, kept as a warning
// in the manifest, or fails or reloads the stream as on_file_change says.

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/extract"
	"crmwh/pipelines/laketest"
	_ "crmwh/pipelines/sources/jsonl"
	_ "crmwh/pipelines/sources/sqlite"
)

var orderCols = []pipelines.ColumnConfig{{Name: "order_id", Type: "string"}, {Name: "amount", Type: "decimal(12,2)"}}

func csvSource(streams ...pipelines.StreamConfig) pipelines.SourceConfig {
	return pipelines.SourceConfig{Name: "billing", Kind: "csv", Streams: streams}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

// touch moves a file's time forward, as a rewrite a moment later would.
func touch(t *testing.T, path string) {
	t.Helper()
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(path, later, later))
}

func TestMissingInputsAreErrorsNamingThemUnlessOptional(t *testing.T) {
	base := t.TempDir()
	writeFile(t, filepath.Join(base, "in", "orders_1.csv"), "order_id,amount\nA1,1.00\n")
	sqlitePath := filepath.Join(base, "crm.sqlite")
	db, err := sql.Open("sqlite", sqlitePath)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, updated_at DATETIME)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	for _, c := range []struct {
		name string
		src  pipelines.SourceConfig
		want string
	}{
		{"a glob that matches nothing", csvSource(pipelines.StreamConfig{Name: "orders", Path: "in/order_*.csv", Columns: orderCols}),
			"billing.orders: no file matches path in/order_*.csv in " + base},
		{"a folder that is not there", pipelines.SourceConfig{Name: "web", Kind: "jsonl", Streams: []pipelines.StreamConfig{
			{Name: "events", Path: "events/*.jsonl", Columns: orderCols}}},
			"web.events: no file matches path events/*.jsonl in " + base},
		{"a SQLite file that is not there", pipelines.SourceConfig{Name: "crm", Kind: "sqlite", DSN: "data/crm.sqlite", Streams: []pipelines.StreamConfig{
			{Name: "customers", Table: "customers", Watermark: "updated_at"}}},
			"crm.customers: source crm: opening database: SQLite file " + filepath.Join(base, "data", "crm.sqlite") + " does not exist"},
		{"a table that is not there", pipelines.SourceConfig{Name: "crm", Kind: "sqlite", DSN: "crm.sqlite", Streams: []pipelines.StreamConfig{
			{Name: "tickets", Table: "tickets", Watermark: "updated_at"}}},
			"crm.tickets: table tickets of source crm does not exist (SQL logic error: no such table: tickets"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := laketest.New(t, base, c.src)
			res, err := l.Extract(t, false)
			require.ErrorIs(t, err, extract.ErrStreamsFailed)
			require.Contains(t, err.Error(), c.want)
			require.Equal(t, "failed", res.Streams[0].State)

			optional := c.src
			optional.Streams = append([]pipelines.StreamConfig(nil), c.src.Streams...)
			optional.Streams[0].Optional = true
			l = laketest.New(t, base, optional)
			res, err = l.Extract(t, false)
			require.NoError(t, err, "optional: true")
			r := res.Streams[0]
			require.Equal(t, "ok", r.State)
			require.Zero(t, r.Rows)
			require.Len(t, r.Reports, 1)
			require.Equal(t, "missing", r.Reports[0].Kind)
			require.Contains(t, r.Reports[0].Msg, c.want[len(r.Name())+2:])
			require.Contains(t, r.Reports[0].Msg, "(the stream is optional: nothing loaded)")
			m := l.Manifest(t, c.src.Name, c.src.Streams[0].Name)
			require.Len(t, m.Warnings, 1, "the warning is kept for state show and the build")
			require.Equal(t, "missing", m.Warnings[0].Kind)
		})
	}
}

func TestAFileThatChangesOrGrowsAfterLoadingFollowsOnFileChange(t *testing.T) {
	setup := func(t *testing.T, policy string) (*laketest.Lake, string) {
		base := t.TempDir()
		writeFile(t, filepath.Join(base, "in", "a.csv"), "order_id,amount\nA1,1.00\nA2,2.00\n")
		writeFile(t, filepath.Join(base, "in", "b.csv"), "order_id,amount\nB1,3.00\n")
		l := laketest.New(t, base, csvSource(pipelines.StreamConfig{Name: "orders", Path: "in/*.csv", Columns: orderCols, OnFileChange: policy}))
		require.Equal(t, int64(3), l.MustExtract(t).Rows)
		return l, base
	}
	grow := func(t *testing.T, base string) {
		f, err := os.OpenFile(filepath.Join(base, "in", "a.csv"), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString("A3,4.00\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		touch(t, filepath.Join(base, "in", "a.csv"))
	}
	change := func(t *testing.T, base string) {
		writeFile(t, filepath.Join(base, "in", "b.csv"), "order_id,amount\nB1,30.00\n")
		touch(t, filepath.Join(base, "in", "b.csv"))
	}

	t.Run("warn (default): reported, kept as a warning, nothing reloaded", func(t *testing.T) {
		l, base := setup(t, "")
		grow(t, base)
		change(t, base)
		writeFile(t, filepath.Join(base, "in", "c.csv"), "order_id,amount\nC1,5.00\n")
		r := l.MustExtract(t)
		require.Equal(t, int64(1), r.Rows, "only the new file c.csv")
		require.Len(t, r.Reports, 2)
		require.Equal(t, "grown_file", r.Reports[0].Kind)
		require.Contains(t, r.Reports[0].Msg, "in/a.csv grew from 32 to 40 bytes after it was loaded")
		require.Contains(t, r.Reports[0].Msg, "the rows added are not loaded")
		require.Equal(t, "changed_file", r.Reports[1].Kind)
		require.Contains(t, r.Reports[1].Msg, "in/b.csv changed after it was loaded")
		require.Contains(t, r.Reports[1].Msg, "on_file_change: warn")

		states, err := extract.States(l.Lake, l.Sources, nil)
		require.NoError(t, err)
		require.Len(t, states[0].Warnings, 2, "state show lists them")
		require.Len(t, l.MustExtract(t).Reports, 2, "they hold until the files are dealt with")
		require.Equal(t, [][]string{{"A1"}, {"A2"}, {"B1"}, {"C1"}}, l.Rows(t, "SELECT order_id FROM raw.billing_orders ORDER BY 1"))

		// A touched file whose bytes are the same is not a change.
		touch(t, filepath.Join(base, "in", "c.csv"))
		require.Len(t, l.MustExtract(t).Reports, 2)
	})

	t.Run("fail: the stream fails naming the files, and loads nothing", func(t *testing.T) {
		l, base := setup(t, pipelines.FileChangeFail)
		grow(t, base)
		writeFile(t, filepath.Join(base, "in", "c.csv"), "order_id,amount\nC1,5.00\n")
		res, err := l.Extract(t, false)
		require.ErrorIs(t, err, extract.ErrStreamsFailed)
		require.Contains(t, res.Streams[0].Error, "1 file(s) loaded before changed, and on_file_change is fail: in/a.csv grew from 32 to 40 bytes")
		require.Equal(t, int64(3), l.Manifest(t, "billing", "orders").Rows())
	})

	t.Run("reload: the stream is reloaded and its rows replaced", func(t *testing.T) {
		l, base := setup(t, pipelines.FileChangeReload)
		grow(t, base)
		change(t, base)
		r := l.MustExtract(t)
		require.True(t, r.Full)
		require.Equal(t, int64(4), r.Rows, "every file again, as they are now")
		require.Equal(t, "reloaded", r.Reports[0].Kind)
		require.Equal(t, [][]string{{"A1", "1.00"}, {"A2", "2.00"}, {"A3", "4.00"}, {"B1", "30.00"}},
			l.Rows(t, "SELECT order_id, amount FROM raw.billing_orders ORDER BY 1"))
		r = l.MustExtract(t)
		require.Zero(t, r.Rows)
		require.Empty(t, r.Reports)
		require.Empty(t, l.Manifest(t, "billing", "orders").Warnings, "a clean run clears the warnings")
	})
}
