package postgres

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"crmwh/pipelines"
	"crmwh/pipelines/textvalue"
)

// The type mapping (docs/pipelines.md has it as a table):
//
//	boolean                                  bool
//	smallint, integer, bigint, oid           int64
//	real, double precision                   float64
//	numeric(P,S)                             decimal(P,S), P ≤ 38 (above: unsupported)
//	numeric (no precision)                   decimal(38,10)
//	date                                     date
//	timestamp with time zone                 timestamp (UTC)
//	timestamp without time zone              timestamp (wall clock in the stream's timezone, default UTC)
//	text, varchar, char, name, "char",
//	  citext and other string types, enums  string
//	uuid                                     string (8-4-4-4-12)
//	time, timetz, interval, inet, cidr,
//	  macaddr, macaddr8, bit, varbit, xml    string (PostgreSQL's text form)
//	json, jsonb                              json (JSON text)
//	arrays of any type above                 json (a JSON array, nested for more dimensions)
//	bytea, money, geometric, ranges,
//	  tsvector, composite and other types   unsupported: the run stops naming table, column and type
//
// Infinite dates and timestamps, NaN numerics and numerics with more
// digits than their column are quarantined with the column named.

// PlainNumeric is the lake type of numeric columns declared without a
// precision: 28 integer and 10 fractional digits. A value with more
// fractional digits goes to quarantine (money is never rounded silently);
// cast such a column in a query stream to choose the scale.
var PlainNumeric = pipelines.Column{Type: pipelines.TypeDecimal, Precision: 38, Scale: 10}

// decoder appends a non-NULL raw wire value to v.
type decoder func(raw []byte, v *pipelines.Vector, col pipelines.Column, loc *time.Location) error

type typeInfo struct {
	name   string
	col    pipelines.Column
	err    error
	dec    decoder
	format int16
}

// Unix epoch minus PostgreSQL's (2000-01-01), in days and microseconds.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1_000_000
)

var (
	errInfinity = errors.New("infinity does not fit a lake date or timestamp")
	errSize     = errors.New("unexpected value size")
)

// columnType maps one result column. trustUTF8 says the server's encoding is
// UTF8, whose text PostgreSQL has already validated.
func columnType(f pgconn.FieldDescription, types map[uint32]pgType, trustUTF8 bool) typeInfo {
	info := typeInfo{name: types[f.DataTypeOID].name, format: pgx.TextFormatCode}
	if info.name == "" {
		info.name = fmt.Sprintf("oid %d", f.DataTypeOID)
	}
	bin := func(t pipelines.Type, d decoder) typeInfo {
		info.col, info.dec, info.format = pipelines.Column{Type: t}, d, pgx.BinaryFormatCode
		return info
	}
	textDecoder := decodeText
	if trustUTF8 {
		textDecoder = decodeTrustedText
	}
	text := func(t pipelines.Type) typeInfo {
		info.col, info.dec = pipelines.Column{Type: t}, textDecoder
		return info
	}
	switch f.DataTypeOID {
	case pgtype.BoolOID:
		return bin(pipelines.TypeBool, decodeBool)
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		return bin(pipelines.TypeInt64, decodeInt)
	case pgtype.OIDOID:
		return bin(pipelines.TypeInt64, decodeOID)
	case pgtype.Float4OID:
		return bin(pipelines.TypeFloat64, decodeFloat4)
	case pgtype.Float8OID:
		return bin(pipelines.TypeFloat64, decodeFloat8)
	case pgtype.NumericOID:
		info.dec = decodeNumeric
		if f.TypeModifier < 4 {
			info.col = PlainNumeric
			return info
		}
		p, s := int((f.TypeModifier-4)>>16)&0xffff, int(f.TypeModifier-4)&0xffff
		info.name = fmt.Sprintf("numeric(%d,%d)", p, s)
		if p > pipelines.MaxDecimalPrecision || s > p {
			info.err = fmt.Errorf("the lake keeps decimals of up to %d digits; cast the column in a query stream, e.g. %s::numeric(38,%d)", pipelines.MaxDecimalPrecision, "col", min(s, 10))
			return info
		}
		info.col = pipelines.Column{Type: pipelines.TypeDecimal, Precision: p, Scale: s}
		return info
	case pgtype.DateOID:
		return bin(pipelines.TypeDate, decodeDate)
	case pgtype.TimestamptzOID:
		return bin(pipelines.TypeTimestamp, decodeTimestamptz)
	case pgtype.TimestampOID:
		return bin(pipelines.TypeTimestamp, decodeTimestamp)
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.QCharOID:
		return bin(pipelines.TypeString, textDecoder)
	case pgtype.JSONOID:
		return bin(pipelines.TypeJSON, textDecoder)
	case pgtype.JSONBOID:
		return bin(pipelines.TypeJSON, decodeJSONB)
	case pgtype.UUIDOID:
		return bin(pipelines.TypeString, decodeUUID)
	case pgtype.TimeOID, pgtype.TimetzOID, pgtype.IntervalOID, pgtype.InetOID, pgtype.CIDROID,
		pgtype.MacaddrOID, 774 /* macaddr8 */, pgtype.BitOID, pgtype.VarbitOID, pgtype.XMLOID:
		return text(pipelines.TypeString)
	case pgtype.ByteaOID:
		info.err = errors.New("binary data has no lake type; select encode(col, 'base64') AS col in a query stream")
		return info
	case 790: // money
		info.err = errors.New("its text depends on the server's lc_monetary; select col::numeric(19,2) AS col in a query stream")
		return info
	}
	t, known := types[f.DataTypeOID]
	switch {
	case known && t.typtype == 'e':
		return text(pipelines.TypeString) // enum: its label
	case known && t.category == 'S':
		return text(pipelines.TypeString) // citext and other string types
	case known && t.category == 'A' && t.elem != 0:
		elem := pgconn.FieldDescription{DataTypeOID: t.elem, TypeModifier: -1}
		ei := columnType(elem, types, trustUTF8)
		if ei.err != nil {
			info.err = fmt.Errorf("arrays of %s are not supported: %v", ei.name, ei.err)
			return info
		}
		kind := JSONString
		switch ei.col.Type {
		case pipelines.TypeInt64, pipelines.TypeFloat64, pipelines.TypeDecimal:
			kind = JSONNumber
		case pipelines.TypeBool:
			kind = JSONBool
		case pipelines.TypeJSON:
			kind = JSONRaw
		}
		info.col = pipelines.Column{Type: pipelines.TypeJSON}
		info.dec = func(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
			out, err := ArrayToJSON(raw, kind)
			if err != nil {
				return err
			}
			v.AppendBytes(out)
			return nil
		}
		return info
	}
	info.err = fmt.Errorf("type %s is not supported; cast it in a query stream (for example col::text AS col)", info.name)
	return info
}

