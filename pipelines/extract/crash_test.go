package extract_test

// Crash safety: an extraction that fails part-way (an injected error after
// N rows) or whose process is killed with SIGKILL at several points, then
// run again, leaves exactly the rows of an uninterrupted run: none lost,
// none twice.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/extract"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
	_ "crmwh/pipelines/sources/csvfile"
	_ "crmwh/pipelines/sources/postgres"
)

// childEnv names the file of a child's run; see TestMain.
const childEnv = "CRMWH_EXTRACT_CHILD"

// childRun is what a child process extracts.
type childRun struct {
	Lake    string                   `json:"lake"`
	Base    string                   `json:"base"`
	Sources []pipelines.SourceConfig `json:"sources"`
	RunID   string                   `json:"run_id"`
	Full    bool                     `json:"full"`
}

// TestMain lets the test binary act as an extracting process that the
// tests kill: with CRMWH_EXTRACT_CHILD set it runs that extraction and
// exits.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var c childRun
	if err := json.Unmarshal(b, &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	l, err := lake.Open(c.Lake)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if os.Getenv("CRMWH_TEST_SLOW_WRITES") != "" {
		for i := range c.Sources {
			c.Sources[i].Kind = "postgres_slow"
		}
	}
	_, err = extract.Run(context.Background(), extract.Options{Lake: l, Sources: c.Sources, Env: pipelines.Env{BaseDir: c.Base},
		RunID: c.RunID, Parallelism: 2, Full: c.Full, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child starts the test binary as an extracting process.
func child(t *testing.T, l *laketest.Lake, runID string, full bool, failpoint string) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(childRun{Lake: l.Dir, Base: l.Env.BaseDir, Sources: l.Sources, RunID: runID, Full: full})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "run.json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path, "CRMWH_FAILPOINT="+failpoint)
	cmd.Stderr = os.Stderr
	return cmd
}

// killed runs a child that must die by SIGKILL.
func killed(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "the child was expected to be killed, got %v", err)
	ws := ee.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child ended with %v", ee)
}

const ordersRows = 30_000

// ordersDB makes a table of 30,000 orders, ten per updated_at value, so
// that commits (every 4,000 rows, at a change of value) fall between ties.
func ordersDB(t *testing.T, s *pgtest.Server) string {
	db, _ := s.NewDatabase(t)
	require.NoError(t, s.Exec(context.Background(), db,
		`CREATE TABLE orders (order_id bigint PRIMARY KEY, customer_id text, amount numeric(12,2), status text, updated_at timestamptz NOT NULL)`,
		fmt.Sprintf(`INSERT INTO orders SELECT g, 'C' || (g %% 997), (g %% 1000) / 4.0, 'paid', '2025-01-01'::timestamptz + (g / 10) * interval '1 second'
			FROM generate_series(1, %d) g`, ordersRows)))
	return db
}

func ordersSource(s *pgtest.Server, db string) pipelines.SourceConfig {
	return pipelines.SourceConfig{Name: "shop", Kind: "postgres", DSN: s.DSN(db), Streams: []pipelines.StreamConfig{{
		Name: "orders", Table: "orders", Watermark: "updated_at", Lookback: pipelines.Lookback{Duration: time.Minute},
		PrimaryKey: []string{"order_id"}, CommitRows: 4000,
	}}}
}

// requireExact checks that the lake holds each order exactly once, with
// the manifest's counts agreeing, and no stray files.
func requireExact(t *testing.T, l *laketest.Lake, rows int64) {
	t.Helper()
	require.Equal(t, [][]string{{fmt.Sprint(rows), fmt.Sprint(rows)}},
		l.Rows(t, "SELECT count(*), count(DISTINCT order_id) FROM raw.shop_orders"))
	m := l.Manifest(t, "shop", "orders")
	require.Equal(t, rows, m.Rows())
	require.Nil(t, m.Reload)
	listed := map[string]bool{}
	// Retired parts stay until the next run (see lake.StreamManifest).
	for _, p := range append(append(m.LiveParts(), m.LiveQuarantine()...), m.Retired...) {
		listed[p.Path] = true
	}
	require.NoError(t, filepath.WalkDir(filepath.Join(l.Dir, "raw"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(l.Dir, p)
		require.True(t, listed[filepath.ToSlash(rel)], "stray file %s", rel)
		return nil
	}))
}

// failingSource wraps the postgres kind and fails after N rows.
type failingSource struct {
	pipelines.Source
	after int64
}

func (f *failingSource) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) error {
	return f.Source.Extract(ctx, st, state, &failingSink{Sink: sink, left: f.after})
}

