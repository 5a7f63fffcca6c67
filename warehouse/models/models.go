// Package models finds the SQL models of a project, reads their header
// comments, works out which relations each one reads (with DuckDB's own
// parser, through json_serialize_sql) and orders them so that every model
// comes after the models it reads.
package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"crmwh/warehouse/duckdb"
)

// Materializations.
const (
	View  = "view"
	Table = "table"
)

// Model is one .sql file under sql/.
type Model struct {
	// Name is the file name without .sql; it is also the relation's name.
	Name string
	// Path is the file's path in the project, e.g. sql/core/dim_customer.sql.
	Path string
	// Layer is the first folder under sql/: staging, core or marts.
	Layer string
	// SQL is the file's text: one SELECT (WITH …) statement.
	SQL string
	// Line is the file's line where SQL starts (1 unless the file starts
	// with blank lines), to give errors the line in the file.
	Line int
	// Materialize is view, table, incremental or snapshot: from the YAML
	// beside the model, else the header `-- @materialize: table`, else the
	// layer's default (view in staging/, table elsewhere).
	Materialize string
	// Spec is the YAML file beside the model (empty when there is none);
	// SpecPath its path.
	Spec     Spec
	SpecPath string
	// Deps are the models this one reads, sorted.
	Deps []string
	// Sources are the raw relations this one reads (schema.name), sorted.
	Sources []string
	// External are relations it reads that Go build steps write, sorted.
	External []string
	// TableFunctions are the table functions it calls that read outside
	// the warehouse (read_csv, read_parquet, …; not range or unnest),
	// sorted: what they return can change without any relation changing,
	// so an incremental build always builds such a model again.
	TableFunctions []string
	// Entity is the contract entity a generated staging model holds
	// (warehouse/contract); empty for models written as files.
	Entity string
	// Placeholder marks the stand-in of an entity the project does not
	// map: no rows, the entity's columns. The build uses it only where a
	// model reads the entity as optional, and never publishes it.
	Placeholder bool
	// ChangesRead are the relations whose changes (changes.<name>) the
	// query of Spec.Incremental.Keys reads, sorted.
	ChangesRead []string
	// MergeOrder, for an incremental model fed by lake parts, orders the
	// rows of one key from the one to keep: a new row replaces the kept
	// one only when it comes first (ties: the new one). Empty: a new row
	// always replaces the old. The staging models the contract generates
	// set it to their de-duplication order, so that merging new parts
	// keeps the row a full rebuild keeps.
	MergeOrder string
}

// ChangesSchema is the schema where a build keeps, while it runs, the rows
// each relation changed (changes.<relation>), for the keys queries of
// models incremental by key.
const ChangesSchema = "changes"

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// headerRE matches `-- @key: value` comments at the top of a model.
var headerRE = regexp.MustCompile(`^--\s*@([a-z_]+)\s*:\s*(.*?)\s*$`)

// Discover reads every .sql file under dir (recursively) of fsys. Problems
// are collected: a file name that is not a valid relation name, two files
// with one name, an unknown header key or value.
func Discover(fsys fs.FS, dir string) ([]*Model, error) {
	var out []*Model
	var problems []string
	byName := map[string]string{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return nil
		}
		name := strings.TrimSuffix(path.Base(p), ".sql")
		if strings.HasPrefix(path.Base(p), "_") {
			return nil
		}
		if !nameRE.MatchString(name) {
			problems = append(problems, fmt.Sprintf("%s: file name %q must be a lower-case SQL name (letters, digits, _)", p, name))
			return nil
		}
		if other, dup := byName[name]; dup {
			problems = append(problems, fmt.Sprintf("%s: model %s is also defined in %s", p, name, other))
			return nil
		}
		byName[name] = p
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		layer, _, _ := strings.Cut(rel, "/")
		if !strings.Contains(rel, "/") {
			layer = ""
		}
		text := string(b)
		lead := text[:len(text)-len(strings.TrimLeft(text, " \t\r\n"))]
		m := &Model{Name: name, Path: p, Layer: layer, SQL: strings.TrimSpace(text), Line: 1 + strings.Count(lead, "\n")}
		m.Materialize = Table
		if layer == "staging" {
			m.Materialize = View
		}
		for i, line := range strings.Split(m.SQL, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "--") {
				break
			}
			hm := headerRE.FindStringSubmatch(line)
			if hm == nil {
				continue
			}
			switch hm[1] {
			case "materialize", "materialized":
				v := strings.ToLower(hm[2])
				if !contains(Materializations, v) {
					problems = append(problems, fmt.Sprintf("%s:%d: @materialize: %q is not one of %s", p, i+1, hm[2], strings.Join(Materializations, ", ")))
				}
				m.Materialize = v
			default:
				problems = append(problems, fmt.Sprintf("%s:%d: unknown header @%s (known: materialize)", p, i+1, hm[1]))
			}
		}
		for _, ext := range []string{".yml", ".yaml"} {
			sp := strings.TrimSuffix(p, ".sql") + ext
			data, err := fs.ReadFile(fsys, sp)
			if err != nil {
				continue
			}
			spec, probs := parseSpec(sp, data)
			for _, pr := range probs {
				problems = append(problems, pr.Error())
			}
			m.Spec, m.SpecPath = *spec, sp
			if spec.Materialize != "" {
				m.Materialize = spec.Materialize
			}
			break
		}
		if (m.Materialize == Incremental || m.Materialize == Snapshot) && len(m.Spec.UniqueKey) == 0 {
			problems = append(problems, fmt.Sprintf("%s: a %s model needs unique_key in %s.yml", p, m.Materialize, name))
		}
		m.SQL = strings.TrimRight(strings.TrimSpace(m.SQL), ";")
		if m.SQL == "" {
			problems = append(problems, fmt.Sprintf("%s: file is empty", p))
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A YAML file with no model beside it is a typo waiting to happen.
	_ = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			return err
		}
		base := strings.TrimSuffix(strings.TrimSuffix(p, ".yml"), ".yaml")
		if _, err := fs.Stat(fsys, base+".sql"); err != nil {
			problems = append(problems, fmt.Sprintf("%s: no model %s.sql beside it", p, path.Base(base)))
		}
		return nil
	})
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Relation is a table a query reads.
type Relation struct{ Schema, Name string }

