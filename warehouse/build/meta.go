package build

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// metaDDL creates the meta schema's tables. History tables (runs, model
// runs, test results) are carried forward from the previously published
// warehouse, so the published file always holds the whole history.
var metaDDL = []string{
	`CREATE TABLE IF NOT EXISTS meta.build_runs (
		run_id VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, kind VARCHAR, status VARCHAR,
		models_ok INTEGER, models_failed INTEGER, models_skipped INTEGER, tests_failed INTEGER, error VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS meta.model_runs (
		run_id VARCHAR, model VARCHAR, path VARCHAR, materialized VARCHAR, status VARCHAR,
		row_count BIGINT, duration_ms DOUBLE, detail VARCHAR, error VARCHAR, cpu_ms DOUBLE)`,
	`CREATE TABLE IF NOT EXISTS meta.test_results (
		run_id VARCHAR, tested_at TIMESTAMPTZ, test VARCHAR, model VARCHAR, column_name VARCHAR, kind VARCHAR,
		severity VARCHAR, status VARCHAR, failures BIGINT, sample VARCHAR, duration_ms DOUBLE, error VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS meta.lineage (model VARCHAR, path VARCHAR, depends_on VARCHAR, kind VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS meta.lake_streams (
		source VARCHAR, stream VARCHAR, row_count BIGINT, quarantined BIGINT, parts INTEGER,
		files_loaded INTEGER, schema_hash VARCHAR, watermark VARCHAR, updated_at TIMESTAMPTZ)`,
	// What the lake's streams report that still holds: a file changed or
	// grown after it was loaded, an optional stream's files missing.
	`CREATE TABLE IF NOT EXISTS meta.lake_warnings (
		source VARCHAR, stream VARCHAR, kind VARCHAR, message VARCHAR, run_id VARCHAR, reported_at TIMESTAMPTZ)`,
	`CREATE TABLE IF NOT EXISTS meta.incremental_state (model VARCHAR, sql_hash VARCHAR, relation VARCHAR, part_path VARCHAR)`,
	// Every lake file the raw views read (paths relative to the lake), so
	// that extraction never deletes a file this warehouse still reads.
	`CREATE TABLE IF NOT EXISTS meta.lake_parts (path VARCHAR)`,
	// Each test's latest status, when its current run of failures began,
	// and its failure counts over time, oldest first.
	`CREATE OR REPLACE VIEW meta.test_status AS
	WITH last_pass AS (
		SELECT test, max(tested_at) AS at FROM meta.test_results WHERE status = 'pass' GROUP BY test
	)
	SELECT
		r.test,
		any_value(r.model) AS model,
		arg_max(r.status, r.tested_at) AS status,
		max(r.tested_at) AS last_run_at,
		min(r.tested_at) FILTER (WHERE r.status <> 'pass' AND r.tested_at > coalesce(p.at, '-infinity'::TIMESTAMPTZ)) AS failing_since,
		min(r.tested_at) FILTER (WHERE r.status <> 'pass') AS first_failed_at,
		count(*) FILTER (WHERE r.status <> 'pass') AS failed_runs,
		count(*) AS runs,
		list(r.failures ORDER BY r.tested_at) AS failures_trend
	FROM meta.test_results r LEFT JOIN last_pass p USING (test)
	GROUP BY r.test`,
}

// currentTables describe the build itself and are not carried forward;
// every other table of the meta schema is history (build_runs, model_runs,
// test_results, and the tables of Go steps such as clv_fits).
var currentTables = map[string]bool{"lineage": true, "lake_streams": true, "lake_warnings": true, "incremental_state": true, "lake_parts": true, "left_out": true,
	"model_state": true, "raw_parts": true, "test_state": true}

