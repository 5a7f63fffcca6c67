package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/schedules/notify"
)

var event = notify.Event{
	Project: "demo", Schedule: "nightly", RunID: "20261123T183000Z-0a1b", Trigger: "cron", Status: "failed",
	Step: "build", Error: "build: model mart_x failed", Attempts: 3,
	StartedAt: time.Date(2026, 11, 23, 18, 30, 0, 0, time.UTC), FinishedAt: time.Date(2026, 11, 23, 18, 41, 0, 0, time.UTC),
	HealthURL: "https://dash.example.com/health.html",
}

func TestTheWebhookGetsTheErrorAndTheHealthLink(t *testing.T) {
	var got map[string]any
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype = r.Header.Get("Content-Type")
		require.Equal(t, http.MethodPost, r.Method)
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
	}))
	defer srv.Close()
	require.NoError(t, notify.Send(context.Background(), notify.Target{Webhook: srv.URL + "/hook"}, event))
	require.Equal(t, "application/json", ctype)
	require.Equal(t, "run_failed", got["event"])
	require.Equal(t, "nightly", got["schedule"])
	require.Equal(t, "build: model mart_x failed", got["error"])
	require.Equal(t, "https://dash.example.com/health.html", got["health_url"])
	require.Equal(t, float64(3), got["attempts"])
	require.Equal(t, "crmwh demo: schedule nightly failed after 3 attempts (run 20261123T183000Z-0a1b): build: model mart_x failed — data health: https://dash.example.com/health.html", got["text"])
}

func TestAWebhookErrorNamesTheHostButNotTheSecretPath(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	err := notify.Send(context.Background(), notify.Target{Webhook: srv.URL + "/T000/B000/s3cr3t"}, event)
	require.Error(t, err)
	host := strings.TrimPrefix(srv.URL, "http://")
	require.Equal(t, "webhook to "+host+": HTTP 404 Not Found: no such hook", err.Error())

	srv.Close()
	err = notify.Send(context.Background(), notify.Target{Webhook: srv.URL + "/T000/B000/s3cr3t"}, event)
	require.Error(t, err)
	require.Contains(t, err.Error(), "webhook to "+host+": ")
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestTheCommandGetsTheJSONOnStdinAndTheEssentialsInItsEnvironment(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "got")
	script := filepath.Join(dir, "hook.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\ncat > \"$1\"\necho \"$CRMWH_SCHEDULE|$CRMWH_STATUS|$CRMWH_HEALTH_URL\" > \"$1.env\"\n"), 0o755))
	require.NoError(t, notify.Send(context.Background(), notify.Target{Command: []string{script, out}}, event))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var got notify.Event
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, "20261123T183000Z-0a1b", got.RunID)
	require.Equal(t, "build", got.Step)
	env, err := os.ReadFile(out + ".env")
	require.NoError(t, err)
	require.Equal(t, "nightly|failed|https://dash.example.com/health.html\n", string(env))
}

func TestAFailingCommandAndAFailingWebhookAreBothReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	err := notify.Send(context.Background(), notify.Target{Webhook: srv.URL, Command: []string{"sh", "-c", "echo paging is down >&2; exit 3"}}, event)
	require.Error(t, err)
	require.Contains(t, err.Error(), "HTTP 502 Bad Gateway")
	require.Contains(t, err.Error(), "notify command sh: exit status 3: paging is down")
}

func TestASlowTargetIsCutOff(t *testing.T) {
	t0 := time.Now()
	err := notify.Send(context.Background(), notify.Target{Command: []string{"sleep", "10"}, Timeout: 200 * time.Millisecond}, event)
	require.Error(t, err)
	require.Less(t, time.Since(t0), 5*time.Second)
}

