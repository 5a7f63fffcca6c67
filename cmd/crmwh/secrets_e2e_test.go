package main_test

// Passwords full of URL and DSN syntax (@ / # : % ? & = quote backslash
// space) connect to a real PostgreSQL, and no piece of them reaches any
// output: stdout and stderr of every verb, the logs, the run history
// (runs.sqlite, crmwh runs, the daemon's /runs), state show, status, the
// lake's manifests and files, the state folder, and the failure webhook.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"crmwh/pipelines/pgtest"
)

// The passwords: every character that means something in a URL or a
// libpq key=value string, between letters that make each three-character
// piece unlikely to occur in any other output.
const (
	goodPassword  = `Pz@/Qx#:Kv%?Jw&=Yb '\Gm`
	wrongPassword = `Hq#@Vz/%Ck?:Fj=&Ud\' Ny`
)

// crmwhWith runs the binary in dir with extra environment variables.
func crmwhWith(t *testing.T, dir string, env []string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CRMWH_PROJECT="), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := runResult{o.String(), e.String(), 0}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

func TestPasswordsFullOfSyntaxConnectAndNeverLeak(t *testing.T) {
	s := pgtest.Start(t)
	ctx := context.Background()
	require.NoError(t, s.Exec(ctx, "postgres",
		"CREATE ROLE crm_reader LOGIN PASSWORD '"+strings.ReplaceAll(goodPassword, "'", "''")+"'",
		"CREATE DATABASE crm OWNER crm_reader"))
	require.NoError(t, s.Exec(ctx, "crm",
		"CREATE TABLE customers (customer_id text PRIMARY KEY, name text, updated_at timestamptz NOT NULL)",
		"INSERT INTO customers VALUES ('C1', 'Ann', '2025-01-01 10:00Z'), ('C2', 'Bo', '2025-01-01 11:00Z'), ('C3', 'Cai', '2025-01-02 09:00Z')",
		"ALTER TABLE customers OWNER TO crm_reader"))

	var hookMu sync.Mutex
	var hooks []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooks = append(hooks, string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()

	socket := url.QueryEscape(s.Dir)
	whole := url.URL{Scheme: "postgres", User: url.UserPassword("crm_reader", goodPassword), Path: "/crm",
		RawQuery: fmt.Sprintf("host=%s&port=%d&sslmode=disable", socket, s.Port)}
	dsns := map[string]string{
		"url":       fmt.Sprintf("postgres://crm_reader:${CRM_PW}@/crm?host=%s&port=%d&sslmode=disable", socket, s.Port),
		"keyvalue":  fmt.Sprintf("host=%s port=%d user=crm_reader password=${CRM_PW} dbname=crm sslmode=disable", s.Dir, s.Port),
		"whole":     "${CRM_DSN}",
		"wronghost": "postgres://crm_reader:${CRM_PW}@nosuchhost.invalid:5432/crm?sslmode=disable&connect_timeout=3",
		"wrongdb":   fmt.Sprintf("host=%s port=%d user=crm_reader password=${CRM_PW} dbname=nosuchdb sslmode=disable", s.Dir, s.Port),
	}
	env := []string{"CRM_DSN=" + whole.String(), "CRMWH_TEST_HOOK=" + hook.URL + "/hook", "CRMWH_TRIGGER_TOKEN=tok3n-Zr8Lw"}

	dir := t.TempDir()
	project := func(dsn string) {
		t.Helper()
		cfg := fmt.Sprintf("name: secrets\ntimezone: UTC\nsources:\n  - name: crm\n    kind: postgres\n    dsn: %q\n    streams:\n"+
			"      - {name: customers, table: customers, watermark: updated_at, primary_key: [customer_id]}\n", dsn)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte(cfg), 0o644))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "schedules"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schedules", "hourly.yaml"), []byte(
			"cron: \"@hourly\"\nsteps: [extract]\nnotify: {webhook_env: CRMWH_TEST_HOOK}\n"), 0o644))
	}
	var outputs []string
	run := func(pw string, args ...string) runResult {
		t.Helper()
		r := crmwhWith(t, dir, append(env, "CRM_PW="+pw), args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}

	for _, form := range []string{"url", "keyvalue", "whole"} {
		t.Run("the right password connects, DSN as "+form, func(t *testing.T) {
			project(dsns[form])
			r := run(goodPassword, "extract", "--full", "crm", "--json", "-v")
			require.Equal(t, 0, r.code, r.stderr)
			var sum struct{ Steps []struct{ Rows int64 } }
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &sum))
			require.Equal(t, int64(3), sum.Steps[0].Rows)
		})
	}
	for _, c := range []struct{ name, dsn, pw, want string }{
		{"a wrong password", "url", wrongPassword, "password authentication failed"},
		{"a wrong host", "wronghost", goodPassword, "nosuchhost.invalid"},
		{"a wrong database", "wrongdb", goodPassword, `database "nosuchdb" does not exist`},
	} {
		t.Run(c.name+" fails, saying so", func(t *testing.T) {
			project(dsns[c.dsn])
			r := run(c.pw, "extract", "-v")
			require.Equal(t, 4, r.code)
			require.Contains(t, r.stderr, c.want)
			r = run(c.pw, "refresh", "--schedule", "hourly", "--json", "-v")
			require.Equal(t, 4, r.code)
			want, _ := json.Marshal(c.want)
			require.Contains(t, r.stdout, strings.Trim(string(want), `"`))
		})
	}
	hookMu.Lock()
	require.Len(t, hooks, 3, "one failure notification per failed schedule run")
	for _, h := range hooks {
		require.Contains(t, h, `"event":"run_failed"`)
	}
	outputs = append(outputs, hooks...)
	hookMu.Unlock()

	project(dsns["url"])
	for _, args := range [][]string{{"runs"}, {"runs", "--json"}, {"state", "show"}, {"state", "show", "--json"}, {"status"}, {"status", "--json"}} {
		r := run(goodPassword, args...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
	}
	var listed []struct{ RunID string }
	require.NoError(t, json.Unmarshal([]byte(run(goodPassword, "runs", "--json").stdout), &listed))
	for _, l := range listed {
		run(goodPassword, "runs", l.RunID)
	}

	d := startDaemon(t, dir, append(env, "CRM_PW="+goodPassword))
	for _, path := range []string{"/runs?limit=100", "/metrics", "/healthz"} {
		resp, err := http.Get(d.url + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		outputs = append(outputs, string(b))
	}
	require.Equal(t, 0, d.stop(t, syscall.SIGTERM))
	outputs = append(outputs, d.stdout.String(), d.stderr.String())

	// The run history's text, as SQLite holds it.
	db, err := sql.Open("sqlite", filepath.Join(dir, "data", "state", "runs.sqlite"))
	require.NoError(t, err)
	rows, err := db.Query("SELECT run_id, schedule, command, status, steps, error, host FROM runs")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		var f [7]string
		require.NoError(t, rows.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]))
		outputs = append(outputs, strings.Join(f[:], "\n"))
		n++
	}
	require.NoError(t, rows.Err())
	require.NoError(t, db.Close())
	require.GreaterOrEqual(t, n, 9, "every run is recorded")

	// Every file crmwh wrote: the lake (manifests, parts), the state
	// folder. Text files are scanned for every three-character piece;
	// binary ones (Parquet, SQLite pages) for every five-character piece,
	// which random bytes do not make by chance.
	files := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "data"), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files++
		if bytes.IndexByte(b, 0) >= 0 {
			for _, pw := range []string{goodPassword, wrongPassword} {
				for _, piece := range pieces(pw, 5) {
					require.NotContains(t, string(b), piece, "%s holds a piece of a password", p)
				}
			}
			return nil
		}
		outputs = append(outputs, "file "+p+":\n"+string(b))
		return nil
	}))
	require.Greater(t, files, 5)

	for _, out := range outputs {
		for _, pw := range []string{goodPassword, wrongPassword} {
			forms := append(pieces(pw, 3), url.QueryEscape(pw), url.PathEscape(pw), strings.TrimPrefix(url.UserPassword("", pw).String(), ":"))
			b, _ := json.Marshal(pw)
			forms = append(forms, strings.Trim(string(b), `"`))
			for _, f := range forms {
				require.NotContains(t, out, f, "an output holds %q, a piece of a password:\n%s", f, out)
			}
		}
		require.NotContains(t, out, "tok3n-Zr8Lw", "the trigger token")
		require.NotContains(t, out, strings.TrimPrefix(hook.URL, "http://")+"/hook", "the webhook URL")
	}
}

// pieces are every n-character substring of s.
func pieces(s string, n int) []string {
	var out []string
	for i := 0; i+n <= len(s); i++ {
		out = append(out, s[i:i+n])
	}
	return out
}
