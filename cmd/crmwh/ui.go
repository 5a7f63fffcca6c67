package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"crmwh/pipelines/extract"
	"crmwh/pipelines/secret"
	"crmwh/refresh"
	"crmwh/warehouse/build"
)

// ui prints progress and summaries. On a terminal it shows a live status
// line and a line per finished stream or model; with --json, or when stdout
// is not a terminal, it prints no progress, and --json prints the summary
// as JSON on stdout.
type ui struct {
	out, errw io.Writer
	tty       bool
	json      bool
	mu        sync.Mutex
	finished  map[string]bool
	status    bool // a status line is on screen
}

func newUI(out, errw io.Writer, jsonOut bool) *ui {
	return &ui{out: out, errw: errw, tty: isTerminal(errw) && !jsonOut, json: jsonOut, finished: map[string]bool{}}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// logger returns the slog logger for this run: quiet text on a terminal
// (warnings and errors, except those the progress lines already show),
// JSON lines otherwise (warnings and errors; info with -v).
func (u *ui) logger(verbose bool) *slog.Logger {
	if u.tty {
		lvl := slog.LevelWarn
		if verbose {
			lvl = slog.LevelInfo
		}
		return slog.New(shownOnce{secret.Handler(slog.NewTextHandler(u.errw, &slog.HandlerOptions{Level: lvl}))})
	}
	lvl := slog.LevelWarn
	if verbose {
		lvl = slog.LevelInfo
	}
	return slog.New(secret.Handler(slog.NewJSONHandler(u.errw, &slog.HandlerOptions{Level: lvl})))
}

// shownByProgress are log messages whose news a progress line on the
// terminal already gives (a failed stream or model, a data test that did
// not pass): on a terminal they are not logged as well.
var shownByProgress = map[string]bool{"stream failed": true, "model failed": true, "data test did not pass": true}

// shownOnce is a slog handler that leaves out shownByProgress messages.
type shownOnce struct{ slog.Handler }

func (h shownOnce) Handle(ctx context.Context, r slog.Record) error {
	if shownByProgress[r.Message] {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h shownOnce) WithAttrs(as []slog.Attr) slog.Handler { return shownOnce{h.Handler.WithAttrs(as)} }
func (h shownOnce) WithGroup(n string) slog.Handler       { return shownOnce{h.Handler.WithGroup(n)} }

// line prints a permanent progress line (terminal only).
func (u *ui) line(format string, args ...any) {
	if !u.tty {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clearStatus()
	fmt.Fprintf(u.errw, format+"\n", args...)
}

func (u *ui) setStatus(s string) {
	if !u.tty {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clearStatus()
	fmt.Fprint(u.errw, s)
	u.status = true
}

// clearStatusLine removes the status line (terminal only).
func (u *ui) clearStatusLine() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clearStatus()
}

func (u *ui) clearStatus() {
	if u.status {
		fmt.Fprint(u.errw, "\r\033[K")
		u.status = false
	}
}

// extractProgress shows running streams on the status line and a line per
// finished stream.
func (u *ui) extractProgress(rs []extract.StreamResult) {
	if !u.tty {
		return
	}
	var running []string
	for _, r := range rs {
		switch r.State {
		case "running":
			running = append(running, fmt.Sprintf("%s %s rows %s/s %s", r.Name(), thousands(r.Rows), thousands(rate(r.Rows, r.Duration)), mb(r.Bytes)))
		case "ok", "failed":
			if u.finished[r.Name()] {
				continue
			}
			u.finished[r.Name()] = true
			mark := "✓"
			if r.State == "failed" {
				mark = "✗"
			}
			extra := ""
			if r.Files > 0 {
				extra = fmt.Sprintf(", %d files", r.Files)
			}
			if r.Full {
				extra += ", full reload"
			}
			for _, k := range []string{"null_watermark", "null_watermark_quarantined", "lookback_duplicates"} {
				if n := r.Counters[k]; n > 0 {
					extra += fmt.Sprintf(", %s %s", strings.ReplaceAll(k, "_", " "), thousands(n))
				}
			}
			u.line("  %s %-28s %12s rows %8s quarantined %10s/s %8s%s", mark, r.Name(), thousands(r.Rows), thousands(r.Quarantine),
				thousands(rate(r.Rows, r.Duration)), r.Duration.Round(time.Millisecond), extra)
			for _, rep := range r.Reports {
				u.line("      %s: %s", rep.Kind, rep.Msg)
			}
		}
	}
	if len(running) > 0 {
		u.setStatus("  … " + strings.Join(running, " | "))
	}
}

// buildProgress prints a line per model.
func (u *ui) buildProgress(m build.ModelResult) {
	mark := map[string]string{"ok": "✓", "failed": "✗", "skipped": "-"}[m.Status]
	rows := "view"
	if m.Rows >= 0 {
		rows = thousands(m.Rows) + " rows"
	}
	if m.Status != "ok" {
		rows = m.Status
	}
	u.line("  %s %-32s %16s %10s", mark, m.Name, rows, m.Duration.Round(time.Millisecond))
}

// testProgress prints a line per data test that did not pass, and a dot
// count of the others on the status line.
func (u *ui) testProgress(t build.TestResult) {
	if t.Status == "pass" {
		return
	}
	mark := map[string]string{"warn": "!", "fail": "✗", "error": "✗"}[t.Status]
	for _, l := range testLines(t) {
		if strings.HasPrefix(l, "test ") {
			u.line("  %s %s", mark, l)
		} else {
			u.line("      %s", l)
		}
	}
}

// testLines describe a data test that did not pass: a line naming it, and
// up to build.SampleRows of its failing rows as a table.
func testLines(t build.TestResult) []string {
	if t.Error != "" {
		return []string{fmt.Sprintf("test %s (%s): %s", t.Name, t.Where, t.Error)}
	}
	head := fmt.Sprintf("test %s (%s): %s", t.Name, t.Where, t.FailingRows())
	if t.SampleText == "" {
		return []string{head}
	}
	if t.Failures > build.SampleRows {
		head += fmt.Sprintf("; the first %d:", build.SampleRows)
	} else {
		head += ":"
	}
	return append([]string{head}, strings.Split(strings.TrimRight(t.SampleText, "\n"), "\n")...)
}

// stepHeader announces a step.
func (u *ui) stepHeader(step string) { u.line("%s", step) }

// summary prints a run summary: JSON with --json, else a short table.
func (u *ui) summary(s refresh.Summary) {
	if u.json {
		enc := json.NewEncoder(u.out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
		return
	}
	fmt.Fprintf(u.out, "run %s: %s in %s\n", s.RunID, s.Status, s.Duration.Round(time.Millisecond))
	for _, st := range s.Steps {
		d := ""
		if st.Status != "skipped" {
			d = st.Duration.Round(time.Millisecond).String()
		}
		fmt.Fprintf(u.out, "  %-11s %-8s %10s  %s\n", st.Step, st.Status, d, st.Detail)
		if br, ok := st.Result.(build.Result); ok && len(br.LeftOutBy()) > 0 {
			by := br.LeftOutBy()
			keys := make([]string, 0, len(by))
			for k := range by {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			fmt.Fprintf(u.out, "  left out for want of data (map the entity in crmwh.yaml to build it; docs/your-data.md):\n")
			for _, k := range keys {
				fmt.Fprintf(u.out, "    %-24s %s\n", k, strings.Join(by[k], ", "))
			}
		}
	}
	// On a terminal the progress lines showed them already.
	for _, st := range s.Steps {
		if res, ok := st.Result.(extract.Result); ok && !u.tty {
			for _, r := range res.Streams {
				for _, rep := range r.Reports {
					fmt.Fprintf(u.out, "  warning: %s: %s: %s\n", r.Name(), rep.Kind, rep.Msg)
				}
			}
		}
		if res, ok := st.Result.(extract.Result); ok {
			for _, msg := range res.CatalogErrors {
				fmt.Fprintf(u.out, "  warning: iceberg: %s\n", msg)
			}
		}
	}
	if u.tty {
		return // the progress lines showed the tests that did not pass
	}
	for _, t := range failingTests(s) {
		for i, l := range testLines(t) {
			if i == 0 {
				fmt.Fprintf(u.out, "  %s\n", l)
			} else {
				fmt.Fprintf(u.out, "      %s\n", l)
			}
		}
	}
}

// failingTests are the data tests of a run's build or test step that did
// not pass.
func failingTests(s refresh.Summary) []build.TestResult {
	var out []build.TestResult
	for _, st := range s.Steps {
		var tests []build.TestResult
		switch r := st.Result.(type) {
		case build.Result:
			tests = r.Tests
		case []build.TestResult:
			tests = r
		}
		for _, t := range tests {
			if t.Status != "pass" {
				out = append(out, t)
			}
		}
	}
	return out
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

// thousands formats 1234567 as 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
