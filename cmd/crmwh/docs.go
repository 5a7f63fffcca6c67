package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"crmwh/refresh"
	"crmwh/warehouse/docsite"
	"crmwh/warehouse/duckdb"
)

func docsCmd(g *globals) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "docs",
		Short: "Write a static page documenting every model, its columns, tests and lineage",
		Long: `docs reads the models under sql/ with the YAML beside them and the published
warehouse (column types, lineage, latest test results) and writes a page
listing every model and every table the build's Go steps write, its columns
and descriptions, its tests, and a lineage graph, in English (index.html)
and Chinese (zh/index.html), styled like the dashboards and linked to them
(and they to it, once it is in the site folder). It works offline from
file://.`,
		Example: `  crmwh docs
  crmwh docs --out /tmp/warehouse-docs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(p.SiteDir(), "docs")
			}
			db, err := duckdb.Open(p.WarehouseFile(), duckdb.Options{ReadOnly: true})
			if err != nil {
				return err
			}
			defer db.Close()
			ms, err := refresh.ProjectModels(cmd.Context(), p, db)
			if err != nil {
				return err
			}
			cat, err := docsite.Load(cmd.Context(), db, ms)
			if err != nil {
				return err
			}
			file, err := docsite.Write(out, cat, docsite.Options{Dashboards: dashboardLinks(p.SiteDir(), out)})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "documented %d models in %s\n", len(cat.Models), file)
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "output folder (default: <site>/docs)")
	return c
}

// dashboardLinks are the dashboards' index pages in each language, relative
// to the docs folder: the site's language is at the top of the site folder,
// the other in a folder of its own (en/ or zh/).
func dashboardLinks(site, docs string) map[string]string {
	rel, err := filepath.Rel(docs, site)
	if err != nil {
		rel = site
	}
	links := map[string]string{"en": filepath.ToSlash(filepath.Join(rel, "index.html")), "zh": filepath.ToSlash(filepath.Join(rel, "zh", "index.html"))}
	if _, err := os.Stat(filepath.Join(site, "en", "index.html")); err == nil {
		links["en"] = filepath.ToSlash(filepath.Join(rel, "en", "index.html"))
		links["zh"] = filepath.ToSlash(filepath.Join(rel, "index.html"))
	}
	return links
}