type failingSink struct {
	pipelines.Sink
	left int64
}

func (s *failingSink) Begin(schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	u, err := s.Sink.Begin(schema, origin)
	return &failingUnit{Unit: u, s: s}, err
}

type failingUnit struct {
	pipelines.Unit
	s *failingSink
}

var errInjected = errors.New("injected failure")

func (u *failingUnit) WriteBatch(b *pipelines.Batch) error {
	if u.s.left -= int64(b.Len()); u.s.left < 0 {
		return errInjected
	}
	return u.Unit.WriteBatch(b)
}

// failAfter is how many rows the postgres_failing kind lets through.
var failAfter int64

func init() {
	pg, err := pipelines.Lookup("postgres")
	if err != nil {
		panic(err)
	}
	pipelines.Register("postgres_failing", pipelines.Kind{
		New: func(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
			cfg.Kind = "postgres"
			src, err := pg.New(cfg, env)
			return &failingSource{Source: src, after: failAfter}, err
		},
	})
}

// slowUnit sleeps before each write, so that a test can catch a run in
// the middle.
type slowUnit struct{ pipelines.Unit }

func (u slowUnit) WriteBatch(b *pipelines.Batch) error {
	time.Sleep(20 * time.Millisecond)
	return u.Unit.WriteBatch(b)
}

type slowSink struct{ pipelines.Sink }

func (s slowSink) Begin(schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	u, err := s.Sink.Begin(schema, origin)
	return slowUnit{u}, err
}

type slowSource struct{ pipelines.Source }

func (s slowSource) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) error {
	return s.Source.Extract(ctx, st, state, slowSink{sink})
}

// Retryable passes on the postgres source's pipelines.Retrier.
func (s slowSource) Retryable(err error) bool { return s.Source.(pipelines.Retrier).Retryable(err) }

func init() {
	pg, _ := pipelines.Lookup("postgres")
	pipelines.Register("postgres_slow", pipelines.Kind{
		New: func(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
			cfg.Kind = "postgres"
			src, err := pg.New(cfg, env)
			return slowSource{src}, err
		},
	})
}

func TestAnInjectedFailureAfterNRowsIsRecoveredExactly(t *testing.T) {
	s := pgtest.Start(t)
	db := ordersDB(t, s)
	for _, after := range []int64{1, 9000, 17000, ordersRows - 1} {
		t.Run(fmt.Sprintf("after %d rows", after), func(t *testing.T) {
			src := ordersSource(s, db)
			failing := src
			failing.Kind = "postgres_failing"
			failAfter = after
			l := laketest.New(t, "", failing)
			res, err := l.Extract(t, false)
			require.ErrorIs(t, err, extract.ErrStreamsFailed)
			require.Contains(t, res.Streams[0].Error, "injected failure")
			committed := l.Manifest(t, "shop", "orders").Rows()
			require.LessOrEqual(t, committed, after, "nothing past the failure is committed")
			if after > 2*8192 {
				require.Positive(t, committed, "the units before the failure stay committed")
			}
			require.Equal(t, "failed", l.Manifest(t, "shop", "orders").LastRun.Status)

			l.Sources = []pipelines.SourceConfig{src}
			r := l.MustExtract(t)
			require.Equal(t, ordersRows-committed, r.Rows)
			requireExact(t, l, ordersRows)
			require.Zero(t, l.MustExtract(t).Rows)
		})
	}
}