func TestTheCommandGetsAMinimalEnvironmentAndNoSecrets(t *testing.T) {
	t.Setenv("HOME", "/home/ops")
	t.Setenv("LANG", "en_US.UTF-8")
	t.Setenv("TZ", "Europe/Berlin")
	t.Setenv("PATH", "/usr/bin:/bin")
	t.Setenv("CRMWH_TRIGGER_TOKEN", "tok-Secret-123")
	t.Setenv("CRMWH_ALERT_WEBHOOK", "https://hooks.example.com/T0/B0/hookSecret")
	t.Setenv("PGPASSWORD", "pg-Secret-456")
	t.Setenv("PAGER_KEY", "pager-789")
	dir := t.TempDir()
	out := filepath.Join(dir, "env")
	// /proc/$$/environ is the environment the shell was started with,
	// before it adds PWD and the like.
	script := filepath.Join(dir, "hook.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\ncat /proc/$$/environ > \"$1\"\n"), 0o755))
	require.NoError(t, notify.Send(context.Background(), notify.Target{Command: []string{script, out}, PassEnv: []string{"PAGER_KEY", "CRMWH_TRIGGER_TOKEN"}}, event))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	require.Equal(t, map[string]string{
		"PATH": "/usr/bin:/bin", "HOME": "/home/ops", "LANG": "en_US.UTF-8", "TZ": "Europe/Berlin", "PAGER_KEY": "pager-789",
		"CRMWH_EVENT": "run_failed", "CRMWH_PROJECT": "demo", "CRMWH_SCHEDULE": "nightly", "CRMWH_RUN_ID": "20261123T183000Z-0a1b",
		"CRMWH_STATUS": "failed", "CRMWH_ERROR": "build: model mart_x failed", "CRMWH_HEALTH_URL": "https://dash.example.com/health.html",
	}, got, "a CRMWH_ variable of the scheduler's is never passed on, even when named")
	for _, s := range []string{"tok-Secret-123", "hookSecret", "pg-Secret-456"} {
		require.NotContains(t, string(b), s)
	}
}

func TestWithoutPATHTheCommandGetsTheSystemOne(t *testing.T) {
	env := notify.CommandEnv(event, nil, func(string) (string, bool) { return "", false })
	require.Equal(t, "PATH=/usr/local/bin:/usr/bin:/bin", env[0])
	require.Len(t, env, 8)
}

// The dashboards' "what changed" summary becomes a thresholds_crossed
// event: its lines in both languages, crossed targets first, and a one-line
// text for chat webhooks.
func TestTheSummaryOfCrossedTargets(t *testing.T) {
	dir := t.TempDir()
	_, ok, err := notify.ReadChanges(dir)
	require.NoError(t, err)
	require.False(t, ok, "no summary, no event")
	require.NoError(t, os.WriteFile(filepath.Join(dir, notify.ChangesFile), []byte(`{"month": "2026-10",
		"moves": [{"metric": "churn_rate", "text": {"en": "Churn rate: +1.0 pp to 7.8% (vs Sep 2026)", "zh": "流失率：+1.0个百分点"}}],
		"crossed": [{"metric": "net_revenue", "text": {"en": "Net revenue reached its target: ¥1.52M against ¥1.4M.", "zh": "净收入达到目标"}}]}`), 0o644))
	c, ok, err := notify.ReadChanges(dir)
	require.NoError(t, err)
	require.True(t, ok)
	e := c.Event()
	e.Project = "demo"
	require.Equal(t, notify.ThresholdsCrossed, e.Event)
	require.Equal(t, "2026-10", e.Month)
	require.Equal(t, []string{"Net revenue reached its target: ¥1.52M against ¥1.4M.", "Churn rate: +1.0 pp to 7.8% (vs Sep 2026)"}, e.Summary["en"])
	require.Equal(t, []string{"净收入达到目标", "流失率：+1.0个百分点"}, e.Summary["zh"])
	require.Equal(t, "crmwh demo, 2026-10: Net revenue reached its target: ¥1.52M against ¥1.4M. Churn rate: +1.0 pp to 7.8% (vs Sep 2026)", notify.Summary(e))

	require.NoError(t, os.WriteFile(filepath.Join(dir, notify.ChangesFile), []byte(`{"month": `), 0o644))
	_, _, err = notify.ReadChanges(dir)
	require.ErrorContains(t, err, "reading the dashboards' summary "+filepath.Join(dir, notify.ChangesFile))
}
