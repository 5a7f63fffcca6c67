package build_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/build"
	"crmwh/warehouse/models"
	"crmwh/warehouse/warehousetest"
)

// Entity a is mapped (raw s.orders), b and c are not. What needs b or c is
// left out of the published warehouse; a model that reads b as optional is
// built, reading b (and the models built only from b) as empty; tests of
// what is left out do not run.
func TestModelsThatNeedUnmappedEntitiesAreLeftOut(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, 3)
	files := fstest.MapFS{
		"sql/core/fct_b.sql": {Data: []byte("select id, 1 as n from stg_b")},
		"sql/core/fct_b.yml": {Data: []byte("columns:\n  - name: id\n    tests: [not_null]\n")},
		// Reads b as optional: built; its b-derived column is empty.
		"sql/marts/mart_ab.sql": {Data: []byte("select a.id, (select count(*) from fct_b) as b_rows from stg_a a")},
		"sql/marts/mart_ab.yml": {Data: []byte("optional: [b]\ncolumns:\n  - name: id\n    tests: [{relationships: {to: fct_b, field: id}}]\n  - name: b_rows\n    tests: [not_null]\n")},
		// Needs b or c, and has neither.
		"sql/marts/mart_bc.sql": {Data: []byte("select id from stg_b union all select id from stg_c")},
		"sql/marts/mart_bc.yml": {Data: []byte("optional: [b, c]\nneeds_one_of: [b, c]\n")},
		// Needs b through fct_b.
		"sql/marts/mart_needs_b.sql": {Data: []byte("select * from fct_b")},
	}
	o := opts(dir, files, "run1")
	o.Generate = func(ctx context.Context, db *sql.DB, raw map[string]bool) ([]*models.Model, error) {
		require.True(t, raw["raw.s_orders"])
		return []*models.Model{
			{Name: "stg_a", Path: "crmwh.yaml", Layer: "staging", Materialize: models.View, Entity: "a", SQL: "select id from raw.s_orders"},
			{Name: "stg_b", Path: "crmwh.yaml", Layer: "staging", Materialize: models.View, Entity: "b", Placeholder: true, SQL: "select cast(null as bigint) as id where false"},
			{Name: "stg_c", Path: "crmwh.yaml", Layer: "staging", Materialize: models.View, Entity: "c", Placeholder: true, SQL: "select cast(null as bigint) as id where false"},
		}, nil
	}
	res, err := build.Build(context.Background(), o)
	require.NoError(t, err)
	require.True(t, res.Published)

	var left [][]string
	for _, lo := range res.LeftOut {
		left = append(left, append([]string{lo.Name, lo.Kind}, lo.Needs...))
	}
	require.Equal(t, [][]string{
		{"fct_b", "model", "b"},
		{"mart_bc", "model", "b or c"},
		{"mart_needs_b", "model", "b"},
		{"stg_b", "model", "b"},
		{"stg_c", "model", "c"},
	}, left)
	require.Equal(t, []string{"b", "b or c"}, res.MissingEntities())
	require.Equal(t, map[string][]string{"b": {"fct_b", "mart_needs_b"}, "b or c": {"mart_bc"}}, res.LeftOutBy())

	built := map[string]string{}
	for _, m := range res.Models {
		built[m.Name] = m.Status
	}
	// fct_b and stg_b were built as inputs of mart_ab; the rest left out was not.
	require.Equal(t, map[string]string{"stg_a": "ok", "stg_b": "ok", "fct_b": "ok", "mart_ab": "ok"}, built)
	tests := map[string]string{}
	for _, tr := range res.Tests {
		tests[tr.Name] = tr.Status
	}
	require.Equal(t, map[string]string{"not_null_mart_ab_b_rows": "pass"}, tests, "tests of left-out models, or reading them, do not run")

	db := warehousetest.Open(t, filepath.Join(dir, "wh.duckdb"), true)
	require.Equal(t, [][]string{{"mart_ab"}, {"stg_a"}}, warehousetest.Rows(t, db,
		"select table_name from duckdb_tables() where schema_name = 'main' union all select view_name from duckdb_views() where schema_name = 'main' and not internal order by 1"))
	require.Equal(t, [][]string{{"0", "3"}}, warehousetest.Rows(t, db, "select max(b_rows), count(*) from mart_ab"))
	require.Equal(t, [][]string{{"fct_b", "[b]"}, {"mart_bc", "[b or c]"}, {"mart_needs_b", "[b]"}, {"stg_b", "[b]"}, {"stg_c", "[c]"}},
		warehousetest.Rows(t, db, "select name, needs::varchar from meta.left_out order by name"))
}

// A model naming an entity that does not exist is an error naming its file.
func TestOptionalNamesAnEntity(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, 1)
	files := fstest.MapFS{
		"sql/marts/mart_x.sql": {Data: []byte("select 1 as x")},
		"sql/marts/mart_x.yml": {Data: []byte("optional: [tikets]\n")},
	}
	o := opts(dir, files, "run1")
	o.Generate = func(ctx context.Context, db *sql.DB, raw map[string]bool) ([]*models.Model, error) {
		return []*models.Model{{Name: "stg_tickets", Path: "crmwh.yaml", Layer: "staging", Materialize: models.View, Entity: "tickets", Placeholder: true, SQL: "select 1 as x where false"}}, nil
	}
	_, err := build.Build(context.Background(), o)
	require.EqualError(t, err, `sql/marts/mart_x.yml: mart_x names "tikets", which is no entity (known: tickets)`)
}

// A file may not take the name of a generated staging model.
func TestAFileCannotShadowAGeneratedModel(t *testing.T) {
	dir := t.TempDir()
	fixture(t, dir, 1)
	files := fstest.MapFS{"sql/staging/stg_orders.sql": {Data: []byte("select 1 as x")}}
	o := opts(dir, files, "run1")
	o.Generate = func(ctx context.Context, db *sql.DB, raw map[string]bool) ([]*models.Model, error) {
		return []*models.Model{{Name: "stg_orders", Path: "crmwh.yaml", Layer: "staging", Materialize: models.View, Entity: "orders", SQL: "select id from raw.s_orders"}}, nil
	}
	_, err := build.Build(context.Background(), o)
	require.EqualError(t, err, "sql/staging/stg_orders.sql: model stg_orders has the name of the staging model crmwh.yaml generates for entities.orders; rename the file")
}
