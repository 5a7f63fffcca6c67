package pipelines

import (
	"fmt"
	"os"
	"regexp"
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
	Table      string   `yaml:"table"`
	Query      string   `yaml:"query"`
	Watermark  string   `yaml:"watermark"`
	Lookback   Duration `yaml:"lookback"`
	PrimaryKey []string `yaml:"primary_key"`

	// File sources.
	Path      string         `yaml:"path"`
	Encoding  string         `yaml:"encoding"`
	Delimiter string         `yaml:"delimiter"`
	Timezone  string         `yaml:"timezone"`
	Columns   []ColumnConfig `yaml:"columns"`

	// MaxBadRatio fails the stream's run when more than this share of the
	// rows read went to quarantine. Default 0.01.
	MaxBadRatio *float64 `yaml:"max_bad_ratio"`
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
	// Header is the column's header in the file, when it differs from Name.
	Header string `yaml:"header"`
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

var envRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ExpandEnv replaces ${NAME} with the environment variable's value. A
// missing variable is an error that names it (and not its value).
func ExpandEnv(s string) (string, error) {
	var missing []string
	out := envRE.ReplaceAllStringFunc(s, func(m string) string {
		name := envRE.FindStringSubmatch(m)[1]
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set", strings.Join(missing, ", "))
	}
	return out, nil
}

// EnvNames lists the ${NAME} variables a string refers to.
func EnvNames(s string) []string {
	var out []string
	for _, m := range envRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
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
