package build

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sort"

	"crmwh/pipelines/lake"
	"crmwh/warehouse/duckdb"
)

// recordLakeParts replaces meta.lake_parts with every lake file the raw
// views read.
func recordLakeParts(ctx context.Context, db *sql.DB, ms []*lake.StreamManifest) error {
	var paths []string
	for _, m := range ms {
		for _, p := range m.LiveParts() {
			paths = append(paths, p.Path)
		}
		for _, p := range m.LiveQuarantine() {
			paths = append(paths, p.Path)
		}
	}
	sort.Strings(paths)
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "DELETE FROM meta.lake_parts"); err != nil {
		return err
	}
	i := 0
	_, err = duckdb.Append(ctx, conn, "meta", "lake_parts", func() []driver.Value {
		if i == len(paths) {
			return nil
		}
		i++
		return []driver.Value{paths[i-1]}
	})
	return err
}

// LakeParts returns the lake files (paths relative to the lake folder) that
// the warehouse files of a project read through their raw views: the
// published warehouse, its previous version and a failed build kept for
// inspection. Extraction deletes a lake file it replaced only when none of
// them reads it (see lake.Readers).
//
// When it cannot tell, it returns an error and extraction keeps every file:
// a build or `crmwh test` under way (or killed) has a file of its own that
// cannot be read yet, and a warehouse built by a crmwh before meta.lake_parts
// existed does not say.
func LakeParts(ctx context.Context, warehouse string) (map[string]bool, error) {
	for _, pat := range []string{".build-*", ".test-*"} {
		if m, _ := filepath.Glob(warehouse + pat); len(m) > 0 {
			return nil, fmt.Errorf("%s is a build under way, or left by a killed one", filepath.Base(m[0]))
		}
	}
	keep := map[string]bool{}
	for _, f := range []string{warehouse, warehouse + ".prev", FailedFile(warehouse)} {
		if !fileExists(f) {
			continue
		}
		if err := readLakeParts(ctx, f, keep); err != nil {
			return nil, fmt.Errorf("reading which lake files %s reads: %w", filepath.Base(f), err)
		}
	}
	return keep, nil
}

func readLakeParts(ctx context.Context, file string, into map[string]bool) error {
	db, err := duckdb.Open(file, duckdb.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'meta' AND table_name = 'lake_parts'").Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("it has no meta.lake_parts (built by an older crmwh; the next two builds replace it)")
	}
	rows, err := db.QueryContext(ctx, "SELECT path FROM meta.lake_parts")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return err
		}
		into[p] = true
	}
	return rows.Err()
}
