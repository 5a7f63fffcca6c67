package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// ScanRows runs a query on conn and calls row with each row's values as
// the driver gives them (int32 for INTEGER, int64 for BIGINT, string for
// VARCHAR, nil for NULL), without database/sql's conversion of every
// value: several times faster for the tens of millions of rows a Go
// build step may read. row must not keep the slice.
func ScanRows(ctx context.Context, conn *sql.Conn, query string, row func([]driver.Value) error) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("scanning rows: not a DuckDB connection")
		}
		rows, err := q.QueryContext(ctx, query, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			err := rows.Next(dest)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := row(dest); err != nil {
				return err
			}
			n++
			if n%65536 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
		}
	})
	return n, err
}
