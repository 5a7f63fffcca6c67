package demo_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"crmwh/pipelines/demo"
)

// generate runs the generator into a fresh temporary folder.
func generate(t *testing.T, o demo.Options) (demo.Summary, string) {
	t.Helper()
	o.Out = filepath.Join(t.TempDir(), "demo")
	sum, err := demo.Generate(context.Background(), o, nil)
	require.NoError(t, err)
	return sum, o.Out
}

var shanghai = time.FixedZone("CST", 8*3600)

// dataset reads a generated folder the way a careful loader would: file by
// file, line by line, decoding the legacy files from GB18030.
type dataset struct {
	dir       string
	malformed map[string]map[int]string // file -> line -> reason
}

func openDataset(t *testing.T, dir string) *dataset {
	t.Helper()
	d := &dataset{dir: dir, malformed: map[string]map[int]string{}}
	for _, rec := range readCSV(t, filepath.Join(dir, "truth", "malformed_rows.csv"))[1:] {
		line, err := strconv.Atoi(rec[1])
		require.NoError(t, err)
		if d.malformed[rec[0]] == nil {
			d.malformed[rec[0]] = map[int]string{}
		}
		d.malformed[rec[0]][line] = rec[2]
	}
	return d
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err, path)
	return recs
}

// files lists the files of a billing folder ("orders", "order_lines",
// "legacy") matching a prefix, relative to the dataset, sorted.
func (d *dataset) files(t *testing.T, glob string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(d.dir, filepath.FromSlash(glob)))
	require.NoError(t, err)
	sort.Strings(m)
	for i := range m {
		rel, err := filepath.Rel(d.dir, m[i])
		require.NoError(t, err)
		m[i] = filepath.ToSlash(rel)
	}
	return m
}

func isLegacy(rel string) bool { return strings.HasPrefix(rel, "billing/legacy/") }

// lines returns a file's lines as UTF-8 text, without line ends.
func (d *dataset) lines(t *testing.T, rel string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(rel)))
	require.NoError(t, err)
	if isLegacy(rel) {
		raw, err = simplifiedchinese.GB18030.NewDecoder().Bytes(raw)
		require.NoError(t, err, rel)
	}
	require.True(t, bytes.HasSuffix(raw, []byte("\n")), "%s does not end with a line end", rel)
	ls := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	for i := range ls {
		ls[i] = strings.TrimSuffix(ls[i], "\r")
	}
	return ls
}

// billingRow is one well-formed orders or order-lines row, its fields in
// the modern system's meaning.
type billingRow struct {
	file   string
	line   int
	fields []string
}

// rows returns a file's well-formed rows and checks that every line is
// well-formed exactly when truth/malformed_rows.csv does not list it, and
// that a listed line is broken in the way it says.
func (d *dataset) rows(t *testing.T, rel string, orders bool) []billingRow {
	t.Helper()
	ls := d.lines(t, rel)
	want := len(ordersHeader)
	if !orders {
		want = len(linesHeader)
	}
	var out []billingRow
	for i, l := range ls {
		n := i + 1
		if n == 1 {
			continue
		}
		fields, reason := checkLine(l, want, orders, isLegacy(rel))
		if listed, ok := d.malformed[rel][n]; ok {
			if listed != reason {
				t.Fatalf("%s:%d is listed as %q but reads as %q: %s", rel, n, listed, reason, l)
			}
			continue
		}
		if reason != "" {
			t.Fatalf("%s:%d is malformed (%s) but not listed: %s", rel, n, reason, l)
		}
		out = append(out, billingRow{file: rel, line: n, fields: fields})
	}
	return out
}

var (
	ordersHeader = strings.Split("order_id,billing_customer_no,customer_name,email,phone,order_time,status,ship_city,currency,gross_amount,discount_amount,net_amount,original_order_id", ",")
	linesHeader  = strings.Split("order_id,line_no,product_code,product_name,category,quantity,unit_price,discount_amount,line_amount", ",")
	modernAmount = regexp.MustCompile(`^-?\d+\.\d\d$`)
	legacyAmount = regexp.MustCompile(`^-?\d{1,3}(,\d{3})*\.\d\d$`)
)

// checkLine parses one line strictly and returns its fields, or the reason
// it is malformed in the words of truth/malformed_rows.csv.
func checkLine(l string, want int, orders, legacy bool) ([]string, string) {
	r := csv.NewReader(strings.NewReader(l))
	r.FieldsPerRecord = -1
	fields, err := r.Read()
	if err != nil {
		return nil, "unbalanced quote"
	}
	if len(fields) != want {
		return nil, "wrong field count"
	}
	amounts := []int{6, 7, 8}
	if orders {
		amounts = []int{9, 10, 11}
	}
	for _, k := range amounts {
		if _, ok := parseAmount(fields[k], legacy); !ok {
			return nil, "bad amount"
		}
	}
	if orders {
		if _, ok := parseTime(fields[5], legacy); !ok {
			return nil, "bad date"
		}
	}
	return fields, ""
}

// parseAmount returns money in fen.
func parseAmount(s string, legacy bool) (int64, bool) {
	re := modernAmount
	if legacy {
		re = legacyAmount
	}
	if !re.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(s), 10, 64)
	return v, err == nil
}

func parseTime(s string, legacy bool) (time.Time, bool) {
	if legacy {
		t, err := time.ParseInLocation("2006年1月2日 15:04:05", s, shanghai)
		return t, err == nil
	}
	if !strings.HasSuffix(s, "+08:00") && !strings.HasSuffix(s, "Z") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// modern maps legacy status words to the modern ones.
var statusWords = map[string]string{"已支付": "paid", "已取消": "cancelled", "退款": "refund", "paid": "paid", "cancelled": "cancelled", "refund": "refund"}

// Identity normalisation as docs/demo-data.md states it.
var validEmail = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)

func normEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, validEmail.MatchString(s)
}

func normPhone(s string) (string, bool) {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case strings.HasPrefix(d, "86") && len(d) == 13:
		d = d[2:]
	}
	return d, len(d) == 11 && d[0] == '1' && len(s) < 20 && !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz")
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}
