package models

import (
	"fmt"
	"strings"
	"time"
)

// DataTest is a declared test compiled to a query that returns the failing
// rows: zero rows passes.
type DataTest struct {
	// Name is unique in the project, e.g. not_null_fct_orders_customer_id.
	Name     string
	Model    string
	Column   string // empty for model-level tests
	Kind     string
	Severity string
	// SQL returns the failing rows.
	SQL string
	// Expr is the condition of an assert test (part of SQL), checked on
	// its own as one expression before the test runs.
	Expr string
	// Refs are the other relations the test reads (relationships, sql).
	Refs []string
	// Where is file:line of the declaration, for messages.
	Where string
}

func qi(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func qs(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DataTests compiles the model's declared tests.
func (m *Model) DataTests() []DataTest {
	var out []DataTest
	add := func(t TestSpec, column, name, sql string, refs ...string) {
		if t.Name != "" {
			name = t.Name
		}
		out = append(out, DataTest{Name: name, Model: m.Name, Column: column, Kind: t.Kind, Severity: t.Severity,
			SQL: sql, Expr: t.Expr, Refs: refs, Where: fmt.Sprintf("%s:%d", m.SpecPath, t.Line)})
	}
	rel := qi(m.Name)
	for _, c := range m.Spec.Columns {
		col := qi(c.Name)
		for _, t := range c.Tests {
			base := t.Kind + "_" + m.Name + "_" + c.Name
			switch t.Kind {
			case TestUnique:
				add(t, c.Name, base, fmt.Sprintf("SELECT %s, count(*) AS occurrences FROM %s WHERE %s IS NOT NULL GROUP BY %s HAVING count(*) > 1", col, rel, col, col))
			case TestNotNull:
				add(t, c.Name, base, fmt.Sprintf("SELECT * FROM %s WHERE %s IS NULL", rel, col))
			case TestAcceptedValues:
				vals := make([]string, len(t.Values))
				for i, v := range t.Values {
					vals[i] = qs(v)
				}
				add(t, c.Name, base, fmt.Sprintf("SELECT %s, count(*) AS occurrences FROM %s WHERE %s IS NOT NULL AND CAST(%s AS VARCHAR) NOT IN (%s) GROUP BY %s",
					col, rel, col, col, strings.Join(vals, ", "), col))
			case TestRelationships:
				to := t.To
				add(t, c.Name, base, fmt.Sprintf("SELECT child.%s FROM %s AS child LEFT JOIN %s AS parent ON child.%s = parent.%s WHERE child.%s IS NOT NULL AND parent.%s IS NULL",
					col, rel, relation(to), col, qi(t.Field), col, qi(t.Field)), to)
			case TestFreshness, TestAssert:
				m.modelTest(t, c.Name, add)
			}
		}
	}
	for _, t := range m.Spec.Tests {
		m.modelTest(t, "", add)
	}
	return out
}

func (m *Model) modelTest(t TestSpec, column string, add func(TestSpec, string, string, string, ...string)) {
	rel := qi(m.Name)
	switch t.Kind {
	case TestRowCount:
		var conds []string
		if t.Min != nil {
			conds = append(conds, fmt.Sprintf("row_count < %d", *t.Min))
		}
		if t.Max != nil {
			conds = append(conds, fmt.Sprintf("row_count > %d", *t.Max))
		}
		add(t, "", "row_count_"+m.Name, fmt.Sprintf("SELECT row_count FROM (SELECT count(*) AS row_count FROM %s) WHERE %s", rel, strings.Join(conds, " OR ")))
	case TestFreshness:
		col := t.Column
		if col == "" {
			col = column
		}
		q := func(d time.Duration) string {
			return fmt.Sprintf("SELECT max(%s) AS latest, now() - max(%s) AS age FROM %s HAVING max(%s) IS NULL OR max(%s) < now() - INTERVAL %d SECOND",
				qi(col), qi(col), rel, qi(col), qi(col), int64(d.Seconds()))
		}
		base := "freshness_" + m.Name + "_" + col
		if t.Name != "" {
			base = t.Name
		}
		if t.ErrorAfter > 0 {
			e := t
			e.Name = base // error_after fails at the declared severity (error unless set to warn)
			add(e, column, base, q(time.Duration(t.ErrorAfter)))
		}
		if t.WarnAfter > 0 {
			w := t
			w.Severity, w.Name = SeverityWarn, base+"_warn"
			add(w, column, base+"_warn", q(time.Duration(t.WarnAfter)))
		}
	case TestAssert:
		name := "assert_" + m.Name
		if column != "" {
			name += "_" + column
		}
		add(t, column, name, fmt.Sprintf("SELECT * FROM %s WHERE (%s) IS NOT TRUE", rel, t.Expr))
	case TestSQL:
		add(t, "", "sql_"+m.Name, strings.TrimRight(strings.TrimSpace(t.Query), ";"))
	}
}

// relation quotes a model name or schema.table.
func relation(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = qi(p)
	}
	return strings.Join(parts, ".")
}
