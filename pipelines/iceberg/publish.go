package iceberg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	ice "github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	fp "crmwh/pipelines/failpoint"
	"crmwh/pipelines/lake"
)

// Snapshot summary keys crmwh adds to every snapshot.
const (
	// SummaryLakeVersion is the stream's lake.StreamManifest.Version the
	// snapshot brings the table to.
	SummaryLakeVersion = "crmwh.lake-version"
	// SummaryRunID lists the extract runs that wrote the parts it adds.
	SummaryRunID = "crmwh.run-id"
)

// DefaultSnapshotAge is how long a table keeps snapshots it replaced
// (history.expire.max-snapshot-age-ms of the tables crmwh creates): the
// lake keeps a part a retained snapshot reads (see Files), so time
// travel within a day, and a query that started before a reload, read
// whole files.
const DefaultSnapshotAge = 24 * time.Hour

// Failpoints lists the places CRMWH_FAILPOINT can name in a Publish (see
// package failpoint): before and after each snapshot's commit.
func Failpoints() []string { return []string{"iceberg.before-commit", "iceberg.after-commit"} }

// Published is what Sync did to a stream's table.
type Published struct {
	Table string `json:"table"`
	// Created is true when the table was created.
	Created bool `json:"created,omitempty"`
	// SchemaChanged is true when the table got a new schema.
	SchemaChanged bool `json:"schema_changed,omitempty"`
	// Snapshots is how many snapshots were added: one per lake commit
	// the table had not seen.
	Snapshots int `json:"snapshots"`
	// Expired is how many old snapshots were removed.
	Expired    int   `json:"expired,omitempty"`
	SnapshotID int64 `json:"snapshot_id,omitempty"`
	// LakeVersion is the stream's version in the lake.
	LakeVersion int64 `json:"lake_version"`
	DataFiles   int   `json:"data_files"`
	Rows        int64 `json:"rows"`
}

// Publish implements extract.Catalog: it brings a stream's table up to
// date (see Sync).
func (c *Catalog) Publish(ctx context.Context, source, stream string) error {
	_, err := c.Sync(ctx, source, stream)
	return err
}