func decodeBool(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 1 {
		return errSize
	}
	v.AppendInt(int64(raw[0] & 1))
	return nil
}

func decodeInt(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	switch len(raw) {
	case 2:
		v.AppendInt(int64(int16(binary.BigEndian.Uint16(raw))))
	case 4:
		v.AppendInt(int64(int32(binary.BigEndian.Uint32(raw))))
	case 8:
		v.AppendInt(int64(binary.BigEndian.Uint64(raw)))
	default:
		return errSize
	}
	return nil
}

// decodeOID reads an oid, which is unsigned.
func decodeOID(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 4 {
		return errSize
	}
	v.AppendInt(int64(binary.BigEndian.Uint32(raw)))
	return nil
}

func decodeFloat4(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 4 {
		return errSize
	}
	f := math.Float32frombits(binary.BigEndian.Uint32(raw))
	// Through the shortest text, so real 0.1 is 0.1 and not 0.100000001.
	x, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	v.AppendFloat(x)
	return nil
}

func decodeFloat8(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 8 {
		return errSize
	}
	v.AppendFloat(math.Float64frombits(binary.BigEndian.Uint64(raw)))
	return nil
}

func decodeNumeric(raw []byte, v *pipelines.Vector, col pipelines.Column, _ *time.Location) error {
	d, err := textvalue.ParseDecimal128(raw, col.Precision, col.Scale)
	if err != nil {
		return err
	}
	if col.Precision > pipelines.MaxInt64DecimalPrecision {
		v.AppendDecimal128(d)
	} else {
		v.AppendInt(int64(d.Lo))
	}
	return nil
}

func decodeDate(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 4 {
		return errSize
	}
	d := int32(binary.BigEndian.Uint32(raw))
	if d == math.MaxInt32 || d == math.MinInt32 {
		return errInfinity
	}
	v.AppendInt(int64(d) + pgEpochDays)
	return nil
}

func decodeTimestamptz(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 8 {
		return errSize
	}
	us := int64(binary.BigEndian.Uint64(raw))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return errInfinity
	}
	v.AppendInt(us + pgEpochMicros)
	return nil
}

// decodeTimestamp reads a timestamp without time zone as a wall clock in
// the stream's zone.
func decodeTimestamp(raw []byte, v *pipelines.Vector, _ pipelines.Column, loc *time.Location) error {
	if len(raw) != 8 {
		return errSize
	}
	us := int64(binary.BigEndian.Uint64(raw))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return errInfinity
	}
	us += pgEpochMicros
	if loc != time.UTC {
		w := time.UnixMicro(us).UTC()
		us = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc).UnixMicro()
	}
	v.AppendInt(us)
	return nil
}

