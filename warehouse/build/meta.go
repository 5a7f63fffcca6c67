package build

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
)

// metaDDL creates the meta schema's tables. History tables (runs, model
// runs) are carried forward from the previously published warehouse, so
// the published file always holds the whole history.
var metaDDL = []string{
	`CREATE TABLE meta.build_runs (
		run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
		models_ok INTEGER, models_failed INTEGER, models_skipped INTEGER, error VARCHAR)`,
	`CREATE TABLE meta.model_runs (
		run_id VARCHAR, model VARCHAR, path VARCHAR, materialized VARCHAR, status VARCHAR,
		row_count BIGINT, duration_ms DOUBLE, error VARCHAR)`,
	`CREATE TABLE meta.lineage (model VARCHAR, path VARCHAR, depends_on VARCHAR, kind VARCHAR)`,
	`CREATE TABLE meta.lake_streams (
		source VARCHAR, stream VARCHAR, row_count BIGINT, quarantined BIGINT, parts INTEGER,
		files_loaded INTEGER, schema_hash VARCHAR, watermark VARCHAR, updated_at TIMESTAMPTZ)`,
}

var historyTables = []string{"build_runs", "model_runs"}

// createMeta creates the meta tables and carries history forward.
func createMeta(ctx context.Context, db *sql.DB, published string) error {
	for _, s := range metaDDL {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if _, err := os.Stat(published); err == nil {
		return carryHistory(ctx, db, published)
	}
	return nil
}

// writeMeta records this build's runs and the lake's state.
func writeMeta(ctx context.Context, db *sql.DB, res Result, start time.Time, l *lake.Lake) error {
	var ok, failed, skipped int
	var firstErr any
	for _, m := range res.Models {
		switch m.Status {
		case "ok":
			ok++
		case "failed":
			failed++
			if firstErr == nil {
				firstErr = fmt.Sprintf("model %s: %s", m.Name, m.Error)
			}
		case "skipped":
			skipped++
		}
		var rows any = m.Rows
		if m.Rows < 0 {
			rows = nil
		}
		var errText any
		if m.Error != "" {
			errText = m.Error
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.model_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			res.RunID, m.Name, m.Path, m.Materialize, m.Status, rows, float64(m.Duration.Microseconds())/1000, errText); err != nil {
			return err
		}
	}
	status := "ok"
	if failed > 0 {
		status = "failed"
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO meta.build_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		res.RunID, start.UTC(), time.Now().UTC(), status, ok, failed, skipped, firstErr); err != nil {
		return err
	}
	ms, err := l.Manifests()
	if err != nil {
		return err
	}
	for _, m := range ms {
		var wm any
		if m.Watermark != nil {
			wm = m.Watermark.Value
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.lake_streams VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Source, m.Stream, m.Rows(), m.QuarantinedRows(), len(m.Parts), len(m.Files), m.Schema.Hash(), wm, m.UpdatedAt); err != nil {
			return err
		}
	}
	return nil
}

// writeLineage records which model reads which model or raw table.
func writeLineage(ctx context.Context, db *sql.DB, name, path string, deps, sources []string) error {
	for _, d := range deps {
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.lineage VALUES (?, ?, ?, 'model')`, name, path, d); err != nil {
			return err
		}
	}
	for _, s := range sources {
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.lineage VALUES (?, ?, ?, 'source')`, name, path, s); err != nil {
			return err
		}
	}
	return nil
}

// carryHistory copies the history tables of the published warehouse into
// the new one. The published file is attached read-only, which other
// readers do not notice.
func carryHistory(ctx context.Context, db *sql.DB, published string) error {
	if _, err := db.ExecContext(ctx, "ATTACH "+duckdb.QuoteString(published)+" AS published (READ_ONLY)"); err != nil {
		return fmt.Errorf("attaching the published warehouse to carry its history: %w", err)
	}
	defer db.ExecContext(ctx, "DETACH published")
	for _, t := range historyTables {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = 'published' AND schema_name = 'meta' AND table_name = ?`, t).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO meta.%s BY NAME SELECT * FROM published.meta.%s", t, t)); err != nil {
			return fmt.Errorf("carrying meta.%s forward: %w", t, err)
		}
	}
	return nil
}
