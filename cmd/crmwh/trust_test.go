package main_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the demo's CRM database

	"crmwh/warehouse/warehousetest"
)

// TestLakeFilesOutliveTheirReaders: extract, failing build, extract,
// failing build, and every model of the published warehouse and of its
// previous version still answers, although the extracts replaced the
// NULL-watermark snapshot of crm.interactions and reloaded billing.orders
// from scratch (extract --full). On the way: a failing data test shows its
// first ten rows, the failed build is kept for `crmwh sql --failed-build`,
// a build that cannot parse a model says where and does not report 0/0
// models, and a build killed by SIGKILL is recorded with the time it ran.
func TestLakeFilesOutliveTheirReaders(t *testing.T) {
	dir := demoProject(t)
	crm, err := sql.Open("sqlite", filepath.Join(dir, "data", "demo", "crm.sqlite"))
	require.NoError(t, err)
	_, err = crm.Exec("UPDATE interactions SET updated_at = NULL WHERE interaction_id IN (SELECT interaction_id FROM interactions ORDER BY interaction_id LIMIT 40)")
	require.NoError(t, err)
	require.NoError(t, crm.Close())
	refresh(t, dir)
	refresh(t, dir) // replaces the snapshot; the first one is .prev's

	// From here on every build fails a data test: net amounts are mostly
	// positive, so far more than ten rows fail.
	write := func(name, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "sql", "marts", name), []byte(text), 0o644))
	}
	write("mart_trust.sql", "select order_id, net_amount from fct_orders order by order_id\n")
	write("mart_trust.yml", "tests:\n  - assert: {expr: \"net_amount < 0\"}\n")

	mustRun(t, dir, "extract", "--full", "billing.orders")
	r := crmwh(t, dir, "build")
	require.Equal(t, 5, r.code, r.stderr)
	require.Regexp(t, `  test assert_mart_trust \(sql/marts/mart_trust.yml:2\): \d+ failing rows; the first 10:\n      order_id +net_amount\n      -+  -+\n`, r.stdout)
	require.Contains(t, r.stderr, "the failed build is kept for inspection: crmwh sql --failed-build")
	var sample []map[string]any
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "sql", "--failed-build", "--json",
		"SELECT sample FROM meta.test_results WHERE test = 'assert_mart_trust'")), &sample))
	var failing []json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(sample[0]["sample"].(string)), &failing))
	require.Len(t, failing, 10)
	require.True(t, strings.HasPrefix(string(failing[0]), `{"order_id":`), "columns in order: %s", failing[0])

	// A build killed by SIGKILL: the next run records it as interrupted,
	// with the time it ran, not the time until the next run came.
	cmd := exec.Command(bin, "build")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
	start := time.Now()
	require.NoError(t, cmd.Start())
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	killedAfter := time.Since(start)
	_ = cmd.Wait()
	time.Sleep(2 * time.Second)

	mustRun(t, dir, "extract") // finds the killed build's run, and its file
	var runs []struct {
		Command    string
		Status     string
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
	}
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "runs", "--json")), &runs))
	killed := runs[1]
	require.Equal(t, "build", killed.Command)
	require.Equal(t, "interrupted", killed.Status)
	ran := killed.FinishedAt.Sub(killed.StartedAt)
	require.LessOrEqual(t, ran, killedAfter, "recorded as running %s; killed %s after the process started", ran, killedAfter)
	require.Greater(t, ran, killedAfter-time.Second, "recorded as running %s; killed %s after the process started", ran, killedAfter)

	write("mart_parse.sql", "select\n  order_id,,\nfrom fct_orders\n")
	r = crmwh(t, dir, "build")
	require.Equal(t, 5, r.code, r.stderr)
	require.Contains(t, r.stderr, `sql/marts/mart_parse.sql:2: cannot parse: syntax error at or near ","`)
	require.Regexp(t, `build +failed +\S+ +stopped before building any model\n`, r.stdout)

	// Both warehouses answer every relation they hold, raw views included.
	for _, f := range []string{"crmwh.duckdb", "crmwh.duckdb.prev"} {
		db := warehousetest.Open(t, filepath.Join(dir, "data", f), true)
		rels := warehousetest.Rows(t, db, `SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal
			UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1, 2`)
		require.Greater(t, len(rels), 40, f)
		for _, rel := range rels {
			q := fmt.Sprintf(`SELECT count(*) FROM "%s"."%s"`, rel[0], rel[1])
			_, err := db.Exec(q)
			require.NoError(t, err, "%s: %s", f, q)
		}
		require.NotEqual(t, "0", warehousetest.Scalar(t, db, "SELECT count(*) FROM raw.crm_interactions WHERE updated_at IS NULL"), f)
		require.NoError(t, db.Close())
	}
}

// TestAReadOnlyLakeExits8NamingTheFolder: a lake folder crmwh cannot write
// is not "a source failed" (exit 4) but exit 8, naming the folder.
func TestAReadOnlyLakeExits8NamingTheFolder(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "in"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte("name: ro\nsources:\n  - name: files\n    kind: csv\n    streams:\n"+
		"      - name: a\n        path: in/a.csv\n        columns:\n          - {name: x, type: string}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in", "a.csv"), []byte("x\n1\n"), 0o644))
	mustRun(t, dir, "extract")
	lakeDir := filepath.Join(dir, "data", "lake")

	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// Permissions do not stop root: run crmwh as nobody, owning the
		// project but not allowed to write its lake.
		u, err := user.Lookup("nobody")
		require.NoError(t, err)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
		require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		}))
		for _, d := range []string{filepath.Dir(dir), filepath.Dir(bin)} {
			require.NoError(t, os.Chmod(d, 0o755))
		}
	}
	require.NoError(t, filepath.Walk(lakeDir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chmod(p, 0o555)
	}))
	t.Cleanup(func() { filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o755) }) })
	for _, verb := range []string{"extract", "refresh"} {
		cmd := exec.Command(bin, verb)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CRMWH_PROJECT=", "HOME="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%s", out)
		require.Equal(t, 8, ee.ExitCode(), "%s", out)
		require.Contains(t, string(out), "crmwh: extract: the lake folder is not writable: "+lakeDir+": ")
		require.Contains(t, string(out), "permission denied")
	}
}
