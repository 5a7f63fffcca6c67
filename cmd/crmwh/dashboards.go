package main

import (
	"path/filepath"

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

--pdf writes the board pack as well: one PDF of the pages (--page, or every
page but data health) in the language of --lang, printed by headless
Chromium (A4 landscape, a page of the dashboards per sheet, the headings as
bookmarks), to site/board-pack.<lang>.pdf or the file given (--pdf=FILE).

A page file with a mistake, or a chart whose query fails, does not stop the
other pages: they are rendered, the failed chart shows the failure in its
place, and the command exits with code 6 listing every problem.`,
		Example: `  crmwh dashboards
  crmwh dashboards --lang zh
  crmwh dashboards --page overview --page value
  crmwh dashboards --single-file
  crmwh dashboards --pdf --lang zh --page overview --page value --page appendix
  crmwh dashboards --pdf=/tmp/board.pdf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if so.pdf == defaultPDF {
				p, err := g.loadProject()
				if err != nil {
					return err
				}
				lang := g.lang
				if lang == "" {
					lang = "en"
				}
				so.pdf = filepath.Join(p.SiteDir(), "board-pack."+lang+".pdf")
			} else if so.pdf != "" {
				abs, err := filepath.Abs(so.pdf)
				if err != nil {
					return err
				}
				so.pdf = abs
			}
			return runSteps(cmd, g, []string{refresh.StepDashboards}, so)
		},
	}
	c.Flags().BoolVar(&so.singleFile, "single-file", false, "write one self-contained HTML file (every page, both languages) instead of a folder")
	c.Flags().StringArrayVar(&so.pages, "page", nil, "render only this page (by its name; repeat for more)")
	c.Flags().StringVar(&so.pdf, "pdf", "", "also write the board pack: the pages as one PDF (default file site/board-pack.<lang>.pdf; --pdf=FILE)")
	c.Flags().Lookup("pdf").NoOptDefVal = defaultPDF
	addWaitFlag(c, g)
	return c
}

// defaultPDF stands for --pdf without a file: the site folder's
// board-pack.<lang>.pdf.
const defaultPDF = "\x00site"
