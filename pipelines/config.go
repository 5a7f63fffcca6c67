package pipelines

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SourceConfig is one entry of crmwh.yaml's sources list. The fields a kind
// does not use must be left out; the kind's validator says so when they are not.
type SourceConfig struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// DSN is the connection string of a SQL source. It may name environment
	// variables as ${NAME}; they are expanded only when connecting, so a
	// password never appears in the config, logs or the manifest.
	DSN     string         `yaml:"dsn"`
	Streams []StreamConfig `yaml:"streams"`
}

// StreamConfig is one stream of a source: a table or query of a SQL source,
// or a glob of files of a file source.
type StreamConfig struct {
	Name string `yaml:"name"`

	// SQL sources.
	Table     string `yaml:"table"`
	Query     string `yaml:"query"`
	Watermark string `yaml:"watermark"`
	// Lookback re-reads rows whose watermark is up to this far below the
	// last one loaded, for rows committed late; rows already loaded are
	// recognised and skipped. Left out, it is DefaultLookback of the
	// watermark's type; lookback: 0 re-reads only the rows at the
	// watermark itself (ties), which are always re-read.
	Lookback   Lookback `yaml:"lookback"`
	PrimaryKey []string `yaml:"primary_key"`
	// NullWatermark says what happens to rows whose watermark column is
	// NULL: load (default: read on every run into the stream's
	// null_watermark snapshot, which replaces the previous one), quarantine
	// (the same, but into quarantine with a reason) or fail.
	NullWatermark string `yaml:"null_watermark"`

	// File sources.
	Path      string         `yaml:"path"`
	Encoding  string         `yaml:"encoding"`
	Delimiter string         `yaml:"delimiter"`
	Quote     string         `yaml:"quote"`
	Columns   []ColumnConfig `yaml:"columns"`

	// Timezone is the zone of times written without an offset: in files,
	// and in SQL columns of type timestamp without time zone. Default: the
	// project's timezone (crmwh.yaml fills it in; UTC when none is set).
	Timezone string `yaml:"timezone"`

	// OnSchemaChange says what happens when a column the lake has for this
	// stream is missing from the source or has another type: fail (default;
	// the run stops naming the column) or coerce (a missing column is NULL
	// in new rows; a retyped one takes a type both fit, see
	// pipelines.Widen). New columns are always added.
	OnSchemaChange string `yaml:"on_schema_change"`
	// CommitRows is about how many rows a commit unit holds (default
	// 1,000,000): a killed run redoes at most that many.
	CommitRows int64 `yaml:"commit_rows"`

	// MaxBadRatio fails the stream's run when more than this share of the
	// rows read went to quarantine. Default 0.01.
	MaxBadRatio *float64 `yaml:"max_bad_ratio"`

	// Optional lets the stream's table, file or glob be missing: the run
	// says so and goes on. Without it a missing one fails the stream,
	// naming it: nothing is silently read as nothing.
	Optional bool `yaml:"optional"`
	// OnFileChange says what happens when a file of a file stream changes
	// or grows after it was loaded: warn (default: reported in the run
	// summary, the logs, state show and meta.lake_warnings; nothing
	// reloaded), fail (the stream fails, naming the file) or reload (the
	// stream is reloaded from scratch: its new rows replace the old).
	OnFileChange string `yaml:"on_file_change"`
}

// Policies of on_file_change.
const (
	FileChangeWarn   = "warn"
	FileChangeFail   = "fail"
	FileChangeReload = "reload"
)

// FileChangePolicy returns on_file_change or its default, warn.
func (s StreamConfig) FileChangePolicy() string {
	if s.OnFileChange == "" {
		return FileChangeWarn
	}
	return s.OnFileChange
}

// ErrMissing is what errors.Is matches for the error of a stream whose
// table, SQLite file or files are not there (a *MissingError). A stream
// with optional: true is then reported and skipped; any other fails.
var ErrMissing = errors.New("not found")

// MissingError says what is not there, naming it.
type MissingError struct{ Msg string }

