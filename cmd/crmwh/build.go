package main

import (
	"github.com/spf13/cobra"

	"crmwh/refresh"
)

func buildCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "build",
		Short: "Build the DuckDB warehouse from the lake and publish it if every model succeeds",
		Long: `build writes a new warehouse file: raw views over the lake, then every model
under sql/ in dependency order. Only when all succeed is the new file renamed
over the published one (the previous one is kept as <file>.prev); a failed
build leaves the published warehouse exactly as it was.`,
		Example: `  crmwh build
  crmwh build --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSteps(cmd, g, []string{refresh.StepBuild}, nil)
		},
	}
	addWaitFlag(c, g)
	return c
}
