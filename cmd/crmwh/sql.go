package main

import (
	"github.com/spf13/cobra"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/query"
)

func sqlCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "sql QUERY",
		Short: "Run a read-only SQL query on the published warehouse",
		Long: `sql opens the published warehouse read-only (a running build does not block
it) and prints the result. Models are tables and views by their bare names;
raw.<source>_<stream> are the lake's streams; meta.* holds build history.`,
		Example: `  crmwh sql "SELECT month, net_revenue, active_customers FROM mart_kpi_monthly"
  crmwh sql --format csv "SELECT * FROM dim_customer LIMIT 10"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			if g.json {
				format = "json"
			}
			db, err := duckdb.Open(p.WarehouseFile(), duckdb.Options{ReadOnly: true})
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := query.Run(cmd.Context(), db, args[0])
			if err != nil {
				return err
			}
			return res.Write(g.out, format)
		},
	}
	c.Flags().StringVarP(&format, "format", "f", "table", "output format: table, csv or json")
	return c
}
