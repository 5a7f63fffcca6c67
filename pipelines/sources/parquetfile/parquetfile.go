// Package parquetfile is the "parquet" source kind: Parquet files matched
// by a glob, each loaded exactly once like CSV and JSON Lines files (see
// pipelines/sources/files), read with github.com/parquet-go/parquet-go.
//
// A stream either declares its columns in crmwh.yaml (each takes the
// file's column of its name, or the one its `field` key names, exactly,
// then ignoring case; the file's value is converted to the declared type,
// through the same text parsers as CSV fields when the types differ), or
// takes them from the file's schema: every top-level column, typed as
// ColumnOf says. Then the first new file of a run gives the schema and
// every other file of the run must have the same columns and types.
//
// Nested columns (lists, maps, structs) and a few physical types cannot
// be loaded: the file fails naming the column (declare the other columns
// to leave it out). A value that does not fit its column (text that is not
// UTF-8, an unsigned integer above the int64 range, a string that is not a
// date of the declared format) goes to quarantine with the file and the
// row's number (1-based) as its line.
package parquetfile

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"crmwh/pipelines"
	"crmwh/pipelines/sources/files"
	"crmwh/pipelines/textvalue"
)

func init() {
	pipelines.Register("parquet", pipelines.Kind{New: New, Validate: Validate})
}

// batchRows is how many rows are handed to the lake at a time.
const batchRows = 8192

// Source reads Parquet streams.
type Source struct {
	cfg pipelines.SourceConfig
	env pipelines.Env
}

// New opens a parquet source.
func New(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
	return &Source{cfg: cfg, env: env}, nil
}

// Close implements pipelines.Source.
func (s *Source) Close() error { return nil }

// Validate checks a parquet source's config.
func Validate(cfg pipelines.SourceConfig, report func(path, msg string)) {
	if cfg.DSN != "" {
		report("dsn", "a parquet source reads files; dsn is for SQL sources")
	}
	for i, st := range cfg.Streams {
		p := fmt.Sprintf("streams[%d]", i)
		// Columns are optional here: without them the file's schema is used.
		files.ValidateCommon(st, p, "parquet", func(path, msg string) {
			if path == p+".columns" && len(st.Columns) == 0 {
				return
			}
			report(path, msg)
		})
		for _, k := range []struct {
			set bool
			key string
		}{{st.Encoding != "", "encoding"}, {st.Delimiter != "", "delimiter"}, {st.Quote != "", "quote"}} {
			if k.set {
				report(p+"."+k.key, "not used by parquet sources")
			}
		}
		for j, c := range st.Columns {
			if c.Header != "" {
				report(fmt.Sprintf("%s.columns[%d].header", p, j), "not used by parquet sources (the file's column name is field)")
			}
		}
		files.ValidateColumns(st, p, report)
	}
}

// Extract implements pipelines.Source: every matching file not yet loaded
// is read, in name order, in batches that commit together.
func (s *Source) Extract(ctx context.Context, st pipelines.StreamConfig, state pipelines.State, sink pipelines.Sink) error {
	l := &loader{st: st, env: s.env, loc: st.Location()}
	var schema pipelines.Schema
	if len(st.Columns) > 0 {
		ps, err := files.Parsers(st)
		if err != nil {
			return err
		}
		l.parsers = ps
		schema = files.Schema(ps)
	} else {
		first, err := firstNewFile(s.env, st, state)
		if err != nil {
			return err
		}
		if first != "" {
			cols, err := FileColumns(first, l.loc)
			if err != nil {
				return fmt.Errorf("%s: %w", relPath(s.env.BaseDir, first), err)
			}
			for _, c := range cols {
				if c.Err != nil {
					return fmt.Errorf("%s: column %s: %w; declare the stream's columns in crmwh.yaml to leave it out", relPath(s.env.BaseDir, first), c.Name, c.Err)
				}
				schema = append(schema, c.Col)
			}
		}
	}
	l.batch = pipelines.NewBatch(schema)
	return files.Extract(ctx, s.env, st, state, sink, schema, l.load)
}

