package extract_test

// PostgreSQL faults in the middle of an extraction: the backend killed by
// an administrator (pg_terminate_backend) and the server restarted. The
// run retries the stream with backoff from its last commit, and the lake
// ends with every row once.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines/extract"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
)

func TestPostgresFaultsMidStreamAreRetriedExactly(t *testing.T) {
	s := pgtest.Start(t)
	db := ordersDB(t, s)
	for _, c := range []struct {
		name  string
		fault func(t *testing.T)
	}{
		{"the backend is terminated", func(t *testing.T) {
			n, err := s.Terminate(context.Background(), "crmwh")
			require.NoError(t, err)
			require.Positive(t, n, "the extract's session was running")
		}},
		{"the server restarts", func(t *testing.T) {
			require.NoError(t, s.Restart(300*time.Millisecond))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := ordersSource(s, db)
			src.Kind = "postgres_slow" // so that the fault meets the stream in the middle
			l := laketest.New(t, "", src)
			type result struct {
				res extract.Result
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := l.Extract(t, false)
				done <- result{res, err}
			}()
			deadline := time.Now().Add(20 * time.Second)
			for len(l.Manifest(t, "shop", "orders").Parts) < 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			before := l.Manifest(t, "shop", "orders").Rows()
			require.Positive(t, before)
			require.Less(t, before, int64(ordersRows), "the fault came before the end")
			c.fault(t)
			r := <-done
			require.NoError(t, r.err)
			st := r.res.Streams[0]
			require.Equal(t, "ok", st.State)
			require.GreaterOrEqual(t, st.Counters["retries"], int64(1), "the stream was retried")
			require.Equal(t, int64(ordersRows), st.Rows, "the run's count is the rows committed, none twice")
			requireExact(t, l, ordersRows)
			// amount is (g mod 1000) / 4 for g = 1 … 30,000: 30 × 499,500 / 4.
			require.Equal(t, [][]string{{"3746250.00"}}, l.Rows(t, "SELECT sum(amount)::VARCHAR FROM raw.shop_orders"))
			require.Zero(t, l.MustExtract(t).Rows)
		})
	}
}

// A lasting fault (a wrong password) is not retried: the run fails at once.
func TestALastingFaultIsNotRetried(t *testing.T) {
	s := pgtest.Start(t)
	db := ordersDB(t, s)
	src := ordersSource(s, db)
	src.DSN = s.DSNWithPassword(db, "wrong")
	l := laketest.New(t, "", src)
	t0 := time.Now()
	res, err := l.Extract(t, false)
	require.ErrorIs(t, err, extract.ErrStreamsFailed)
	require.Contains(t, res.Streams[0].Error, "password authentication failed")
	require.Nil(t, res.Streams[0].Counters)
	require.Less(t, time.Since(t0), extract.DefaultRetry.Backoff, "no backoff was waited")
}
