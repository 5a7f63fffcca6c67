package onboard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Kinds of input.
const (
	KindCSV      = "csv"
	KindParquet  = "parquet"
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// Input is where one entity's rows are: a CSV or Parquet file (or glob),
// or a table of a SQLite or PostgreSQL database.
type Input struct {
	// Entity is the contract entity the rows are for (orders, customers…).
	Entity string
	// Spec is the input as given on the command line.
	Spec string
	// Kind is csv, parquet, sqlite or postgres.
	Kind string
	// Path is the file path or glob (csv, parquet), or the database file
	// (sqlite), as given.
	Path string
	// DSN is the PostgreSQL connection string as given (${NAME} for the
	// password).
	DSN string
	// Table is the table (sqlite), or [schema.]table (postgres).
	Table string
	// Files are the files the glob matches (csv, parquet), sorted.
	Files []string
}

// ErrInput marks an input that cannot be used as given (a usage error).
var ErrInput = errors.New("bad input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// ParseInput reads one input:
//
//	FILE or GLOB                 a CSV file (any delimiter; .csv, .txt, .tsv, …)
//	                             or a Parquet file (.parquet, .parq, .pq)
//	sqlite:PATH#TABLE            a table of a SQLite database file
//	postgres:DSN#[SCHEMA.]TABLE  a table of a PostgreSQL database; the DSN
//	                             names the password as ${ENV_VAR}
//
// The table is what follows the last '#'.
func ParseInput(entity, spec string) (Input, error) {
	in := Input{Entity: entity, Spec: spec}
	db := func(kind, rest, form string) error {
		i := strings.LastIndexByte(rest, '#')
		if i < 0 || strings.TrimSpace(rest[i+1:]) == "" || strings.TrimSpace(rest[:i]) == "" {
			return inputErr("%s %q: expected %s", flagName(entity), spec, form)
		}
		in.Kind, in.Table = kind, strings.TrimSpace(rest[i+1:])
		if kind == KindSQLite {
			in.Path = rest[:i]
		} else {
			in.DSN = rest[:i]
		}
		return nil
	}
	switch {
	case strings.HasPrefix(spec, "sqlite:"):
		if err := db(KindSQLite, strings.TrimPrefix(spec, "sqlite:"), "sqlite:PATH#TABLE"); err != nil {
			return in, err
		}
		if _, err := os.Stat(in.Path); err != nil {
			return in, inputErr("%s: no SQLite database %s", flagName(entity), in.Path)
		}
	case strings.HasPrefix(spec, "postgres:"):
		if err := db(KindPostgres, strings.TrimPrefix(spec, "postgres:"), "postgres:DSN#SCHEMA.TABLE"); err != nil {
			return in, err
		}
		if literalPassword(in.DSN) {
			return in, inputErr("%s: the connection string holds a password; write it as ${NAME} (password=${PGPASSWORD}) and set the variable, so that it never lands in crmwh.yaml", flagName(entity))
		}
	default:
		in.Path = spec
		switch strings.ToLower(filepath.Ext(spec)) {
		case ".parquet", ".parq", ".pq":
			in.Kind = KindParquet
		default:
			in.Kind = KindCSV
		}
		matches, err := filepath.Glob(spec)
		if err != nil {
			return in, inputErr("%s: bad glob %q: %v", flagName(entity), spec, err)
		}
		for _, m := range matches {
			if info, err := os.Stat(m); err == nil && !info.IsDir() {
				in.Files = append(in.Files, m)
			}
		}
		if len(in.Files) == 0 {
			return in, inputErr("%s: no file matches %s", flagName(entity), spec)
		}
	}
	return in, nil
}

// flagName is the command-line flag of an entity (--order-lines).
func flagName(entity string) string { return "--" + strings.ReplaceAll(entity, "_", "-") }

var (
	envRef     = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)
	kvPassword = regexp.MustCompile(`(?i)\bpassword\s*=\s*('[^']+'|[^\s']+)`)
	urlPass    = regexp.MustCompile(`://[^:/@]*:([^@]+)@`)
)

// literalPassword reports whether a DSN holds a password other than a
// ${NAME} reference.
func literalPassword(dsn string) bool {
	for _, re := range []*regexp.Regexp{kvPassword, urlPass} {
		for _, m := range re.FindAllStringSubmatch(dsn, -1) {
			v := strings.Trim(m[1], "'")
			if envRef.ReplaceAllString(v, "") != "" {
				return true
			}
		}
	}
	return false
}

// MachineZone is this machine's IANA time zone: $TZ, else the zone
// /etc/localtime links to, else /etc/timezone, else UTC.
func MachineZone() string {
	valid := func(z string) bool {
		if z == "" || z == "Local" {
			return false
		}
		_, err := time.LoadLocation(z)
		return err == nil
	}
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); valid(tz) {
		return tz
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if i := strings.Index(target, "zoneinfo/"); i >= 0 {
			z := strings.TrimPrefix(strings.TrimPrefix(target[i+len("zoneinfo/"):], "posix/"), "right/")
			if valid(z) {
				return z
			}
		}
	}
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		if z := strings.TrimSpace(string(b)); valid(z) {
			return z
		}
	}
	return "UTC"
}
