package duckdb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/warehousetest"
)

var ctx = context.Background()

// sandboxed makes a warehouse file with a table, a lake folder with a
// Parquet file and a file outside both, and opens the warehouse in the
// sandbox with the lake allowed.
type sandboxed struct {
	dir, wh, lakeDir, lakePart, outside string
}

func newSandboxed(t *testing.T) sandboxed {
	t.Helper()
	s := sandboxed{dir: t.TempDir()}
	s.wh = filepath.Join(s.dir, "wh.duckdb")
	s.lakeDir = filepath.Join(s.dir, "lake")
	s.lakePart = filepath.Join(s.lakeDir, "part.parquet")
	s.outside = filepath.Join(s.dir, "secret.csv")
	require.NoError(t, os.MkdirAll(s.lakeDir, 0o755))
	require.NoError(t, os.WriteFile(s.outside, []byte("a,b\n1,2\n"), 0o644))
	db, err := duckdb.Open(s.wh, duckdb.Options{})
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE t AS SELECT range AS x FROM range(5)")
	require.NoError(t, err)
	_, err = db.Exec("COPY (SELECT 7 AS y) TO " + duckdb.QuoteString(s.lakePart) + " (FORMAT parquet)")
	require.NoError(t, err)
	_, err = db.Exec("CREATE VIEW v AS SELECT * FROM read_parquet(" + duckdb.QuoteString(s.lakePart) + ")")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return s
}

// TestSandboxSettings pins the DuckDB 1.4 settings the sandbox relies on,
// read back from duckdb_settings().
func TestSandboxSettings(t *testing.T) {
	s := newSandboxed(t)
	db, err := duckdb.OpenSandbox(s.wh, duckdb.Sandbox{Dirs: []string{s.lakeDir}, Files: []string{s.outside}}, duckdb.Options{})
	require.NoError(t, err)
	defer db.Close()
	got := map[string]string{}
	for _, r := range warehousetest.Rows(t, db, `SELECT name, CAST(value AS VARCHAR) FROM duckdb_settings() WHERE name IN
		('enable_external_access', 'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions',
		 'allow_community_extensions', 'allow_unsigned_extensions', 'allow_persistent_secrets', 'allowed_directories',
		 'allowed_paths', 'access_mode')`) {
		got[r[0]] = r[1]
	}
	require.Equal(t, "false", got["enable_external_access"])
	require.Equal(t, "true", got["lock_configuration"])
	require.Equal(t, "false", got["autoload_known_extensions"])
	require.Equal(t, "false", got["autoinstall_known_extensions"])
	require.Equal(t, "false", got["allow_community_extensions"])
	require.Equal(t, "false", got["allow_unsigned_extensions"])
	require.Equal(t, "false", got["allow_persistent_secrets"])
	require.Equal(t, "read_only", got["access_mode"])
	require.Contains(t, got["allowed_directories"], s.lakeDir+"/")
	// DuckDB adds the database file and its write-ahead log to the allowed
	// files by itself: a COPY with USE_TMP_FILE false overwrites even a
	// read-only database (TestSandboxSettingsRefuseOnTheirOwn), which is one
	// more reason CheckQuery refuses every COPY.
	require.Contains(t, got["allowed_paths"], s.outside)
	require.Contains(t, got["allowed_paths"], s.wh)

	// What the sandbox allows: the database, the lake, the allowed file.
	require.Equal(t, "5", warehousetest.Scalar(t, db, "SELECT count(*) FROM t"))
	require.Equal(t, "7", warehousetest.Scalar(t, db, "SELECT y FROM v"))
	require.Equal(t, "1", warehousetest.Scalar(t, db, "SELECT count(*) FROM read_csv(?)", s.outside))
}

