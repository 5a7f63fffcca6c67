package models_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/models"
	"crmwh/warehouse/warehousetest"
)

func names(ms []*models.Model) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

func TestReferencesUseDuckDBsParser(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	cases := []struct {
		name, sql string
		want      []string
	}{
		{"join and schema", "select * from a join raw.b_c using (id)", []string{"a", "raw.b_c"}},
		{"cte is not a table", "with x as (select * from a) select * from x join y on true", []string{"a", "y"}},
		{"subquery and exists", "select (select max(v) from c) from a where exists (select 1 from d where d.id = a.id)", []string{"a", "c", "d"}},
		{"union", "select 1 from a union all select 1 from b", []string{"a", "b"}},
		{"case-insensitive", "SELECT * FROM Dim_Customer", []string{"dim_customer"}},
		{"table function is not a table", "select * from range(3)", nil},
		{"string mentioning a table", "select 'from fake' as s from a", []string{"a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refs, err := models.References(context.Background(), db, c.sql)
			require.NoError(t, err)
			var got []string
			for _, r := range refs {
				got = append(got, r.String())
			}
			require.Equal(t, c.want, got)
		})
	}
	_, err := models.References(context.Background(), db, "select * fro a")
	require.ErrorContains(t, err, "syntax error")
	_, err = models.References(context.Background(), db, "select 1; select 2")
	require.ErrorContains(t, err, "exactly one SELECT")
}

// Table functions that read outside the warehouse are listed (an
// incremental build rebuilds their models every time); pure ones are not.
func TestTableFunctionsThatReadOutside(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	for q, want := range map[string][]string{
		"select * from range(3) join unnest([1, 2]) on true": nil,
		"select * from a": nil,
		"with f as (select * from read_csv('x.csv')) select * from f join READ_PARQUET('y') on true": {"read_csv", "read_parquet"},
		"select * from a where id in (select id from read_json('z.json'))":                           {"read_json"},
	} {
		got, err := models.TableFunctions(context.Background(), db, q)
		require.NoError(t, err)
		if want == nil {
			require.Empty(t, got, q)
		} else {
			require.Equal(t, want, got, q)
		}
	}
}

func project(files map[string]string) fstest.MapFS {
	fs := fstest.MapFS{}
	for k, v := range files {
		fs[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fs
}

func TestDependencyOrder(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	fs := project(map[string]string{
		"sql/marts/mart_a.sql":       "select * from fct_x join dim_y using (id)",
		"sql/core/fct_x.sql":         "select * from stg_s__x",
		"sql/core/dim_y.sql":         "-- @materialize: view\nselect * from stg_s__x",
		"sql/staging/s/stg_s__x.sql": "select * from raw.s_x;",
		"sql/marts/mart_b.sql":       "select 1 as one",
		"sql/README.md":              "not a model",
	})
	ms, err := models.Discover(fs, "sql")
	require.NoError(t, err)
	require.NoError(t, models.Resolve(context.Background(), db, ms, map[string]bool{"raw.s_x": true}, nil))
	ordered, err := models.Order(ms)
	require.NoError(t, err)
	require.Equal(t, []string{"stg_s__x", "dim_y", "fct_x", "mart_a", "mart_b"}, names(ordered))
	byName := map[string]*models.Model{}
	for _, m := range ms {
		byName[m.Name] = m
	}
	require.Equal(t, models.View, byName["stg_s__x"].Materialize, "staging defaults to view")
	require.Equal(t, models.View, byName["dim_y"].Materialize, "header overrides")
	require.Equal(t, models.Table, byName["fct_x"].Materialize)
	require.Equal(t, []string{"raw.s_x"}, byName["stg_s__x"].Sources)
	require.Equal(t, "select * from raw.s_x", byName["stg_s__x"].SQL, "trailing semicolon dropped")
}

func TestCycleNamesTheFiles(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	ms, err := models.Discover(project(map[string]string{
		"sql/core/a.sql": "select * from b",
		"sql/core/b.sql": "select * from c",
		"sql/core/c.sql": "select * from a",
	}), "sql")
	require.NoError(t, err)
	require.NoError(t, models.Resolve(context.Background(), db, ms, nil, nil))
	_, err = models.Order(ms)
	require.EqualError(t, err, "models form a cycle: a → b → c → a (files sql/core/a.sql, sql/core/b.sql, sql/core/c.sql)")
}

func TestMissingReferenceAndBadFilesAreErrors(t *testing.T) {
	db := warehousetest.Open(t, "", false)
	ms, err := models.Discover(project(map[string]string{
		"sql/core/a.sql": "select * from nowhere",
		"sql/core/b.sql": "select * from raw.unknown_stream",
	}), "sql")
	require.NoError(t, err)
	err = models.Resolve(context.Background(), db, ms, map[string]bool{"raw.s_x": true}, nil)
	require.EqualError(t, err, "sql/core/a.sql: model a reads nowhere, which is neither a model nor a lake table (raw.<source>_<stream>)\n"+
		"sql/core/b.sql: model b reads raw.unknown_stream, which is neither a model nor a lake table (raw.<source>_<stream>)")

	// A parse error names the line of the file (leading blank lines
	// count) and the column.
	ms, err = models.Discover(project(map[string]string{
		"sql/core/c.sql": "\n\n-- c\nselect a,\n  ,, b\nfrom t\n",
	}), "sql")
	require.NoError(t, err)
	require.Equal(t, 3, ms[0].Line, "the comment on line 3 starts the SQL")
	err = models.Resolve(context.Background(), db, ms, nil, nil)
	require.EqualError(t, err, `sql/core/c.sql:5: cannot parse: syntax error at or near "," (column 3)`)

	_, err = models.Discover(project(map[string]string{
		"sql/core/Bad-Name.sql": "select 1",
		"sql/core/x.sql":        "-- @materialize: sometimes\nselect 1",
		"sql/marts/x.sql":       "select 2",
		"sql/core/y.sql":        "-- @colour: blue\nselect 1",
	}), "sql")
	require.Error(t, err)
	require.Contains(t, err.Error(), `sql/core/Bad-Name.sql: file name "Bad-Name" must be a lower-case SQL name`)
	require.Contains(t, err.Error(), `sql/core/x.sql:1: @materialize: "sometimes" is not one of view, table`)
	require.Contains(t, err.Error(), `sql/marts/x.sql: model x is also defined in sql/core/x.sql`)
	require.Contains(t, err.Error(), `sql/core/y.sql:1: unknown header @colour (known: materialize)`)
}
