package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"crmwh/pipelines/extract"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/secret"
	"crmwh/project"
	"crmwh/refresh"
	"crmwh/warehouse/duckdb"
)

// Exit codes, documented in the README.
const (
	exitOK         = 0
	exitFailure    = 1 // anything not listed below
	exitConfig     = 2 // bad command line or project configuration
	exitLockHeld   = 3 // another refresh holds the project lock, or another process writes the lake
	exitSource     = 4 // extraction from a source failed
	exitBuild      = 5 // a model or an error-level data test failed
	exitDashboards = 6 // rendering the dashboards failed
	exitInterrupt  = 7 // stopped by SIGTERM or SIGINT before it finished
	exitLakeWrite  = 8 // the lake folder cannot be written (read-only file system, permissions)
)

// globals are the flags every verb takes.
type globals struct {
	project string
	json    bool
	verbose bool
	lang    string
	wait    time.Duration // how long to wait for the project lock
	out     io.Writer
	errw    io.Writer
}

// usageError marks command-line mistakes (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func execute(args []string, stdout, stderr io.Writer) int {
	g := &globals{out: stdout, errw: stderr}
	root := &cobra.Command{
		Use:   "crmwh",
		Short: "Analytic-CRM warehouse: sources → Parquet lake → DuckDB warehouse → dashboards",
		Long: `crmwh pulls a company's customer data (CRM database, billing exports,
survey files) into a Parquet lake, models it in DuckDB into a unified
customer view and value and retention marts, and renders static dashboards.

Every command works on the project in the current folder (crmwh.yaml, sql/,
dashboards/, schedules/), or on the default project built into the binary
when there is none.`,
		Example: `  crmwh demo                 # write the demo company's systems to data/demo
  crmwh refresh              # extract, build and render the dashboards
  crmwh sql "SELECT * FROM mart_kpi_monthly"`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.PersistentFlags().StringVarP(&g.project, "project", "C", "", "project folder (default: the current folder if it has crmwh.yaml, else the built-in default project; env CRMWH_PROJECT)")
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print the result as JSON on stdout and no progress")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log every step (info level)")
	root.PersistentFlags().StringVar(&g.lang, "lang", "en", "language of the dashboards at the top of the site folder, en or zh (both are written)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		initCmd(g), demoCmd(g), extractCmd(g), buildCmd(g), dashboardsCmd(g), refreshCmd(g), sqlCmd(g), testCmd(g), docsCmd(g),
		schedulerCmd(g), runsCmd(g), statusCmd(g), clvCmd(g), stateCmd(g), lakeCmd(g),
	)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	msg := secret.Mask(err.Error())
	if code == exitConfig && strings.HasPrefix(msg, "unknown command") {
		msg += " (see crmwh --help)"
	}
	for _, l := range strings.Split(strings.TrimSpace(msg), "\n") {
		fmt.Fprintf(stderr, "crmwh: %s\n", l)
	}
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ue *usageError
	var se *refresh.StepError
	switch {
	case errors.As(err, &ue), errors.Is(err, project.ErrConfig), errors.Is(err, extract.ErrNoStream):
		return exitConfig
	case errors.Is(err, refresh.ErrLocked), errors.Is(err, lake.ErrLocked):
		return exitLockHeld
	case errors.Is(err, refresh.ErrInterrupted):
		return exitInterrupt
	case errors.Is(err, lake.ErrNotWritable):
		return exitLakeWrite
	case strings.HasPrefix(err.Error(), "unknown command"), strings.HasPrefix(err.Error(), "unknown flag"),
		strings.Contains(err.Error(), "arg(s)"):
		return exitConfig
	case errors.As(err, &se):
		switch se.Step {
		case refresh.StepExtract:
			return exitSource
		case refresh.StepBuild, refresh.StepTest:
			return exitBuild
		case refresh.StepDashboards:
			return exitDashboards
		}
	case errors.Is(err, duckdb.ErrNoWarehouse):
		return exitFailure
	}
	return exitFailure
}

// loadProject loads the project named by --project, and makes its memory
// budget (build.memory_limit) the process's: every DuckDB database opened
// from here on keeps to DuckDB's part of it and spills to disk, and the Go
// heap to the rest.
func (g *globals) loadProject() (*project.Project, error) {
	p, err := project.Load(g.project)
	if err != nil {
		return nil, err
	}
	duckdb.SetMemoryBudget(p.MemoryBudget())
	return p, nil
}

// loadLake loads the project and opens its lake.
func (g *globals) loadLake() (*project.Project, *lake.Lake, error) {
	p, err := g.loadProject()
	if err != nil {
		return nil, nil, err
	}
	l, err := lake.Open(p.LakeDir())
	if err != nil {
		return nil, nil, err
	}
	return p, l, nil
}
