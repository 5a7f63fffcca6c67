package build

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
	"crmwh/warehouse/query"
)

// TestResult is one data test's outcome.
type TestResult struct {
	Name     string `json:"name"`
	Model    string `json:"model"`
	Column   string `json:"column,omitempty"`
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Status   string `json:"status"` // pass, warn, fail (error severity), error (the query failed)
	Failures int64  `json:"failures"`
	// Sample is up to SampleRows failing rows as JSON (an array of objects,
	// keys in column order), as recorded in meta.test_results.
	Sample string `json:"sample,omitempty"`
	// SampleText is the same rows as an aligned table, for the terminal.
	SampleText string        `json:"-"`
	Where      string        `json:"where"`
	Duration   time.Duration `json:"duration_ns"`
	Error      string        `json:"error,omitempty"`
}

// blocks reports whether the result stops a publish.
func (t TestResult) blocks() bool { return t.Status == "fail" || t.Status == "error" }

func failedTests(rs []TestResult) []string {
	var out []string
	for _, t := range rs {
		if t.blocks() {
			msg := fmt.Sprintf("test %s (%s): %s", t.Name, t.Where, t.FailingRows())
			if t.Error != "" {
				msg = fmt.Sprintf("test %s (%s): %s", t.Name, t.Where, t.Error)
			}
			out = append(out, msg)
		}
	}
	return out
}

// SampleRows is how many failing rows a result keeps, as JSON.
const SampleRows = 10

