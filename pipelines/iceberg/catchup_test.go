package iceberg_test

// The catalog follows the lake: a process killed between the lake's
// commit and the catalog's is caught up by the next extract, one snapshot
// per lake commit all the same; a lake written before parts carried
// field ids is published through the name mapping; and the PostgreSQL
// catalog works against a real server.

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
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/extract"
	"crmwh/pipelines/iceberg"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/pgtest"
	"crmwh/warehouse/warehousetest"
)

// childEnv names the file of a child's run; see TestMain.
const childEnv = "CRMWH_ICEBERG_CHILD"

type childRun struct {
	Lake    string                   `json:"lake"`
	Base    string                   `json:"base"`
	Sources []pipelines.SourceConfig `json:"sources"`
	RunID   string                   `json:"run_id"`
}

// TestMain lets the test binary act as an extract that publishes in the
// lake's SQLite catalog, for the tests to kill at a failpoint.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	var c childRun
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	var l *lake.Lake
	if err == nil {
		l, err = lake.Open(c.Lake)
	}
	var cat *iceberg.Catalog
	if err == nil {
		cat, err = iceberg.Open(context.Background(), iceberg.Config{Catalog: iceberg.CatalogSQLite}, l, pipelines.Env{BaseDir: c.Base})
	}
	if err == nil {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		cat.Logger = log
		_, err = extract.Run(context.Background(), extract.Options{Lake: l, Sources: c.Sources, Env: pipelines.Env{BaseDir: c.Base},
			RunID: c.RunID, Parallelism: 2, Catalog: cat, Logger: log,
			Readers: func() (map[string]bool, error) { return cat.Files(context.Background()) }})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// killedAt runs an extract in a child process that must die by SIGKILL at
// the failpoint.
func (f *fixture) killedAt(t *testing.T, failpoint string) {
	t.Helper()
	b, err := json.Marshal(childRun{Lake: f.Dir, Base: f.Env.BaseDir, Sources: f.Sources, RunID: "20260101T000000Z-" + failpoint})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "run.json")
	require.NoError(t, os.WriteFile(path, b, 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path, "CRMWH_FAILPOINT="+failpoint)
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "the child was to be killed at %s, got %v", failpoint, err)
	ws := ee.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child ended with %v", ee)
}

// lakeVersions are the lake versions of the table's snapshots, in order.
func lakeVersions(t *testing.T, f *fixture) []string {
	t.Helper()
	var out []string
	for _, s := range readMetadata(t, f.table(t)).Snapshots {
		out = append(out, s.Summary["crmwh.lake-version"])
	}
	return out
}

func TestCrashesBetweenLakeAndCatalogCommitsAreCaughtUp(t *testing.T) {
	f := newFixture(t, iceberg.Config{}, ordersStream())
	f.insert(t, 0, 100, true)

	// Killed after the second of the run's four catalog commits: the lake
	// has all four.
	f.killedAt(t, "iceberg.after-commit:2")
	require.EqualValues(t, 4, f.Manifest(t, "shop", "orders").Version)
	require.Equal(t, []string{"1", "2"}, lakeVersions(t, f))

	// Killed right after the lake's first commit of the next run, before
	// the catalog's (the run's start had caught the table up).
	f.insert(t, 100, 160, true)
	f.killedAt(t, "lake.after-manifest")
	require.EqualValues(t, 5, f.Manifest(t, "shop", "orders").Version)
	require.Equal(t, []string{"1", "2", "3", "4"}, lakeVersions(t, f))

	// Killed in the next run's catching up, before the catalog commit.
	f.killedAt(t, "iceberg.before-commit")
	require.EqualValues(t, 5, f.Manifest(t, "shop", "orders").Version)
	require.Equal(t, []string{"1", "2", "3", "4"}, lakeVersions(t, f))

	// The next extract catches up, then extracts the rest: one snapshot
	// per lake commit, in order, and the table reads as the lake.
	f.extract(t, false)
	m := f.Manifest(t, "shop", "orders")
	var want []string
	for v := int64(1); v <= m.Version; v++ {
		want = append(want, fmt.Sprint(v))
	}
	require.Equal(t, want, lakeVersions(t, f))
	require.EqualValues(t, 160, m.Rows())
	f.requireSame(t, nil)
	f.checkSpec(t)
}

