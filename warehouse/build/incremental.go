package build

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// An incremental build starts from a copy of the published warehouse and
// brings each node up to date with as little work as its inputs allow:
//
//   - a node whose definition and inputs did not change is kept as it is;
//   - an incremental model fed by lake parts merges the new parts (as in
//     every build);
//   - a model incremental by key (Spec.Incremental) recomputes the keys its
//     keys query finds in the changes of its inputs;
//   - anything else is rebuilt in full.
//
// Each node's outcome is recorded as a change of the relations it writes
// (unchanged, changed with the changed rows in changes.<relation>, or
// rebuilt), which is what the nodes after it decide on. Views are
// transparent: a model reading a view depends on the view's inputs.

// changeKind says how a relation changed in this build.
type changeKind int

const (
	unchanged changeKind = iota
	// delta: changes.<relation> holds the rows that changed (for lake
	// relations: only that parts were added).
	delta
	// rebuilt: the relation may have changed anywhere.
	rebuilt
)

func (k changeKind) String() string {
	return [...]string{"unchanged", "changed", "rebuilt"}[k]
}

// incState is what an incremental build knows besides the graph.
type incState struct {
	mu sync.Mutex
	// prev are the fingerprints of the published warehouse's nodes.
	prev map[string]string
	// changed says how each relation (model, step table, lake table)
	// changed; a relation not in it is unchanged.
	changed map[string]changeKind
	// wanted are the relations whose changed rows some keys query reads.
	wanted map[string]bool
	// tables lists changes.<relation> tables that exist.
	tables map[string]bool
	// catalog is the build database's name, to name its tables past
	// temporary ones of the same name.
	catalog string
	// prevTests are the fingerprints of the data tests the published
	// warehouse ran or kept (meta.test_state).
	prevTests map[string]string
}

func (s *incState) kind(rel string) changeKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed[rel]
}

func (s *incState) set(rel string, k changeKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed[rel] = k
}

