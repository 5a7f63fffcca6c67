package build

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// builder runs the nodes of one build.
type builder struct {
	o         Options
	db        *sql.DB
	lake      *lake.Lake
	manifests []*lake.StreamManifest
	graph     *graph
	log       *slog.Logger
	// views guards the raw views: an incremental model points them at the
	// new lake parts while it runs, so it runs alone.
	views sync.RWMutex
	// inc is the state of an incremental build (nil in a full build).
	inc *incState
}

// runAll builds the selected nodes in dependency order, Workers at a time.
// A failed node skips the nodes downstream of it, and only those.
func (b *builder) runAll(ctx context.Context, run map[string]bool) []ModelResult {
	g := b.graph
	pos := map[string]int{}
	for i, n := range g.order {
		pos[n] = i
	}
	waiting := map[string]int{} // unfinished selected deps
	for name := range run {
		for _, d := range g.nodes[name].deps {
			if run[d] {
				waiting[name]++
			}
		}
	}
	results := map[string]*ModelResult{}
	var ready []string
	for name := range run {
		if waiting[name] == 0 {
			ready = append(ready, name)
		}
	}
	type done struct {
		name string
		res  ModelResult
	}
	finished := make(chan done)
	running := 0
	failedRoot := map[string]string{}
	var order []string
	for len(ready) > 0 || running > 0 {
		sort.Slice(ready, func(i, j int) bool { return pos[ready[i]] < pos[ready[j]] })
		for len(ready) > 0 && running < b.o.Workers {
			name := ready[0]
			ready = ready[1:]
			n := g.nodes[name]
			r := ModelResult{Name: name, Path: n.path(), Materialize: n.materialize()}
			for _, d := range n.deps {
				if root, bad := failedRoot[d]; bad {
					r.Status, r.Error = "skipped", "upstream model "+root+" failed"
					failedRoot[name] = root
					break
				}
			}
			if r.Status == "skipped" || ctx.Err() != nil {
				if r.Status == "" {
					r.Status, r.Error = "skipped", "build cancelled"
				}
				results[name] = &r
				order = append(order, name)
				if b.o.Progress != nil {
					b.o.Progress(r)
				}
				for _, k := range n.kids {
					if run[k] {
						if waiting[k]--; waiting[k] == 0 {
							ready = append(ready, k)
						}
					}
				}
				continue
			}
			running++
			go func(n *node, r ModelResult) {
				t0, c0 := time.Now(), processCPU()
				var err error
				r.Rows, r.Detail, err = b.runNode(ctx, n)
				r.Duration = time.Since(t0)
				r.CPU = processCPU() - c0
				if err != nil {
					r.Status, r.Error = "failed", err.Error()
					var me *ModelError
					if errors.As(err, &me) {
						r.Line = me.Line
					}
				} else {
					r.Status = "ok"
				}
				finished <- done{n.name, r}
			}(n, r)
		}
		if running == 0 {
			continue
		}
		d := <-finished
		running--
		r := d.res
		results[d.name] = &r
		order = append(order, d.name)
		if r.Status == "failed" {
			failedRoot[d.name] = d.name
			b.log.Error("model failed", "run_id", b.o.RunID, "model", d.name, "file", r.Path, "err", r.Error)
		} else {
			b.log.Info("model built", "run_id", b.o.RunID, "model", d.name, "rows", r.Rows, "detail", r.Detail, "duration", r.Duration)
		}
		if b.o.Progress != nil {
			b.o.Progress(r)
		}
		for _, k := range g.nodes[d.name].kids {
			if run[k] {
				if waiting[k]--; waiting[k] == 0 {
					ready = append(ready, k)
				}
			}
		}
	}
	out := make([]ModelResult, 0, len(order))
	for _, name := range order {
		out = append(out, *results[name])
	}
	return out
}

// runNode builds one node, or brings it up to date in an incremental
// build, and returns its row count (-1 for views) and a short detail
// (e.g. "12 new parts merged").
func (b *builder) runNode(ctx context.Context, n *node) (int64, string, error) {
	if b.inc != nil {
		return b.runIncrementalNode(ctx, n)
	}
	return b.buildNode(ctx, n)
}

