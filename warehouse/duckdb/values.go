package duckdb

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// FormatValue renders a value scanned from DuckDB as text: decimals with
// their full scale (12.50, not 12.5), timestamps in RFC 3339, dates as
// YYYY-MM-DD, NULL as the empty string.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case duckdb.Decimal:
		return DecimalString(x.Value, int(x.Scale))
	case *big.Int:
		return x.String()
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			return x.Format("2006-01-02")
		}
		return x.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case duckdb.Interval:
		return FormatInterval(x)
	case duckdb.UUID:
		return x.String()
	case map[string]any, []any, duckdb.Map:
		b, err := json.Marshal(JSONValue(x))
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// FormatInterval writes an interval as DuckDB does: "1 year 2 months 306
// days 16:24:52.923346" (parts that are zero left out; "00:00:00" when all
// are).
func FormatInterval(x duckdb.Interval) string {
	var parts []string
	unit := func(n int64, one string) {
		switch {
		case n == 1 || n == -1:
			parts = append(parts, fmt.Sprintf("%d %s", n, one))
		case n != 0:
			parts = append(parts, fmt.Sprintf("%d %ss", n, one))
		}
	}
	unit(int64(x.Months/12), "year")
	unit(int64(x.Months%12), "month")
	unit(int64(x.Days), "day")
	if us := x.Micros; us != 0 || len(parts) == 0 {
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		t := fmt.Sprintf("%s%02d:%02d:%02d", sign, us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
		if f := us % 1_000_000; f != 0 {
			t += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

// JSONValue turns a scanned value into what encoding/json should write:
// decimals as exact JSON numbers, times as RFC 3339 strings, the floats
// JSON has no number for as the strings "NaN", "Infinity" and "-Infinity",
// nested lists and maps recursively.
func JSONValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nonFinite(x)
		}
	case float32:
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return nonFinite(f)
		}
	case duckdb.Decimal:
		return json.Number(DecimalString(x.Value, int(x.Scale)))
	case *big.Int:
		return json.Number(x.String())
	case time.Time, duckdb.Interval, duckdb.UUID, []byte:
		return FormatValue(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	case duckdb.Map:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[FormatValue(k)] = JSONValue(e)
		}
		return out
	}
	return v
}

func nonFinite(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case f > 0:
		return "Infinity"
	}
	return "-Infinity"
}

// DecimalFloat converts a scanned DECIMAL to float64 (for charts); other
// numbers pass through. ok is false for non-numbers.
func DecimalFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case duckdb.Decimal:
		return x.Float64(), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case int:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	return 0, false
}

// DecimalString writes unscaled × 10^-scale with exactly scale decimals.
func DecimalString(unscaled *big.Int, scale int) string {
	s := new(big.Int).Abs(unscaled).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if unscaled.Sign() < 0 {
		s = "-" + s
	}
	return s
}
