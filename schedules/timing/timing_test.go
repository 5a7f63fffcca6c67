package timing_test

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"

	"crmwh/schedules/timing"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// at parses an RFC 3339 time such as 2025-03-09T01:59:00-05:00.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

// runs lists the run times of expr in zone after from, up to and including
// until, as RFC 3339 strings in the zone.
func runs(t *testing.T, expr, zoneName, from, until string) []string {
	t.Helper()
	loc := zone(t, zoneName)
	s, err := timing.Parse(expr, loc)
	require.NoError(t, err)
	var out []string
	end := at(t, until)
	for r := s.Next(at(t, from)); !r.IsZero() && !r.After(end); r = s.Next(r) {
		out = append(out, r.In(loc).Format(time.RFC3339))
		require.Less(t, len(out), 1000)
	}
	return out
}

func TestDaylightSavingInNewYork(t *testing.T) {
	for _, tc := range []struct {
		name, expr, from, until string
		want                    []string
	}{
		{"a daily run in the skipped hour runs at the shift, once",
			"30 2 * * *", "2025-03-08T00:00:00-05:00", "2025-03-10T23:00:00-04:00",
			[]string{"2025-03-08T02:30:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"}},
		{"every quarter hour of the skipped hour is one run at the shift",
			"*/15 2 * * *", "2025-03-09T00:00:00-05:00", "2025-03-09T12:00:00-04:00",
			[]string{"2025-03-09T03:00:00-04:00"}},
		{"an hourly run goes from 01:00 standard time to 03:00 daylight time",
			"0 * * * *", "2025-03-09T00:30:00-05:00", "2025-03-09T04:00:00-04:00",
			[]string{"2025-03-09T01:00:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T04:00:00-04:00"}},
		{"a run at 03:00 after the shift is not doubled by the shift itself",
			"0 3 * * *", "2025-03-09T00:00:00-05:00", "2025-03-09T12:00:00-04:00",
			[]string{"2025-03-09T03:00:00-04:00"}},
		{"a daily run in the repeated hour runs once, at its first occurrence",
			"30 1 * * *", "2025-11-01T12:00:00-04:00", "2025-11-03T12:00:00-05:00",
			[]string{"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"}},
		{"quarter hours in the repeated hour run once each",
			"*/15 1 * * *", "2025-11-02T00:00:00-04:00", "2025-11-02T12:00:00-05:00",
			[]string{"2025-11-02T01:00:00-04:00", "2025-11-02T01:15:00-04:00", "2025-11-02T01:30:00-04:00", "2025-11-02T01:45:00-04:00"}},
		{"an hourly run skips the second 01:00 of the night",
			"0 * * * *", "2025-11-02T00:30:00-04:00", "2025-11-02T03:00:00-05:00",
			[]string{"2025-11-02T01:00:00-04:00", "2025-11-02T02:00:00-05:00", "2025-11-02T03:00:00-05:00"}},
		{"@daily is midnight on the wall clock on both change days",
			"@daily", "2025-03-08T12:00:00-05:00", "2025-03-10T12:00:00-04:00",
			[]string{"2025-03-09T00:00:00-05:00", "2025-03-10T00:00:00-04:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, runs(t, tc.expr, "America/New_York", tc.from, tc.until))
		})
	}
}

func TestStartingInsideTheRepeatedHourDoesNotRunItsTimesAgain(t *testing.T) {
	ny := zone(t, "America/New_York")
	s, err := timing.Parse("30 1 * * *", ny)
	require.NoError(t, err)
	// 01:10 EST is in the second pass of 01:00–02:00; 01:30 already
	// happened at 01:30 EDT, an hour ago.
	got := s.Next(at(t, "2025-11-02T01:10:00-05:00"))
	require.Equal(t, "2025-11-03T01:30:00-05:00", got.In(ny).Format(time.RFC3339))
}