func TestAKilledProcessIsRecoveredExactly(t *testing.T) {
	s := pgtest.Start(t)
	db := ordersDB(t, s)
	for _, point := range []string{
		"lake.write:2",           // while writing the first unit's part
		"lake.before-rename:2",   // the second unit's files complete, not renamed
		"lake.before-manifest:1", // the first unit's files renamed, not recorded
		"lake.before-manifest:3", // two units committed, the third renamed
		"lake.after-manifest:4",  // right after the fourth commit
	} {
		t.Run(point, func(t *testing.T) {
			l := laketest.New(t, "", ordersSource(s, db))
			killed(t, child(t, l, "crashed", false, point))
			requireRecovered(t, l)
		})
	}

	t.Run("from outside, while it writes", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			ready func(l *laketest.Lake) bool
		}{
			{"a part file half written", func(l *laketest.Lake) bool { return tmpFiles(l) > 0 }},
			{"two units committed", func(l *laketest.Lake) bool { return len(l.Manifest(t, "shop", "orders").Parts) >= 2 }},
			{"five units committed", func(l *laketest.Lake) bool { return len(l.Manifest(t, "shop", "orders").Parts) >= 5 }},
		} {
			t.Run(c.name, func(t *testing.T) {
				l := laketest.New(t, "", ordersSource(s, db))
				// Slow the child down a little so the moment can be caught.
				cmd := child(t, l, "crashed", false, "")
				cmd.Env = append(cmd.Env, "CRMWH_TEST_SLOW_WRITES=1")
				require.NoError(t, cmd.Start())
				deadline := time.Now().Add(20 * time.Second)
				for !c.ready(l) && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				err := cmd.Wait()
				var ee *exec.ExitError
				require.True(t, errors.As(err, &ee), "the child finished before it was killed")
				requireRecovered(t, l)
			})
		}
	})

	t.Run("during a full reload, which the next plain run carries on", func(t *testing.T) {
		l := laketest.New(t, "", ordersSource(s, db))
		l.MustExtract(t)
		killed(t, child(t, l, "reload", true, "lake.after-manifest:2"))
		m := l.Manifest(t, "shop", "orders")
		require.NotNil(t, m.Reload, "the reload is under way")
		require.Equal(t, int64(ordersRows), m.Rows(), "the live rows are still all there")
		r := l.MustExtract(t)
		require.True(t, r.Full)
		requireExact(t, l, ordersRows)
		retired := l.Manifest(t, "shop", "orders").Retired
		require.NotEmpty(t, retired, "the first load's parts")
		require.Zero(t, l.MustExtract(t).Rows)
		for _, p := range retired {
			require.NoFileExists(t, filepath.Join(l.Dir, p.Path))
		}
		requireExact(t, l, ordersRows)
	})
}

// tmpFiles counts the lake's temporary files.
func tmpFiles(l *laketest.Lake) int {
	n := 0
	filepath.WalkDir(filepath.Join(l.Dir, "raw"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".tmp" {
			n++
		}
		return nil
	})
	return n
}

// requireRecovered runs the extraction again and checks the result.
func requireRecovered(t *testing.T, l *laketest.Lake) {
	t.Helper()
	before := l.Manifest(t, "shop", "orders").Rows()
	res, err := l.Extract(t, false)
	require.NoError(t, err)
	require.Equal(t, int64(ordersRows)-before, res.Streams[0].Rows)
	requireExact(t, l, ordersRows)
}

func TestAKilledCSVLoadLoadsEveryFileOnce(t *testing.T) {
	base := t.TempDir()
	for f := 0; f < 40; f++ {
		var b strings.Builder
		b.WriteString("order_id,amount\n")
		for i := 0; i < 250; i++ {
			fmt.Fprintf(&b, "F%02d-%03d,%d.%02d\n", f, i, i, f)
		}
		require.NoError(t, os.MkdirAll(filepath.Join(base, "in"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(base, "in", fmt.Sprintf("orders_%02d.csv", f)), []byte(b.String()), 0o644))
	}
	src := pipelines.SourceConfig{Name: "billing", Kind: "csv", Streams: []pipelines.StreamConfig{{
		Name: "orders", Path: "in/*.csv", CommitRows: 1000,
		Columns: []pipelines.ColumnConfig{{Name: "order_id", Type: "string"}, {Name: "amount", Type: "decimal(12,2)"}},
	}}}
	for _, point := range []string{"lake.before-rename:2", "lake.before-manifest:3", "lake.after-manifest:5"} {
		t.Run(point, func(t *testing.T) {
			l := laketest.New(t, base, src)
			killed(t, child(t, l, "crashed", false, point))
			before := l.Manifest(t, "billing", "orders")
			require.Equal(t, int64(len(before.Files))*250, before.Rows(), "files and rows are committed together")
			res, err := l.Extract(t, false)
			require.NoError(t, err)
			require.Equal(t, 10000-before.Rows(), res.Streams[0].Rows)
			require.Equal(t, [][]string{{"10000", "10000"}}, l.Rows(t, "SELECT count(*), count(DISTINCT order_id) FROM raw.billing_orders"))
			require.Len(t, l.Manifest(t, "billing", "orders").Files, 40)
		})
	}
}
