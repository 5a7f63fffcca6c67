package render_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crmwh/dashboards/render"
	"crmwh/dashboards/spec"
)

// formatCase is one number written by Formatter.Number and Compact; the
// browser test checks crmwh.js writes the same.
type formatCase struct {
	lang    string
	v       float64
	format  spec.Format
	full    string
	compact string
}

var formatCases = []formatCase{
	{"en", 0, spec.Number, "0", "0"},
	{"en", 1234.5, spec.Number, "1,234.5", "1,234.5"},
	{"en", 1234.567, spec.Number, "1,234.57", "1,234.57"},
	{"en", -1234.5, spec.Number, "-1,234.5", "-1,234.5"},
	{"en", 9999.994, spec.Number, "9,999.99", "9,999.99"},
	{"en", 12346, spec.Number, "12,346", "12.35K"},
	{"en", 76543.22, spec.Currency, "¥76,543.22", "¥76.54K"},
	{"en", 1523456.78, spec.Currency, "¥1,523,456.78", "¥1.52M"},
	{"en", -1523456.78, spec.Currency, "-¥1,523,456.78", "-¥1.52M"},
	{"en", 2.5e9, spec.Currency, "¥2,500,000,000.00", "¥2.5B"},
	{"en", 4321, spec.Currency, "¥4,321.00", "¥4,321"},
	{"en", 0.005, spec.Currency, "¥0.01", "¥0.01"},
	{"en", -0.004, spec.Currency, "¥0.00", "¥0"},
	{"en", 6420, spec.Thousands, "6,420", "6,420"},
	{"en", 6420.5, spec.Thousands, "6,421", "6,421"},
	{"en", 1000000, spec.Thousands, "1,000,000", "1M"},
	{"en", 0.0478395125, spec.Percent, "4.8%", "4.8%"},
	{"en", 0.1, spec.Percent, "10.0%", "10%"},
	{"en", -0.25, spec.Percent, "-25.0%", "-25%"},
	{"en", 1.5, spec.Percent, "150.0%", "150%"},
	{"zh", 1523456.78, spec.Currency, "¥1,523,456.78", "¥152.35万"},
	{"zh", 123456789, spec.Thousands, "123,456,789", "1.23亿"},
	{"zh", 9999, spec.Thousands, "9,999", "9,999"},
	{"zh", 10000, spec.Thousands, "10,000", "1万"},
	{"zh", -25000, spec.Number, "-25,000", "-2.5万"},
	{"zh", 3e8, spec.Number, "300,000,000", "3亿"},
	{"zh", 0.123, spec.Percent, "12.3%", "12.3%"},
}

func TestFormatNumber(t *testing.T) {
	for _, c := range formatCases {
		f := render.Formatter{Lang: c.lang, Currency: "CNY"}
		require.Equal(t, c.full, f.Number(c.v, c.format), "%s Number(%v, %s)", c.lang, c.v, c.format)
		require.Equal(t, c.compact, f.Compact(c.v, c.format), "%s Compact(%v, %s)", c.lang, c.v, c.format)
	}
	f := render.Formatter{Lang: "en", Currency: "USD"}
	require.Equal(t, "$1,234.50", f.Number(1234.5, spec.Currency))
	require.Equal(t, "CHF 1,234.50", render.Formatter{Currency: "CHF"}.Number(1234.5, spec.Currency))
	require.Equal(t, render.Missing, f.Number(math.NaN(), spec.Number))
	require.Equal(t, render.Missing, f.Compact(math.Inf(1), spec.Currency))
}

func TestFormatDelta(t *testing.T) {
	en := render.Formatter{Lang: "en"}
	zh := render.Formatter{Lang: "zh"}
	for _, c := range []struct {
		f         render.Formatter
		cur, prev float64
		format    spec.Format
		want      string
		ok        bool
	}{
		{en, 110, 100, spec.Number, "+10.0%", true},
		{en, 90, 100, spec.Currency, "-10.0%", true},
		{en, 100, 100, spec.Number, "0.0%", true},
		{en, -50, -100, spec.Number, "+50.0%", true},
		{en, 5, 0, spec.Number, "", false},
		{en, 0.05, 0.04, spec.Percent, "+1.0 pp", true},
		{zh, 0.04, 0.05, spec.Percent, "-1.0个百分点", true},
	} {
		got, _, ok := c.f.Delta(c.cur, c.prev, c.format)
		require.Equal(t, c.ok, ok, "Delta(%v, %v)", c.cur, c.prev)
		require.Equal(t, c.want, got, "Delta(%v, %v)", c.cur, c.prev)
	}
}

func TestFormatTime(t *testing.T) {
	d := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ts := time.Date(2024, 6, 30, 14, 5, 0, 0, time.UTC)
	en := render.Formatter{Lang: "en"}
	zh := render.Formatter{Lang: "zh"}
	require.Equal(t, "Jun 2024", en.Time(d, spec.Month, true))
	require.Equal(t, "2024年6月", zh.Time(d, spec.Month, true))
	require.Equal(t, "2024-06-01", zh.Time(d, "", true))
	require.Equal(t, "2024-06-30", en.Time(ts, spec.Date, false))
	require.Equal(t, "2024-06-30 14:05:00", en.Time(ts, "", false))
}
