// Package project loads a crmwh project: the folder holding crmwh.yaml,
// sql/, dashboards/ and schedules/, or, when there is none, the default
// project embedded in the binary. It owns crmwh.yaml's format and checks it
// strictly: unknown keys are errors and every problem names its file, line
// and key.
package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"crmwh"
	"crmwh/pipelines"
	"crmwh/pipelines/iceberg"
	"crmwh/pipelines/secret"
	"crmwh/project/strictyaml"
	"crmwh/warehouse/contract"
	"crmwh/warehouse/duckdb"
)

// ConfigFile is the project's configuration file name.
const ConfigFile = "crmwh.yaml"

// Config is crmwh.yaml.
type Config struct {
	// Name of the project (a company or a warehouse).
	Name string `yaml:"name"`
	// Timezone is the company's IANA time zone: days and months in every
	// model are counted in it, timestamps the sources give without a zone
	// are read in it, and schedules run in it unless they say otherwise.
	// Default UTC; `crmwh init` writes the machine's zone.
	Timezone string `yaml:"timezone"`
	// Currency is the ISO code amounts are in. Default CNY.
	Currency string                   `yaml:"currency"`
	Paths    Paths                    `yaml:"paths"`
	Lake     LakeConfig               `yaml:"lake"`
	Sources  []pipelines.SourceConfig `yaml:"sources"`
	// Entities maps the company's streams onto the contract's business
	// entities (docs/your-data.md): only orders is required.
	Entities map[string]contract.Mapping `yaml:"entities"`
	// Identity says how the same customer is recognised across systems.
	Identity  contract.Identity `yaml:"identity"`
	Extract   ExtractConfig     `yaml:"extract"`
	Build     BuildConfig       `yaml:"build"`
	Analytics AnalyticsConfig   `yaml:"analytics"`
}

// AnalyticsConfig holds the definitions behind the value and retention
// marts. docs/analytics.md explains each.
type AnalyticsConfig struct {
	// TimeUnit of the CLV models: day (default) or week.
	TimeUnit string `yaml:"time_unit"`
	// HoldoutDays is the length of the holdout period of the validation
	// fit (the calibration period ends that many days before the data).
	// Default 180.
	HoldoutDays int `yaml:"holdout_days"`
	// HorizonMonths of the CLV sum. Default 12.
	HorizonMonths int `yaml:"horizon_months"`
	// MonthlyDiscountRate of the CLV sum. Default 0.01.
	MonthlyDiscountRate float64 `yaml:"monthly_discount_rate"`
	// Margin is the share of revenue that is profit. Default 1 (CLV in
	// revenue).
	Margin    float64         `yaml:"margin"`
	Churn     ChurnConfig     `yaml:"churn"`
	CrossSell CrossSellConfig `yaml:"cross_sell"`
	// CLV is "on" (the default) or "off": off skips the CLV models; the
	// CLV tables then say "unavailable" (docs/analytics.md).
	CLV string `yaml:"clv"`
	// CLVRefitDays and CLVRefitDrift say when a build fits the CLV models
	// again instead of scoring with the fit in use: after this many days
	// of new data (default 7), or when the repeat purchases since the fit
	// differ from its expectation by more than this share (default 0.1).
	CLVRefitDays  int     `yaml:"clv_refit_days"`
	CLVRefitDrift float64 `yaml:"clv_refit_drift"`
	// ContractPeriod is the period the contracts entity renews at: month
	// (the default) or year (docs/analytics.md, "Contract renewals").
	ContractPeriod string `yaml:"contract_period"`
}

