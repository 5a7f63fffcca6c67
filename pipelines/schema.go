// Package pipelines holds what every source and the lake writer share: the
// column types of the lake, schemas, the Source interface and the registry of
// source kinds. A source yields rows with a schema; the lake writer stores
// them; neither knows the other's internals.
package pipelines

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Type is a column's logical type in the lake.
type Type string

// The lake's column types. Go values in a row, by type:
//
//	string    string
//	int64     int64
//	float64   float64
//	decimal   Decimal (unscaled integer with the column's scale); columns of
//	          precision above 18 also take Decimal128

//	bool      bool
//	date      time.Time at midnight UTC
//	timestamp time.Time (stored as UTC microseconds)
//	json      string holding JSON text
//
// nil is NULL for every type.
const (
	TypeString    Type = "string"
	TypeInt64     Type = "int64"
	TypeFloat64   Type = "float64"
	TypeDecimal   Type = "decimal"
	TypeBool      Type = "bool"
	TypeDate      Type = "date"
	TypeTimestamp Type = "timestamp"
	TypeJSON      Type = "json"
)

// MaxDecimalPrecision is the largest decimal precision the lake stores:
// up to 18 digits as an INT64-backed Parquet decimal, 19 to 38 as a 16-byte
// FIXED_LEN_BYTE_ARRAY one (DuckDB reads both as DECIMAL(P,S)).
const MaxDecimalPrecision = 38

// MaxInt64DecimalPrecision is the largest precision stored in an INT64.
const MaxInt64DecimalPrecision = 18

// Decimal is an exact decimal number: Unscaled × 10^-scale, where the scale is
// the column's. Money is never a float.
type Decimal struct{ Unscaled int64 }

// Column is one column of a schema.
type Column struct {
	Name      string `json:"name"`
	Type      Type   `json:"type"`
	Precision int    `json:"precision,omitempty"`
	Scale     int    `json:"scale,omitempty"`
}

// TypeString writes the column type as it is spelled in crmwh.yaml, e.g. decimal(18,2).
func (c Column) TypeString() string {
	if c.Type == TypeDecimal {
		return fmt.Sprintf("decimal(%d,%d)", c.Precision, c.Scale)
	}
	return string(c.Type)
}

// DuckDBType is the DuckDB type the column reads back as from the lake.
func (c Column) DuckDBType() string {
	switch c.Type {
	case TypeString, TypeJSON:
		return "VARCHAR"
	case TypeInt64:
		return "BIGINT"
	case TypeFloat64:
		return "DOUBLE"
	case TypeDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", c.Precision, c.Scale)
	case TypeBool:
		return "BOOLEAN"
	case TypeDate:
		return "DATE"
	case TypeTimestamp:
		return "TIMESTAMP WITH TIME ZONE"
	}
	return "VARCHAR"
}

var decimalRE = regexp.MustCompile(`^decimal\((\d+)\s*,\s*(\d+)\)$`)

// ParseType parses a type as written in crmwh.yaml: string, int64, float64,
// decimal(P,S), bool, date, timestamp, json.
func ParseType(s string) (Column, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch Type(s) {
	case TypeString, TypeInt64, TypeFloat64, TypeBool, TypeDate, TypeTimestamp, TypeJSON:
		return Column{Type: Type(s)}, nil
	}
	if m := decimalRE.FindStringSubmatch(s); m != nil {
		p, _ := strconv.Atoi(m[1])
		sc, _ := strconv.Atoi(m[2])
		if p < 1 || p > MaxDecimalPrecision || sc > p {
			return Column{}, fmt.Errorf("decimal(%d,%d): precision must be 1 to %d and scale at most the precision", p, sc, MaxDecimalPrecision)
		}
		return Column{Type: TypeDecimal, Precision: p, Scale: sc}, nil
	}
	return Column{}, fmt.Errorf("unknown type %q (expected one of: string, int64, float64, decimal(P,S), bool, date, timestamp, json)", s)
}

// Schema is the ordered list of a stream's columns.
type Schema []Column