// SyncAll brings every stream's table up to date, going on past a
// stream's failure; the error joins every failure.
func (c *Catalog) SyncAll(ctx context.Context) ([]Published, error) {
	ms, err := c.lake.Manifests()
	if err != nil {
		return nil, err
	}
	var out []Published
	var errs []error
	for _, m := range ms {
		p, err := c.Sync(ctx, m.Source, m.Stream)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Sync brings a stream's table up to date with the stream's committed
// manifest, creating it if needed: the schema first (when it changed),
// then one snapshot per lake commit the table has not seen, in order,
// each appending the parts that commit added and removing those it
// retired; then snapshots older than the table's
// history.expire.max-snapshot-age-ms are removed (never the current one).
// It holds no state of its own: a table that is up to date is left as it
// is, so after a crash it is simply run again. A stream never extracted
// has no table. Call it holding the lake's lock.
func (c *Catalog) Sync(ctx context.Context, source, stream string) (Published, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ident := c.Ident(source, stream)
	res := Published{Table: strings.Join(ident, ".")}
	p, err := c.sync(ctx, source, stream, &res)
	if err != nil {
		return res, fmt.Errorf("iceberg table %s: %w", res.Table, err)
	}
	if p == nil {
		return res, nil
	}
	if s := p.CurrentSnapshot(); s != nil {
		res.SnapshotID = s.SnapshotID
		if s.Summary != nil {
			res.DataFiles, _ = strconv.Atoi(s.Summary.Properties["total-data-files"])
			res.Rows, _ = strconv.ParseInt(s.Summary.Properties["total-records"], 10, 64)
		}
	}
	return res, nil
}

func (c *Catalog) sync(ctx context.Context, source, stream string, res *Published) (*table.Table, error) {
	// Parts written before the lake recorded field ids get theirs now.
	m, err := c.lake.FieldIDs(source, stream)
	if err != nil {
		return nil, err
	}
	res.LakeVersion = m.Version
	if len(m.Schema) == 0 {
		return nil, nil
	}
	ident := c.Ident(source, stream)
	tbl, err := c.cat.LoadTable(ctx, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		tbl, err = c.create(ctx, source, stream)
		res.Created = true
	}
	if err != nil {
		return nil, err
	}

	ts, err := schemaOf(m, tbl.Schema())
	if err != nil {
		return nil, err
	}
	props := ice.Properties{table.DefaultNameMappingKey: ts.mappingJSON(), propLake: fileURI(c.lake.Dir)}
	if !sameFields(tbl.Schema(), ts.fields) || !hasProperties(tbl, props) {
		var updates []table.Update
		if !sameFields(tbl.Schema(), ts.fields) {
			updates = append(updates, table.NewAddSchemaUpdate(ice.NewSchema(0, ts.fields...)), table.NewSetCurrentSchemaUpdate(-1))
			res.SchemaChanged = true
		}
		updates = append(updates, table.NewSetPropertiesUpdate(props))
		if _, _, err := c.cat.CommitTable(ctx, ident, []table.Requirement{table.AssertCurrentSchemaID(tbl.Schema().ID)}, updates); err != nil {
			return nil, fmt.Errorf("changing the schema: %w", err)
		}
		if tbl, err = c.cat.LoadTable(ctx, ident); err != nil {
			return nil, err
		}
	}

	changes, err := c.plan(ctx, tbl, m)
	if err != nil {
		return nil, err
	}
	versions := make([]int64, 0, len(changes))
	for v := range changes {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })

	fsys, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		ch := changes[v]
		sort.Slice(ch.dels, func(i, j int) bool { return ch.dels[i].FilePath() < ch.dels[j].FilePath() })
		adds := make([]ice.DataFile, 0, len(ch.adds))
		runs := map[string]bool{}
		for _, p := range ch.adds {
			df, err := c.dataFile(ctx, fsys, tbl, p)
			if err != nil {
				return nil, err
			}
			adds = append(adds, df)
			runs[p.RunID] = true
		}
		props := ice.Properties{SummaryLakeVersion: strconv.FormatInt(v, 10)}
		if len(runs) > 0 {
			props[SummaryRunID] = strings.Join(sortedKeys(runs), ",")
		}
		tx := tbl.NewTransaction()
		if len(ch.dels) > 0 {
			err = tx.ReplaceDataFilesWithDataFiles(ctx, ch.dels, adds, props, table.WithoutAutoNameMapping())
		} else {
			err = tx.AddDataFiles(ctx, adds, props, table.WithoutAutoNameMapping(), table.WithoutDuplicateCheck())
		}
		if err != nil {
			return nil, fmt.Errorf("lake version %d: %w", v, err)
		}
		fp.Hit("iceberg.before-commit")
		if tbl, err = tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("committing lake version %d: %w", v, err)
		}
		fp.Hit("iceberg.after-commit")
		res.Snapshots++
	}
	if res.Snapshots > 0 {
		c.log().Info("published lake commits as iceberg snapshots", "table", res.Table, "snapshots", res.Snapshots,
			"lake_version", m.Version)
	}
	return c.expire(ctx, tbl, res)
}

// propLake is the table property naming the lake folder whose parts the
// table reads.
const propLake = "crmwh.lake"

// hasProperties reports whether a table has these properties.
func hasProperties(tbl *table.Table, props ice.Properties) bool {
	for k, v := range props {
		if tbl.Properties()[k] != v {
			return false
		}
	}
	return true
}

// change is what one lake version changes in a table.
type change struct {
	adds []lake.Part
	dels []ice.DataFile
}

