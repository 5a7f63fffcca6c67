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
// (never a glob, so files of an interrupted run are never read), snapshots
// included, and <source>_<stream>__quarantine over its quarantined rows. A
// stream with no parts gives typed empty views.
func (l *Lake) RawViews(m *StreamManifest) []View {
	if len(m.Schema) == 0 {
		return nil
	}
	name := m.Source + "_" + m.Stream
	q := map[string]pipelines.Schema{quarantineSchema.Hash(): quarantineSchema}
	return []View{
		{Name: name, SQL: l.scanSQL(m.Schema, m.Schemas, m.LiveParts())},
		{Name: name + "__quarantine", SQL: l.scanSQL(quarantineSchema, q, m.LiveQuarantine())},
	}
}

// QuarantineView is the view raw.quarantine: every stream's quarantined
// rows in one relation, with a first column stream ("<source>.<stream>"),
// over the raw.<source>_<stream>__quarantine views of RawViews. With no
// streams it is empty, with the same columns.
func (l *Lake) QuarantineView(ms []*StreamManifest) View {
	q := map[string]pipelines.Schema{quarantineSchema.Hash(): quarantineSchema}
	selects := []string{"SELECT CAST(NULL AS VARCHAR) AS stream, * FROM (" + l.scanSQL(quarantineSchema, q, nil) + ")"}
	for _, m := range ms {
		if len(m.Schema) == 0 {
			continue
		}
		selects = append(selects, fmt.Sprintf("SELECT %s AS stream, * FROM raw.%s",
			quoteString(m.Source+"."+m.Stream), quoteIdent(m.Source+"_"+m.Stream+"__quarantine")))
	}
	return View{Name: "quarantine", SQL: strings.Join(selects, "\nUNION ALL ")}
}

// scanSQL selects the stream's columns from the parts, or an empty typed
// relation when there are none. Parts are read in groups of one schema
// each, and every column is cast to the stream's type: a column a group
// lacks (added to the source later, or dropped from it) reads as NULL, and
// one a group has with another type (a retyped column under
// on_schema_change: coerce) is cast to the widened type.
func (l *Lake) scanSQL(cols pipelines.Schema, schemas map[string]pipelines.Schema, parts []Part) string {
	if len(parts) == 0 {
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.DuckDBType(), quoteIdent(c.Name))
		}
		return "SELECT " + strings.Join(sel, ", ") + " WHERE false"
	}
	var order []string
	groups := map[string][]string{}
	for _, p := range parts {
		if _, ok := groups[p.SchemaHash]; !ok {
			order = append(order, p.SchemaHash)
		}
		groups[p.SchemaHash] = append(groups[p.SchemaHash], quoteString(filepath.Join(l.Dir, filepath.FromSlash(p.Path))))
	}
	var selects []string
	for _, h := range order {
		have, ok := schemas[h]
		if !ok {
			have = cols // a part of an older manifest without its schema
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			if have.Index(c.Name) < 0 {
				sel[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.DuckDBType(), quoteIdent(c.Name))
			} else {
				sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", quoteIdent(c.Name), c.DuckDBType(), quoteIdent(c.Name))
			}
		}
		selects = append(selects, fmt.Sprintf("SELECT %s FROM read_parquet([%s], hive_partitioning = false)",
			strings.Join(sel, ", "), strings.Join(groups[h], ", ")))
	}
	return strings.Join(selects, "\nUNION ALL\n")
}

func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