// firstNewFile is the first file of the glob, in name order, that the
// stream has not loaded ("" when there is none).
func firstNewFile(env pipelines.Env, st pipelines.StreamConfig, state pipelines.State) (string, error) {
	pattern := st.Path
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(env.BaseDir, pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("bad glob %q: %w", st.Path, err)
	}
	sort.Strings(matches)
	for _, f := range matches {
		if info, err := os.Stat(f); err != nil || info.IsDir() {
			continue
		}
		if _, ok := state.Files[relPath(env.BaseDir, f)]; !ok {
			return f, nil
		}
	}
	return "", nil
}

// relPath is the manifest's key of a file (as pipelines/sources/files
// writes it).
func relPath(base, f string) string {
	if rel, err := filepath.Rel(base, f); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(f)
}

// FileColumn is one top-level column of a Parquet file.
type FileColumn struct {
	// Name is the column's name in the file.
	Name string
	// Col is its lake column (named Name) when Err is nil.
	Col pipelines.Column
	// Type is the file's type, as parquet-go prints it (e.g. INT64,
	// TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)).
	Type string
	// LocalTime is true for a timestamp without a time zone (a wall clock,
	// read in the stream's zone).
	LocalTime bool
	// Err says why the column cannot be loaded.
	Err error
}

// FileColumns reads a Parquet file's footer and lists its top-level
// columns with the lake type each loads as.
func FileColumns(path string, loc *time.Location) ([]FileColumn, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pf, err := openParquet(f)
	if err != nil {
		return nil, err
	}
	var out []FileColumn
	for _, fd := range pf.Schema().Fields() {
		c := FileColumn{Name: fd.Name()}
		nc, err := natural(fd, loc)
		if err != nil {
			c.Err = err
		} else {
			c.Col, c.LocalTime = nc.col, nc.local
			c.Col.Name = fd.Name()
		}
		if fd.Leaf() {
			c.Type = fd.Type().String()
		} else {
			c.Type = "group"
		}
		out = append(out, c)
	}
	return out, nil
}

// openParquet opens a file's footer, turning parquet-go's panics on
// malformed metadata into errors.
func openParquet(f *os.File) (pf *parquet.File, err error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			pf, err = nil, fmt.Errorf("not a readable Parquet file: %v", r)
		}
	}()
	pf, err = parquet.OpenFile(f, info.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	return pf, nil
}

// naturalColumn is how a file column loads when the stream does not
// declare its type.
type naturalColumn struct {
	col   pipelines.Column
	local bool // timestamp without a zone
	conv  func(v parquet.Value, out *pipelines.Vector) error
}

var errNotUTF8 = errors.New("text is not valid UTF-8")

