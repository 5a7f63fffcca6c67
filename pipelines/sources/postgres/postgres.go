// Package postgres is the "postgres" source kind: PostgreSQL through pgx
// (github.com/jackc/pgx/v5) and database/sql. Connections come from a
// database/sql pool; to stream fast, each query runs on the pool
// connection's own pgx.Conn, asks for binary results for the types it
// decodes itself (integers, floats, booleans, dates, timestamps, text,
// json, uuid) and text for the rest, and decodes the raw wire values
// straight into lake batches, without a Go value per field.
//
// The type mapping is in types.go and in docs/pipelines.md.
package postgres

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"

	"crmwh/pipelines"
	"crmwh/pipelines/secret"
	"crmwh/pipelines/sources/sqldb"
)

func init() {
	pipelines.Register("postgres", pipelines.Kind{
		New: func(cfg pipelines.SourceConfig, env pipelines.Env) (pipelines.Source, error) {
			return sqldb.New(Dialect{}, cfg, env)
		},
		Validate: sqldb.Validate,
	})
}

// Dialect is PostgreSQL's sqldb.Dialect.
type Dialect struct{}

// DriverName implements sqldb.Dialect.
func (Dialect) DriverName() string { return "pgx" }

// DSN implements sqldb.Dialect; Open parses the DSN instead.
func (Dialect) DSN(dsn string, _ pipelines.Env) string { return dsn }

// Config parses a resolved DSN (a postgres:// URL or a libpq key=value
// string) into pgx's config, once: the values that ${NAME} references
// stood for go into the parsed fields (password, user, database, host,
// options) as they are, so no character of a password can change what the
// rest of the string means, and the password reaches the driver as a
// field, never re-assembled into a string. A password written in the DSN
// itself is registered as a secret too.
func Config(dsn pipelines.DSN) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn.Text)
	if err != nil {
		return nil, err
	}
	cfg.Password = dsn.Fill(cfg.Password)
	secret.Add(cfg.Password)
	cfg.User = dsn.Fill(cfg.User)
	cfg.Database = dsn.Fill(cfg.Database)
	cfg.Host = dsn.Fill(cfg.Host)
	if cfg.TLSConfig != nil {
		cfg.TLSConfig.ServerName = dsn.Fill(cfg.TLSConfig.ServerName)
	}
	for _, fb := range cfg.Fallbacks {
		fb.Host = dsn.Fill(fb.Host)
		if fb.TLSConfig != nil {
			fb.TLSConfig.ServerName = dsn.Fill(fb.TLSConfig.ServerName)
		}
	}
	for k, v := range cfg.RuntimeParams {
		cfg.RuntimeParams[k] = dsn.Fill(v)
	}
	return cfg, nil
}

// Open implements sqldb.Opener: sessions run in UTC, so that the text of
// time values inside arrays does not depend on the server's zone, and say
// they are crmwh. The server is local when it is reached by a Unix socket
// or a loopback host.
func (Dialect) Open(dsn pipelines.DSN, _ pipelines.Env) (*sql.DB, bool, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, false, err
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	// Read the server's rows in large chunks: pgx's own buffer is 8 KB,
	// which costs a system call per few rows of a wide table.
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, 1<<20), w)
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "crmwh"
	}
	h := cfg.Host
	local := strings.HasPrefix(h, "/") || h == "localhost" || h == "127.0.0.1" || h == "::1"
	return stdlib.OpenDB(*cfg), local, nil
}

