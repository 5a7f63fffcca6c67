// Package textvalue turns text fields from files (CSV, JSON Lines) and
// databases into typed lake values, with the formats a user declares:
// dates such as 2024年3月5日, decimals such as 1,234.50, local times in a
// declared time zone.
//
// Append is the hot path of file extraction: it parses a field given as
// bytes straight into a batch vector without allocating. The common
// layouts (RFC 3339 and 2006-01-02 15:04:05 timestamps, 2006-01-02 dates)
// are parsed by hand; everything else goes through the time package, and
// FuzzFastPaths checks that both always agree.
package textvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"crmwh/pipelines"
)

// Parser parses the text of one column.
type Parser struct {
	Col     pipelines.Column
	layouts []string
	loc     *time.Location
	// fast is set when the layouts are the defaults, which the hand-written
	// parsers cover (falling back to the layouts when they do not match).
	fast bool
}

// Default layouts, tried in order when a column declares no format.
var (
	defaultTimestampLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07", // PostgreSQL's text form: +08
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04",
		"2006-01-02",
	}
	defaultDateLayouts = []string{"2006-01-02", "2006/01/02", "20060102"}
)

// NewParser prepares a parser. format lists layouts in Go's reference-time
// notation separated by " | "; loc is the zone of times written without an
// offset (nil means UTC).
func NewParser(col pipelines.Column, format string, loc *time.Location) (*Parser, error) {
	p := &Parser{Col: col, loc: loc}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if format != "" {
		if col.Type != pipelines.TypeDate && col.Type != pipelines.TypeTimestamp {
			return nil, fmt.Errorf("format applies only to date and timestamp columns, not %s", col.TypeString())
		}
		for _, l := range strings.Split(format, "|") {
			if l = strings.TrimSpace(l); l != "" {
				p.layouts = append(p.layouts, l)
			}
		}
	} else if col.Type == pipelines.TypeDate {
		p.layouts, p.fast = defaultDateLayouts, true
	} else if col.Type == pipelines.TypeTimestamp {
		p.layouts, p.fast = defaultTimestampLayouts, true
	}
	if col.Type == pipelines.TypeDecimal && (col.Precision < 1 || col.Precision > pipelines.MaxDecimalPrecision || col.Scale > col.Precision) {
		return nil, fmt.Errorf("decimal(%d,%d) is out of range", col.Precision, col.Scale)
	}
	return p, nil
}

// ErrEmpty is returned for an empty field of a required column.
var ErrEmpty = errors.New("value is missing")

// Parse converts one field to the column's Go value (see pipelines.Type).
// An empty (or all-blank) field is NULL.
func (p *Parser) Parse(s string) (any, error) {
	b := pipelines.NewBatch(pipelines.Schema{p.Col})
	if err := p.Append(&b.Cols[0], []byte(s)); err != nil {
		return nil, err
	}
	b.EndRow()
	return b.Value(0, 0), nil
}

// Append parses one field and appends its value to v, the column's vector.
// An empty (or all-blank) field is NULL; a string column keeps blanks. On
// error nothing is appended.
func (p *Parser) Append(v *pipelines.Vector, field []byte) error {
	t := trimSpace(field)
	if len(t) == 0 {
		if p.Col.Type == pipelines.TypeString && len(field) > 0 {
			v.AppendBytes(field)
		} else {
			v.AppendNull()
		}
		return nil
	}
	switch p.Col.Type {
	case pipelines.TypeString:
		v.AppendBytes(field)
	case pipelines.TypeJSON:
		if !json.Valid(t) {
			return fmt.Errorf("not valid JSON")
		}
		v.AppendBytes(t)
	case pipelines.TypeInt64:
		x, err := ParseInt(t)
		if err != nil {
			return err
		}
		v.AppendInt(x)
	case pipelines.TypeFloat64:
		x, err := strconv.ParseFloat(unsafeString(t), 64)
		if err != nil {
			x, err = strconv.ParseFloat(stripThousands(string(t)), 64)
		}
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Errorf("%q is not a number", short(t))
		}
		v.AppendFloat(x)
	case pipelines.TypeDecimal:
		d, err := ParseDecimal128(t, p.Col.Precision, p.Col.Scale)
		if err != nil {
			return err
		}
		if p.Col.Precision > pipelines.MaxInt64DecimalPrecision {
			v.AppendDecimal128(d)
		} else {
			v.AppendInt(int64(d.Lo))
		}
	case pipelines.TypeBool:
		x, err := ParseBool(t)
		if err != nil {
			return err
		}
		if x {
			v.AppendInt(1)
		} else {
			v.AppendInt(0)
		}
	case pipelines.TypeDate:
		days, err := p.parseDate(t)
		if err != nil {
			return err
		}
		v.AppendInt(days)
	case pipelines.TypeTimestamp:
		us, err := p.parseTimestamp(t)
		if err != nil {
			return err
		}
		v.AppendInt(us)
	default:
		return fmt.Errorf("unsupported type %s", p.Col.Type)
	}
	return nil
}

