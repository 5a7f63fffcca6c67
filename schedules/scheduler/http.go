package scheduler

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"crmwh/refresh"
	"crmwh/refresh/history"
)

// handler serves the daemon's HTTP API:
//
//	GET  /healthz            200 while the scheduler runs, 503 once it stops
//	GET  /runs               the run history as JSON (?schedule=, ?limit=)
//	GET  /metrics            Prometheus text format
//	POST /trigger/{schedule} runs a schedule now (bearer token required)
func (d *daemon) handler(runCtx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", d.healthz)
	mux.HandleFunc("GET /runs", d.runs)
	mux.HandleFunc("GET /metrics", d.serveMetrics)
	mux.HandleFunc("POST /trigger/{schedule}", func(w http.ResponseWriter, r *http.Request) { d.trigger(runCtx, w, r) })
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (d *daemon) healthz(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	stopping := d.stopping
	var running []string
	for name := range d.running {
		running = append(running, name)
	}
	d.mu.Unlock()
	sort.Strings(running)
	status, code := "ok", http.StatusOK
	if stopping {
		status, code = "stopping", http.StatusServiceUnavailable
	}
	broken := []string{}
	for _, s := range d.o.Schedules {
		if s.Runnable() != nil {
			broken = append(broken, s.Name)
		}
	}
	writeJSON(w, code, map[string]any{
		"status": status, "pid": os.Getpid(), "project": d.o.Project.Dir, "started_at": d.started,
		"schedules": len(d.o.Schedules), "running": append([]string{}, running...), "broken": broken,
	})
}

func (d *daemon) runs(w http.ResponseWriter, r *http.Request) {
	f := history.Filter{Schedule: r.URL.Query().Get("schedule"), Limit: 50}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	runs, err := d.o.History.List(r.Context(), f)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, append(d.brokenRuns(f.Schedule), runs...))
}

// StatusBroken is the status of the entries /runs shows, first, for broken
// schedules (see spec.Schedule.Broken): they never run, and say why.
const StatusBroken = "broken"

// brokenRuns are /runs' entries for broken schedules (all, or the one
// named): trigger "config", started when the scheduler started, the
// problems as the error.
func (d *daemon) brokenRuns(schedule string) []history.Run {
	out := []history.Run{}
	for _, s := range d.o.Schedules {
		err := s.Runnable()
		if err == nil || (schedule != "" && schedule != s.Name) {
			continue
		}
		out = append(out, history.Run{Schedule: s.Name, Command: "scheduler", Trigger: "config", Attempt: 1, MaxAttempts: 1,
			StartedAt: d.started, Status: StatusBroken, Steps: []history.Step{}, Error: err.Error(), PID: os.Getpid()})
	}
	return out
}

func (d *daemon) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = d.metrics.write(w, d.next())
}

// trigger starts a run of the named schedule and answers 202 with its run
// id without waiting for it. Without a configured token it always answers
// 403; a missing or wrong token gets 401.
func (d *daemon) trigger(runCtx context.Context, w http.ResponseWriter, r *http.Request) {
	if d.o.Token == "" {
		writeError(w, http.StatusForbidden, "triggering over HTTP is off: start the scheduler with a token in "+d.o.TokenEnv)
		return
	}
	if !validToken(r.Header.Get("Authorization"), d.o.Token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="crmwh"`)
		writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	name := r.PathValue("schedule")
	s, ok := d.byName[name]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "no schedule named "+strconv.Quote(name))
		return
	case s.Runnable() != nil:
		writeError(w, http.StatusConflict, "schedule "+name+" is broken: "+s.Runnable().Error())
		return
	case !s.Enabled:
		writeError(w, http.StatusConflict, "schedule "+name+" is disabled")
		return
	}
	d.mu.Lock()
	stopping, running := d.stopping, d.running[name]
	d.mu.Unlock()
	switch {
	case stopping:
		writeError(w, http.StatusServiceUnavailable, "the scheduler is stopping")
		return
	case running || !d.begin(name):
		writeError(w, http.StatusConflict, "schedule "+name+" is already running")
		return
	}
	req := Request{Schedule: s, Trigger: history.TriggerHTTP, RunID: refresh.NewRunID(time.Now())}
	go func() {
		defer func() {
			if p := recover(); p != nil {
				d.log.Error("run panicked", "schedule", name, "run_id", req.RunID, "panic", p)
			}
		}()
		d.execute(runCtx, req)
	}()
	d.log.Info("run triggered over HTTP", "schedule", name, "run_id", req.RunID, "remote", r.RemoteAddr)
	writeJSON(w, http.StatusAccepted, map[string]string{"schedule": name, "run_id": req.RunID, "trigger": history.TriggerHTTP,
		"status": "accepted"})
}

// validToken compares an Authorization header with the token in constant
// time; hashing first hides the token's length too.
func validToken(header, token string) bool {
	const prefix = "bearer "
	if len(header) < len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	given := sha256.Sum256([]byte(strings.TrimSpace(header[len(prefix):])))
	want := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(given[:], want[:]) == 1
}