func (r Relation) String() string {
	if r.Schema == "" {
		return r.Name
	}
	return r.Schema + "." + r.Name
}

// ParseError is a statement DuckDB's parser refused, with the line and
// column (counted from 1 in the parsed text; 0 when DuckDB gave none).
type ParseError struct {
	Line, Column int
	Msg          string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s (line %d, column %d)", e.Msg, e.Line, e.Column)
}

// References returns the tables a SELECT statement reads, parsed by DuckDB
// (json_serialize_sql). Names of common table expressions are left out.
func References(ctx context.Context, db *sql.DB, query string) ([]Relation, error) {
	var js string
	if err := db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", query).Scan(&js); err != nil {
		return nil, err
	}
	var root any
	if err := json.Unmarshal([]byte(js), &root); err != nil {
		return nil, fmt.Errorf("reading parse tree: %w", err)
	}
	if m, ok := root.(map[string]any); ok && m["error"] == true {
		msg, _ := m["error_message"].(string)
		if pos, ok := duckdb.Position(m["position"]); ok {
			line, col := duckdb.LineColumn(query, pos)
			return nil, &ParseError{Line: line, Column: col, Msg: msg}
		}
		return nil, &ParseError{Msg: msg}
	}
	if m, ok := root.(map[string]any); ok {
		if st, ok := m["statements"].([]any); ok && len(st) != 1 {
			return nil, fmt.Errorf("a model must hold exactly one SELECT statement, found %d", len(st))
		}
	}
	ctes := map[string]bool{}
	var refs []Relation
	seen := map[Relation]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if cm, ok := x["cte_map"].(map[string]any); ok {
				if entries, ok := cm["map"].([]any); ok {
					for _, e := range entries {
						if em, ok := e.(map[string]any); ok {
							if k, ok := em["key"].(string); ok {
								ctes[strings.ToLower(k)] = true
							}
						}
					}
				}
			}
			if x["type"] == "BASE_TABLE" {
				name, _ := x["table_name"].(string)
				schema, _ := x["schema_name"].(string)
				r := Relation{Schema: strings.ToLower(schema), Name: strings.ToLower(name)}
				if name != "" && !seen[r] {
					seen[r] = true
					refs = append(refs, r)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
	out := refs[:0]
	for _, r := range refs {
		if r.Schema == "" && ctes[r.Name] {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// pureTableFunctions return the same rows for the same arguments.
var pureTableFunctions = map[string]bool{"range": true, "generate_series": true, "unnest": true}

// TableFunctions returns the table functions a SELECT statement calls
// that are not pure (read_csv, read_parquet, glob, …), sorted.
func TableFunctions(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	var js string
	if err := db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", query).Scan(&js); err != nil {
		return nil, err
	}
	var root any
	if err := json.Unmarshal([]byte(js), &root); err != nil {
		return nil, fmt.Errorf("reading parse tree: %w", err)
	}
	found := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "TABLE_FUNCTION" {
				if f, ok := x["function"].(map[string]any); ok {
					if name, ok := f["function_name"].(string); ok && !pureTableFunctions[strings.ToLower(name)] {
						found[strings.ToLower(name)] = true
					}
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
	return keys(found), nil
}

// Resolve fills each model's Deps and Sources. A reference is a model when
// it names one (bare or as main.name), a source when its schema is one of
// sourceSchemas and the relation exists there, and otherwise an error that
// names the model's file, unless external lists it (relations that exist
// outside the models, such as tables written by Go build steps).
func Resolve(ctx context.Context, db *sql.DB, ms []*Model, sources map[string]bool, external map[string]bool) error {
	byName := map[string]*Model{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	var problems []string
	parsed := map[*Model]bool{}
	for _, m := range ms {
		refs, err := References(ctx, db, m.SQL)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && pe.Line > 0 {
				problems = append(problems, fmt.Sprintf("%s:%d: cannot parse: %s (column %d)", m.Path, m.Line+pe.Line-1, pe.Msg, pe.Column))
			} else {
				problems = append(problems, fmt.Sprintf("%s: cannot parse: %v", m.Path, err))
			}
			continue
		}
		deps := map[string]bool{}
		srcs := map[string]bool{}
		ext := map[string]bool{}
		for _, r := range refs {
			switch {
			case (r.Schema == "" || r.Schema == "main") && byName[r.Name] != nil:
				if r.Name == m.Name {
					problems = append(problems, fmt.Sprintf("%s: model %s reads itself", m.Path, m.Name))
					continue
				}
				deps[r.Name] = true
			case sources[r.String()]:
				srcs[r.String()] = true
			case external[r.String()]:
				ext[r.String()] = true
			case r.Schema == "main" && external[r.Name]:
				ext[r.Name] = true
			default:
				problems = append(problems, fmt.Sprintf("%s: model %s reads %s, which is neither a model nor a lake table (raw.<source>_<stream>)", m.Path, m.Name, r))
			}
		}
		m.Deps, m.Sources, m.External = keys(deps), keys(srcs), keys(ext)
		if m.TableFunctions, err = TableFunctions(ctx, db, m.SQL); err != nil {
			problems = append(problems, fmt.Sprintf("%s: cannot parse: %v", m.Path, err))
			continue
		}
		parsed[m] = true
	}
	// Once every model's inputs are known: an incremental model's keys may
	// read changes of what a view it reads reads, whatever order the
	// models came in.
	for _, m := range ms {
		if m.Spec.Incremental != nil && parsed[m] {
			problems = append(problems, resolveIncremental(ctx, db, m, byName, sources, external)...)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// resolveIncremental checks the keys query and the conditions of a model
// incremental by key, and fills ChangesRead: every relation they read is a
// model, a lake table, a Go step's table or changes.<an input of the
// model>, directly or through views.
func resolveIncremental(ctx context.Context, db *sql.DB, m *Model, byName map[string]*Model, sources, external map[string]bool) []string {
	var problems []string
	where := m.SpecPath
	if where == "" {
		where = m.Path
	}
	inputs := map[string]bool{}
	var addInputs func(names []string)
	addInputs = func(names []string) {
		for _, d := range names {
			if inputs[d] {
				continue
			}
			inputs[d] = true
			if dm := byName[d]; dm != nil && dm.Materialize == View {
				addInputs(dm.Deps)
				addInputs(dm.External)
			}
		}
	}
	addInputs(m.Deps)
	addInputs(m.External)
	changes := map[string]bool{}
	check := func(what, q string, allowKeys bool) {
		refs, err := References(ctx, db, q)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: incremental.%s of %s: cannot parse: %v", where, what, m.Name, err))
			return
		}
		for _, r := range refs {
			switch {
			case r.Schema == ChangesSchema:
				if !inputs[r.Name] {
					problems = append(problems, fmt.Sprintf("%s: incremental.%s of %s reads %s, but %s reads no %s (directly or through views)", where, what, m.Name, r, m.Name, r.Name))
					continue
				}
				changes[r.Name] = true
			case (r.Schema == "" || r.Schema == "main") && (byName[r.Name] != nil || external[r.Name]):
			case allowKeys && r.Schema == "" && r.Name == "keys":
			case sources[r.String()] || external[r.String()]:
			default:
				problems = append(problems, fmt.Sprintf("%s: incremental.%s of %s reads %s, which is neither a model nor a lake table nor changes.<input>", where, what, m.Name, r))
			}
		}
	}
	check("keys", m.Spec.Incremental.Keys, false)
	for _, in := range sortedKeys(m.Spec.Incremental.Where) {
		if !contains(m.Deps, in) && !contains(m.External, in) {
			problems = append(problems, fmt.Sprintf("%s: incremental.where names %s, which %s does not read directly", where, in, m.Name))
			continue
		}
		check("where."+in, "SELECT 1 FROM "+duckdb.QuoteIdent(in)+" WHERE "+m.Spec.Incremental.Where[in], true)
	}
	m.ChangesRead = keys(changes)
	return problems
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Order sorts models so that each comes after its dependencies (ties by
// name, so the order is stable). A cycle is an error naming its files.
func Order(ms []*Model) ([]*Model, error) {
	byName := map[string]*Model{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var out []*Model
	var stack []string
	var visit func(m *Model) error
	visit = func(m *Model) error {
		switch state[m.Name] {
		case done:
			return nil
		case visiting:
			i := len(stack) - 1
			for stack[i] != m.Name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), m.Name)
			files := make([]string, len(cycle))
			for k, n := range cycle {
				files[k] = byName[n].Path
			}
			return fmt.Errorf("models form a cycle: %s (files %s)", strings.Join(cycle, " → "), strings.Join(files[:len(files)-1], ", "))
		}
		state[m.Name] = visiting
		stack = append(stack, m.Name)
		for _, d := range m.Deps {
			if dm := byName[d]; dm != nil {
				if err := visit(dm); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[m.Name] = done
		out = append(out, m)
		return nil
	}
	sorted := append([]*Model(nil), ms...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, m := range sorted {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}
