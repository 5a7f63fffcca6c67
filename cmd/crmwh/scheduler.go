package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"crmwh/pipelines/secret"
	"crmwh/project"
	"crmwh/refresh/history"
	"crmwh/schedules/scheduler"
	"crmwh/schedules/spec"
)

func schedulerCmd(g *globals) *cobra.Command {
	var (
		listen, tokenEnv string
		grace            time.Duration
		keepDays         int
	)
	c := &cobra.Command{
		Use:   "scheduler",
		Short: "Run the schedules of schedules/*.yaml until stopped, with run history, metrics and HTTP triggers",
		Long: `scheduler is the daemon that runs the project's schedules on time, each in
its own time zone, with its timeout, retries and failure notification. It
shares the project lock with manual refreshes, so runs never overlap, and
only one scheduler runs per project (a second one exits with code 3).

It serves, on 127.0.0.1:8765 by default:
  GET  /healthz             200 while running
  GET  /runs                the run history as JSON (?schedule=NAME&limit=N)
  GET  /metrics             Prometheus text format
  POST /trigger/<schedule>  run a schedule now; needs "Authorization: Bearer
                            <token>" with the token in $CRMWH_TRIGGER_TOKEN
                            (unset: HTTP triggering is off)

SIGTERM or SIGINT stops it: no new runs start, a running refresh gets
--grace to finish and is then aborted (a build never publishes a partial
warehouse; the run is recorded as interrupted). A second signal aborts at
once. It reads crmwh.yaml and schedules/ when it starts: restart it after
changing them (crmwh status checks them first).`,
		Example: `  crmwh scheduler
  CRMWH_TRIGGER_TOKEN=$(cat /run/secrets/crmwh-token) crmwh scheduler --listen 0.0.0.0:8765 --grace 2m
  curl -X POST -H "Authorization: Bearer $CRMWH_TRIGGER_TOKEN" http://127.0.0.1:8765/trigger/nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := g.loadProject()
			if err != nil {
				return err
			}
			all, err := spec.LoadProject(p)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				return fmt.Errorf("%w: no schedules in %s/ (add one such as %s/nightly.yaml; see docs/schedules.md)", project.ErrConfig, spec.Dir, spec.Dir)
			}
			if keepDays < 1 {
				return &usageError{fmt.Errorf("--keep-days must be at least 1")}
			}
			if listen == "off" {
				listen = ""
			}
			token := os.Getenv(tokenEnv)
			secret.AddWhole(token)
			store, err := history.Open(p.StateDir(), keepDays)
			if err != nil {
				return err
			}
			defer store.Close()
			return scheduler.Run(cmd.Context(), scheduler.Options{
				Project: p, Schedules: all, History: store,
				Listen: listen, Token: token, TokenEnv: tokenEnv,
				Grace: grace, Logger: daemonLogger(g), Lang: g.lang, Out: g.out,
				Abort: secondSignal(cmd.Context()),
			})
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8765", "address of the HTTP server (off: none)")
	f.StringVar(&tokenEnv, "token-env", "CRMWH_TRIGGER_TOKEN", "environment variable holding the bearer token for POST /trigger")
	f.DurationVar(&grace, "grace", 20*time.Second, "how long a running refresh may go on after SIGTERM before it is aborted")
	f.IntVar(&keepDays, "keep-days", history.DefaultKeepDays, "days of run history to keep")
	return c
}

// daemonLogger logs at info level (debug with -v): JSON lines on stderr,
// for log collectors, or text when stderr is a terminal.
func daemonLogger(g *globals) *slog.Logger {
	lvl := slog.LevelInfo
	if g.verbose {
		lvl = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if isTerminal(g.errw) {
		return slog.New(secret.Handler(slog.NewTextHandler(g.errw, opts)))
	}
	return slog.New(secret.Handler(slog.NewJSONHandler(g.errw, opts)))
}

// secondSignal returns a context that ends at the second SIGTERM or SIGINT
// after ctx ended (ctx ends at the first).
func secondSignal(ctx context.Context) context.Context {
	abort, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(ch)
		<-ch // the first one, which also ended ctx
		<-ctx.Done()
		<-ch
		cancel()
	}()
	return abort
}
