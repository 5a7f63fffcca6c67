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