// CrossSellConfig defines the cross-sell marts' baskets and thresholds
// (docs/analytics.md, "Cross-sell").
type CrossSellConfig struct {
	// WindowDays: a customer's orders within this many days are one
	// basket (windows from the first order). Default 30.
	WindowDays int `yaml:"window_days"`
	// MinPairBaskets: pairs bought together in fewer baskets are left out
	// of mart_product_affinity and are no evidence for offers. Default 10.
	MinPairBaskets int `yaml:"min_pair_baskets"`
	// MinSupport and MinConfidence are the rules' thresholds (Apriori's).
	// Defaults 0.001 and 0.1.
	MinSupport    float64 `yaml:"min_support"`
	MinConfidence float64 `yaml:"min_confidence"`
	// HoldoutDays is the period the next best offers are checked on.
	// Default 90.
	HoldoutDays int `yaml:"holdout_days"`
	// RefitDays: a build counts the baskets again after this many days of
	// new data; in between it keeps the counts and scores again only the
	// customers whose orders changed. Default 7; 1 counts on every new
	// day.
	RefitDays int `yaml:"refit_days"`
}

// ChurnConfig defines a churned customer.
type ChurnConfig struct {
	// Definition is inactivity (no purchase for InactivityDays) or p_alive
	// (the BG/NBD probability of being alive below PAliveThreshold).
	Definition      string  `yaml:"definition"`
	InactivityDays  int     `yaml:"inactivity_days"`
	PAliveThreshold float64 `yaml:"p_alive_threshold"`
}

// Paths are where crmwh keeps its data, relative to the project folder.
type Paths struct {
	Lake      string `yaml:"lake"`
	Warehouse string `yaml:"warehouse"`
	Site      string `yaml:"site"`
	State     string `yaml:"state"`
}

// LakeConfig configures the lake beyond its folder.
type LakeConfig struct {
	// Iceberg publishes the lake's streams as Apache Iceberg tables in a
	// SQL catalog (off by default; docs/scale-out.md).
	Iceberg iceberg.Config `yaml:"iceberg"`
}

// ExtractConfig tunes extraction.
type ExtractConfig struct {
	// Parallelism is how many streams run at once. Default 2.
	Parallelism int `yaml:"parallelism"`
}

// BuildConfig tunes the warehouse build.
type BuildConfig struct {
	// Threads for DuckDB (default: one per core).
	Threads int `yaml:"threads"`
	// MemoryLimit is the memory budget of a crmwh process, such as "4GB"
	// or "500MB": DuckDB spills to disk past its part of it and the Go
	// steps keep to the rest (warehouse/duckdb: DuckDBShare, GoShare).
	// Default: 40% of the machine's (or container's) memory, at most
	// 3 GiB (duckdb.DefaultMemoryBudget).
	MemoryLimit string `yaml:"memory_limit"`
	// Workers is how many models are built at once. Default: one per four
	// cores, at least one (DuckDB already uses every core for each model).
	Workers int `yaml:"workers"`
}

// Project is a loaded project.
type Project struct {
	// Dir is the folder relative paths are resolved against: the project
	// folder, or the working folder when running on the embedded default.
	Dir string
	// FS holds the project's files (crmwh.yaml, sql/, dashboards/, schedules/).
	FS fs.FS
	// Embedded is true when the project is the default built into the binary.
	Embedded bool
	Config   Config
}

// ErrConfig marks configuration errors (exit code 2).
var ErrConfig = errors.New("configuration error")

// ConfigError is a project configuration that failed to load; it lists
// every problem.
type ConfigError struct{ Problems strictyaml.Problems }

func (e *ConfigError) Error() string { return e.Problems.Error() }

