package postgres_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
)

// TestPasswordsNeverReachLogsErrorsOrTheManifest runs extractions with the
// password in an environment variable, right and wrong, and looks for it in
// everything crmwh writes.
func TestPasswordsNeverReachLogsErrorsOrTheManifest(t *testing.T) {
	s := pgtest.Start(t)
	db, _ := s.NewDatabase(t)
	exec(t, s, db, customersDDL, `INSERT INTO customers VALUES ('C1', 'Ann', 'active', '2025-01-01 10:00:00Z')`)
	st := customersStream("")

	var logs bytes.Buffer
	check := func(t *testing.T, l *laketest.Lake, secret string, out ...string) {
		t.Helper()
		for _, o := range out {
			require.NotContains(t, o, secret)
		}
		require.NotContains(t, logs.String(), secret)
		require.NoError(t, filepath.WalkDir(l.Dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NotContains(t, string(b), secret, p)
			return nil
		}))
	}
	run := func(t *testing.T, dsn, env string) (*laketest.Lake, string, error) {
		t.Setenv("CRM_PG_PASSWORD", env)
		src := pipelines.SourceConfig{Name: "crm", Kind: "postgres", DSN: dsn, Streams: []pipelines.StreamConfig{st}}
		l := laketest.New(t, "", src)
		l.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		res, err := l.Extract(t, false)
		summary, _ := json.Marshal(res)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		return l, msg + string(summary), err
	}

	t.Run("right password from the environment, key=value DSN", func(t *testing.T) {
		l, out, err := run(t, s.DSNWithPassword(db, "${CRM_PG_PASSWORD}"), s.Password)
		require.NoError(t, err)
		require.Equal(t, int64(1), l.Manifest(t, "crm", "customers").Rows())
		check(t, l, s.Password, out)
	})
	t.Run("wrong password: the error says so without it", func(t *testing.T) {
		const wrong = "Wr0ngPassw0rd!"
		l, out, err := run(t, s.DSNWithPassword(db, "${CRM_PG_PASSWORD}"), wrong)
		require.Error(t, err)
		require.Contains(t, out, "password authentication failed")
		check(t, l, wrong, out)
	})
	t.Run("URL DSN that fails to parse", func(t *testing.T) {
		const pw = "S3cretInAURL"
		dsn := fmt.Sprintf("postgres://%s:${CRM_PG_PASSWORD}@localhost:notaport/%s", pgtest.User, db)
		l, out, err := run(t, dsn, pw)
		require.Error(t, err)
		check(t, l, pw, out)
	})
	t.Run("a value from the environment that the server quotes back is masked", func(t *testing.T) {
		// Every ${VAR} of a DSN is treated as a secret: here the server's
		// error would quote it.
		const secret = "no_such_db_S3cret"
		t.Setenv("CRM_PG_DB", secret)
		dsn := fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=${CRM_PG_DB} sslmode=disable", s.Dir, s.Port, pgtest.User, s.Password)
		src := pipelines.SourceConfig{Name: "crm", Kind: "postgres", DSN: dsn, Streams: []pipelines.StreamConfig{st}}
		l := laketest.New(t, "", src)
		l.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		res, err := l.Extract(t, false)
		require.Error(t, err)
		require.Contains(t, err.Error(), `database "***" does not exist`)
		summary, _ := json.Marshal(res)
		check(t, l, secret, err.Error(), string(summary))
	})
	t.Run("a missing variable is named, not guessed", func(t *testing.T) {
		src := pipelines.SourceConfig{Name: "crm", Kind: "postgres", DSN: s.DSNWithPassword(db, "${CRM_PG_NOT_SET}"), Streams: []pipelines.StreamConfig{st}}
		l := laketest.New(t, "", src)
		_, err := l.Extract(t, false)
		require.ErrorContains(t, err, "source crm: environment variable CRM_PG_NOT_SET is not set")
	})
}
