package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"crmwh/project"
	"crmwh/refresh/history"
)

func runsCmd(g *globals) *cobra.Command {
	var f history.Filter
	c := &cobra.Command{
		Use:   "runs [RUN_ID]",
		Short: "List recent runs (scheduled and manual) from the run history, or show one run's steps",
		Long: `runs lists the newest runs of the project, newest first: schedule (- for
commands run by hand), trigger (cron, manual, http, missed), attempt,
status (ok, failed, interrupted, skipped, running), start, duration, rows
extracted and error. With a run id it shows that run's steps. The history
is kept in the state folder (paths.state) for --keep-days of the scheduler
(90 by default).`,
		Example: `  crmwh runs
  crmwh runs --schedule nightly --limit 5
  crmwh runs 20261123T183000Z-0a1b
  crmwh runs --json | jq '.[] | select(.status == "failed")'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			store, err := existingHistory(p)
			if err != nil {
				return err
			}
			if store == nil {
				if len(args) == 1 {
					return fmt.Errorf("%w %q: no run has been recorded in %s yet", history.ErrNotFound, args[0], p.StateDir())
				}
				if g.json {
					return writeIndented(g.out, []history.Run{})
				}
				fmt.Fprintln(g.out, "no runs recorded yet")
				return nil
			}
			defer store.Close()
			loc := p.Location()
			if len(args) == 1 {
				r, err := store.Get(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json {
					return writeIndented(g.out, r)
				}
				printRun(g.out, r, loc)
				return nil
			}
			runs, err := store.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if g.json {
				return writeIndented(g.out, append([]history.Run{}, runs...))
			}
			if len(runs) == 0 {
				fmt.Fprintln(g.out, "no runs recorded yet")
				return nil
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tSCHEDULE\tTRIGGER\tATTEMPT\tSTATUS\tSTARTED\tDURATION\tROWS\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%d\t%s\n", r.RunID, orDash(r.Schedule), r.Trigger, r.Attempt, r.MaxAttempts,
					r.Status, r.StartedAt.In(loc).Format("2006-01-02 15:04:05"), r.Duration().Round(time.Millisecond),
					r.RowsExtracted, oneLine(r.Error, 100))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&f.Schedule, "schedule", "", "only this schedule's runs (- for runs made by hand)")
	c.Flags().IntVarP(&f.Limit, "limit", "n", 20, "how many runs")
	return c
}

// existingHistory opens the project's run history, or returns nil when
// nothing was ever recorded: reading commands create no files.
func existingHistory(p *project.Project) (*history.Store, error) {
	if _, err := os.Stat(filepath.Join(p.StateDir(), history.File)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return history.Open(p.StateDir(), 0)
}

// printRun shows one run and its steps.
func printRun(w io.Writer, r history.Run, loc *time.Location) {
	fmt.Fprintf(w, "run %s: %s\n", r.RunID, r.Status)
	fmt.Fprintf(w, "  schedule  %s (trigger %s, attempt %d of %d, crmwh %s, pid %d on %s)\n", orDash(r.Schedule), r.Trigger,
		r.Attempt, r.MaxAttempts, r.Command, r.PID, r.Host)
	if !r.ScheduledAt.IsZero() {
		fmt.Fprintf(w, "  due       %s\n", r.ScheduledAt.In(loc).Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprintf(w, "  started   %s\n", r.StartedAt.In(loc).Format("2006-01-02 15:04:05 MST"))
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(w, "  finished  %s (%s)\n", r.FinishedAt.In(loc).Format("2006-01-02 15:04:05 MST"), r.Duration().Round(time.Millisecond))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error     %s\n", r.Error)
	}
	for _, s := range r.Steps {
		d := ""
		if s.Status != "skipped" {
			d = (time.Duration(s.DurationMS) * time.Millisecond).String()
		}
		fmt.Fprintf(w, "  %-11s %-8s %10s  %s\n", s.Step, s.Status, d, s.Detail)
		if s.Error != "" {
			fmt.Fprintf(w, "  %-11s %s\n", "", s.Error)
		}
	}
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine shortens a message to its first line and n characters.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