// natural maps a file column to its lake column and a converter. The
// mapping follows the Parquet logical types: strings, enums and plain byte
// arrays → string; JSON → json; UUID → string; integers → int64 (unsigned
// 64-bit values above the int64 range are quarantined); float and double →
// float64; decimal(P,S) → decimal(P,S) up to 38 digits; date → date;
// timestamps of any unit → timestamp (without a zone: the wall clock in
// the stream's zone); INT96 → timestamp (UTC); time → string; boolean →
// bool. Groups, repeated columns, BSON, intervals, geometry and plain
// fixed-length byte arrays are not supported.
func natural(fd parquet.Node, loc *time.Location) (naturalColumn, error) {
	if !fd.Leaf() {
		return naturalColumn{}, errors.New("a nested column (list, map or struct) cannot be loaded")
	}
	if fd.Repeated() {
		return naturalColumn{}, errors.New("a repeated column cannot be loaded")
	}
	t := fd.Type()
	kind := t.Kind()
	col := func(tp pipelines.Type) pipelines.Column { return pipelines.Column{Type: tp} }
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch x := lt.(type) {
	case *format.StringType, *format.EnumType:
		return naturalColumn{col: col(pipelines.TypeString), conv: textConv}, nil
	case *format.JsonType:
		return naturalColumn{col: col(pipelines.TypeJSON), conv: textConv}, nil
	case *format.UUIDType:
		return naturalColumn{col: col(pipelines.TypeString), conv: func(v parquet.Value, out *pipelines.Vector) error {
			b := v.ByteArray()
			if len(b) != 16 {
				return fmt.Errorf("uuid of %d bytes", len(b))
			}
			h := hex.EncodeToString(b)
			out.AppendString(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
			return nil
		}}, nil
	case *format.DateType:
		return naturalColumn{col: col(pipelines.TypeDate), conv: func(v parquet.Value, out *pipelines.Vector) error {
			out.AppendInt(int64(v.Int32()))
			return nil
		}}, nil
	case *format.TimestampType:
		per := int64(1) // microseconds per value (milliseconds), or
		div := int64(1) // values per microsecond (nanoseconds)
		switch unitOf(x.Unit) {
		case time.Millisecond:
			per = 1000
		case time.Nanosecond:
			div = 1000
		}
		local := !x.IsAdjustedToUTC
		return naturalColumn{col: col(pipelines.TypeTimestamp), local: local, conv: func(v parquet.Value, out *pipelines.Vector) error {
			n := v.Int64()
			var us int64
			if div > 1 {
				us = floorDiv(n, div)
			} else {
				if n > math.MaxInt64/per || n < math.MinInt64/per {
					return fmt.Errorf("timestamp %d is out of range", n)
				}
				us = n * per
			}
			if local {
				us = wallClock(us, loc)
			}
			out.AppendInt(us)
			return nil
		}}, nil
	case *format.TimeType:
		return naturalColumn{col: col(pipelines.TypeString), conv: func(v parquet.Value, out *pipelines.Vector) error {
			var ns int64
			switch unitOf(x.Unit) {
			case time.Millisecond:
				ns = int64(v.Int32()) * 1e6
			case time.Nanosecond:
				ns = v.Int64()
			default:
				ns = v.Int64() * 1e3
			}
			out.AppendString(time.Unix(0, ns).UTC().Format("15:04:05.999999999"))
			return nil
		}}, nil
	case *format.IntType:
		if !x.IsSigned {
			return naturalColumn{col: col(pipelines.TypeInt64), conv: func(v parquet.Value, out *pipelines.Vector) error {
				var u uint64
				if kind == parquet.Int32 {
					u = uint64(uint32(v.Int32()))
				} else {
					u = v.Uint64()
				}
				if u > math.MaxInt64 {
					return fmt.Errorf("%d does not fit int64", u)
				}
				out.AppendInt(int64(u))
				return nil
			}}, nil
		}
		return naturalColumn{col: col(pipelines.TypeInt64), conv: intConv(kind)}, nil
	case *format.DecimalType:
		p, s := int(x.Precision), int(x.Scale)
		if p < 1 || p > pipelines.MaxDecimalPrecision || s < 0 || s > p {
			return naturalColumn{}, fmt.Errorf("decimal(%d,%d) is beyond the lake's 38 digits", p, s)
		}
		return naturalColumn{col: pipelines.Column{Type: pipelines.TypeDecimal, Precision: p, Scale: s}, conv: decimalConv(kind, p)}, nil
	case *format.Float16Type:
		return naturalColumn{col: col(pipelines.TypeFloat64), conv: func(v parquet.Value, out *pipelines.Vector) error {
			b := v.ByteArray()
			if len(b) != 2 {
				return fmt.Errorf("float16 of %d bytes", len(b))
			}
			out.AppendFloat(float16(uint16(b[0]) | uint16(b[1])<<8))
			return nil
		}}, nil
	case nil:
	default:
		return naturalColumn{}, fmt.Errorf("type %s is not supported", t)
	}
	switch kind {
	case parquet.Boolean:
		return naturalColumn{col: col(pipelines.TypeBool), conv: func(v parquet.Value, out *pipelines.Vector) error {
			if v.Boolean() {
				out.AppendInt(1)
			} else {
				out.AppendInt(0)
			}
			return nil
		}}, nil
	case parquet.Int32, parquet.Int64:
		return naturalColumn{col: col(pipelines.TypeInt64), conv: intConv(kind)}, nil
	case parquet.Int96:
		return naturalColumn{col: col(pipelines.TypeTimestamp), conv: func(v parquet.Value, out *pipelines.Vector) error {
			i := v.Int96()
			nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
			days := int64(i[2]) - 2440588 // Julian day of 1970-01-01
			out.AppendInt(days*86_400_000_000 + nanos/1000)
			return nil
		}}, nil
	case parquet.Float:
		return naturalColumn{col: col(pipelines.TypeFloat64), conv: func(v parquet.Value, out *pipelines.Vector) error {
			// The shortest text of the float32 keeps 0.1 as 0.1.
			f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v.Float()), 'g', -1, 32), 64)
			out.AppendFloat(f)
			return nil
		}}, nil
	case parquet.Double:
		return naturalColumn{col: col(pipelines.TypeFloat64), conv: func(v parquet.Value, out *pipelines.Vector) error {
			out.AppendFloat(v.Double())
			return nil
		}}, nil
	case parquet.ByteArray:
		return naturalColumn{col: col(pipelines.TypeString), conv: textConv}, nil
	}
	return naturalColumn{}, fmt.Errorf("type %s is not supported", t)
}

