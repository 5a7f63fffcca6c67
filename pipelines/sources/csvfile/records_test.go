package csvfile

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readAll reads every record: fields of good ones, and the line and
// message of malformed ones.
func readAll(t testing.TB, in string) (recs [][]string, bad []string, lines []int64) {
	recs, bad, lines, _ = readAllRaw(t, in)
	return
}

func readAllRaw(t testing.TB, in string) (recs [][]string, bad []string, lines []int64, raws []string) {
	rr := newRecordReader(strings.NewReader(in), ',', '"')
	last := int64(0)
	for {
		raw, line, fields, err := rr.next()
		if errors.Is(err, io.EOF) {
			return
		}
		require.Greater(t, line, last, "line numbers increase")
		last = line
		var m *errMalformed
		if errors.As(err, &m) {
			bad = append(bad, m.msg)
			lines = append(lines, line)
			require.LessOrEqual(t, len(raw), MaxRecordBytes)
			continue
		}
		require.NoError(t, err)
		rec := make([]string, len(fields))
		for i, f := range fields {
			rec[i] = string(f)
		}
		recs = append(recs, rec)
		raws = append(raws, string(raw))
	}
}

func TestRecordReader(t *testing.T) {
	recs, bad, lines := readAll(t, "a,b\n\"x,1\",\"he said \"\"hi\"\"\"\n\"multi\nline\",z\r\nbad\"quote,1\n\"open,2\nlast,3")
	require.Equal(t, [][]string{{"a", "b"}, {"x,1", `he said "hi"`}, {"multi\nline", "z"}, {"last", "3"}}, recs)
	require.Equal(t, []string{"bare quote in unquoted field 1", "unbalanced quote: a quoted field is never closed"}, bad)
	require.Equal(t, []int64{5, 6}, lines)
}

func TestRecordReaderHugeFields(t *testing.T) {
	big := strings.Repeat("x", MaxRecordBytes+10)
	recs, bad, lines := readAll(t, "a,b\n1,"+big+"\n\"2\",\""+big+"\"\n3,ok\n")
	require.Equal(t, [][]string{{"a", "b"}, {"3", "ok"}}, recs)
	require.Equal(t, []string{"line is longer than 4 MiB", "line is longer than 4 MiB"}, bad)
	require.Equal(t, []int64{2, 3}, lines)

	// A quoted field that spans lines past the limit.
	var sb strings.Builder
	sb.WriteString("a,b\n1,\"start\n")
	for sb.Len() < MaxRecordBytes+100 {
		sb.WriteString(strings.Repeat("y", 1000) + "\n")
	}
	sb.WriteString("end\"\n2,ok\n")
	recs, bad, _ = readAll(t, sb.String())
	require.Equal(t, "unbalanced quote: a quoted field is not closed within 4 MiB", bad[0])
	require.Equal(t, []string{"2", "ok"}, recs[len(recs)-1])
}

// FuzzRecordReader checks the reader on any input: it never fails or
// loops, line numbers only increase, and whenever encoding/csv reads the
// whole input without error, both read the same records.
func FuzzRecordReader(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,\"b\nc\",d\n", "\"\"\"\",x\n", "a\"b,c\n", "\"a\"b,c\n", "\"open\n1,2\n", ",,\n\n,\n",
		"\ufeffa,b\n1,2", "x,\"y\"\"z\",w\n\"\",\"\"\n", "\"a\nb\"\n\"c", "a,b\r\n1,2\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		recs, bad, _, raws := readAllRaw(t, in)
		if strings.ContainsRune(in, '\r') {
			return // encoding/csv rewrites \r\n inside quoted fields
		}
		r := csv.NewReader(strings.NewReader(in))
		r.FieldsPerRecord = -1
		want, err := r.ReadAll()
		if err != nil {
			return
		}
		var got [][]string
		for i, rec := range recs {
			if raws[i] == "" {
				continue // encoding/csv skips empty lines
			}
			got = append(got, rec)
		}
		if len(want) == 0 {
			want = nil
		}
		require.Empty(t, bad, "encoding/csv read %q without error", in)
		require.Equal(t, want, got, "%q", in)
	})
}

// delimiter: whitespace splits on runs of blanks and ignores them at the
// ends of a line, as in the CDNOW purchase log; quotes are plain text.
func TestWhitespaceDelimitedRecords(t *testing.T) {
	in := " customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n\t00002\t19970112 2 \"12.00\"\r\n"
	rr := newRecordReader(strings.NewReader(in), whitespace, '"')
	var got [][]string
	var lines []int64
	for {
		_, line, fields, err := rr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		rec := make([]string, len(fields))
		for i, f := range fields {
			rec[i] = string(f)
		}
		got = append(got, rec)
		lines = append(lines, line)
	}
	require.Equal(t, [][]string{
		{"customer_id", "date", "number_of_cds", "dollar_value"},
		{"00001", "19970101", "1", "11.77"},
		{"00002", "19970112", "2", `"12.00"`},
	}, got)
	require.Equal(t, []int64{1, 2, 3}, lines)
	d, err := separator("whitespace", ",")
	require.NoError(t, err)
	require.Equal(t, byte(whitespace), d)
	_, err = separator("whitespace", `"`)
	require.Error(t, err, "whitespace is no quote character")
}
