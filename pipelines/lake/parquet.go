package lake

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

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
// optional. Integers, dates and timestamps are DELTA_BINARY_PACKED, text
// DELTA_LENGTH_BYTE_ARRAY (parquet-go's default for strings), the rest
// PLAIN; every page is zstd-compressed at level 1 (the fastest: extraction
// is bound by the CPU, and DuckDB reads any level equally fast). parquet-go orders a group's columns by name; readers select
// columns by name, so that does not matter. With ids, each column carries
// its field id (see FieldID), which readers such as Apache Iceberg's go by.
func parquetSchema(s pipelines.Schema, ids []int) (*parquet.Schema, []int, error) {
	g := parquet.Group{}
	for i, c := range s {
		var n parquet.Node
		switch c.Type {
		case pipelines.TypeString:
			n = parquet.String()
		case pipelines.TypeJSON:
			n = parquet.JSON()
		case pipelines.TypeInt64:
			// Ids and counters: delta encoding stores increasing values
			// in a few bits each, before compression.
			n = parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked)
		case pipelines.TypeFloat64:
			n = parquet.Leaf(parquet.DoubleType)
		case pipelines.TypeBool:
			n = parquet.Leaf(parquet.BooleanType)
		case pipelines.TypeDate:
			n = parquet.Encoded(parquet.Date(), &parquet.DeltaBinaryPacked)
		case pipelines.TypeTimestamp:
			n = parquet.Encoded(parquet.Timestamp(parquet.Microsecond), &parquet.DeltaBinaryPacked)
		case pipelines.TypeDecimal:
			if c.Precision > pipelines.MaxInt64DecimalPrecision {
				n = parquet.Decimal(c.Scale, c.Precision, parquet.FixedLenByteArrayType(16))
			} else {
				n = parquet.Decimal(c.Scale, c.Precision, parquet.Int64Type)
			}
		default:
			return nil, nil, fmt.Errorf("column %s: unsupported type %q", c.Name, c.Type)
		}
		if _, dup := g[c.Name]; dup {
			return nil, nil, fmt.Errorf("column %s appears twice", c.Name)
		}
		n = parquet.Optional(n)
		if ids != nil {
			n = parquet.FieldID(n, ids[i])
		}
		g[c.Name] = n
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
//
// Values go into the file column by column: for each column of a batch
// the writer fills one slice of parquet.Values and hands it to that
// column's writer, which is several times faster than building a
// parquet.Row per row.
type partFile struct {
	tmp, final string
	f          *os.File
	buf        *bufio.Writer
	w          *parquet.GenericWriter[any]
	cols       []*parquet.ColumnWriter // by schema column
	schema     pipelines.Schema
	colIdx     []int
	rows       int64
	rgRows     int // rows in the current row group
	scratch    []*columnScratch
	batch      *pipelines.Batch
	threads    int // column workers; 0 is one per core
}

// columnScratch is one column worker's reusable memory.
type columnScratch struct {
	vals  []parquet.Value
	fixed []byte // big-endian 16-byte decimals
}

func createPart(tmp, final string, s pipelines.Schema, ids []int) (*partFile, error) {
	ps, idx, err := parquetSchema(s, ids)
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
		opts := []parquet.WriterOption{ps,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.MaxRowsPerRowGroup(RowGroupRows),
			parquet.CreatedBy("crmwh", "1", ""),
		}
		// Min/max of text columns cost about a tenth of the writer's time
		// (byte-wise comparisons of every value) and serve little: builds
		// scan raw text whole. Numbers, dates and timestamps keep theirs.
		for _, c := range s {
			if c.Type == pipelines.TypeString || c.Type == pipelines.TypeJSON {
				opts = append(opts, parquet.SkipPageBounds(c.Name), parquet.SkipPageStatistics(c.Name))
			}
		}
		cfg, err := parquet.NewWriterConfig(opts...)
		if err != nil {
			return err
		}
		p.w = parquet.NewGenericWriter[any](p.buf, cfg)
		all := p.w.ColumnWriters()
		p.cols = make([]*parquet.ColumnWriter, len(s))
		for i := range s {
			p.cols[i] = all[idx[i]]
		}
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

// write converts and appends rows of Go values.
func (p *partFile) write(rows [][]any) error {
	if p.batch == nil {
		p.batch = pipelines.NewBatch(p.schema)
	}
	b := p.batch
	b.Reset()
	for _, r := range rows {
		if err := b.AppendRow(r); err != nil {
			return err
		}
	}
	return p.writeBatch(b, 0, b.Len())
}

// writeBatch appends rows [from, to) of a batch, cutting row groups at
// RowGroupRows. Columns are encoded and compressed in parallel, one
// worker per core: parquet-go's column writers are independent until the
// row group is flushed.
func (p *partFile) writeBatch(b *pipelines.Batch, from, to int) error {
	workers := p.threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(p.schema))
	for len(p.scratch) < workers {
		p.scratch = append(p.scratch, &columnScratch{})
	}
	for from < to {
		n := min(to-from, RowGroupRows-p.rgRows)
		var next atomic.Int64
		errs := make([]error, len(p.schema))
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(sc *columnScratch) {
				defer wg.Done()
				for {
					c := int(next.Add(1) - 1)
					if c >= len(p.schema) {
						return
					}
					errs[c] = p.writeColumn(sc, c, &b.Cols[c], from, from+n)
				}
			}(p.scratch[w])
		}
		wg.Wait()
		for c, err := range errs {
			if err != nil {
				return fmt.Errorf("writing %s: column %s: %w", p.final, p.schema[c].Name, err)
			}
		}
		p.rows += int64(n)
		p.rgRows += n
		from += n
		if p.rgRows == RowGroupRows {
			if err := catch(p.w.Flush); err != nil {
				return fmt.Errorf("writing %s: %w", p.final, err)
			}
			p.rgRows = 0
		}
	}
	return nil
}

