package jsonl_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	_ "crmwh/pipelines/sources/jsonl"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
}

var eventColumns = []pipelines.ColumnConfig{
	{Name: "event_id", Type: "string", Required: true},
	{Name: "customer_id", Field: "customer.id", Type: "string"},
	{Name: "amount", Type: "decimal(12,2)"},
	{Name: "at", Type: "timestamp", Format: "2006年1月2日 15:04:05 | 2006-01-02T15:04:05Z07:00"},
	{Name: "is_new", Type: "bool"},
	{Name: "visits", Type: "int64"},
	{Name: "props", Type: "json"},
}

func TestJSONLinesWithDeclaredFields(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "events", "2025-01-01.jsonl"), "\ufeff"+strings.Join([]string{
		`{"event_id": "E1", "customer": {"id": "C1", "name": "张伟"}, "amount": 12.5, "at": "2025年3月5日 14:03:00", "is_new": true, "visits": 3, "props": {"page": "/cart", "n": [1, 2]}, "ignored": 1}`,
		`{"event_id": "E2", "customer": null, "amount": "1,234.50", "at": "2025-03-05T14:03:00+08:00", "visits": "7", "props": "just a string"}`,
		``,
		`{"event_id": "E3"}`,
		`not json at all`,
		`["E4"]`,
		`{"event_id": "E5", "amount": 1.234}`,
		`{"event_id": "E6", "visits": {"a": 1}}`,
		`{"event_id": "E7", "is_new": 1}`,
		`{"customer": {"id": "C9"}}`,
		`{"event_id": "E8", "at": "yesterday"}`,
		`{"event_id": "E9", "customer": "C1"}`,
		"{\"event_id\": \"E10\", \"bad\": \"\xff\"}",
		`{"event_id": "E11", "amount": 99999999999.99, "visits": 1e3}`,
	}, "\n")+"\n")
	st := pipelines.StreamConfig{Name: "events", Path: "events/*.jsonl", Timezone: "Asia/Shanghai", MaxBadRatio: ptr(1.0), Columns: eventColumns}
	l := laketest.New(t, dir, pipelines.SourceConfig{Name: "web", Kind: "jsonl", Streams: []pipelines.StreamConfig{st}})
	r := l.MustExtract(t)
	require.Equal(t, "ok", r.State, r.Error)
	require.Equal(t, [][]string{
		{"E1", "C1", "12.50", "2025-03-05 06:03:00", "true", "3", `{"page":"/cart","n":[1,2]}`},
		{"E2", "NULL", "1234.50", "2025-03-05 06:03:00", "NULL", "7", `"just a string"`},
		{"E3", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"},
	}, l.Rows(t, `SELECT event_id, customer_id, amount, strftime("at", '%Y-%m-%d %H:%M:%S'), is_new, visits, props
		FROM raw.web_events ORDER BY event_id`))
	require.Equal(t, [][]string{
		{"5", "not a JSON object"},
		{"6", "not a JSON object"},
		{"7", `column amount: "1.234" has more than 2 decimal places`},
		{"8", `column visits: {"a": 1} is an object, not a int64`},
		{"9", "column is_new: 1 is a number, not a bool"},
		{"10", "column event_id: value is missing"},
		{"11", `column at: "yesterday" is not a timestamp (expected 2006年1月2日 15:04:05 or 2006-01-02T15:04:05Z07:00)`},
		{"12", "column customer_id: field customer.id is not an object"},
		{"13", "not valid UTF-8 (JSON Lines files must be UTF-8)"},
		{"14", `column amount: "99999999999.99" does not fit decimal(12,2)`},
	}, l.Rows(t, "SELECT line, reason FROM raw.web_events__quarantine ORDER BY line"))

	t.Run("each file loads once; a changed one is reported", func(t *testing.T) {
		require.Zero(t, l.MustExtract(t).Rows)
		f := filepath.Join(dir, "events", "2025-01-01.jsonl")
		write(t, f, `{"event_id": "E99"}`+"\n")
		require.NoError(t, os.Chtimes(f, time.Now().Add(time.Hour), time.Now().Add(time.Hour)))
		write(t, filepath.Join(dir, "events", "2025-01-02.jsonl"), `{"event_id": "E20", "visits": 2}`)
		r := l.MustExtract(t)
		require.Equal(t, int64(1), r.Rows)
		require.Len(t, r.Reports, 1)
		require.Contains(t, r.Reports[0].Msg, "events/2025-01-01.jsonl changed after it was loaded")
	})
}

func TestJSONLConfigIsCheckedStrictly(t *testing.T) {
	var got []string
	report := func(path, msg string) { got = append(got, path+": "+msg) }
	k, err := pipelines.Lookup("jsonl")
	require.NoError(t, err)
	k.Validate(pipelines.SourceConfig{Name: "web", Kind: "jsonl", Streams: []pipelines.StreamConfig{{
		Name: "e", Path: "x/*.jsonl", Encoding: "gb18030", Delimiter: ";", Watermark: "at",
		Columns: []pipelines.ColumnConfig{{Name: "a", Type: "decimal(40,2)", Header: "A"}},
	}}}, report)
	require.Equal(t, []string{
		"streams[0].watermark: not used by jsonl sources",
		"streams[0].encoding: JSON Lines files are UTF-8; leave encoding out",
		"streams[0].delimiter: not used by jsonl sources",
		"streams[0].columns[0].header: not used by jsonl sources (the field's key is field)",
		"streams[0].columns[0].type: decimal(40,2): precision must be 1 to 38 and scale at most the precision",
	}, got)
}

func ptr[T any](v T) *T { return &v }
