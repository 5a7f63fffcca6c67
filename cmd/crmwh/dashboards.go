package main

import (
	"github.com/spf13/cobra"

	"crmwh/refresh"
)

func dashboardsCmd(g *globals) *cobra.Command {
	var so stepOptions
	c := &cobra.Command{
		Use:   "dashboards",
		Short: "Render the dashboard pages from the published warehouse into the site folder",
		Long: `dashboards runs every chart's query of the pages in dashboards/*.yaml against
the published warehouse and writes a static site that works offline from
file://: index.html, one page per spec, each chart's data as CSV, and the
ECharts script. Every page is written in English and in Chinese: --lang
chooses the language at the top of the folder, the other one goes in a
folder of its own (site/zh/ or site/en/), and every page links to itself in
the other language.

--single-file writes one self-contained HTML file instead
(site/crmwh.dashboards.html: every page in both languages, scripts and CSV
data inlined), to send by e-mail.

A page file with a mistake, or a chart whose query fails, does not stop the
other pages: they are rendered, the failed chart shows the failure in its
place, and the command exits with code 6 listing every problem.`,
		Example: `  crmwh dashboards
  crmwh dashboards --lang zh
  crmwh dashboards --page overview --page value
  crmwh dashboards --single-file`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSteps(cmd, g, []string{refresh.StepDashboards}, so)
		},
	}
	c.Flags().BoolVar(&so.singleFile, "single-file", false, "write one self-contained HTML file (every page, both languages) instead of a folder")
	c.Flags().StringArrayVar(&so.pages, "page", nil, "render only this page (by its name; repeat for more)")
	addWaitFlag(c, g)
	return c
}
