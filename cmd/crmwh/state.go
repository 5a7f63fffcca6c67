package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwh/pipelines/extract"
)

func stateCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "state",
		Short: "Show or reset what extraction remembers of each stream",
		Long: `state shows each stream's watermark, last run and row counts, and resets a
stream so that the next extract reloads it from scratch. Nothing else ever
reloads a stream on its own.`,
		Example: `  crmwh state show
  crmwh state reset crm.customers`,
	}
	c.AddCommand(stateShowCmd(g), stateResetCmd(g))
	return c
}

func stateShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show [SOURCE | SOURCE.STREAM ...]",
		Short: "List each stream's watermark, last run and row counts",
		Long: `show lists every configured stream (or those named), and streams the lake
still holds that crmwh.yaml no longer names: the watermark loaded so far,
the last run (its id, outcome, rows and quarantined rows), the rows in the
lake, the files loaded, the NULL-watermark snapshot, any full reload
asked for or under way, and warnings that still hold (a file changed or
grew after it was loaded, an optional stream's files missing).`,
		Example: `  crmwh state show
  crmwh state show crm --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, l, err := g.loadLake()
			if err != nil {
				return err
			}
			states, err := extract.States(l, p.Config.Sources, args)
			if err != nil {
				return &usageError{err}
			}
			if g.json {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(states)
			}
			printStates(g.out, states, time.Now())
			return nil
		},
	}
}

func stateResetCmd(g *globals) *cobra.Command {
	var cancel bool
	c := &cobra.Command{
		Use:   "reset SOURCE[.STREAM] ...",
		Short: "Make the next extract reload streams from scratch",
		Long: `reset asks for a full reload of the named streams: the next extract reads
them from the beginning (all rows of a table, every file of a glob) and,
when that completes, its rows replace the stream's in the lake. Until then
builds keep reading the current rows; a reload killed half-way is carried
on by the next extract. --cancel drops a reload asked for by mistake.
The same as crmwh extract --full STREAM, but without extracting now.`,
		Example: `  crmwh state reset crm.customers
  crmwh state reset billing --cancel`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, l, err := g.loadLake()
			if err != nil {
				return err
			}
			by := "crmwh state reset"
			if cancel {
				by += " --cancel"
			}
			changes, err := extract.RequestReloads(l, p.Config.Sources, args, by, cancel)
			if err != nil {
				return err
			}
			if g.json {
				names := make([]string, len(changes))
				for i, c := range changes {
					names[i] = c.Name
				}
				return json.NewEncoder(g.out).Encode(map[string]any{"streams": names, "cancel": cancel, "changes": changes})
			}
			for _, c := range changes {
				switch {
				case c.Cancelled != nil:
					r := c.Cancelled
					fmt.Fprintf(g.out, "%s: cancelled the full reload asked for by %s %s ago (%s rows loaded so far, discarded); the stream stays as it is\n",
						c.Name, r.RequestedBy, ago(time.Since(r.RequestedAt)), thousands(r.Rows))
				case cancel:
					fmt.Fprintf(g.out, "%s: no reload pending; the stream stays as it is\n", c.Name)
				default:
					fmt.Fprintf(g.out, "%s: the next extract reloads it from scratch (its current rows stay until the reload completes)\n", c.Name)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&cancel, "cancel", false, "drop a requested or half-done reload instead")
	return c
}

// printStates writes the state table.
func printStates(w io.Writer, states []extract.StreamState, now time.Time) {
	fmt.Fprintf(w, "%-28s %-42s %-38s %12s %11s %6s\n", "stream", "watermark", "last run", "lake rows", "quarantined", "files")
	for _, s := range states {
		wm := "-"
		if s.Watermark != nil {
			wm = s.Watermark.Column + " " + s.Watermark.Value
		}
		last := "never run"
		if r := s.LastRun; r != nil {
			last = fmt.Sprintf("%s %s %s ago", r.RunID, r.Status, ago(now.Sub(r.FinishedAt)))
		}
		files := "-"
		if s.Files > 0 {
			files = thousands(int64(s.Files))
		}
		fmt.Fprintf(w, "%-28s %-42s %-38s %12s %11s %6s\n", s.Name(), wm, last, thousands(s.Rows), thousands(s.Quarantined), files)
		var notes []string
		if !s.Configured {
			notes = append(notes, "no longer in crmwh.yaml")
		}
		if s.LookbackRows > 0 {
			notes = append(notes, fmt.Sprintf("look-back window remembers %s rows", thousands(int64(s.LookbackRows))))
		}
		if s.NullWatermarkRows > 0 {
			notes = append(notes, fmt.Sprintf("%s rows with a NULL watermark (snapshot)", thousands(s.NullWatermarkRows)))
		}
		if s.Reload != nil {
			notes = append(notes, fmt.Sprintf("full reload pending (%s, %s ago; %s rows so far)", s.Reload.RequestedBy, ago(now.Sub(s.Reload.RequestedAt)), thousands(s.Reload.Rows)))
		}
		if r := s.LastRun; r != nil && r.Status == "failed" {
			notes = append(notes, "last error: "+firstLine(r.Error))
		}
		for _, w := range s.Warnings {
			notes = append(notes, fmt.Sprintf("warning (%s, run %s): %s", w.Kind, w.RunID, w.Msg))
		}
		for _, n := range notes {
			fmt.Fprintf(w, "    %s\n", n)
		}
	}
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
