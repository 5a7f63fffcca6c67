package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crmwh/refresh"
	"crmwh/warehouse/build"
)

func buildCmd(g *globals) *cobra.Command {
	var so stepOptions
	var rollback bool
	c := &cobra.Command{
		Use:   "build",
		Short: "Build the DuckDB warehouse from the lake and publish it if every model and test passes",
		Long: `build writes a new warehouse file: raw views over the lake, then every model
under sql/ in dependency order (independent models at once on machines with 8+ cores), then the
data tests declared beside the models. Only when every model and every
error-level test passes is the new file renamed over the published one; the
previous one is kept as <file>.prev and --rollback puts it back. A failed
build leaves the published warehouse exactly as it was.

A build on top of a published warehouse is incremental: it starts from a
copy of it and redoes only what the lake's new parts touch (models whose
inputs did not change are kept; models incremental by key recompute the
keys that changed; docs/warehouse.md). --full builds every model in a new
file, as the first build does.

--select builds some models on top of the published warehouse: NAME, NAME+
(and everything downstream), +NAME (and everything upstream); repeat the
flag or separate with commas. --full-refresh rebuilds incremental and
snapshot models from scratch (snapshot history is lost).`,
		Example: `  crmwh build
  crmwh build --full
  crmwh build --select fct_orders+
  crmwh build --rollback`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rollback {
				if len(so.selectors) > 0 || so.fullRefresh || so.full {
					return &usageError{fmt.Errorf("--rollback takes no other build flags")}
				}
				p, err := g.loadProject()
				if err != nil {
					return err
				}
				// Swapping files under a running build would lose one of them.
				lock, err := refresh.LockProject(cmd.Context(), p, g.wait, refresh.NewHolder("build --rollback", "", ""))
				if err != nil {
					return err
				}
				defer lock.Release()
				if err := build.Rollback(p.WarehouseFile()); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "restored the previous warehouse; the one it replaced is now %s.prev\n", p.WarehouseFile())
				return nil
			}
			return runSteps(cmd, g, []string{refresh.StepBuild}, so)
		},
	}
	c.Flags().StringSliceVarP(&so.selectors, "select", "s", nil, "models to build: NAME, NAME+ (and downstream), +NAME (and upstream)")
	c.Flags().BoolVar(&so.fullRefresh, "full-refresh", false, "rebuild incremental and snapshot models from scratch")
	c.Flags().BoolVar(&so.full, "full", false, "build every model in a new file instead of bringing the published warehouse up to date")
	c.Flags().BoolVar(&rollback, "rollback", false, "put the previous published warehouse back")
	c.Flags().BoolVar(&so.skipTests, "skip-tests", false, "publish without running the data tests (run them later with crmwh test)")
	addWaitFlag(c, g)
	return c
}
