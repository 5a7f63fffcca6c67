package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwh/project"
	"crmwh/refresh"
	"crmwh/refresh/history"
	"crmwh/schedules/scheduler"
	"crmwh/schedules/spec"
)

func refreshCmd(g *globals) *cobra.Command {
	var schedule string
	c := &cobra.Command{
		Use:   "refresh",
		Short: "Extract, build and render the dashboards, with a step-by-step summary",
		Long: `refresh runs extract, build and dashboards in order and stops at the first
failed step. It is safe to run again at any time: extraction is incremental
and the warehouse is replaced only by a complete build. Only one refresh of
a project runs at a time (a file lock shared with the scheduler); --wait
says how long to wait for another one to finish.

With --schedule NAME it runs that schedule's steps with its timeout, retries
and failure notification, for outside schedulers (cron, Kubernetes).

Exit codes: 0 ok, 1 anything else, 2 configuration error, 3 another refresh
holds the project lock, 4 a source failed, 5 the build or a data test
failed, 6 the dashboards failed, 7 stopped by SIGTERM or SIGINT, 8 the
lake folder is not writable.`,
		Example: `  crmwh refresh
  crmwh refresh --json > run.json
  crmwh refresh --wait 10m --schedule nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if schedule != "" {
				return runSchedule(cmd, g, schedule)
			}
			return runSteps(cmd, g, refresh.AllSteps, stepOptions{})
		},
	}
	addWaitFlag(c, g)
	c.Flags().StringVar(&schedule, "schedule", "", "run this schedule's steps now, with its timeout, retries and failure notification")
	return c
}

// stepOptions are what some verbs add to a run.
type stepOptions struct {
	only        []string // streams to extract
	fullExtract bool     // reload them from scratch
	selectors   []string // models to build or test
	fullRefresh bool
	full        bool // build every model in a new file
	skipTests   bool
	singleFile  bool     // dashboards as one file
	pages       []string // dashboard pages to render
	pdf         string   // the board pack's file (dashboards --pdf)
}

// runSteps runs refresh steps on the project under the project lock, with
// progress, a summary and a record in the run history.
func runSteps(cmd *cobra.Command, g *globals, steps []string, so stepOptions) error {
	p, err := g.loadProject()
	if err != nil {
		return err
	}
	u := newUI(g.out, g.errw, g.json)
	log := u.logger(g.verbose)
	r := &refresh.Runner{
		Project:     p,
		RunID:       refresh.NewRunID(time.Now()),
		Logger:      log,
		Only:        so.only,
		FullExtract: so.fullExtract,
		Select:      so.selectors,
		FullRefresh: so.fullRefresh,
		Full:        so.full,
		SkipTests:   so.skipTests,
		Lang:        g.lang,
		SingleFile:  so.singleFile,
		Pages:       so.pages,
		PDF:         so.pdf,
	}
	r.Hooks = progressHooks(u)
	store := openHistory(p, log)
	if store != nil {
		defer store.Close()
	}
	u.line("crmwh %s on %s (run %s)", cmd.Name(), projectLabel(p), r.RunID)
	job := &refresh.Job{
		Runner:   r,
		Steps:    steps,
		Command:  cmd.Name(),
		Trigger:  history.TriggerManual,
		LockWait: g.wait,
		History:  store,
	}
	out, err := job.Run(cmd.Context())
	u.summary(out.Summary)
	return err
}

// runSchedule runs one schedule of schedules/*.yaml now, as the scheduler
// would (its steps, timeout, retries, notification), for outside
// schedulers. --wait, when given, replaces the schedule's lock_wait.
func runSchedule(cmd *cobra.Command, g *globals, name string) error {
	p, err := g.loadProject()
	if err != nil {
		return err
	}
	all, err := spec.LoadProject(p)
	if err != nil {
		return err
	}
	var s *spec.Schedule
	var names []string
	for _, x := range all {
		names = append(names, x.Name)
		if x.Name == name {
			s = x
		}
	}
	if s == nil {
		return &usageError{fmt.Errorf("--schedule %s: no such schedule in %s/ (known: %s)", name, spec.Dir, strings.Join(names, ", "))}
	}
	if err := s.Runnable(); err != nil {
		return fmt.Errorf("--schedule %s is broken and does not run: %w", name, err)
	}
	if cmd.Flags().Changed("wait") {
		c := *s
		c.LockWait = g.wait
		s = &c
	}
	u := newUI(g.out, g.errw, g.json)
	log := u.logger(g.verbose)
	store := openHistory(p, log)
	if store != nil {
		defer store.Close()
	}
	u.line("crmwh refresh on %s: schedule %s (%s)", projectLabel(p), s.Name, strings.Join(s.Steps, ", "))
	ex := &scheduler.Executor{Project: p, History: store, Logger: log, Command: "refresh", Lang: g.lang, Hooks: progressHooks(u)}
	res, err := ex.Run(cmd.Context(), scheduler.Request{Schedule: s, Trigger: history.TriggerManual})
	u.summary(res.Last().Summary)
	return err
}

// progressHooks show a run's progress on the terminal.
func progressHooks(u *ui) refresh.Hooks {
	return refresh.Hooks{
		Extract: u.extractProgress,
		Build:   u.buildProgress,
		Test:    u.testProgress,
		Dashboards: func(page string) {
			u.line("  ✓ %s", page)
		},
		StepStart: u.stepHeader,
	}
}

// openHistory opens the project's run history; a history that cannot be
// opened is reported and the run goes on without it.
func openHistory(p *project.Project, log *slog.Logger) *history.Store {
	s, err := history.Open(p.StateDir(), 0)
	if err != nil {
		log.Warn("the run history is unavailable; this run will not be recorded", "err", err)
		return nil
	}
	return s
}

// addWaitFlag adds --wait, how long to wait for another refresh.
func addWaitFlag(c *cobra.Command, g *globals) {
	c.Flags().DurationVar(&g.wait, "wait", 0, "how long to wait for another refresh of the project to finish (0s: exit at once with code 3)")
}

// projectLabel names the project for messages.
func projectLabel(p *project.Project) string {
	if p.Embedded {
		return "the built-in default project in " + p.Dir
	}
	return p.Dir
}
