package contract

import (
	"fmt"
	"sort"
	"strings"

	"crmwh/pipelines"
)

// Source is where an entity's rows come from: one lake stream, an optional
// filter and, per field, a column of the stream or a SQL expression over
// its columns.
type Source struct {
	// Stream is "<source>.<stream>" of crmwh.yaml's sources.
	Stream string `yaml:"stream"`
	// Where keeps only the stream's rows for which it is true.
	Where string `yaml:"where"`
	// Fields maps each contract field to a column or a SQL expression.
	Fields map[string]string `yaml:"fields"`
}

// Mapping is one entry of crmwh.yaml's entities: the entity's source, or
// several sources whose rows are put together (union).
type Mapping struct {
	Source `yaml:",inline"`
	// Union lists several sources of the same entity (two billing systems,
	// say), each with its own fields; rows are put together and, of
	// several rows with one key, the latest wins.
	Union []Source `yaml:"union"`
	// Rows says what one row of the stream is: "versions" (default: each
	// row is a version of the entity's record and the latest one wins) or
	// "lines" (orders only: each row is a line of an order, and the order
	// is the sum of its lines).
	Rows string `yaml:"rows"`
	// Freshness is how old the newest row may get before the data tests
	// warn, such as 3d (default for orders); "off" for none.
	Freshness string `yaml:"freshness"`

	// Lines gives the crmwh.yaml line of each key path under the entity
	// ("fields.amount", "union[1].fields.amount", ""), for errors found
	// when the build checks the expressions.
	Lines map[string]int `yaml:"-"`
}

// Rows values.
const (
	RowsVersions = "versions"
	RowsLines    = "lines"
)

// Sources returns the mapping's sources, one or several.
func (m Mapping) Sources() []Source {
	if len(m.Union) > 0 {
		return m.Union
	}
	return []Source{m.Source}
}

// SourcePath is the key path of the i-th source under the entity: "" for
// a single source, "union[i]" in a union.
func (m Mapping) SourcePath(i int) string {
	if len(m.Union) > 0 {
		return fmt.Sprintf("union[%d]", i)
	}
	return ""
}

// Mapped reports whether the entity maps the field (in every source).
func (m Mapping) Mapped(field string) bool {
	for _, s := range m.Sources() {
		if _, ok := s.Fields[field]; !ok {
			return false
		}
	}
	return true
}

// Identity says how records of different systems are matched to one
// customer.
type Identity struct {
	// Match lists the rules, in order: key (an order's customer_id equals
	// a customer record's), email, phone. Default all three.
	Match []string `yaml:"match"`
	// Phone is how phones are normalised: digits (default: the digits,
	// seven or more) or cn (mainland China: +86 and trunk prefixes
	// dropped, mobile and landline forms).
	Phone string `yaml:"phone"`
}

// Identity rules and phone formats.
const (
	MatchKey   = "key"
	MatchEmail = "email"
	MatchPhone = "phone"

	PhoneDigits = "digits"
	PhoneCN     = "cn"
)

// WithDefaults fills the defaults in.
func (id Identity) WithDefaults() Identity {
	if id.Match == nil {
		id.Match = []string{MatchKey, MatchEmail, MatchPhone}
	}
	if id.Phone == "" {
		id.Phone = PhoneDigits
	}
	return id
}

// Matches reports whether the rule is on.
func (id Identity) Matches(rule string) bool {
	for _, r := range id.WithDefaults().Match {
		if r == rule {
			return true
		}
	}
	return false
}

// Validate checks a project's mappings without looking at data: known
// entities and fields, required fields given, sources that exist, values of
// rows and freshness. A project without orders is valid (it can extract,
// and its lake can be queried); building needs them (Generate says so). streams lists the project's "<source>.<stream>"
// names. report receives a key path under entities (or identity) and what
// is wrong with it.
func Validate(ms map[string]Mapping, id Identity, streams []string, report func(path, msg string)) {
	known := map[string]bool{}
	for _, s := range streams {
		known[s] = true
	}
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		m := ms[name]
		p := "entities." + name
		e, err := Lookup(name)
		if err != nil {
			report(p, err.Error())
			continue
		}
		if len(m.Union) > 0 && (m.Stream != "" || m.Where != "" || m.Fields != nil) {
			report(p+".union", "give either stream and fields, or union (a list of them), not both")
			continue
		}
		switch m.Rows {
		case "", RowsVersions:
		case RowsLines:
			if name != "orders" {
				report(p+".rows", "rows: lines is for orders only (one row per order line, added up per order)")
			}
		default:
			report(p+".rows", fmt.Sprintf("%q is not versions or lines", m.Rows))
		}
		if m.Freshness != "" && m.Freshness != "off" {
			if _, err := pipelines.ParseDuration(m.Freshness); err != nil {
				report(p+".freshness", fmt.Sprintf("%q is not a duration such as 3d or 12h, or off", m.Freshness))
			}
		}
		for i, s := range m.Sources() {
			sp := p
			if sub := m.SourcePath(i); sub != "" {
				sp += "." + sub
			}
			switch {
			case s.Stream == "":
				report(sp+".stream", "missing: the stream the rows come from, as <source>.<stream>")
			case !known[s.Stream]:
				report(sp+".stream", fmt.Sprintf("no stream %q among the sources (known: %s)", s.Stream, strings.Join(streams, ", ")))
			}
			fields := make([]string, 0, len(s.Fields))
			for f := range s.Fields {
				fields = append(fields, f)
			}
			sort.Strings(fields)
			for _, f := range fields {
				if _, ok := e.Field(f); !ok {
					report(sp+".fields."+f, fmt.Sprintf("%s has no field %q (its fields: %s)", name, f, strings.Join(e.FieldNames(), ", ")))
					continue
				}
				if strings.TrimSpace(s.Fields[f]) == "" {
					report(sp+".fields."+f, "empty: give a column name or a SQL expression (or leave the field out)")
				}
			}
			var missing []string
			for _, f := range e.Required() {
				if _, ok := s.Fields[f]; !ok {
					missing = append(missing, f)
				}
			}
			if len(missing) > 0 {
				report(sp+".fields", fmt.Sprintf("missing required field(s) of %s: %s", name, strings.Join(missing, ", ")))
			}
		}
	}
	for i, r := range id.Match {
		if r != MatchKey && r != MatchEmail && r != MatchPhone {
			report(fmt.Sprintf("identity.match[%d]", i), fmt.Sprintf("%q is not a rule (expected key, email or phone)", r))
		}
	}
	if id.Phone != "" && id.Phone != PhoneDigits && id.Phone != PhoneCN {
		report("identity.phone", fmt.Sprintf("%q is not a phone format (expected digits or cn)", id.Phone))
	}
}

func mustLookup(name string) *Entity {
	e, err := Lookup(name)
	if err != nil {
		panic(err)
	}
	return e
}