func (p *Parser) parseDate(t []byte) (int64, error) {
	if p.fast {
		if days, ok := fastDate(t); ok {
			return days, nil
		}
	}
	s := unsafeString(t)
	for _, l := range p.layouts {
		if v, err := time.Parse(l, s); err == nil {
			return pipelines.DaysSinceEpoch(v), nil
		}
	}
	return 0, fmt.Errorf("%q is not a date (expected %s)", short(t), p.expected())
}

func (p *Parser) parseTimestamp(t []byte) (int64, error) {
	if p.fast {
		if us, ok := fastTimestamp(t, p.loc); ok {
			return us, nil
		}
	}
	s := unsafeString(t)
	for _, l := range p.layouts {
		if v, err := time.ParseInLocation(l, s, p.loc); err == nil {
			return v.UnixMicro(), nil
		}
	}
	return 0, fmt.Errorf("%q is not a timestamp (expected %s)", short(t), p.expected())
}

// expected describes the accepted layouts for messages.
func (p *Parser) expected() string {
	switch {
	case p.fast && p.Col.Type == pipelines.TypeTimestamp:
		return "RFC 3339 such as 2006-01-02T15:04:05+08:00, or 2006-01-02 15:04:05 with or without an offset, or 2006-01-02; declare the column's format for others"
	case p.fast:
		return "2006-01-02, 2006/01/02 or 20060102; declare the column's format for others"
	}
	return strings.Join(p.layouts, " or ")
}

// unsafeString views b as a string for parsing; the string must not be
// kept.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// mayBeSpace reports whether the character starting with byte c can be
// white space: ASCII space characters, and the lead bytes of Unicode's
// spaces (U+0085 and U+00A0: C2; U+1680: E1; U+2000–U+205F: E2; U+3000:
// E3). Letters such as Chinese ones (E4–E9…) are ruled out at once.
func mayBeSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0xC2, 0xE1, 0xE2, 0xE3:
		return true
	}
	return false
}

// trimSpace trims white space, Unicode's included (an ideographic space,
// say), without allocating.
func trimSpace(b []byte) []byte {
	if len(b) > 0 && !mayBeSpace(b[0]) && !mayBeSpace(lastLead(b)) {
		return b
	}
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f' {
				break
			}
			b = b[1:]
			continue
		}
		r, n := utf8.DecodeRune(b)
		if !unicode.IsSpace(r) {
			break
		}
		b = b[n:]
	}
	for len(b) > 0 {
		c := b[len(b)-1]
		if c < utf8.RuneSelf {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\v' && c != '\f' {
				break
			}
			b = b[:len(b)-1]
			continue
		}
		r, n := utf8.DecodeLastRune(b)
		if !unicode.IsSpace(r) {
			break
		}
		b = b[:len(b)-n]
	}
	return b
}

// lastLead returns the first byte of b's last character (b not empty).
func lastLead(b []byte) byte {
	i := len(b) - 1
	for i > 0 && len(b)-i < 4 && b[i]&0xC0 == 0x80 {
		i--
	}
	return b[i]
}

