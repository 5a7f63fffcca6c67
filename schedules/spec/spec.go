// Package spec loads schedule specs, the schedules/*.yaml files of a
// project: when a refresh runs (a cron expression in a time zone), which
// steps it runs, how long it may take, how it is retried, what happens to a
// run missed while no scheduler was running, and whom to tell when it
// fails. Files are checked strictly when loaded: unknown keys, bad cron
// expressions and unknown time zones are errors that name the file, the
// line and the key, all reported at once. A schedule that names a source
// or stream the project does not have (crmwh.yaml changed under it) is not
// an error of the whole set: it loads as broken (Schedule.Broken), is
// reported wherever schedules are listed and is never run, and the other
// schedules go on.
package spec

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"crmwh/pipelines"
	"crmwh/project"
	"crmwh/project/strictyaml"
	"crmwh/schedules/timing"
)

// Dir is the folder of schedule files in a project.
const Dir = "schedules"

// Missed-run policies.
const (
	// MissedSkip forgets runs missed while no scheduler was running.
	MissedSkip = "skip"
	// MissedRunOnce runs once when the scheduler starts if any run was
	// missed (however many were).
	MissedRunOnce = "run_once"
)

// Step names a schedule may list, in the order they run.
var Steps = []string{"extract", "build", "test", "dashboards"}

// Defaults for keys left out.
const (
	DefaultTimeout    = 2 * time.Hour
	DefaultLockWait   = 10 * time.Minute
	DefaultBackoff    = time.Minute
	DefaultMaxBackoff = 30 * time.Minute
)

// Schedule is a loaded, validated schedule.
type Schedule struct {
	// Name identifies the schedule (in history, metrics and
	// POST /trigger/<name>); it defaults to the file name without .yaml.
	Name        string
	Description string
	// File is the spec's path in the project, such as schedules/nightly.yaml.
	File string
	// Cron is the expression as written; Timing is it parsed for Location.
	Cron     string
	Timezone string
	Location *time.Location
	Timing   timing.Schedule
	// Steps to run, in order: some of extract, build, test, dashboards.
	Steps []string
	// Extract limits the extract step to these sources or source.stream
	// names; empty means every stream.
	Extract []string
	// Timeout bounds each attempt; LockWait is how long an attempt waits
	// for another refresh of the project to finish.
	Timeout  time.Duration
	LockWait time.Duration
	Retries  Retries
	// Missed is MissedSkip or MissedRunOnce.
	Missed  string
	Enabled bool
	Notify  Notify
	// Broken lists why the schedule cannot run although its file is
	// well-formed: the sources or streams it names that the project does
	// not have. A broken schedule is listed and reported, never run.
	Broken strictyaml.Problems
}

// Runnable returns nil, or for a broken schedule a *project.ConfigError
// with its problems.
func (s *Schedule) Runnable() error {
	if len(s.Broken) == 0 {
		return nil
	}
	return &project.ConfigError{Problems: s.Broken}
}

// Status is "broken", "disabled" or "enabled".
func (s *Schedule) Status() string {
	switch {
	case len(s.Broken) > 0:
		return "broken"
	case !s.Enabled:
		return "disabled"
	}
	return "enabled"
}

