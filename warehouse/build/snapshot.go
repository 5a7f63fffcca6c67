package build

import (
	"context"
	"fmt"
	"strings"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// MinKeysForDeletionGuard is how many open keys a snapshot must have before
// max_deleted_share applies.
const MinKeysForDeletionGuard = 20

// runSnapshot observes a snapshot model's query and rebuilds its type-2
// history.
//
// Every build appends observations to snap.<model>: a row per key whose
// values differ from the key's latest observation (or, with updated_at, a
// row per key and updated_at not seen before), and a tombstone for each key
// that was open and is no longer in the query (deleted in the source). The
// model's table is then rebuilt from all observations, sorted by effective
// time: consecutive identical values collapse into one period, so a change
// back to an old value opens a new period and a late-arriving change (an
// updated_at older than the latest) lands in its place in the timeline.
// Columns: the key, the tracked values, valid_from, valid_to (NULL while
// current), is_current, and closed_reason (changed, deleted_in_source).
func (b *builder) runSnapshot(ctx context.Context, m *models.Model) (int64, string, error) {
	return b.snapshot(ctx, m, false)
}

// runKeyedSnapshot observes only the keys that the changes of the
// snapshot's inputs touch (Spec.Incremental): the other keys' values are
// as they were, so observing them would add nothing.
func (b *builder) runKeyedSnapshot(ctx context.Context, m *models.Model) (int64, string, error) {
	return b.snapshot(ctx, m, true)
}

func (b *builder) snapshot(ctx context.Context, m *models.Model, keyed bool) (int64, string, error) {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	// In a keyed run, `inKeys` restricts a relation with the key columns
	// to the keys being observed; otherwise it is empty.
	inKeys := ""
	var kcols []string
	if keyed {
		defer conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.main.keys")
		var n int64
		kcols, n, err = b.prepareKeys(ctx, conn, m)
		if err != nil {
			return 0, "", err
		}
		if n == 0 {
			b.inc.set(m.Name, unchanged)
			rows, err := count(ctx, conn, duckdb.QuoteIdent(m.Name))
			return rows, "no keys to observe", err
		}
		inKeys = " SEMI JOIN keys USING (" + strings.Join(kcols, ", ") + ")"
		undo, err := b.restrictInputs(ctx, conn, m)
		if err != nil {
			return 0, "", err
		}
		prefix := "CREATE OR REPLACE TEMP TABLE __cur AS SELECT __m.* FROM (\n"
		_, err = conn.ExecContext(ctx, prefix+m.SQL+"\n) AS __m"+inKeys)
		undo()
		if err != nil {
			return 0, "", modelError(m, prefix, err)
		}
	} else if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE __cur AS\n"+m.SQL); err != nil {
		err = modelError(m, "CREATE OR REPLACE TEMP TABLE __cur AS\n", err)
		return 0, "", err
	}
	defer conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS __cur")
	rs, err := conn.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE __cur)")
	if err != nil {
		return 0, "", err
	}
	var cols []string
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			rs.Close()
			return 0, "", err
		}
		cols = append(cols, c)
	}
	rs.Close()
	isKey := map[string]bool{}
	for _, k := range m.Spec.UniqueKey {
		isKey[k] = true
	}
	var keys, attrs []string
	for _, k := range m.Spec.UniqueKey {
		if !containsStr(cols, k) {
			return 0, "", fmt.Errorf("unique_key column %s is not in the query's columns (%s)", k, strings.Join(cols, ", "))
		}
		keys = append(keys, duckdb.QuoteIdent(k))
	}
	upd := m.Spec.UpdatedAt
	if upd != "" && !containsStr(cols, upd) {
		return 0, "", fmt.Errorf("updated_at column %s is not in the query's columns (%s)", upd, strings.Join(cols, ", "))
	}
	for _, c := range cols {
		if !isKey[c] && c != upd {
			attrs = append(attrs, duckdb.QuoteIdent(c))
		}
	}
	if len(attrs) == 0 {
		return 0, "", fmt.Errorf("a snapshot needs columns to track besides its key")
	}
	K := strings.Join(keys, ", ")
	now := b.o.Now().UTC()
	eff := "CAST(? AS TIMESTAMPTZ)"
	effArgs := []any{now}
	if upd != "" {
		eff = fmt.Sprintf("CAST(coalesce(%s, ?) AS TIMESTAMPTZ)", duckdb.QuoteIdent(upd))
	}

	// One row per key (and updated_at).
	grain := K
	if upd != "" {
		grain += ", " + duckdb.QuoteIdent(upd)
	}
	var dups int64
	if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT %s FROM __cur GROUP BY %s HAVING count(*) > 1)", grain, grain)).Scan(&dups); err != nil {
		return 0, "", err
	}
	if dups > 0 {
		return 0, "", fmt.Errorf("%d values of (%s) appear more than once in the query; a snapshot needs one row per key%s", dups, grain, map[bool]string{true: " and updated_at", false: ""}[upd != ""])
	}

	snap := "snap." + duckdb.QuoteIdent(m.Name)
	exists, err := tableExists(ctx, conn, "snap", m.Name)
	if err != nil {
		return 0, "", err
	}
	if !exists || b.o.FullRefresh {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS SELECT %s, %s, %s AS _effective_at, false AS _deleted, '' AS _run_id FROM __cur WHERE false`,
			snap, K, strings.Join(attrs, ", "), strings.Replace(eff, "?", "NULL", 1))); err != nil {
			return 0, "", err
		}
	}
	join := func(a, b string) string {
		c := make([]string, len(keys))
		for i, k := range keys {
			c[i] = fmt.Sprintf("%s.%s = %s.%s", a, k, b, k)
		}
		return strings.Join(c, " AND ")
	}
	latest := fmt.Sprintf(`(SELECT * FROM %s%s QUALIFY row_number() OVER (PARTITION BY %s ORDER BY _effective_at DESC, _deleted DESC) = 1)`, snap, inKeys, K)

	// Deletions: keys open in the history and gone from the query. A keyed
	// run sees only its keys, and counts the open keys on the table.
	var open, gone int64
	if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM __cur c WHERE %s)) FROM %s AS l WHERE NOT l._deleted`,
		join("c", "l"), latest)).Scan(&open, &gone); err != nil {
		return 0, "", err
	}
	if keyed {
		if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %s WHERE is_current", duckdb.QuoteIdent(m.Name))).Scan(&open); err != nil {
			return 0, "", err
		}
	}
	limit := 0.5
	if m.Spec.MaxDeletedShare != nil {
		limit = *m.Spec.MaxDeletedShare
	}
	if open >= MinKeysForDeletionGuard && float64(gone) > limit*float64(open) {
		return 0, "", fmt.Errorf("%d of %d keys' current rows would be closed as deleted (%.0f%%, more than max_deleted_share %.0f%%): the source looks truncated; history left as it was (fix the extract, or raise max_deleted_share in %s.yml if the deletions are real)",
			gone, open, 100*float64(gone)/float64(open), 100*limit, m.Name)
	}

	if err := dropOther(ctx, conn, m.Name, "TABLE"); err != nil {
		return 0, "", err
	}
	var before []string // the model's columns, when its changes are recorded
	if keyed {
		if before, err = columns(ctx, conn, duckdb.QuoteIdent(m.Name)); err != nil {
			return 0, "", err
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE __crmwh_old AS SELECT %s FROM %s%s", strings.Join(before, ", "), duckdb.QuoteIdent(m.Name), inKeys)); err != nil {
			return 0, "", err
		}
		defer conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS temp.main.__crmwh_old")
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, "", err
	}
	defer tx.Rollback()
	attrList := strings.Join(attrs, ", ")
	cAttrs := make([]string, len(attrs))
	for i, a := range attrs {
		cAttrs[i] = "c." + a
	}
	lAttrs := make([]string, len(attrs))
	for i, a := range attrs {
		lAttrs[i] = "l." + a
	}
	cKeys := make([]string, len(keys))
	for i, k := range keys {
		cKeys[i] = "c." + k
	}
	var insert string
	if upd == "" {
		// A new observation when the values differ from the latest one.
		insert = fmt.Sprintf(`INSERT INTO %s SELECT %s, %s, %s, false, ? FROM __cur c LEFT JOIN %s AS l ON %s
			WHERE l._effective_at IS NULL OR l._deleted OR (row(%s) IS DISTINCT FROM row(%s))`,
			snap, strings.Join(cKeys, ", "), strings.Join(cAttrs, ", "), eff, latest, join("c", "l"),
			strings.Join(cAttrs, ", "), strings.Join(lAttrs, ", "))
	} else {
		// A new observation for every (key, updated_at) not seen before.
		insert = fmt.Sprintf(`INSERT INTO %s SELECT %s, %s, %s, false, ? FROM __cur c
			WHERE NOT EXISTS (SELECT 1 FROM %s o WHERE %s AND o._effective_at = %s AND NOT o._deleted)`,
			snap, strings.Join(cKeys, ", "), strings.Join(cAttrs, ", "), strings.ReplaceAll(eff, duckdb.QuoteIdent(upd), "c."+duckdb.QuoteIdent(upd)),
			snap, join("o", "c"), strings.ReplaceAll(eff, duckdb.QuoteIdent(upd), "c."+duckdb.QuoteIdent(upd)))
	}
	args := append(append([]any{}, effArgs...), b.o.RunID)
	if upd != "" {
		args = []any{now, b.o.RunID, now}
	}
	res, err := tx.ExecContext(ctx, insert, args...)
	if err != nil {
		return 0, "", fmt.Errorf("recording observations: %w", err)
	}
	observed, _ := res.RowsAffected()
	nulls := make([]string, len(attrs))
	for i, a := range attrs {
		nulls[i] = "NULL AS " + a
	}
	res, err = tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s SELECT %s, %s, CAST(? AS TIMESTAMPTZ), true, ? FROM %s AS l
		WHERE NOT l._deleted AND NOT EXISTS (SELECT 1 FROM __cur c WHERE %s)`,
		snap, strings.Join(prefix("l.", keys), ", "), strings.Join(nulls, ", "), latest, join("c", "l")), now, b.o.RunID)
	if err != nil {
		return 0, "", fmt.Errorf("recording deletions: %w", err)
	}
	deleted, _ := res.RowsAffected()

	// Rebuild the periods from every observation (of the keys observed,
	// in a keyed run).
	periods := fmt.Sprintf(`WITH o AS (
    SELECT *, row(%s) AS _vals FROM %s%s
),
changes AS (
    SELECT *, lag(_vals) OVER w AS _prev_vals, lag(_deleted) OVER w AS _prev_deleted
    FROM o
    WINDOW w AS (PARTITION BY %s ORDER BY _effective_at, _deleted)
),
starts AS (
    SELECT * FROM changes
    WHERE _prev_deleted IS NULL OR _prev_deleted <> _deleted OR (NOT _deleted AND _vals IS DISTINCT FROM _prev_vals)
),
periods AS (
    SELECT *, lead(_effective_at) OVER w AS _next_at, lead(_deleted) OVER w AS _next_deleted
    FROM starts
    WINDOW w AS (PARTITION BY %s ORDER BY _effective_at, _deleted)
)
SELECT %s, %s,
    _effective_at AS valid_from,
    _next_at AS valid_to,
    _next_at IS NULL AS is_current,
    CASE WHEN _next_at IS NULL THEN NULL WHEN _next_deleted THEN 'deleted_in_source' ELSE 'changed' END AS closed_reason
