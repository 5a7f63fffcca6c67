package lake

import (
	"fmt"
	"path/filepath"
	"strings"

	"crmwh/pipelines"
)

// View is a DuckDB view over a stream's files.
type View struct {
	Name string // relation name inside the raw schema
	SQL  string // the SELECT
}

// RawViews returns the views a warehouse build creates for one stream:
// <source>_<stream> over exactly the committed parts the manifest lists
// (never a glob, so files of an interrupted run are never read), and
// <source>_<stream>__quarantine over its quarantined rows. A stream with no
// parts gives typed empty views.
func (l *Lake) RawViews(m *StreamManifest) []View {
	if len(m.Schema) == 0 {
		return nil
	}
	name := m.Source + "_" + m.Stream
	return []View{
		{Name: name, SQL: l.scanSQL(m.Schema, m.Parts)},
		{Name: name + "__quarantine", SQL: l.scanSQL(quarantineSchema, m.Quarantine)},
	}
}

// scanSQL selects the given columns from the parts, or an empty typed
// relation when there are none. Columns are selected by name, so files
// written with older schemas read as NULL for newer columns.
func (l *Lake) scanSQL(cols pipelines.Schema, parts []Part) string {
	sel := make([]string, len(cols))
	for i, c := range cols {
		if len(parts) == 0 {
			sel[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.DuckDBType(), quoteIdent(c.Name))
		} else {
			sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c.Name), c.DuckDBType(), quoteIdent(c.Name))
		}
	}
	if len(parts) == 0 {
		return "SELECT " + strings.Join(sel, ", ") + " WHERE false"
	}
	files := make([]string, len(parts))
	for i, p := range parts {
		files[i] = quoteString(filepath.Join(l.Dir, filepath.FromSlash(p.Path)))
	}
	return fmt.Sprintf("SELECT %s FROM read_parquet([%s], union_by_name = true, hive_partitioning = false)", strings.Join(sel, ", "), strings.Join(files, ", "))
}

func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