// processCPU is the CPU time the process has used so far (user and
// system, every thread: with one worker, what a node costs).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// buildNode builds one node in full (an incremental model fed by the lake
// takes in its new parts).
func (b *builder) buildNode(ctx context.Context, n *node) (int64, string, error) {
	if n.step != nil {
		b.views.RLock()
		defer b.views.RUnlock()
		conn, err := b.db.Conn(ctx)
		if err != nil {
			return 0, "", err
		}
		defer conn.Close()
		rows, err := n.step.Run(withLogger(ctx, b.log), conn)
		return rows, "", err
	}
	m := n.model
	switch {
	case m.Materialize == models.Incremental && m.Spec.Incremental != nil:
		// Incremental by key: in a full build, a table like any other.
	case m.Materialize == models.Incremental:
		b.views.Lock()
		defer b.views.Unlock()
		return b.runIncremental(ctx, m)
	case m.Materialize == models.Snapshot:
		b.views.RLock()
		defer b.views.RUnlock()
		return b.runSnapshot(ctx, m)
	}
	b.views.RLock()
	defer b.views.RUnlock()
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	kind := "TABLE"
	if m.Materialize == models.View {
		kind = "VIEW"
	}
	if err := dropOther(ctx, conn, m.Name, kind); err != nil {
		return 0, "", err
	}
	prefix := fmt.Sprintf("CREATE OR REPLACE %s %s AS\n", kind, duckdb.QuoteIdent(m.Name))
	if _, err := conn.ExecContext(ctx, prefix+m.SQL); err != nil {
		return 0, "", modelError(m, prefix, err)
	}
	if kind == "VIEW" {
		return -1, "", nil
	}
	n2, err := count(ctx, conn, m.Name)
	return n2, "", err
}

// dropOther drops a relation of the other kind with the model's name (a
// model that changed from view to table, or back).
func dropOther(ctx context.Context, conn *sql.Conn, name, kind string) error {
	other := "VIEW"
	if kind == "VIEW" {
		other = "TABLE"
	}
	var n int
	q := "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?"
	if other == "VIEW" {
		q = "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'main' AND view_name = ? AND NOT internal"
	}
	if err := conn.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		_, err := conn.ExecContext(ctx, fmt.Sprintf("DROP %s %s", other, duckdb.QuoteIdent(name)))
		return err
	}
	return nil
}

func count(ctx context.Context, conn *sql.Conn, rel string) (int64, error) {
	var n int64
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+rel).Scan(&n)
	return n, err
}

func tableExists(ctx context.Context, conn *sql.Conn, schema, name string) (bool, error) {
	var n int
	err := conn.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", schema, name).Scan(&n)
	return n > 0, err
}