// fingerprint identifies a node's definition: when it differs from the
// published warehouse's, the node is rebuilt in full.
func (g *graph) fingerprint(n *node) string {
	h := sha256.New()
	if n.step != nil {
		fmt.Fprintf(h, "step\x00%s\x00%s\x00%v", n.step.Name, n.step.Fingerprint, n.step.Writes)
		return hex.EncodeToString(h.Sum(nil))[:16]
	}
	m := n.model
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%v\x00%s\x00%s", m.Name, m.Materialize, m.SQL, m.Spec.UniqueKey, m.Spec.UpdatedAt, m.MergeOrder)
	if m.Spec.MaxDeletedShare != nil {
		fmt.Fprintf(h, "\x00%g", *m.Spec.MaxDeletedShare)
	}
	if inc := m.Spec.Incremental; inc != nil {
		fmt.Fprintf(h, "\x00%s", inc.Keys)
		for _, k := range sortedMapKeys(inc.Where) {
			fmt.Fprintf(h, "\x00%s=%s", k, inc.Where[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sortedMapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writes lists the relations a node writes.
func (n *node) writes() []string {
	if n.step != nil {
		return n.step.Writes
	}
	return []string{n.name}
}

// inputs lists the relations a node's result depends on, with views
// replaced by their own inputs (a view holds no rows of its own).
func (g *graph) inputs(n *node) []string {
	seen := map[string]bool{}
	var out []string
	var add func(rel string)
	add = func(rel string) {
		if seen[rel] {
			return
		}
		seen[rel] = true
		if dn := g.nodes[rel]; dn != nil && dn.model != nil && dn.model.Materialize == models.View {
			for _, r := range modelReads(dn.model) {
				add(r)
			}
			return
		}
		out = append(out, rel)
	}
	if n.step != nil {
		for _, r := range n.step.Reads {
			add(r)
		}
	} else {
		for _, r := range modelReads(n.model) {
			add(r)
		}
	}
	sort.Strings(out)
	return out
}

func modelReads(m *models.Model) []string {
	out := append(append(append([]string(nil), m.Deps...), m.External...), m.Sources...)
	return out
}

// wantedChanges lists the relations whose changed rows a keys query reads.
func (g *graph) wantedChanges() map[string]bool {
	out := map[string]bool{}
	for _, n := range g.nodes {
		if n.model != nil {
			for _, r := range n.model.ChangesRead {
				out[r] = true
			}
		}
	}
	return out
}

// readPrevious reads the fingerprints of the published warehouse's nodes
// and the lake parts it read, from its copy. ok is false when the
// warehouse predates incremental builds.
func readPrevious(ctx context.Context, db *sql.DB) (fps map[string]string, parts map[string]map[string]bool, schemas map[string]string, ok bool, err error) {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'meta' AND table_name IN ('model_state', 'raw_parts')`).Scan(&n); err != nil {
		return nil, nil, nil, false, err
	}
	if n < 2 {
		return nil, nil, nil, false, nil
	}
	fps = map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT node, fingerprint FROM meta.model_state`)
	if err != nil {
		return nil, nil, nil, false, err
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, nil, nil, false, err
		}
		fps[k] = v
	}
	rows.Close()
	parts, schemas = map[string]map[string]bool{}, map[string]string{}
	rows, err = db.QueryContext(ctx, `SELECT relation, path, schema_hash FROM meta.raw_parts`)
	if err != nil {
		return nil, nil, nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var rel, schema string
		var path sql.NullString
		if err := rows.Scan(&rel, &path, &schema); err != nil {
			return nil, nil, nil, false, err
		}
		if parts[rel] == nil {
			parts[rel] = map[string]bool{}
		}
		if path.Valid {
			parts[rel][path.String] = true
		}
		schemas[rel] = schema
	}
	return fps, parts, schemas, true, rows.Err()
}

// rawRelations lists the lake's relations with their parts and a hash of
// their schema, as the raw views read them.
func rawRelations(ms []*lake.StreamManifest) map[string]rawRelation {
	out := map[string]rawRelation{}
	for _, m := range ms {
		if len(m.Schema) == 0 {
			continue
		}
		base := "raw." + m.Source + "_" + m.Stream
		out[base] = rawRelation{parts: partPaths(m.LiveParts()), schema: m.Schema.Hash()}
		out[base+"__quarantine"] = rawRelation{parts: partPaths(m.LiveQuarantine()), schema: "quarantine"}
	}
	return out
}

type rawRelation struct {
	parts  []string
	schema string
}

func partPaths(ps []lake.Part) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

// rawChanges compares the lake's relations with those the published
// warehouse read: parts added only are a delta, a part gone or a new
// schema a rebuild. raw.quarantine changes when any stream's does.
func rawChanges(now map[string]rawRelation, prevParts map[string]map[string]bool, prevSchema map[string]string) map[string]changeKind {
	out := map[string]changeKind{}
	for rel, r := range now {
		prev, had := prevParts[rel]
		switch {
		case !had || prevSchema[rel] != r.schema:
			out[rel] = rebuilt
			continue
		}
		cur := map[string]bool{}
		added := false
		for _, p := range r.parts {
			cur[p] = true
			added = added || !prev[p]
		}
		gone := false
		for p := range prev {
			gone = gone || !cur[p]
		}
		switch {
		case gone:
			out[rel] = rebuilt
		case added:
			out[rel] = delta
		}
	}
	for rel := range prevParts {
		if _, ok := now[rel]; !ok {
			out[rel] = rebuilt
		}
	}
	for rel, k := range out {
		if k != unchanged && strings.HasSuffix(rel, "__quarantine") {
			out["raw.quarantine"] = rebuilt
		}
	}
	return out
}

// writeBuildState records the fingerprint of every node and the parts of
// every lake relation, for the next incremental build.
func writeBuildState(ctx context.Context, db *sql.DB, g *graph, raw map[string]rawRelation) error {
	stmts := []string{
		`CREATE OR REPLACE TABLE meta.model_state (node VARCHAR, fingerprint VARCHAR)`,
		`CREATE OR REPLACE TABLE meta.raw_parts (relation VARCHAR, path VARCHAR, schema_hash VARCHAR)`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	for _, name := range g.order {
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.model_state VALUES (?, ?)`, name, g.fingerprint(g.nodes[name])); err != nil {
			return err
		}
	}
	rels := make([]string, 0, len(raw))
	for r := range raw {
		rels = append(rels, r)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		r := raw[rel]
		if len(r.parts) == 0 {
			if _, err := db.ExecContext(ctx, `INSERT INTO meta.raw_parts VALUES (?, NULL, ?)`, rel, r.schema); err != nil {
				return err
			}
		}
		for _, p := range r.parts {
			if _, err := db.ExecContext(ctx, `INSERT INTO meta.raw_parts VALUES (?, ?, ?)`, rel, p, r.schema); err != nil {
				return err
			}
		}
	}
	return nil
}

// plan is how an incremental build brings a node up to date.
type plan int

const (
	planKeep  plan = iota // nothing it depends on changed
	planFull              // rebuild (or, for a snapshot, observe everything)
	planKeys              // recompute the keys the changes touch
	planParts             // merge new lake parts (incremental models fed by the lake)
)

// planNode decides how to bring n up to date, and why (for the detail).
func (b *builder) planNode(ctx context.Context, n *node) (plan, string, error) {
	s := b.inc
	if n.model != nil && n.model.Materialize == models.Incremental && n.model.Spec.Incremental == nil {
		// Fed by lake parts: it keeps its own state (and rebuilds in
		// full when its SQL changed).
		return planParts, "", nil
	}
	if s.prev[n.name] != b.graph.fingerprint(n) {
		return planFull, "definition changed", nil
	}
	for _, w := range n.writes() {
		if n.model != nil && n.model.Materialize == models.View {
			break
		}
		ok, err := relationExists(ctx, b.db, w)
		if err != nil {
			return planFull, "", err
		}
		if !ok {
			return planFull, "not in the published warehouse", nil
		}
	}
	if n.model != nil && len(n.model.TableFunctions) > 0 {
		return planFull, "reads outside the warehouse (" + strings.Join(n.model.TableFunctions, ", ") + ")", nil
	}
	var changed []string
	for _, in := range b.graph.inputs(n) {
		if s.kind(in) != unchanged {
			changed = append(changed, in)
		}
	}
	if len(changed) == 0 {
		return planKeep, "", nil
	}
	if n.model == nil || n.model.Spec.Incremental == nil {
		return planFull, "inputs changed: " + strings.Join(changed, ", "), nil
	}
	for _, in := range changed {
		if !contains(n.model.ChangesRead, in) {
			return planFull, "incremental.keys does not read changes." + in, nil
		}
		if s.kind(in) != delta {
			return planFull, in + " was rebuilt", nil
		}
	}
	return planKeys, "", nil
}

// lastStepRows is the row count a Go step reported when it last ran, as
// the published warehouse recorded it (-1 when it never did): a kept step
// is recorded with the rows it holds, as a kept model is.
func lastStepRows(ctx context.Context, conn *sql.Conn, step string) (int64, error) {
	var rows sql.NullInt64
	err := conn.QueryRowContext(ctx, `SELECT row_count FROM meta.model_runs
		WHERE model = ? AND row_count IS NOT NULL AND error IS NULL ORDER BY run_id DESC LIMIT 1`, step).Scan(&rows)
	if errors.Is(err, sql.ErrNoRows) || !rows.Valid {
		return -1, nil
	}
	return rows.Int64, err
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func relationExists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT table_name AS n FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
		UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal) WHERE n = ?`, name).Scan(&n)
	return n > 0, err
}

// runIncrementalNode brings one node up to date in an incremental build.
func (b *builder) runIncrementalNode(ctx context.Context, n *node) (int64, string, error) {
	p, why, err := b.planNode(ctx, n)
	if err != nil {
		return 0, "", err
	}
	isView := n.model != nil && n.model.Materialize == models.View
	switch {
	case isView:
		// Views cost nothing to make again (and placeholders are dropped
		// before every publish); they changed when their inputs did.
		rows, detail, err := b.buildNode(ctx, n)
		k := unchanged
		if p != planKeep {
			k = rebuilt
		}
		b.inc.set(n.name, k)
		return rows, detail, err
	case p == planKeep:
		for _, w := range n.writes() {
			b.inc.set(w, unchanged)
		}
		rows := int64(-1)
		conn, err := b.db.Conn(ctx)
		if err != nil {
			return 0, "", err
		}
		defer conn.Close()
		if n.model != nil {
			if rows, err = count(ctx, conn, duckdb.QuoteIdent(n.name)); err != nil {
				return 0, "", err
			}
		} else if rows, err = lastStepRows(ctx, conn, n.name); err != nil {
			return 0, "", err
		}
		return rows, "kept: nothing it reads changed", nil
	case p == planParts:
		return b.buildNode(ctx, n)
	case p == planKeys && n.model.Materialize == models.Snapshot:
		return b.runKeyedSnapshot(ctx, n.model)
	case p == planKeys:
		return b.runKeyed(ctx, n.model)
	}
	// A full rebuild; the old rows are kept aside when a keys query
	// wants to know what changed.
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	var aside []string
	for _, w := range n.writes() {
		if !b.inc.wanted[w] {
			continue
		}
		ok, err := tableExists(ctx, conn, "main", w)
		if err != nil {
			return 0, "", err
		}
		if ok && !(n.model != nil && n.model.Materialize == models.Snapshot) {
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", duckdb.QuoteIdent(w), duckdb.QuoteIdent(prevName(w)))); err != nil {
				return 0, "", err
			}
			aside = append(aside, w)
		} else if ok {
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM %s", duckdb.QuoteIdent(prevName(w)), duckdb.QuoteIdent(w))); err != nil {
				return 0, "", err
			}
			aside = append(aside, w)
		}
	}
	rows, detail, err := b.buildNode(ctx, n)
	if err != nil {
		return rows, detail, err
	}
	for _, w := range n.writes() {
		k := rebuilt
		if contains(aside, w) {
			changedRows, err := b.recordChanges(ctx, conn, w, prevName(w), w, nil)
			if err != nil {
				return 0, "", err
			}
			k = delta
			if changedRows == 0 {
				k = unchanged
			}
			if _, err := conn.ExecContext(ctx, "DROP TABLE "+duckdb.QuoteIdent(prevName(w))); err != nil {
				return 0, "", err
			}
			detail = strings.TrimPrefix(detail+fmt.Sprintf("; %d rows changed", changedRows), "; ")
		}
		b.inc.set(w, k)
	}
	if why != "" {
		detail = strings.TrimPrefix(detail+"; rebuilt: "+why, "; ")
	}
	return rows, detail, nil
}

func prevName(rel string) string { return "__crmwh_prev_" + rel }

// columns lists a relation's columns, quoted, in order.
func columns(ctx context.Context, conn *sql.Conn, rel string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM "+rel+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, duckdb.QuoteIdent(c))
	}
	return out, rows.Err()
}

// recordChanges appends to changes.<rel> the rows of before that after no
// longer has ('old') and those of after that before did not have ('new'),
// when a keys query reads them, and returns how many rows changed. The
// relations are given as SQL (a table name or a parenthesised query);
// cols, when nil, are rel's columns.
func (b *builder) recordChanges(ctx context.Context, conn *sql.Conn, rel, before, after string, cols []string) (int64, error) {
	if cols == nil {
		var err error
		if cols, err = columns(ctx, conn, duckdb.QuoteIdent(rel)); err != nil {
			return 0, err
		}
	}
	list := strings.Join(cols, ", ")
	q := fmt.Sprintf(`SELECT %[1]s, 'old' AS _change FROM (SELECT %[1]s FROM %[2]s EXCEPT ALL SELECT %[1]s FROM %[3]s)
UNION ALL SELECT %[1]s, 'new' FROM (SELECT %[1]s FROM %[3]s EXCEPT ALL SELECT %[1]s FROM %[2]s)`, list, before, after)
	if !b.inc.wanted[rel] {
		var n int64
		err := conn.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+")").Scan(&n)
		return n, err
	}
	if err := b.ensureChangesTable(ctx, conn, rel); err != nil {
		return 0, err
	}
	res, err := conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s.%s BY NAME %s", models.ChangesSchema, duckdb.QuoteIdent(rel), q))
	if err != nil {
		return 0, fmt.Errorf("recording the changes of %s: %w", rel, err)
	}
	return res.RowsAffected()
}