// Retries say how a failed run is tried again.
type Retries struct {
	// Max is the number of retries after the first attempt.
	Max int
	// Backoff is the wait before the first retry; it doubles for each
	// further retry, up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Delay returns the wait before retry number n (1 for the first retry).
func (r Retries) Delay(n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

// Notify says whom to tell when a run fails for good.
type Notify struct {
	// Webhook receives a POST with a JSON body; WebhookEnv names an
	// environment variable holding the URL instead (for URLs that are
	// secrets, such as chat webhooks).
	Webhook    string
	WebhookEnv string
	// Command is run with the JSON body on its standard input, in a
	// minimal environment (notify.BaseEnv and the run's CRMWH_*
	// variables) plus the variables Env names.
	Command []string
	Env     []string
	// HealthURL is the data-health page the message links to; empty means
	// the site folder's health.html.
	HealthURL string
}

// Configured reports whether any notification is set up.
func (n Notify) Configured() bool {
	return n.Webhook != "" || n.WebhookEnv != "" || len(n.Command) > 0
}

// Options are what a schedule is checked against.
type Options struct {
	// DefaultTimezone applies when a schedule names none: the project's.
	DefaultTimezone string
	// Sources are the project's sources, for the extract step's names.
	Sources []pipelines.SourceConfig
}

// LoadProject loads the schedules of a project.
func LoadProject(p *project.Project) ([]*Schedule, error) {
	return Load(p.FS, Dir, Options{DefaultTimezone: p.Config.Timezone, Sources: p.Config.Sources})
}

// Load reads every dir/*.yaml and dir/*.yml in fsys. The error is a
// *project.ConfigError listing every problem of every file. Broken
// schedules (see Schedule.Broken) are returned with the others, not as an
// error. Schedules are sorted by name.
func Load(fsys fs.FS, dir string, o Options) ([]*Schedule, error) {
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := fs.Glob(fsys, path.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	var all []*Schedule
	var problems strictyaml.Problems
	seen := map[string]string{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		s, d := parse(f, data, o)
		if s != nil && s.Name != "" {
			if other, dup := seen[s.Name]; dup {
				d.Addf("name", "schedule %q is also defined in %s", s.Name, other)
			} else {
				seen[s.Name] = f
			}
		}
		problems = append(problems, d.Problems...)
		if len(d.Problems) == 0 {
			all = append(all, s)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, &project.ConfigError{Problems: problems}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}

// Parse decodes and checks one schedule file. The error is a
// *project.ConfigError; a schedule that is only broken (see
// Schedule.Broken) is returned without one.
func Parse(file string, data []byte, o Options) (*Schedule, error) {
	s, d := parse(file, data, o)
	if err := d.Problems.Err(); err != nil {
		return nil, &project.ConfigError{Problems: d.Problems}
	}
	return s, nil
}

// specFile is a schedule file as written.
type specFile struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Cron        string   `yaml:"cron"`
	Timezone    string   `yaml:"timezone"`
	Steps       []step   `yaml:"steps"`
	Timeout     duration `yaml:"timeout"`
	LockWait    duration `yaml:"lock_wait"`
	Retries     struct {
		Max        int      `yaml:"max"`
		Backoff    duration `yaml:"backoff"`
		MaxBackoff duration `yaml:"max_backoff"`
	} `yaml:"retries"`
	Missed  string `yaml:"missed"`
	Enabled *bool  `yaml:"enabled"`
	Notify  struct {
		Webhook    string   `yaml:"webhook"`
		WebhookEnv string   `yaml:"webhook_env"`
		Command    []string `yaml:"command"`
		Env        []string `yaml:"env"`
		HealthURL  string   `yaml:"health_url"`
	} `yaml:"notify"`
}

var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func parse(file string, data []byte, o Options) (*Schedule, *strictyaml.Doc) {
	f := specFile{
		Timeout:  duration{DefaultTimeout},
		LockWait: duration{DefaultLockWait},
		Missed:   MissedSkip,
	}
	f.Retries.Backoff = duration{DefaultBackoff}
	f.Retries.MaxBackoff = duration{DefaultMaxBackoff}
	d := strictyaml.Decode(file, data, &f)
	s := &Schedule{File: file}
	d.ValidateAfterDecode(func() { validate(d, &f, s, o) })
	return s, d
}

func validate(d *strictyaml.Doc, f *specFile, s *Schedule, o Options) {
	s.Name = f.Name
	if !d.Has("name") {
		s.Name = strings.TrimSuffix(strings.TrimSuffix(path.Base(d.File), ".yaml"), ".yml")
	}
	if !nameRE.MatchString(s.Name) {
		key := "name"
		if !d.Has("name") {
			key = ""
		}
		d.Addf(key, "schedule name %q must be lower case letters, digits, _ and -, starting with a letter or digit (it appears in URLs and metrics)", s.Name)
	}
	s.Description = f.Description

	s.Timezone = f.Timezone
	if !d.Has("timezone") {
		s.Timezone = o.DefaultTimezone
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil || s.Timezone == "" {
		d.Addf("timezone", "unknown time zone %q (expected an IANA name such as Asia/Shanghai or America/New_York)", s.Timezone)
		loc = time.UTC
	}
	s.Location = loc

	s.Cron = f.Cron
	if strings.TrimSpace(f.Cron) == "" {
		d.Addf("cron", "missing: when to run, as five fields such as \"30 2 * * *\", or @daily, or @every 15m")
	} else if t, err := timing.Parse(f.Cron, loc); err != nil {
		d.Addf("cron", "invalid expression %v", err)
	} else {
		s.Timing = t
	}

	validateSteps(d, f, s, o)

	s.Timeout = f.Timeout.Duration
	if s.Timeout <= 0 {
		d.Addf("timeout", "must be positive, such as 30m or 2h")
	}
	s.LockWait = f.LockWait.Duration
	if s.LockWait < 0 {
		d.Addf("lock_wait", "must not be negative")
	}
	s.Retries = Retries{Max: f.Retries.Max, Backoff: f.Retries.Backoff.Duration, MaxBackoff: f.Retries.MaxBackoff.Duration}
	if s.Retries.Max < 0 || s.Retries.Max > 10 {
		d.Addf("retries.max", "must be between 0 and 10, got %d", s.Retries.Max)
	}
	if s.Retries.Backoff <= 0 {
		d.Addf("retries.backoff", "must be positive, such as 30s or 5m")
	}
	if s.Retries.MaxBackoff < s.Retries.Backoff {
		d.Addf("retries.max_backoff", "%s is shorter than retries.backoff %s", s.Retries.MaxBackoff, s.Retries.Backoff)
	}

	s.Missed = f.Missed
	if s.Missed != MissedSkip && s.Missed != MissedRunOnce {
		d.Addf("missed", "%q is not a policy (expected skip or run_once)", f.Missed)
	}
	s.Enabled = f.Enabled == nil || *f.Enabled

	n := f.Notify
	s.Notify = Notify{Webhook: n.Webhook, WebhookEnv: n.WebhookEnv, Command: n.Command, Env: n.Env, HealthURL: n.HealthURL}
	if n.Webhook != "" {
		if u, err := url.Parse(n.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.Addf("notify.webhook", "expected an http:// or https:// URL")
		}
		if n.WebhookEnv != "" {
			d.Addf("notify.webhook_env", "give either webhook or webhook_env, not both")
		}
	}
	if n.WebhookEnv != "" && !envRE.MatchString(n.WebhookEnv) {
		d.Addf("notify.webhook_env", "%q is not an environment variable name", n.WebhookEnv)
	}
	if d.Has("notify.command") && (len(n.Command) == 0 || strings.TrimSpace(n.Command[0]) == "") {
		d.Addf("notify.command", "expected the program and its arguments, such as [/usr/local/bin/page-oncall, --team, data]")
	}
	for i, name := range n.Env {
		if !envRE.MatchString(name) {
			d.Addf(fmt.Sprintf("notify.env[%d]", i), "%q is not an environment variable name", name)
		}
	}
	if len(n.Env) > 0 && len(n.Command) == 0 {
		d.Addf("notify.env", "passes variables to notify.command, which is not set")
	}
	if n.HealthURL != "" {
		if u, err := url.Parse(n.HealthURL); err != nil || u.Scheme == "" {
			d.Addf("notify.health_url", "expected an absolute URL such as https://dashboards.example.com/health.html")
		}
	}
}

func validateSteps(d *strictyaml.Doc, f *specFile, s *Schedule, o Options) {
	if len(f.Steps) == 0 {
		if d.Has("steps") {
			d.Addf("steps", "no steps: list some of %s", strings.Join(Steps, ", "))
		} else {
			d.Addf("steps", "missing: which steps to run, such as [extract, build, dashboards]")
		}
		return
	}
	known := knownStreams(o.Sources)
	last := -1
	listed := map[string]bool{}
	for i, st := range f.Steps {
		key := fmt.Sprintf("steps[%d]", i)
		if st.Name == "" {
			continue // the decoder reported it
		}
		pos := indexOf(Steps, st.Name)
		dup := listed[st.Name]
		listed[st.Name] = true
		switch {
		case pos < 0:
			d.Addf(key, "unknown step %q (expected one of: %s)", st.Name, strings.Join(Steps, ", "))
			continue
		case dup:
			d.Addf(key, "step %s is listed twice", st.Name)
			continue
		case pos < last:
			d.Addf(key, "step %s must come before %s (steps run in the order %s)", st.Name, Steps[last], strings.Join(Steps, ", "))
			continue
		}
		last = pos
		s.Steps = append(s.Steps, st.Name)
		for _, sel := range st.Extract {
			if !known[sel] {
				path := key + ".extract"
				s.Broken = append(s.Broken, strictyaml.Problem{File: d.File, Line: d.Line(path), Path: path,
					Msg: fmt.Sprintf("unknown source or stream %q (known: %s)", sel, strings.Join(sortedKeys(known), ", "))})
			}
		}
		if st.Name == "extract" {
			s.Extract = st.Extract
		}
	}
}

func knownStreams(sources []pipelines.SourceConfig) map[string]bool {
	out := map[string]bool{}
	for _, src := range sources {
		out[src.Name] = true
		for _, st := range src.Streams {
			out[src.Name+"."+st.Name] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// step is one entry of steps: a name (build), or extract with the sources
// to extract ({extract: [crm, billing.orders]}, or {extract: all}).
type step struct {
	Name    string
	Extract []string
}

// UnmarshalYAML decodes a step and reports mistakes with their line.
func (s *step) UnmarshalYAML(n *yaml.Node) error {
	fail := func(format string, args ...any) error {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		s.Name = n.Value
		return nil
	case yaml.MappingNode:
		if len(n.Content) != 2 || n.Content[0].Value != "extract" {
			return fail("a step with options must be {extract: [source or source.stream, ...]}")
		}
		s.Name = "extract"
		v := n.Content[1]
		switch {
		case v.Kind == yaml.ScalarNode && v.Value == "all":
			return nil
		case v.Kind == yaml.SequenceNode && len(v.Content) > 0:
			for _, c := range v.Content {
				if c.Kind != yaml.ScalarNode || c.Value == "" {
					return fail("extract: expected names of sources or source.stream")
				}
				s.Extract = append(s.Extract, c.Value)
			}
			return nil
		}
		return fail("extract: expected all, or a list of sources or source.stream names such as [crm, billing.orders]")
	}
	return fail("expected a step name (%s) or {extract: [sources]}", strings.Join(Steps, ", "))
}

// duration is a YAML duration such as 90s, 15m or 2h.
type duration struct{ time.Duration }

// UnmarshalYAML decodes a Go duration string.
func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		if n.Value == "0" {
			d.Duration = 0
			return nil
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (expected a number with a unit, such as 90s, 15m or 2h)", n.Line, n.Value)}}
	}
	d.Duration = v
	return nil
}
