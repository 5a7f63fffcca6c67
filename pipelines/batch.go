package pipelines

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zeebo/xxh3"
)

// Batch is a block of rows stored column by column: the form in which
// sources hand rows to the lake writer. Filling typed vectors instead of
// [][]any saves an allocation per value, which is most of the cost of
// moving millions of rows.
//
// A source appends one value (or NULL) to every column's vector and then
// calls EndRow. A row that turns out bad half-way is dropped with
// Truncate(b.Len()).
type Batch struct {
	Schema Schema
	Cols   []Vector
	rows   int
	hash   []byte
}

// Vector is one column of a batch. Every row has a slot in Null and in the
// value slice that the column's type uses (text must be valid UTF-8:
// sources check it, and AppendValue does):
//
//	Ints    int64; bool (0 or 1); date (days since 1970-01-01); timestamp
//	        (microseconds since 1970-01-01 UTC); decimal (unscaled value, the
//	        low 64 bits for precision above 18)
//	His     decimal of precision above 18: the high 64 bits
//	Floats  float64
//	Data    string and json: the values' bytes, one after the other, with
//	Ends    the end offset of each row's value in Data
type Vector struct {
	Null   []bool
	Ints   []int64
	His    []int64
	Floats []float64
	Data   []byte
	Ends   []int
	kind   vectorKind
}

type vectorKind uint8

const (
	kindInt vectorKind = iota
	kindFloat
	kindBytes
	kindDec128
)

func kindOf(c Column) vectorKind {
	switch c.Type {
	case TypeFloat64:
		return kindFloat
	case TypeString, TypeJSON:
		return kindBytes
	case TypeDecimal:
		if c.Precision > MaxInt64DecimalPrecision {
			return kindDec128
		}
	}
	return kindInt
}

// NewBatch makes an empty batch for the schema.
func NewBatch(s Schema) *Batch {
	b := &Batch{Schema: s, Cols: make([]Vector, len(s))}
	for i, c := range s {
		b.Cols[i].kind = kindOf(c)
	}
	return b
}

// Len is the number of complete rows.
func (b *Batch) Len() int { return b.rows }

// EndRow completes the row whose values were appended.
func (b *Batch) EndRow() { b.rows++ }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() { b.Truncate(0) }

// Truncate drops every row from n on, and any values appended after row n
// that were not ended.
func (b *Batch) Truncate(n int) {
	for i := range b.Cols {
		b.Cols[i].truncate(n)
	}
	b.rows = n
}

// Swap exchanges the rows (and memory) of two batches of one schema.
func (b *Batch) Swap(o *Batch) {
	b.Cols, o.Cols = o.Cols, b.Cols
	b.rows, o.rows = o.rows, b.rows
}

// AppendRowOf appends row i of another batch of the same schema.
func (b *Batch) AppendRowOf(o *Batch, i int) {
	for c := range b.Cols {
		v, w := &b.Cols[c], &o.Cols[c]
		if w.Null[i] {
			v.AppendNull()
			continue
		}
		switch v.kind {
		case kindInt:
			v.AppendInt(w.Ints[i])
		case kindDec128:
			v.AppendDecimal128(Decimal128{Hi: w.His[i], Lo: uint64(w.Ints[i])})
		case kindFloat:
			v.AppendFloat(w.Floats[i])
		case kindBytes:
			v.AppendBytes(w.BytesAt(i))
		}
	}
	b.EndRow()
}

// Bytes is about how much memory the batch's values take.
func (b *Batch) Bytes() int {
	n := 0
	for i := range b.Cols {
		v := &b.Cols[i]
		n += len(v.Null) + 8*(len(v.Ints)+len(v.His)+len(v.Floats)+len(v.Ends)) + len(v.Data)
	}
	return n
}

func (v *Vector) truncate(n int) {
	if len(v.Null) <= n {
		return
	}
	v.Null = v.Null[:n]
	switch v.kind {
	case kindInt:
		v.Ints = v.Ints[:n]
	case kindDec128:
		v.Ints, v.His = v.Ints[:n], v.His[:n]
	case kindFloat:
		v.Floats = v.Floats[:n]
	case kindBytes:
		v.Ends = v.Ends[:n]
		end := 0
		if n > 0 {
			end = v.Ends[n-1]
		}
		v.Data = v.Data[:end]
	}
}

// Len is the number of values in the vector.
func (v *Vector) Len() int { return len(v.Null) }

// AppendNull appends a NULL.
func (v *Vector) AppendNull() {
	v.Null = append(v.Null, true)
	switch v.kind {
	case kindInt:
		v.Ints = append(v.Ints, 0)
	case kindDec128:
		v.Ints, v.His = append(v.Ints, 0), append(v.His, 0)
	case kindFloat:
		v.Floats = append(v.Floats, 0)
	case kindBytes:
		v.Ends = append(v.Ends, len(v.Data))
	}
}