// createMeta creates the meta tables (when missing).
func createMeta(ctx context.Context, db *sql.DB) error {
	for _, s := range metaDDL {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// writeRunMeta records this build's runs and the lake's state.
func writeRunMeta(ctx context.Context, db *sql.DB, res Result, start time.Time, ms []*lake.StreamManifest) error {
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
		if m.Rows < 0 || m.Status != "ok" {
			rows = nil
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.model_runs BY NAME SELECT ? AS run_id, ? AS model, ? AS path, ? AS materialized, ? AS status,
			? AS row_count, ? AS duration_ms, ? AS detail, ? AS error, ? AS cpu_ms`,
			res.RunID, m.Name, m.Path, m.Materialize, m.Status, rows, float64(m.Duration.Microseconds())/1000, nullable(m.Detail), nullable(m.Error),
			float64(m.CPU.Microseconds())/1000); err != nil {
			return err
		}
	}
	testsFailed := len(failedTests(res.Tests))
	status := "ok"
	if failed > 0 || testsFailed > 0 {
		status = "failed"
	}
	if firstErr == nil && testsFailed > 0 {
		firstErr = failedTests(res.Tests)[0]
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO meta.build_runs VALUES (?, ?, ?, 'build', ?, ?, ?, ?, ?, ?)`,
		res.RunID, start.UTC(), time.Now().UTC(), status, ok, failed, skipped, testsFailed, firstErr); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM meta.lake_streams"); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM meta.lake_warnings"); err != nil {
		return err
	}
	for _, m := range ms {
		for _, w := range m.Warnings {
			if _, err := db.ExecContext(ctx, `INSERT INTO meta.lake_warnings VALUES (?, ?, ?, ?, ?, ?)`,
				m.Source, m.Stream, w.Kind, w.Msg, w.RunID, w.At); err != nil {
				return err
			}
		}
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

// attach attaches the published warehouse read-only as "published"; the
// returned function detaches it. Other readers do not notice.
func attach(ctx context.Context, db *sql.DB, published string) (func(), error) {
	if _, err := db.ExecContext(ctx, "ATTACH "+duckdb.QuoteString(published)+" AS published (READ_ONLY)"); err != nil {
		return nil, fmt.Errorf("attaching the published warehouse: %w", err)
	}
	return func() { db.ExecContext(context.Background(), "DETACH published") }, nil
}

func publishedHas(ctx context.Context, db *sql.DB, schema, table string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = 'published' AND schema_name = ? AND table_name = ?`, schema, table).Scan(&n)
	return n > 0, err
}

// carryHistory copies the history tables of the published warehouse's meta
// schema into the new one.
func carryHistory(ctx context.Context, db *sql.DB, published string) error {
	detach, err := attach(ctx, db, published)
	if err != nil {
		return err
	}
	defer detach()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM duckdb_tables() WHERE database_name = 'published' AND schema_name = 'meta' ORDER BY 1`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		if !currentTables[t] {
			tables = append(tables, t)
		}
	}
	rows.Close()
	for _, t := range tables {
		var exists int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'meta' AND table_name = ?`, t).Scan(&exists); err != nil {
			return err
		}
		q := fmt.Sprintf("INSERT INTO meta.%s BY NAME SELECT * FROM published.meta.%s", duckdb.QuoteIdent(t), duckdb.QuoteIdent(t))
		if exists == 0 {
			q = fmt.Sprintf("CREATE TABLE meta.%s AS SELECT * FROM published.meta.%s", duckdb.QuoteIdent(t), duckdb.QuoteIdent(t))
		}
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("carrying meta.%s forward: %w", t, err)
		}
	}
	return nil
}

// carryStateful copies incremental and snapshot models' tables (and their
// bookkeeping) from the published warehouse into a new full build, so they
// keep their rows and history.
func carryStateful(ctx context.Context, db *sql.DB, published string, ms []*models.Model) error {
	var stateful []*models.Model
	for _, m := range ms {
		// Models incremental by key are derived from other models: a full
		// build makes them anew.
		if (m.Materialize == models.Incremental && m.Spec.Incremental == nil) || m.Materialize == models.Snapshot {
			stateful = append(stateful, m)
		}
	}
	if len(stateful) == 0 {
		return nil
	}
	detach, err := attach(ctx, db, published)
	if err != nil {
		return err
	}
	defer detach()
	for _, m := range stateful {
		name := duckdb.QuoteIdent(m.Name)
		tables := [][2]string{{"main", m.Name}}
		if m.Materialize == models.Snapshot {
			tables = append(tables, [2]string{"snap", m.Name})
		}
		for _, t := range tables {
			ok, err := publishedHas(ctx, db, t[0], t[1])
			if err != nil {
				return err
			}
			if ok {
				if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s.%s AS SELECT * FROM published.%s.%s", t[0], name, t[0], name)); err != nil {
					return fmt.Errorf("carrying %s.%s forward: %w", t[0], m.Name, err)
				}
			}
		}
		if m.Materialize == models.Incremental {
			ok, err := publishedHas(ctx, db, "meta", "incremental_state")
			if err != nil {
				return err
			}
			if ok {
				if _, err := db.ExecContext(ctx, "INSERT INTO meta.incremental_state SELECT * FROM published.meta.incremental_state WHERE model = ?", m.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
