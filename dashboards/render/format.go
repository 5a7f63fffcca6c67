package render

import (
	"math"
	"strconv"
	"strings"
	"time"

	"crmwh/dashboards/spec"
)

// Formatter writes numbers and dates the way a page shows them. The page's
// script (assets/crmwh.js, function crmwh.format) mirrors Number and
// Compact exactly for axis labels and tooltips; the browser test checks
// that both agree.
type Formatter struct {
	Lang     string // "en" or "zh"
	Currency string // ISO 4217 code such as "CNY"
}

// Missing is what a null or non-finite number is shown as.
const Missing = "-"

// currencySymbols are the symbols of common currencies; any other code is
// written as the code and a space ("CHF 12.00").
var currencySymbols = map[string]string{
	"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$",
}

// Symbol returns the currency's symbol.
func (f Formatter) Symbol() string {
	if s, ok := currencySymbols[f.Currency]; ok {
		return s
	}
	return f.Currency + " "
}

// Number writes v in full, for tables and tooltips: 1,234,567.89,
// ¥1,234,567.89, 12.3%.
func (f Formatter) Number(v float64, format spec.Format) string {
	return f.number(v, format, false)
}

// Compact writes v shortened, for KPI cards and axes: 1.23M, ¥12.35K in
// English; 123.46万, 1.2亿 in Chinese (from 10,000 up).
func (f Formatter) Compact(v float64, format spec.Format) string {
	return f.number(v, format, true)
}

func (f Formatter) number(v float64, format spec.Format, compact bool) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Missing
	}
	if format == spec.Percent {
		body := fixed(math.Abs(v)*100, 1, compact)
		return sign(v, body) + body + "%"
	}
	sym := ""
	if format == spec.Currency {
		sym = f.Symbol()
	}
	a := math.Abs(v)
	var body string
	switch {
	case compact && a >= 1e4:
		for _, u := range f.units() {
			if a >= u.from {
				body = fixed(a/u.size, 2, true) + u.suffix
				break
			}
		}
	case format == spec.Thousands:
		body = fixed(a, 0, false)
	case format == spec.Currency && !compact:
		body = fixed(a, 2, false)
	default:
		body = fixed(a, 2, true)
	}
	return sign(v, body) + sym + body
}

// unit shortens numbers from `from` up: divided by size, with a suffix.
type unit struct {
	from, size float64
	suffix     string
}

func (f Formatter) units() []unit {
	if f.Lang == "zh" {
		return []unit{{1e8, 1e8, "亿"}, {1e4, 1e4, "万"}}
	}
	return []unit{{1e9, 1e9, "B"}, {1e6, 1e6, "M"}, {1e4, 1e3, "K"}}
}

// fixed writes a ≥ 0 rounded half away from zero to d decimals, grouped in
// thousands, with trailing zero decimals dropped when trim is set.
func fixed(a float64, d int, trim bool) string {
	p := math.Pow(10, float64(d))
	s := strconv.FormatFloat(math.Round(a*p)/p, 'f', d, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	if trim {
		frac = strings.TrimRight(frac, "0")
	}
	out := group(intPart)
	if frac != "" {
		out += "." + frac
	}
	return out
}

// sign returns "-" for a negative v whose written body is not all zeros.
func sign(v float64, body string) string {
	if v < 0 && strings.Trim(body, "0.,%") != "" {
		return "-"
	}
	return ""
}

func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first > 0 {
		b.WriteString(digits[:first])
	}
	for i := first; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Delta writes the change from prev to cur: a relative change (+12.3%), or
// for percent KPIs the difference in percentage points (+1.2 pp, +1.2个百分点).
// ok is false when there is no meaningful change to show (prev is zero).
func (f Formatter) Delta(cur, prev float64, format spec.Format) (text string, change float64, ok bool) {
	if format == spec.Percent {
		change = (cur - prev) * 100
		unit := " pp"
		if f.Lang == "zh" {
			unit = "个百分点"
		}
		return signed(change, 1) + unit, change, true
	}
	if prev == 0 {
		return "", 0, false
	}
	change = (cur - prev) / math.Abs(prev)
	return signed(change*100, 1) + "%", change, true
}

// signed writes v to d decimals with an explicit sign (+1.5, -0.3, 0.0).
func signed(v float64, d int) string {
	body := fixed(math.Abs(v), d, false)
	switch s := sign(v, body); {
	case s != "":
		return s + body
	case strings.Trim(body, "0.,") == "":
		return body
	default:
		return "+" + body
	}
}

// Time writes a date or timestamp: Date 2024-06-30, Month "Jun 2024" or
// "2024年6月"; without a format, dates as 2024-06-30 and timestamps as
// 2024-06-30 14:05:00 (in the time zone the warehouse returned).
func (f Formatter) Time(t time.Time, format spec.Format, isDate bool) string {
	switch format {
	case spec.Month:
		if f.Lang == "zh" {
			return strconv.Itoa(t.Year()) + "年" + strconv.Itoa(int(t.Month())) + "月"
		}
		return t.Format("Jan 2006")
	case spec.Date:
		return t.Format("2006-01-02")
	}
	if isDate {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02 15:04:05")
}