// Is makes errors.Is(err, ErrConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// Load loads the project in dir. With dir empty it uses the working folder
// when it has a crmwh.yaml, and the embedded default project otherwise.
func Load(dir string) (*Project, error) {
	if dir == "" {
		if env := os.Getenv("CRMWH_PROJECT"); env != "" {
			dir = env
		}
	}
	explicit := dir != ""
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	p := &Project{Dir: abs}
	data, err := os.ReadFile(filepath.Join(abs, ConfigFile))
	switch {
	case err == nil:
		p.FS = os.DirFS(abs)
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		p.FS, p.Embedded = Default(), true
		data, err = fs.ReadFile(p.FS, ConfigFile)
		if err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s has no %s (create one with `crmwh init %s`)", ErrConfig, dir, ConfigFile, dir)
	default:
		return nil, err
	}
	cfg, err := ParseConfig(ConfigFile, data)
	if err != nil {
		return nil, err
	}
	p.Config = cfg
	// Every value a DSN draws from the environment is a secret for every
	// verb (runs, status and state show print errors recorded earlier).
	dsns := []string{cfg.Lake.Iceberg.DSN}
	for _, src := range cfg.Sources {
		dsns = append(dsns, src.DSN)
	}
	for _, dsn := range dsns {
		names := pipelines.EnvNames(dsn)
		for _, name := range names {
			if len(names) == 1 && strings.TrimSpace(dsn) == "${"+name+"}" {
				secret.AddWhole(os.Getenv(name))
			} else {
				secret.Add(os.Getenv(name))
			}
		}
	}
	return p, nil
}

// Default returns the embedded default project's files.
func Default() fs.FS { return crmwh.DefaultProject }

// Path resolves a path of the config against the project folder.
func (p *Project) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.Dir, rel)
}

// LakeDir, WarehouseFile, SiteDir and StateDir are the absolute data paths.
func (p *Project) LakeDir() string       { return p.Path(p.Config.Paths.Lake) }
func (p *Project) WarehouseFile() string { return p.Path(p.Config.Paths.Warehouse) }
func (p *Project) SiteDir() string       { return p.Path(p.Config.Paths.Site) }
func (p *Project) StateDir() string      { return p.Path(p.Config.Paths.State) }

// MemoryBudget is the memory budget of a crmwh process on the project, in
// bytes: build.memory_limit, or duckdb.DefaultMemoryBudget.
func (p *Project) MemoryBudget() int64 {
	if n, err := duckdb.ParseSize(p.Config.Build.MemoryLimit); err == nil && p.Config.Build.MemoryLimit != "" {
		return n
	}
	return duckdb.DefaultMemoryBudget()
}