// Error is the message, such as "no file matches data/billing/*.csv".
func (e *MissingError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// Missing returns a *MissingError.
func Missing(format string, args ...any) error {
	return &MissingError{Msg: fmt.Sprintf(format, args...)}
}

// ErrReload is returned by a source that found the stream must be reloaded
// from scratch (on_file_change: reload); the run asks for the reload and
// extracts the stream again.
var ErrReload = errors.New("the stream must be reloaded")

// Policies of on_schema_change and null_watermark.
const (
	SchemaFail   = "fail"
	SchemaCoerce = "coerce"

	NullLoad       = "load"
	NullQuarantine = "quarantine"
	NullFail       = "fail"
)

// DefaultCommitRows is the default of commit_rows.
const DefaultCommitRows = 1_000_000

// SchemaPolicy returns on_schema_change or its default.
func (s StreamConfig) SchemaPolicy() string {
	if s.OnSchemaChange == "" {
		return SchemaFail
	}
	return s.OnSchemaChange
}

// NullPolicy returns null_watermark or its default.
func (s StreamConfig) NullPolicy() string {
	if s.NullWatermark == "" {
		return NullLoad
	}
	return s.NullWatermark
}

// CommitEvery returns commit_rows or its default.
func (s StreamConfig) CommitEvery() int64 {
	if s.CommitRows <= 0 {
		return DefaultCommitRows
	}
	return s.CommitRows
}

// ValidateCommon checks the keys every kind of stream has; path is the
// stream's key path, e.g. "streams[0]".
func ValidateCommon(st StreamConfig, path string, report func(path, msg string)) {
	if r := st.BadRatioLimit(); r < 0 || r > 1 {
		report(path+".max_bad_ratio", "must be between 0 and 1")
	}
	switch st.OnSchemaChange {
	case "", SchemaFail, SchemaCoerce:
	default:
		report(path+".on_schema_change", fmt.Sprintf("%q is not a policy (expected fail or coerce)", st.OnSchemaChange))
	}
	if st.CommitRows < 0 {
		report(path+".commit_rows", "must be positive")
	}
	if st.Timezone != "" {
		if _, err := time.LoadLocation(st.Timezone); err != nil {
			report(path+".timezone", fmt.Sprintf("unknown time zone %q (expected an IANA name such as Asia/Shanghai)", st.Timezone))
		}
	}
}

// Location returns the stream's time zone (UTC when unset or unknown).
func (s StreamConfig) Location() *time.Location {
	if s.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// BadRatioLimit returns the configured max_bad_ratio or its default.
func (s StreamConfig) BadRatioLimit() float64 {
	if s.MaxBadRatio == nil {
		return 0.01
	}
	return *s.MaxBadRatio
}

// ColumnConfig declares one column of a file stream.
type ColumnConfig struct {
	Name string `yaml:"name"`
	// Type as in ParseType: string, int64, float64, decimal(P,S), bool, date,
	// timestamp, json.
	Type string `yaml:"type"`
	// Header is the column's header in a CSV file, when it differs from Name.
	Header string `yaml:"header"`
	// Field is the column's field in a JSON Lines record, when it differs
	// from Name; a dotted path (customer.id) reaches into nested objects.
	Field string `yaml:"field"`
	// Format is the layout of dates and timestamps, in Go's reference-time
	// notation (2006-01-02 15:04:05), several separated by " | "; the
	// default accepts RFC 3339 and "2006-01-02 15:04:05".
	Format string `yaml:"format"`
	// Required rejects rows where the column is empty.
	Required bool `yaml:"required"`
}

// Duration is a time.Duration written as "90s", "15m", "2h" or "3d".
type Duration time.Duration

// UnmarshalYAML parses durations with Go's syntax plus a "d" suffix for days.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		// A TypeError lets the decoder go on and report other problems too.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = Duration(v)
	return nil
}

// Lookback is a look-back window: a duration for timestamp and date
// watermarks ("2h", "3d"), or a number of values for integer ones (1000).
type Lookback struct {
	Duration time.Duration
	Count    int64
	// Set is true when crmwh.yaml gives the key, so that lookback: 0 is
	// told from a look-back left out (which takes the default).
	Set bool
}

// IsZero reports whether the window is empty (no span below the
// watermark).
func (l Lookback) IsZero() bool { return l.Duration == 0 && l.Count == 0 }

// Given reports whether the look-back was written (or set in Go), as
// opposed to left to its default.
func (l Lookback) Given() bool { return l.Set || !l.IsZero() }

// Default look-back windows, for rows that commit late, by watermark type:
// a transaction that stamped its rows 10:00 may commit after a run read up
// to 10:03.
var (
	DefaultLookbackTimestamp = Lookback{Duration: 15 * time.Minute}
	DefaultLookbackDate      = Lookback{Duration: 24 * time.Hour}
	DefaultLookbackInt       = Lookback{Count: 1000}
)

// LookbackFor returns the stream's look-back, or the default for a
// watermark of type t when crmwh.yaml leaves it out.
func (s StreamConfig) LookbackFor(t Type) Lookback {
	if s.Lookback.Given() {
		return s.Lookback
	}
	switch t {
	case TypeDate:
		return DefaultLookbackDate
	case TypeInt64:
		return DefaultLookbackInt
	}
	return DefaultLookbackTimestamp
}

// String writes the look-back as in crmwh.yaml.
func (l Lookback) String() string {
	if l.Count > 0 {
		return strconv.FormatInt(l.Count, 10)
	}
	if l.Duration%(24*time.Hour) == 0 && l.Duration > 0 {
		return fmt.Sprintf("%dd", l.Duration/(24*time.Hour))
	}
	return l.Duration.String()
}

// ParseLookback parses "2h", "3d" or "1000" (a look-back written down, so
// Set, even when 0).
func ParseLookback(s string) (Lookback, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return Lookback{}, fmt.Errorf("invalid look-back %q: must not be negative", s)
		}
		return Lookback{Count: n, Set: true}, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return Lookback{}, fmt.Errorf("invalid look-back %q (expected a duration such as 2h or 3d, or a number of values for an integer watermark)", s)
	}
	return Lookback{Duration: d, Set: true}, nil
}

// UnmarshalYAML parses a look-back.
func (l *Lookback) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseLookback(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*l = v
	return nil
}

// ParseDuration parses "90s", "15m", "2h", "3d".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "d") {
		var days float64
		if _, err := fmt.Sscanf(strings.TrimSuffix(s, "d"), "%g", &days); err != nil || days < 0 {
			return 0, fmt.Errorf("invalid duration %q (expected e.g. 90s, 15m, 2h, 3d)", s)
		}
		return time.Duration(days * float64(24*time.Hour)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid duration %q (expected e.g. 90s, 15m, 2h, 3d)", s)
	}
	return v, nil
}

var (
	pwKV  = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|[^\s]*)`)
	pwURL = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)
)

// Redact hides passwords in a connection string or in an error message that
// might quote one: key=value passwords and the password part of URLs.
func Redact(s string) string {
	s = pwKV.ReplaceAllString(s, "${1}***")
	return pwURL.ReplaceAllString(s, "${1}***@")
}