func decodeText(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if !utf8.Valid(raw) {
		return errors.New("text is not valid UTF-8")
	}
	v.AppendBytes(raw)
	return nil
}

// decodeTrustedText is decodeText for a UTF8 server, which sends only
// valid UTF-8.
func decodeTrustedText(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	v.AppendBytes(raw)
	return nil
}

func decodeJSONB(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) == 0 || raw[0] != 1 {
		return errors.New("unknown jsonb format version")
	}
	if !utf8.Valid(raw[1:]) {
		return errors.New("text is not valid UTF-8")
	}
	v.AppendBytes(raw[1:])
	return nil
}

func decodeUUID(raw []byte, v *pipelines.Vector, _ pipelines.Column, _ *time.Location) error {
	if len(raw) != 16 {
		return errSize
	}
	var b [36]byte
	hex.Encode(b[0:8], raw[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], raw[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], raw[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], raw[8:10])
	b[23] = '-'
	hex.Encode(b[24:], raw[10:])
	v.AppendBytes(b[:])
	return nil
}

// JSONKind says how array elements become JSON.
type JSONKind int

// How ArrayToJSON writes elements.
const (
	JSONString JSONKind = iota // a JSON string
	JSONNumber                 // a JSON number (NaN and infinities as strings)
	JSONBool                   // t/f as true/false
	JSONRaw                    // already JSON
)

// ArrayToJSON turns PostgreSQL's text form of an array ({1,2,NULL},
// {"a b","c\"d"}, {{1,2},{3,4}}, [0:1]={1,2}) into a JSON array; NULL
// elements are null. kind says how elements are written.
func ArrayToJSON(raw []byte, kind JSONKind) ([]byte, error) {
	p := arrayParser{s: raw, kind: kind}
	if len(raw) > 0 && raw[0] == '[' {
		// Dimension decoration for lower bounds other than 1.
		i := 0
		for i < len(raw) && raw[i] != '=' {
			i++
		}
		if i == len(raw) {
			return nil, errors.New("malformed array")
		}
		p.i = i + 1
	}
	if err := p.array(0); err != nil {
		return nil, err
	}
	if p.i != len(p.s) {
		return nil, errors.New("malformed array: text after the closing brace")
	}
	return p.out, nil
}

type arrayParser struct {
	s    []byte
	i    int
	kind JSONKind
	out  []byte
}

func (p *arrayParser) array(depth int) error {
	if depth > 6 || p.i >= len(p.s) || p.s[p.i] != '{' {
		return errors.New("malformed array")
	}
	p.i++
	p.out = append(p.out, '[')
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		p.out = append(p.out, ']')
		return nil
	}
	for n := 0; ; n++ {
		if n > 0 {
			p.out = append(p.out, ',')
		}
		if p.i >= len(p.s) {
			return errors.New("malformed array")
		}
		switch p.s[p.i] {
		case '{':
			if err := p.array(depth + 1); err != nil {
				return err
			}
		case '"':
			elem, err := p.quoted()
			if err != nil {
				return err
			}
			if err := p.element(elem, true); err != nil {
				return err
			}
		default:
			start := p.i
			for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != '}' {
				p.i++
			}
			if err := p.element(p.s[start:p.i], false); err != nil {
				return err
			}
		}
		if p.i >= len(p.s) {
			return errors.New("malformed array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.out = append(p.out, ']')
			return nil
		default:
			return errors.New("malformed array")
		}
	}
}

func (p *arrayParser) quoted() ([]byte, error) {
	p.i++ // opening quote
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case '\\':
			if p.i+1 >= len(p.s) {
				return nil, errors.New("malformed array")
			}
			b = append(b, p.s[p.i+1])
			p.i += 2
		case '"':
			p.i++
			return b, nil
		default:
			b = append(b, c)
			p.i++
		}
	}
	return nil, errors.New("malformed array: unclosed quote")
}

func (p *arrayParser) element(e []byte, quoted bool) error {
	if !quoted && string(e) == "NULL" {
		p.out = append(p.out, "null"...)
		return nil
	}
	switch p.kind {
	case JSONNumber:
		if json.Valid(e) {
			p.out = append(p.out, e...)
			return nil
		}
	case JSONBool:
		switch string(e) {
		case "t":
			p.out = append(p.out, "true"...)
			return nil
		case "f":
			p.out = append(p.out, "false"...)
			return nil
		}
	case JSONRaw:
		if json.Valid(e) {
			p.out = append(p.out, e...)
			return nil
		}
		return errors.New("array element is not valid JSON")
	}
	if !utf8.Valid(e) {
		return errors.New("text is not valid UTF-8")
	}
	s, _ := json.Marshal(string(e))
	p.out = append(p.out, s...)
	return nil
}