func TestDaylightSavingInBerlin(t *testing.T) {
	// Berlin springs forward at 02:00 CET to 03:00 CEST on 30 March 2025 and
	// falls back at 03:00 CEST to 02:00 CET on 26 October 2025. Go's
	// time.Date resolves both cases the other way round from New York, so
	// this checks the rules and not one zone's accident.
	require.Equal(t,
		[]string{"2025-03-29T02:30:00+01:00", "2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"},
		runs(t, "30 2 * * *", "Europe/Berlin", "2025-03-29T00:00:00+01:00", "2025-03-31T12:00:00+02:00"))
	require.Equal(t,
		[]string{"2025-10-25T02:30:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"},
		runs(t, "30 2 * * *", "Europe/Berlin", "2025-10-25T00:00:00+02:00", "2025-10-27T12:00:00+01:00"))
	require.Equal(t,
		[]string{"2025-10-26T02:00:00+02:00", "2025-10-26T02:20:00+02:00", "2025-10-26T02:40:00+02:00", "2025-10-26T03:00:00+01:00"},
		runs(t, "*/20 2-3 * * *", "Europe/Berlin", "2025-10-26T01:30:00+02:00", "2025-10-26T03:00:00+01:00"))
}

// robfig/cron on its own skips the run in the skipped hour and runs the
// one in the repeated hour twice; this is why crmwh wraps it.
func TestRobfigCronAloneSkipsAndRepeats(t *testing.T) {
	ny := zone(t, "America/New_York")
	s, err := cron.ParseStandard("30 2 * * *")
	require.NoError(t, err)
	spec := s.(*cron.SpecSchedule)
	spec.Location = ny
	require.Equal(t, "2025-03-10T02:30:00-04:00", spec.Next(at(t, "2025-03-09T00:00:00-05:00")).In(ny).Format(time.RFC3339))

	s, err = cron.ParseStandard("30 1 * * *")
	require.NoError(t, err)
	spec = s.(*cron.SpecSchedule)
	spec.Location = ny
	first := spec.Next(at(t, "2025-11-02T00:00:00-04:00"))
	second := spec.Next(first)
	require.Equal(t, "2025-11-02T01:30:00-04:00", first.In(ny).Format(time.RFC3339))
	require.Equal(t, "2025-11-02T01:30:00-05:00", second.In(ny).Format(time.RFC3339))
}

func TestEachScheduleRunsInItsOwnZone(t *testing.T) {
	from := at(t, "2026-11-23T00:00:00Z")
	for zoneName, want := range map[string]string{
		"Asia/Shanghai":    "2026-11-23T18:30:00Z", // 02:30 CST on the 24th
		"Europe/Berlin":    "2026-11-23T01:30:00Z",
		"America/New_York": "2026-11-23T07:30:00Z",
		"UTC":              "2026-11-23T02:30:00Z",
	} {
		s, err := timing.Parse("30 2 * * *", zone(t, zoneName))
		require.NoError(t, err)
		require.Equal(t, want, s.Next(from).UTC().Format(time.RFC3339), zoneName)
	}
}

func TestDescriptorsAndIntervals(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	from := at(t, "2026-11-23T10:15:30+08:00")
	for expr, want := range map[string]string{
		"@hourly":           "2026-11-23T11:00:00+08:00",
		"@daily":            "2026-11-24T00:00:00+08:00",
		"@midnight":         "2026-11-24T00:00:00+08:00",
		"@weekly":           "2026-11-29T00:00:00+08:00", // Sunday
		"@monthly":          "2026-12-01T00:00:00+08:00",
		"@yearly":           "2027-01-01T00:00:00+08:00",
		"@annually":         "2027-01-01T00:00:00+08:00",
		"@every 15m":        "2026-11-23T10:30:30+08:00",
		"0 9 * * 1-5":       "2026-11-24T09:00:00+08:00",
		"0 0 1,15 * *":      "2026-12-01T00:00:00+08:00",
		"0 6 * jan,jul mon": "2027-01-04T06:00:00+08:00",
	} {
		s, err := timing.Parse(expr, sh)
		require.NoError(t, err, expr)
		require.Equal(t, want, s.Next(from).In(sh).Format(time.RFC3339), expr)
	}
}

