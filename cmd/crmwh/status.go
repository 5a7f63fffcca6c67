package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"crmwh/refresh"
	"crmwh/refresh/history"
	"crmwh/schedules/scheduler"
	"crmwh/schedules/spec"
)

// statusReport is what `crmwh status --json` prints.
type statusReport struct {
	Project   string           `json:"project"`
	Scheduler schedulerStatus  `json:"scheduler"`
	Lock      lockStatus       `json:"lock"`
	Schedules []scheduleStatus `json:"schedules"`
	// Manual is the newest run made by hand (crmwh refresh, build, …).
	Manual *history.Run `json:"manual_last_run"`
}

type schedulerStatus struct {
	Running     bool      `json:"running"`
	PID         int       `json:"pid,omitempty"`
	Listen      string    `json:"listen,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	HeartbeatAt time.Time `json:"heartbeat_at,omitzero"`
	StoppedAt   time.Time `json:"stopped_at,omitzero"`
}

type lockStatus struct {
	Held   bool            `json:"held"`
	Holder *refresh.Holder `json:"holder,omitempty"`
}

type scheduleStatus struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	File        string `json:"file"`
	Cron        string `json:"cron"`
	Timezone    string `json:"timezone"`
	Enabled     bool   `json:"enabled"`
	// Status is enabled, disabled or broken (it names sources or streams
	// crmwh.yaml does not have; Problems says which, and it never runs).
	Status   string       `json:"status"`
	Problems []string     `json:"problems,omitempty"`
	Steps    []string     `json:"steps"`
	NextRun  time.Time    `json:"next_run,omitzero"`
	LastRun  *history.Run `json:"last_run"`
}

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each schedule's last run and next planned run, the scheduler and the project lock",
		Long: `status checks the schedule files (a malformed one exits with code 2, naming
file, line and key), then shows for every schedule its last run and when it
runs next in its own time zone, whether a scheduler is running on the
project, and who holds the project lock. A schedule that names a source or
stream crmwh.yaml does not have is shown as broken, with the reason; it
never runs, and the other schedules are not affected.`,
		Example: `  crmwh status
  crmwh status --json | jq '.schedules[] | {name, next_run}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			all, err := spec.LoadProject(p)
			if err != nil {
				return err
			}
			store, err := existingHistory(p)
			if err != nil {
				return err
			}
			if store != nil {
				defer store.Close()
			}
			ctx := cmd.Context()
			rep := statusReport{Project: p.Dir}
			var d history.Daemon
			var ok bool
			last := map[string]history.Run{}
			if store != nil {
				if d, ok, err = store.Daemon(ctx); err != nil {
					return err
				}
				if last, err = store.Last(ctx); err != nil {
					return err
				}
			}
			running, _, err := refresh.Probe(filepath.Join(p.StateDir(), scheduler.LockFile))
			if err != nil {
				return err
			}
			if ok {
				rep.Scheduler = schedulerStatus{Running: running, PID: d.PID, Listen: d.Listen, StartedAt: d.StartedAt,
					HeartbeatAt: d.HeartbeatAt, StoppedAt: d.StoppedAt}
			}
			rep.Scheduler.Running = running
			rep.Lock.Held, rep.Lock.Holder, err = refresh.Probe(refresh.ProjectLockPath(p))
			if err != nil {
				return err
			}
			if r, ok := last[""]; ok {
				rep.Manual = &r
			}
			now := time.Now()
			for _, s := range all {
				st := scheduleStatus{Name: s.Name, Description: s.Description, File: s.File, Cron: s.Cron, Timezone: s.Timezone, Enabled: s.Enabled,
					Status: s.Status(), Steps: s.Steps}
				for _, p := range s.Broken {
					st.Problems = append(st.Problems, p.Error())
				}
				if r, ok := last[s.Name]; ok {
					st.LastRun = &r
				}
				var started, lastScheduled time.Time
				if running && store != nil {
					started = d.StartedAt
					sched, err := store.List(ctx, history.Filter{Schedule: s.Name, Triggers: []string{history.TriggerCron}, Limit: 1})
					if err != nil {
						return err
					}
					if len(sched) > 0 {
						lastScheduled = sched[0].StartedAt
					}
				}
				st.NextRun = scheduler.NextRun(s, now, started, lastScheduled)
				rep.Schedules = append(rep.Schedules, st)
			}
			if g.json {
				return writeIndented(g.out, rep)
			}
			printStatus(g, rep, all, p.Location(), now)
			return nil
		},
	}
}

func printStatus(g *globals, rep statusReport, all []*spec.Schedule, loc *time.Location, now time.Time) {
	w := g.out
	fmt.Fprintf(w, "project %s\n", rep.Project)
	sc := rep.Scheduler
	switch {
	case sc.Running:
		line := fmt.Sprintf("scheduler: running, pid %d, since %s, last heartbeat %s ago", sc.PID,
			sc.StartedAt.In(loc).Format("2006-01-02 15:04:05 MST"), now.Sub(sc.HeartbeatAt).Round(time.Second))
		if sc.Listen != "" {
			line += ", http://" + sc.Listen
		}
		fmt.Fprintln(w, line)
	case !sc.HeartbeatAt.IsZero():
		fmt.Fprintf(w, "scheduler: not running (last seen %s)\n", sc.HeartbeatAt.In(loc).Format("2006-01-02 15:04:05 MST"))
	default:
		fmt.Fprintln(w, "scheduler: not running (never started on this project)")
	}
	if rep.Lock.Held {
		who := "another process"
		if rep.Lock.Holder != nil {
			who = rep.Lock.Holder.String()
		}
		fmt.Fprintf(w, "project lock: held by %s\n", who)
	} else {
		fmt.Fprintln(w, "project lock: free")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tWHEN\tZONE\tSTEPS\tLAST RUN\tNEXT RUN")
	for i, st := range rep.Schedules {
		loc := all[i].Location
		lastRun := "never"
		if r := st.LastRun; r != nil {
			lastRun = fmt.Sprintf("%s %s (%s, %s)", r.Status, r.StartedAt.In(loc).Format("2006-01-02 15:04 MST"), r.Trigger,
				r.Duration().Round(time.Second))
		}
		next := "disabled"
		switch {
		case len(st.Problems) > 0:
			next = "BROKEN (never runs, see below)"
		case !st.Enabled:
		case st.NextRun.IsZero():
			next = "when the scheduler runs"
		default:
			next = fmt.Sprintf("%s (in %s)", st.NextRun.In(loc).Format("2006-01-02 15:04 MST"), roughly(st.NextRun.Sub(now)))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.Cron, st.Timezone, strings.Join(st.Steps, ","), lastRun, next)
	}
	_ = tw.Flush()
	for _, st := range rep.Schedules {
		if len(st.Problems) > 0 {
			fmt.Fprintf(w, "\nschedule %s is broken: it names what crmwh.yaml does not have, so it never runs (the other schedules do):\n", st.Name)
			for _, p := range st.Problems {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
	}
	if r := rep.Manual; r != nil {
		fmt.Fprintf(w, "\nlast run by hand: crmwh %s, %s %s (run %s)\n", r.Command, r.Status,
			r.StartedAt.In(loc).Format("2006-01-02 15:04 MST"), r.RunID)
	}
	if !sc.Running {
		fmt.Fprintln(w, "\nnext runs are when `crmwh scheduler` runs them (or an outside scheduler runs `crmwh refresh --schedule NAME`)")
	}
}

// roughly shows a duration to the minute (to the second under a minute).
func roughly(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	s := d.Round(time.Minute).String()
	return strings.TrimSuffix(s, "0s")
}
