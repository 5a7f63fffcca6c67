// Package laketest helps tests run extractions into a temporary lake and
// read the result back through DuckDB the way a warehouse build does
// (raw.<source>_<stream> views over the manifest's parts), so tests read
// like the behaviour they check.
package laketest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/extract"
	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/warehousetest"
)

// Lake is a lake in a temporary folder with the sources it extracts.
type Lake struct {
	*lake.Lake
	Sources []pipelines.SourceConfig
	Env     pipelines.Env
	// Logger receives the runs' logs (default: discarded).
	Logger *slog.Logger
	// Catalog and Readers are the runs' extract.Options of those names.
	Catalog extract.Catalog
	Readers lake.Readers
	runs    int
}

// New opens a lake in a new temporary folder; base resolves relative paths
// in the sources' configs.
func New(t testing.TB, base string, sources ...pipelines.SourceConfig) *Lake {
	t.Helper()
	l, err := lake.Open(t.TempDir())
	require.NoError(t, err)
	return &Lake{Lake: l, Sources: sources, Env: pipelines.Env{BaseDir: base}}
}

// Extract runs an extraction of the named streams (all when none) and
// returns its result and error.
func (l *Lake) Extract(t testing.TB, full bool, only ...string) (extract.Result, error) {
	t.Helper()
	l.runs++
	log := l.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return extract.Run(context.Background(), extract.Options{
		Lake:        l.Lake,
		Sources:     l.Sources,
		Env:         l.Env,
		RunID:       fmt.Sprintf("%s-r%03d", time.Now().UTC().Format("20060102T150405Z"), l.runs),
		Parallelism: 2,
		Only:        only,
		Full:        full,
		Catalog:     l.Catalog,
		Readers:     l.Readers,
		Logger:      log,
	})
}

// MustExtract is Extract that fails the test on error and returns the
// named stream's result (the first stream when only is empty).
func (l *Lake) MustExtract(t testing.TB, only ...string) extract.StreamResult {
	t.Helper()
	res, err := l.Extract(t, false, only...)
	require.NoError(t, err)
	require.NotEmpty(t, res.Streams)
	return res.Streams[0]
}

// Manifest returns a stream's manifest as it is on disk (another process
// may have changed it).
func (l *Lake) Manifest(t testing.TB, source, stream string) *lake.StreamManifest {
	t.Helper()
	m, err := lake.ReadManifest(filepath.Join(l.Dir, "_manifest", source, stream+".json"))
	require.NoError(t, err)
	if m == nil {
		m = &lake.StreamManifest{Source: source, Stream: stream}
	}
	return m
}

// DB opens an in-memory DuckDB (session time zone UTC) with the raw views
// of every stream, as a build makes them: raw.<source>_<stream>,
// raw.<source>_<stream>__quarantine and raw.quarantine.
func (l *Lake) DB(t testing.TB) *sql.DB {
	t.Helper()
	fresh, err := lake.Open(l.Dir) // no cached manifests
	require.NoError(t, err)
	db := warehousetest.Open(t, "", false)
	_, err = db.Exec("SET TimeZone = 'UTC'; CREATE SCHEMA raw")
	require.NoError(t, err)
	ms, err := fresh.Manifests()
	require.NoError(t, err)
	for _, m := range ms {
		for _, v := range fresh.RawViews(m) {
			_, err := db.Exec(fmt.Sprintf("CREATE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL))
			require.NoError(t, err, v.SQL)
		}
	}
	v := fresh.QuarantineView(ms)
	_, err = db.Exec(fmt.Sprintf("CREATE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL))
	require.NoError(t, err, v.SQL)
	return db
}

// Rows runs a query over the raw views and returns its rows as text.
func (l *Lake) Rows(t testing.TB, q string, args ...any) [][]string {
	t.Helper()
	return warehousetest.Rows(t, l.DB(t), q, args...)
}

// Int runs a query over the raw views that returns one integer.
func (l *Lake) Int(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	return warehousetest.Int(t, l.DB(t), q, args...)
}