// TestSandboxSettingsRefuseOnTheirOwn runs each attack straight at the
// locked-down database, without crmwh's statement check: DuckDB's settings
// alone refuse every read outside the allowed folders, every write outside
// them, every extension and every change of a setting. Writing inside an
// allowed folder is the one thing they do not stop (last case): that is
// what CheckQuery is for.
func TestSandboxSettingsRefuseOnTheirOwn(t *testing.T) {
	s := newSandboxed(t)
	db, err := duckdb.OpenSandbox(s.wh, duckdb.Sandbox{Dirs: []string{s.lakeDir}}, duckdb.Options{})
	require.NoError(t, err)
	defer db.Close()
	prev := s.wh + ".prev"
	require.NoError(t, os.Link(s.wh, prev))
	before, err := os.ReadFile(s.wh)
	require.NoError(t, err)
	for _, c := range []struct{ sql, want string }{
		{"SELECT * FROM read_csv('/etc/passwd')", "Permission Error"},
		{"SELECT * FROM read_csv(" + duckdb.QuoteString(s.outside) + ")", "Permission Error"},
		{"SELECT * FROM read_text(" + duckdb.QuoteString(s.outside) + ")", "Permission Error"},
		{"SELECT * FROM read_blob('/etc/hostname')", "Permission Error"},
		{"SELECT * FROM glob('/etc/*')", "Permission Error"},
		{"SELECT * FROM sniff_csv('/etc/passwd')", "Permission Error"},
		{"SELECT * FROM read_text(" + duckdb.QuoteString(s.lakeDir+"/../secret.csv") + ")", "Permission Error"},
		{"SELECT * FROM " + duckdb.QuoteString(s.outside), "Permission Error"},
		{"COPY (SELECT 42) TO " + duckdb.QuoteString(s.wh), "Permission Error"},
		{"COPY (SELECT 42) TO " + duckdb.QuoteString(filepath.Join(s.dir, "out.csv")), "Permission Error"},
		{"EXPORT DATABASE " + duckdb.QuoteString(filepath.Join(s.dir, "export")), "Permission Error"},
		{"ATTACH " + duckdb.QuoteString(prev) + " AS p (READ_WRITE)", "Permission Error"},
		{"ATTACH " + duckdb.QuoteString(prev) + " AS p (READ_ONLY)", "Permission Error"},
		{"INSTALL httpfs", "Permission Error"},
		{"LOAD httpfs", "disabled"},
		{"SET threads = 1", "configuration has been locked"},
		{"SET enable_external_access = true", "configuration has been locked"},
		{"RESET allowed_directories", "configuration has been locked"},
		{"SET GLOBAL lock_configuration = false", "configuration has been locked"},
		{"PRAGMA threads = 1", "configuration has been locked"},
		{"CREATE TABLE u AS SELECT 1", "read-only"},
		{"INSERT INTO t VALUES (9)", "read-only"},
		{"SELECT * FROM query('COPY (SELECT 1) TO ''x.csv''')", "SELECT"},
	} {
		_, err := db.ExecContext(ctx, c.sql)
		require.Error(t, err, c.sql)
		require.Contains(t, err.Error(), c.want, c.sql)
	}
	after, err := os.ReadFile(s.wh)
	require.NoError(t, err)
	require.Equal(t, before, after, "the warehouse file did not change")
	require.NoDirExists(t, filepath.Join(s.dir, "export"))
	require.NoFileExists(t, filepath.Join(s.dir, "out.csv"))

	// The holes CheckQuery closes: an allowed folder is writable too, and so
	// is the database file itself, read-only or not, when COPY writes it in
	// place.
	_, err = db.ExecContext(ctx, "COPY (SELECT 42) TO "+duckdb.QuoteString(filepath.Join(s.lakeDir, "x.csv")))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(s.lakeDir, "x.csv"))
	_, err = db.ExecContext(ctx, "COPY (SELECT 42) TO "+duckdb.QuoteString(s.wh)+" (USE_TMP_FILE false)")
	require.NoError(t, err)
	after, err = os.ReadFile(s.wh)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(after), "42\n"), "DuckDB let a read-only database overwrite its own file: %q", after)
}

func TestLockdownTwiceInOneProcess(t *testing.T) {
	s := newSandboxed(t)
	a, err := duckdb.OpenSandbox(s.wh, duckdb.Sandbox{Dirs: []string{s.lakeDir}}, duckdb.Options{})
	require.NoError(t, err)
	defer a.Close()
	// DuckDB hands the same database to a second open of the same file.
	b, err := duckdb.OpenSandbox(s.wh, duckdb.Sandbox{Dirs: []string{s.lakeDir}}, duckdb.Options{})
	require.NoError(t, err)
	b.Close()
	_, err = duckdb.OpenSandbox(s.wh, duckdb.Sandbox{Dirs: []string{s.dir}}, duckdb.Options{})
	require.ErrorContains(t, err, "already locked down without access to "+s.dir)
}