// runTests runs every test against db and records the results in
// meta.test_results.
func runTests(ctx context.Context, db *sql.DB, tests []models.DataTest, runID string, dirs []string, progress func(TestResult), log *slog.Logger) []TestResult {
	var out []TestResult
	now := time.Now().UTC()
	for _, t := range tests {
		if ctx.Err() != nil {
			break
		}
		r := TestResult{Name: t.Name, Model: t.Model, Column: t.Column, Kind: t.Kind, Severity: t.Severity, Where: t.Where}
		t0 := time.Now()
		err := checkTest(ctx, db, t)
		if err == nil {
			err = db.QueryRowContext(ctx, "SELECT count(*) FROM (\n"+t.SQL+"\n)").Scan(&r.Failures)
			err = query.Explain(err, dirs)
		}
		if err == nil && r.Failures > 0 {
			r.Sample, r.SampleText, err = sample(ctx, db, t.SQL)
		}
		r.Duration = time.Since(t0)
		switch {
		case err != nil:
			r.Status, r.Error = "error", err.Error()
		case r.Failures == 0:
			r.Status = "pass"
		case t.Severity == models.SeverityWarn:
			r.Status = "warn"
		default:
			r.Status = "fail"
		}
		if r.Status != "pass" {
			log.Warn("data test did not pass", "run_id", runID, "test", t.Name, "status", r.Status, "failures", r.Failures, "where", t.Where)
		}
		var sampleArg, errArg any
		if r.Sample != "" {
			sampleArg = r.Sample
		}
		if r.Error != "" {
			errArg = r.Error
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.test_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			runID, now, r.Name, r.Model, nullable(r.Column), r.Kind, r.Severity, r.Status, r.Failures, sampleArg, float64(r.Duration.Microseconds())/1000, errArg); err != nil {
			r.Status, r.Error = "error", "recording the result: "+err.Error()
		}
		out = append(out, r)
		if progress != nil {
			progress(r)
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkTest refuses a test that is not one SELECT (or whose assert
// condition is not one expression) before it runs: a data test reads the
// warehouse and the lake and changes nothing.
func checkTest(ctx context.Context, db *sql.DB, t models.DataTest) error {
	if t.Expr != "" {
		if err := duckdb.CheckExpression(ctx, db, t.Expr); err != nil {
			return err
		}
	}
	return duckdb.CheckQuery(ctx, db, t.SQL)
}

// sample reads up to SampleRows of a test's failing rows, as JSON and as
// an aligned table.
func sample(ctx context.Context, db *sql.DB, q string) (js, text string, err error) {
	res, err := query.Run(ctx, db, fmt.Sprintf("SELECT * FROM (\n%s\n) LIMIT %d", q, SampleRows))
	if err != nil {
		return "", "", err
	}
	js, err = res.JSON()
	return js, res.Text(), err
}

// FailingRows says how many rows failed a test: "1 failing row",
// "1234 failing rows".
func (t TestResult) FailingRows() string {
	if t.Failures == 1 {
		return "1 failing row"
	}
	return fmt.Sprintf("%d failing rows", t.Failures)
}

// TestOptions configure `crmwh test`.
type TestOptions struct {
	Warehouse string
	// LakeDir is the lake folder, which the raw views read: the tests may
	// read it and the warehouse, and nothing else.
	LakeDir   string
	Models    fs.FS
	ModelsDir string
	RunID     string
	Select    []string // model names whose tests run; empty: all
	Progress  func(TestResult)
	Logger    *slog.Logger
}

// RunTests runs the data tests against the published warehouse. The
// results are recorded in its meta schema without ever writing the
// published file in place: a copy is tested and renamed over it (the
// previous version kept for rollback is not touched), so readers are never
// blocked. The error wraps ErrTestsFailed when an error-level test failed.
func RunTests(ctx context.Context, o TestOptions) ([]TestResult, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ModelsDir == "" {
		o.ModelsDir = "sql"
	}
	if !fileExists(o.Warehouse) {
		return nil, fmt.Errorf("%w: %s does not exist (run `crmwh build` first)", ErrNoPublished, o.Warehouse)
	}
	ms, err := models.Discover(o.Models, o.ModelsDir)
	if err != nil {
		return nil, err
	}
	tests := allTests(ms)
	if len(o.Select) > 0 {
		want := map[string]bool{}
		for _, s := range o.Select {
			want[strings.Trim(s, "+")] = true
		}
		kept := tests[:0]
		for _, t := range tests {
			if want[t.Model] || want[t.Name] {
				kept = append(kept, t)
			}
		}
		tests = kept
	}
	tmp := fmt.Sprintf("%s.test-%s", o.Warehouse, o.RunID)
	defer os.Remove(tmp)
	if err := copyFile(o.Warehouse, tmp); err != nil {
		return nil, fmt.Errorf("copying the published warehouse: %w", err)
	}
	db, err := duckdb.Open(tmp, duckdb.Options{TempDir: tmp + ".tmp"})
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp + ".tmp")
	if err := createMeta(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	var dirs []string
	if o.LakeDir != "" {
		dirs = append(dirs, o.LakeDir)
	}
	if err := duckdb.Lockdown(ctx, db, duckdb.Sandbox{Dirs: dirs}); err != nil {
		db.Close()
		return nil, err
	}
	start := time.Now()
	res := runTests(ctx, db, tests, o.RunID, dirs, o.Progress, o.Logger)
	status := "ok"
	failed := failedTests(res)
	var errText any
	if len(failed) > 0 {
		status, errText = "failed", strings.Join(failed, "; ")
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO meta.build_runs VALUES (?, ?, ?, 'test', ?, 0, 0, 0, ?, ?)`,
		o.RunID, start.UTC(), time.Now().UTC(), status, len(failed), errText); err != nil {
		db.Close()
		return res, err
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		db.Close()
		return res, err
	}
	if err := db.Close(); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if err := duckdb.PublishKeepPrev(tmp, o.Warehouse); err != nil {
		return res, err
	}
	os.Remove(filepath.Join(filepath.Dir(tmp), filepath.Base(tmp)+".wal"))
	if len(failed) > 0 {
		return res, fmt.Errorf("%w: %s", ErrTestsFailed, strings.Join(failed, "; "))
	}
	return res, nil
}