func TestPartsWithoutFieldIDsAreReadThroughTheNameMapping(t *testing.T) {
	f := newFixture(t, iceberg.Config{}, ordersStream())
	// A lake written before parts carried field ids: extracted without
	// the catalog, then every part rewritten by DuckDB (which writes no
	// field ids) and the manifest stripped of ids and versions.
	f.Catalog, f.Readers = nil, nil
	f.insert(t, 0, 100, true)
	_, err := f.Extract(t, false)
	require.NoError(t, err)
	stripFieldIDs(t, f)
	require.Empty(t, f.Manifest(t, "shop", "orders").FieldIDs)

	p, err := f.cat.Sync(ctx, "shop", "orders")
	require.NoError(t, err)
	require.True(t, p.Created)
	require.Equal(t, 1, p.Snapshots, "the parts of an old lake come as one snapshot")
	m := f.Manifest(t, "shop", "orders")
	require.NotEmpty(t, m.FieldIDs, "the lake gave the old columns ids")
	var mapping []struct {
		FieldID int      `json:"field-id"`
		Names   []string `json:"names"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.table(t).Properties()["schema.name-mapping.default"]), &mapping))
	byName := map[string]int{}
	for _, e := range mapping {
		for _, n := range e.Names {
			byName[n] = e.FieldID
		}
	}
	for _, c := range m.Schema {
		id, _ := m.FieldIDOf(c.Name, lake.FieldClass(c))
		require.Equal(t, id, byName[c.Name], c.Name)
	}
	f.requireSame(t, nil)

	// New parts, with ids, beside the old ones.
	f.Catalog, f.Readers = f.cat, func() (map[string]bool, error) { return f.cat.Files(ctx) }
	f.insert(t, 100, 150, true)
	f.extract(t, false)
	f.requireSame(t, nil)
	md := f.checkSpec(t)
	require.Len(t, md.Snapshots, 1+3, "then one snapshot per commit: two units and the NULL-watermark snapshot")
}

// stripFieldIDs makes the lake look as an older crmwh left it: part files
// without field ids, and a manifest without ids or versions.
func stripFieldIDs(t *testing.T, f *fixture) {
	t.Helper()
	db := warehousetest.Open(t, "", false)
	path := filepath.Join(f.Dir, "_manifest", "shop", "orders.json")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	delete(m, "field_ids")
	delete(m, "version")
	strip := func(parts any) {
		list, _ := parts.([]any)
		for _, p := range list {
			part := p.(map[string]any)
			delete(part, "field_ids")
			delete(part, "version")
			delete(part, "retired_version")
			file := filepath.Join(f.Dir, part["path"].(string))
			warehousetest.Exec(t, db, fmt.Sprintf("COPY (SELECT * FROM read_parquet('%s', hive_partitioning = false)) TO '%s.tmp' (FORMAT parquet)", file, file))
			require.NoError(t, os.Rename(file+".tmp", file))
			st, err := os.Stat(file)
			require.NoError(t, err)
			part["bytes"] = st.Size()
			require.Equal(t, [][]string{{"0"}}, warehousetest.Rows(t, db, fmt.Sprintf(
				"SELECT count(field_id) FROM parquet_schema('%s')", file)))
		}
	}
	strip(m["parts"])
	for _, s := range m["snapshots"].(map[string]any) {
		strip(s.(map[string]any)["parts"])
	}
	b, err = json.MarshalIndent(m, "", " ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	// The lake object caches manifests: take a fresh one.
	l, err := lake.Open(f.Dir)
	require.NoError(t, err)
	f.Lake.Lake = l
	f.open(t)
}

func TestPostgresCatalog(t *testing.T) {
	s := pgtest.Start(t)
	db, conn := s.NewDatabase(t)
	t.Setenv("CRMWH_TEST_ICEBERG_PASSWORD", s.Password)
	f := newFixture(t, iceberg.Config{Catalog: iceberg.CatalogPostgres, Name: "shopcat", Namespace: "lake",
		DSN: s.DSNWithPassword(db, "${CRMWH_TEST_ICEBERG_PASSWORD}")}, ordersStream())
	f.insert(t, 0, 100, true)
	f.extract(t, false)
	f.requireSame(t, nil)
	md := f.checkSpec(t)
	require.Len(t, md.Snapshots, 4)

	// The catalog's rows, as the JDBC catalogs of Spark, Trino and Flink
	// read them.
	var name, ns, tbl, loc string
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT catalog_name, table_namespace, table_name, metadata_location FROM iceberg_tables").Scan(&name, &ns, &tbl, &loc))
	require.Equal(t, []string{"shopcat", "lake", "shop_orders", f.table(t).MetadataLocation()}, []string{name, ns, tbl, loc})

	// Another process's catalog (a fresh connection) sees the table.
	other, err := iceberg.Open(ctx, f.cfg, f.Lake.Lake, f.Env)
	require.NoError(t, err)
	defer other.Close()
	p, err := other.Sync(ctx, "shop", "orders")
	require.NoError(t, err)
	require.Zero(t, p.Snapshots)
	require.EqualValues(t, 100, p.Rows)
}
