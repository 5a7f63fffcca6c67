package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"crmwh/pipelines"
	"crmwh/pipelines/demo"
	pgsource "crmwh/pipelines/sources/postgres"
)

func demoCmd(g *globals) *cobra.Command {
	o := demo.DefaultOptions()
	var end, postgres string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Write the demo company's operational systems (CRM database, billing and survey exports)",
		Long: `demo generates a realistic, seeded dataset of an imaginary Chinese retailer:
a CRM database (SQLite), daily billing CSV exports (some from a legacy system
in GB18030), survey exports, and a truth/ folder with the generating
parameters for tests. Purchases follow BG/NBD and spend Gamma-Gamma with
stated parameters (docs/demo-data.md). Same seed and flags give identical
files. The default project reads it from data/demo.`,
		Example: `  crmwh demo
  crmwh demo --customers 200000 --years 3 --seed 7 --out /tmp/demo
  crmwh demo --postgres 'host=/run/postgresql dbname=crm password=${PGPASSWORD}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := time.Parse("2006-01-02", end)
			if err != nil {
				return &usageError{fmt.Errorf("--end %q: expected a date such as 2026-10-31", end)}
			}
			o.End = t
			if err := o.Validate(); err != nil {
				return &usageError{err}
			}
			u := newUI(g.out, g.errw, g.json)
			start := time.Now()
			sum, err := demo.Generate(cmd.Context(), o, func(p demo.Progress) {
				el := time.Since(start)
				u.setStatus(fmt.Sprintf("  … %s/%s customers, %s orders, %s rows (%s rows/s)",
					thousands(int64(p.Done)), thousands(int64(p.Customers)), thousands(p.Orders), thousands(p.Rows), thousands(rate(p.Rows, el))))
			})
			u.clearStatusLine()
			if err != nil {
				return err
			}
			var pgRows map[string]int64
			if postgres != "" {
				dsn, err := pipelines.ExpandDSN(postgres)
				if err != nil {
					return &usageError{fmt.Errorf("--postgres: %w", err)}
				}
				cfg, err := pgsource.Config(dsn)
				if err != nil {
					return &usageError{fmt.Errorf("--postgres: %s", pipelines.Redact(err.Error()))}
				}
				if pgRows, err = demo.LoadPostgres(cmd.Context(), o.Out, cfg); err != nil {
					return fmt.Errorf("copying the CRM into PostgreSQL: %s", pipelines.Redact(err.Error()))
				}
			}
			if g.json {
				return json.NewEncoder(g.out).Encode(struct {
					demo.Summary
					Postgres map[string]int64 `json:"postgres,omitempty"`
				}{sum, pgRows})
			}
			fmt.Fprintf(g.out, "wrote the demo company to %s in %s: %s customers, %s orders, %s order lines, %s malformed rows\n",
				o.Out, time.Since(start).Round(time.Millisecond), thousands(int64(sum.Customers)), thousands(sum.Orders),
				thousands(sum.OrderLines), thousands(sum.MalformedRows))
			if pgRows != nil {
				fmt.Fprintf(g.out, "copied the CRM into PostgreSQL: %s customers, %s interactions, %s tickets (see docs/demo-data.md to extract it)\n",
					thousands(pgRows["customers"]), thousands(pgRows["interactions"]), thousands(pgRows["tickets"]))
			}
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&o.Customers, "customers", o.Customers, "number of people in the CRM")
	f.IntVar(&o.Years, "years", o.Years, "length of the observed period in years")
	f.StringVar(&end, "end", o.End.Format("2006-01-02"), "last day of the observed period")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	f.StringVar(&o.Out, "out", o.Out, "output folder")
	f.Float64Var(&o.CRMDupRate, "crm-dup-rate", o.CRMDupRate, "share of people entered twice in the CRM")
	f.Float64Var(&o.BillingDupRate, "billing-dup-rate", o.BillingDupRate, "share of buyers with two billing customer numbers")
	f.Float64Var(&o.BadEmailRate, "bad-email-rate", o.BadEmailRate, "share of contact records with a malformed e-mail")
	f.Float64Var(&o.BadPhoneRate, "bad-phone-rate", o.BadPhoneRate, "share of contact records with a malformed phone")
	f.Float64Var(&o.BadRowRate, "bad-row-rate", o.BadRowRate, "share of billing CSV rows written malformed")
	f.Float64Var(&o.CancelRate, "cancel-rate", o.CancelRate, "share of extra orders that are cancelled")
	f.Float64Var(&o.RefundRate, "refund-rate", o.RefundRate, "share of purchases later refunded")
	f.Float64Var(&o.LegacyShare, "legacy-share", o.LegacyShare, "share of days exported by the legacy billing system (GB18030)")
	f.Float64Var(&o.UTCRate, "utc-rate", o.UTCRate, "share of modern billing rows stamped in UTC")
	f.StringVar(&postgres, "postgres", "", "also copy the CRM into this PostgreSQL database (a DSN; ${VAR} is read from the environment)")
	return c
}
