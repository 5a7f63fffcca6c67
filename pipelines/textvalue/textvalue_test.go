package textvalue_test

import (
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/textvalue"
)

func parser(t testing.TB, typ, format string, loc *time.Location) *textvalue.Parser {
	t.Helper()
	col, err := pipelines.ParseType(typ)
	require.NoError(t, err)
	col.Name = "c"
	p, err := textvalue.NewParser(col, format, loc)
	require.NoError(t, err)
	return p
}

func TestParse(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	for _, c := range []struct {
		typ, format, in string
		loc             *time.Location
		want            any
		err             string
	}{
		{typ: "decimal(18,2)", in: "1,234.50", want: pipelines.Decimal{Unscaled: 123450}},
		{typ: "decimal(18,2)", in: "-0.5", want: pipelines.Decimal{Unscaled: -50}},
		{typ: "decimal(18,2)", in: "+.5", want: pipelines.Decimal{Unscaled: 50}},
		{typ: "decimal(18,2)", in: "1.5e2", want: pipelines.Decimal{Unscaled: 15000}},
		{typ: "decimal(18,2)", in: "12.345", err: `"12.345" has more than 2 decimal places`},
		{typ: "decimal(18,2)", in: "12.3.4", err: `"12.3.4" is not a decimal number`},
		{typ: "decimal(18,2)", in: "1,23.00", err: `"1,23.00" is not a decimal number`},
		{typ: "decimal(5,2)", in: "1234.5", err: `"1234.5" does not fit decimal(5,2)`},
		{typ: "decimal(38,0)", in: "99999999999999999999999999999999999999", want: mustDec128("99999999999999999999999999999999999999")},
		{typ: "decimal(38,0)", in: "-99999999999999999999999999999999999999", want: mustDec128("-99999999999999999999999999999999999999")},
		{typ: "int64", in: "1,234,567", want: int64(1234567)},
		{typ: "int64", in: "12a", err: `"12a" is not an integer`},
		{typ: "float64", in: "1,234.5", want: 1234.5},
		{typ: "float64", in: "NaN", err: `"NaN" is not a number`},
		{typ: "bool", in: "是", want: true},
		{typ: "bool", in: "N", want: false},
		{typ: "date", in: "2024-02-29", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{typ: "date", in: "2023-02-29", err: `"2023-02-29" is not a date`},
		{typ: "date", in: "20240305", want: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		{typ: "date", format: "2006年1月2日", in: "2024年3月5日", want: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		{typ: "timestamp", in: "2025-03-05T14:03:00+08:00", want: time.Date(2025, 3, 5, 6, 3, 0, 0, time.UTC)},
		{typ: "timestamp", in: "2025-03-05 14:03:00.123456789Z", want: time.Date(2025, 3, 5, 14, 3, 0, 123456000, time.UTC)},
		{typ: "timestamp", in: "2025-03-05 14:03:00", loc: shanghai, want: time.Date(2025, 3, 5, 6, 3, 0, 0, time.UTC)},
		{typ: "timestamp", in: "2025-03-05", loc: shanghai, want: time.Date(2025, 3, 4, 16, 0, 0, 0, time.UTC)},
		{typ: "timestamp", format: "2006年1月2日 15:04:05", in: "2025年3月5日 14:03:00", loc: shanghai, want: time.Date(2025, 3, 5, 6, 3, 0, 0, time.UTC)},
		{typ: "timestamp", in: "2025-03-05 14:03:00.25+08", want: time.Date(2025, 3, 5, 6, 3, 0, 250000000, time.UTC)},
		{typ: "timestamp", in: "2025-03-05 24:00:00", err: `"2025-03-05 24:00:00" is not a timestamp`},
		{typ: "json", in: ` {"a": [1]} `, want: `{"a": [1]}`},
		{typ: "json", in: `{"a": }`, err: "not valid JSON"},
		{typ: "string", in: "  ", want: "  "},
		{typ: "int64", in: "  ", want: nil},
		{typ: "int64", in: "\u3000 42 \u3000", want: int64(42)},
	} {
		t.Run(c.typ+" "+c.in, func(t *testing.T) {
			v, err := parser(t, c.typ, c.format, c.loc).Parse(c.in)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			if tm, ok := v.(time.Time); ok {
				require.True(t, tm.Equal(c.want.(time.Time)), "%s != %s", tm, c.want)
				return
			}
			require.Equal(t, c.want, v)
		})
	}
}

func mustDec128(s string) pipelines.Decimal128 {
	b, _ := new(big.Int).SetString(s, 10)
	d, _ := pipelines.Decimal128FromBig(b)
	return d
}

// FuzzFastPaths checks the hand-written parsers against the reference
// ones: timestamps and dates against the time package (through the same
// layouts given as a format, which turns the fast path off), decimals
// against math/big.
func FuzzFastPaths(f *testing.F) {
	for _, s := range []string{
		"2025-03-05T14:03:00+08:00", "2025-03-05 14:03:00", "2025-03-05T14:03:00.5Z", "2024-02-29 23:59:59.999999999",
		"2025-03-05 14:03:00-23:59", "2025-03-05 14:03:00+24:00", "0000-01-01 00:00:00", "2025-03-05", "2025-03-05T14:03",
		"2025-03-05 14:03:00,5", "2025-3-5 14:03:00", "2025-03-05 14:03:00+08", "2025-03-05T14:03:00-03", "2025-03-05 14:03:00.5+24", "2025-03-05 14:03:00.1234567891Z", "1,234.50", "-0.001", "1e3",
		"12.3.4", "1,23", "99999999999999999999999999999999999999", ".5", "5.", "+1,000,000.00", "0e", "1e0000008", "\u3000 42\u00a0", " 7\u2028", "张3",
	} {
		f.Add(s)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	tsLayouts := "2006-01-02T15:04:05.999999999Z07:00 | 2006-01-02 15:04:05.999999999Z07:00 | 2006-01-02 15:04:05.999999999Z07 | 2006-01-02 15:04:05.999999999 | 2006-01-02T15:04:05.999999999 | 2006-01-02 15:04 | 2006-01-02"
	dateLayouts := "2006-01-02 | 2006/01/02 | 20060102"
	f.Fuzz(func(t *testing.T, s string) {
		for _, loc := range []*time.Location{time.UTC, shanghai} {
			fast, slow := parser(t, "timestamp", "", loc), parser(t, "timestamp", tsLayouts, loc)
			a, errA := fast.Parse(s)
			b, errB := slow.Parse(s)
			require.Equal(t, errA == nil, errB == nil, "timestamp %q: fast %v, slow %v", s, errA, errB)
			require.Equal(t, a, b, "timestamp %q", s)
		}
		fast, slow := parser(t, "date", "", nil), parser(t, "date", dateLayouts, nil)
		a, errA := fast.Parse(s)
		b, errB := slow.Parse(s)
		require.Equal(t, errA == nil, errB == nil, "date %q: fast %v, slow %v", s, errA, errB)
		require.Equal(t, a, b, "date %q", s)

		// White space, Unicode's included, is trimmed as unicode.IsSpace
		// says.
		ip := parser(t, "int64", "", nil)
		a, errA = ip.Parse(s)
		b, errB = ip.Parse(strings.TrimFunc(s, unicode.IsSpace))
		require.Equal(t, errA == nil, errB == nil, "int64 %q: %v, trimmed %v", s, errA, errB)
		require.Equal(t, a, b, "int64 %q", s)

		// Decimals: an exact reference from math/big.
		for _, ps := range [][2]int{{18, 2}, {38, 10}, {10, 0}} {
			got, err := textvalue.ParseDecimal(s, ps[0], ps[1])
			want, ok := refDecimal(s, ps[0], ps[1])
			require.Equal(t, ok, err == nil, "decimal(%d,%d) %q: %v", ps[0], ps[1], s, err)
			if ok {
				var text string
				switch d := got.(type) {
				case pipelines.Decimal:
					text = d.Text(ps[1])
				case pipelines.Decimal128:
					text = d.Text(ps[1])
				}
				require.Equal(t, want, text, "decimal(%d,%d) %q", ps[0], ps[1], s)
			}
		}
	})
}

// refDecimal parses s as ParseDecimal documents it, with math/big.
func refDecimal(s string, precision, scale int) (string, bool) {
	s = strings.TrimSpace(s)
	mant, exp := s, ""
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant, exp = s[:i], s[i+1:]
		if exp == "" {
			return "", false
		}
	}
	body := strings.TrimLeft(mant, "+-")
	if len(mant)-len(body) > 1 {
		return "", false
	}
	intPart, frac, _ := strings.Cut(body, ".")
	if strings.Contains(intPart, ",") {
		groups := strings.Split(intPart, ",")
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return "", false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return "", false
			}
		}
		intPart = strings.Join(groups, "")
	}
	if intPart == "" && frac == "" {
		return "", false
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	r, ok := new(big.Rat).SetString(mant[:len(mant)-len(body)] + intPart + "." + frac + "0")
	if !ok {
		return "", false
	}
	if exp != "" {
		e, err := strconv.Atoi(exp)
		if err != nil || e > 100 || e < -100 {
			return "", false
		}
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(e))), nil))
		if e < 0 {
			r.Quo(r, p)
		} else {
			r.Mul(r, p)
		}
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !scaled.IsInt() {
		return "", false
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil)
	n := scaled.Num()
	if new(big.Int).Abs(n).Cmp(limit) >= 0 {
		return "", false
	}
	return pipelines.FormatUnscaled(n.String(), scale), true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
