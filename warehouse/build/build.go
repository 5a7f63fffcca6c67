// Package build builds the warehouse: it writes a new DuckDB file next to the
// published one, exposes the lake as raw.<source>_<stream> views, runs the
// SQL models (and Go build steps) in dependency order, several at once, runs
// the data tests, records run metadata in the meta schema, and publishes the
// new file only when every model and every error-level test passed. A failed
// build leaves the published warehouse untouched; readers never see a
// half-built one. README.md in this folder states the runner's contract.
package build

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
	"crmwh/warehouse/query"
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
	// Select limits the build to some models: "name", "name+" (and every
	// model downstream), "+name" (and every model upstream). The others are
	// kept as they are in the published warehouse, which must exist.
	Select []string
	// FullRefresh rebuilds incremental and snapshot models from scratch
	// (snapshot history is lost: only today's state is observed).
	FullRefresh bool
	// Full builds every model from the lake in a new file, as the first
	// build does; incremental and snapshot models keep their rows. Without
	// it (and without FullRefresh or Select), a build on top of a
	// published warehouse is incremental: it starts from a copy of it and
	// redoes only what the lake's new parts touch (incremental.go).
	Full bool
	// Workers is how many models are built at once. DuckDB already spreads
	// each statement over every core, so a second model at the same time
	// only competes for them: on 2 cores and a million customers, two
	// workers made the full build 2.6 times slower than one
	// (docs/BENCHMARKS.md). The default is one worker per four cores, at
	// least one.
	Workers int
	// Steps are build steps written in Go (the CLV model fit), placed in the
	// DAG by what they read and write.
	Steps []Step
	// Generate, if set, returns models made from the project's
	// configuration rather than files: the staging model of each entity of
	// the contract (warehouse/contract), placeholders of unmapped ones
	// included. It runs on the new warehouse once the raw views exist;
	// raw lists them. A model or step that needs an unmapped entity is
	// left out of the build (Result.LeftOut).
	Generate func(ctx context.Context, db *sql.DB, raw map[string]bool) ([]*models.Model, error)
	// SkipTests publishes without running the data tests (like `dbt run`
	// against `dbt build`); run them later with `crmwh test`.
	SkipTests bool
	// Now gives the build's clock (snapshot effective times); default time.Now.
	Now func() time.Time
	// Threads and MemoryLimit tune DuckDB.
	Threads     int
	MemoryLimit string
	// Progress, if set, is called after each model and step;
	// TestProgress after each data test.
	Progress     func(ModelResult)
	TestProgress func(TestResult)
	Logger       *slog.Logger
}

// Step is a build step written in Go. It runs on its own connection to the
// new warehouse once every relation in Reads is built, and writes the
// tables in Writes, which SQL models may then read.
type Step struct {
	Name   string
	Reads  []string
	Writes []string
	Run    func(ctx context.Context, conn *sql.Conn) (rows int64, err error)
	// Fingerprint identifies what the step does besides what it reads
	// (its settings): an incremental build keeps the step's tables when
	// neither its inputs nor its fingerprint changed, and runs it again
	// otherwise.
	Fingerprint string
}

