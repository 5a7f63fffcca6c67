package onboard

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"crmwh/pipelines"
	"crmwh/pipelines/sources/parquetfile"
	"crmwh/warehouse/contract"
	"crmwh/warehouse/duckdb"
)

// table is one input: the source and stream crmwh.yaml gets for it, and
// the sample read through them.
type table struct {
	in Input
	// source is the source's name; sourceDSN its dsn as written.
	source, sourceDSN string
	stream            pipelines.StreamConfig
	cols              []column
	sample            *sample
	// notes are comments on the stream; colNotes on its columns.
	notes    []string
	colNotes map[string]string
}

// streamRef is "<source>.<stream>".
func (t *table) streamRef() string { return t.source + "." + t.stream.Name }

// relation is the stream's raw view, quoted.
func (t *table) relation() string { return "raw." + duckdb.QuoteIdent(t.source+"_"+t.stream.Name) }

func (t *table) columnNames() []string {
	var out []string
	for _, c := range t.cols {
		out = append(out, c.Name)
	}
	return out
}

// tableOf finds an input's table.
func tableOf(tables []*table, in Input) *table {
	for _, t := range tables {
		if t.in.Spec == in.Spec {
			return t
		}
	}
	panic("no table for " + in.Spec)
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// sanitize makes a source or stream name: lower case letters, digits and
// underscores, starting with a letter.
func sanitize(s, fallback string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(regexp.MustCompile(`_+`).ReplaceAllString(b.String(), "_"), "_")
	if out == "" {
		return fallback
	}
	if !nameRE.MatchString(out) {
		out = "s_" + out
	}
	return out
}

// planTables gives every distinct input a table, with source and stream
// names: a file's source is named after the file and its stream after the
// entity; tables of one database share a source named after the database.
func planTables(inputs []Input, dir, tz string) ([]*table, error) {
	var tables []*table
	sourceKind := map[string]string{} // source name → kind and location
	streams := map[string]bool{}      // source.stream
	unique := func(base, key string) string {
		name := base
		for i := 2; ; i++ {
			if k, ok := sourceKind[name]; !ok || k == key {
				sourceKind[name] = key
				return name
			}
			name = fmt.Sprintf("%s_%d", base, i)
		}
	}
	for _, in := range inputs {
		dup := false
		for _, t := range tables {
			dup = dup || t.in.Spec == in.Spec
		}
		if dup {
			continue
		}
		t := &table{in: in, colNotes: map[string]string{}}
		switch in.Kind {
		case KindCSV, KindParquet:
			stem := strings.TrimSuffix(filepath.Base(in.Path), filepath.Ext(in.Path))
			stem = strings.NewReplacer("*", "", "?", "", "[", "", "]", "").Replace(stem)
			t.source = unique(sanitize(stem, in.Entity), in.Kind+":"+in.Spec)
			t.stream = pipelines.StreamConfig{Name: in.Entity, Path: writtenPath(dir, in.Path)}
		case KindSQLite:
			t.sourceDSN = writtenPath(dir, in.Path)
			stem := strings.TrimSuffix(filepath.Base(in.Path), filepath.Ext(in.Path))
			t.source = unique(sanitize(stem, "db"), in.Kind+":"+t.sourceDSN)
			t.stream = pipelines.StreamConfig{Name: sanitize(in.Table, in.Entity), Table: in.Table}
		case KindPostgres:
			t.sourceDSN = in.DSN
			t.source = unique(sanitize(postgresDatabase(in.DSN), "postgres"), in.Kind+":"+in.DSN)
			name := in.Table
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:]
			}
			t.stream = pipelines.StreamConfig{Name: sanitize(name, in.Entity), Table: in.Table}
		}
		for base, i := t.stream.Name, 2; streams[t.streamRef()]; i++ {
			t.stream.Name = fmt.Sprintf("%s_%d", base, i)
		}
		streams[t.streamRef()] = true
		tables = append(tables, t)
	}
	return tables, nil
}