func TestCheckQuery(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	_, err := db.Exec("CREATE TABLE t (a INTEGER, b VARCHAR)")
	require.NoError(t, err)
	for _, q := range []string{
		"SELECT 1",
		"select a, b from t where a > 1;",
		"-- a comment\nWITH x AS (SELECT 1 AS a) SELECT * FROM x",
		"FROM t",
		"VALUES (1), (2)",
		"SHOW TABLES",
		"DESCRIBE t",
		"SUMMARIZE t",
		"EXPLAIN SELECT * FROM t",
		"EXPLAIN ANALYZE SELECT * FROM t",
		"SELECT 1 UNION ALL SELECT 2",
		"SELECT * FROM query('SELECT 1')",
	} {
		require.NoError(t, duckdb.CheckQuery(ctx, db, q), q)
	}
	for _, c := range []struct{ q, want string }{
		{"COPY (SELECT 42) TO 'data/crmwh.duckdb'", "COPY is not a query"},
		{"EXPORT DATABASE '/tmp/x'", "EXPORT is not a query"},
		{"ATTACH 'data/crmwh.duckdb.prev' AS p (READ_WRITE)", "ATTACH is not a query"},
		{"DETACH p", "DETACH is not a query"},
		{"INSTALL httpfs", "INSTALL is not a query"},
		{"LOAD httpfs", "LOAD is not a query"},
		{"SET threads = 1", "SET is not a query"},
		{"RESET threads", "RESET is not a query"},
		{"PRAGMA version", "PRAGMA is not a query"},
		{"CALL pragma_version()", "CALL is not a query"},
		{"CREATE TABLE x AS SELECT 1", "CREATE is not a query"},
		{"INSERT INTO t VALUES (1, 'a')", "INSERT is not a query"},
		{"UPDATE t SET a = 1", "UPDATE is not a query"},
		{"DELETE FROM t", "DELETE is not a query"},
		{"DROP TABLE t", "DROP is not a query"},
		{"USE memory", "USE is not a query"},
		{"CHECKPOINT", "CHECKPOINT is not a query"},
		{"/* hi */ COPY t TO '/tmp/t.csv'", "COPY is not a query"},
		{"EXPLAIN COPY t TO '/tmp/t.csv'", "COPY is not a query"},
		{"SELECT 1; SELECT 2", "2 statements"},
		{"SELECT 1; COPY (SELECT 42) TO '/tmp/x.csv'", "COPY is not a query"},
		{"SELECT 1; DROP TABLE t", "DROP is not a query"},
		{"", "empty"},
		{"-- only a comment", "empty"},
	} {
		err := duckdb.CheckQuery(ctx, db, c.q)
		require.ErrorIs(t, err, duckdb.ErrNotAllowed, c.q)
		require.ErrorContains(t, err, c.want, c.q)
	}
	// A syntax error gives DuckDB's message and where it is.
	err = duckdb.CheckQuery(ctx, db, "SELECT a,\n  b,\n  ,, c\nFROM t")
	require.EqualError(t, err, `syntax error at or near "," (line 3, column 3)`)
	require.NotErrorIs(t, err, duckdb.ErrNotAllowed)
	require.Equal(t, "5", warehousetest.Scalar(t, db, "SELECT 5 WHERE (SELECT count(*) FROM duckdb_tables() WHERE table_name = 't') = 1"), "nothing ran")
}

func TestCheckExpression(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	for _, e := range []string{
		"status = 'paid'",
		"a > 1 AND b < 2",
		"customer_id IN (SELECT customer_id FROM t)",
		"coalesce(x, 0) > 0 -- a comment",
		"(a) OR (b)",
	} {
		require.NoError(t, duckdb.CheckExpression(ctx, db, e), e)
	}
	for _, e := range []string{
		"1=1) UNION (SELECT 1",
		"1) FROM t WHERE (1",
		"1) , (2",
		"1) LIMIT (1",
		"1) GROUP BY (1",
		"1); COPY (SELECT 1) TO '/tmp/x.csv'; SELECT (1",
		"1=1; DROP TABLE t",
	} {
		err := duckdb.CheckExpression(ctx, db, e)
		require.Error(t, err, e)
		if !strings.Contains(err.Error(), "syntax error") {
			require.ErrorIs(t, err, duckdb.ErrNotAllowed, e)
		}
	}
	require.EqualError(t, duckdb.CheckExpression(ctx, db, "status = = 'paid'"), `syntax error at or near "=" (line 1, column 10)`)
}

// TestTheDriverRunsEveryStatementButTheLast pins why CheckQuery counts
// statements before anything is prepared: the driver runs all but the last
// statement of a query while preparing it.
func TestTheDriverRunsEveryStatementButTheLast(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	rows, err := db.Query("CREATE TABLE ran AS SELECT 1 AS x; SELECT 2")
	require.NoError(t, err)
	rows.Close()
	require.Equal(t, "1", warehousetest.Scalar(t, db, "SELECT x FROM ran"))
}
