// Package notify tells people that a scheduled run failed, or that a
// refresh moved a KPI across its target: it POSTs a JSON body to a
// webhook, runs a command with the same JSON on its standard input (in a
// minimal environment, see CommandEnv), or both. A failure's body carries
// the error and a link to the data-health page; a crossed threshold's
// carries the dashboards' "what changed" summary in English and Chinese
// (ReadChanges). Webhook URLs are often secrets (chat webhooks embed a
// token), so messages name only the webhook's host.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"crmwh/pipelines/secret"
)

// Event is the JSON body sent on a failure or a crossed threshold.
type Event struct {
	// Event is "run_failed" or "thresholds_crossed".
	Event string `json:"event"`
	// Text is a one-line summary; chat webhooks (Slack, Mattermost and
	// others that accept {"text": …}) show it as the message.
	Text       string    `json:"text"`
	Project    string    `json:"project"`
	Schedule   string    `json:"schedule"`
	RunID      string    `json:"run_id"`
	Trigger    string    `json:"trigger"`
	Status     string    `json:"status"`
	Step       string    `json:"step,omitempty"`
	Error      string    `json:"error"`
	Attempts   int       `json:"attempts"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	HealthURL  string    `json:"health_url"`
	Host       string    `json:"host,omitempty"`
	// Month and Summary are a thresholds_crossed event's: the month the
	// summary is about (2026-10) and its lines by language (en, zh): the
	// targets crossed, then the largest moves.
	Month   string              `json:"month,omitempty"`
	Summary map[string][]string `json:"summary,omitempty"`
}

// The Event kinds.
const (
	// RunFailed is a run that failed, after its retries.
	RunFailed = "run_failed"
	// ThresholdsCrossed is a successful refresh after which a KPI crossed
	// its target (dashboards/targets.yaml).
	ThresholdsCrossed = "thresholds_crossed"
)

// ChangesFile is the dashboards' "what changed" summary in the site folder.
const ChangesFile = "changes.json"

// Changes is the "what changed" summary the dashboards step wrote.
type Changes struct {
	Month   string       `json:"month"`
	Moves   []ChangeLine `json:"moves"`
	Crossed []ChangeLine `json:"crossed"`
}

// ChangeLine is one line of a summary, by language.
type ChangeLine struct {
	Metric string            `json:"metric"`
	Text   map[string]string `json:"text"`
}

// ReadChanges reads the summary in siteDir; ok is false when the site has
// none (no summary card, or a single-file site).
func ReadChanges(siteDir string) (c Changes, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(siteDir, ChangesFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("reading the dashboards' summary: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, false, fmt.Errorf("reading the dashboards' summary %s: %w", filepath.Join(siteDir, ChangesFile), err)
	}
	return c, true, nil
}

// Event returns the thresholds_crossed event of a summary: its month and
// lines by language (the targets crossed first).
func (c Changes) Event() Event {
	e := Event{Event: ThresholdsCrossed, Month: c.Month, Summary: map[string][]string{}}
	for _, lang := range []string{"en", "zh"} {
		lines := []string{}
		for _, l := range append(append([]ChangeLine(nil), c.Crossed...), c.Moves...) {
			lines = append(lines, l.Text[lang])
		}
		e.Summary[lang] = lines
	}
	return e
}

// Target is where notifications go.
type Target struct {
	// Webhook is the URL to POST to; empty sends none.
	Webhook string
	// Command is the program and arguments to run; empty runs none. It
	// runs with CommandEnv's environment, not the scheduler's.
	Command []string
	// PassEnv names further environment variables the command gets from
	// the scheduler's environment (a paging service's key, say).
	PassEnv []string
	// Timeout bounds each delivery (default 15s).
	Timeout time.Duration
}

// Send delivers e to every configured target and returns every failure.
func Send(ctx context.Context, t Target, e Event) error {
	if t.Timeout <= 0 {
		t.Timeout = 15 * time.Second
	}
	if e.Event == "" {
		e.Event = RunFailed
	}
	e.Error = secret.Mask(e.Error)
	if e.Text == "" {
		e.Text = Summary(e)
	}
	e.Text = secret.Mask(e.Text)
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var errs []error
	if t.Webhook != "" {
		if err := post(ctx, t.Webhook, body, t.Timeout); err != nil {
			errs = append(errs, err)
		}
	}
	if len(t.Command) > 0 {
		if err := run(ctx, t.Command, body, CommandEnv(e, t.PassEnv, os.LookupEnv), t.Timeout); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Summary is the one-line text of an event.
func Summary(e Event) string {
	if e.Event == ThresholdsCrossed {
		s := fmt.Sprintf("crmwh %s, %s: %s", e.Project, e.Month, strings.Join(e.Summary["en"], " "))
		if e.HealthURL != "" {
			s += " — data health: " + e.HealthURL
		}
		return s
	}
	s := fmt.Sprintf("crmwh %s: schedule %s failed", e.Project, e.Schedule)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	s += fmt.Sprintf(" (run %s): %s", e.RunID, e.Error)
	if e.HealthURL != "" {
		s += " — data health: " + e.HealthURL
	}
	return s
}

func post(ctx context.Context, webhook string, body []byte, timeout time.Duration) error {
	u, err := url.Parse(webhook)
	if err != nil {
		return errors.New("webhook: the URL does not parse")
	}
	where := "webhook to " + u.Host
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crmwh")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL, token and all; keep its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %s: %s", where, resp.Status, strings.TrimSpace(string(reply)))
	}
	return nil
}

// BaseEnv are the variables a notify command gets from the scheduler's
// environment, when set there. Nothing else of it is passed on: not the
// trigger token, the webhook URL or a database password.
var BaseEnv = []string{"PATH", "HOME", "LANG", "TZ"}

// defaultPath is the command's PATH when the scheduler has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// CommandEnv is the whole environment of a notify command: BaseEnv and
// the pass variables from lookup (PATH defaults to /usr/local/bin:/usr/bin:/bin),
// then the run's CRMWH_EVENT, CRMWH_PROJECT, CRMWH_SCHEDULE, CRMWH_RUN_ID,
// CRMWH_STATUS, CRMWH_ERROR and CRMWH_HEALTH_URL.
func CommandEnv(e Event, pass []string, lookup func(string) (string, bool)) []string {
	var env []string
	seen := map[string]bool{}
	for _, name := range append(append([]string(nil), BaseEnv...), pass...) {
		if seen[name] || strings.HasPrefix(name, "CRMWH_") {
			continue
		}
		seen[name] = true
		if v, ok := lookup(name); ok {
			env = append(env, name+"="+v)
		} else if name == "PATH" {
			env = append(env, "PATH="+defaultPath)
		}
	}
	return append(env,
		"CRMWH_EVENT="+e.Event,
		"CRMWH_PROJECT="+e.Project,
		"CRMWH_SCHEDULE="+e.Schedule,
		"CRMWH_RUN_ID="+e.RunID,
		"CRMWH_STATUS="+e.Status,
		"CRMWH_ERROR="+e.Error,
		"CRMWH_HEALTH_URL="+e.HealthURL,
	)
}

func run(ctx context.Context, argv []string, body []byte, env []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		if msg != "" {
			return fmt.Errorf("notify command %s: %w: %s", argv[0], err, msg)
		}
		return fmt.Errorf("notify command %s: %w", argv[0], err)
	}
	return nil
}