FROM periods
WHERE NOT _deleted
ORDER BY %s, valid_from`,
		attrList, snap, inKeys, K, K, K, attrList, K)
	if keyed {
		conds := make([]string, len(kcols))
		for i, k := range kcols {
			conds[i] = fmt.Sprintf("%s.%s = keys.%s", duckdb.QuoteIdent(m.Name), k, k)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s USING keys WHERE %s", duckdb.QuoteIdent(m.Name), strings.Join(conds, " AND "))); err != nil {
			return 0, "", fmt.Errorf("rebuilding history: %w", err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) %s", duckdb.QuoteIdent(m.Name), strings.Join(before, ", "), periods)); err != nil {
			return 0, "", fmt.Errorf("rebuilding history: %w", err)
		}
	} else if _, err := tx.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TABLE %s AS\n%s", duckdb.QuoteIdent(m.Name), periods)); err != nil {
		return 0, "", fmt.Errorf("rebuilding history: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, "", err
	}
	if keyed {
		changed, err := b.recordChanges(ctx, conn, m.Name, "temp.main.__crmwh_old",
			"(SELECT "+strings.Join(before, ", ")+" FROM "+duckdb.QuoteIdent(m.Name)+inKeys+")", before)
		if err != nil {
			return 0, "", err
		}
		k := delta
		if changed == 0 {
			k = unchanged
		}
		b.inc.set(m.Name, k)
	}
	rows, err := count(ctx, conn, duckdb.QuoteIdent(m.Name))
	return rows, fmt.Sprintf("%d changes, %d deletions observed", observed, deleted), err
}

func prefix(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