// plan works out, for each lake version the table has not seen, the parts
// it adds and the files it removes. Usually the table's last snapshot
// says which version it brought the table to, and every later version's
// parts are new to it and every part retired since was in it, which the
// manifest alone tells; the counts must then add up to the stream's live
// parts. When they do not (the table was changed from outside, or the
// lake folder moved), the files of the table's current snapshot are
// compared with the live parts.
func (c *Catalog) plan(ctx context.Context, tbl *table.Table, m *lake.StreamManifest) (map[int64]*change, error) {
	changes := map[int64]*change{}
	at := func(v int64) *change {
		if changes[v] == nil {
			changes[v] = &change{}
		}
		return changes[v]
	}
	live := m.LiveParts()
	if pub, total, ok := publishedAt(tbl.CurrentSnapshot()); ok && pub <= m.Version && tbl.Properties()[propLake] == fileURI(c.lake.Dir) {
		n := total
		for _, p := range live {
			if p.Version > pub {
				at(p.Version).adds = append(at(p.Version).adds, p)
				n++
			}
		}
		for _, p := range m.Retired {
			if p.RetiredVersion > pub && p.Version <= pub {
				df, err := c.dataFile(ctx, nil, tbl, p)
				if err != nil {
					return nil, err
				}
				at(p.RetiredVersion).dels = append(at(p.RetiredVersion).dels, df)
				n--
			}
		}
		if n == len(live) {
			return changes, nil
		}
		changes = map[int64]*change{}
	}
	files, err := c.currentFiles(ctx, tbl)
	if err != nil {
		return nil, err
	}
	isLive := map[string]bool{}
	for _, p := range live {
		uri := c.uri(p.Path)
		isLive[uri] = true
		if _, ok := files[uri]; !ok {
			at(p.Version).adds = append(at(p.Version).adds, p)
		}
	}
	retired := map[string]int64{}
	for _, p := range m.Retired {
		retired[c.uri(p.Path)] = p.RetiredVersion
	}
	for uri, df := range files {
		if !isLive[uri] {
			at(retired[uri]).dels = append(at(retired[uri]).dels, df)
		}
	}
	return changes, nil
}