// ensureChangesTable creates changes.<rel> (rel's columns and _change),
// empty, when it does not exist yet.
func (b *builder) ensureChangesTable(ctx context.Context, conn *sql.Conn, rel string) error {
	b.inc.mu.Lock()
	defer b.inc.mu.Unlock()
	if b.inc.tables[rel] {
		return nil
	}
	src := duckdb.QuoteIdent(b.inc.catalog) + ".main." + duckdb.QuoteIdent(rel)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE %s.%s AS SELECT *, CAST(NULL AS VARCHAR) AS _change FROM %s LIMIT 0",
		models.ChangesSchema, duckdb.QuoteIdent(rel), src)); err != nil {
		return fmt.Errorf("creating changes.%s: %w", rel, err)
	}
	b.inc.tables[rel] = true
	return nil
}

// keyColumns quotes a model's unique_key.
func keyColumns(m *models.Model) []string {
	out := make([]string, len(m.Spec.UniqueKey))
	for i, k := range m.Spec.UniqueKey {
		out[i] = duckdb.QuoteIdent(k)
	}
	return out
}

// prepareKeys runs a model's keys query into the temporary table keys
// (distinct values, none NULL) on conn and returns its columns, a subset
// of unique_key. Every changes.<input> the query reads exists by then.
func (b *builder) prepareKeys(ctx context.Context, conn *sql.Conn, m *models.Model) ([]string, int64, error) {
	// A view (say, the placeholder of an unmapped entity) keeps no rows:
	// when it changes, planNode rebuilds the model in full; otherwise its
	// changes are none.
	for _, in := range m.ChangesRead {
		if err := b.ensureChangesTable(ctx, conn, in); err != nil {
			return nil, 0, err
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE keys AS SELECT DISTINCT * FROM (\n"+m.Spec.Incremental.Keys+"\n)"); err != nil {
		return nil, 0, fmt.Errorf("%s: incremental.keys of %s: %w", m.SpecPath, m.Name, err)
	}
	cols, err := columns(ctx, conn, "keys")
	if err != nil {
		return nil, 0, err
	}
	isKey := map[string]bool{}
	for _, k := range keyColumns(m) {
		isKey[k] = true
	}
	var nonNull []string
	for _, c := range cols {
		if !isKey[c] {
			return nil, 0, fmt.Errorf("%s: incremental.keys of %s returns column %s, which is not in unique_key (%s)", m.SpecPath, m.Name, c, strings.Join(m.Spec.UniqueKey, ", "))
		}
		nonNull = append(nonNull, c+" IS NULL")
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM keys WHERE "+strings.Join(nonNull, " OR ")); err != nil {
		return nil, 0, err
	}
	var n int64
	err = conn.QueryRowContext(ctx, "SELECT count(*) FROM keys").Scan(&n)
	return cols, n, err
}

// restrictInputs makes the inputs named in incremental.where read only
// their rows that meet the condition, for the statements run on conn, and
// returns a function that puts them back. Each condition sees every input
// whole: one that reads a restricted input (itself included) is applied
// once, into a temporary table, before any input is restricted; the others
// become temporary views, so that the model's query filters as it scans
// (a condition that keeps most rows then costs no copy of them).
func (b *builder) restrictInputs(ctx context.Context, conn *sql.Conn, m *models.Model) (func(), error) {
	var made []string
	undo := func() {
		for _, in := range made {
			conn.ExecContext(context.Background(), "DROP VIEW IF EXISTS temp.main."+duckdb.QuoteIdent(in))
			conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.main."+duckdb.QuoteIdent("__crmwh_in_"+in))
		}
	}
	where := m.Spec.Incremental.Where
	ins := sortedMapKeys(where)
	copied := map[string]bool{}
	for _, in := range ins {
		refs, err := models.References(ctx, b.db, "SELECT 1 WHERE "+where[in])
		if err != nil {
			return nil, fmt.Errorf("%s: incremental.where.%s of %s: %w", m.SpecPath, in, m.Name, err)
		}
		for _, r := range refs {
			if _, ok := where[r.Name]; ok && (r.Schema == "" || r.Schema == "main") {
				copied[in] = true
			}
		}
	}
	for _, in := range ins {
		if !copied[in] {
			continue
		}
		src := duckdb.QuoteIdent(b.inc.catalog) + ".main." + duckdb.QuoteIdent(in)
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s AS %s WHERE (%s)",
			duckdb.QuoteIdent("__crmwh_in_"+in), src, duckdb.QuoteIdent(in), where[in])); err != nil {
			undo()
			return nil, fmt.Errorf("%s: incremental.where.%s of %s: %w", m.SpecPath, in, m.Name, err)
		}
		made = append(made, in)
	}
	for _, in := range ins {
		body := "SELECT * FROM temp.main." + duckdb.QuoteIdent("__crmwh_in_"+in)
		if !copied[in] {
			body = fmt.Sprintf("SELECT * FROM %s.main.%s AS %s WHERE (%s)", duckdb.QuoteIdent(b.inc.catalog), duckdb.QuoteIdent(in), duckdb.QuoteIdent(in), where[in])
			made = append(made, in)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS %s", duckdb.QuoteIdent(in), body)); err != nil {
			undo()
			return nil, fmt.Errorf("%s: incremental.where.%s of %s: %w", m.SpecPath, in, m.Name, err)
		}
	}
	return undo, nil
}

