package csvfile_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/sources/csvfile"
)

var update = flag.Bool("update", false, "rewrite the .want files of testdata/malformed")

// TestMalformedCorpus loads each file of testdata/malformed on its own and
// compares what happened (rows loaded, rows quarantined with line and
// reason, file-level errors and reports) with the file's .want.
func TestMalformedCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/malformed/*.csv")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	// Files too big to keep in the repository are made here; their .want
	// files are in testdata/malformed like the others.
	gen := t.TempDir()
	huge := strings.Repeat("x", csvfile.MaxRecordBytes+1)
	require.NoError(t, os.WriteFile(filepath.Join(gen, "huge_fields.csv"), []byte("order_id,amount,ordered_at,note\n"+
		"H1,1.00,,"+huge+"\n"+ // one line longer than the limit
		"H2,2.00,,\"ok\"\n"+
		"H3,3.00,,\"quoted and spanning "+strings.Repeat("y\n", 10)+huge+"\"\n"+ // a quoted field past the limit
		"H4,4.00,,"+strings.Repeat("z", 100_000)+"\n"), 0o644)) // long but within the limit
	files = append(files, filepath.Join(gen, "huge_fields.csv"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".csv")
		t.Run(name, func(t *testing.T) {
			base, err := os.Getwd()
			require.NoError(t, err)
			st := pipelines.StreamConfig{Name: "orders", Path: f, MaxBadRatio: ptr(1.0), Columns: []pipelines.ColumnConfig{
				{Name: "order_id", Type: "string", Required: true},
				{Name: "amount", Type: "decimal(12,2)", Required: true},
				{Name: "ordered_at", Type: "timestamp"},
				{Name: "note", Type: "string"},
			}}
			l := laketest.New(t, base, pipelines.SourceConfig{Name: "billing", Kind: "csv", Streams: []pipelines.StreamConfig{st}})
			res, err := l.Extract(t, false)
			var b strings.Builder
			r := res.Streams[0]
			fmt.Fprintf(&b, "rows: %d\nquarantined: %d\n", r.Rows, r.Quarantine)
			if err != nil {
				fmt.Fprintf(&b, "error: %s\n", r.Error)
			}
			for _, rep := range r.Reports {
				fmt.Fprintf(&b, "report: %s: %s\n", rep.Kind, rep.Msg)
			}
			for _, row := range l.Rows(t, "SELECT order_id, amount::VARCHAR, strftime(ordered_at, '%Y-%m-%d %H:%M:%S'), "+
				"CASE WHEN length(note) > 60 THEN left(note, 20) || '… (' || length(note) || ' characters)' ELSE replace(note, chr(10), '\\n') END "+
				"FROM raw.billing_orders ORDER BY order_id") {
				fmt.Fprintf(&b, "loaded: %s\n", strings.Join(row, " | "))
			}
			for _, row := range l.Rows(t, "SELECT line, reason FROM raw.billing_orders__quarantine ORDER BY line") {
				fmt.Fprintf(&b, "quarantined: line %s: %s\n", row[0], row[1])
			}
			got := b.String()
			want := filepath.Join("testdata", "malformed", name+".want")
			if *update {
				require.NoError(t, os.WriteFile(want, []byte(got), 0o644))
			}
			w, err := os.ReadFile(want)
			require.NoError(t, err, "no %s; run go test -update", want)
			require.Equal(t, string(w), got)
		})
	}
}
