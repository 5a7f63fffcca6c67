// Package notify tells people that a scheduled run failed: it POSTs a JSON
// body to a webhook, runs a command with the same JSON on its standard
// input (in a minimal environment, see CommandEnv), or both. The body carries the error and a link to the data-health
// page. Webhook URLs are often secrets (chat webhooks embed a token), so
// messages name only the webhook's host.
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
	"strings"
	"time"

	"crmwh/pipelines/secret"
)

// Event is the JSON body sent on a failure.
type Event struct {
	// Event is "run_failed".
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
}

// RunFailed is the Event kind of a failed run.
const RunFailed = "run_failed"

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
