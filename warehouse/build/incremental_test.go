package build_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/build"
	"crmwh/warehouse/models"
)

// The runner's incremental build on a small project: a staging model fed
// by the lake, a fact incremental by key, a summary incremental by key
// over it, a table that reads only a constant, and a whole-population
// table. Each build after new data redoes only what the new rows touch,
// and ends where a full build ends.
func TestIncrementalBuildsRedoOnlyWhatChanged(t *testing.T) {
	fs := files(map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events",
		"sql/staging/s/stg_s__events.yml": "materialize: incremental\nunique_key: [id]\n",
		"sql/core/fct_events.sql":         "select id, customer, amount * 2 as doubled from stg_s__events",
		"sql/core/fct_events.yml": `materialize: incremental
unique_key: [id]
incremental:
  keys: select id from changes.stg_s__events
  where:
    stg_s__events: id in (select id from keys)
columns:
  - name: id
    tests: [unique, not_null]
`,
		"sql/core/by_customer.sql": "select customer, count(*) as events, sum(doubled) as total from fct_events group by 1",
		"sql/core/by_customer.yml": `materialize: incremental
unique_key: [customer]
incremental:
  keys: select customer from changes.fct_events
  where:
    fct_events: customer in (select customer from keys)
`,
		"sql/core/constants.sql":    "select 1 as k",
		"sql/core/constants.yml":    "columns:\n  - name: k\n    tests: [unique]\n",
		"sql/marts/mart_shares.sql": "select customer, total / sum(total) over () as share from by_customer",
	})
	dir := t.TempDir()
	details := func(res build.Result) map[string]string {
		out := map[string]string{}
		for _, m := range res.Models {
			out[m.Name] = m.Detail
		}
		return out
	}

	addRows(t, dir, row(1, "a", 100), row(2, "b", 200), row(3, "a", 300))
	res, err := buildWith(t, dir, fs, nil)
	require.NoError(t, err)
	require.Len(t, res.Tests, 3)

	// Nothing new: every model is kept, no test runs again.
	res, err = buildWith(t, dir, fs, nil)
	require.NoError(t, err)
	d := details(res)
	for _, m := range []string{"fct_events", "by_customer", "constants", "mart_shares"} {
		require.Equal(t, "kept: nothing it reads changed", d[m], m)
	}
	require.Empty(t, res.Tests)
	require.Equal(t, 3, res.TestsKept)

	// A new event of customer b and a new version of event 1.
	addRows(t, dir, row(4, "b", 50), row(1, "a", 150))
	res, err = buildWith(t, dir, fs, nil)
	require.NoError(t, err)
	d = details(res)
	require.Equal(t, "1 new lake parts: 2 rows merged (1 replaced)", d["stg_s__events"])
	require.Equal(t, "2 keys recomputed: 1 rows out, 2 in, 3 changed", d["fct_events"])
	require.Equal(t, "2 keys recomputed: 2 rows out, 2 in, 4 changed", d["by_customer"])
	require.Equal(t, "kept: nothing it reads changed", d["constants"])
	require.Contains(t, d["mart_shares"], "rebuilt: inputs changed: by_customer")
	require.Len(t, res.Tests, 2, "the tests of fct_events run again, not those of constants")
	require.Equal(t, 1, res.TestsKept)
	require.Equal(t, [][]string{{"a", "2", "9.00"}, {"b", "2", "5.00"}}, rows(t, dir, "select customer, events, total from by_customer order by 1"))
	inc := rows(t, dir, "select customer, round(share, 6) from mart_shares order by 1")

	// The same lake built anew gives the same tables.
	res, err = buildWith(t, dir, fs, func(o *build.Options) { o.Full = true })
	require.NoError(t, err)
	require.Equal(t, "", details(res)["fct_events"])
	require.Equal(t, [][]string{{"a", "2", "9.00"}, {"b", "2", "5.00"}}, rows(t, dir, "select customer, events, total from by_customer order by 1"))
	require.Equal(t, inc, rows(t, dir, "select customer, round(share, 6) from mart_shares order by 1"))
	require.Equal(t, [][]string{{"0"}}, rows(t, dir, "select count(*) from duckdb_tables() where schema_name = 'changes'"), "the changes are not published")
}

// A keys query that returns a column outside unique_key is refused with
// its file; one that reads the changes of a relation the model does not
// read, directly or through views, is refused when the project loads.
func TestKeysQueriesAreChecked(t *testing.T) {
	dir := t.TempDir()
	addRows(t, dir, row(1, "a", 100))
	base := map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events",
		"sql/staging/s/stg_s__events.yml": "materialize: incremental\nunique_key: [id]\n",
		"sql/core/fct_events.sql":         "select id, customer from stg_s__events",
		"sql/core/other.sql":              "select 1 as x",
	}
	with := func(yml string) map[string]string {
		m := map[string]string{"sql/core/fct_events.yml": yml}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	_, err := buildWith(t, dir, files(with("materialize: incremental\nunique_key: [id]\nincremental:\n  keys: select 1 from changes.other\n")), nil)
	require.ErrorContains(t, err, "incremental.keys of fct_events reads changes.other, but fct_events reads no other")

	_, err = buildWith(t, dir, files(with("materialize: incremental\nunique_key: [id]\nincremental:\n  keys: select customer from changes.stg_s__events\n")), nil)
	require.NoError(t, err)
	addRows(t, dir, row(2, "b", 100))
	_, err = buildWith(t, dir, files(with("materialize: incremental\nunique_key: [id]\nincremental:\n  keys: select customer from changes.stg_s__events\n")), nil)
	require.ErrorContains(t, err, `incremental.keys of fct_events returns column "customer", which is not in unique_key (id)`)

	// The changes of what a view reads, whatever the order of the files.
	m := with("materialize: table\n")
	m["sql/core/a_events.sql"] = "select id, customer from z_events"
	m["sql/core/a_events.yml"] = "materialize: incremental\nunique_key: [id]\nincremental:\n  keys: select id from changes.stg_s__events\n"
	m["sql/core/z_events.sql"] = "select id, customer from stg_s__events"
	m["sql/core/z_events.yml"] = "materialize: view\n"
	_, err = buildWith(t, dir, files(m), nil)
	require.NoError(t, err)
}

