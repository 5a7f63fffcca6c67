package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
)

func TestSchemaDrift(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, `CREATE TABLE accounts (id int PRIMARY KEY, name text, tier int, balance numeric(10,2), seq int)`,
		`INSERT INTO accounts VALUES (1, 'a', 1, 10.50, 1), (2, 'b', 2, 20.00, 2)`)
	st := pipelines.StreamConfig{Name: "accounts", Table: "accounts", Watermark: "seq"}
	l := laketest.New(t, "", source(s, db, st))
	require.Equal(t, int64(2), l.MustExtract(t).Rows)

	t.Run("a new column appears; older rows read NULL", func(t *testing.T) {
		exec(t, s, db, `ALTER TABLE accounts ADD COLUMN email text`, `INSERT INTO accounts VALUES (3, 'c', 1, 30.00, 3, 'c@x.cn')`)
		require.Equal(t, int64(1), l.MustExtract(t).Rows)
		require.Equal(t, [][]string{{"1", "a", "NULL"}, {"2", "b", "NULL"}, {"3", "c", "c@x.cn"}},
			l.Rows(t, "SELECT id, name, email FROM raw.crm_accounts ORDER BY id"))
		m := l.Manifest(t, "crm", "accounts")
		require.Equal(t, []string{"id", "name", "tier", "balance", "seq", "email"}, names(m.Schema))
		require.Len(t, m.Schemas, 2)
	})

	t.Run("a dropped column fails the run, naming it, under fail", func(t *testing.T) {
		exec(t, s, db, `ALTER TABLE accounts DROP COLUMN name`, `INSERT INTO accounts VALUES (4, 2, 40.00, 4, 'd@x.cn')`)
		res, err := l.Extract(t, false)
		require.Error(t, err)
		require.Contains(t, res.Streams[0].Error, "table accounts: column name (string) is no longer in the source; the stream's on_schema_change is fail, so nothing was loaded")
		require.Contains(t, res.Streams[0].Error, "crmwh extract --full crm.accounts")
		require.Equal(t, int64(3), l.Int(t, "SELECT count(*) FROM raw.crm_accounts"))
	})

	t.Run("a retyped column fails the run, naming both types, under fail", func(t *testing.T) {
		exec(t, s, db, `ALTER TABLE accounts ALTER COLUMN tier TYPE text`, `UPDATE accounts SET tier = 'gold' WHERE id = 4`)
		res, err := l.Extract(t, false)
		require.Error(t, err)
		require.Contains(t, res.Streams[0].Error, "column name (string) is no longer in the source; column tier changed type from int64 to string")
	})

	t.Run("coerce keeps loading: dropped is NULL, retyped is widened", func(t *testing.T) {
		exec(t, s, db, `ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(14,3)`)
		coerce := st
		coerce.OnSchemaChange = pipelines.SchemaCoerce
		// Only the rows at the watermark are read again (lookback: 0).
		coerce.Lookback = pipelines.Lookback{Set: true}
		l.Sources = []pipelines.SourceConfig{source(s, db, coerce)}
		require.Equal(t, int64(2), l.MustExtract(t).Rows,
			"row 4, and row 3 again: read again at the watermark, its values now have other types, which makes it a new version")
		types := l.Rows(t, "SELECT column_name, column_type FROM (DESCRIBE raw.crm_accounts)")
		require.Equal(t, [][]string{{"id", "BIGINT"}, {"name", "VARCHAR"}, {"tier", "VARCHAR"}, {"balance", "DECIMAL(14,3)"},
			{"seq", "BIGINT"}, {"email", "VARCHAR"}}, types)
		require.Equal(t, [][]string{
			{"1", "a", "1", "10.500"}, {"2", "b", "2", "20.000"}, {"3", "c", "1", "30.000"}, {"3", "NULL", "1", "30.000"}, {"4", "NULL", "gold", "40.000"},
		}, l.Rows(t, "SELECT id, name, tier, balance FROM raw.crm_accounts ORDER BY id, name"))
	})

	t.Run("a full reload takes the source's schema as it is now", func(t *testing.T) {
		res, err := l.Extract(t, true)
		require.NoError(t, err)
		require.True(t, res.Streams[0].Full)
		require.Equal(t, int64(4), res.Streams[0].Rows)
		require.Equal(t, []string{"id", "tier", "balance", "seq", "email"}, names(l.Manifest(t, "crm", "accounts").Schema))
		require.Equal(t, int64(4), l.Int(t, "SELECT count(*) FROM raw.crm_accounts"), "the reload replaced the old rows")
	})
}

func names(s pipelines.Schema) []string {
	var out []string
	for _, c := range s {
		out = append(out, c.Name)
	}
	return out
}
