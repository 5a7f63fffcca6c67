package main

import (
	"time"

	"github.com/spf13/cobra"

	"crmwh/project"
	"crmwh/refresh"
)

func refreshCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Extract, build and render the dashboards, with a step-by-step summary",
		Long: `refresh runs extract, build and dashboards in order and stops at the first
failed step. It is safe to run again at any time. Exit codes: 0 ok,
2 configuration error, 4 a source failed, 5 the build failed, 6 the
dashboards failed, 1 anything else.`,
		Example: `  crmwh refresh
  crmwh refresh --json > run.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSteps(cmd, g, refresh.AllSteps, stepOptions{})
		},
	}
}

// stepOptions are what some verbs add to a run.
type stepOptions struct {
	only        []string // streams to extract
	selectors   []string // models to build or test
	fullRefresh bool
	singleFile  bool     // dashboards as one file
	pages       []string // dashboard pages to render
}

// runSteps runs refresh steps on the project with progress and a summary.
func runSteps(cmd *cobra.Command, g *globals, steps []string, so stepOptions) error {
	p, err := g.loadProject()
	if err != nil {
		return err
	}
	u := newUI(g.out, g.errw, g.json)
	r := &refresh.Runner{
		Project:     p,
		RunID:       refresh.NewRunID(time.Now()),
		Logger:      u.logger(g.verbose),
		Only:        so.only,
		Select:      so.selectors,
		FullRefresh: so.fullRefresh,
		Lang:        g.lang,
		SingleFile:  so.singleFile,
		Pages:       so.pages,
	}
	r.Hooks = refresh.Hooks{
		Extract: u.extractProgress,
		Build:   u.buildProgress,
		Test:    u.testProgress,
		Dashboards: func(page string) {
			u.line("  ✓ %s", page)
		},
	}
	r.Hooks.StepStart = u.stepHeader
	u.line("crmwh %s on %s (run %s)", cmd.Name(), projectLabel(p), r.RunID)
	sum, err := r.Run(cmd.Context(), steps)
	u.summary(sum)
	return err
}

// projectLabel names the project for messages.
func projectLabel(p *project.Project) string {
	if p.Embedded {
		return "the built-in default project in " + p.Dir
	}
	return p.Dir
}