// ModelResult is one model's outcome.
type ModelResult struct {
	Name string `json:"name"`
	Path string `json:"path"`
	// Line is the line of Path a failure points at, when DuckDB says.
	Line        int           `json:"line,omitempty"`
	Materialize string        `json:"materialized"`
	Status      string        `json:"status"` // ok, failed, skipped, kept
	Rows        int64         `json:"rows"`
	Detail      string        `json:"detail,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	// CPU is the CPU time the process used while the node ran (all of
	// DuckDB's threads; with more than one worker, other nodes' too).
	CPU   time.Duration `json:"cpu_ns"`
	Error string        `json:"error,omitempty"`
}

// Result is a build's outcome.
type Result struct {
	RunID  string        `json:"run_id"`
	Models []ModelResult `json:"models"`
	Tests  []TestResult  `json:"tests"`
	// TestsKept counts the data tests an incremental build did not run:
	// nothing they read changed, so they pass as they did.
	TestsKept int `json:"tests_kept,omitempty"`
	// LeftOut lists what needs data the project does not map.
	LeftOut   []LeftOut `json:"left_out"`
	RawTables int       `json:"raw_tables"`
	Published bool      `json:"published"`
	// Failed is the file a failed build was kept as for inspection
	// (FailedFile), until the next build.
	Failed   string        `json:"failed_build,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// TestCounts counts tests by status.
func (r Result) TestCounts() map[string]int {
	out := map[string]int{}
	for _, t := range r.Tests {
		out[t.Status]++
	}
	return out
}

// Errors callers branch on.
var (
	// ErrModelsFailed wraps a build in which a model failed.
	ErrModelsFailed = errors.New("build failed")
	// ErrTestsFailed wraps a build or test run in which an error-level
	// data test failed.
	ErrTestsFailed = errors.New("data tests failed")
	// ErrNoPublished is returned when an operation needs a published
	// warehouse and there is none.
	ErrNoPublished = errors.New("no published warehouse")
)

func (o *Options) defaults() {
	if o.ModelsDir == "" {
		o.ModelsDir = "sql"
	}
	if o.Workers < 1 {
		o.Workers = max(1, runtime.NumCPU()/4)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Build builds the warehouse and publishes it on success.
func Build(ctx context.Context, o Options) (res Result, err error) {
	o.defaults()
	log := o.Logger
	start := time.Now()
	res.RunID = o.RunID
	if err := os.MkdirAll(filepath.Dir(o.Warehouse), 0o755); err != nil {
		return res, err
	}
	removeStaleBuilds(o.Warehouse)
	published := fileExists(o.Warehouse)
	if len(o.Select) > 0 && !published {
		return res, fmt.Errorf("%w: --select builds some models on top of the published warehouse; run a full `crmwh build` first", ErrNoPublished)
	}

	// Models first: a broken project fails before any file is written.
	ms, err := models.Discover(o.Models, o.ModelsDir)
	if err != nil {
		return res, err
	}

	tmp := fmt.Sprintf("%s.build-%s", o.Warehouse, o.RunID)
	defer func() {
		if !res.Published {
			os.Remove(tmp)
			os.Remove(tmp + ".wal")
		}
	}()
	incremental := published && !o.Full && !o.FullRefresh && len(o.Select) == 0
	if len(o.Select) > 0 || incremental {
		// A selected or incremental build starts from a copy of the
		// published warehouse, so every model it does not rebuild is
		// there as published.
		if err := copyFile(o.Warehouse, tmp); err != nil {
			return res, fmt.Errorf("copying the published warehouse: %w", err)
		}
	}
	open := func() (*sql.DB, error) {
		return duckdb.Open(tmp, duckdb.Options{Threads: o.Threads, MemoryLimit: o.MemoryLimit, TempDir: tmp + ".tmp"})
	}
	db, err := open()
	if err != nil {
		return res, err
	}
	var prevFP map[string]string
	var prevParts map[string]map[string]bool
	var prevSchema map[string]string
	if incremental {
		var ok bool
		prevFP, prevParts, prevSchema, ok, err = readPrevious(ctx, db)
		if err != nil {
			db.Close()
			return res, fmt.Errorf("reading the published warehouse's build state: %w", err)
		}
		if !ok {
			// Built before incremental builds: build in full this once.
			db.Close()
			os.Remove(tmp)
			os.Remove(tmp + ".wal")
			incremental = false
			if db, err = open(); err != nil {
				return res, err
			}
		}
	}
	defer os.RemoveAll(tmp + ".tmp")
	closed := false
	defer func() {
		if closed {
			return
		}
		// A build that failed (not one that was stopped) is kept for
		// inspection until the next build: checkpointed, so that it
		// opens read-only, and renamed out of the way of stale builds.
		keep := err != nil && ctx.Err() == nil && len(res.Models) > 0
		if keep {
			_, cerr := db.ExecContext(context.Background(), "CHECKPOINT")
			keep = cerr == nil
		}
		cerr := db.Close()
		if keep && cerr == nil && os.Rename(tmp, FailedFile(o.Warehouse)) == nil {
			res.Failed = FailedFile(o.Warehouse)
			err = fmt.Errorf("%w; the failed build is kept for inspection: crmwh sql --failed-build", err)
		}
	}()
	db.SetMaxOpenConns(o.Workers + 1)

	for _, s := range []string{"CREATE SCHEMA IF NOT EXISTS raw", "CREATE SCHEMA IF NOT EXISTS meta", "CREATE SCHEMA IF NOT EXISTS snap"} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return res, err
		}
	}
	if err := createMeta(ctx, db); err != nil {
		return res, fmt.Errorf("creating build metadata: %w", err)
	}
	if len(o.Select) == 0 && published && !incremental {
		if err := carryHistory(ctx, db, o.Warehouse); err != nil {
			return res, err
		}
	}
	l, err := lake.Open(o.LakeDir)
	if err != nil {
		return res, err
	}
	manifests, err := l.Manifests()
	if err != nil {
		return res, err
	}
	sources, err := query.CreateRawViews(ctx, db, l, manifests)
	if err != nil {
		return res, err
	}
	res.RawTables = len(sources)
	if err := recordLakeParts(ctx, db, manifests); err != nil {
		return res, fmt.Errorf("recording the lake files the build reads: %w", err)
	}
	if o.Generate != nil {
		gen, err := o.Generate(ctx, db, sources)
		if err != nil {
			return res, err
		}
		byName := map[string]*models.Model{}
		for _, m := range ms {
			byName[m.Name] = m
		}
		var clash []string
		for _, m := range gen {
			if f := byName[m.Name]; f != nil {
				clash = append(clash, fmt.Sprintf("%s: model %s has the name of the staging model %s generates for entities.%s; rename the file", f.Path, m.Name, m.Path, m.Entity))
			}
		}
		if len(clash) > 0 {
			return res, fmt.Errorf("%s", strings.Join(clash, "\n"))
		}
		ms = append(ms, gen...)
		sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	}

	external := map[string]bool{}
	for _, st := range o.Steps {
		for _, w := range st.Writes {
			external[w] = true
		}
	}
	if err := models.Resolve(ctx, db, ms, sources, external); err != nil {
		return res, err
	}
	g, err := newGraph(ms, o.Steps)
	if err != nil {
		return res, err
	}
	if err := g.checkIncremental(); err != nil {
		return res, err
	}
	if err := g.writeLineage(ctx, db); err != nil {
		return res, err
	}
	caps, err := g.capabilities()
	if err != nil {
		return res, err
	}
	res.LeftOut = caps.list(g)
	run, err := g.selectNodes(o.Select)
	if err != nil {
		return res, err
	}
	for name := range run {
		if caps.leftOut(name) && !caps.scaffold[name] {
			delete(run, name)
		}
	}
	if len(o.Select) > 0 {
		if err := g.checkKept(ctx, db, run, caps); err != nil {
			return res, err
		}
	} else if published && !o.FullRefresh && !incremental {
		// Incremental and snapshot models carry their rows over from the
		// published warehouse.
		if err := carryStateful(ctx, db, o.Warehouse, ms); err != nil {
			return res, err
		}
	}

	if len(o.Select) > 0 || incremental {
		if err := caps.restoreScaffolding(ctx, db, g); err != nil {
			return res, err
		}
	}
	b := &builder{o: o, db: db, lake: l, manifests: manifests, graph: g, log: log}
	raw := rawRelations(manifests)
	if incremental {
		if b.inc, err = startIncremental(ctx, db, g, sources, prevFP, rawChanges(raw, prevParts, prevSchema)); err != nil {
			return res, err
		}
		if b.inc.prevTests, err = readPrevTests(ctx, db); err != nil {
			return res, err
		}
	}
	res.Models = b.runAll(ctx, run)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var failedModels []string
	for _, r := range res.Models {
		if r.Status == "failed" {
			where := r.Path
			if r.Line > 0 {
				where += fmt.Sprintf(":%d", r.Line)
			}
			failedModels = append(failedModels, fmt.Sprintf("model %s (%s): %s", r.Name, where, r.Error))
		}
	}
	if len(failedModels) == 0 && b.inc != nil {
		if err := finishIncremental(ctx, db, g, run); err != nil {
			return res, err
		}
	}
	if len(failedModels) == 0 && !o.SkipTests {
		// Data tests are SQL a user wrote: from here on the build's
		// database reads only itself and the lake, for good.
		if err := duckdb.Lockdown(ctx, db, duckdb.Sandbox{Dirs: []string{l.Dir}}); err != nil {
			return res, err
		}
		tests := publishedTests(ms, caps)
		if b.inc != nil {
			// A test of data that did not change passes as it did.
			tests, res.TestsKept = b.testsToRun(tests)
		}
		res.Tests = runTests(ctx, db, tests, o.RunID, []string{l.Dir}, o.TestProgress, log)
	}
	res.Duration = time.Since(start)
	if err := writeRunMeta(ctx, db, res, start, manifests); err != nil {
		return res, fmt.Errorf("writing build metadata: %w", err)
	}
	if err := writeLeftOut(ctx, db, res.LeftOut); err != nil {
		return res, fmt.Errorf("writing build metadata: %w", err)
	}
	if err := writeBuildState(ctx, db, g, raw); err != nil {
		return res, fmt.Errorf("writing build metadata: %w", err)
	}
	if !o.SkipTests {
		if err := writeTestState(ctx, db, publishedTests(ms, caps)); err != nil {
			return res, fmt.Errorf("writing build metadata: %w", err)
		}
	} else if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS meta.test_state"); err != nil {
		// Nothing says which tests this data passes: the next build runs
		// them all.
		return res, err
	}
	if len(failedModels) > 0 {
		return res, fmt.Errorf("%w: %s; the published warehouse was left as it was", ErrModelsFailed, strings.Join(failedModels, "; "))
	}
	if failed := failedTests(res.Tests); len(failed) > 0 {
		return res, fmt.Errorf("%w: %s; the published warehouse was left as it was", ErrTestsFailed, strings.Join(failed, "; "))
	}
	if err := caps.setScaffoldingAside(ctx, db, g); err != nil {
		return res, err
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

// Rollback puts the previous published warehouse back, keeping the one it
// replaces as the new previous one (so a rollback can be undone by another).
func Rollback(warehouse string) error {
	if !fileExists(warehouse + ".prev") {
		return fmt.Errorf("%w: there is no previous warehouse (%s.prev) to roll back to", ErrNoPublished, filepath.Base(warehouse))
	}
	return duckdb.Swap(warehouse, warehouse+".prev")
}

// FailedFile is where the last failed build of a warehouse is kept for
// inspection (`crmwh sql --failed-build`) until the next build.
func FailedFile(warehouse string) string { return warehouse + ".failed" }

// removeStaleBuilds deletes build files left by killed builds, and the
// failed build kept from last time.
func removeStaleBuilds(warehouse string) {
	os.Remove(FailedFile(warehouse))
	os.Remove(FailedFile(warehouse) + ".wal")
	for _, pat := range []string{".build-*", ".test-*"} {
		matches, _ := filepath.Glob(warehouse + pat)
		for _, m := range matches {
			os.RemoveAll(m)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// publishedTests are the tests of the models the build publishes, leaving
// out those that read a left-out relation.
func publishedTests(ms []*models.Model, caps *capabilities) []models.DataTest {
	var keep []*models.Model
	for _, m := range ms {
		if !caps.leftOut(m.Name) {
			keep = append(keep, m)
		}
	}
	var out []models.DataTest
	for _, t := range allTests(keep) {
		ok := true
		for _, r := range t.Refs {
			ok = ok && !caps.leftOut(r)
		}
		if ok {
			out = append(out, t)
		}
	}
	return out
}

// allTests compiles every model's tests, making automatic names unique.
func allTests(ms []*models.Model) []models.DataTest {
	var out []models.DataTest
	seen := map[string]int{}
	for _, m := range ms {
		for _, t := range m.DataTests() {
			seen[t.Name]++
			if n := seen[t.Name]; n > 1 {
				t.Name = fmt.Sprintf("%s_%d", t.Name, n)
			}
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type loggerKey struct{}

// Logger is the logger of the build a step runs in, for the step's own
// logs (shown with -v); the default logger outside a build.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}