// AppendInt appends an int64, a bool as 0 or 1, a date as days since
// 1970-01-01, a timestamp as microseconds since 1970-01-01 UTC or a
// decimal's unscaled value.
func (v *Vector) AppendInt(x int64) {
	v.Null = append(v.Null, false)
	v.Ints = append(v.Ints, x)
	if v.kind == kindDec128 {
		hi := int64(0)
		if x < 0 {
			hi = -1
		}
		v.His = append(v.His, hi)
	}
}

// AppendDecimal128 appends the unscaled value of a decimal of precision
// above 18.
func (v *Vector) AppendDecimal128(d Decimal128) {
	v.Null = append(v.Null, false)
	v.Ints, v.His = append(v.Ints, int64(d.Lo)), append(v.His, d.Hi)
}

// AppendFloat appends a float64.
func (v *Vector) AppendFloat(f float64) {
	v.Null = append(v.Null, false)
	v.Floats = append(v.Floats, f)
}

// AppendBytes appends a string or JSON value given as bytes (copied).
func (v *Vector) AppendBytes(p []byte) {
	v.Null = append(v.Null, false)
	v.Data = append(v.Data, p...)
	v.Ends = append(v.Ends, len(v.Data))
}

// AppendString appends a string or JSON value.
func (v *Vector) AppendString(s string) {
	v.Null = append(v.Null, false)
	v.Data = append(v.Data, s...)
	v.Ends = append(v.Ends, len(v.Data))
}

// BytesAt returns row i's string or JSON value; it aliases the vector.
func (v *Vector) BytesAt(i int) []byte {
	start := 0
	if i > 0 {
		start = v.Ends[i-1]
	}
	return v.Data[start:v.Ends[i]]
}

// DaysSinceEpoch is the day number of t's civil date (in t's own location)
// counted from 1970-01-01.
func DaysSinceEpoch(t time.Time) int64 {
	y, m, d := t.Date()
	return daysFromCivil(int64(y), int64(m), int64(d))
}

// daysFromCivil is Howard Hinnant's days_from_civil.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// DaysFromCivil is the day number of a calendar date counted from 1970-01-01.
func DaysFromCivil(year, month, day int) int64 {
	return daysFromCivil(int64(year), int64(month), int64(day))
}

// DateOfDays is midnight UTC of a day number.
func DateOfDays(days int64) time.Time { return time.Unix(days*86400, 0).UTC() }

// TimeOfMicros is the UTC time of microseconds since 1970-01-01.
func TimeOfMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// AppendValue appends one Go value of the column's type (see Type) or nil.
func (b *Batch) AppendValue(col int, x any) error {
	v := &b.Cols[col]
	c := b.Schema[col]
	if x == nil {
		v.AppendNull()
		return nil
	}
	ok := true
	switch c.Type {
	case TypeString, TypeJSON:
		s, is := x.(string)
		if ok = is; ok {
			if !utf8.ValidString(s) {
				return fmt.Errorf("column %s: text is not valid UTF-8", c.Name)
			}
			v.AppendString(s)
		}
	case TypeInt64:
		i, is := x.(int64)
		if ok = is; ok {
			v.AppendInt(i)
		}
	case TypeFloat64:
		f, is := x.(float64)
		if ok = is; ok {
			v.AppendFloat(f)
		}
	case TypeBool:
		bv, is := x.(bool)
		if ok = is; ok {
			i := int64(0)
			if bv {
				i = 1
			}
			v.AppendInt(i)
		}
	case TypeDecimal:
		switch d := x.(type) {
		case Decimal:
			v.AppendInt(d.Unscaled)
		case Decimal128:
			if v.kind != kindDec128 {
				if d.Hi != 0 && d.Hi != -1 || (d.Hi == 0) != (int64(d.Lo) >= 0) {
					return fmt.Errorf("column %s: value %s does not fit %s", c.Name, d.Text(c.Scale), c.TypeString())
				}
				v.AppendInt(int64(d.Lo))
			} else {
				v.AppendDecimal128(d)
			}
		default:
			ok = false
		}
	case TypeDate:
		t, is := x.(time.Time)
		if ok = is; ok {
			v.AppendInt(DaysSinceEpoch(t))
		}
	case TypeTimestamp:
		t, is := x.(time.Time)
		if ok = is; ok {
			v.AppendInt(t.UnixMicro())
		}
	default:
		ok = false
	}
	if !ok {
		return fmt.Errorf("column %s: value %v (%T) does not fit type %s", c.Name, x, x, c.TypeString())
	}
	return nil
}

