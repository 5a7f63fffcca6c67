package scheduler

import (
	"bytes"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"

	"crmwh/refresh/history"
	"crmwh/schedules/spec"
)

func schedule(t *testing.T, name, yaml string) *spec.Schedule {
	t.Helper()
	s, err := spec.Parse("schedules/"+name+".yaml", []byte(yaml), spec.Options{DefaultTimezone: "Asia/Shanghai"})
	require.NoError(t, err)
	return s
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func TestStartupRunsFollowTheMissedPolicy(t *testing.T) {
	catchUp := schedule(t, "catchup", "cron: \"30 2 * * *\"\nsteps: [build]\nmissed: run_once\n")
	skip := schedule(t, "skip", "cron: \"30 2 * * *\"\nsteps: [build]\nmissed: skip\n")
	off := schedule(t, "off", "cron: \"30 2 * * *\"\nsteps: [build]\nmissed: run_once\nenabled: false\n")
	early := schedule(t, "early", "cron: \"0 1 * * *\"\nsteps: [build]\nmissed: run_once\n")
	all := []*spec.Schedule{catchUp, skip, off, early}
	alive := at(t, "2026-11-20T23:00:00+08:00")
	now := at(t, "2026-11-23T09:00:00+08:00")

	plans := StartupRuns(all, alive, nil, now)
	require.Len(t, plans, 2, "one run each for the run_once schedules, however many nights were missed")
	require.Equal(t, "early", plans[0].Schedule.Name, "in order of the missed time")
	require.Equal(t, "2026-11-23T01:00:00+08:00", plans[0].At.In(early.Location).Format(time.RFC3339))
	require.Equal(t, "catchup", plans[1].Schedule.Name)
	require.Equal(t, "2026-11-23T02:30:00+08:00", plans[1].At.In(catchUp.Location).Format(time.RFC3339))
	require.Equal(t, "missed 3 runs due from 2026-11-21T02:30:00+08:00 to 2026-11-23T02:30:00+08:00", plans[1].Reason)

	require.Empty(t, StartupRuns(all, time.Time{}, nil, now), "a scheduler's first start misses nothing")
	require.Empty(t, StartupRuns(all, at(t, "2026-11-23T02:45:00+08:00"), nil, now), "down after the last run")

	// Down after the run started but before it finished: it runs again.
	interrupted := map[string]history.Run{"catchup": {RunID: "r1", Status: history.StatusInterrupted,
		ScheduledAt: at(t, "2026-11-23T02:30:00+08:00"), StartedAt: at(t, "2026-11-23T02:30:01+08:00")}}
	plans = StartupRuns(all, at(t, "2026-11-23T02:45:00+08:00"), interrupted, now)
	require.Len(t, plans, 1)
	require.Equal(t, "catchup", plans[0].Schedule.Name)
	require.Equal(t, "the last scheduled run r1 did not finish", plans[0].Reason)
}

func TestStartupRunsOfIntervalsCountFromTheLastRun(t *testing.T) {
	every := schedule(t, "every", "cron: \"@every 15m\"\nsteps: [extract]\nmissed: run_once\n")
	last := map[string]history.Run{"every": {RunID: "r", Status: history.StatusOK, StartedAt: at(t, "2026-11-23T10:00:00+08:00")}}
	alive := at(t, "2026-11-23T10:05:00+08:00")
	require.Empty(t, StartupRuns([]*spec.Schedule{every}, alive, last, at(t, "2026-11-23T10:10:00+08:00")))
	plans := StartupRuns([]*spec.Schedule{every}, alive, last, at(t, "2026-11-23T10:20:00+08:00"))
	require.Len(t, plans, 1)
	require.Equal(t, "2026-11-23T10:15:00+08:00", plans[0].At.In(every.Location).Format(time.RFC3339))
}

func TestNextRunForStatus(t *testing.T) {
	nightly := schedule(t, "nightly", "cron: \"30 2 * * *\"\nsteps: [build]\n")
	every := schedule(t, "every", "cron: \"@every 15m\"\nsteps: [extract]\n")
	off := schedule(t, "off", "cron: \"@hourly\"\nsteps: [extract]\nenabled: false\n")
	now := at(t, "2026-11-23T10:20:00+08:00")
	require.Equal(t, "2026-11-24T02:30:00+08:00", NextRun(nightly, now, time.Time{}, time.Time{}).In(nightly.Location).Format(time.RFC3339))
	require.True(t, NextRun(every, now, time.Time{}, time.Time{}).IsZero(), "no scheduler, no interval")
	require.Equal(t, "2026-11-23T10:21:00+08:00",
		NextRun(every, now, at(t, "2026-11-23T09:00:00+08:00"), at(t, "2026-11-23T10:06:00+08:00")).In(every.Location).Format(time.RFC3339))
	require.Equal(t, "2026-11-23T10:30:00+08:00",
		NextRun(every, now, at(t, "2026-11-23T09:00:00+08:00"), time.Time{}).In(every.Location).Format(time.RFC3339))
	require.True(t, NextRun(off, now, now, now).IsZero())
}

// A panicking job is recovered and runs again at its next time; with the
// wrappers the other way round, one panic would skip it for ever.
func TestAPanickingJobRunsAgain(t *testing.T) {
	var buf bytes.Buffer
	l := cronLogger{slog.New(slog.NewJSONHandler(&buf, nil))}
	var calls atomic.Int32
	panicky := cron.FuncJob(func() {
		if calls.Add(1) == 1 {
			panic("boom")
		}
	})
	job := cron.NewChain(jobChain(l)...).Then(panicky)
	job.Run()
	job.Run()
	require.Equal(t, int32(2), calls.Load())
	require.Contains(t, buf.String(), `"msg":"cron: panic"`)
	require.Contains(t, buf.String(), `"err":"boom"`)

	calls.Store(0)
	wrong := cron.NewChain(cron.Recover(l), cron.SkipIfStillRunning(l)).Then(panicky)
	wrong.Run()
	wrong.Run()
	require.Equal(t, int32(1), calls.Load(), "the skip guard lost its token")
}

func TestTrackedKnowsWhichTimeFired(t *testing.T) {
	nightly := schedule(t, "nightly", "cron: \"30 2 * * *\"\ntimezone: America/New_York\nsteps: [build]\n")
	ts := &tracked{inner: nightly.Timing}
	first := ts.Next(at(t, "2025-03-08T12:00:00-05:00"))
	require.Equal(t, "2025-03-09T03:00:00-04:00", first.In(nightly.Location).Format(time.RFC3339), "at the shift")
	// The engine asks for the following time when it fires the first.
	second := ts.Next(first)
	require.Equal(t, first, ts.fired(first.Add(120*time.Millisecond)))
	require.Equal(t, second, ts.fired(second.Add(time.Second)))
}

func TestBearerTokens(t *testing.T) {
	require.True(t, validToken("Bearer s3cret", "s3cret"))
	require.True(t, validToken("bearer s3cret", "s3cret"))
	require.False(t, validToken("Bearer s3cre", "s3cret"))
	require.False(t, validToken("Bearer s3cret2", "s3cret"))
	require.False(t, validToken("Basic s3cret", "s3cret"))
	require.False(t, validToken("", "s3cret"))
	require.False(t, validToken("Bearer ", "s3cret"))
}

func TestMetricsParseAsPrometheusText(t *testing.T) {
	nightly := schedule(t, "nightly", "cron: \"30 2 * * *\"\nsteps: [extract, build]\n")
	odd := schedule(t, "odd-name_2", "cron: \"@hourly\"\nsteps: [build]\n")
	start := at(t, "2026-11-23T00:00:00Z")
	lastOK := at(t, "2026-11-22T18:31:00Z")
	m := newMetrics([]*spec.Schedule{nightly, odd}, start, map[string]time.Time{"nightly": lastOK})
	t0 := at(t, "2026-11-23T18:30:00Z")
	m.attempt(history.Run{Schedule: "nightly", Trigger: "cron", Status: "failed", Attempt: 1, StartedAt: t0, FinishedAt: t0.Add(40 * time.Second)})
	m.attempt(history.Run{Schedule: "nightly", Trigger: "cron", Status: "ok", Attempt: 2, RowsExtracted: 1234,
		StartedAt: t0.Add(time.Minute), FinishedAt: t0.Add(time.Minute + 250*time.Second)})
	m.attempt(history.Run{Schedule: "nightly", Trigger: "http", Status: "skipped", Attempt: 1, StartedAt: t0, FinishedAt: t0})
	m.notified("nightly", nil)
	m.setRunning("odd-name_2", true)
	next := map[string]time.Time{"nightly": at(t, "2026-11-24T18:30:00Z")}

	var buf bytes.Buffer
	require.NoError(t, m.write(&buf, next))
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err, buf.String())

	// No series appears twice.
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		series := line[:strings.LastIndexByte(line, ' ')]
		require.False(t, seen[series], series)
		seen[series] = true
	}

	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f, ok := fams[name]
		require.True(t, ok, name)
	next:
		for _, mt := range f.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case mt.GetCounter() != nil:
				return mt.GetCounter().GetValue()
			case mt.GetGauge() != nil:
				return mt.GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s%v", name, labels)
		return 0
	}
	require.Equal(t, 1.0, value("crmwh_runs_total", map[string]string{"schedule": "nightly", "trigger": "cron", "status": "ok"}))
	require.Equal(t, 1.0, value("crmwh_runs_total", map[string]string{"schedule": "nightly", "trigger": "cron", "status": "failed"}))
	require.Equal(t, 1.0, value("crmwh_runs_total", map[string]string{"schedule": "nightly", "trigger": "http", "status": "skipped"}))
	require.Equal(t, 1234.0, value("crmwh_rows_extracted_total", map[string]string{"schedule": "nightly"}))
	require.Equal(t, 1.0, value("crmwh_retries_total", map[string]string{"schedule": "nightly"}))
	require.Equal(t, float64(t0.Add(time.Minute+250*time.Second).Unix()), value("crmwh_last_success_timestamp_seconds", map[string]string{"schedule": "nightly"}))
	require.Equal(t, 0.0, value("crmwh_last_success_timestamp_seconds", map[string]string{"schedule": "odd-name_2"}))
	require.Equal(t, 1.0, value("crmwh_last_run_success", map[string]string{"schedule": "nightly"}))
	require.Equal(t, 1.0, value("crmwh_run_in_progress", map[string]string{"schedule": "odd-name_2"}))
	require.Equal(t, float64(next["nightly"].Unix()), value("crmwh_next_run_timestamp_seconds", map[string]string{"schedule": "nightly"}))
	require.Equal(t, 1.0, value("crmwh_notifications_total", map[string]string{"schedule": "nightly", "result": "sent"}))
	require.Equal(t, float64(start.Unix()), value("crmwh_scheduler_start_time_seconds", nil))

	h := fams["crmwh_run_duration_seconds"]
	require.Equal(t, "HISTOGRAM", h.GetType().String())
	for _, mt := range h.GetMetric() {
		if mt.GetLabel()[0].GetValue() != "nightly" {
			require.Zero(t, mt.GetHistogram().GetSampleCount())
			continue
		}
		hist := mt.GetHistogram()
		require.Equal(t, uint64(2), hist.GetSampleCount(), "skipped runs have no duration")
		require.Equal(t, 290.0, hist.GetSampleSum())
		cum := map[float64]uint64{}
		for _, b := range hist.GetBucket() {
			cum[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		require.Equal(t, uint64(0), cum[30])
		require.Equal(t, uint64(1), cum[60])
		require.Equal(t, uint64(1), cum[120])
		require.Equal(t, uint64(2), cum[300])
	}
}