// writtenPath is a path as crmwh.yaml gets it: relative to the project
// folder when inside it, absolute otherwise.
func writtenPath(dir, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(dir, abs); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(abs)
}

// postgresDatabase is the database a DSN names ("" when unknown).
func postgresDatabase(dsn string) string {
	if m := regexp.MustCompile(`(?:^|\s)dbname\s*=\s*'?([^\s']+)`).FindStringSubmatch(dsn); m != nil {
		return m[1]
	}
	if m := regexp.MustCompile(`^postgres(?:ql)?://[^/]*/([^?#]+)`).FindStringSubmatch(dsn); m != nil {
		return m[1]
	}
	return ""
}

// sourceConfig is the table's source with its stream alone.
func (t *table) sourceConfig() pipelines.SourceConfig {
	return pipelines.SourceConfig{Name: t.source, Kind: t.in.Kind, DSN: t.sourceDSN, Streams: []pipelines.StreamConfig{t.stream}}
}

// read works out the stream's config, reads the sample through it and
// loads it into db as the stream's raw view.
func (t *table) read(ctx context.Context, env pipelines.Env, loc *time.Location, tz string, db *sql.DB) error {
	cfg := t.sourceConfig()
	switch t.in.Kind {
	case KindCSV:
		if err := t.csvStream(loc, tz); err != nil {
			return err
		}
		cfg = t.sourceConfig()
	case KindParquet:
		if err := t.parquetStream(loc, tz); err != nil {
			return err
		}
		cfg = t.sourceConfig()
	case KindSQLite, KindPostgres:
		// The sample reads the first rows only.
		q := &cfg.Streams[0]
		q.Table, q.Query = "", fmt.Sprintf("SELECT * FROM %s LIMIT %d", quoteTable(t.in.Kind, t.in.Table), sampleRows)
		if t.in.Kind == KindPostgres {
			if err := t.postgresZone(ctx, env, tz); err != nil {
				return err
			}
			q.Timezone = t.stream.Timezone
		}
	}
	s, err := readSample(ctx, cfg, env, sampleRows)
	if err != nil {
		return err
	}
	if t.in.Kind == KindSQLite || t.in.Kind == KindPostgres {
		s.Complete = int64(s.batch.Len()) < sampleRows
		for _, c := range s.batch.Schema {
			t.cols = append(t.cols, column{Name: c.Name, Orig: c.Name, Col: c, norm: normalize(c.Name)})
		}
		if err := t.keys(ctx, env); err != nil {
			return err
		}
		if t.in.Kind == KindSQLite {
			for _, c := range s.batch.Schema {
				if c.Type == pipelines.TypeTimestamp {
					t.notes = append(t.notes, "SQLite times without a UTC offset are read as UTC (docs/pipelines.md).")
					break
				}
			}
		}
	}
	t.sample = s
	if s.Bad > 0 {
		share := float64(s.Bad) / float64(s.Bad+s.Read)
		note := fmt.Sprintf("%s of the %s rows read go to quarantine (e.g. %s)", count(s.Bad), count(s.Bad+s.Read), strings.Join(s.BadReasons, "; "))
		if share > 0.01 && s.Bad+s.Read >= pipelines.MinRowsForBadRatio {
			limit := min(1, float64(int(share*200+1))/100)
			t.stream.MaxBadRatio = &limit
			note += fmt.Sprintf(": more than the default 1%%, so max_bad_ratio is %g", limit)
		}
		t.notes = append(t.notes, note+".")
	}
	return s.load(ctx, db, t.source+"_"+t.stream.Name)
}

