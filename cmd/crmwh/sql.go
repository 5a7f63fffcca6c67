package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"crmwh/project"
	"crmwh/warehouse/build"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/query"
)

func sqlCmd(g *globals) *cobra.Command {
	var format, file, out string
	var fromLake, failedBuild bool
	c := &cobra.Command{
		Use:   "sql [QUERY]",
		Short: "Run a read-only SQL query on the published warehouse, a failed build or the lake",
		Long: `sql opens the published warehouse read-only (a running build does not block
it) and prints the result as an aligned table, CSV, JSON or Parquet. Models
are tables and views by their bare names; raw.<source>_<stream> are the
lake's streams; meta.* holds build and test history.

The SQL runs in a sandbox: one SELECT query (WITH, FROM, VALUES, SHOW,
DESCRIBE, SUMMARIZE and EXPLAIN too) that reads the warehouse and the lake
folder and nothing else. COPY, EXPORT, ATTACH, INSTALL, LOAD, SET, PRAGMA,
CALL, CREATE, INSERT, a second statement, and reading any other file
(read_csv('/etc/passwd'), glob, read_text) are refused with exit code 1.
--out FILE is written by crmwh itself.

--lake reads the lake as extracted now instead: raw.* views over every
stream's committed files, no models. Before the first build, sql reads the
lake on its own (and says so). --failed-build reads the file of the last
failed build, kept for inspection until the next build.`,
		Example: `  crmwh sql "SELECT month, net_revenue, active_customers FROM mart_kpi_monthly"
  crmwh sql -f query.sql --format csv --out result.csv
  crmwh sql "SELECT * FROM fct_orders" --format parquet --out orders.parquet
  crmwh sql --lake "SELECT count(*) FROM raw.billing_orders"
  crmwh sql --failed-build "SELECT * FROM meta.test_results WHERE status <> 'pass'"`,
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
			if fromLake && failedBuild {
				return &usageError{fmt.Errorf("--lake and --failed-build: choose one")}
			}
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			sess, err := openSQL(cmd.Context(), g, p, fromLake, failedBuild)
			if err != nil {
				return err
			}
			defer sess.Close()
			if format == "parquet" {
				n, err := sess.CopyParquet(cmd.Context(), q, out)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.errw, "wrote %d rows to %s\n", n, out)
				return nil
			}
			res, err := sess.Run(cmd.Context(), q)
			if err != nil {
				return err
			}
			if out == "" {
				return res.Write(g.out, format)
			}
			return writeFileAtomic(out, func(w io.Writer) error { return res.Write(w, format) })
		},
	}
	c.Flags().StringVar(&format, "format", "table", "output format: table, csv, json or parquet")
	c.Flags().StringVarP(&file, "file", "f", "", "read the query from a file (- for standard input)")
	c.Flags().StringVarP(&out, "out", "o", "", "write the result to a file instead of standard output")
	c.Flags().BoolVar(&fromLake, "lake", false, "query the lake as extracted now (raw.* views only) instead of the warehouse")
	c.Flags().BoolVar(&failedBuild, "failed-build", false, "query the last failed build, kept until the next build")
	return c
}

// openSQL opens what `crmwh sql` reads, in the sandbox: the published
// warehouse; the failed build; or the lake, asked for or when nothing is
// published yet.
func openSQL(ctx context.Context, g *globals, p *project.Project, fromLake, failedBuild bool) (*query.Session, error) {
	wh := p.WarehouseFile()
	switch {
	case failedBuild:
		f := build.FailedFile(wh)
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("no failed build is kept (%s does not exist: the last build succeeded, or none failed since)", f)
		}
		return query.OpenWarehouse(f, p.LakeDir(), "the failed build "+f)
	case fromLake:
		return query.OpenLake(ctx, p.LakeDir())
	}
	if _, err := os.Stat(wh); errors.Is(err, os.ErrNotExist) {
		s, lerr := query.OpenLake(ctx, p.LakeDir())
		if lerr != nil {
			if errors.Is(lerr, query.ErrNoLake) {
				return nil, fmt.Errorf("%w: %s does not exist and nothing was extracted (run `crmwh extract`, then `crmwh build`)", duckdb.ErrNoWarehouse, wh)
			}
			return nil, lerr
		}
		fmt.Fprintf(g.errw, "no warehouse is published yet: reading the lake's raw.* views (crmwh build makes the models)\n")
		return s, nil
	}
	return query.OpenWarehouse(wh, p.LakeDir(), "the published warehouse "+wh)
}

// writeFileAtomic writes a file through a temporary file in its folder and
// renames it into place, so that a failed write leaves no half file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_ = f.Chmod(0o644) // as os.Create would, not CreateTemp's 0600
	if err := write(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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
