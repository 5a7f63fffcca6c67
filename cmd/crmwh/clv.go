package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"crmwh/warehouse/clv"
	"crmwh/warehouse/clv/logfit"
	"crmwh/warehouse/clv/translog"
	"crmwh/warehouse/duckdb"
)

func clvCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "clv",
		Short: "Customer-lifetime-value models (BG/NBD, Pareto/NBD, Gamma-Gamma) on any transaction log",
		Long: `clv fits the warehouse's customer-lifetime-value models on a transaction log
that need not have gone through the warehouse. See docs/clv.md.`,
	}
	c.AddCommand(clvFitCmd(g))
	return c
}

func clvFitCmd(g *globals) *cobra.Command {
	var (
		src                 translog.Source
		unit, calEnd, hoEnd string
		scores              string
		co                  clv.CLVOptions
		model               string
	)
	c := &cobra.Command{
		Use:   "fit FILE",
		Short: "Fit BG/NBD (or Pareto/NBD) and Gamma-Gamma on a transaction log (CSV or Parquet) and check them on a holdout period",
		Long: `fit reads a transaction log, one row per purchase with a customer id, a date
and an amount (CSV with a header row, or Parquet; a glob reads several
files), summarises each customer (repeat purchase days x, recency t_x, age
T, mean repeat value), fits the purchase model (BG/NBD; --model pareto_nbd,
or --model auto for both, the one that predicts the holdout period better
used) and Gamma-Gamma by maximum likelihood on the calibration period and
prints the parameters with standard errors and 95% intervals, the
log-likelihoods, the correlation of frequency and value, and, when the log
runs past --calibration-end, predicted against actual purchases in the
holdout period by calibration frequency.

--customer, --date and --amount name columns or are SQL expressions over
them ("Quantity * UnitPrice"); CSV columns are typed by DuckDB's sniffer,
so --where can compare numbers ("Quantity > 0"). --whitespace reads files
whose columns are separated by runs of blanks (the CDNOW log).

Dates are calendar days. Timestamps with a UTC offset are placed on the
calendar of --time-zone. When the data show no drop-out the model falls
back to NBD (P(alive) = 1) and says so; the command fails (exit code 1)
only when no purchase model can be fitted, with the diagnostics printed.`,
		Example: `  crmwh clv fit orders.csv --customer cust --date order_date --amount total \
      --calibration-end 2025-06-30
  crmwh clv fit 'exports/*.parquet' --date ordered_at --time-zone Asia/Shanghai \
      --where "status = 'paid'" --unit weeks --json
  crmwh clv fit online_retail.csv --customer CustomerID --amount "Quantity * UnitPrice" \
      --date "strptime(InvoiceDate, '%m/%d/%Y %H:%M')" --where "Quantity > 0" --model auto
  crmwh clv fit CDNOW_master.txt --whitespace --date-format %Y%m%d --amount dollar_value \
      --unit weeks --calibration-end 1997-09-30
  crmwh clv fit orders.csv --date-format '%d/%m/%Y' --scores scores.csv --margin 0.3 --discount 0.01`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Path = args[0]
			u, err := clv.ParseUnit(unit)
			if err != nil {
				return &usageError{fmt.Errorf("--unit: %w", err)}
			}
			var periods translog.Options
			for _, d := range []struct {
				flag, v string
				t       *time.Time
			}{{"--calibration-end", calEnd, &periods.CalibrationEnd}, {"--holdout-end", hoEnd, &periods.HoldoutEnd}} {
				if d.v == "" {
					continue
				}
				if *d.t, err = time.Parse(time.DateOnly, d.v); err != nil {
					return &usageError{fmt.Errorf("%s %q: expected a date such as 2025-06-30", d.flag, d.v)}
				}
			}
			if !(co.Margin > 0 && co.Margin <= 1) {
				return &usageError{fmt.Errorf("--margin %g: expected a share of spend in (0, 1]", co.Margin)}
			}
			if !slices.Contains(logfit.Models, model) {
				return &usageError{fmt.Errorf("--model %q: expected one of %s", model, strings.Join(logfit.Models, ", "))}
			}
			if src.Files, err = translog.Expand(src.Path); err != nil {
				return err
			}
			db, cleanup, err := openCLVSandbox(cmd.Context(), &src)
			if err != nil {
				return err
			}
			defer cleanup()
			res, err := logfit.Run(cmd.Context(), db, logfit.Options{Source: src, Periods: periods, Unit: u, Model: model, IDs: scores != ""})
			if res != nil {
				if g.json {
					enc := json.NewEncoder(g.out)
					enc.SetIndent("", "  ")
					if werr := enc.Encode(res); werr != nil {
						return werr
					}
				} else if werr := res.WriteText(g.out); werr != nil {
					return werr
				}
			}
			if err != nil {
				if errors.Is(err, translog.ErrLog) || errors.Is(err, clv.ErrNoData) || errors.Is(err, clv.ErrNotConverged) {
					return err
				}
				return fmt.Errorf("fitting %s: %w", src.Path, err)
			}
			if scores != "" {
				f, err := os.Create(scores)
				if err != nil {
					return err
				}
				if err := res.WriteScores(f, logfit.ScoreOptions{CLV: co}); err != nil {
					f.Close()
					return fmt.Errorf("writing %s: %w", scores, err)
				}
				if err := f.Close(); err != nil {
					return fmt.Errorf("writing %s: %w", scores, err)
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&src.Customer, "customer", "customer_id", "column (or SQL expression) with the customer id")
	f.StringVar(&src.Date, "date", "date", "column (or SQL expression) with the purchase date or timestamp")
	f.StringVar(&src.Amount, "amount", "amount", `column (or SQL expression, e.g. "Quantity * UnitPrice") with the purchase amount ("-": none; Gamma-Gamma is skipped)`)
	f.BoolVar(&src.Whitespace, "whitespace", false, "columns are separated by runs of spaces or tabs (e.g. the CDNOW log), not commas")
	f.StringVar(&model, "model", "bgnbd", "purchase model: bgnbd, pareto_nbd, or auto (both, the better on the holdout period used)")
	f.StringVar(&src.DateFormat, "date-format", "", "strptime format of text dates, e.g. %d/%m/%Y (default: ISO 8601 dates and timestamps)")
	f.StringVar(&src.TimeZone, "time-zone", "UTC", "time zone whose calendar days count, for timestamps with an offset")
	f.StringVar(&src.Where, "where", "", `SQL condition keeping only purchases, e.g. "status = 'paid'"`)
	f.StringVar(&unit, "unit", "days", "time unit of the parameters: days or weeks")
	f.StringVar(&calEnd, "calibration-end", "", "last day of the calibration period (default: the last date in the log, no holdout)")
	f.StringVar(&hoEnd, "holdout-end", "", "last day of the holdout period (default: the last date in the log)")
	f.StringVar(&scores, "scores", "", "write per-customer P(alive), expected purchases, spend and CLV to this CSV file")
	f.IntVar(&co.Months, "months", clv.DefaultCLVMonths, "CLV horizon in months (with --scores)")
	f.Float64Var(&co.MonthlyDiscount, "discount", 0, "monthly discount rate of the CLV (with --scores)")
	f.Float64Var(&co.Margin, "margin", 1, "profit margin applied to spend in the CLV (with --scores)")
	return c
}

// openCLVSandbox opens the in-memory database clv fit works in. --where and
// the expressions are SQL the user wrote, so the database may read the
// transaction log's files and nothing else (see duckdb.Sandbox); it spills
// into a temporary folder of its own, which cleanup removes. A
// whitespace-separated log is turned into CSV files there first, and those
// are what the database reads.
func openCLVSandbox(ctx context.Context, src *translog.Source) (*sql.DB, func(), error) {
	tmp, err := os.MkdirTemp("", "crmwh-clv-")
	if err != nil {
		return nil, nil, err
	}
	if src.Whitespace {
		files, _, err := translog.WhitespaceToCSV(*src, tmp)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, nil, err
		}
		src.Files, src.Whitespace = files, false
	}
	db, err := duckdb.Open("", duckdb.Options{TempDir: filepath.Join(tmp, "spill")})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, err
	}
	cleanup := func() {
		db.Close()
		os.RemoveAll(tmp)
	}
	if err := duckdb.Lockdown(ctx, db, duckdb.Sandbox{Files: src.Files}); err != nil {
		cleanup()
		return nil, nil, err
	}
	return db, cleanup, nil
}
