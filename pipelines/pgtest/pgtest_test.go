package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crmwh/pipelines/pgtest"
)

func TestServerStartsAcceptsPasswordsOnlyAndStops(t *testing.T) {
	t0 := time.Now()
	s := pgtest.Start(t)
	t.Logf("started in %s", time.Since(t0))
	name, c := s.NewDatabase(t)
	var v string
	require.NoError(t, c.QueryRow(context.Background(), "SELECT current_database() || ' ' || current_setting('server_encoding')").Scan(&v))
	require.Equal(t, name+" UTF8", v)

	_, err := pgx.Connect(context.Background(), s.DSNWithPassword(name, "wrong"))
	require.ErrorContains(t, err, "password authentication failed")

	require.NoError(t, s.Stop())
	_, err = pgx.Connect(context.Background(), s.DSN(name))
	require.Error(t, err)
}
