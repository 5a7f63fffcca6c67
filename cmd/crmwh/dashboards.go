package main

import (
	"github.com/spf13/cobra"

	"crmwh/refresh"
)

func dashboardsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "dashboards",
		Short: "Render the dashboard pages from the published warehouse into the site folder",
		Long: `dashboards runs every chart's query of the pages in dashboards/*.yaml against
the published warehouse and writes a static site (index.html, one page per
spec, each chart's data as CSV, the ECharts script) that works offline
from file://.`,
		Example: `  crmwh dashboards
  crmwh dashboards --lang zh`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSteps(cmd, g, []string{refresh.StepDashboards}, stepOptions{})
		},
	}
	addWaitFlag(c, g)
	return c
}
