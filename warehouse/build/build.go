// Package build builds the warehouse: it writes a new DuckDB file next to the
// published one, exposes the lake as raw.<source>_<stream> views, runs the
// SQL models in dependency order, records run metadata in the meta schema,
// and publishes the new file only when every model succeeded. A failed
// build leaves the published warehouse untouched; readers never see a
// half-built one.
package build

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// Options configure a build.
type Options struct {
	// Warehouse is the published database file.
	Warehouse string
	// LakeDir is the lake folder.
	LakeDir string
	// Models is the project's file system; models are read from ModelsDir.
	Models    fs.FS
	ModelsDir string
	RunID     string
	// Threads and MemoryLimit tune DuckDB.
	Threads     int
	MemoryLimit string
	// Progress, if set, is called after each model.
	Progress func(ModelResult)
	Logger   *slog.Logger
}

// ModelResult is one model's outcome.
type ModelResult struct {
	Name        string        `json:"name"`
	Path        string        `json:"path"`
	Materialize string        `json:"materialized"`
	Status      string        `json:"status"` // ok, failed, skipped
	Rows        int64         `json:"rows"`
	Duration    time.Duration `json:"duration_ns"`
	Error       string        `json:"error,omitempty"`
}

// Result is a build's outcome.
type Result struct {
	RunID     string        `json:"run_id"`
	Models    []ModelResult `json:"models"`
	RawTables int           `json:"raw_tables"`
	Published bool          `json:"published"`
	Duration  time.Duration `json:"duration_ns"`
}

// ErrModelsFailed wraps a build in which a model failed.
var ErrModelsFailed = errors.New("build failed")

// Build runs a full build and publishes it on success.
func Build(ctx context.Context, o Options) (res Result, err error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	start := time.Now()
	res.RunID = o.RunID
	if o.ModelsDir == "" {
		o.ModelsDir = "sql"
	}
	if err := os.MkdirAll(filepath.Dir(o.Warehouse), 0o755); err != nil {
		return res, err
	}
	removeStaleBuilds(o.Warehouse)
	tmp := fmt.Sprintf("%s.build-%s", o.Warehouse, o.RunID)
	defer func() {
		if !res.Published {
			os.Remove(tmp)
			os.Remove(tmp + ".wal")
		}
	}()
	db, err := duckdb.Open(tmp, duckdb.Options{Threads: o.Threads, MemoryLimit: o.MemoryLimit, TempDir: tmp + ".tmp"})
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp + ".tmp")
	closed := false
	defer func() {
		if !closed {
			db.Close()
		}
	}()
	// One connection: the build is a sequence of statements, and DuckDB
	// parallelises each statement itself.
	db.SetMaxOpenConns(1)

	for _, s := range []string{"CREATE SCHEMA raw", "CREATE SCHEMA meta"} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return res, err
		}
	}
	if err := createMeta(ctx, db, o.Warehouse); err != nil {
		return res, fmt.Errorf("creating build metadata: %w", err)
	}
	l, err := lake.Open(o.LakeDir)
	if err != nil {
		return res, err
	}
	sources, err := createRawViews(ctx, db, l)
	if err != nil {
		return res, err
	}
	res.RawTables = len(sources)

	ms, err := models.Discover(o.Models, o.ModelsDir)
	if err != nil {
		return res, err
	}
	if err := models.Resolve(ctx, db, ms, sources, nil); err != nil {
		return res, err
	}
	ordered, err := models.Order(ms)
	if err != nil {
		return res, err
	}
	for _, m := range ordered {
		if err := writeLineage(ctx, db, m.Name, m.Path, m.Deps, m.Sources); err != nil {
			return res, err
		}
	}

	failed := map[string]string{} // model → root cause model
	for _, m := range ordered {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		r := ModelResult{Name: m.Name, Path: m.Path, Materialize: m.Materialize}
		for _, d := range m.Deps {
			if root, bad := failed[d]; bad {
				r.Status, r.Error = "skipped", "upstream model "+root+" failed"
				failed[m.Name] = root
				break
			}
		}
		if r.Status == "" {
			t0 := time.Now()
			r.Rows, err = runModel(ctx, db, m)
			r.Duration = time.Since(t0)
			if err != nil {
				r.Status, r.Error = "failed", err.Error()
				failed[m.Name] = m.Name
				log.Error("model failed", "run_id", o.RunID, "model", m.Name, "file", m.Path, "err", err)
			} else {
				r.Status = "ok"
				log.Info("model built", "run_id", o.RunID, "model", m.Name, "rows", r.Rows, "duration", r.Duration)
			}
		}
		res.Models = append(res.Models, r)
		if o.Progress != nil {
			o.Progress(r)
		}
	}
	res.Duration = time.Since(start)
	if err := writeMeta(ctx, db, res, start, l); err != nil {
		return res, fmt.Errorf("writing build metadata: %w", err)
	}
	if len(failed) > 0 {
		var msgs []string
		for _, r := range res.Models {
			if r.Status == "failed" {
				msgs = append(msgs, fmt.Sprintf("model %s (%s): %s", r.Name, r.Path, r.Error))
			}
		}
		return res, fmt.Errorf("%w: %s; the published warehouse was left as it was", ErrModelsFailed, strings.Join(msgs, "; "))
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return res, err
	}
	closed = true
	if err := db.Close(); err != nil {
		return res, err
	}
	if err := duckdb.Publish(tmp, o.Warehouse, o.Warehouse+".prev"); err != nil {
		return res, err
	}
	res.Published = true
	res.Duration = time.Since(start)
	return res, nil
}

// removeStaleBuilds deletes build files left by killed builds.
func removeStaleBuilds(warehouse string) {
	matches, _ := filepath.Glob(warehouse + ".build-*")
	for _, m := range matches {
		os.RemoveAll(m)
	}
}

func runModel(ctx context.Context, db *sql.DB, m *models.Model) (int64, error) {
	kind := "VIEW"
	if m.Materialize == models.Table {
		kind = "TABLE"
	}
	stmt := fmt.Sprintf("CREATE OR REPLACE %s %s AS\n%s", kind, duckdb.QuoteIdent(m.Name), m.SQL)
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return 0, err
	}
	if kind == "VIEW" {
		return -1, nil
	}
	var n int64
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+duckdb.QuoteIdent(m.Name)).Scan(&n)
	return n, err
}

// createRawViews creates raw.<source>_<stream> over each stream's committed
// Parquet files and raw.<source>_<stream>__quarantine over its quarantined
// rows. The SQL of each view comes from the lake, which knows its files.
func createRawViews(ctx context.Context, db *sql.DB, l *lake.Lake) (map[string]bool, error) {
	ms, err := l.Manifests()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range ms {
		for _, v := range l.RawViews(m) {
			stmt := fmt.Sprintf("CREATE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL)
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return nil, fmt.Errorf("creating raw.%s: %w", v.Name, err)
			}
			out["raw."+v.Name] = true
		}
	}
	return out, nil
}
