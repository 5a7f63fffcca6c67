// Package iceberg publishes the lake's streams as Apache Iceberg tables
// (format version 2) over the same Parquet files, in a SQL catalog (SQLite
// or PostgreSQL, the schema Iceberg's JDBC catalog uses), so that Spark,
// Trino, Flink and other engines read them without a copy. Only this
// package imports github.com/apache/iceberg-go.
//
// The lake's manifest stays the commit point: a table is a function of its
// stream's manifest, and Publish brings it up to date with one Iceberg
// snapshot per lake commit it has not seen (appending the new parts, and
// replacing the parts a reload or a new NULL-watermark snapshot retired).
// A crash between the lake's commit and the catalog's, or a catalog that
// was down, is caught up by the next Publish: it compares the files of the
// table's current snapshot with the manifest's live parts, so running it
// twice changes nothing. See docs/scale-out.md.
package iceberg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the SQLite catalog

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
	"crmwh/pipelines/secret"
	"crmwh/pipelines/sources/postgres"
)

// Folder is the lake's folder that holds the tables' metadata (and the
// SQLite catalog by default).
const Folder = "_iceberg"

// Catalog publishes a lake's streams as Iceberg tables.
type Catalog struct {
	lake *lake.Lake
	cfg  Config
	db   *sql.DB
	cat  *sqlcat.Catalog
	// Logger receives what Publish did (default: slog's default).
	Logger *slog.Logger

	mu sync.Mutex // one commit at a time
}

// Open opens the catalog that cfg names for the lake, creating its tables
// and the namespace if needed. env resolves a relative SQLite path.
func Open(ctx context.Context, cfg Config, l *lake.Lake, env pipelines.Env) (*Catalog, error) {
	if !cfg.Enabled() {
		return nil, errors.New("lake.iceberg.catalog is not set in crmwh.yaml")
	}
	var db *sql.DB
	var dialect sqlcat.SupportedDialect
	switch cfg.Catalog {
	case CatalogSQLite:
		path := cfg.DSN
		if path == "" {
			path = filepath.Join(l.Dir, Folder, "catalog.sqlite")
		} else if !filepath.IsAbs(path) {
			path = filepath.Join(env.BaseDir, path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("iceberg catalog: %w", err)
		}
		// WAL and a busy timeout: engines may read the catalog while
		// crmwh commits.
		u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"}
		var err error
		if db, err = sql.Open("sqlite", u.String()); err != nil {
			return nil, fmt.Errorf("iceberg catalog %s: %w", path, err)
		}
		dialect = sqlcat.SQLite
	case CatalogPostgres:
		dsn, err := pipelines.ExpandDSN(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("lake.iceberg.dsn: %w", err)
		}
		pc, err := postgres.Config(dsn)
		if err != nil {
			return nil, fmt.Errorf("lake.iceberg.dsn: %w", secret.Error(err))
		}
		if pc.RuntimeParams["application_name"] == "" {
			pc.RuntimeParams["application_name"] = "crmwh"
		}
		db = stdlib.OpenDB(*pc)
		dialect = sqlcat.Postgres
	default:
		return nil, fmt.Errorf("unknown iceberg catalog %q (expected sqlite or postgres)", cfg.Catalog)
	}
	cat, err := sqlcat.NewCatalog(cfg.CatalogName(), db, dialect, ice.Properties{})
	if err == nil {
		ns := table.Identifier{cfg.NamespaceName()}
		var ok bool
		if ok, err = cat.CheckNamespaceExists(ctx, ns); err == nil && !ok {
			err = cat.CreateNamespace(ctx, ns, ice.Properties{"comment": "the crmwh lake's streams"})
			if errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
				err = nil
			}
		}
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the iceberg catalog (%s): %w", cfg.Catalog, secret.Error(err))
	}
	return &Catalog{lake: l, cfg: cfg, db: db, cat: cat}, nil
}

// Close closes the catalog's database.
func (c *Catalog) Close() error {
	err := c.cat.Close()
	if cerr := c.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// Ident is a stream's table: <namespace>.<source>_<stream>.
func (c *Catalog) Ident(source, stream string) table.Identifier {
	return table.Identifier{c.cfg.NamespaceName(), source + "_" + stream}
}

// Table loads a stream's table.
func (c *Catalog) Table(ctx context.Context, source, stream string) (*table.Table, error) {
	return c.cat.LoadTable(ctx, c.Ident(source, stream))
}

// location is where a table's metadata lives, inside the lake folder.
func (c *Catalog) location(source, stream string) string {
	return fileURI(filepath.Join(c.lake.Dir, Folder, c.cfg.NamespaceName(), source+"_"+stream))
}

// fileURI is an absolute local path as Iceberg metadata names files:
// file:///path, the path as it is (Java's Hadoop paths do not decode
// percent escapes).
func fileURI(path string) string { return "file://" + filepath.ToSlash(path) }

func (c *Catalog) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