// runKeyed recomputes the keys of a model incremental by key: the model's
// SQL, with the inputs of incremental.where restricted, gives the new rows
// of those keys, which replace the old ones.
func (b *builder) runKeyed(ctx context.Context, m *models.Model) (int64, string, error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	defer conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.main.keys; DROP TABLE IF EXISTS temp.main.__crmwh_new; DROP TABLE IF EXISTS temp.main.__crmwh_old")
	name := duckdb.QuoteIdent(m.Name)
	kcols, nkeys, err := b.prepareKeys(ctx, conn, m)
	if err != nil {
		return 0, "", err
	}
	if nkeys == 0 {
		b.inc.set(m.Name, unchanged)
		rows, err := count(ctx, conn, name)
		return rows, "no keys to recompute", err
	}
	undo, err := b.restrictInputs(ctx, conn, m)
	if err != nil {
		return 0, "", err
	}
	prefix := "CREATE OR REPLACE TEMP TABLE __crmwh_new AS SELECT __m.* FROM (\n"
	_, err = conn.ExecContext(ctx, prefix+m.SQL+"\n) AS __m SEMI JOIN keys USING ("+strings.Join(kcols, ", ")+")")
	undo()
	if err != nil {
		return 0, "", modelError(m, prefix, err)
	}
	cols, err := columns(ctx, conn, name)
	if err != nil {
		return 0, "", err
	}
	list := strings.Join(cols, ", ")
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE __crmwh_old AS SELECT %s FROM %s SEMI JOIN keys USING (%s)", list, name, strings.Join(kcols, ", "))); err != nil {
		return 0, "", err
	}
	changedRows, err := b.recordChanges(ctx, conn, m.Name, "temp.main.__crmwh_old", "temp.main.__crmwh_new", cols)
	if err != nil {
		return 0, "", err
	}
	var replaced, added int64
	if changedRows > 0 {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return 0, "", err
		}
		defer tx.Rollback()
		conds := make([]string, len(kcols))
		for i, k := range kcols {
			conds[i] = fmt.Sprintf("%s.%s = keys.%s", name, k, k)
		}
		res, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s USING keys WHERE %s", name, strings.Join(conds, " AND ")))
		if err != nil {
			return 0, "", err
		}
		replaced, _ = res.RowsAffected()
		res, err = tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM temp.main.__crmwh_new", name, list, list))
		if err != nil {
			return 0, "", err
		}
		added, _ = res.RowsAffected()
		if err := tx.Commit(); err != nil {
			return 0, "", err
		}
	}
	k := delta
	if changedRows == 0 {
		k = unchanged
	}
	b.inc.set(m.Name, k)
	rows, err := count(ctx, conn, name)
	return rows, fmt.Sprintf("%d keys recomputed: %d rows out, %d in, %d changed", nkeys, replaced, added, changedRows), err
}

