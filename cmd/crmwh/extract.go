package main

import (
	"errors"

	"github.com/spf13/cobra"

	"crmwh/refresh"
)

func extractCmd(g *globals) *cobra.Command {
	var only []string
	var full bool
	c := &cobra.Command{
		Use:   "extract [SOURCE | SOURCE.STREAM ...]",
		Short: "Load new data from the sources into the Parquet lake",
		Long: `extract reads every configured stream (or only those named) incrementally:
SQL tables from after their last watermark (and the look-back window below
it), CSV and JSON Lines files not loaded before. Files become visible in the
lake only when complete and recorded in its manifest, so running it again
with no new data adds nothing, and a killed run loses and doubles nothing.

--full reloads the named streams from scratch; their new rows replace the
old ones when the reload completes. With --wait, a run that finds another
extract or refresh under way waits for it (up to the time given) instead
of exiting. Exit codes: 0 ok, 2 bad command line or configuration, 3
another process is writing the lake (the message names it), 4 a stream
failed, 8 the lake folder is not writable.`,
		Example: `  crmwh extract
  crmwh extract billing.orders --json
  crmwh extract --full crm.customers`,
		RunE: func(cmd *cobra.Command, args []string) error {
			streams := append(only, args...)
			if full && len(streams) == 0 {
				return &usageError{errors.New("--full: name the streams to reset (SOURCE or SOURCE.STREAM); nothing is reset by default")}
			}
			return runSteps(cmd, g, []string{refresh.StepExtract}, stepOptions{only: streams, fullExtract: full})
		},
	}
	c.Flags().BoolVar(&full, "full", false, "reload the named streams from scratch")
	addWaitFlag(c, g)
	return c
}
