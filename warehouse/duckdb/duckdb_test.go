package duckdb_test

// Each test here pins a DuckDB behaviour that README.md says we work around.

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/warehousetest"
)

// TestHelperHoldWriter is not a test: run as a child process, it opens a
// database for writing and holds it until its stdin closes.
func TestHelperHoldWriter(t *testing.T) {
	path := os.Getenv("CRMWH_HOLD_WRITER")
	if path == "" {
		return
	}
	db, err := duckdb.Open(path, duckdb.Options{})
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x")
	require.NoError(t, err)
	os.Stdout.WriteString("ready\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	db.Close()
}

func TestAWriterLocksOtherProcessesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldWriter$")
	cmd.Env = append(os.Environ(), "CRMWH_HOLD_WRITER="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	// Not even a read-only open works while another process writes: this
	// is why a build writes a new file instead of the published one.
	_, err = duckdb.Open(path, duckdb.Options{ReadOnly: true})
	require.Error(t, err)
	require.Contains(t, err.Error(), "lock")

	stdin.Close()
	require.NoError(t, cmd.Wait())
	db, err := duckdb.Open(path, duckdb.Options{ReadOnly: true})
	require.NoError(t, err)
	db.Close()
}

func TestRenameOverAnOpenFileKeepsOldReaders(t *testing.T) {
	dir := t.TempDir()
	pub := filepath.Join(dir, "wh.duckdb")
	for i, v := range []string{"1", "2"} {
		name := filepath.Join(dir, "b"+v)
		db, err := duckdb.Open(name, duckdb.Options{})
		require.NoError(t, err)
		_, err = db.Exec("CREATE TABLE t AS SELECT " + v + " AS x")
		require.NoError(t, err)
		require.NoError(t, db.Close())
		if i == 0 {
			require.NoError(t, duckdb.Publish(name, pub, pub+".prev"))
		}
	}
	old := warehousetest.Open(t, pub, true)
	require.Equal(t, "1", warehousetest.Scalar(t, old, "SELECT x FROM t"))
	require.NoError(t, duckdb.Publish(filepath.Join(dir, "b2"), pub, pub+".prev"))
	require.Equal(t, "1", warehousetest.Scalar(t, old, "SELECT x FROM t"), "a reader keeps the file it opened")
	prev := warehousetest.Open(t, pub+".prev", true)
	require.Equal(t, "1", warehousetest.Scalar(t, prev, "SELECT x FROM t"))

	// Within one process, DuckDB hands a second open of the same path the
	// database instance that is already open (the old file) ...
	again := warehousetest.Open(t, pub, true)
	require.Equal(t, "1", warehousetest.Scalar(t, again, "SELECT x FROM t"))
	require.NoError(t, again.Close())
	require.NoError(t, old.Close())
	// ... and only once every handle is closed does an open see the new file.
	fresh := warehousetest.Open(t, pub, true)
	require.Equal(t, "2", warehousetest.Scalar(t, fresh, "SELECT x FROM t"))
}

func TestJSONScansAsGoValuesAndDecimalsKeepTheirScale(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	var v any
	require.NoError(t, db.QueryRowContext(context.Background(), `SELECT '{"a":[1,2]}'::JSON`).Scan(&v))
	require.IsType(t, map[string]any{}, v, "JSON comes back as a Go map, not text")
	require.Equal(t, `{"a":[1,2]}`, duckdb.FormatValue(v))
	require.NoError(t, db.QueryRow(`SELECT 12.50::DECIMAL(18,2)`).Scan(&v))
	require.Equal(t, "12.50", duckdb.FormatValue(v))
	require.NoError(t, db.QueryRow(`SELECT -0.05::DECIMAL(18,2)`).Scan(&v))
	require.Equal(t, "-0.05", duckdb.FormatValue(v))
}

// DuckDB's doubles may be NaN or infinite (0/0 in a share), which JSON has
// no number for: they are written as strings, so a result (or a data
// test's failing rows) with one still reads as JSON.
func TestNonFiniteDoublesWriteAsJSONStrings(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	var a, b, c, d, e any
	require.NoError(t, db.QueryRow(`SELECT 'nan'::DOUBLE, 'inf'::DOUBLE, '-inf'::DOUBLE, 'nan'::FLOAT, 0.5::DOUBLE`).Scan(&a, &b, &c, &d, &e))
	out, err := json.Marshal([]any{duckdb.JSONValue(a), duckdb.JSONValue(b), duckdb.JSONValue(c), duckdb.JSONValue(d), duckdb.JSONValue(e)})
	require.NoError(t, err)
	require.Equal(t, `["NaN","Infinity","-Infinity","NaN",0.5]`, string(out))
}

// Intervals read as DuckDB writes them, checked against DuckDB's own
// text of the same values.
func TestIntervalsReadAsDuckDBWritesThem(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	for _, expr := range []string{
		"TIMESTAMP '2026-12-06 16:24:52.923346' - TIMESTAMP '2026-02-03 00:00:00'",
		"INTERVAL 14 MONTH + INTERVAL 1 DAY",
		"INTERVAL 1 MONTH + INTERVAL 2 DAY + INTERVAL 3 SECOND",
		"INTERVAL 0 SECOND",
		"-INTERVAL 90 MINUTE",
	} {
		var v any
		var want string
		require.NoError(t, db.QueryRow("SELECT "+expr+", CAST("+expr+" AS VARCHAR)").Scan(&v, &want))
		require.Equal(t, want, duckdb.FormatValue(v), expr)
	}
}

func TestParametersAreRefusedInDDL(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	_, err := db.Exec("CREATE VIEW v AS SELECT ? AS x", 1)
	require.Error(t, err)
	require.Contains(t, err.Error(), "can't be prepared")
	_, err = db.Exec("CREATE VIEW v AS SELECT " + duckdb.QuoteString("it's") + " AS " + duckdb.QuoteIdent(`we"ird`))
	require.NoError(t, err)
	require.Equal(t, "it's", warehousetest.Scalar(t, db, `SELECT "we""ird" FROM v`))
}

func TestScanRowsGivesTheDriversValues(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	var got [][]any
	n, err := duckdb.ScanRows(context.Background(), conn, `SELECT i::INTEGER, i::BIGINT * 10, 'x' || i, CASE WHEN i = 2 THEN NULL ELSE i END::INTEGER FROM range(3) t(i) ORDER BY i`,
		func(row []driver.Value) error {
			got = append(got, []any{row[0], row[1], row[2], row[3]})
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	require.Equal(t, [][]any{{int32(0), int64(0), "x0", int32(0)}, {int32(1), int64(10), "x1", int32(1)}, {int32(2), int64(20), "x2", nil}}, got)
	_, err = duckdb.ScanRows(context.Background(), conn, `SELECT * FROM no_such_table`, func([]driver.Value) error { return nil })
	require.ErrorContains(t, err, "no_such_table")
}
