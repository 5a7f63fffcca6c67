// Command crmwh is the analytic-CRM warehouse: extract sources into a
// Parquet lake, build the DuckDB warehouse, render the dashboards.
// Each verb lives in its own file; the work is done in the packages.
package main

import (
	"os"

	_ "crmwh/pipelines/sources/all" // registers every source kind
)

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}
