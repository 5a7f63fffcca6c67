package models

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"crmwh/pipelines"
	"crmwh/project/strictyaml"
)

// More materializations (View and Table are in models.go).
const (
	// Incremental tables keep their rows between builds. Without an
	// incremental section they take in only the lake parts added since
	// the last build, merged by unique_key; with one (IncrementalSpec)
	// they recompute only the keys that the changes of their inputs touch.
	Incremental = "incremental"
	// Snapshot tables keep type-2 history: every build observes the
	// model's query and the table holds one row per key and period.
	Snapshot = "snapshot"
)

// Materializations lists the valid materializations.
var Materializations = []string{View, Table, Incremental, Snapshot}

// Spec is the YAML file beside a model (sql/core/dim_customer.yml).
type Spec struct {
	Description string `yaml:"description"`
	// Materialize overrides the layer's default (and the SQL header).
	Materialize string `yaml:"materialize"`
	// UniqueKey identifies a row: incremental models merge on it, snapshot
	// models track history by it.
	UniqueKey []string `yaml:"unique_key"`
	// UpdatedAt names a snapshot model's column that says when each row's
	// values took effect; without it, the build time is used.
	UpdatedAt string `yaml:"updated_at"`
	// MaxDeletedShare stops a snapshot build when more than this share of
	// the open keys disappear at once (a truncated export). Default 0.5.
	MaxDeletedShare *float64 `yaml:"max_deleted_share"`
	// Optional lists contract entities (docs/your-data.md) the model can
	// do without: when the project does not map one, the model reads it
	// (and the models built only from it) as empty instead of being left
	// out of the build.
	Optional []string `yaml:"optional"`
	// NeedsOneOf lists entities of which the model needs at least one
	// mapped (say, tickets or contacts).
	NeedsOneOf []string `yaml:"needs_one_of"`
	// Incremental says how an incremental or snapshot model is brought
	// up to date from what changed in its inputs (docs/warehouse.md,
	// "Incremental builds").
	Incremental *IncrementalSpec `yaml:"incremental"`
	Columns     []ColumnSpec     `yaml:"columns"`
	Tests       []TestSpec       `yaml:"tests"`
}

// IncrementalSpec makes a model incremental by key: a build after new data
// recomputes only the rows whose unique_key the changes touch, and leaves
// the others as they were. Its promise, which the model's author keeps:
// recomputing the model for those keys alone, with the inputs of Where
// read only in part, gives the rows a full rebuild would give them.
type IncrementalSpec struct {
	// Keys is a query returning the unique_key values to recompute (its
	// columns named as unique_key's). It reads the changes of the model's
	// inputs, changes.<input> (the input's columns and _change, 'old' for
	// a row as it was, 'new' for a row as it is now), and any relation
	// the model reads, itself included. An input that changed and that
	// Keys does not read makes the build rebuild the model in full.
	Keys string `yaml:"keys"`
	// Where restricts inputs while the keys are recomputed: input name →
	// a condition on its rows, which may read keys (the keys being
	// recomputed). Inputs not named are read whole.
	Where map[string]string `yaml:"where"`
}

// ColumnSpec documents one column and its tests.
type ColumnSpec struct {
	Name        string     `yaml:"name"`
	Description string     `yaml:"description"`
	Tests       []TestSpec `yaml:"tests"`
}

// Test kinds.
const (
	TestUnique         = "unique"
	TestNotNull        = "not_null"
	TestAcceptedValues = "accepted_values"
	TestRelationships  = "relationships"
	TestRowCount       = "row_count"
	TestFreshness      = "freshness"
	TestAssert         = "assert"
	TestSQL            = "sql"
)

// Severities.
const (
	SeverityError = "error"
	SeverityWarn  = "warn"
)

// TestSpec is one declared test. In YAML it is either a bare kind
// (`- unique`) or a one-key mapping of the kind to its arguments
// (`- accepted_values: {values: [a, b], severity: warn}`).
type TestSpec struct {
	Kind       string
	Name       string             // optional; a name is made up from the kind and column
	Severity   string             // error (default) or warn
	Values     []string           // accepted_values
	To         string             // relationships: the model (or raw.table) referred to
	Field      string             // relationships: its column
	Min        *int64             // row_count
	Max        *int64             // row_count
	Column     string             // freshness: the timestamp column
	WarnAfter  pipelines.Duration // freshness
	ErrorAfter pipelines.Duration // freshness
	Expr       string             // assert: a boolean expression every row must satisfy
	Query      string             // sql: a query returning the failing rows
	Line       int
}

// testArgs lists the argument keys of each kind.
var testArgs = map[string][]string{
	TestUnique:         {"name", "severity"},
	TestNotNull:        {"name", "severity"},
	TestAcceptedValues: {"name", "severity", "values"},
	TestRelationships:  {"name", "severity", "to", "field"},
	TestRowCount:       {"name", "severity", "min", "max"},
	TestFreshness:      {"name", "severity", "column", "warn_after", "error_after"},
	TestAssert:         {"name", "severity", "expr"},
	TestSQL:            {"name", "severity", "query"},
}

// TestKinds lists the test kinds, sorted.
func TestKinds() []string {
	out := make([]string, 0, len(testArgs))
	for k := range testArgs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func typeErr(n *yaml.Node, format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, fmt.Sprintf(format, args...))}}
}

