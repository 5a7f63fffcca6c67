package iceberg

import (
	"regexp"
	"strings"
)

// The catalogs Config.Catalog names.
const (
	CatalogSQLite   = "sqlite"
	CatalogPostgres = "postgres"
)

// Config is crmwh.yaml's lake.iceberg: publishing the lake's streams as
// Apache Iceberg tables in a SQL catalog. Off by default.
type Config struct {
	// Catalog is the catalog's database: sqlite or postgres; empty (the
	// default) publishes nothing.
	Catalog string `yaml:"catalog"`
	// DSN is, for sqlite, the catalog's file (default
	// <lake>/_iceberg/catalog.sqlite; a relative path is from the project
	// folder); for postgres, a libpq key=value string or a postgres://
	// URL, with ${NAME} for values from the environment (masked in all
	// output, as in sources' DSNs).
	DSN string `yaml:"dsn"`
	// Name is the catalog's name, stored with every table: an engine that
	// reads the catalog must be configured with the same name. Default
	// crmwh.
	Name string `yaml:"name"`
	// Namespace holds the tables, named <source>_<stream> as the
	// warehouse's raw views. Default raw.
	Namespace string `yaml:"namespace"`
}

// Enabled says whether the lake's tables are published.
func (c Config) Enabled() bool { return c.Catalog != "" }

// CatalogName is Name or its default.
func (c Config) CatalogName() string {
	if c.Name == "" {
		return "crmwh"
	}
	return c.Name
}

// NamespaceName is Namespace or its default.
func (c Config) NamespaceName() string {
	if c.Namespace == "" {
		return "raw"
	}
	return c.Namespace
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports each problem of the configuration by its key below
// lake.iceberg.
func (c Config) Validate(add func(key, msg string)) {
	switch c.Catalog {
	case "":
		if c.DSN != "" || c.Name != "" || c.Namespace != "" {
			add("catalog", "missing: sqlite or postgres (the other keys of lake.iceberg do nothing without it)")
		}
		return
	case CatalogSQLite:
	case CatalogPostgres:
		if strings.TrimSpace(c.DSN) == "" {
			add("dsn", "missing: the PostgreSQL database of the catalog, e.g. \"host=db.internal dbname=iceberg user=crmwh password=${ICEBERG_PASSWORD}\"")
		}
	default:
		add("catalog", "unknown catalog "+quote(c.Catalog)+" (expected sqlite or postgres)")
	}
	if c.Name != "" && !nameRE.MatchString(c.Name) {
		add("name", quote(c.Name)+" must be lower case letters, digits and _, starting with a letter")
	}
	if c.Namespace != "" && !nameRE.MatchString(c.Namespace) {
		add("namespace", quote(c.Namespace)+" must be lower case letters, digits and _, starting with a letter")
	}
}

func quote(s string) string { return `"` + s + `"` }
