package main

import (
	"fmt"
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
listing every model, its columns and descriptions, its tests, and a lineage
graph. It works offline from file://.`,
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
			file, err := docsite.Write(out, cat)
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
