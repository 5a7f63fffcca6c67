// Package refresh runs the steps of a refresh (extract, build, dashboards)
// on a project, each with its summary, and classifies failures by step so
// that callers (the CLI, the scheduler) can map them to exit codes.
package refresh

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"crmwh/dashboards/pdf"
	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
	"crmwh/pipelines/extract"
	"crmwh/pipelines/iceberg"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/secret"
	"crmwh/project"
	"crmwh/project/strictyaml"
	"crmwh/warehouse/analytics"
	"crmwh/warehouse/build"
	"crmwh/warehouse/contract"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
	"crmwh/warehouse/query"
)

// Step names.
const (
	StepExtract    = "extract"
	StepBuild      = "build"
	StepTest       = "test"
	StepDashboards = "dashboards"
)

// AllSteps is what `crmwh refresh` runs.
var AllSteps = []string{StepExtract, StepBuild, StepDashboards}

// StepError is a failure of one step.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// NewRunID returns a sortable unique run id such as 20261123T101500Z-3fa2.
func NewRunID(now time.Time) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Hooks receive progress; any may be nil.
type Hooks struct {
	Extract    func([]extract.StreamResult)
	Build      func(build.ModelResult)
	Test       func(build.TestResult)
	Dashboards func(page string)
	// StepStart is called before each step.
	StepStart func(step string)
	// StepDone is called after each step with its summary.
	StepDone func(StepSummary)
}