// unitOf is a time unit's length (microseconds when unset).
func unitOf(u format.TimeUnit) time.Duration {
	if u.Value == nil {
		return time.Microsecond
	}
	return u.Value.Duration()
}

func textConv(v parquet.Value, out *pipelines.Vector) error {
	b := v.ByteArray()
	if !utf8.Valid(b) {
		return errNotUTF8
	}
	out.AppendBytes(b)
	return nil
}

func intConv(kind parquet.Kind) func(v parquet.Value, out *pipelines.Vector) error {
	if kind == parquet.Int32 {
		return func(v parquet.Value, out *pipelines.Vector) error {
			out.AppendInt(int64(v.Int32()))
			return nil
		}
	}
	return func(v parquet.Value, out *pipelines.Vector) error {
		out.AppendInt(v.Int64())
		return nil
	}
}

// decimalConv reads unscaled decimals: INT32 and INT64 as they are, byte
// arrays as big-endian two's-complement integers.
func decimalConv(kind parquet.Kind, precision int) func(v parquet.Value, out *pipelines.Vector) error {
	wide := precision > pipelines.MaxInt64DecimalPrecision
	return func(v parquet.Value, out *pipelines.Vector) error {
		var d pipelines.Decimal128
		switch kind {
		case parquet.Int32:
			d = pipelines.Decimal128Of(int64(v.Int32()))
		case parquet.Int64:
			d = pipelines.Decimal128Of(v.Int64())
		default:
			var ok bool
			if d, ok = bigEndian128(v.ByteArray()); !ok {
				return fmt.Errorf("decimal of %d bytes does not fit 38 digits", len(v.ByteArray()))
			}
		}
		if wide {
			out.AppendDecimal128(d)
			return nil
		}
		if d.Hi != 0 && d.Hi != -1 || (d.Hi == 0) != (int64(d.Lo) >= 0) {
			return fmt.Errorf("decimal does not fit its declared precision %d", precision)
		}
		out.AppendInt(int64(d.Lo))
		return nil
	}
}