// viewClosure returns the raw relations a model reads directly or through
// models that are views (which read the raw views at query time), and a
// hash of the SQL involved: when it changes, the model is rebuilt in full.
func (b *builder) viewClosure(m *models.Model) ([]string, string) {
	srcs := map[string]bool{}
	h := sha256.New()
	var walk func(m *models.Model)
	seen := map[string]bool{}
	walk = func(m *models.Model) {
		if seen[m.Name] {
			return
		}
		seen[m.Name] = true
		fmt.Fprintf(h, "%s\n%s\n%s\n", m.Name, m.Materialize, m.SQL)
		for _, s := range m.Sources {
			srcs[s] = true
		}
		for _, d := range m.Deps {
			if dn := b.graph.nodes[d]; dn != nil && dn.model != nil && dn.model.Materialize == models.View {
				walk(dn.model)
			}
		}
	}
	walk(m)
	fmt.Fprintf(h, "%v", m.Spec.UniqueKey)
	out := make([]string, 0, len(srcs))
	for s := range srcs {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, hex.EncodeToString(h.Sum(nil))[:16]
}

// parts lists the committed part paths behind a raw relation.
func (b *builder) parts(rel string) (*lake.StreamManifest, []lake.Part, bool) {
	for _, m := range b.manifests {
		base := "raw." + m.Source + "_" + m.Stream
		switch rel {
		case base:
			return m, m.Parts, false
		case base + "__quarantine":
			return m, m.Quarantine, true
		}
	}
	return nil, nil, false
}

// runIncremental builds an incremental model: in full the first time (or
// when its SQL changed, or on --full-refresh), else from only the lake
// parts added since its last build, appended or merged by unique_key.
func (b *builder) runIncremental(ctx context.Context, m *models.Model) (rows int64, detail string, err error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	srcs, hash := b.viewClosure(m)
	exists, err := tableExists(ctx, conn, "main", m.Name)
	if err != nil {
		return 0, "", err
	}
	var stateHash sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT any_value(sql_hash) FROM meta.incremental_state WHERE model = ?", m.Name).Scan(&stateHash); err != nil {
		return 0, "", err
	}
	done := map[string]bool{}
	if exists && stateHash.Valid && stateHash.String == hash && !b.o.FullRefresh {
		rs, err := conn.QueryContext(ctx, "SELECT part_path FROM meta.incremental_state WHERE model = ?", m.Name)
		if err != nil {
			return 0, "", err
		}
		for rs.Next() {
			var p string
			if err := rs.Scan(&p); err != nil {
				rs.Close()
				return 0, "", err
			}
			done[p] = true
		}
		rs.Close()
	} else {
		exists = false
	}

	type newParts struct {
		rel   string
		m     *lake.StreamManifest
		parts []lake.Part
		quar  bool
	}
	var deltas []newParts
	var all []string
	nNew := 0
	live := map[string]bool{}
	for _, s := range srcs {
		man, ps, quar := b.parts(s)
		var fresh []lake.Part
		for _, p := range ps {
			all = append(all, s+"\x00"+p.Path)
			live[p.Path] = true
			if !done[p.Path] {
				fresh = append(fresh, p)
			}
		}
		nNew += len(fresh)
		deltas = append(deltas, newParts{s, man, fresh, quar})
	}
	// A part folded in before and gone now (a reload replaced the
	// stream): its rows cannot be taken out by key, so build in full.
	for p := range done {
		if !live[p] {
			exists = false
		}
	}
	record := func() error {
		if _, err := conn.ExecContext(ctx, "DELETE FROM meta.incremental_state WHERE model = ?", m.Name); err != nil {
			return err
		}
		for _, a := range all {
			rel, p, _ := strings.Cut(a, "\x00")
			if _, err := conn.ExecContext(ctx, "INSERT INTO meta.incremental_state VALUES (?, ?, ?, ?)", m.Name, hash, rel, p); err != nil {
				return err
			}
		}
		return nil
	}
	name := duckdb.QuoteIdent(m.Name)
	if !exists {
		if err := dropOther(ctx, conn, m.Name, "TABLE"); err != nil {
			return 0, "", err
		}
		prefix := fmt.Sprintf("CREATE OR REPLACE TABLE %s AS\n", name)
		if _, err := conn.ExecContext(ctx, prefix+m.SQL); err != nil {
			return 0, "", modelError(m, prefix, err)
		}
		if err := record(); err != nil {
			return 0, "", err
		}
		if b.inc != nil {
			b.inc.set(m.Name, rebuilt)
		}
		rows, err := count(ctx, conn, name)
		return rows, "full build", err
	}
	if nNew == 0 {
		if b.inc != nil {
			b.inc.set(m.Name, unchanged)
		}
		rows, err := count(ctx, conn, name)
		return rows, "up to date", err
	}

	// Point the raw views at the new parts only, run the model into a
	// temporary table, and put the views back whatever happens.
	restore := func() error {
		var firstErr error
		for _, d := range deltas {
			if d.m == nil {
				continue
			}
			for _, v := range b.lake.RawViews(d.m) {
				if "raw."+v.Name == d.rel {
					if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL)); err != nil && firstErr == nil {
						firstErr = err
					}
				}
			}
		}
		return firstErr
	}
	defer func() {
		if rerr := restore(); rerr != nil && err == nil {
			err = fmt.Errorf("restoring raw views: %w", rerr)
		}
	}()
	for _, d := range deltas {
		if d.m == nil {
			continue
		}
		sub := *d.m
		if d.quar {
			sub.Quarantine = d.parts
		} else {
			sub.Parts = d.parts
		}
		for _, v := range b.lake.RawViews(&sub) {
			if "raw."+v.Name == d.rel {
				if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL)); err != nil {
					return 0, "", err
				}
			}
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE __delta AS\n"+m.SQL); err != nil {
		return 0, "", modelError(m, "CREATE OR REPLACE TEMP TABLE __delta AS\n", err)
	}
	defer conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS __delta")
	var added int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM __delta").Scan(&added); err != nil {
		return 0, "", err
	}
	keys := keyColumns(m)
	kl := strings.Join(keys, ", ")
	cols, err := columns(ctx, conn, name)
	if err != nil {
		return 0, "", err
	}
	list := strings.Join(cols, ", ")
	if m.MergeOrder != "" {
		// Of a key's kept row and its new one, keep the one that comes
		// first in the model's own order (a full build's choice).
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE __delta AS SELECT %[1]s FROM (
	SELECT %[1]s, 1 AS __crmwh_new FROM __delta
	UNION ALL SELECT %[1]s, 0 FROM %[2]s SEMI JOIN (SELECT DISTINCT %[3]s FROM __delta) USING (%[3]s)
) QUALIFY row_number() OVER (PARTITION BY %[3]s ORDER BY %[4]s, __crmwh_new DESC) = 1`, list, name, kl, m.MergeOrder)); err != nil {
			return 0, "", fmt.Errorf("merging new rows in the model's order: %w", err)
		}
	}
	if b.inc != nil {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE __crmwh_old AS SELECT %s FROM %s SEMI JOIN (SELECT DISTINCT %s FROM __delta) USING (%s)", list, name, kl, kl)); err != nil {
			return 0, "", err
		}
		defer conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.main.__crmwh_old")
		changed, err := b.recordChanges(ctx, conn, m.Name, "temp.main.__crmwh_old", "temp.main.__delta", cols)
		if err != nil {
			return 0, "", err
		}
		k := delta
		if changed == 0 {
			k = unchanged
		}
		b.inc.set(m.Name, k)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, "", err
	}
	defer tx.Rollback()
	conds := make([]string, len(keys))
	for i, k := range keys {
		conds[i] = fmt.Sprintf("%s.%s = d.%s", name, k, k)
	}
	del, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s USING (SELECT DISTINCT %s FROM __delta) AS d WHERE %s",
		name, kl, strings.Join(conds, " AND ")))
	if err != nil {
		return 0, "", err
	}
	replaced, _ := del.RowsAffected()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM __delta", name, list, list)); err != nil {
		return 0, "", err
	}
	if err := tx.Commit(); err != nil {
		return 0, "", err
	}
	if err := record(); err != nil {
		return 0, "", err
	}
	rows, err = count(ctx, conn, name)
	return rows, fmt.Sprintf("%d new lake parts: %d rows merged (%d replaced)", nNew, added, replaced), err
}

// ModelError is DuckDB's error for a model's SQL, with its line numbers
// (DuckDB's "LINE n:") made lines of the model's file.
type ModelError struct {
	// Line is the line of the model's file the error points at (0 when
	// DuckDB did not say).
	Line int
	Err  error
	msg  string
}

func (e *ModelError) Error() string { return e.msg }
func (e *ModelError) Unwrap() error { return e.Err }

var duckdbLineRE = regexp.MustCompile(`(?m)^LINE (\d+):`)

// modelError makes err, from running prefix+m.SQL, a *ModelError.
func modelError(m *models.Model, prefix string, err error) error {
	shift := strings.Count(prefix, "\n") - (m.Line - 1)
	me := &ModelError{Err: err}
	me.msg = duckdbLineRE.ReplaceAllStringFunc(err.Error(), func(s string) string {
		n, _ := strconv.Atoi(duckdbLineRE.FindStringSubmatch(s)[1])
		line := n - shift
		if me.Line == 0 {
			me.Line = line
		}
		// Keep the width, so that DuckDB's caret still points at the spot.
		out := fmt.Sprintf("LINE %d:", line)
		if pad := len(s) - len(out); pad > 0 {
			out += strings.Repeat(" ", pad)
		}
		return out
	})
	return me
}
