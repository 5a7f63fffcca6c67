package build

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// LeftOut is a model, Go step or data test the build did not publish
// because it needs entities the project does not map (docs/your-data.md).
type LeftOut struct {
	Name string `json:"name"`
	Path string `json:"path"`
	Kind string `json:"kind"` // model, step or test
	// Needs lists the entities (or "a or b" alternatives) that would
	// enable it.
	Needs []string `json:"needs"`
	// Placeholder marks the stand-in of an unmapped entity itself.
	Placeholder bool `json:"placeholder,omitempty"`
}

// MissingEntities lists the entities (or alternatives) that what the
// build left out needs, sorted; the stand-ins of unmapped entities do not
// count (an unmapped entity nothing needs is no loss).
func (r Result) MissingEntities() []string {
	set := map[string]bool{}
	for _, lo := range r.LeftOut {
		if !lo.Placeholder {
			for _, n := range lo.Needs {
				set[n] = true
			}
		}
	}
	return sortedSet(set)
}

// LeftOutBy groups the left-out models and steps by what they need
// (stand-ins of unmapped entities left out).
func (r Result) LeftOutBy() map[string][]string {
	out := map[string][]string{}
	for _, lo := range r.LeftOut {
		if !lo.Placeholder {
			key := strings.Join(lo.Needs, ", ")
			out[key] = append(out[key], lo.Name)
		}
	}
	return out
}

// capabilities works out, from the placeholders of unmapped entities, which
// nodes are left out (and what each needs), and which of those must still
// be built as inputs of the nodes that are published ("scaffolding",
// dropped before publishing).
type capabilities struct {
	needs    map[string][]string // left-out node → what it needs
	scaffold map[string]bool     // left-out nodes built as inputs
	entities map[string]bool     // entity names of the contract (mapped or not)
}