// bigEndian128 reads a big-endian two's-complement integer of up to 16
// bytes.
func bigEndian128(b []byte) (pipelines.Decimal128, bool) {
	if len(b) > 16 {
		// Leading bytes that only extend the sign are allowed.
		ext := byte(0)
		if b[0]&0x80 != 0 {
			ext = 0xff
		}
		for _, x := range b[:len(b)-16] {
			if x != ext {
				return pipelines.Decimal128{}, false
			}
		}
		b = b[len(b)-16:]
	}
	if len(b) == 0 {
		return pipelines.Decimal128{}, true
	}
	var hi, lo uint64
	if b[0]&0x80 != 0 {
		hi, lo = ^uint64(0), ^uint64(0)
	}
	for _, x := range b {
		hi = hi<<8 | lo>>56
		lo = lo<<8 | uint64(x)
	}
	return pipelines.Decimal128{Hi: int64(hi), Lo: lo}, true
}

// float16 decodes an IEEE 754 half-precision number.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// wallClock reads microseconds of a wall clock written as if in UTC as a
// time in loc.
func wallClock(us int64, loc *time.Location) int64 {
	if loc == nil || loc == time.UTC {
		return us
	}
	t := time.UnixMicro(us).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UnixMicro()
}

// loader reads one file into the unit.
type loader struct {
	st      pipelines.StreamConfig
	env     pipelines.Env
	loc     *time.Location
	parsers []*textvalue.Parser // declared columns, or nil
	batch   *pipelines.Batch
}

// plan is how one file's columns fill the stream's columns.
type plan struct {
	leaf    []int // per stream column, the file's leaf column index
	convert []func(v parquet.Value, out *pipelines.Vector) error
	leaves  int // the file's number of leaf columns
}

func (l *loader) plan(pf *parquet.File) (*plan, error) {
	fields := pf.Schema().Fields()
	find := func(name string) parquet.Field {
		for _, f := range fields {
			if f.Name() == name {
				return f
			}
		}
		for _, f := range fields {
			if strings.EqualFold(f.Name(), name) {
				return f
			}
		}
		return nil
	}
	p := &plan{leaves: len(pf.Schema().Columns())}
	var missing []string
	for i, c := range l.batch.Schema {
		want := c.Name
		if l.parsers != nil {
			if f := l.st.Columns[i].Field; f != "" {
				want = f
			}
		}
		f := find(want)
		if f == nil {
			missing = append(missing, fmt.Sprintf("%q", want))
			continue
		}
		nc, err := natural(f, l.loc)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.Name(), err)
		}
		leaf, ok := pf.Schema().Lookup(f.Name())
		if !ok {
			return nil, fmt.Errorf("column %s: not a leaf column", f.Name())
		}
		conv := nc.conv
		if l.parsers == nil {
			if nc.col.TypeString() != c.TypeString() {
				return nil, fmt.Errorf("column %s is %s here, %s in the stream's first file of this run; declare the stream's columns in crmwh.yaml", f.Name(), nc.col.TypeString(), c.TypeString())
			}
		} else if nc.col.TypeString() != c.TypeString() {
			conv = l.converter(nc, l.parsers[i])
		}
		p.leaf = append(p.leaf, leaf.ColumnIndex)
		p.convert = append(p.convert, conv)
	}
	if len(missing) > 0 {
		var have []string
		for _, f := range fields {
			have = append(have, f.Name())
		}
		return nil, fmt.Errorf("file lacks declared column(s) %s (its columns: %s)", strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	return p, nil
}

// converter turns a file value of one type into a declared column of
// another: a timestamp into its date in the stream's zone, a date into
// its midnight there, anything else through its text and the declared
// column's parser (so formats such as 2006年1月2日 apply to strings).
func (l *loader) converter(nc naturalColumn, p *textvalue.Parser) func(parquet.Value, *pipelines.Vector) error {
	scratch := pipelines.NewBatch(pipelines.Schema{nc.col})
	return func(v parquet.Value, out *pipelines.Vector) error {
		scratch.Reset()
		if err := nc.conv(v, &scratch.Cols[0]); err != nil {
			return err
		}
		scratch.EndRow()
		switch {
		case nc.col.Type == pipelines.TypeTimestamp && p.Col.Type == pipelines.TypeDate:
			out.AppendInt(pipelines.DaysSinceEpoch(time.UnixMicro(scratch.Cols[0].Ints[0]).In(l.loc)))
			return nil
		case nc.col.Type == pipelines.TypeDate && p.Col.Type == pipelines.TypeTimestamp:
			t := pipelines.DateOfDays(scratch.Cols[0].Ints[0])
			out.AppendInt(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, l.loc).UnixMicro())
			return nil
		}
		return p.Append(out, []byte(scratch.Text(0, 0)))
	}
}