func short(b []byte) string {
	s := string(b)
	if len(s) > 40 {
		s = s[:40]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}

// ParseBool accepts true/false, t/f, 1/0, yes/no, y/n (any case) and 是/否.
func ParseBool(t []byte) (bool, error) {
	switch strings.ToLower(unsafeString(t)) {
	case "true", "t", "1", "yes", "y", "是":
		return true, nil
	case "false", "f", "0", "no", "n", "否":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", short(t))
}

// ParseInt parses a decimal integer, with comma thousands separators
// allowed where they belong (1,234,567).
func ParseInt(t []byte) (int64, error) {
	if x, err := strconv.ParseInt(unsafeString(t), 10, 64); err == nil {
		return x, nil
	}
	x, err := strconv.ParseInt(stripThousands(string(t)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", short(t))
	}
	return x, nil
}

// stripThousands removes comma thousands separators when they are placed
// as such (1,234,567.5); a misplaced comma is left for the number parser
// to reject.
func stripThousands(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	sign := ""
	if strings.HasPrefix(intPart, "-") || strings.HasPrefix(intPart, "+") {
		sign, intPart = intPart[:1], intPart[1:]
	}
	groups := strings.Split(intPart, ",")
	if len(groups[0]) == 0 || len(groups[0]) > 3 {
		return s
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return s
		}
	}
	out := sign + strings.Join(groups, "")
	if hasFrac {
		out += "." + frac
	}
	return out
}

// ParseDecimal parses an exact decimal such as -1,234.50 into its unscaled
// value at the given scale: a pipelines.Decimal for precision up to 18, a
// pipelines.Decimal128 above. More fractional digits than the scale, or more
// digits than the precision, is an error: money is never rounded silently.
func ParseDecimal(s string, precision, scale int) (any, error) {
	d, err := ParseDecimal128([]byte(strings.TrimSpace(s)), precision, scale)
	if err != nil {
		return nil, err
	}
	if precision > pipelines.MaxInt64DecimalPrecision {
		return d, nil
	}
	return pipelines.Decimal{Unscaled: int64(d.Lo)}, nil
}

// ParseDecimal128 parses an exact decimal (see ParseDecimal) of up to 38
// digits. Thousands separators must sit every three digits; an exponent
// (1.5E3) is accepted when the result is exact.
func ParseDecimal128(t []byte, precision, scale int) (pipelines.Decimal128, error) {
	if d, ok := fastDecimal(t, precision, scale); ok {
		return d, nil
	}
	orig := t
	bad := func() (pipelines.Decimal128, error) {
		return pipelines.Decimal128{}, fmt.Errorf("%q is not a decimal number", short(orig))
	}
	neg := false
	if len(t) > 0 && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	// Split mantissa and exponent.
	exp := 0
	if i := indexAny(t, 'e', 'E'); i >= 0 {
		e, err := strconv.Atoi(unsafeString(t[i+1:]))
		if err != nil || e > 100 || e < -100 {
			return bad()
		}
		exp, t = e, t[:i]
	}
	var intDigits, fracDigits []byte
	dot := -1
	for i, c := range t {
		if c == '.' {
			dot = i
			break
		}
	}
	if dot >= 0 {
		intDigits, fracDigits = t[:dot], t[dot+1:]
	} else {
		intDigits = t
	}
	if len(intDigits) == 0 && len(fracDigits) == 0 {
		return bad()
	}
	// Thousands separators: groups of three after the first group.
	if hasComma(intDigits) {
		clean := make([]byte, 0, len(intDigits))
		group := 0
		first := true
		for i, c := range intDigits {
			switch {
			case c == ',':
				if (first && (group == 0 || group > 3)) || (!first && group != 3) || i == len(intDigits)-1 {
					return bad()
				}
				first, group = false, 0
			case c >= '0' && c <= '9':
				clean = append(clean, c)
				group++
			default:
				return bad()
			}
		}
		if !first && group != 3 {
			return bad()
		}
		intDigits = clean
	}
	for _, c := range intDigits {
		if c < '0' || c > '9' {
			return bad()
		}
	}
	for _, c := range fracDigits {
		if c < '0' || c > '9' {
			return bad()
		}
	}
	// Apply the exponent by moving digits across the point.
	if exp != 0 {
		all := append(append([]byte{}, intDigits...), fracDigits...)
		point := len(intDigits) + exp
		for point < 0 {
			all = append([]byte{'0'}, all...)
			point++
		}
		for point > len(all) {
			all = append(all, '0')
		}
		intDigits, fracDigits = all[:point], all[point:]
	}
	for len(fracDigits) > 0 && fracDigits[len(fracDigits)-1] == '0' {
		fracDigits = fracDigits[:len(fracDigits)-1]
	}
	if len(fracDigits) > scale {
		return pipelines.Decimal128{}, fmt.Errorf("%q has more than %d decimal places", short(orig), scale)
	}
	for len(intDigits) > 0 && intDigits[0] == '0' {
		intDigits = intDigits[1:]
	}
	if len(intDigits) > precision-scale {
		return pipelines.Decimal128{}, fmt.Errorf("%q does not fit decimal(%d,%d)", short(orig), precision, scale)
	}
	var hi, lo uint64
	add := func(c byte) {
		// (hi, lo) = (hi, lo) * 10 + c; at most 38 digits, so no overflow.
		h1, l1 := bits.Mul64(lo, 10)
		hi = hi*10 + h1
		var carry uint64
		lo, carry = bits.Add64(l1, uint64(c-'0'), 0)
		hi += carry
	}
	for _, c := range intDigits {
		add(c)
	}
	for _, c := range fracDigits {
		add(c)
	}
	for i := len(fracDigits); i < scale; i++ {
		add('0')
	}
	d := pipelines.Decimal128{Hi: int64(hi), Lo: lo}
	if neg {
		d = d.Neg()
	}
	return d, nil
}

var pow10 = [19]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// fastDecimal parses the common shape [-+]digits[.digits] that fits in 18
// digits at the column's scale; anything else (separators, exponents,
// errors) is left to ParseDecimal128's general path.
func fastDecimal(t []byte, precision, scale int) (pipelines.Decimal128, bool) {
	i, neg := 0, false
	if len(t) > 0 && (t[0] == '-' || t[0] == '+') {
		neg, i = t[0] == '-', 1
	}
	var acc uint64
	intDigits, fracDigits, digits := 0, 0, 0
	dot, seen := false, false
	for ; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if digits == 0 && c == '0' && !dot {
				continue // leading zeros
			}
			if digits == 18 {
				return pipelines.Decimal128{}, false
			}
			acc = acc*10 + uint64(c-'0')
			digits++
			if dot {
				fracDigits++
			} else {
				intDigits++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return pipelines.Decimal128{}, false
		}
	}
	if !seen {
		return pipelines.Decimal128{}, false
	}
	if fracDigits > scale || intDigits > precision-scale || intDigits+scale > 18 {
		return pipelines.Decimal128{}, false
	}
	v := int64(acc * pow10[scale-fracDigits])
	if neg {
		v = -v
	}
	return pipelines.Decimal128Of(v), true
}

func hasComma(b []byte) bool {
	for _, c := range b {
		if c == ',' {
			return true
		}
	}
	return false
}

func indexAny(b []byte, x, y byte) int {
	for i, c := range b {
		if c == x || c == y {
			return i
		}
	}
	return -1
}

// digits2 reads two ASCII digits.
func digits2(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// civil reads YYYY-MM-DD and checks that the day exists.
func civil(b []byte) (y, m, d int, ok bool) {
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return 0, 0, 0, false
	}
	y1, ok1 := digits2(b[0:2])
	y2, ok2 := digits2(b[2:4])
	m, ok3 := digits2(b[5:7])
	d, ok4 := digits2(b[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || m < 1 || m > 12 || d < 1 || d > daysIn(y1*100+y2, m) {
		return 0, 0, 0, false
	}
	return y1*100 + y2, m, d, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// fastDate parses exactly YYYY-MM-DD.
func fastDate(b []byte) (int64, bool) {
	if len(b) != 10 {
		return 0, false
	}
	y, m, d, ok := civil(b)
	if !ok {
		return 0, false
	}
	return pipelines.DaysFromCivil(y, m, d), true
}

// fastTimestamp parses YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH:MM] (and
// ±HH after a space, as PostgreSQL writes), the
// shapes of the default layouts; anything else returns false and is left
// to the layouts. Times without an offset are in loc.
func fastTimestamp(b []byte, loc *time.Location) (int64, bool) {
	if len(b) < 19 || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y, mo, d, ok := civil(b[:10])
	if !ok {
		return 0, false
	}
	h, ok1 := digits2(b[11:13])
	mi, ok2 := digits2(b[14:16])
	s, ok3 := digits2(b[17:19])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	rest := b[19:]
	ns := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return 0, false
		}
		scale := 100_000_000
		for _, c := range rest[1:n] {
			ns += int(c-'0') * scale
			scale /= 10
		}
		rest = rest[n:]
	}
	switch {
	case len(rest) == 0:
		if loc == time.UTC {
			secs := pipelines.DaysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s)
			return secs*1_000_000 + int64(ns/1000), true
		}
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, loc).UnixMicro(), true
	case len(rest) == 1 && rest[0] == 'Z':
		secs := pipelines.DaysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s)
		return secs*1_000_000 + int64(ns/1000), true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
		len(rest) == 3 && (rest[0] == '+' || rest[0] == '-') && b[10] == ' ':
		oh, ok1 := digits2(rest[1:3])
		om, ok2 := 0, true
		if len(rest) == 6 {
			om, ok2 = digits2(rest[4:6])
		}
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off := int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
		secs := pipelines.DaysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s) - off
		return secs*1_000_000 + int64(ns/1000), true
	}
	return 0, false
}
