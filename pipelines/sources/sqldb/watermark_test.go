package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"crmwh/pipelines"
	"crmwh/pipelines/laketest"
	"crmwh/pipelines/pgtest"
	_ "crmwh/pipelines/sources/postgres"
	_ "crmwh/pipelines/sources/sqlite"
)

// database is a SQL source under test: exec runs statements on it (each
// one a commit), src is its source config.
type database struct {
	exec func(t *testing.T, sql ...string)
	src  func(streams ...pipelines.StreamConfig) pipelines.SourceConfig
	base string
}

func sqliteDB(t *testing.T) database {
	dir := t.TempDir()
	return database{
		exec: func(t *testing.T, stmts ...string) {
			db, err := sql.Open("sqlite", filepath.Join(dir, "crm.sqlite"))
			require.NoError(t, err)
			defer db.Close()
			for _, q := range stmts {
				_, err := db.Exec(q)
				require.NoError(t, err, q)
			}
		},
		src: func(streams ...pipelines.StreamConfig) pipelines.SourceConfig {
			return pipelines.SourceConfig{Name: "crm", Kind: "sqlite", DSN: "crm.sqlite", Streams: streams}
		},
		base: dir,
	}
}

func postgresDB(t *testing.T, s *pgtest.Server) database {
	name, _ := s.NewDatabase(t)
	return database{
		exec: func(t *testing.T, stmts ...string) {
			require.NoError(t, s.Exec(context.Background(), name, stmts...))
		},
		src: func(streams ...pipelines.StreamConfig) pipelines.SourceConfig {
			return pipelines.SourceConfig{Name: "crm", Kind: "postgres", DSN: s.DSN(name), Streams: streams}
		},
	}
}

// TestRowsCommittedAtTheWatermarkBetweenExtractsAreLoaded: a row that
// commits after an extract with the watermark value of the last row that
// extract read (a tie) is loaded by the next one, and once; a row stamped
// a little below the watermark (a late commit) is loaded when it is inside
// the look-back, whose default is not zero. Nothing is loaded twice.
func TestRowsCommittedAtTheWatermarkBetweenExtractsAreLoaded(t *testing.T) {
	pg := pgtest.Start(t)
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			newDB := func(t *testing.T) database {
				if kind == "sqlite" {
					return sqliteDB(t)
				}
				return postgresDB(t, pg)
			}
			ts := "TIMESTAMP"
			if kind == "postgres" {
				ts = "timestamptz"
			}
			ddl := fmt.Sprintf(`CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER, updated_at %s NOT NULL)`, ts)

			t.Run("timestamp watermark, default look-back", func(t *testing.T) {
				db := newDB(t)
				db.exec(t, ddl, `INSERT INTO orders VALUES (1, 10, '2025-03-01 10:00:00'), (2, 20, '2025-03-01 10:05:00'), (3, 30, '2025-03-01 10:05:00')`)
				st := pipelines.StreamConfig{Name: "orders", Table: "orders", Watermark: "updated_at"}
				l := laketest.New(t, db.base, db.src(st))
				require.Equal(t, int64(3), l.MustExtract(t).Rows)
				require.Contains(t, l.Manifest(t, "crm", "orders").Watermark.Value, "10:05:00")

				// Committed after that extract: a tie at the watermark, a
				// late row 4 minutes below it, a row above it, and (one
				// transaction each) another tie.
				db.exec(t, `INSERT INTO orders VALUES (4, 40, '2025-03-01 10:05:00')`,
					`INSERT INTO orders VALUES (5, 50, '2025-03-01 10:01:00')`,
					`INSERT INTO orders VALUES (6, 60, '2025-03-01 10:06:00')`)
				r := l.MustExtract(t)
				require.Equal(t, int64(3), r.Rows, "the tie, the late row and the new row")
				require.Equal(t, int64(3), r.Counters["lookback_duplicates"], "rows 1, 2 and 3, read again and skipped")
				db.exec(t, `INSERT INTO orders VALUES (7, 70, '2025-03-01 10:06:00')`)
				require.Equal(t, int64(1), l.MustExtract(t).Rows, "a tie with the new watermark")
				require.Zero(t, l.MustExtract(t).Rows, "nothing new: nothing loaded")
				require.Equal(t, [][]string{{"7", "7", "280"}}, l.Rows(t, "SELECT count(*), count(DISTINCT id), sum(amount) FROM raw.crm_orders"))
			})

			t.Run("timestamp watermark, lookback 0 still reads ties", func(t *testing.T) {
				db := newDB(t)
				db.exec(t, ddl, `INSERT INTO orders VALUES (1, 10, '2025-03-01 10:05:00')`)
				st := pipelines.StreamConfig{Name: "orders", Table: "orders", Watermark: "updated_at", Lookback: pipelines.Lookback{Set: true}}
				l := laketest.New(t, db.base, db.src(st))
				require.Equal(t, int64(1), l.MustExtract(t).Rows)
				db.exec(t, `INSERT INTO orders VALUES (2, 20, '2025-03-01 10:05:00')`, `INSERT INTO orders VALUES (3, 30, '2025-03-01 10:04:59')`)
				require.Equal(t, int64(1), l.MustExtract(t).Rows, "the tie; row 3 is below the watermark and the look-back is 0")
				require.Equal(t, [][]string{{"1"}, {"2"}}, l.Rows(t, "SELECT id FROM raw.crm_orders ORDER BY id"))
			})

			t.Run("integer watermark, default look-back of 1000 values", func(t *testing.T) {
				db := newDB(t)
				db.exec(t, `CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT)`,
					`INSERT INTO events VALUES (1, 'a'), (2, 'b'), (5, 'e')`)
				st := pipelines.StreamConfig{Name: "events", Table: "events", Watermark: "id"}
				l := laketest.New(t, db.base, db.src(st))
				require.Equal(t, int64(3), l.MustExtract(t).Rows)
				// Ids 3 and 4 were taken by transactions that commit late.
				db.exec(t, `INSERT INTO events VALUES (3, 'c'), (4, 'd')`)
				require.Equal(t, int64(2), l.MustExtract(t).Rows)
				require.Zero(t, l.MustExtract(t).Rows)
				require.Equal(t, [][]string{{"5", "5"}}, l.Rows(t, "SELECT count(*), count(DISTINCT id) FROM raw.crm_events"))
			})

			t.Run("date watermark, default look-back of one day", func(t *testing.T) {
				db := newDB(t)
				db.exec(t, `CREATE TABLE visits (id INTEGER PRIMARY KEY, day DATE)`,
					`INSERT INTO visits VALUES (1, '2025-03-01'), (2, '2025-03-02')`)
				st := pipelines.StreamConfig{Name: "visits", Table: "visits", Watermark: "day"}
				l := laketest.New(t, db.base, db.src(st))
				require.Equal(t, int64(2), l.MustExtract(t).Rows)
				db.exec(t, `INSERT INTO visits VALUES (3, '2025-03-02')`, `INSERT INTO visits VALUES (4, '2025-03-01')`, `INSERT INTO visits VALUES (5, '2025-02-27')`)
				require.Equal(t, int64(2), l.MustExtract(t).Rows, "the rest of 2 March and a late 1 March; 27 February is out of reach")
				require.Equal(t, [][]string{{"1"}, {"2"}, {"3"}, {"4"}}, l.Rows(t, "SELECT id FROM raw.crm_visits ORDER BY id"))
			})
		})
	}
}