// quoteTable quotes a [schema.]table name.
func quoteTable(kind, name string) string {
	if kind == KindSQLite {
		return duckdb.QuoteIdent(name)
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = duckdb.QuoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// csvStream sniffs the first file and declares the stream's columns.
func (t *table) csvStream(loc *time.Location, tz string) error {
	cf, err := sniffCSV(t.in.Files, loc)
	if err != nil {
		return err
	}
	st := &t.stream
	st.Encoding, st.Delimiter = cf.Encoding, cf.Delimiter
	if cf.LocalTimes {
		st.Timezone = tz
	}
	names := map[string]bool{}
	seen := map[string]bool{}
	for j, h := range cf.Header {
		if h == "" || seen[h] {
			t.notes = append(t.notes, fmt.Sprintf("Column %d has %s header: it is not loaded.", j+1, map[bool]string{true: "the same", false: "no"}[seen[h]]))
			continue
		}
		seen[h] = true
		name := lakeName(h, j, names)
		c := pipelines.ColumnConfig{Name: name, Type: cf.Types[j].Type, Format: cf.Types[j].Format}
		if name != h {
			c.Header = h
		}
		st.Columns = append(st.Columns, c)
		col, _ := pipelines.ParseType(c.Type)
		col.Name = name
		t.cols = append(t.cols, column{Name: name, Orig: h, Col: col, norm: normalize(h)})
		if n := cf.Types[j].Note; n != "" {
			t.colNotes[name] = n
		}
	}
	how := map[string]string{"": "comma-separated", "tab": "tab-separated", ";": "semicolon-separated", "|": "pipe-separated", "whitespace": "separated by blanks"}[cf.Delimiter]
	enc := "UTF-8"
	if cf.Encoding != "" {
		enc = strings.ToUpper(cf.Encoding)
	}
	t.notes = append([]string{fmt.Sprintf("%s: %s, %s, with a header line.", filepath.Base(t.in.Files[0]), enc, how)}, t.notes...)
	if cf.LocalTimes {
		t.notes = append(t.notes, fmt.Sprintf("Its times have no UTC offset: they are read as %s time.", tz))
	}
	if !cf.Complete {
		t.notes = append(t.notes, fmt.Sprintf("Types were worked out from the first %s rows.", count(int64(cf.Rows))))
	}
	return nil
}

// parquetStream declares the file's columns that the lake can hold.
func (t *table) parquetStream(loc *time.Location, tz string) error {
	fcs, err := parquetfile.FileColumns(t.in.Files[0], loc)
	if err != nil {
		return fmt.Errorf("%s: %w", t.in.Files[0], err)
	}
	names := map[string]bool{}
	st := &t.stream
	for j, fc := range fcs {
		if fc.Err != nil {
			t.notes = append(t.notes, fmt.Sprintf("Column %s (%s) is not loaded: %v.", fc.Name, fc.Type, fc.Err))
			continue
		}
		name := lakeName(fc.Name, j, names)
		c := pipelines.ColumnConfig{Name: name, Type: fc.Col.TypeString()}
		if name != fc.Name {
			c.Field = fc.Name
		}
		if fc.LocalTime {
			st.Timezone = tz
		}
		st.Columns = append(st.Columns, c)
		col := fc.Col
		col.Name = name
		t.cols = append(t.cols, column{Name: name, Orig: fc.Name, Col: col, norm: normalize(fc.Name)})
	}
	if len(st.Columns) == 0 {
		return fmt.Errorf("%s has no column crmwh can load", t.in.Files[0])
	}
	if st.Timezone != "" {
		t.notes = append(t.notes, fmt.Sprintf("Its timestamps without a time zone are read as %s time.", tz))
	}
	return nil
}

// lakeName is the column name in the lake: the file's name when it is a
// plain identifier, else a snake_case form of it; a Chinese name becomes
// the contract field it means (订单号 → order_id), else column_N.
func lakeName(orig string, j int, taken map[string]bool) string {
	name := orig
	if !plainIdent.MatchString(orig) {
		ascii := true
		for _, r := range orig {
			ascii = ascii && r < 128
		}
		switch {
		case ascii:
			name = sanitize(orig, fmt.Sprintf("column_%d", j+1))
		default:
			name = fieldMeaning(orig)
			if name == "" {
				name = fmt.Sprintf("column_%d", j+1)
			}
		}
	}
	base := name
	for i := 2; taken[strings.ToLower(name)]; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	taken[strings.ToLower(name)] = true
	return name
}

// fieldMeaning is the contract field a column name means exactly, or "".
func fieldMeaning(orig string) string {
	n := normalize(orig)
	keys := make([]string, 0, len(synonyms))
	for k := range synonyms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, s := range synonyms[k] {
			if normalize(s) == n {
				if i := strings.IndexByte(k, '.'); i >= 0 {
					return k[i+1:]
				}
				return k
			}
		}
	}
	return ""
}

// keys finds a table's primary key and proposes its watermark: a column
// such as updated_at, else an increasing integer key.
func (t *table) keys(ctx context.Context, env pipelines.Env) error {
	pk, err := t.primaryKey(ctx, env)
	if err != nil {
		return err
	}
	st := &t.stream
	st.PrimaryKey = pk
	upd := synonymsOf("", "updated_at", false)
	for _, c := range t.cols {
		if c.Col.Type != pipelines.TypeTimestamp && c.Col.Type != pipelines.TypeDate {
			continue
		}
		for _, s := range upd {
			if c.norm == s.norm {
				st.Watermark = c.Name
				t.notes = append(t.notes, fmt.Sprintf("Read incrementally: rows whose %s is newer than the last one loaded (new and changed rows).", c.Name))
				return nil
			}
		}
	}
	if len(pk) == 1 {
		for _, c := range t.cols {
			if c.Name == pk[0] && c.Col.Type == pipelines.TypeInt64 {
				st.Watermark = c.Name
				t.notes = append(t.notes, fmt.Sprintf("Read incrementally by the increasing key %s: new rows are loaded, rows changed later are not (give an updated_at column as watermark if rows change).", c.Name))
				return nil
			}
		}
	}
	t.notes = append(t.notes, "No watermark found (no updated_at column, no increasing integer key): the whole table is read on every run.")
	return nil
}

// needsWatermark reports whether the table must have a watermark: its
// rows are order lines (added up), which a whole re-read would count twice.
func (t *table) needsWatermark(props []*proposal) bool {
	if t.stream.Watermark != "" || (t.in.Kind != KindSQLite && t.in.Kind != KindPostgres) {
		return false
	}
	for _, pr := range props {
		if pr.table == t && pr.rows == contract.RowsLines {
			return true
		}
	}
	return false
}

// primaryKey reads a table's primary key from the database's catalogue.
func (t *table) primaryKey(ctx context.Context, env pipelines.Env) ([]string, error) {
	db, closeDB, err := t.open(env)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	var q string
	var args []any
	if t.in.Kind == KindSQLite {
		q = fmt.Sprintf(`SELECT name FROM pragma_table_info(%s) WHERE pk > 0 ORDER BY pk`, sqlString(t.in.Table))
	} else {
		q = `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)`
		args = append(args, quoteTable(KindPostgres, t.in.Table))
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the primary key of %s: %w", t.in.Table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// postgresZone sets the stream's time zone when the table has columns of
// type timestamp without time zone (wall clocks, read in the project's
// zone).
func (t *table) postgresZone(ctx context.Context, env pipelines.Env, tz string) error {
	db, closeDB, err := t.open(env)
	if err != nil {
		return err
	}
	defer closeDB()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
		AND atttypid = 'timestamp'::regtype`, quoteTable(KindPostgres, t.in.Table)).Scan(&n)
	if err != nil {
		return fmt.Errorf("reading the columns of %s: %w", t.in.Table, err)
	}
	if n > 0 {
		t.stream.Timezone = tz
		t.notes = append(t.notes, fmt.Sprintf("Its timestamp columns without time zone are read as %s time.", tz))
	}
	return nil
}

// open connects to the table's database through its source kind.
func (t *table) open(env pipelines.Env) (*sql.DB, func(), error) {
	src, err := pipelines.Open(t.sourceConfig(), env)
	if err != nil {
		return nil, nil, err
	}
	withDB, ok := src.(interface{ DB() *sql.DB })
	if !ok {
		src.Close()
		return nil, nil, fmt.Errorf("source kind %s has no database", t.in.Kind)
	}
	return withDB.DB(), func() { src.Close() }, nil
}