// UnmarshalYAML decodes a test strictly: unknown kinds and argument keys
// are errors with their line.
func (t *TestSpec) UnmarshalYAML(n *yaml.Node) error {
	t.Line = n.Line
	t.Severity = SeverityError
	var args *yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		t.Kind = n.Value
	case yaml.MappingNode:
		if len(n.Content) != 2 {
			return typeErr(n, "a test is one kind with its arguments, e.g. `accepted_values: {values: [a, b]}`")
		}
		t.Kind, args = n.Content[0].Value, n.Content[1]
	default:
		return typeErr(n, "a test is a kind such as unique, or a mapping such as `accepted_values: {values: [a, b]}`")
	}
	allowed, ok := testArgs[t.Kind]
	if !ok {
		return typeErr(n, "unknown test %q (expected one of: %s)", t.Kind, strings.Join(TestKinds(), ", "))
	}
	if args == nil {
		if t.Kind != TestUnique && t.Kind != TestNotNull {
			return typeErr(n, "test %s needs arguments (%s)", t.Kind, strings.Join(allowed[2:], ", "))
		}
		return nil
	}
	if args.Kind != yaml.MappingNode {
		return typeErr(args, "the arguments of test %s are a mapping of %s", t.Kind, strings.Join(allowed, ", "))
	}
	var errs []string
	for i := 0; i+1 < len(args.Content); i += 2 {
		k, v := args.Content[i], args.Content[i+1]
		known := false
		for _, a := range allowed {
			known = known || a == k.Value
		}
		if !known {
			errs = append(errs, fmt.Sprintf("line %d: test %s: unknown key %q (expected one of: %s)", k.Line, t.Kind, k.Value, strings.Join(allowed, ", ")))
			continue
		}
		var err error
		switch k.Value {
		case "name":
			err = v.Decode(&t.Name)
		case "severity":
			err = v.Decode(&t.Severity)
			if err == nil && t.Severity != SeverityError && t.Severity != SeverityWarn {
				errs = append(errs, fmt.Sprintf("line %d: severity %q is not error or warn", v.Line, t.Severity))
			}
		case "values":
			err = v.Decode(&t.Values)
		case "to":
			err = v.Decode(&t.To)
		case "field", "column":
			if k.Value == "field" {
				err = v.Decode(&t.Field)
			} else {
				err = v.Decode(&t.Column)
			}
		case "min":
			t.Min = new(int64)
			err = v.Decode(t.Min)
		case "max":
			t.Max = new(int64)
			err = v.Decode(t.Max)
		case "warn_after":
			err = v.Decode(&t.WarnAfter)
		case "error_after":
			err = v.Decode(&t.ErrorAfter)
		case "expr":
			err = v.Decode(&t.Expr)
		case "query":
			err = v.Decode(&t.Query)
		}
		if err != nil {
			errs = append(errs, strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "))
		}
	}
	need := map[string]bool{}
	switch t.Kind {
	case TestAcceptedValues:
		need["values"] = len(t.Values) == 0
	case TestRelationships:
		need["to"], need["field"] = t.To == "", t.Field == ""
	case TestRowCount:
		need["min or max"] = t.Min == nil && t.Max == nil
	case TestFreshness:
		need["warn_after or error_after"] = t.WarnAfter == 0 && t.ErrorAfter == 0
	case TestAssert:
		need["expr"] = strings.TrimSpace(t.Expr) == ""
	case TestSQL:
		need["query"] = strings.TrimSpace(t.Query) == ""
	}
	for _, k := range sortedTrue(need) {
		errs = append(errs, fmt.Sprintf("line %d: test %s needs %s", n.Line, t.Kind, k))
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

func sortedTrue(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// parseSpec decodes a model's YAML file, collecting every problem.
func parseSpec(file string, data []byte) (*Spec, strictyaml.Problems) {
	var s Spec
	d := strictyaml.Decode(file, data, &s)
	d.ValidateAfterDecode(func() {
		if s.Materialize != "" && !contains(Materializations, s.Materialize) {
			d.Addf("materialize", "%q is not one of %s", s.Materialize, strings.Join(Materializations, ", "))
		}
		if inc := s.Incremental; inc != nil {
			if strings.TrimSpace(inc.Keys) == "" {
				d.Addf("incremental.keys", "missing: the query of the keys to recompute")
			}
			if s.Materialize != Incremental && s.Materialize != Snapshot {
				d.Addf("incremental", "only incremental and snapshot models are brought up to date by key (materialize: incremental)")
			}
			for in, cond := range inc.Where {
				if strings.TrimSpace(cond) == "" {
					d.Addf("incremental.where."+in, "missing: a condition on %s's rows", in)
				}
			}
		}
		seen := map[string]bool{}
		for i, c := range s.Columns {
			if c.Name == "" {
				d.Addf(fmt.Sprintf("columns[%d].name", i), "missing")
			} else if seen[c.Name] {
				d.Addf(fmt.Sprintf("columns[%d].name", i), "column %q is described twice", c.Name)
			}
			seen[c.Name] = true
			for j, t := range c.Tests {
				if t.Kind == TestRowCount || t.Kind == TestSQL {
					d.Addf(fmt.Sprintf("columns[%d].tests[%d]", i, j), "%s is a test of the whole model; list it under the model's tests", t.Kind)
				}
			}
		}
		for j, t := range s.Tests {
			if t.Kind == TestFreshness && t.Column == "" {
				d.Addf(fmt.Sprintf("tests[%d]", j), "freshness of a model needs column (or list it under the column)")
			}
			if t.Kind == TestUnique || t.Kind == TestNotNull || t.Kind == TestAcceptedValues || t.Kind == TestRelationships {
				d.Addf(fmt.Sprintf("tests[%d]", j), "%s is a test of a column; list it under that column's tests", t.Kind)
			}
		}
	})
	return &s, d.Problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