// A table left out for an unmapped entity but read by a published model
// (scaffolding) is set aside in the published warehouse, so the next build
// knows it did not change: the model reading it is recomputed by key
// instead of rebuilt in full. When the entity gets mapped the table is
// published and the copy set aside goes.
func TestScaffoldingIsKeptBetweenBuilds(t *testing.T) {
	fs := files(map[string]string{
		"sql/staging/s/stg_s__events.sql": "select id, customer, amount from raw.s_events",
		"sql/staging/s/stg_s__events.yml": "materialize: incremental\nunique_key: [id]\n",
		"sql/core/fct_t.sql":              "select customer, count(*) as tickets from stg_t group by 1",
		"sql/marts/mart_c.sql": `select e.customer, sum(e.amount) as total, coalesce(max(t.tickets), 0) as tickets
from stg_s__events e left join fct_t t using (customer) group by 1`,
		"sql/marts/mart_c.yml": `optional: [t]
materialize: incremental
unique_key: [customer]
incremental:
  keys: select customer from changes.stg_s__events union select customer from changes.fct_t
  where:
    stg_s__events: customer in (select customer from keys)
    fct_t: customer in (select customer from keys)
`,
	})
	placeholder := "select cast(null as varchar) as customer where false"
	entityT := func(query string, isPlaceholder bool) func(*build.Options) {
		return func(o *build.Options) {
			o.Generate = func(ctx context.Context, db *sql.DB, raw map[string]bool) ([]*models.Model, error) {
				return []*models.Model{{Name: "stg_t", Path: "crmwh.yaml", Layer: "staging", Materialize: models.View, Entity: "t", Placeholder: isPlaceholder, SQL: query}}, nil
			}
		}
	}
	unmapped := entityT(placeholder, true)
	dir := t.TempDir()
	relations := func() [][]string {
		return rows(t, dir, `select schema_name, table_name from duckdb_tables() where schema_name in ('main', 'scaffold')
			union all select schema_name, view_name from duckdb_views() where schema_name = 'main' and not internal order by 1, 2`)
	}

	addRows(t, dir, row(1, "a", 100), row(2, "b", 200))
	res, err := buildWith(t, dir, fs, unmapped)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"stg_s__events": "ok", "stg_t": "ok", "fct_t": "ok", "mart_c": "ok"}, statuses(res))
	require.Equal(t, [][]string{{"main", "mart_c"}, {"main", "stg_s__events"}, {"scaffold", "fct_t"}}, relations(),
		"what needs t is not published; the table built as an input is set aside")

	addRows(t, dir, row(3, "a", 50))
	res, err = buildWith(t, dir, fs, unmapped)
	require.NoError(t, err)
	d := map[string]string{}
	for _, m := range res.Models {
		d[m.Name] = m.Detail
	}
	require.Equal(t, "kept: nothing it reads changed", d["fct_t"])
	require.Equal(t, "1 keys recomputed: 1 rows out, 1 in, 2 changed", d["mart_c"])
	require.Equal(t, [][]string{{"a", "1.50", "0"}, {"b", "2.00", "0"}}, rows(t, dir, "select customer, total, tickets from mart_c order by 1"))
	require.Equal(t, [][]string{{"main", "mart_c"}, {"main", "stg_s__events"}, {"scaffold", "fct_t"}}, relations())

	// A selected build reads the scaffolding too.
	addRows(t, dir, row(4, "c", 10))
	_, err = buildWith(t, dir, fs, func(o *build.Options) { unmapped(o); o.Select = []string{"stg_s__events+"} })
	require.NoError(t, err)
	require.Equal(t, [][]string{{"a", "1.50", "0"}, {"b", "2.00", "0"}, {"c", "0.10", "0"}}, rows(t, dir, "select customer, total, tickets from mart_c order by 1"))
	require.Equal(t, [][]string{{"main", "mart_c"}, {"main", "stg_s__events"}, {"scaffold", "fct_t"}}, relations())

	// Tickets get mapped (here: the events of 1.00 or more): fct_t is
	// published, mart_c rebuilt with it, the copy set aside dropped.
	mapped := entityT("select customer from raw.s_events where amount >= 1", false)
	res, err = buildWith(t, dir, fs, mapped)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"main", "fct_t"}, {"main", "mart_c"}, {"main", "stg_s__events"}, {"main", "stg_t"}}, relations())
	require.Equal(t, [][]string{{"0"}}, rows(t, dir, "select count(*) from duckdb_schemas() where schema_name = 'scaffold'"), "nothing is left out: no scaffold schema")
	want := [][]string{{"a", "1.50", "1"}, {"b", "2.00", "1"}, {"c", "0.10", "0"}}
	require.Equal(t, want, rows(t, dir, "select customer, total, tickets from mart_c order by 1"))
	_, err = buildWith(t, dir, fs, func(o *build.Options) { mapped(o); o.Full = true })
	require.NoError(t, err)
	require.Equal(t, want, rows(t, dir, "select customer, total, tickets from mart_c order by 1"))
}