func TestInvalidExpressionsSayWhy(t *testing.T) {
	for expr, want := range map[string]string{
		"":                      "empty expression",
		"30 2 * *":              `"30 2 * *": expected five fields (minute hour day-of-month month day-of-week), found 4`,
		"61 2 * * *":            `"61 2 * * *": minute field "61": end of range (61) above maximum (59): 61`,
		"30 25 * * *":           `"30 25 * * *": hour field "25": end of range (25) above maximum (23): 25`,
		"0 0 * foo *":           `"0 0 * foo *": month field "foo": failed to parse int from foo`,
		"0 0 * * 8":             `"0 0 * * 8": day of week field "8": end of range (8) above maximum (6): 8`,
		"0 0 30 2 *":            `"0 0 30 2 *": never fires: no date matches its day and month fields`,
		"@fortnightly":          `"@fortnightly": unknown descriptor`,
		"@every soon":           `"@every soon": failed to parse duration @every soon`,
		"@every 500ms":          `"@every 500ms": the interval must be at least 1s`,
		"@every 1500ms":         `"@every 1500ms": the interval must be whole seconds`,
		"CRON_TZ=UTC 0 0 * * *": "a time zone prefix is not allowed here; use the schedule's timezone key",
		"0 30 2 * * *":          "expected five fields",
	} {
		_, err := timing.Parse(expr, time.UTC)
		require.Error(t, err, expr)
		require.Contains(t, err.Error(), want, expr)
	}
}

func TestMissedRuns(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	nightly, err := timing.Parse("30 2 * * *", sh)
	require.NoError(t, err)
	every, err := timing.Parse("@every 15m", sh)
	require.NoError(t, err)
	t0 := at(t, "2026-11-20T23:00:00+08:00")

	t.Run("down over three nights misses three runs", func(t *testing.T) {
		m, ok := timing.Missed(nightly, t0, time.Time{}, at(t, "2026-11-23T09:00:00+08:00"))
		require.True(t, ok)
		require.Equal(t, 3, m.Count)
		require.Equal(t, "2026-11-21T02:30:00+08:00", m.First.In(sh).Format(time.RFC3339))
		require.Equal(t, "2026-11-23T02:30:00+08:00", m.Last.In(sh).Format(time.RFC3339))
	})
	t.Run("down between two runs misses nothing", func(t *testing.T) {
		_, ok := timing.Missed(nightly, at(t, "2026-11-21T03:00:00+08:00"), time.Time{}, at(t, "2026-11-21T23:00:00+08:00"))
		require.False(t, ok)
	})
	t.Run("a run due exactly at restart counts as missed", func(t *testing.T) {
		m, ok := timing.Missed(nightly, at(t, "2026-11-21T02:00:00+08:00"), time.Time{}, at(t, "2026-11-21T02:30:00+08:00"))
		require.True(t, ok)
		require.Equal(t, 1, m.Count)
	})
	t.Run("never watched before: nothing missed", func(t *testing.T) {
		_, ok := timing.Missed(nightly, time.Time{}, time.Time{}, at(t, "2026-11-23T09:00:00+08:00"))
		require.False(t, ok)
	})
	t.Run("the skipped hour counts once, at the shift", func(t *testing.T) {
		ny := zone(t, "America/New_York")
		s, err := timing.Parse("*/15 2 * * *", ny)
		require.NoError(t, err)
		m, ok := timing.Missed(s, at(t, "2025-03-09T01:00:00-05:00"), time.Time{}, at(t, "2025-03-09T05:00:00-04:00"))
		require.True(t, ok)
		require.Equal(t, 1, m.Count)
		require.Equal(t, "2025-03-09T03:00:00-04:00", m.First.In(ny).Format(time.RFC3339))
	})
	t.Run("intervals count from the last run", func(t *testing.T) {
		last := at(t, "2026-11-23T10:00:00+08:00")
		alive := at(t, "2026-11-23T10:05:00+08:00")
		_, ok := timing.Missed(every, alive, last, at(t, "2026-11-23T10:14:59+08:00"))
		require.False(t, ok)
		m, ok := timing.Missed(every, alive, last, at(t, "2026-11-23T11:00:00+08:00"))
		require.True(t, ok)
		require.Equal(t, 4, m.Count) // 10:15, 10:30, 10:45, 11:00
		require.Equal(t, "2026-11-23T10:15:00+08:00", m.First.In(sh).Format(time.RFC3339))
		_, ok = timing.Missed(every, alive, time.Time{}, at(t, "2026-11-23T11:00:00+08:00"))
		require.False(t, ok, "an interval that never ran has missed nothing")
	})
}
