package main

import (
	"github.com/spf13/cobra"

	"crmwh/refresh"
)

func extractCmd(g *globals) *cobra.Command {
	var only []string
	c := &cobra.Command{
		Use:   "extract [SOURCE | SOURCE.STREAM ...]",
		Short: "Load new data from the sources into the Parquet lake",
		Long: `extract reads every configured stream (or only those named) incrementally:
SQL tables from after their last watermark, CSV files not loaded before.
Files become visible in the lake only when complete and recorded in its
manifest, so running it again with no new data adds nothing.`,
		Example: `  crmwh extract
  crmwh extract billing.orders --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSteps(cmd, g, []string{refresh.StepExtract}, stepOptions{only: append(only, args...)})
		},
	}
	addWaitFlag(c, g)
	return c
}
