package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	_ "crmwh/pipelines/sources/sqlite"
)

// SQLite stores any value in any column: values that do not fit the
// declared type are quarantined with the row's key, and the watermark
// still moves past them.
func TestSQLiteValuesThatDoNotFitTheirDeclaredType(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "crm.sqlite"))
	require.NoError(t, err)
	for _, q := range []string{
		`CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT, balance NUMERIC(12,2), opened DATE, seen DATETIME, vip BOOLEAN)`,
		`INSERT INTO accounts VALUES (1, 'Ann', 10.5, '2025-01-02', '2025-01-02 10:00:00', 1)`,
		`INSERT INTO accounts VALUES (2, 'Bo', 'a lot', '2025-01-02', '2025-01-02 10:00:00', 0)`,
		`INSERT INTO accounts VALUES (3, 'Cai', 1.005, '2025-01-02', '2025-01-02 10:00:00', 0)`,
		`INSERT INTO accounts VALUES (4, 'Dee', 1, 'soon', '2025-01-02 10:00:00', 0)`,
		`INSERT INTO accounts VALUES (5, CAST(x'ff' AS TEXT), 1, '2025-01-02', '2025-01-02 10:00:00', 0)`,
		`INSERT INTO accounts VALUES (6, '张伟', 99.99, NULL, '2025-01-03T10:00:00+08:00', NULL)`,
	} {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
	require.NoError(t, db.Close())
	st := pipelines.StreamConfig{Name: "accounts", Table: "accounts", Watermark: "id", PrimaryKey: []string{"id"}, MaxBadRatio: ptr(1.0)}
	l := laketest.New(t, dir, pipelines.SourceConfig{Name: "crm", Kind: "sqlite", DSN: "crm.sqlite", Streams: []pipelines.StreamConfig{st}})
	r := l.MustExtract(t)
	require.Equal(t, int64(2), r.Rows)
	require.Equal(t, int64(4), r.Quarantine)
	require.Equal(t, [][]string{
		{"1", "Ann", "10.50", "2025-01-02", "2025-01-02 10:00:00", "true"},
		{"6", "张伟", "99.99", "NULL", "2025-01-03 02:00:00", "NULL"},
	}, l.Rows(t, `SELECT id, name, balance, opened::VARCHAR, strftime(seen, '%Y-%m-%d %H:%M:%S'), vip FROM raw.crm_accounts ORDER BY id`))
	require.Equal(t, [][]string{
		{"2", `column balance: "a lot" is not a decimal number`},
		{"3", `column balance: "1.005" has more than 2 decimal places`},
		{"4", `column opened: value "soon" does not fit type date`},
		{"5", "column name: text is not valid UTF-8"},
	}, l.Rows(t, "SELECT row_key, reason FROM raw.crm_accounts__quarantine ORDER BY row_key"))
	require.Equal(t, "6", l.Manifest(t, "crm", "accounts").Watermark.Value)
	r = l.MustExtract(t)
	require.Zero(t, r.Rows+r.Quarantine)
}

func ptr[T any](v T) *T { return &v }
