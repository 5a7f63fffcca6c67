package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"crmwh/pipelines/iceberg"
	"crmwh/project"
)

func lakeCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "lake",
		Short: "Work on the Parquet lake itself",
		Long: `lake works on the Parquet lake itself; lake iceberg publishes its streams as
Apache Iceberg tables for engines that run on many machines.`,
		Example: `  crmwh lake iceberg`,
	}
	c.AddCommand(lakeIcebergCmd(g))
	return c
}

func lakeIcebergCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "iceberg",
		Short: "Bring the lake's Apache Iceberg tables up to date",
		Long: `iceberg publishes every stream of the lake as an Apache Iceberg table over
the same Parquet files, in the SQL catalog that lake.iceberg in crmwh.yaml
names (SQLite or PostgreSQL), so that Spark, Trino or Flink read it
without a copy (docs/scale-out.md). Every extract already does this after
its commits; run it after a crash or a catalog outage to catch up at once,
or after turning lake.iceberg on. A table that is up to date is left as it
is. It holds the lake's lock: exit code 3 while an extract runs.`,
		Example: `  crmwh lake iceberg
  crmwh lake iceberg --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, l, err := g.loadLake()
			if err != nil {
				return err
			}
			cfg := p.Config.Lake.Iceberg
			if !cfg.Enabled() {
				return fmt.Errorf("%w: lake.iceberg.catalog is not set in crmwh.yaml (sqlite or postgres; docs/scale-out.md)", project.ErrConfig)
			}
			unlock, err := l.Lock("crmwh lake iceberg")
			if err != nil {
				return err
			}
			defer unlock()
			cat, err := iceberg.Open(cmd.Context(), cfg, l, p.Env())
			if err != nil {
				return err
			}
			defer cat.Close()
			cat.Logger = newUI(g.out, g.errw, g.json).logger(g.verbose)
			tables, err := cat.SyncAll(cmd.Context())
			if g.json {
				out := map[string]any{"catalog": cfg.Catalog, "catalog_name": cfg.CatalogName(), "tables": tables}
				if err != nil {
					out["error"] = err.Error()
				}
				if jerr := json.NewEncoder(g.out).Encode(out); jerr != nil {
					return errors.Join(err, jerr)
				}
				return err
			}
			fmt.Fprintf(g.out, "%-34s %9s %20s %12s %6s %12s\n", "table", "new snaps", "snapshot", "lake version", "files", "rows")
			for _, t := range tables {
				note := ""
				if t.Created {
					note += " (created)"
				}
				if t.SchemaChanged {
					note += " (new schema)"
				}
				if t.Expired > 0 {
					note += fmt.Sprintf(" (%d old snapshots expired)", t.Expired)
				}
				fmt.Fprintf(g.out, "%-34s %9d %20d %12d %6d %12s%s\n", t.Table, t.Snapshots, t.SnapshotID, t.LakeVersion, t.DataFiles, thousands(t.Rows), note)
			}
			return err
		},
	}
}
