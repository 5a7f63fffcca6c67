package main

import (
	"github.com/spf13/cobra"

	"crmwh/refresh"
)

func testCmd(g *globals) *cobra.Command {
	var so stepOptions
	c := &cobra.Command{
		Use:   "test",
		Short: "Run the data tests against the published warehouse and record the results",
		Long: `test runs every data test declared in the YAML files beside the models
(unique, not_null, accepted_values, relationships, row_count, freshness,
assert, sql) against the published warehouse. Results are added to
meta.test_results (meta.test_status shows each test's latest status, since
when it has been failing and its trend) without ever blocking readers. Exit
code 5 when an error-level test fails; warnings do not fail.`,
		Example: `  crmwh test
  crmwh test --select fct_orders --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSteps(cmd, g, []string{refresh.StepTest}, so)
		},
	}
	c.Flags().StringSliceVarP(&so.selectors, "select", "s", nil, "models whose tests to run")
	addWaitFlag(c, g)
	return c
}
