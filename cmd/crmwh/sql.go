package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/query"
)

func sqlCmd(g *globals) *cobra.Command {
	var format, file, out string
	c := &cobra.Command{
		Use:   "sql [QUERY]",
		Short: "Run a read-only SQL query on the published warehouse",
		Long: `sql opens the published warehouse read-only (a running build does not block
it) and prints the result as an aligned table, CSV, JSON or Parquet. Models
are tables and views by their bare names; raw.<source>_<stream> are the
lake's streams; meta.* holds build and test history. A SQL error prints
DuckDB's message and exits with code 1.`,
		Example: `  crmwh sql "SELECT month, net_revenue, active_customers FROM mart_kpi_monthly"
  crmwh sql -f query.sql --format csv --out result.csv
  crmwh sql "SELECT * FROM fct_orders" --format parquet --out orders.parquet`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := readQuery(args, file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if g.json && !cmd.Flags().Changed("format") {
				format = "json"
			}
			if !contains(query.Formats, format) {
				return &usageError{fmt.Errorf("--format %q: expected one of %s", format, strings.Join(query.Formats, ", "))}
			}
			if format == "parquet" && out == "" {
				return &usageError{fmt.Errorf("--format parquet needs --out FILE")}
			}
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			db, err := duckdb.Open(p.WarehouseFile(), duckdb.Options{ReadOnly: true})
			if err != nil {
				return err
			}
			defer db.Close()
			if format == "parquet" {
				n, err := query.CopyParquet(cmd.Context(), db, q, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.errw, "wrote %d rows to %s\n", n, out)
				return nil
			}
			res, err := query.Run(cmd.Context(), db, q)
			if err != nil {
				return err
			}
			w := g.out
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return res.Write(w, format)
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table, csv, json or parquet")
	c.Flags().StringVarP(&file, "file", "f", "", "read the query from a file (- for standard input)")
	c.Flags().StringVarP(&out, "out", "o", "", "write the result to a file instead of standard output")
	return c
}

// readQuery takes the query from the argument or from --file.
func readQuery(args []string, file string, stdin io.Reader) (string, error) {
	switch {
	case len(args) == 1 && file != "":
		return "", &usageError{fmt.Errorf("give the query as an argument or with --file, not both")}
	case len(args) == 1:
		return args[0], nil
	case file == "-":
		b, err := io.ReadAll(stdin)
		return string(b), err
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", &usageError{fmt.Errorf("no query: give it as an argument or with --file FILE")}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
