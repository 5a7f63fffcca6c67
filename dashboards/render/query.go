package render

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/query"
)

// cellKind is what a query value is, after the driver's types are
// normalised; charts and CSV files only need these.
type cellKind uint8

const (
	nullCell cellKind = iota
	numberCell
	textCell
	timeCell
	boolCell
)

// cell is one value of a query result.
type cell struct {
	kind cellKind
	num  float64   // numberCell
	text string    // the exact text for CSV files (numbers, text, booleans)
	t    time.Time // timeCell
	date bool      // timeCell holding a DATE
}

// result is the rows of a chart's query.
type result struct {
	columns []string
	types   []string // the database's type names, such as DECIMAL(18,2)
	rows    [][]cell
	// Set by a query read with chartRead: total is how many rows it
	// returned (rows may hold only the first of them), seen the kinds of
	// cell each column held over all of them (a bit per cellKind), and csv
	// its CSV file, written while the rows were read.
	total int
	seen  []uint8
	csv   []byte
}

// count is how many rows the query returned.
func (r *result) count() int { return max(r.total, len(r.rows)) }

// only reports whether every cell of column ci, over all the query's rows,
// is one of the kinds given (and there was at least one row).
func (r *result) only(ci int, kinds ...cellKind) bool {
	var allowed uint8
	for _, k := range kinds {
		allowed |= 1 << k
	}
	if r.seen != nil {
		return r.count() > 0 && r.seen[ci]&^allowed == 0
	}
	for _, row := range r.rows {
		if allowed&(1<<row[ci].kind) == 0 {
			return false
		}
	}
	return len(r.rows) > 0
}

// column returns the index of the named column: an exact match, or else
// the only case-insensitive one.
func (r *result) column(name string) (int, error) {
	found := -1
	for i, c := range r.columns {
		if c == name {
			return i, nil
		}
		if strings.EqualFold(c, name) {
			if found >= 0 {
				found = -2
			} else if found == -1 {
				found = i
			}
		}
	}
	if found >= 0 {
		return found, nil
	}
	return 0, fmt.Errorf("column %q is not in the query's result (columns: %s)", name, strings.Join(r.columns, ", "))
}

// runQuery runs q, which must be one SELECT statement (it is SQL the user
// wrote: see duckdb.Sandbox), and reads all its rows.
func runQuery(ctx context.Context, db *sql.DB, q string) (*result, error) {
	return readQuery(ctx, db, q, chartRead{})
}

// chartRead says how a chart's query is read.
type chartRead struct {
	// keep is how many rows are kept in memory (0: all); the rest are
	// counted, their kinds noted and written to the CSV file. A table
	// shows its first MaxTableRows and links to the file for the others,
	// so a list of 300,000 customers need not be held in memory.
	keep int
	// csv writes the CSV file while reading.
	csv bool
}

// readQuery runs q like runQuery, reading its rows as o says.
func readQuery(ctx context.Context, db *sql.DB, q string, o chartRead) (*result, error) {
	if err := duckdb.CheckQuery(ctx, db, q); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, query.Explain(err, nil)
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := &result{}
	for _, c := range cols {
		r.columns = append(r.columns, c.Name())
		r.types = append(r.types, strings.ToUpper(c.DatabaseTypeName()))
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	r.seen = make([]uint8, len(cols))
	var cw *csvWriter
	if o.csv {
		if cw, err = newCSVWriter(r.columns); err != nil {
			return nil, err
		}
	}
	scratch := make([]cell, len(cols)) // a row that is not kept
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		keep := o.keep == 0 || r.total < o.keep
		row := scratch
		if keep {
			row = make([]cell, len(cols))
		}
		for i, v := range vals {
			row[i] = toCell(v, r.types[i])
			r.seen[i] |= 1 << row[i].kind
		}
		if cw != nil {
			if err := cw.write(row); err != nil {
				return nil, err
			}
		}
		if keep {
			r.rows = append(r.rows, row)
		}
		r.total++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if cw != nil {
		if r.csv, err = cw.bytes(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// toCell normalises a value scanned into an any. It knows database/sql's
// and the DuckDB driver's types without importing the driver: DECIMAL
// values have Float64 and String methods, HUGEINT is a *big.Int.
func toCell(v any, dbType string) cell {
	switch v := v.(type) {
	case nil:
		return cell{}
	case int64:
		return numCell(float64(v), strconv.FormatInt(v, 10))
	case int32:
		return numCell(float64(v), strconv.FormatInt(int64(v), 10))
	case int16:
		return numCell(float64(v), strconv.FormatInt(int64(v), 10))
	case int8:
		return numCell(float64(v), strconv.FormatInt(int64(v), 10))
	case int:
		return numCell(float64(v), strconv.Itoa(v))
	case uint64:
		return numCell(float64(v), strconv.FormatUint(v, 10))
	case uint32:
		return numCell(float64(v), strconv.FormatUint(uint64(v), 10))
	case uint16:
		return numCell(float64(v), strconv.FormatUint(uint64(v), 10))
	case uint8:
		return numCell(float64(v), strconv.FormatUint(uint64(v), 10))
	case float64:
		return floatCell(v)
	case float32:
		return floatCell(float64(v))
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return numCell(f, v.String())
	case interface {
		Float64() float64
		String() string
	}:
		return numCell(v.Float64(), v.String())
	case bool:
		return cell{kind: boolCell, text: strconv.FormatBool(v)}
	case time.Time:
		return cell{kind: timeCell, t: v, date: dbType == "DATE"}
	case string:
		return cell{kind: textCell, text: v}
	case []byte:
		if dbType == "UUID" && len(v) == 16 {
			h := hex.EncodeToString(v)
			return cell{kind: textCell, text: h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]}
		}
		return cell{kind: textCell, text: string(v)}
	case fmt.Stringer:
		return cell{kind: textCell, text: v.String()}
	default:
		return cell{kind: textCell, text: fmt.Sprint(v)}
	}
}

func numCell(f float64, text string) cell {
	return cell{kind: numberCell, num: f, text: text}
}

func floatCell(f float64) cell {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return cell{kind: numberCell, num: f, text: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	return numCell(f, strconv.FormatFloat(f, 'f', -1, 64))
}

// csvText is the cell as written to a CSV file: exact numbers, ISO dates
// and times, empty for NULL.
func (c cell) csvText() string {
	switch c.kind {
	case nullCell:
		return ""
	case timeCell:
		if c.date {
			return c.t.Format("2006-01-02")
		}
		if c.t.Location() == time.UTC {
			return c.t.Format("2006-01-02 15:04:05.999999")
		}
		return c.t.Format(time.RFC3339Nano)
	default:
		return c.text
	}
}

// finite reports whether the cell is a number that can be drawn.
func (c cell) finite() bool {
	return c.kind == numberCell && !math.IsNaN(c.num) && !math.IsInf(c.num, 0)
}
