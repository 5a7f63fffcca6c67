// Package textvalue turns text fields from files (CSV, JSON Lines) into typed
// lake values, with the formats a user declares: dates such as 2024年3月5日,
// decimals such as 1,234.50, local times in a declared time zone.
package textvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"crmwh/pipelines"
)

// Parser parses the text of one column.
type Parser struct {
	Col     pipelines.Column
	layouts []string
	loc     *time.Location
}

// Default layouts, tried in order when a column declares no format.
var (
	defaultTimestampLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999Z07:00",
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
		p.layouts = defaultDateLayouts
	} else if col.Type == pipelines.TypeTimestamp {
		p.layouts = defaultTimestampLayouts
	}
	return p, nil
}

// ErrEmpty is returned for an empty field of a required column.
var ErrEmpty = errors.New("value is missing")

// Parse converts one field. An empty (or all-blank) field is NULL.
func (p *Parser) Parse(s string) (any, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		if p.Col.Type == pipelines.TypeString && s != "" {
			return s, nil
		}
		return nil, nil
	}
	switch p.Col.Type {
	case pipelines.TypeString:
		return s, nil
	case pipelines.TypeJSON:
		if !json.Valid([]byte(t)) {
			return nil, fmt.Errorf("not valid JSON")
		}
		return t, nil
	case pipelines.TypeInt64:
		v, err := strconv.ParseInt(stripThousands(t), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", short(t))
		}
		return v, nil
	case pipelines.TypeFloat64:
		v, err := strconv.ParseFloat(stripThousands(t), 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%q is not a number", short(t))
		}
		return v, nil
	case pipelines.TypeDecimal:
		v, err := ParseDecimal(t, p.Col.Precision, p.Col.Scale)
		if err != nil {
			return nil, err
		}
		return v, nil
	case pipelines.TypeBool:
		switch strings.ToLower(t) {
		case "true", "t", "1", "yes", "y", "是":
			return true, nil
		case "false", "f", "0", "no", "n", "否":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean", short(t))
	case pipelines.TypeDate:
		for _, l := range p.layouts {
			if v, err := time.Parse(l, t); err == nil {
				return pipelines.Date(v), nil
			}
		}
		return nil, fmt.Errorf("%q is not a date (expected %s)", short(t), strings.Join(p.layouts, " or "))
	case pipelines.TypeTimestamp:
		for _, l := range p.layouts {
			if v, err := time.ParseInLocation(l, t, p.loc); err == nil {
				return v.UTC(), nil
			}
		}
		return nil, fmt.Errorf("%q is not a timestamp (expected %s)", short(t), strings.Join(p.layouts, " or "))
	}
	return nil, fmt.Errorf("unsupported type %s", p.Col.Type)
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
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
// value at the given scale. More fractional digits than the scale, or more
// digits than the precision, is an error: money is never rounded silently.
func ParseDecimal(s string, precision, scale int) (pipelines.Decimal, error) {
	orig := s
	s = stripThousands(strings.TrimSpace(s))
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || !digits(intPart) || !digits(frac) {
		return pipelines.Decimal{}, fmt.Errorf("%q is not a decimal number", short(orig))
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > scale {
		return pipelines.Decimal{}, fmt.Errorf("%q has more than %d decimal places", short(orig), scale)
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > precision-scale {
		return pipelines.Decimal{}, fmt.Errorf("%q does not fit decimal(%d,%d)", short(orig), precision, scale)
	}
	frac += strings.Repeat("0", scale-len(frac))
	var v int64
	for _, c := range intPart + frac {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return pipelines.Decimal{Unscaled: v}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