func (g *graph) capabilities() (*capabilities, error) {
	c := &capabilities{needs: map[string][]string{}, scaffold: map[string]bool{}, entities: map[string]bool{}}
	unmapped := map[string]bool{}
	for _, n := range g.nodes {
		if n.model != nil && n.model.Entity != "" {
			c.entities[n.model.Entity] = true
			if n.model.Placeholder {
				unmapped[n.model.Entity] = true
			}
		}
	}
	var problems []string
	for _, name := range g.order {
		n := g.nodes[name]
		if n.model == nil {
			continue
		}
		for _, e := range append(append([]string(nil), n.model.Spec.Optional...), n.model.Spec.NeedsOneOf...) {
			if !c.entities[e] {
				problems = append(problems, fmt.Sprintf("%s: %s names %q, which is no entity (known: %s)", n.model.SpecPath, n.model.Name, e, strings.Join(sortedSet(c.entities), ", ")))
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	// What each node misses, in dependency order.
	missing := map[string]map[string]bool{}
	for _, name := range g.order {
		n := g.nodes[name]
		set := map[string]bool{}
		if n.model != nil && n.model.Placeholder {
			set[n.model.Entity] = true
		}
		for _, d := range n.deps {
			for e := range missing[d] {
				set[e] = true
			}
		}
		if n.model != nil {
			for _, e := range n.model.Spec.Optional {
				delete(set, e)
			}
			if alts := n.model.Spec.NeedsOneOf; len(alts) > 0 {
				all := true
				for _, e := range alts {
					all = all && unmapped[e]
				}
				if all {
					set[strings.Join(alts, " or ")] = true
				}
			}
		}
		missing[name] = set
		if len(set) > 0 {
			c.needs[name] = sortedSet(set)
		}
	}
	// Left-out nodes that published nodes read are built as scaffolding.
	var mark func(name string)
	mark = func(name string) {
		for _, d := range g.nodes[name].deps {
			if _, out := c.needs[d]; out && !c.scaffold[d] {
				c.scaffold[d] = true
				mark(d)
			}
		}
	}
	for _, name := range g.order {
		if _, out := c.needs[name]; !out {
			mark(name)
		}
	}
	return c, nil
}

// leftOut reports whether a node is left out of the published warehouse.
func (c *capabilities) leftOut(name string) bool {
	_, ok := c.needs[name]
	return ok
}

// list returns the left-out models and steps, by name.
func (c *capabilities) list(g *graph) []LeftOut {
	var out []LeftOut
	for name, needs := range c.needs {
		n := g.nodes[name]
		kind := "model"
		if n.step != nil {
			kind = "step"
		}
		out = append(out, LeftOut{Name: name, Path: n.path(), Kind: kind, Needs: needs, Placeholder: n.model != nil && n.model.Placeholder})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ScaffoldSchema holds, in the published warehouse, the tables built only
// as inputs of published models (left out for an unmapped entity). They
// are not for analysis: the next build that starts from the published file
// puts them back in main, so that it can tell whether they changed (an
// unchanged input lets the models that read it be kept or recomputed by
// key instead of rebuilt in full).
const ScaffoldSchema = "scaffold"

// scaffoldTables lists the tables the scaffolding writes (models that are
// not views, and the tables of Go steps), in dependency order.
func (c *capabilities) scaffoldTables(g *graph) []string {
	var out []string
	for _, name := range g.order {
		n := g.nodes[name]
		if !c.scaffold[name] || (n.model != nil && n.model.Materialize == models.View) {
			continue
		}
		out = append(out, n.writes()...)
	}
	return out
}

// setScaffoldingAside moves the left-out relations that were built only as
// inputs out of main, so the published warehouse holds nothing an unmapped
// entity would make empty: views are dropped (they cost nothing to make
// again), tables move to ScaffoldSchema, which then holds exactly this
// build's scaffolding.
func (c *capabilities) setScaffoldingAside(ctx context.Context, db *sql.DB, g *graph) error {
	tables := c.scaffoldTables(g)
	ddl := "CREATE SCHEMA IF NOT EXISTS " + ScaffoldSchema
	if len(tables) == 0 {
		// A project that maps every entity it needs has no scaffold.
		ddl = "DROP SCHEMA IF EXISTS " + ScaffoldSchema + " CASCADE"
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, w := range tables {
		keep[w] = true
		ok, err := relationExists(ctx, db, w)
		if err != nil {
			return err
		}
		if !ok {
			// Not made by this build (a selected one): the copy set
			// aside by the last build, if any, stays.
			continue
		}
		q := fmt.Sprintf("CREATE OR REPLACE TABLE %s.%s AS SELECT * FROM main.%[2]s", ScaffoldSchema, duckdb.QuoteIdent(w))
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("setting aside %s (built only as an input): %w", w, err)
		}
	}
	for _, name := range g.order {
		n := g.nodes[name]
		if !c.scaffold[name] {
			continue
		}
		kind := "TABLE"
		if n.model != nil && n.model.Materialize == models.View {
			kind = "VIEW"
		}
		for _, w := range n.writes() {
			if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP %s IF EXISTS main.%s", kind, duckdb.QuoteIdent(w))); err != nil {
				return fmt.Errorf("dropping %s (built only as an input): %w", w, err)
			}
		}
	}
	if len(tables) == 0 {
		return nil
	}
	// Copies of what is no longer scaffolding (its entity got mapped, or
	// nothing published reads it now) go.
	stale, err := schemaTables(ctx, db, ScaffoldSchema)
	if err != nil {
		return err
	}
	for _, w := range stale {
		if !keep[w] {
			if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP TABLE %s.%s", ScaffoldSchema, duckdb.QuoteIdent(w))); err != nil {
				return err
			}
		}
	}
	return nil
}

// restoreScaffolding puts the scaffolding the published warehouse set
// aside back in main, in a build that starts from a copy of it, so that
// the build treats it as any table it publishes: kept when nothing it
// reads changed, compared with its new rows when rebuilt.
func (c *capabilities) restoreScaffolding(ctx context.Context, db *sql.DB, g *graph) error {
	kept, err := schemaTables(ctx, db, ScaffoldSchema)
	if err != nil || len(kept) == 0 {
		return err
	}
	have := map[string]bool{}
	for _, w := range kept {
		have[w] = true
	}
	for _, w := range c.scaffoldTables(g) {
		if !have[w] {
			continue
		}
		ok, err := relationExists(ctx, db, w)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		q := fmt.Sprintf("CREATE TABLE main.%s AS SELECT * FROM %s.%[1]s", duckdb.QuoteIdent(w), ScaffoldSchema)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("restoring %s (built only as an input) from the published warehouse: %w", w, err)
		}
	}
	return nil
}

// schemaTables lists the tables of a schema of the build's database.
func schemaTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? ORDER BY 1`, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// writeLeftOut records what was left out in meta.left_out (replaced each
// build), so pages and `crmwh status` can say what data would enable it.
func writeLeftOut(ctx context.Context, db *sql.DB, items []LeftOut) error {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE meta.left_out (name VARCHAR, kind VARCHAR, path VARCHAR, needs VARCHAR[])`); err != nil {
		return err
	}
	for _, it := range items {
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.left_out VALUES (?, ?, ?, string_split(?, '|'))`, it.Name, it.Kind, it.Path, strings.Join(it.Needs, "|")); err != nil {
			return err
		}
	}
	return nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
