package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"crmwh/project"
	"crmwh/project/onboard"
	"crmwh/warehouse/contract"
)

func initCmd(g *globals) *cobra.Command {
	var (
		force              bool
		timezone, currency string
	)
	inputs := map[string]*string{}
	c := &cobra.Command{
		Use:   "init DIR",
		Short: "Write a project into DIR: the default (demo) one, or one proposed from your files and tables",
		Long: `init writes a project (crmwh.yaml, sql/, dashboards/, schedules/) into DIR.

Without an entity flag it writes the project built into the binary, which
runs on the demo company (crmwh demo): a starting point to edit.

With --orders (and any of --customers, --order-lines, --tickets, … one
flag per entity of the data contract, docs/your-data.md) it reads your data
and proposes the project: how to read each input (a CSV file's encoding,
delimiter, column types and date formats; a table's key and watermark) and
how its columns map onto the entity's fields (by name, in English or
Chinese, and by type), with the alternatives in comments beside each field.
The proposal is checked against the data as a build would check it, so
'crmwh -C DIR refresh' builds on its first run. A required field that no
column fits is written with a TODO, and init exits with code 2 naming it.

An input is one of:
  FILE or 'GLOB'                a CSV file (any delimiter, UTF-8 or GB18030,
                                with a header line) or a Parquet file
                                (.parquet); a glob reads every matching file
  sqlite:PATH#TABLE             a table of a SQLite database
  postgres:DSN#[SCHEMA.]TABLE   a table of a PostgreSQL database; the DSN
                                names the password as ${ENV_VAR}, which is
                                read from the environment (never written)

The project's time zone is --timezone, else this machine's ($TZ,
/etc/localtime); its currency --currency, else CNY. One nightly schedule
(02:30 in the project's zone) comes with it.`,
		Example: `  crmwh init myco                     # the default project, for the demo company
  crmwh init shop --orders exports/orders.csv --timezone Europe/Paris --currency EUR
  crmwh init cdnow --orders ../shared/data/cdnow/CDNOW_master.txt --currency USD
  crmwh init retail --orders 'exports/*.parquet' --customers sqlite:crm.db#customers
  crmwh init shop --orders 'postgres:host=db dbname=shop user=crmwh password=${PGPASSWORD}#public.orders' \
      --customers 'postgres:host=db dbname=shop user=crmwh password=${PGPASSWORD}#public.customers'
  crmwh -C shop refresh`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			var ins []onboard.Input
			for _, e := range contract.Catalog {
				spec := *inputs[e.Name]
				if spec == "" {
					continue
				}
				in, err := onboard.ParseInput(e.Name, spec)
				if err != nil {
					return &usageError{err}
				}
				ins = append(ins, in)
			}
			if len(ins) == 0 {
				if timezone != "" || currency != "" {
					return &usageError{errors.New("--timezone and --currency go with --orders (the default project's are in its crmwh.yaml)")}
				}
				files, err := project.WriteDefault(dir, force)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.out, "wrote %d files to %s\n", len(files), dir)
				return nil
			}
			if _, err := os.Stat(filepath.Join(dir, project.ConfigFile)); err == nil && !force {
				return fmt.Errorf("%w: %s already has a %s; use --force to overwrite the project's files", project.ErrConfig, dir, project.ConfigFile)
			}
			res, err := onboard.Propose(cmd.Context(), onboard.Options{Dir: dir, Timezone: timezone, Currency: currency, Inputs: ins})
			if err != nil {
				if errors.Is(err, onboard.ErrInput) {
					return &usageError{err}
				}
				return err
			}
			files, err := project.Write(dir, project.WriteOptions{
				Force: force,
				Files: map[string][]byte{project.ConfigFile: res.Config, "schedules/nightly.yaml": []byte(onboard.NightlySchedule)},
				Omit:  []string{"schedules/intraday.yaml"},
			})
			if err != nil {
				return err
			}
			if g.json {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				printProposal(g, res, dir, len(files))
			}
			if err := res.Err(); err != nil {
				return &usageError{err}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite files that already exist")
	c.Flags().StringVar(&timezone, "timezone", "", "the company's IANA time zone (default: this machine's)")
	c.Flags().StringVar(&currency, "currency", "", "ISO code of the amounts (default: "+onboard.DefaultCurrency+")")
	for _, e := range contract.Catalog {
		s := ""
		inputs[e.Name] = &s
		c.Flags().StringVar(&s, strings.ReplaceAll(e.Name, "_", "-"), "", fmt.Sprintf("%s: a CSV or Parquet file or glob, sqlite:PATH#TABLE or postgres:DSN#TABLE", strings.ToLower(e.Title)))
	}
	return c
}

// printProposal says what init read and proposed.
func printProposal(g *globals, res *onboard.Result, dir string, files int) {
	for _, in := range res.Inputs {
		all := "the first"
		if in.Complete {
			all = "all"
		}
		fmt.Fprintf(g.out, "read %s: %s %s rows, %d columns → stream %s", in.Spec, all, thousands(in.Rows), in.Columns, in.Stream)
		if in.Quarantined > 0 {
			fmt.Fprintf(g.out, " (%s rows would go to quarantine)", thousands(in.Quarantined))
		}
		fmt.Fprintln(g.out)
	}
	for _, e := range res.Entities {
		ent, _ := contract.Lookup(e.Entity)
		var fields []string
		for _, f := range ent.FieldNames() {
			if x, ok := e.Fields[f]; ok {
				fields = append(fields, f+": "+x)
			}
		}
		rows := ""
		if e.Rows != "" {
			rows = ", rows: " + e.Rows
		}
		fmt.Fprintf(g.out, "%s from %s%s\n  %s\n", e.Entity, e.Stream, rows, strings.Join(fields, "\n  "))
	}
	if p := res.Preview; p != nil {
		fmt.Fprintf(g.out, "the rows read make %s orders of %s customers, %s %s in all, from %s to %s\n",
			thousands(p.Orders), thousands(p.Customers), p.Amount, res.Currency, p.First, p.Last)
	}
	fmt.Fprintf(g.out, "wrote %d files to %s (time zone %s, currency %s)\n", files, dir, res.Timezone, res.Currency)
	if len(res.Missing) == 0 {
		fmt.Fprintf(g.out, "check the comments in %s, then run: crmwh -C %s refresh\n", filepath.Join(dir, project.ConfigFile), dir)
	}
}