// AppendRow appends a row of Go values, one per column (see Type). On error
// nothing of the row stays.
func (b *Batch) AppendRow(row []any) error {
	if len(row) != len(b.Schema) {
		return fmt.Errorf("row has %d values, schema has %d columns", len(row), len(b.Schema))
	}
	for i, x := range row {
		if err := b.AppendValue(i, x); err != nil {
			b.Truncate(b.rows)
			return err
		}
	}
	b.EndRow()
	return nil
}

// Value returns row i's value of a column as a Go value (see Type), or nil.
func (b *Batch) Value(col, i int) any {
	v := &b.Cols[col]
	if v.Null[i] {
		return nil
	}
	c := b.Schema[col]
	switch c.Type {
	case TypeString, TypeJSON:
		return string(v.BytesAt(i))
	case TypeInt64:
		return v.Ints[i]
	case TypeFloat64:
		return v.Floats[i]
	case TypeBool:
		return v.Ints[i] != 0
	case TypeDecimal:
		if v.kind == kindDec128 {
			return Decimal128{Hi: v.His[i], Lo: uint64(v.Ints[i])}
		}
		return Decimal{Unscaled: v.Ints[i]}
	case TypeDate:
		return DateOfDays(v.Ints[i])
	case TypeTimestamp:
		return TimeOfMicros(v.Ints[i])
	}
	return nil
}

// Text renders row i's value of a column as text ("" for NULL): decimals
// with their scale, dates as 2006-01-02, timestamps as RFC 3339 in UTC.
func (b *Batch) Text(col, i int) string {
	v := &b.Cols[col]
	if v.Null[i] {
		return ""
	}
	c := b.Schema[col]
	switch c.Type {
	case TypeString, TypeJSON:
		return string(v.BytesAt(i))
	case TypeInt64:
		return strconv.FormatInt(v.Ints[i], 10)
	case TypeFloat64:
		return strconv.FormatFloat(v.Floats[i], 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.Ints[i] != 0)
	case TypeDecimal:
		if v.kind == kindDec128 {
			return Decimal128{Hi: v.His[i], Lo: uint64(v.Ints[i])}.Text(c.Scale)
		}
		return Decimal{Unscaled: v.Ints[i]}.Text(c.Scale)
	case TypeDate:
		return DateOfDays(v.Ints[i]).Format("2006-01-02")
	case TypeTimestamp:
		return TimeOfMicros(v.Ints[i]).Format(time.RFC3339Nano)
	}
	return ""
}

// RowText renders row i as name=value pairs, for quarantine records.
func (b *Batch) RowText(i int) string {
	var sb strings.Builder
	for c := range b.Schema {
		if c > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(b.Schema[c].Name)
		sb.WriteByte('=')
		if b.Cols[c].Null[i] {
			sb.WriteString("NULL")
		} else {
			sb.WriteString(b.Text(c, i))
		}
	}
	return sb.String()
}

// RowHash is a 128-bit hash of row i's values (and which are NULL), the
// same for equal rows whatever source or batch they came from. Extraction
// uses it to recognise rows read again in a look-back window.
func (b *Batch) RowHash(i int) [16]byte { return b.HashOf(i, nil, false) }

// HashOf is RowHash over the columns cols (all when nil), in that order.
// A look-back window uses it with every column and trimNulls.
// With trimNulls, NULLs after the last non-NULL value are left out, so a
// column added at the end of a table (NULL in the rows loaded before it)
// does not change the hash of a row read again.
func (b *Batch) HashOf(i int, cols []int, trimNulls bool) [16]byte {
	h := b.hash[:0]
	n := len(b.Cols)
	if cols != nil {
		n = len(cols)
	}
	col := func(k int) int {
		if cols == nil {
			return k
		}
		return cols[k]
	}
	if trimNulls {
		for n > 0 && b.Cols[col(n-1)].Null[i] {
			n--
		}
	}
	for k := 0; k < n; k++ {
		v := &b.Cols[col(k)]
		if v.Null[i] {
			h = append(h, 0)
			continue
		}
		h = append(h, 1)
		switch v.kind {
		case kindInt:
			h = binary.LittleEndian.AppendUint64(h, uint64(v.Ints[i]))
		case kindDec128:
			h = binary.LittleEndian.AppendUint64(h, uint64(v.Ints[i]))
			h = binary.LittleEndian.AppendUint64(h, uint64(v.His[i]))
		case kindFloat:
			h = binary.LittleEndian.AppendUint64(h, math.Float64bits(v.Floats[i]))
		case kindBytes:
			p := v.BytesAt(i)
			h = binary.LittleEndian.AppendUint32(h, uint32(len(p)))
			h = append(h, p...)
		}
	}
	b.hash = h
	return xxh3.Hash128(h).Bytes()
}
