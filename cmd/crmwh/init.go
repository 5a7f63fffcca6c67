package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"crmwh/project"
)

func initCmd(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "init DIR",
		Short: "Write the default project (crmwh.yaml, sql/, dashboards/, schedules/) into DIR",
		Long: `init writes the project built into the binary into DIR, as a starting point
for your own: edit crmwh.yaml to point at your sources, add models under sql/
and pages under dashboards/, then run crmwh commands in DIR (or with -C DIR).`,
		Example: `  crmwh init myco
  cd myco && crmwh demo && crmwh refresh`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := project.WriteDefault(args[0], force)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "wrote %d files to %s\n", len(files), args[0])
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite files that already exist")
	return c
}
