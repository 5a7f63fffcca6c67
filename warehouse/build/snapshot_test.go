package build_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/warehouse/build"
)

// addAttrs commits one lake part of customer attributes to c.attrs.
func addAttrs(t *testing.T, dir string, rows ...[]any) {
	t.Helper()
	l, err := lake.Open(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	schema := pipelines.Schema{
		{Name: "customer", Type: pipelines.TypeString},
		{Name: "region", Type: pipelines.TypeString},
		{Name: "updated_at", Type: pipelines.TypeTimestamp},
	}
	u, err := l.Sink("c", "attrs", fmt.Sprintf("r%d", time.Now().UnixNano()), time.Now()).Begin(schema, "test")
	require.NoError(t, err)
	if len(rows) > 0 {
		require.NoError(t, u.Write(rows))
	}
	require.NoError(t, u.Commit(pipelines.StateChange{}))
}

func at(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }

func attr(c, region string, h int) []any { return []any{c, region, at(h)} }

const historyQuery = `select customer, region, strftime(valid_from, '%H'), coalesce(strftime(valid_to, '%H'), '-'),
	is_current, coalesce(closed_reason, '-') from dim_history order by customer, valid_from`

// The current state is read from a table that each build replaces (the
// latest lake part), as from a full export of the CRM.
var snapshotByBuildTime = files(map[string]string{
	"sql/core/dim_history.sql": "select customer, region from raw.c_attrs where updated_at = (select max(updated_at) from raw.c_attrs)",
	"sql/core/dim_history.yml": "materialize: snapshot\nunique_key: [customer]\n",
})

func TestSnapshotKeepsType2History(t *testing.T) {
	dir := t.TempDir()
	buildAt := func(h int) {
		t.Helper()
		_, err := buildWith(t, dir, snapshotByBuildTime, func(o *build.Options) { o.Now = func() time.Time { return at(h) } })
		require.NoError(t, err)
	}
	// Each export is stamped with its hour, and the model reads the newest.
	addAttrs(t, dir, attr("a", "East", 1), attr("b", "North", 1), attr("c", "South", 1))
	buildAt(1)
	buildAt(2) // nothing new: no change
	addAttrs(t, dir, attr("a", "East", 3), attr("b", "West", 3), attr("c", "South", 3))
	buildAt(3) // b changes
	addAttrs(t, dir, attr("a", "East", 4), attr("b", "North", 4))
	buildAt(4) // b changes back; c is deleted in the source
	addAttrs(t, dir, attr("a", "East", 5), attr("b", "North", 5), attr("c", "Central", 5))
	buildAt(5) // c comes back

	require.Equal(t, [][]string{
		{"a", "East", "01", "-", "true", "-"},
		{"b", "North", "01", "03", "false", "changed"},
		{"b", "West", "03", "04", "false", "changed"},
		{"b", "North", "04", "-", "true", "-"},
		{"c", "South", "01", "04", "false", "deleted_in_source"},
		{"c", "Central", "05", "-", "true", "-"},
	}, rows(t, dir, historyQuery))
}

func TestSnapshotPlacesLateArrivingChanges(t *testing.T) {
	dir := t.TempDir()
	fs := files(map[string]string{
		// Every version the source ever sent, stamped by the source.
		"sql/core/dim_history.sql": "select distinct customer, region, updated_at from raw.c_attrs",
		"sql/core/dim_history.yml": "materialize: snapshot\nunique_key: [customer]\nupdated_at: updated_at\n",
	})
	addAttrs(t, dir, attr("a", "East", 10))
	_, err := buildWith(t, dir, fs, nil)
	require.NoError(t, err)
	addAttrs(t, dir, attr("a", "West", 12))
	_, err = buildWith(t, dir, fs, nil)
	require.NoError(t, err)
	// A change made at 11:00 arrives after the 12:00 one.
	addAttrs(t, dir, attr("a", "North", 11))
	_, err = buildWith(t, dir, fs, nil)
	require.NoError(t, err)
	require.Equal(t, [][]string{
		{"a", "East", "10", "11", "false", "changed"},
		{"a", "North", "11", "12", "false", "changed"},
		{"a", "West", "12", "-", "true", "-"},
	}, rows(t, dir, historyQuery))
}

func TestSnapshotStopsOnATruncatedSource(t *testing.T) {
	dir := t.TempDir()
	var all [][]any
	for i := 0; i < 30; i++ {
		all = append(all, attr(fmt.Sprintf("k%02d", i), "East", 1))
	}
	addAttrs(t, dir, all...)
	_, err := buildWith(t, dir, snapshotByBuildTime, func(o *build.Options) { o.Now = func() time.Time { return at(1) } })
	require.NoError(t, err)
	before := rows(t, dir, historyQuery)

	addAttrs(t, dir, all[:5]...) // a truncated export: 5 of 30 customers
	for i := range all[:5] {
		all[i][2] = at(2)
	}
	addAttrs(t, dir, all[:5]...)
	res, err := buildWith(t, dir, snapshotByBuildTime, func(o *build.Options) { o.Now = func() time.Time { return at(2) } })
	require.ErrorIs(t, err, build.ErrModelsFailed)
	require.Contains(t, res.Models[0].Error, "25 of 30 keys' current rows would be closed as deleted (83%, more than max_deleted_share 50%): the source looks truncated")
	require.Equal(t, before, rows(t, dir, historyQuery), "history untouched")
}
