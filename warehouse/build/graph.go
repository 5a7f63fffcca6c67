package build

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"crmwh/warehouse/models"
)

// node is a model or a Go step in the build's DAG.
type node struct {
	name  string
	model *models.Model // nil for a step
	step  *Step
	deps  []string // node names
	kids  []string
}

func (n *node) path() string {
	if n.model != nil {
		return n.model.Path
	}
	return "go step " + n.step.Name
}

func (n *node) materialize() string {
	if n.model != nil {
		return n.model.Materialize
	}
	return "go"
}

// graph is the DAG of models and steps.
type graph struct {
	nodes map[string]*node
	order []string // dependency order, ties by name
	// producer maps a relation written by a step to the step.
	producer map[string]string
}

func newGraph(ms []*models.Model, steps []Step) (*graph, error) {
	g := &graph{nodes: map[string]*node{}, producer: map[string]string{}}
	for _, m := range ms {
		g.nodes[m.Name] = &node{name: m.Name, model: m}
	}
	for i := range steps {
		st := &steps[i]
		if _, dup := g.nodes[st.Name]; dup {
			return nil, fmt.Errorf("build step %s has the name of a model", st.Name)
		}
		g.nodes[st.Name] = &node{name: st.Name, step: st}
		for _, w := range st.Writes {
			if _, dup := g.nodes[w]; dup {
				return nil, fmt.Errorf("build step %s writes %s, which is a model", st.Name, w)
			}
			g.producer[w] = st.Name
		}
	}
	for _, m := range ms {
		n := g.nodes[m.Name]
		deps := map[string]bool{}
		for _, d := range m.Deps {
			deps[d] = true
		}
		for _, r := range m.External {
			if p, ok := g.producer[r]; ok {
				deps[p] = true
			}
		}
		for d := range deps {
			n.deps = append(n.deps, d)
		}
	}
	for i := range steps {
		n := g.nodes[steps[i].Name]
		for _, r := range steps[i].Reads {
			d := r
			if p, ok := g.producer[r]; ok {
				d = p
			}
			if _, ok := g.nodes[d]; !ok {
				return nil, fmt.Errorf("build step %s reads %s, which is no model", steps[i].Name, r)
			}
			n.deps = append(n.deps, d)
		}
	}
	for _, n := range g.nodes {
		sort.Strings(n.deps)
		for _, d := range n.deps {
			g.nodes[d].kids = append(g.nodes[d].kids, n.name)
		}
	}
	for _, n := range g.nodes {
		sort.Strings(n.kids)
	}
	// Topological order (depth-first, names sorted), with cycle detection.
	state := map[string]int{}
	var stack []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			i := len(stack) - 1
			for stack[i] != name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), name)
			files := make([]string, 0, len(cycle)-1)
			for _, c := range cycle[:len(cycle)-1] {
				files = append(files, g.nodes[c].path())
			}
			return fmt.Errorf("models form a cycle: %s (files %s)", strings.Join(cycle, " → "), strings.Join(files, ", "))
		}
		state[name] = 1
		stack = append(stack, name)
		for _, d := range g.nodes[name].deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = 2
		g.order = append(g.order, name)
		return nil
	}
	names := make([]string, 0, len(g.nodes))
	for n := range g.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// selectNodes resolves selectors to the set of nodes to build; no
// selectors means all. "name" selects one model, "name+" it and everything
// downstream, "+name" it and everything upstream, "+name+" both.
func (g *graph) selectNodes(selectors []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(selectors) == 0 {
		for n := range g.nodes {
			out[n] = true
		}
		return out, nil
	}
	seen := map[bool]map[string]bool{true: {}, false: {}}
	var walk func(name string, up bool)
	walk = func(name string, up bool) {
		if seen[up][name] {
			return
		}
		seen[up][name] = true
		out[name] = true
		next := g.nodes[name].kids
		if up {
			next = g.nodes[name].deps
		}
		for _, n := range next {
			walk(n, up)
		}
	}
	var unknown []string
	for _, s := range selectors {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			up, down := strings.HasPrefix(part, "+"), strings.HasSuffix(part, "+")
			name := strings.TrimSuffix(strings.TrimPrefix(part, "+"), "+")
			if _, ok := g.nodes[name]; !ok {
				unknown = append(unknown, name)
				continue
			}
			out[name] = true
			if up {
				walk(name, true)
			}
			if down {
				walk(name, false)
			}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("--select names no model: %s", strings.Join(unknown, ", "))
	}
	return out, nil
}

// checkKept makes sure every model a selected build does not rebuild is in
// the copied warehouse.
func (g *graph) checkKept(ctx context.Context, db *sql.DB, run map[string]bool, caps *capabilities) error {
	var missing []string
	for _, name := range g.order {
		n := g.nodes[name]
		if run[name] || n.model == nil || caps.leftOut(name) {
			continue
		}
		var k int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (
			SELECT table_name AS n FROM duckdb_tables() WHERE schema_name = 'main'
			UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal) WHERE n = ?`, name).Scan(&k); err != nil {
			return err
		}
		if k == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the published warehouse lacks %s; add them to --select (or run a full build)", strings.Join(missing, ", "))
	}
	return nil
}

// writeLineage replaces meta.lineage with the current graph.
func (g *graph) writeLineage(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, "DELETE FROM meta.lineage"); err != nil {
		return err
	}
	for _, name := range g.order {
		n := g.nodes[name]
		path := n.path()
		for _, d := range n.deps {
			if _, err := db.ExecContext(ctx, `INSERT INTO meta.lineage VALUES (?, ?, ?, ?)`, name, path, d, kindOf(g.nodes[d])); err != nil {
				return err
			}
		}
		if n.model != nil {
			for _, s := range n.model.Sources {
				if _, err := db.ExecContext(ctx, `INSERT INTO meta.lineage VALUES (?, ?, ?, 'source')`, name, path, s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func kindOf(n *node) string {
	if n.model != nil {
		return "model"
	}
	return "step"
}

// checkIncremental refuses incremental models that read no lake table
// directly or through views: they would never see anything new.
func (g *graph) checkIncremental() error {
	var bad []string
	for _, name := range g.order {
		n := g.nodes[name]
		if n.model == nil || n.model.Materialize != models.Incremental || n.model.Spec.Incremental != nil {
			continue
		}
		if !g.readsLakeThroughViews(n.model, map[string]bool{}) {
			bad = append(bad, fmt.Sprintf("%s: incremental model %s reads no lake table (raw.*) directly or through views, so it would never see new data; make it a table", n.model.Path, name))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "\n"))
	}
	return nil
}

func (g *graph) readsLakeThroughViews(m *models.Model, seen map[string]bool) bool {
	if seen[m.Name] {
		return false
	}
	seen[m.Name] = true
	if len(m.Sources) > 0 {
		return true
	}
	for _, d := range m.Deps {
		if dn := g.nodes[d]; dn != nil && dn.model != nil && dn.model.Materialize == models.View && g.readsLakeThroughViews(dn.model, seen) {
			return true
		}
	}
	return false
}