// StepSummary is one step's outcome, for the run summary.
type StepSummary struct {
	Step     string        `json:"step"`
	Status   string        `json:"status"` // ok, failed, skipped
	Rows     int64         `json:"rows"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
	Result   any           `json:"result,omitempty"`
}

// Summary is a run's outcome.
type Summary struct {
	RunID    string        `json:"run_id"`
	Project  string        `json:"project"`
	Steps    []StepSummary `json:"steps"`
	Status   string        `json:"status"`
	Started  time.Time     `json:"started_at"`
	Duration time.Duration `json:"duration_ns"`
	Error    string        `json:"error,omitempty"`
}

// Runner runs steps on a project.
type Runner struct {
	Project *project.Project
	RunID   string
	Logger  *slog.Logger
	Hooks   Hooks
	// Only limits extraction to some streams.
	Only []string
	// FullExtract reloads the Only streams from scratch (extract --full),
	// asked for under the project and lake locks.
	FullExtract bool
	// Lang of the dashboards: en (default) or zh. Both languages are
	// rendered; Lang is the one at the top of the site folder.
	Lang string
	// SingleFile renders the dashboards as one self-contained HTML file
	// (render.SingleFileName in the site folder) instead of a folder.
	SingleFile bool
	// Pages limits the dashboards to some pages (by name); empty is all.
	Pages []string
	// PDF, when set, is the file the dashboards step also writes the board
	// pack to: the pages (Pages, or every page but data health) in Lang,
	// printed by headless Chromium (package dashboards/pdf).
	PDF string
	// Select limits the build (and the test step) to some models; see
	// build.Options.Select.
	Select []string
	// FullRefresh rebuilds incremental and snapshot models from scratch.
	FullRefresh bool
	// Full builds every model in a new file instead of bringing the
	// published warehouse up to date (build.Options.Full).
	Full bool
	// SkipTests builds without running the data tests.
	SkipTests bool
	// Now is the build's clock (snapshot times); default time.Now.
	Now func() time.Time
}

// Run runs the steps in order, stopping at the first failure (later steps
// are reported as skipped). The error is a *StepError.
func (r *Runner) Run(ctx context.Context, steps []string) (Summary, error) {
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	s := Summary{RunID: r.RunID, Project: r.Project.Dir, Started: time.Now().UTC(), Status: "ok"}
	var failure error
	for _, step := range steps {
		if failure != nil {
			s.Steps = append(s.Steps, StepSummary{Step: step, Status: "skipped"})
			continue
		}
		if r.Hooks.StepStart != nil {
			r.Hooks.StepStart(step)
		}
		sum, err := r.runStep(ctx, step)
		if err != nil {
			err = secret.Error(err)
			sum.Status, sum.Error = "failed", err.Error()
			failure = &StepError{Step: step, Err: err}
			s.Status, s.Error = "failed", failure.Error()
		}
		s.Steps = append(s.Steps, sum)
		if r.Hooks.StepDone != nil {
			r.Hooks.StepDone(sum)
		}
	}
	s.Duration = time.Since(s.Started)
	return s, failure
}

func (r *Runner) runStep(ctx context.Context, step string) (StepSummary, error) {
	t0 := time.Now()
	sum := StepSummary{Step: step, Status: "ok"}
	var err error
	switch step {
	case StepExtract:
		var res extract.Result
		res, err = r.Extract(ctx)
		rows, bad := res.Totals()
		sum.Rows = rows
		sum.Detail = fmt.Sprintf("%d streams, %d rows, %d quarantined", len(res.Streams), rows, bad)
		if n := res.Warnings(); n > 0 {
			sum.Detail += fmt.Sprintf(", %d warning(s)", n)
		}
		sum.Result = res
	case StepBuild:
		var res build.Result
		res, err = r.Build(ctx)
		var ok, n int
		var rows int64
		left := map[string]bool{}
		for _, lo := range res.LeftOut {
			left[lo.Name] = true
		}
		for _, m := range res.Models {
			if left[m.Name] {
				continue // built only as an input of others, not published
			}
			n++
			if m.Status == "ok" {
				ok++
			}
			if m.Rows > 0 {
				rows += m.Rows
			}
		}
		sum.Rows = rows
		tc := res.TestCounts()
		sum.Detail = fmt.Sprintf("%d/%d models, %d rows in tables; tests: %d passed, %d warned, %d failed",
			ok, n, rows, tc["pass"], tc["warn"], tc["fail"]+tc["error"])
		if res.TestsKept > 0 {
			sum.Detail += fmt.Sprintf(" (%d more of unchanged data not run)", res.TestsKept)
		}
		if needs := res.MissingEntities(); len(needs) > 0 {
			sum.Detail += fmt.Sprintf("; left out what needs %s", strings.Join(needs, ", "))
		}
		if len(res.Models) == 0 && err != nil {
			// The project's models could not be read or ordered.
			sum.Detail = "stopped before building any model"
		}
		sum.Result = res
	case StepTest:
		var res []build.TestResult
		res, err = r.Test(ctx)
		counts := map[string]int{}
		for _, t := range res {
			counts[t.Status]++
		}
		sum.Rows = int64(len(res))
		sum.Detail = fmt.Sprintf("%d tests: %d passed, %d warned, %d failed", len(res), counts["pass"], counts["warn"], counts["fail"]+counts["error"])
		sum.Result = res
	case StepDashboards:
		var res render.Result
		res, err = r.RenderDashboards(ctx)
		sum.Rows = int64(res.Rows)
		where := res.Dir
		if r.SingleFile {
			where = filepath.Join(res.Dir, res.Index)
		}
		sum.Detail = fmt.Sprintf("%d pages, %d charts in %s", len(res.Pages), res.Charts, where)
		if res.Failed > 0 {
			sum.Detail = fmt.Sprintf("%d pages, %d charts (%d failed) in %s", len(res.Pages), res.Charts, res.Failed, where)
		}
		if res.PDF != "" {
			sum.Detail += "; board pack " + res.PDF
		}
		sum.Result = res
	default:
		err = fmt.Errorf("unknown step %q (known: extract, build, test, dashboards)", step)
	}
	sum.Duration = time.Since(t0)
	return sum, err
}

// Extract runs the extract step.
func (r *Runner) Extract(ctx context.Context) (extract.Result, error) {
	l, err := lake.Open(r.Project.LakeDir())
	if err != nil {
		return extract.Result{RunID: r.RunID}, err
	}
	// Files a reload or a new snapshot replaced are deleted only once no
	// warehouse file reads them, nor a snapshot the Iceberg tables keep.
	readers := []lake.Readers{func() (map[string]bool, error) { return build.LakeParts(ctx, r.Project.WarehouseFile()) }}
	var cat extract.Catalog
	var catErr error
	if cfg := r.Project.Config.Lake.Iceberg; cfg.Enabled() {
		ic, err := iceberg.Open(ctx, cfg, l, r.Project.Env())
		if err != nil {
			// The lake is extracted all the same, keeping every file it
			// replaces; the next run catches the catalog up.
			catErr = secret.Error(err)
			readers = append(readers, func() (map[string]bool, error) { return nil, catErr })
		} else {
			defer ic.Close()
			ic.Logger = r.Logger
			cat = ic
			readers = append(readers, func() (map[string]bool, error) { return ic.Files(ctx) })
		}
	}
	res, err := extract.Run(ctx, extract.Options{
		Lake:        l,
		Sources:     r.Project.Config.Sources,
		Env:         r.Project.Env(),
		RunID:       r.RunID,
		Parallelism: r.Project.Config.Extract.Parallelism,
		Only:        r.Only,
		Full:        r.FullExtract,
		Readers:     lake.Union(readers...),
		Catalog:     cat,
		Progress:    r.Hooks.Extract,
		Logger:      r.Logger,
	})
	if catErr != nil {
		res.CatalogErrors = append([]string{catErr.Error() + "; the lake has the rows, and the next extract catches the catalog up"}, res.CatalogErrors...)
	}
	return res, err
}

// Build runs the build step.
func (r *Runner) Build(ctx context.Context) (build.Result, error) {
	p := r.Project
	return build.Build(ctx, build.Options{
		Warehouse:    p.WarehouseFile(),
		LakeDir:      p.LakeDir(),
		Models:       p.FS,
		ModelsDir:    "sql",
		RunID:        r.RunID,
		Threads:      p.Config.Build.Threads,
		Workers:      p.Config.Build.Workers,
		Steps:        Steps(p, r.RunID),
		Generate:     EntityModels(p),
		MemoryLimit:  duckdb.FormatSize(duckdb.DuckDBLimit(p.MemoryBudget())),
		Select:       r.Select,
		FullRefresh:  r.FullRefresh,
		Full:         r.Full,
		Now:          r.Now,
		SkipTests:    r.SkipTests,
		Progress:     r.Hooks.Build,
		TestProgress: r.Hooks.Test,
		Logger:       r.Logger,
	})
}

// Test runs the data tests against the published warehouse.
func (r *Runner) Test(ctx context.Context) ([]build.TestResult, error) {
	p := r.Project
	return build.RunTests(ctx, build.TestOptions{
		Warehouse: p.WarehouseFile(),
		LakeDir:   p.LakeDir(),
		Models:    p.FS,
		ModelsDir: "sql",
		RunID:     r.RunID,
		Select:    r.Select,
		Progress:  r.Hooks.Test,
		Logger:    r.Logger,
	})
}

// RenderDashboards renders the project's pages from the published warehouse
// into the site folder, in every language (r.Lang at the top), or into one
// file with r.SingleFile. The pages say "data as of" the end of the last
// successful build, so the same warehouse always gives the same bytes.
//
// A page file with problems, or a chart whose query fails, does not stop
// the others: they are rendered, the failed charts show the failure in
// their place, and the error lists every problem.
func (r *Runner) RenderDashboards(ctx context.Context) (render.Result, error) {
	p := r.Project
	pages, loadErr := spec.Load(p.FS, "dashboards")
	if loadErr != nil && len(pages) == 0 {
		return render.Result{}, loadErr
	}
	// Chart queries are SQL the user wrote: they run in the sandbox.
	sess, err := query.OpenWarehouse(p.WarehouseFile(), p.LakeDir(), "the published warehouse")
	if err != nil {
		return render.Result{}, err
	}
	defer sess.Close()
	db := sess.DB
	var asOf time.Time
	if err := db.QueryRowContext(ctx, "SELECT max(finished_at) FROM meta.build_runs WHERE kind = 'build' AND status = 'ok'").Scan(&asOf); err != nil {
		return render.Result{}, fmt.Errorf("reading the last build time: %w", err)
	}
	leftOut, err := readLeftOut(ctx, db)
	if err != nil {
		return render.Result{}, err
	}
	var unmapped []string
	for _, e := range contract.Names() {
		if _, ok := p.Config.Entities[e]; !ok {
			unmapped = append(unmapped, e)
		}
	}
	opts := render.Options{
		OutDir:     p.SiteDir(),
		Lang:       r.Lang,
		DataAsOf:   asOf.In(p.Location()),
		Currency:   p.Config.Currency,
		SingleFile: r.SingleFile,
		Pages:      r.Pages,
		Unmapped:   unmapped,
		LeftOut:    leftOut,
		Logger:     r.Logger,
	}
	res, err := render.Render(ctx, db, pages, opts)
	if err != nil && len(res.Files) == 0 {
		return res, errors.Join(loadErr, err)
	}
	if r.PDF != "" {
		pack, perr := pdf.Write(ctx, db, pages, pdf.Options{File: r.PDF, Render: opts})
		if pack.File != "" {
			res.PDF = pack.File
		}
		err = errors.Join(err, perr)
	}
	if r.Hooks.Dashboards != nil {
		for _, pg := range res.Pages {
			if r.SingleFile {
				r.Hooks.Dashboards(res.Index + pg.File) // crmwh.dashboards.html#en-overview
			} else {
				r.Hooks.Dashboards(pg.File)
			}
		}
	}
	r.Logger.Info("dashboards rendered", "run_id", r.RunID, "pages", len(res.Pages), "charts", res.Charts, "failed", res.Failed, "dir", res.Dir)
	return res, errors.Join(loadErr, err)
}

// readLeftOut reads what the published build left out for want of data
// (meta.left_out; absent in warehouses built before it existed).
func readLeftOut(ctx context.Context, db *sql.DB) (map[string][]string, error) {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'left_out'").Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT name, array_to_string(needs, '|') FROM meta.left_out")
	if err != nil {
		return nil, fmt.Errorf("reading meta.left_out: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var name, needs string
		if err := rows.Scan(&name, &needs); err != nil {
			return nil, err
		}
		out[name] = strings.Split(needs, "|")
	}
	return out, rows.Err()
}

// EntityModels returns the generator of the project's staging models: one
// per entity of the contract, from crmwh.yaml's entities (docs/your-data.md).
func EntityModels(p *project.Project) func(context.Context, *sql.DB, map[string]bool) ([]*models.Model, error) {
	return func(ctx context.Context, db *sql.DB, raw map[string]bool) ([]*models.Model, error) {
		ms, err := contract.Generate(ctx, db, p.Config.Entities, contract.Options{
			Timezone: p.Config.Timezone, Currency: p.Config.Currency, File: project.ConfigFile, Raw: raw,
		})
		var probs strictyaml.Problems
		if errors.As(err, &probs) {
			return nil, &project.ConfigError{Problems: probs}
		}
		return ms, err
	}
}

// ProjectModels returns the project's models as a build on db sees them:
// the files under sql/ and the staging models generated from the entity
// mapping, checked against the raw views db holds (a published warehouse
// will do: generating only reads).
func ProjectModels(ctx context.Context, p *project.Project, db *sql.DB) ([]*models.Model, error) {
	ms, err := models.Discover(p.FS, "sql")
	if err != nil {
		return nil, err
	}
	raw := map[string]bool{}
	rows, err := db.QueryContext(ctx, "SELECT view_name FROM duckdb_views() WHERE schema_name = 'raw'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		raw["raw."+v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	gen, err := EntityModels(p)(ctx, db, raw)
	if err != nil {
		return nil, err
	}
	return append(ms, gen...), nil
}

// Steps are the Go build steps of a project's build: the analytics
// settings, the CLV model fit and scoring, the cross-sell counts and
// offers, and the contracts' retention (left out without contracts).
func Steps(p *project.Project, runID string) []build.Step {
	a := p.Config.Analytics
	id := p.Config.Identity.WithDefaults()
	s := analytics.Settings{
		Currency: p.Config.Currency, Timezone: p.Config.Timezone, TimeUnit: a.TimeUnit, HoldoutDays: a.HoldoutDays,
		HorizonMonths: a.HorizonMonths, MonthlyDiscountRate: a.MonthlyDiscountRate, Margin: a.Margin,
		ChurnDefinition: a.Churn.Definition, InactivityDays: a.Churn.InactivityDays, PAliveThreshold: a.Churn.PAliveThreshold,
		MatchKey: id.Matches(contract.MatchKey), MatchEmail: id.Matches(contract.MatchEmail), MatchPhone: id.Matches(contract.MatchPhone),
		PhoneFormat: id.Phone,
		CLVOff:      a.CLV == "off", RefitDays: a.CLVRefitDays, RefitDrift: a.CLVRefitDrift,
		CrossSell: analytics.CrossSell{WindowDays: a.CrossSell.WindowDays, MinPairBaskets: a.CrossSell.MinPairBaskets,
			MinSupport: a.CrossSell.MinSupport, MinConfidence: a.CrossSell.MinConfidence, HoldoutDays: a.CrossSell.HoldoutDays,
			RefitDays: a.CrossSell.RefitDays},
		ContractPeriod: a.ContractPeriod,
	}
	return []build.Step{analytics.SettingsStep(s), analytics.CLVStep(s, runID), analytics.CrossSellStep(s), analytics.ContractRetentionStep(s)}
}