// writeColumn hands rows [from, to) of one column to its column writer.
func (p *partFile) writeColumn(sc *columnScratch, c int, v *pipelines.Vector, from, to int) error {
	col := p.schema[c]
	leaf := p.colIdx[c]
	vals := sc.vals[:0]
	null := parquet.Value{}.Level(0, 0, leaf)
	switch col.Type {
	case pipelines.TypeString, pipelines.TypeJSON:
		for i := from; i < to; i++ {
			if v.Null[i] {
				vals = append(vals, null)
				continue
			}
			vals = append(vals, parquet.ByteArrayValue(v.BytesAt(i)).Level(0, 1, leaf))
		}
	case pipelines.TypeInt64, pipelines.TypeTimestamp:
		for i := from; i < to; i++ {
			if v.Null[i] {
				vals = append(vals, null)
			} else {
				vals = append(vals, parquet.Int64Value(v.Ints[i]).Level(0, 1, leaf))
			}
		}
	case pipelines.TypeDecimal:
		if col.Precision <= pipelines.MaxInt64DecimalPrecision {
			for i := from; i < to; i++ {
				if v.Null[i] {
					vals = append(vals, null)
				} else {
					vals = append(vals, parquet.Int64Value(v.Ints[i]).Level(0, 1, leaf))
				}
			}
			break
		}
		fixed := sc.fixed[:0]
		for i := from; i < to; i++ {
			fixed = binary.BigEndian.AppendUint64(fixed, uint64(v.His[i]))
			fixed = binary.BigEndian.AppendUint64(fixed, uint64(v.Ints[i]))
		}
		sc.fixed = fixed
		for i := from; i < to; i++ {
			if v.Null[i] {
				vals = append(vals, null)
			} else {
				k := 16 * (i - from)
				vals = append(vals, parquet.FixedLenByteArrayValue(fixed[k:k+16]).Level(0, 1, leaf))
			}
		}
	case pipelines.TypeDate:
		for i := from; i < to; i++ {
			if v.Null[i] {
				vals = append(vals, null)
			} else {
				vals = append(vals, parquet.Int32Value(int32(v.Ints[i])).Level(0, 1, leaf))
			}
		}
	case pipelines.TypeBool:
		for i := from; i < to; i++ {
			if v.Null[i] {
				vals = append(vals, null)
			} else {
				vals = append(vals, parquet.BooleanValue(v.Ints[i] != 0).Level(0, 1, leaf))
			}
		}
	case pipelines.TypeFloat64:
		for i := from; i < to; i++ {
			if v.Null[i] {
				vals = append(vals, null)
			} else {
				vals = append(vals, parquet.DoubleValue(v.Floats[i]).Level(0, 1, leaf))
			}
		}
	default:
		return fmt.Errorf("unsupported type %q", col.Type)
	}
	sc.vals = vals
	return catch(func() error {
		_, err := p.cols[c].WriteRowValues(vals)
		return err
	})
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