// load reads one file into the unit.
func (l *loader) load(ctx context.Context, r io.Reader, rec *pipelines.SourceFile, u pipelines.Unit) (err error) {
	key := rec.Path
	path := key
	if !filepath.IsAbs(path) {
		path = filepath.Join(l.env.BaseDir, filepath.FromSlash(key))
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pf, err := openParquet(f)
	if err != nil {
		return &files.FileError{File: key, Msg: err.Error()}
	}
	p, err := l.plan(pf)
	if err != nil {
		return &files.FileError{File: key, Msg: err.Error()}
	}
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("reading %s: malformed Parquet data: %v", key, x)
		}
	}()
	required := make([]bool, len(l.batch.Schema))
	if l.parsers != nil {
		for i, c := range l.st.Columns {
			required[i] = c.Required
		}
	}
	b := l.batch
	b.Reset()
	vals := make([]parquet.Value, p.leaves)
	seen := make([]bool, p.leaves)
	buf := make([]parquet.Row, 256)
	var line int64
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				line++
				if line%4096 == 0 {
					if err := ctx.Err(); err != nil {
						rows.Close()
						return err
					}
				}
				clear(seen)
				for _, v := range row {
					if c := v.Column(); c >= 0 && c < len(vals) && !seen[c] {
						vals[c], seen[c] = v, true
					}
				}
				start := b.Len()
				var reason string
				for i, conv := range p.convert {
					out := &b.Cols[i]
					v := vals[p.leaf[i]]
					if !seen[p.leaf[i]] || v.IsNull() {
						if required[i] {
							reason = fmt.Sprintf("column %s: value is missing", b.Schema[i].Name)
							break
						}
						out.AppendNull()
						continue
					}
					if err := conv(v, out); err != nil {
						reason = fmt.Sprintf("column %s: %v", b.Schema[i].Name, err)
						break
					}
					if required[i] && out.Null[len(out.Null)-1] {
						reason = fmt.Sprintf("column %s: value is missing", b.Schema[i].Name)
						break
					}
				}
				if reason != "" {
					b.Truncate(start)
					rec.Bad++
					if err := u.Quarantine(pipelines.BadRow{Origin: key, Line: line, Reason: reason, Raw: rowText(row)}); err != nil {
						rows.Close()
						return err
					}
					continue
				}
				b.EndRow()
				rec.Rows++
				if b.Len() >= batchRows {
					if err := u.WriteBatch(b); err != nil {
						rows.Close()
						return err
					}
					b.Reset()
				}
			}
			if errors.Is(rerr, io.EOF) {
				break
			}
			if rerr != nil {
				rows.Close()
				return fmt.Errorf("reading %s: %w", key, rerr)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("reading %s: %w", key, err)
		}
	}
	if b.Len() > 0 {
		return u.WriteBatch(b)
	}
	return nil
}

// rowText is a row's values for its quarantine record.
func rowText(row parquet.Row) string {
	var sb strings.Builder
	for i, v := range row {
		if i > 0 {
			sb.WriteString(", ")
		}
		if v.IsNull() {
			sb.WriteString("NULL")
			continue
		}
		s := v.String()
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		sb.WriteString(s)
		if sb.Len() > 4096 {
			break
		}
	}
	return sb.String()
}