// publishedAt is the lake version a snapshot brought its table to, and
// how many data files it has.
func publishedAt(s *table.Snapshot) (version int64, files int, ok bool) {
	if s == nil || s.Summary == nil {
		return 0, 0, false
	}
	v, err := strconv.ParseInt(s.Summary.Properties[SummaryLakeVersion], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	n, err := strconv.Atoi(s.Summary.Properties["total-data-files"])
	return v, n, err == nil
}

// create makes a stream's table: format version 2, partitioned by the
// ingest date (identity), its metadata in the lake's _iceberg folder.
// The table is created with the partition column alone, which keeps its
// id (Iceberg gives fresh ids to a new table's schema); Sync then sets
// the stream's schema with the lake's field ids.
func (c *Catalog) create(ctx context.Context, source, stream string) (*table.Table, error) {
	sc := ice.NewSchema(0, ice.NestedField{ID: lake.PartitionFieldID, Name: PartitionColumn, Type: ice.PrimitiveTypes.Date})
	spec := ice.NewPartitionSpec(ice.PartitionField{SourceIDs: []int{lake.PartitionFieldID}, FieldID: partitionFieldID,
		Name: PartitionColumn, Transform: ice.IdentityTransform{}})
	props := ice.Properties{
		table.PropertyFormatVersion: "2",
		// The lake owns the data files: no engine's garbage collection
		// (expire_snapshots, DROP TABLE … PURGE) may delete them; crmwh
		// deletes a replaced part once nothing reads it.
		table.GCEnabledKey:                        "false",
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      "20",
		table.ManifestMergeEnabledKey:             "true",
		table.MaxSnapshotAgeMsKey:                 strconv.FormatInt(DefaultSnapshotAge.Milliseconds(), 10),
		"crmwh.source":                            source,
		"crmwh.stream":                            stream,
		"comment":                                 fmt.Sprintf("crmwh lake stream %s.%s (a table over the lake's Parquet files; crmwh extract keeps it up to date)", source, stream),
	}
	tbl, err := c.cat.CreateTable(ctx, c.Ident(source, stream), sc, catalog.WithPartitionSpec(&spec),
		catalog.WithLocation(c.location(source, stream)), catalog.WithProperties(props))
	if err != nil {
		return nil, fmt.Errorf("creating the table: %w", err)
	}
	if f, ok := tbl.Schema().FindFieldByName(PartitionColumn); !ok || f.ID != lake.PartitionFieldID {
		return nil, fmt.Errorf("the new table's partition column has field id %d, not %d", f.ID, lake.PartitionFieldID)
	}
	return tbl, nil
}

// currentFiles are the data files of the table's current snapshot, by
// path.
func (c *Catalog) currentFiles(ctx context.Context, tbl *table.Table) (map[string]ice.DataFile, error) {
	out := map[string]ice.DataFile{}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return out, nil
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	err = eachDataFile(fsys, []table.Snapshot{*snap}, func(df ice.DataFile) { out[df.FilePath()] = df })
	return out, err
}

// eachDataFile calls fn with every data file that one of the snapshots
// reads (a file may come more than once).
func eachDataFile(fsys iceio.IO, snaps []table.Snapshot, fn func(ice.DataFile)) error {
	seen := map[string]bool{}
	for _, s := range snaps {
		mans, err := s.Manifests(fsys)
		if err != nil {
			return err
		}
		for _, mf := range mans {
			if mf.ManifestContent() != ice.ManifestContentData || seen[mf.FilePath()] {
				continue
			}
			seen[mf.FilePath()] = true
			for e, err := range mf.Entries(fsys, true) {
				if err != nil {
					return err
				}
				fn(e.DataFile())
			}
		}
	}
	return nil
}

// uri is a lake part's path as the table names it.
func (c *Catalog) uri(rel string) string {
	return fileURI(filepath.Join(c.lake.Dir, filepath.FromSlash(rel)))
}

// dataFile describes a part for the table: its path, rows, size and
// partition (the ingest date of its folder; none for a snapshot's part),
// and, for a part written with field ids, its columns' sizes, value and
// null counts and bounds read from its footer, which engines prune files
// by (not with a nil fsys: a file to remove is known by its path).
func (c *Catalog) dataFile(ctx context.Context, fsys iceio.IO, tbl *table.Table, p lake.Part) (ice.DataFile, error) {
	uri := c.uri(p.Path)
	var day any
	if d, ok := ingestDate(p.Path); ok {
		day = ice.Date(d.Unix() / 86400)
	}
	b, err := ice.NewDataFileBuilder(tbl.Spec(), ice.EntryContentData, uri, ice.ParquetFile,
		map[int]any{partitionFieldID: day}, nil, nil, p.Rows, p.Bytes)
	if err != nil {
		return nil, err
	}
	if p.FieldIDs && fsys != nil {
		st, err := table.FileToDataFile(ctx, fsys, uri, tbl.Schema(), *ice.UnpartitionedSpec, 0, tbl.Properties())
		if err != nil {
			return nil, fmt.Errorf("reading the statistics of %s: %w", p.Path, err)
		}
		if st.Count() != p.Rows {
			return nil, fmt.Errorf("part %s holds %d rows, the lake's manifest says %d", p.Path, st.Count(), p.Rows)
		}
		b.ColumnSizes(st.ColumnSizes()).ValueCounts(st.ValueCounts()).NullValueCounts(st.NullValueCounts()).
			LowerBoundValues(st.LowerBoundValues()).UpperBoundValues(st.UpperBoundValues()).SplitOffsets(st.SplitOffsets())
	}
	return b.Build(), nil
}

// ingestDate is the date of a part's ingest_date= folder.
func ingestDate(rel string) (time.Time, bool) {
	for _, seg := range strings.Split(rel, "/") {
		if v, ok := strings.CutPrefix(seg, "ingest_date="); ok {
			t, err := time.Parse("2006-01-02", v)
			return t, err == nil
		}
	}
	return time.Time{}, false
}

// expire removes the snapshots older than the table's
// history.expire.max-snapshot-age-ms but the current one, and then the
// metadata files nothing refers to any more. Data files are the lake's:
// they are never deleted here (see Files).
func (c *Catalog) expire(ctx context.Context, tbl *table.Table, res *Published) (*table.Table, error) {
	cur := tbl.CurrentSnapshot()
	if cur == nil {
		return tbl, nil
	}
	age := time.Duration(tbl.Properties().GetInt64(table.MaxSnapshotAgeMsKey, DefaultSnapshotAge.Milliseconds())) * time.Millisecond
	cutoff := time.Now().Add(-age).UnixMilli()
	var old []int64
	for _, s := range tbl.Metadata().Snapshots() {
		if s.SnapshotID != cur.SnapshotID && s.TimestampMs < cutoff {
			old = append(old, s.SnapshotID)
		}
	}
	if len(old) == 0 {
		return tbl, nil
	}
	id := cur.SnapshotID
	if _, _, err := c.cat.CommitTable(ctx, tbl.Identifier(), []table.Requirement{table.AssertRefSnapshotID(table.MainBranch, &id)},
		[]table.Update{table.NewRemoveSnapshotsUpdate(old, false)}); err != nil {
		return nil, fmt.Errorf("expiring %d snapshots: %w", len(old), err)
	}
	res.Expired = len(old)
	tbl, err := c.cat.LoadTable(ctx, tbl.Identifier())
	if err != nil {
		return nil, err
	}
	return tbl, c.cleanMetadata(ctx, tbl, min(age, time.Hour))
}

// cleanMetadata deletes the files of the table's metadata folder that
// its metadata no longer refers to (manifest lists and manifests of
// expired snapshots, metadata of commits a crash left unfinished) and
// that are older than grace.
func (c *Catalog) cleanMetadata(ctx context.Context, tbl *table.Table, grace time.Duration) error {
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return err
	}
	keep := map[string]bool{tbl.MetadataLocation(): true}
	for e := range tbl.Metadata().PreviousFiles() {
		keep[e.MetadataFile] = true
	}
	for _, s := range tbl.Metadata().Snapshots() {
		keep[s.ManifestList] = true
		mans, err := s.Manifests(fsys)
		if err != nil {
			return err
		}
		for _, mf := range mans {
			keep[mf.FilePath()] = true
		}
	}
	dir := filepath.Join(strings.TrimPrefix(tbl.Location(), "file://"), "metadata")
	cutoff := time.Now().Add(-grace)
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil || keep[fileURI(path)] || !info.ModTime().Before(cutoff) {
			return err
		}
		return os.Remove(path)
	})
}

