package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"crmwh/pipelines"
)

// Mapper maps result columns and values for GenericQuery.
type Mapper interface {
	// Column maps a result column to a lake column, or explains why its
	// type is unsupported.
	Column(ct *sql.ColumnType) (pipelines.Column, error)
	// Convert turns a scanned value into the lake's Go value for col.
	Convert(col pipelines.Column, v any, o QueryOptions) (any, error)
}

// GenericQuery implements Dialect.Query for any database/sql driver: rows
// are scanned into Go values and converted by the mapper. It is the simple
// path; a dialect with a faster way to decode rows has its own.
func GenericQuery(ctx context.Context, db *sql.DB, m Mapper, q string, args []any, o QueryOptions, fn func(Cursor) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	c := &genericCursor{rows: rows, m: m, o: o}
	for _, ct := range cts {
		col, err := m.Column(ct)
		c.cols = append(c.cols, ColumnInfo{Name: ct.Name(), DBType: ct.DatabaseTypeName(), Col: col, Err: err})
	}
	c.dest = make([]any, len(cts))
	c.ptrs = make([]any, len(cts))
	for i := range c.dest {
		c.ptrs[i] = &c.dest[i]
	}
	if err := fn(c); err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

type genericCursor struct {
	rows *sql.Rows
	m    Mapper
	o    QueryOptions
	cols []ColumnInfo
	dest []any
	ptrs []any
}

func (c *genericCursor) Columns() []ColumnInfo { return c.cols }

func (c *genericCursor) Next(b *pipelines.Batch) (bool, error) {
	if !c.rows.Next() {
		return false, c.rows.Err()
	}
	if err := c.rows.Scan(c.ptrs...); err != nil {
		return false, err
	}
	var bad *ValueError
	for i, v := range c.dest {
		col := b.Schema[i]
		cv, err := c.m.Convert(col, v, c.o)
		if err == nil {
			if err = b.AppendValue(i, cv); err != nil {
				// AppendValue names the column itself.
				err = errors.New(strings.TrimPrefix(err.Error(), "column "+col.Name+": "))
			}
		}
		if err != nil {
			b.Cols[i].AppendNull()
			if bad == nil {
				bad = &ValueError{Column: c.cols[i].Name, Err: err}
			}
		}
	}
	b.EndRow()
	if bad != nil {
		return true, bad
	}
	return true, nil
}

func (c *genericCursor) Text(i int) string {
	switch v := c.dest[i].(type) {
	case nil:
		return "NULL"
	case []byte:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}