// Placeholder implements sqldb.Dialect.
func (Dialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

// QuoteIdent implements sqldb.Dialect.
func (Dialect) QuoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// WatermarkArg implements sqldb.Dialect. The value goes as text, which the
// server reads as the column's type: an instant in UTC for timestamptz,
// the wall clock in the stream's zone for timestamp without time zone.
func (Dialect) WatermarkArg(w pipelines.Watermark, col sqldb.ColumnInfo, o sqldb.QueryOptions) (any, error) {
	switch w.Type {
	case pipelines.TypeInt64:
		return strconv.ParseInt(w.Value, 10, 64)
	case pipelines.TypeDate:
		t, err := w.Time()
		return t.Format("2006-01-02"), err
	}
	t, err := w.Time()
	if err != nil {
		return nil, err
	}
	if col.DBType == "timestamp" {
		loc := o.Location
		if loc == nil {
			loc = time.UTC
		}
		return t.In(loc).Format("2006-01-02 15:04:05.999999"), nil
	}
	return t.UTC().Format("2006-01-02 15:04:05.999999Z07:00"), nil
}

// Query implements sqldb.Dialect.
func (Dialect) Query(ctx context.Context, db *sql.DB, q string, args []any, o sqldb.QueryOptions, fn func(sqldb.Cursor) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		sd, err := pc.Prepare(ctx, "", q)
		if err != nil {
			return err
		}
		oids := make([]uint32, len(sd.Fields))
		for i, f := range sd.Fields {
			oids[i] = f.DataTypeOID
		}
		types, err := lookupTypes(ctx, pc, oids)
		if err != nil {
			return fmt.Errorf("reading column types: %w", err)
		}
		c := &cursor{ctx: ctx, tm: pc.TypeMap(), loc: o.Location}
		if c.loc == nil {
			c.loc = time.UTC
		}
		formats := pgx.QueryResultFormatsByOID{}
		utf8 := pc.PgConn().ParameterStatus("server_encoding") == "UTF8"
		for _, f := range sd.Fields {
			info := columnType(f, types, utf8)
			c.cols = append(c.cols, sqldb.ColumnInfo{Name: f.Name, DBType: info.name, Col: info.col, Err: info.err})
			c.dec = append(c.dec, info.dec)
			c.formats = append(c.formats, info.format)
			c.oids = append(c.oids, f.DataTypeOID)
			if info.format == pgx.BinaryFormatCode {
				formats[f.DataTypeOID] = pgx.BinaryFormatCode
			}
		}
		rows, err := pc.Query(ctx, q, append([]any{formats}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		c.rows = rows
		if err := fn(c); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
}

// pgType is a row of pg_type.
type pgType struct {
	name     string // format_type(oid, NULL)
	typtype  byte
	category byte
	elem     uint32
}

// lookupTypes reads the catalogue entries of the result's types and of
// array element types.
func lookupTypes(ctx context.Context, pc *pgx.Conn, oids []uint32) (map[uint32]pgType, error) {
	out := map[uint32]pgType{}
	rows, err := pc.Query(ctx, `SELECT t.oid, format_type(t.oid, NULL), t.typtype, t.typcategory, t.typelem
		FROM pg_type t WHERE t.oid = ANY($1) OR t.oid IN (SELECT typelem FROM pg_type WHERE oid = ANY($1))`, oids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var oid, elem uint32
		var name, typtype, cat string
		if err := rows.Scan(&oid, &name, &typtype, &cat, &elem); err != nil {
			return nil, err
		}
		out[oid] = pgType{name: name, typtype: typtype[0], category: cat[0], elem: elem}
	}
	return out, rows.Err()
}

// cursor decodes pgx rows into batches.
type cursor struct {
	ctx     context.Context
	rows    pgx.Rows
	tm      *pgtype.Map
	loc     *time.Location
	cols    []sqldb.ColumnInfo
	dec     []decoder
	formats []int16
	oids    []uint32
	raw     [][]byte
}

func (c *cursor) Columns() []sqldb.ColumnInfo { return c.cols }

func (c *cursor) Next(b *pipelines.Batch) (bool, error) {
	if !c.rows.Next() {
		return false, c.rows.Err()
	}
	c.raw = c.rows.RawValues()
	var bad *sqldb.ValueError
	for i, raw := range c.raw {
		v := &b.Cols[i]
		if raw == nil {
			v.AppendNull()
			continue
		}
		if err := c.dec[i](raw, v, b.Schema[i], c.loc); err != nil {
			v.AppendNull()
			if bad == nil {
				bad = &sqldb.ValueError{Column: c.cols[i].Name, Err: err}
			}
		}
	}
	b.EndRow()
	if bad != nil {
		return true, bad
	}
	return true, nil
}

func (c *cursor) Text(i int) string {
	raw := c.raw[i]
	if raw == nil {
		return "NULL"
	}
	if c.formats[i] == pgx.TextFormatCode {
		return string(raw)
	}
	if t, ok := c.tm.TypeForOID(c.oids[i]); ok {
		if v, err := t.Codec.DecodeValue(c.tm, c.oids[i], pgx.BinaryFormatCode, raw); err == nil {
			if tm, ok := v.(time.Time); ok {
				return tm.UTC().Format(time.RFC3339Nano)
			}
			return fmt.Sprint(v)
		}
	}
	return fmt.Sprintf("%x", raw)
}

// MissingRelation implements sqldb.MissingRelation: undefined_table or
// invalid_schema_name.
func (Dialect) MissingRelation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}

// Transient implements sqldb.Transient: the connection was closed, reset
// or refused (the server restarting, a backend terminated by an
// administrator, a network cut), the server is shutting down or starting
// up, or a transaction lost a serialisation conflict. A wrong password, a
// missing database or table, a host name that does not resolve and any
// other error of the query are not passing.
func (Dialect) Transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", "40001", "40P01", "53300":
			// admin_shutdown (pg_terminate_backend), crash_shutdown,
			// cannot_connect_now, serialization_failure,
			// deadlock_detected, too_many_connections.
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		// A Unix socket that is not there: the server is restarting.
		return op.Op == "dial" || op.Op == "read" || op.Op == "write"
	}
	return pgconn.Timeout(err)
}