// Hash identifies the schema: names, types, precision and scale, in order.
func (s Schema) Hash() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Index returns the position of the named column, or -1.
func (s Schema) Index(name string) int {
	for i, c := range s {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Date returns midnight UTC of the civil date of t in its own location.
func Date(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// SchemaChangeError is a column that disappeared from a source or changed
// type while the stream's on_schema_change policy is fail.
type SchemaChangeError struct {
	Column string
	Was    string // the lake's type
	Now    string // the source's type, "" when the column is gone
}

// Error names the column and what changed.
func (e *SchemaChangeError) Error() string {
	if e.Now == "" {
		return fmt.Sprintf("column %s (%s) is no longer in the source", e.Column, e.Was)
	}
	return fmt.Sprintf("column %s changed type from %s to %s", e.Column, e.Was, e.Now)
}

// MergeSchema returns a stream's schema after rows of schema next are added
// to it: every column of the stream in its order, then next's new columns.
// Under policy fail, a column of the stream missing from next or typed
// differently is an error (a *SchemaChangeError for the first, listing
// all); under coerce the column stays and a retyped one takes Widen's type.
func MergeSchema(stream, next Schema, policy string) (Schema, error) {
	out := make(Schema, 0, len(stream)+len(next))
	var problems []string
	var first *SchemaChangeError
	note := func(e *SchemaChangeError) {
		if first == nil {
			first = e
		}
		problems = append(problems, e.Error())
	}
	for _, c := range stream {
		i := next.Index(c.Name)
		switch {
		case i < 0:
			if policy != SchemaCoerce {
				note(&SchemaChangeError{Column: c.Name, Was: c.TypeString()})
			}
			out = append(out, c)
		case next[i].TypeString() != c.TypeString():
			if policy != SchemaCoerce {
				note(&SchemaChangeError{Column: c.Name, Was: c.TypeString(), Now: next[i].TypeString()})
			}
			out = append(out, Widen(c, next[i]))
		default:
			out = append(out, c)
		}
	}
	for _, c := range next {
		if stream.Index(c.Name) < 0 {
			out = append(out, c)
		}
	}
	if first != nil {
		return nil, &schemaChanges{first: first, msg: strings.Join(problems, "; ")}
	}
	return out, nil
}

type schemaChanges struct {
	first *SchemaChangeError
	msg   string
}

func (e *schemaChanges) Error() string { return e.msg }
func (e *schemaChanges) Unwrap() error { return e.first }

// Widen returns a type both columns' values fit, named as a: the wider
// decimal, int64 into decimal or float64, date into timestamp, bool into
// int64, json into string, and string for anything else (every value has a
// text form). Widening decimal and float64 gives string: money is never
// turned into a float.
func Widen(a, b Column) Column {
	out := Column{Name: a.Name}
	ta, tb := a.Type, b.Type
	if a.TypeString() == b.TypeString() {
		return a
	}
	pair := func(x, y Type) bool { return ta == x && tb == y || ta == y && tb == x }
	switch {
	case ta == TypeDecimal && tb == TypeDecimal:
		scale := max(a.Scale, b.Scale)
		digits := max(a.Precision-a.Scale, b.Precision-b.Scale)
		if digits+scale <= MaxDecimalPrecision {
			out.Type, out.Precision, out.Scale = TypeDecimal, digits+scale, scale
			return out
		}
	case pair(TypeInt64, TypeDecimal):
		d := a
		if tb == TypeDecimal {
			d = b
		}
		digits := max(19, d.Precision-d.Scale)
		if digits+d.Scale <= MaxDecimalPrecision {
			out.Type, out.Precision, out.Scale = TypeDecimal, digits+d.Scale, d.Scale
			return out
		}
	case pair(TypeInt64, TypeFloat64):
		out.Type = TypeFloat64
		return out
	case pair(TypeDate, TypeTimestamp):
		out.Type = TypeTimestamp
		return out
	case pair(TypeBool, TypeInt64):
		out.Type = TypeInt64
		return out
	}
	out.Type = TypeString
	return out
}
