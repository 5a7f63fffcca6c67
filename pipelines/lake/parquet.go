package lake

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"crmwh/pipelines"
)

// RowGroupRows is the number of rows per Parquet row group. DuckDB scans a
// file in parallel by row group and keeps its own tables in groups of
// 122,880 rows; groups of that size give every core work on files of a few
// hundred thousand rows while keeping the per-group statistics selective.
const RowGroupRows = 122_880

// PartMaxRows is where a part file is closed and the next one started, so
// that no single file grows without bound on a large table.
const PartMaxRows = 4 * 1024 * 1024

// parquetSchema builds the Parquet schema of a lake schema. Every column is
// optional. parquet-go orders a group's columns by name; readers select
// columns by name, so that does not matter.
func parquetSchema(s pipelines.Schema) (*parquet.Schema, []int, error) {
	g := parquet.Group{}
	for _, c := range s {
		var n parquet.Node
		switch c.Type {
		case pipelines.TypeString:
			n = parquet.String()
		case pipelines.TypeJSON:
			n = parquet.JSON()
		case pipelines.TypeInt64:
			n = parquet.Int(64)
		case pipelines.TypeFloat64:
			n = parquet.Leaf(parquet.DoubleType)
		case pipelines.TypeBool:
			n = parquet.Leaf(parquet.BooleanType)
		case pipelines.TypeDate:
			n = parquet.Date()
		case pipelines.TypeTimestamp:
			n = parquet.Timestamp(parquet.Microsecond)
		case pipelines.TypeDecimal:
			n = parquet.Decimal(c.Scale, c.Precision, parquet.Int64Type)
		default:
			return nil, nil, fmt.Errorf("column %s: unsupported type %q", c.Name, c.Type)
		}
		if _, dup := g[c.Name]; dup {
			return nil, nil, fmt.Errorf("column %s appears twice", c.Name)
		}
		g[c.Name] = parquet.Optional(n)
	}
	ps := parquet.NewSchema("row", g)
	// Map our column order to parquet's (sorted) leaf order.
	idx := make([]int, len(s))
	for i, c := range s {
		leaf, ok := ps.Lookup(c.Name)
		if !ok {
			return nil, nil, fmt.Errorf("column %s missing from parquet schema", c.Name)
		}
		idx[i] = leaf.ColumnIndex
	}
	return ps, idx, nil
}

// partFile writes one Parquet file under a temporary name. It becomes a lake
// file only through finish (fsync) and a rename by the unit's commit.
type partFile struct {
	tmp, final string
	f          *os.File
	buf        *bufio.Writer
	w          *parquet.Writer
	schema     pipelines.Schema
	colIdx     []int
	rows       int64
	row        parquet.Row
	batch      []parquet.Row
}

func createPart(tmp, final string, s pipelines.Schema) (*partFile, error) {
	ps, idx, err := parquetSchema(s)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	p := &partFile{tmp: tmp, final: final, f: f, schema: s, colIdx: idx}
	p.buf = bufio.NewWriterSize(f, 1<<20)
	err = catch(func() error {
		cfg, err := parquet.NewWriterConfig(ps,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
			parquet.MaxRowsPerRowGroup(RowGroupRows),
			parquet.CreatedBy("crmwh", "1", ""),
		)
		if err != nil {
			return err
		}
		p.w = parquet.NewWriter(p.buf, cfg)
		return nil
	})
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("creating parquet writer for %s: %w", final, err)
	}
	return p, nil
}

// catch runs fn and turns a panic from parquet-go into an error: the library
// panics on some invalid input instead of returning an error.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parquet writer panicked: %v", r)
		}
	}()
	return fn()
}

// write converts and appends rows.
func (p *partFile) write(rows [][]any) error {
	p.batch = p.batch[:0]
	for _, r := range rows {
		if len(r) != len(p.schema) {
			return fmt.Errorf("row has %d values, schema has %d columns", len(r), len(p.schema))
		}
		row := make(parquet.Row, len(r))
		for i, v := range r {
			pv, err := toValue(p.schema[i], v)
			if err != nil {
				return fmt.Errorf("column %s: %w", p.schema[i].Name, err)
			}
			if v == nil {
				row[p.colIdx[i]] = pv.Level(0, 0, p.colIdx[i])
			} else {
				row[p.colIdx[i]] = pv.Level(0, 1, p.colIdx[i])
			}
		}
		p.batch = append(p.batch, row)
	}
	err := catch(func() error {
		_, err := p.w.WriteRows(p.batch)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", p.final, err)
	}
	p.rows += int64(len(rows))
	return nil
}

func toValue(c pipelines.Column, v any) (parquet.Value, error) {
	if v == nil {
		return parquet.NullValue(), nil
	}
	bad := func() (parquet.Value, error) {
		return parquet.Value{}, fmt.Errorf("value %v (%T) does not fit type %s", v, v, c.TypeString())
	}
	switch c.Type {
	case pipelines.TypeString, pipelines.TypeJSON:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		if !utf8.ValidString(s) {
			return parquet.Value{}, fmt.Errorf("text is not valid UTF-8")
		}
		return parquet.ByteArrayValue([]byte(s)), nil
	case pipelines.TypeInt64:
		i, ok := v.(int64)
		if !ok {
			return bad()
		}
		return parquet.Int64Value(i), nil
	case pipelines.TypeFloat64:
		f, ok := v.(float64)
		if !ok {
			return bad()
		}
		return parquet.DoubleValue(f), nil
	case pipelines.TypeBool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		return parquet.BooleanValue(b), nil
	case pipelines.TypeDecimal:
		d, ok := v.(pipelines.Decimal)
		if !ok {
			return bad()
		}
		return parquet.Int64Value(d.Unscaled), nil
	case pipelines.TypeDate:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		days := t.Unix() / 86400
		if t.Unix()%86400 < 0 {
			days-- // floor for dates before 1970
		}
		return parquet.Int32Value(int32(days)), nil
	case pipelines.TypeTimestamp:
		t, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		return parquet.Int64Value(t.UnixMicro()), nil
	}
	return bad()
}

// finish writes the footer and fsyncs the file; it stays under its
// temporary name.
func (p *partFile) finish() (int64, error) {
	err := catch(p.w.Close)
	if err == nil {
		err = p.buf.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	var size int64
	if err == nil {
		var st os.FileInfo
		if st, err = p.f.Stat(); err == nil {
			size = st.Size()
		}
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.tmp)
		return 0, fmt.Errorf("finishing %s: %w", p.final, err)
	}
	return size, nil
}

// discard closes and removes the temporary file.
func (p *partFile) discard() {
	p.f.Close()
	os.Remove(p.tmp)
}
