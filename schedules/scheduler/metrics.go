package scheduler

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"crmwh/refresh/history"
	"crmwh/schedules/spec"
)

// durationBuckets are the upper bounds (seconds) of the run duration
// histogram: from a quick extract to a long nightly build.
var durationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}

// metrics are the daemon's counters and gauges, written in the Prometheus
// text exposition format (version 0.0.4) by hand: a handful of series do
// not need a client library.
type metrics struct {
	mu          sync.Mutex
	start       time.Time
	schedules   []string
	runs        map[[3]string]float64 // schedule, trigger, status
	durCount    map[string]float64
	durSum      map[string]float64
	durBuckets  map[string][]float64
	rows        map[string]float64
	retries     map[string]float64
	lastSuccess map[string]time.Time
	lastFinish  map[string]time.Time
	lastOK      map[string]float64
	running     map[string]float64
	notes       map[[2]string]float64 // schedule, result
	broken      map[string]float64
}

func newMetrics(schedules []*spec.Schedule, start time.Time, lastSuccess map[string]time.Time) *metrics {
	m := &metrics{
		start: start, runs: map[[3]string]float64{}, durCount: map[string]float64{}, durSum: map[string]float64{},
		durBuckets: map[string][]float64{}, rows: map[string]float64{}, retries: map[string]float64{},
		lastSuccess: map[string]time.Time{}, lastFinish: map[string]time.Time{}, lastOK: map[string]float64{},
		running: map[string]float64{}, notes: map[[2]string]float64{}, broken: map[string]float64{},
	}
	for _, s := range schedules {
		m.schedules = append(m.schedules, s.Name)
		if s.Runnable() != nil {
			m.broken[s.Name] = 1
		}
		m.durBuckets[s.Name] = make([]float64, len(durationBuckets))
		if t, ok := lastSuccess[s.Name]; ok {
			m.lastSuccess[s.Name] = t
		}
	}
	sort.Strings(m.schedules)
	return m
}

// attempt records a finished attempt.
func (m *metrics) attempt(r history.Run) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := r.Schedule
	m.runs[[3]string{s, r.Trigger, r.Status}]++
	if r.Attempt > 1 {
		m.retries[s]++
	}
	if r.Status == history.StatusSkipped {
		return
	}
	secs := r.FinishedAt.Sub(r.StartedAt).Seconds()
	m.durCount[s]++
	m.durSum[s] += secs
	b := m.durBuckets[s]
	if b == nil {
		b = make([]float64, len(durationBuckets))
		m.durBuckets[s] = b
	}
	for i, le := range durationBuckets {
		if secs <= le {
			b[i]++
		}
	}
	m.rows[s] += float64(r.RowsExtracted)
	m.lastFinish[s] = r.FinishedAt
	m.lastOK[s] = 0
	if r.Status == history.StatusOK {
		m.lastOK[s] = 1
		m.lastSuccess[s] = r.FinishedAt
	}
}

// notified records a failure notification and whether it went out.
func (m *metrics) notified(schedule string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	result := "sent"
	if err != nil {
		result = "failed"
	}
	m.notes[[2]string{schedule, result}]++
}

// setRunning records whether a schedule's run is going on.
func (m *metrics) setRunning(schedule string, on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running[schedule] = 0
	if on {
		m.running[schedule] = 1
	}
}

// write writes every metric; next holds each enabled schedule's next run.
func (m *metrics) write(w io.Writer, next map[string]time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, labels [][2]string, v float64) {
		b.WriteString(name)
		if len(labels) > 0 {
			b.WriteByte('{')
			for i, l := range labels {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(l[0] + `="` + escapeLabel(l[1]) + `"`)
			}
			b.WriteByte('}')
		}
		b.WriteByte(' ')
		b.WriteString(formatValue(v))
		b.WriteByte('\n')
	}
	sched := func(s string) [][2]string { return [][2]string{{"schedule", s}} }
	perSchedule := func(name, typ, help string, values map[string]float64) {
		family(name, typ, help)
		for _, s := range m.schedules {
			sample(name, sched(s), values[s])
		}
	}
	times := func(ts map[string]time.Time) map[string]float64 {
		out := map[string]float64{}
		for s, t := range ts {
			if !t.IsZero() {
				out[s] = float64(t.UnixNano()) / 1e9
			}
		}
		return out
	}

	family("crmwh_scheduler_start_time_seconds", "gauge", "When the scheduler started, in seconds since the epoch.")
	sample("crmwh_scheduler_start_time_seconds", nil, float64(m.start.UnixNano())/1e9)

	family("crmwh_runs_total", "counter", "Runs (attempts) finished since the scheduler started, by schedule, trigger and status.")
	keys := make([][3]string, 0, len(m.runs))
	for k := range m.runs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a[0]+"\x00"+a[1]+"\x00"+a[2] < b[0]+"\x00"+b[1]+"\x00"+b[2]
	})
	for _, k := range keys {
		sample("crmwh_runs_total", [][2]string{{"schedule", k[0]}, {"status", k[2]}, {"trigger", k[1]}}, m.runs[k])
	}

	family("crmwh_run_duration_seconds", "histogram", "How long runs took, skipped runs excepted.")
	for _, s := range m.schedules {
		b := m.durBuckets[s]
		for i, le := range durationBuckets {
			sample("crmwh_run_duration_seconds_bucket", [][2]string{{"schedule", s}, {"le", formatValue(le)}}, b[i])
		}
		sample("crmwh_run_duration_seconds_bucket", [][2]string{{"schedule", s}, {"le", "+Inf"}}, m.durCount[s])
		sample("crmwh_run_duration_seconds_sum", sched(s), m.durSum[s])
		sample("crmwh_run_duration_seconds_count", sched(s), m.durCount[s])
	}

	perSchedule("crmwh_rows_extracted_total", "counter", "Rows the extract step loaded into the lake since the scheduler started.", m.rows)
	perSchedule("crmwh_retries_total", "counter", "Retry attempts since the scheduler started.", m.retries)
	perSchedule("crmwh_last_success_timestamp_seconds", "gauge", "When the schedule's last successful run finished (0: none in the history).", times(m.lastSuccess))
	perSchedule("crmwh_last_run_timestamp_seconds", "gauge", "When the schedule's last run since the scheduler started finished (0: none yet).", times(m.lastFinish))
	perSchedule("crmwh_last_run_success", "gauge", "1 if the schedule's last run since the scheduler started succeeded, else 0.", m.lastOK)
	perSchedule("crmwh_run_in_progress", "gauge", "1 while a run of the schedule is going on.", m.running)
	perSchedule("crmwh_next_run_timestamp_seconds", "gauge", "When the schedule runs next (0: disabled or broken).", times(next))
	perSchedule("crmwh_schedule_broken", "gauge", "1 if the schedule names sources or streams the project does not have, so it never runs.", m.broken)

	family("crmwh_notifications_total", "counter", "Notifications (failed runs, targets crossed) since the scheduler started, by result (sent or failed).")
	for _, s := range m.schedules {
		for _, r := range []string{"failed", "sent"} {
			sample("crmwh_notifications_total", [][2]string{{"result", r}, {"schedule", s}}, m.notes[[2]string{s, r}])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeLabel escapes a label value: backslash, double quote and newline.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// formatValue writes a sample value as Prometheus expects.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