// Location is the project's time zone.
func (p *Project) Location() *time.Location {
	loc, err := time.LoadLocation(p.Config.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Env is what sources get besides their config.
func (p *Project) Env() pipelines.Env { return pipelines.Env{BaseDir: p.Dir} }

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// ParseConfig decodes and validates crmwh.yaml. The error is a
// *ConfigError listing every problem as file:line: key: what is wrong.
func ParseConfig(file string, data []byte) (Config, error) {
	cfg := Config{
		Timezone: "UTC",
		Currency: "CNY",
		Paths:    Paths{Lake: "data/lake", Warehouse: "data/crmwh.duckdb", Site: "site", State: "data/state"},
		Extract:  ExtractConfig{Parallelism: 2},
		Analytics: AnalyticsConfig{TimeUnit: "day", HoldoutDays: 180, HorizonMonths: 12, MonthlyDiscountRate: 0.01, Margin: 1, CLV: "on", CLVRefitDays: 7, CLVRefitDrift: 0.1, ContractPeriod: "month",
			Churn:     ChurnConfig{Definition: "inactivity", InactivityDays: 180, PAliveThreshold: 0.3},
			CrossSell: CrossSellConfig{WindowDays: 30, MinPairBaskets: 10, MinSupport: 0.001, MinConfidence: 0.1, HoldoutDays: 90, RefitDays: 7}},
	}
	d := strictyaml.Decode(file, data, &cfg)
	d.ValidateAfterDecode(func() { validate(d, &cfg) })
	cfg.Identity = cfg.Identity.WithDefaults()
	// Times a source gives without a zone are the project's wall-clock
	// time unless the stream says otherwise.
	for i := range cfg.Sources {
		for j := range cfg.Sources[i].Streams {
			if cfg.Sources[i].Streams[j].Timezone == "" {
				cfg.Sources[i].Streams[j].Timezone = cfg.Timezone
			}
		}
	}
	for name, m := range cfg.Entities {
		m.Lines = entityLines(d, "entities."+name, m)
		cfg.Entities[name] = m
	}
	if err := d.Problems.Err(); err != nil {
		return cfg, &ConfigError{Problems: d.Problems}
	}
	return cfg, nil
}

func validate(d *strictyaml.Doc, c *Config) {
	if c.Name == "" {
		d.Addf("name", "missing: the project's name")
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		d.Addf("timezone", "unknown time zone %q (expected an IANA name such as Asia/Shanghai)", c.Timezone)
	}
	if !regexp.MustCompile(`^[A-Z]{3}$`).MatchString(c.Currency) {
		d.Addf("currency", "%q is not an ISO 4217 code such as CNY or USD", c.Currency)
	}
	for key, v := range map[string]string{"paths.lake": c.Paths.Lake, "paths.warehouse": c.Paths.Warehouse, "paths.site": c.Paths.Site, "paths.state": c.Paths.State} {
		if strings.TrimSpace(v) == "" {
			d.Addf(key, "must not be empty")
		}
	}
	c.Lake.Iceberg.Validate(func(key, msg string) { d.Addf("lake.iceberg."+key, "%s", msg) })
	if c.Extract.Parallelism < 1 || c.Extract.Parallelism > 64 {
		d.Addf("extract.parallelism", "must be between 1 and 64, got %d", c.Extract.Parallelism)
	}
	if c.Build.Threads < 0 {
		d.Addf("build.threads", "must not be negative")
	}
	if c.Build.MemoryLimit != "" {
		if n, err := duckdb.ParseSize(c.Build.MemoryLimit); err != nil {
			d.Addf("build.memory_limit", "%v", err)
		} else if n < duckdb.MinBudget {
			d.Addf("build.memory_limit", "%s is too little: at least %dMB", c.Build.MemoryLimit, duckdb.MinBudget>>20)
		}
	}
	if c.Build.Workers < 0 || c.Build.Workers > 16 {
		d.Addf("build.workers", "must be between 1 and 16")
	}
	a := c.Analytics
	if a.TimeUnit != "day" && a.TimeUnit != "week" {
		d.Addf("analytics.time_unit", "%q is not day or week", a.TimeUnit)
	}
	if a.HoldoutDays < 7 || a.HoldoutDays > 3650 {
		d.Addf("analytics.holdout_days", "must be between 7 and 3650, got %d", a.HoldoutDays)
	}
	if a.HorizonMonths < 1 || a.HorizonMonths > 120 {
		d.Addf("analytics.horizon_months", "must be between 1 and 120, got %d", a.HorizonMonths)
	}
	if a.MonthlyDiscountRate < 0 || a.MonthlyDiscountRate >= 1 {
		d.Addf("analytics.monthly_discount_rate", "must be at least 0 and below 1, got %g", a.MonthlyDiscountRate)
	}
	if a.Margin <= 0 || a.Margin > 1 {
		d.Addf("analytics.margin", "must be above 0 and at most 1, got %g", a.Margin)
	}
	if a.CLVRefitDays < 1 || a.CLVRefitDays > 3650 {
		d.Addf("analytics.clv_refit_days", "must be between 1 and 3650, got %d", a.CLVRefitDays)
	}
	if !(a.CLVRefitDrift > 0 && a.CLVRefitDrift < 10) {
		d.Addf("analytics.clv_refit_drift", "must be above 0 (a share: 0.1 is 10%%), got %g", a.CLVRefitDrift)
	}
	if a.ContractPeriod != "month" && a.ContractPeriod != "year" {
		d.Addf("analytics.contract_period", "%q is not month or year", a.ContractPeriod)
	}
	if a.CLV != "on" && a.CLV != "off" {
		d.Addf("analytics.clv", "%q is not on or off", a.CLV)
	}
	if a.Churn.Definition != "inactivity" && a.Churn.Definition != "p_alive" {
		d.Addf("analytics.churn.definition", "%q is not inactivity or p_alive", a.Churn.Definition)
	}
	if a.Churn.InactivityDays < 1 {
		d.Addf("analytics.churn.inactivity_days", "must be at least 1")
	}
	if a.Churn.PAliveThreshold <= 0 || a.Churn.PAliveThreshold >= 1 {
		d.Addf("analytics.churn.p_alive_threshold", "must be between 0 and 1")
	}
	validateCrossSell(d, a.CrossSell)
	var streams []string
	for _, s := range c.Sources {
		for _, st := range s.Streams {
			streams = append(streams, s.Name+"."+st.Name)
		}
	}
	contract.Validate(c.Entities, c.Identity, streams, func(path, msg string) { d.Addf(path, "%s", msg) })
	names := map[string]bool{}
	for i, s := range c.Sources {
		p := fmt.Sprintf("sources[%d]", i)
		if !nameRE.MatchString(s.Name) {
			d.Addf(p+".name", "%q must be lower case letters, digits and _, starting with a letter (it names lake folders and raw tables)", s.Name)
		} else if names[s.Name] {
			d.Addf(p+".name", "source %q is declared twice", s.Name)
		}
		names[s.Name] = true
		k, err := pipelines.Lookup(s.Kind)
		if err != nil {
			d.Addf(p+".kind", "%v", err)
			continue
		}
		if len(s.Streams) == 0 {
			d.Addf(p+".streams", "missing: a source needs at least one stream")
		}
		streams := map[string]bool{}
		for j, st := range s.Streams {
			sp := fmt.Sprintf("%s.streams[%d].name", p, j)
			if !nameRE.MatchString(st.Name) {
				d.Addf(sp, "%q must be lower case letters, digits and _, starting with a letter", st.Name)
			} else if streams[st.Name] {
				d.Addf(sp, "stream %q is declared twice in source %s", st.Name, s.Name)
			}
			streams[st.Name] = true
		}
		if k.Validate != nil {
			k.Validate(s, func(path, msg string) { d.Addf(p+"."+path, "%s", msg) })
		}
	}
}

func validateCrossSell(d *strictyaml.Doc, c CrossSellConfig) {
	if c.WindowDays < 1 || c.WindowDays > 3650 {
		d.Addf("analytics.cross_sell.window_days", "must be between 1 and 3650, got %d", c.WindowDays)
	}
	if c.MinPairBaskets < 1 {
		d.Addf("analytics.cross_sell.min_pair_baskets", "must be at least 1, got %d", c.MinPairBaskets)
	}
	if c.MinSupport <= 0 || c.MinSupport > 1 {
		d.Addf("analytics.cross_sell.min_support", "must be above 0 and at most 1, got %g", c.MinSupport)
	}
	if c.MinConfidence < 0 || c.MinConfidence > 1 {
		d.Addf("analytics.cross_sell.min_confidence", "must be between 0 and 1, got %g", c.MinConfidence)
	}
	if c.HoldoutDays < 1 || c.HoldoutDays > 3650 {
		d.Addf("analytics.cross_sell.holdout_days", "must be between 1 and 3650, got %d", c.HoldoutDays)
	}
	if c.RefitDays < 1 || c.RefitDays > 3650 {
		d.Addf("analytics.cross_sell.refit_days", "must be between 1 and 3650, got %d", c.RefitDays)
	}
}

// entityLines records the line of each key under an entity's mapping, for
// the errors the build finds when it checks the expressions.
func entityLines(d *strictyaml.Doc, base string, m contract.Mapping) map[string]int {
	lines := map[string]int{"": d.Line(base)}
	for i, s := range m.Sources() {
		sp := m.SourcePath(i)
		prefix := base
		if sp != "" {
			prefix += "." + sp
		}
		join := func(k string) string {
			if sp == "" {
				return k
			}
			return sp + "." + k
		}
		lines[join("stream")] = d.Line(prefix + ".stream")
		lines[join("where")] = d.Line(prefix + ".where")
		for f := range s.Fields {
			lines[join("fields."+f)] = d.Line(prefix + ".fields." + f)
		}
	}
	return lines
}
