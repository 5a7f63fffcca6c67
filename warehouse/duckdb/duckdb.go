// Package duckdb is the only package that imports the DuckDB driver. It
// opens warehouse files the way crmwh needs them (read-only for readers, a
// fresh file for each build) and knows how to swap a built file into place.
// README.md in this folder lists the DuckDB behaviours we work around.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"crmwh/pipelines/failpoint"
)

// Options tune a connection.
type Options struct {
	// ReadOnly opens the file with access_mode=read_only: any number of
	// processes may then read it, but none may write it.
	ReadOnly bool
	// Threads limits DuckDB's worker threads (0: DuckDB's default, one per core).
	Threads int
	// MemoryLimit such as "2GB" (empty: DuckDB's part of the process's
	// memory budget, SetMemoryBudget, or without one DuckDB's default,
	// 80% of RAM).
	MemoryLimit string
	// TempDir is where DuckDB spills when memory runs out.
	TempDir string
}

// ErrNoWarehouse is returned when opening a warehouse file that does not exist.
var ErrNoWarehouse = errors.New("no warehouse yet")

// Open opens a DuckDB database file ("" for in-memory). Every connection of
// the pool gets the same settings: DuckDB settings are per database, but
// the pool is kept to one open database per file so that writes are never
// attempted from two handles.
func Open(path string, o Options) (*sql.DB, error) {
	if o.ReadOnly && path != "" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist (run `crmwh build` first)", ErrNoWarehouse, path)
		}
	}
	q := url.Values{}
	if o.ReadOnly {
		q.Set("access_mode", "read_only")
	}
	if o.Threads == 0 {
		o.Threads = defaultThreads()
	}
	if o.Threads > 0 {
		q.Set("threads", fmt.Sprint(o.Threads))
	}
	if o.MemoryLimit == "" {
		o.MemoryLimit = defaultMemoryLimit()
	}
	if o.MemoryLimit != "" {
		q.Set("memory_limit", o.MemoryLimit)
	}
	if o.TempDir != "" {
		q.Set("temp_directory", o.TempDir)
	}
	// DuckDB's allocator (jemalloc) keeps the pages a finished query
	// freed until the next allocation in the same arena purges them;
	// background threads return them once they have decayed, so a
	// long build's resident memory follows what it uses now rather than
	// the sum of its past queries' peaks (a 50,000-customer build under
	// a 500 MB budget: about 40 MB less at its peak).
	q.Set("allocator_background_threads", "true")
	dsn := path
	if len(q) > 0 {
		dsn += "?" + q.Encode()
	}
	conn, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", describe(path), err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", describe(path), err)
	}
	return db, nil
}

func describe(path string) string {
	if path == "" {
		return "in-memory database"
	}
	return path
}

// QuoteIdent quotes an identifier for DuckDB SQL.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteString quotes a string literal for DuckDB SQL.
func QuoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Publish moves a finished database file over the published one: the
// previous published file is kept as prev (hard link, so the published
// name never disappears), then the new file is renamed over the published
// name (atomic on one file system) and the folder is fsynced. Readers that
// opened the old file keep reading it; new readers see the new one.
func Publish(built, published, prev string) error {
	failpoint.Hit("publish.start")
	f, err := os.Open(built)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", built, err)
	}
	f.Close()
	if wal := built + ".wal"; fileExists(wal) {
		return fmt.Errorf("publishing %s: write-ahead log %s still present (database not checkpointed)", built, wal)
	}
	failpoint.Hit("publish.before-prev")
	if fileExists(published) && prev != "" {
		os.Remove(prev + ".tmp")
		if err := os.Link(published, prev+".tmp"); err != nil {
			return fmt.Errorf("keeping previous warehouse: %w", err)
		}
		if err := os.Rename(prev+".tmp", prev); err != nil {
			return fmt.Errorf("keeping previous warehouse: %w", err)
		}
	}
	failpoint.Hit("publish.before-rename")
	if err := os.Rename(built, published); err != nil {
		return fmt.Errorf("publishing warehouse: %w", err)
	}
	failpoint.Hit("publish.after-rename")
	d, err := os.Open(filepath.Dir(published))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Swap exchanges two database files (the published warehouse and its
// previous version) so that the published name always holds a complete
// file: a hard link keeps the current file while the other is renamed over
// the published name.
func Swap(published, other string) error {
	tmp := published + ".swap"
	os.Remove(tmp)
	if err := os.Link(published, tmp); err != nil {
		return fmt.Errorf("swapping warehouse files: %w", err)
	}
	if err := os.Rename(other, published); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("swapping warehouse files: %w", err)
	}
	if err := os.Rename(tmp, other); err != nil {
		return fmt.Errorf("swapping warehouse files: %w", err)
	}
	d, err := os.Open(filepath.Dir(published))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// PublishKeepPrev moves a finished database file over the published one
// without touching the previous version (for runs that change only
// metadata, such as `crmwh test`).
func PublishKeepPrev(built, published string) error { return Publish(built, published, "") }

// Append appends rows to an existing table through DuckDB's appender,
// which is far faster than INSERT statements for many rows. next returns
// one row's values at a time (nil when done); values must be of the Go
// types the columns take (int64, float64, string, time.Time, nil).
func Append(ctx context.Context, conn *sql.Conn, schema, table string, next func() []driver.Value) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("appending to %s: not a DuckDB connection", table)
		}
		a, err := duckdb.NewAppenderFromConn(c, schema, table)
		if err != nil {
			return fmt.Errorf("appending to %s: %w", table, err)
		}
		for row := next(); row != nil; row = next() {
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return fmt.Errorf("appending to %s, row %d: %w", table, n+1, err)
			}
			n++
			if n%65536 == 0 && ctx.Err() != nil {
				a.Close()
				return ctx.Err()
			}
		}
		return a.Close()
	})
	return n, err
}
