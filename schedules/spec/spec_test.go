package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	_ "crmwh/pipelines/sources/all"
	"crmwh/project"
	"crmwh/schedules/spec"
	"crmwh/schedules/timing"
)

var opts = spec.Options{
	DefaultTimezone: "Asia/Shanghai",
	Sources: []pipelines.SourceConfig{
		{Name: "crm", Streams: []pipelines.StreamConfig{{Name: "customers"}}},
		{Name: "billing", Streams: []pipelines.StreamConfig{{Name: "orders"}, {Name: "legacy_orders"}}},
	},
}

// Every testdata/*.bad.yaml fails with exactly the problems in its .bad.err
// file; every *.broken.yaml loads as a broken schedule with the problems in
// its .broken.err file; every *.good.yaml loads.
func TestScheduleFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 8)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			// Named as in a project: schedules/<name>.yaml.
			name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yaml"), ".good")
			name = strings.TrimSuffix(strings.TrimSuffix(name, ".bad"), ".broken")
			s, err := spec.Parse("schedules/"+name+".yaml", data, opts)
			switch {
			case strings.HasSuffix(f, ".good.yaml"):
				require.NoError(t, err)
				require.NoError(t, s.Runnable())
				require.NotEqual(t, "broken", s.Status())
				return
			case strings.HasSuffix(f, ".broken.yaml"):
				require.NoError(t, err, "a broken schedule is not an error of the set")
				require.Equal(t, "broken", s.Status())
				err = s.Runnable()
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, project.ErrConfig))
			want, rerr := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			require.NoError(t, rerr)
			require.Equal(t, strings.TrimSpace(string(want)), err.Error())
		})
	}
}

func TestAFullSpecLoadsEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/full.good.yaml")
	require.NoError(t, err)
	s, err := spec.Parse("schedules/nightly.yaml", data, opts)
	require.NoError(t, err)
	require.Equal(t, "nightly", s.Name)
	require.Equal(t, "Asia/Shanghai", s.Location.String())
	require.Equal(t, []string{"extract", "build", "test", "dashboards"}, s.Steps)
	require.Equal(t, []string{"crm", "billing.orders"}, s.Extract)
	require.Equal(t, 90*time.Minute, s.Timeout)
	require.Equal(t, time.Duration(0), s.LockWait)
	require.Equal(t, spec.Retries{Max: 3, Backoff: 30 * time.Second, MaxBackoff: 2 * time.Minute}, s.Retries)
	require.Equal(t, spec.MissedRunOnce, s.Missed)
	require.True(t, s.Enabled)
	require.Equal(t, []string{"/usr/local/bin/page-oncall", "--team", "data"}, s.Notify.Command)
	require.True(t, s.Notify.Configured())
	_, isWall := s.Timing.(*timing.Wall)
	require.True(t, isWall)
}

func TestDefaults(t *testing.T) {
	s, err := spec.Parse("schedules/quarter-hourly.yaml", []byte("cron: \"@every 15m\"\nsteps: [extract, build]\n"), opts)
	require.NoError(t, err)
	require.Equal(t, "quarter-hourly", s.Name, "the file name")
	require.Equal(t, "Asia/Shanghai", s.Timezone, "the project's zone")
	require.Empty(t, s.Extract, "every stream")
	require.Equal(t, spec.DefaultTimeout, s.Timeout)
	require.Equal(t, spec.DefaultLockWait, s.LockWait)
	require.Equal(t, spec.Retries{Max: 0, Backoff: time.Minute, MaxBackoff: 30 * time.Minute}, s.Retries)
	require.Equal(t, spec.MissedSkip, s.Missed)
	require.True(t, s.Enabled)
	require.False(t, s.Notify.Configured())
	require.Equal(t, timing.Every{Delay: 15 * time.Minute}, s.Timing)
}

func TestBackoffDoublesUpToTheMaximum(t *testing.T) {
	r := spec.Retries{Max: 6, Backoff: 30 * time.Second, MaxBackoff: 5 * time.Minute}
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, r.Delay(n))
	}
	require.Equal(t, []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}, got)
}

func TestLoadCollectsEveryFilesProblemsAndRejectsDuplicateNames(t *testing.T) {
	fsys := fstest.MapFS{
		"schedules/a.yaml":      {Data: []byte("name: daily\ncron: \"@daily\"\nsteps: [build]\n")},
		"schedules/b.yml":       {Data: []byte("name: daily\ncron: \"@hourly\"\nsteps: [build]\n")},
		"schedules/c.yaml":      {Data: []byte("cron: \"@hourly\"\nsteps: [biuld]\n")},
		"schedules/d.yaml":      {Data: []byte("cron: \"@hourly\"\nsteps: [dashboards]\n")},
		"schedules/README.md":   {Data: []byte("not a schedule")},
		"dashboards/page.yaml":  {Data: []byte("not a schedule either")},
		"schedules/sub/x.yaml":  {Data: []byte("not loaded: only the folder's own files")},
		"schedules/e.yaml.orig": {Data: []byte("ignored")},
	}
	_, err := spec.Load(fsys, "schedules", opts)
	require.ErrorIs(t, err, project.ErrConfig)
	require.Equal(t, `schedules/b.yml:1: name: schedule "daily" is also defined in schedules/a.yaml
schedules/c.yaml:2: steps[0]: unknown step "biuld" (expected one of: extract, build, test, dashboards)`, err.Error())

	delete(fsys, "schedules/b.yml")
	delete(fsys, "schedules/c.yaml")
	all, err := spec.Load(fsys, "schedules", opts)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "d", all[0].Name)
	require.Equal(t, "daily", all[1].Name)
}

func TestTheEmbeddedSchedulesAreValid(t *testing.T) {
	t.Chdir(t.TempDir())
	p, err := project.Load("")
	require.NoError(t, err)
	all, err := spec.LoadProject(p)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	var nightly *spec.Schedule
	for _, s := range all {
		if s.Name == "nightly" {
			nightly = s
		}
	}
	require.NotNil(t, nightly)
	require.Equal(t, "Asia/Shanghai", nightly.Timezone)
	require.True(t, nightly.Enabled)
	next := nightly.Timing.Next(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	require.Equal(t, "2026-11-24T02:30:00+08:00", next.In(nightly.Location).Format(time.RFC3339))
}

func TestAScheduleNamingARemovedSourceIsBrokenAlone(t *testing.T) {
	fsys := fstest.MapFS{
		"schedules/nightly.yaml":  {Data: []byte("cron: \"@daily\"\nsteps: [extract, build]\n")},
		"schedules/intraday.yaml": {Data: []byte("cron: \"@hourly\"\nsteps:\n  - extract: [crm, shop.orders]\n  - build\nenabled: false\n")},
	}
	all, err := spec.Load(fsys, "schedules", opts)
	require.NoError(t, err, "a schedule naming a source crmwh.yaml no longer has does not break the set")
	require.Len(t, all, 2)
	intraday, nightly := all[0], all[1]
	require.Equal(t, "broken", intraday.Status())
	require.Equal(t, `schedules/intraday.yaml:3: steps[0].extract: unknown source or stream "shop.orders" (known: billing, billing.legacy_orders, billing.orders, crm, crm.customers)`,
		intraday.Runnable().Error())
	require.ErrorIs(t, intraday.Runnable(), project.ErrConfig)
	require.Equal(t, "enabled", nightly.Status())
	require.NoError(t, nightly.Runnable())
	require.Equal(t, "Asia/Shanghai", nightly.Location.String(), "no timezone: the project's")
}
