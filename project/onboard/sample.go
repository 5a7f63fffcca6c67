package onboard

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"crmwh/pipelines"
	"crmwh/warehouse/duckdb"
)

// errSampleFull stops reading a source once the sample is full.
var errSampleFull = errors.New("sample is full")

// sample is an input's first rows, read through its real source kind with
// the proposed stream config: what the lake would hold.
type sample struct {
	batch *pipelines.Batch
	// Read counts the rows read (kept or not); Bad the rows the source
	// quarantined, with the first reasons.
	Read, Bad  int64
	BadReasons []string
	// Complete is true when the sample holds every row of the input.
	Complete bool
	Reports  []string
}

// readSample runs the source's extraction of its only stream into memory,
// keeping up to limit rows.
func readSample(ctx context.Context, cfg pipelines.SourceConfig, env pipelines.Env, limit int) (*sample, error) {
	src, err := pipelines.Open(cfg, env)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st := cfg.Streams[0]
	everything := 1.0
	st.MaxBadRatio = &everything // count bad rows, do not stop on them
	sink := &sampleSink{s: &sample{}, limit: limit}
	err = src.Extract(ctx, st, pipelines.State{}, sink)
	switch {
	case errors.Is(err, errSampleFull):
	case err != nil:
		return nil, err
	default:
		sink.s.Complete = true
	}
	if sink.s.batch == nil {
		return nil, errors.New("no rows: the input is empty")
	}
	return sink.s, nil
}

// sampleSink is a pipelines.Sink that keeps rows in memory.
type sampleSink struct {
	s     *sample
	limit int
}

func (k *sampleSink) Begin(schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	if k.s.batch == nil {
		k.s.batch = pipelines.NewBatch(schema)
	}
	return &sampleUnit{k}, nil
}

func (k *sampleSink) BeginSnapshot(_ string, schema pipelines.Schema, origin string) (pipelines.Unit, error) {
	return k.Begin(schema, origin)
}

func (k *sampleSink) Report(kind, msg string) { k.s.Reports = append(k.s.Reports, msg) }
func (k *sampleSink) AddBytes(int64)          {}
func (k *sampleSink) Count(string, int64)     {}
func (k *sampleSink) Counts() (int64, int64)  { return k.s.Read, k.s.Bad }

type sampleUnit struct{ k *sampleSink }

func (u *sampleUnit) WriteBatch(b *pipelines.Batch) error {
	s := u.k.s
	if b.Schema.Hash() != s.batch.Schema.Hash() {
		return fmt.Errorf("files of the input have different columns (%d and %d columns); give one file, or files of one layout", len(s.batch.Schema), len(b.Schema))
	}
	for i := 0; i < b.Len(); i++ {
		if s.batch.Len() >= u.k.limit {
			return errSampleFull
		}
		s.batch.AppendRowOf(b, i)
		s.Read++
	}
	return nil
}

func (u *sampleUnit) Write(rows [][]any) error {
	s := u.k.s
	for _, r := range rows {
		if s.batch.Len() >= u.k.limit {
			return errSampleFull
		}
		if err := s.batch.AppendRow(r); err != nil {
			return err
		}
		s.Read++
	}
	return nil
}

func (u *sampleUnit) Quarantine(bad pipelines.BadRow) error {
	s := u.k.s
	s.Bad++
	if len(s.BadReasons) < 3 {
		where := filepath.Base(bad.Origin)
		if bad.Line > 0 {
			where += fmt.Sprintf(" line %d", bad.Line)
		}
		s.BadReasons = append(s.BadReasons, where+": "+bad.Reason)
	}
	return nil
}

func (u *sampleUnit) Commit(pipelines.StateChange) error { return nil }
func (u *sampleUnit) Abort()                             {}

// load creates raw.<name> in db with the sample's rows and the column
// types the lake's raw view would have.
func (s *sample) load(ctx context.Context, db *sql.DB, name string) error {
	b := s.batch
	staging := "_load_" + name
	var text, typed []string
	for _, c := range b.Schema {
		q := duckdb.QuoteIdent(c.Name)
		text = append(text, q+" VARCHAR")
		typed = append(typed, fmt.Sprintf("CAST(%s AS %s) AS %s", q, c.DuckDBType(), q))
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS raw; CREATE TABLE raw.%s (%s)",
		duckdb.QuoteIdent(staging), strings.Join(text, ", "))); err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	i := 0
	if _, err := duckdb.Append(ctx, conn, "raw", staging, func() []driver.Value {
		if i >= b.Len() {
			return nil
		}
		row := make([]driver.Value, len(b.Schema))
		for c := range b.Schema {
			if !b.Cols[c].Null[i] {
				row[c] = b.Text(c, i)
			}
		}
		i++
		return row
	}); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("CREATE TABLE raw.%s AS SELECT %s FROM raw.%s; DROP TABLE raw.%s",
		duckdb.QuoteIdent(name), strings.Join(typed, ", "), duckdb.QuoteIdent(staging), duckdb.QuoteIdent(staging)))
	return err
}
