package warehousetest

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/warehouse/duckdb"
)

// RunColumns name the run that wrote a row, or when it ran: they differ
// between two builds of the same data and SameTables leaves them out.
var RunColumns = []string{"_run_id", "in_use_from_run", "fitted_at"}

// SameTables checks that two warehouse files hold the same rows, in any
// order: in the tables and views rels names (schema.name), or, when rels
// is empty, in every table and view of the main and snap schemas, which
// must then be the same in both. Doubles are compared to 9 decimals
// (sums in another order differ in the last bits);
// RunColumns and the columns named in ignore are left out. Each
// relation that differs fails the test with up to ten of its differing
// rows. It returns the relations compared.
func SameTables(t testing.TB, a, b string, rels []string, ignore ...string) []string {
	t.Helper()
	db := Open(t, "", false)
	db.SetMaxOpenConns(1)
	Exec(t, db, "ATTACH "+duckdb.QuoteString(a)+" AS a (READ_ONLY)", "ATTACH "+duckdb.QuoteString(b)+" AS b (READ_ONLY)")
	list := func(cat string) []string {
		var out []string
		for _, r := range Rows(t, db, `SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN ('main', 'snap')
			UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE database_name = ? AND schema_name IN ('main', 'snap') AND NOT internal ORDER BY 1`, cat, cat) {
			out = append(out, r[0])
		}
		return out
	}
	if len(rels) == 0 {
		rels = list("a")
		require.Equal(t, rels, list("b"), "the same tables and views")
	}
	skip := map[string]bool{}
	for _, c := range append(append([]string{}, RunColumns...), ignore...) {
		skip[c] = true
	}
	for _, rel := range rels {
		var cols []string
		for _, r := range Rows(t, db, `SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'a' AND schema_name || '.' || table_name = ? ORDER BY column_index`, rel) {
			if skip[r[0]] {
				continue
			}
			q := duckdb.QuoteIdent(r[0])
			if r[1] == "DOUBLE" || r[1] == "FLOAT" {
				q = fmt.Sprintf("round(%s, 9) AS %s", q, q)
			}
			cols = append(cols, q)
		}
		require.NotEmpty(t, cols, "%s is in %s", rel, a)
		sel := func(cat string) string {
			return fmt.Sprintf("SELECT %s FROM %s.%s", strings.Join(cols, ", "), cat, rel)
		}
		var onlyA, onlyB, n int64
		require.NoError(t, db.QueryRow(fmt.Sprintf("SELECT (SELECT count(*) FROM (%s EXCEPT ALL %s)), (SELECT count(*) FROM (%s EXCEPT ALL %s)), (SELECT count(*) FROM a.%s)",
			sel("a"), sel("b"), sel("b"), sel("a"), rel)).Scan(&onlyA, &onlyB, &n), rel)
		if onlyA+onlyB > 0 {
			var sample string
			_ = db.QueryRow(fmt.Sprintf("SELECT string_agg(x::VARCHAR, '\n') FROM (SELECT 'a' AS side, * FROM (%s EXCEPT ALL %s) UNION ALL SELECT 'b', * FROM (%s EXCEPT ALL %s) LIMIT 10) x",
				sel("a"), sel("b"), sel("b"), sel("a"))).Scan(&sample)
			t.Errorf("%s (%d rows): %d rows only in %s (a), %d only in %s (b):\n%s", rel, n, onlyA, a, onlyB, b, sample)
		}
	}
	return rels
}

// CopyFile copies a closed warehouse file (its write-ahead log at the
// destination removed, so the copy is the file alone).
func CopyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
	os.Remove(to + ".wal")
}

// CountPairs counts, the obvious way, the baskets (sets of items, by
// basket) holding each item and each pair of items (the smaller first):
// the truth a test holds the cross-sell counts to.
func CountPairs(baskets map[string]map[string]bool) (items map[string]int, pairs map[[2]string]int) {
	items, pairs = map[string]int{}, map[[2]string]int{}
	for _, b := range baskets {
		var ps []string
		for p := range b {
			ps = append(ps, p)
			items[p]++
		}
		sort.Strings(ps)
		for i := range ps {
			for j := i + 1; j < len(ps); j++ {
				pairs[[2]string{ps[i], ps[j]}]++
			}
		}
	}
	return items, pairs
}