// startIncremental sets up an incremental build on the copy of the
// published warehouse: the changes schema, and the raw views of streams
// the lake no longer has dropped.
func startIncremental(ctx context.Context, db *sql.DB, g *graph, sources map[string]bool, prev map[string]string, raw map[string]changeKind) (*incState, error) {
	s := &incState{prev: prev, changed: raw, wanted: g.wantedChanges(), tables: map[string]bool{}}
	if err := db.QueryRowContext(ctx, "SELECT current_database()").Scan(&s.catalog); err != nil {
		return nil, err
	}
	for _, q := range []string{"DROP SCHEMA IF EXISTS " + models.ChangesSchema + " CASCADE", "CREATE SCHEMA " + models.ChangesSchema} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	rows, err := db.QueryContext(ctx, "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'raw'")
	if err != nil {
		return nil, err
	}
	var stale []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		if !sources["raw."+v] {
			stale = append(stale, v)
		}
	}
	rows.Close()
	for _, v := range stale {
		if _, err := db.ExecContext(ctx, "DROP VIEW IF EXISTS raw."+duckdb.QuoteIdent(v)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readPrevTests reads meta.test_state of the copied warehouse (empty when
// it has none).
func readPrevTests(ctx context.Context, db *sql.DB) (map[string]string, error) {
	out := map[string]string{}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'meta' AND table_name = 'test_state'`).Scan(&n); err != nil || n == 0 {
		return out, err
	}
	rows, err := db.QueryContext(ctx, `SELECT test, fingerprint FROM meta.test_state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// testFingerprint identifies a data test's definition.
func testFingerprint(t models.DataTest) string {
	h := sha256.Sum256([]byte(t.Kind + "\x00" + t.Severity + "\x00" + t.SQL + "\x00" + t.Expr))
	return hex.EncodeToString(h[:8])
}

// testsToRun leaves out the data tests whose result cannot have changed:
// same definition as in the published warehouse, and nothing they read
// (views seen through) changed. Freshness tests always run: their result
// moves with the clock.
func (b *builder) testsToRun(tests []models.DataTest) (run []models.DataTest, kept int) {
	for _, t := range tests {
		if t.Kind == models.TestFreshness || b.inc.prevTests[t.Name] != testFingerprint(t) || b.testInputsChanged(t) {
			run = append(run, t)
		} else {
			kept++
		}
	}
	return run, kept
}

func (b *builder) testInputsChanged(t models.DataTest) bool {
	for _, rel := range append([]string{t.Model}, t.Refs...) {
		n := b.graph.nodes[rel]
		if n == nil {
			if p, ok := b.graph.producer[rel]; ok {
				n = b.graph.nodes[p]
			}
		}
		if n == nil {
			// A lake relation, or something the graph does not know.
			if b.inc.kind(rel) != unchanged || !strings.HasPrefix(rel, "raw.") {
				return true
			}
			continue
		}
		rels := []string{rel}
		if n.model != nil && n.model.Materialize == models.View {
			rels = b.graph.inputs(n)
		}
		for _, r := range rels {
			if b.inc.kind(r) != unchanged {
				return true
			}
		}
	}
	return false
}

// writeTestState records the fingerprint of every data test the published
// warehouse answers for.
func writeTestState(ctx context.Context, db *sql.DB, tests []models.DataTest) error {
	if _, err := db.ExecContext(ctx, `CREATE OR REPLACE TABLE meta.test_state (test VARCHAR, fingerprint VARCHAR)`); err != nil {
		return err
	}
	for _, t := range tests {
		if _, err := db.ExecContext(ctx, `INSERT INTO meta.test_state VALUES (?, ?)`, t.Name, testFingerprint(t)); err != nil {
			return err
		}
	}
	return nil
}

// finishIncremental removes what only the incremental build needed.
func finishIncremental(ctx context.Context, db *sql.DB, g *graph, run map[string]bool) error {
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+models.ChangesSchema+" CASCADE"); err != nil {
		return err
	}
	return dropStale(ctx, db, g, run)
}

// dropStale drops what the copied warehouse holds that this build does
// not make: models removed or left out since, and leftovers.
func dropStale(ctx context.Context, db *sql.DB, g *graph, run map[string]bool) error {
	keep := map[string]bool{}
	for name := range run {
		for _, w := range g.nodes[name].writes() {
			keep[w] = true
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'
		UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal`)
	if err != nil {
		return err
	}
	var drop [][2]string
	for rows.Next() {
		var name, kind string
		if err := rows.Scan(&name, &kind); err != nil {
			rows.Close()
			return err
		}
		if !keep[name] {
			drop = append(drop, [2]string{kind, name})
		}
	}
	rows.Close()
	for _, d := range drop {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP %s IF EXISTS %s", d[0], duckdb.QuoteIdent(d[1]))); err != nil {
			return fmt.Errorf("dropping %s, which this build does not make: %w", d[1], err)
		}
	}
	return nil
}