// Files implements lake.Readers: the parts the lake retired (relative to
// its folder) that a snapshot the tables keep still reads. The lake keeps
// such a part until no kept snapshot reads it, so engines reading an
// older snapshot (a query that began before a reload, time travel) read
// whole files. A snapshot at lake version v reads the parts live at v, so
// a part live from version a until it was retired at r is read when a
// kept snapshot's version is in [a, r); a snapshot that does not say its
// version has its files listed from its manifests.
func (c *Catalog) Files(ctx context.Context) (map[string]bool, error) {
	ms, err := c.lake.Manifests()
	if err != nil {
		return nil, err
	}
	prefix := fileURI(c.lake.Dir) + "/"
	out := map[string]bool{}
	for _, m := range ms {
		if len(m.Retired) == 0 {
			continue
		}
		tbl, err := c.cat.LoadTable(ctx, c.Ident(m.Source, m.Stream))
		if errors.Is(err, catalog.ErrNoSuchTable) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("iceberg catalog: %w", err)
		}
		var versions []int64
		var unknown []table.Snapshot
		for _, s := range tbl.Metadata().Snapshots() {
			if v, _, ok := publishedAt(&s); ok {
				versions = append(versions, v)
			} else {
				unknown = append(unknown, s)
			}
		}
		for _, p := range m.Retired {
			for _, v := range versions {
				if p.Version <= v && v < p.RetiredVersion {
					out[p.Path] = true
				}
			}
		}
		if len(unknown) == 0 {
			continue
		}
		fsys, err := tbl.FS(ctx)
		if err != nil {
			return nil, err
		}
		err = eachDataFile(fsys, unknown, func(df ice.DataFile) {
			if rel, ok := strings.CutPrefix(df.FilePath(), prefix); ok {
				out[rel] = true
			}
		})
		if err != nil {
			return nil, fmt.Errorf("iceberg table %s: %w", strings.Join(tbl.Identifier(), "."), err)
		}
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
