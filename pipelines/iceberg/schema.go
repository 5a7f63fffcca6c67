package iceberg

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	ice "github.com/apache/iceberg-go"

	"crmwh/pipelines"
	"crmwh/pipelines/lake"
)

// PartitionColumn is the name of the table column of the lake's Hive
// partition, the day a part was extracted (ingest_date=YYYY-MM-DD). It is
// not stored in the files: readers take it from the partition values, as
// the Iceberg spec says for identity partitions (Spark, Trino and Flink
// do; iceberg-go 0.7.0 reads it as NULL). A stream with a column of that
// name gets _ingest_date instead.
const PartitionColumn = "ingest_date"

// partitionFieldID is the partition field's id (the spec starts them at
// 1000).
const partitionFieldID = 1000

// tableSchema is a stream's Iceberg schema: a field per column and kind of
// value the live parts hold (lake.FieldID), the partition column last.
type tableSchema struct {
	fields  []ice.NestedField
	mapping ice.NameMapping
	// partition is the partition column's name.
	partition string
}

// column is one field of the table: a column of one kind.
type column struct {
	name   string
	class  string
	id     int
	col    pipelines.Column // the widest type of the kind
	newest int64            // the highest Version of a part holding it
}

// schemaOf maps a stream's manifest to its table's schema. Every column of
// the live parts keeps its field id; the kind of value the newest part
// holds takes the column's name, and the others are renamed
// <column>__<kind> (amount__int64): a column retyped under
// on_schema_change: coerce is, in Iceberg, a column added and the old one
// renamed, whose rows keep their values. Decimals of one scale share a
// field, at the widest precision (a promotion Iceberg allows), never
// narrower than the table's current one (cur, nil for a new table).
// Parts written before the lake recorded field ids are read through the
// name mapping (schema.name-mapping.default).
func schemaOf(m *lake.StreamManifest, cur *ice.Schema) (tableSchema, error) {
	var cols []*column
	byKey := map[[2]string]*column{}
	add := func(c pipelines.Column, version int64) error {
		class := lake.FieldClass(c)
		k := [2]string{c.Name, class}
		x := byKey[k]
		if x == nil {
			id, ok := m.FieldIDOf(c.Name, class)
			if !ok {
				return fmt.Errorf("column %s (%s) has no field id", c.Name, c.TypeString())
			}
			x = &column{name: c.Name, class: class, id: id, col: c, newest: -1}
			if cur != nil {
				if f, ok := cur.FindFieldByID(id); ok {
					if d, ok := f.Type.(ice.DecimalType); ok {
						x.col.Precision = max(x.col.Precision, d.Precision())
					}
				}
			}
			byKey[k] = x
			cols = append(cols, x)
		}
		if c.Type == pipelines.TypeDecimal {
			x.col.Precision = max(x.col.Precision, c.Precision)
		}
		x.newest = max(x.newest, version)
		return nil
	}
	legacy := map[string]int{}
	for _, p := range m.LiveParts() {
		s, ok := m.Schemas[p.SchemaHash]
		if !ok {
			s = m.Schema
		}
		for _, c := range s {
			if err := add(c, p.Version); err != nil {
				return tableSchema{}, err
			}
			if p.FieldIDs {
				continue
			}
			id, _ := m.FieldIDOf(c.Name, lake.FieldClass(c))
			if was, ok := legacy[c.Name]; ok && was != id {
				return tableSchema{}, fmt.Errorf("column %s was loaded as two types before the lake recorded field ids, "+
					"so a reader cannot tell them apart; reload the stream (crmwh extract --full %s.%s) to publish it",
					c.Name, m.Source, m.Stream)
			}
			legacy[c.Name] = id
		}
	}
	// A column of the stream that no live part holds (a snapshot's,
	// replaced by one without it) keeps a field of the stream's type.
	held := map[string]bool{}
	for _, x := range cols {
		held[x.name] = true
	}
	for _, c := range m.Schema {
		if !held[c.Name] {
			if err := add(c, -1); err != nil {
				return tableSchema{}, err
			}
		}
	}

	// The column's name goes to the kind of its newest part (the union's
	// kind when no live part holds it).
	named := map[string]*column{}
	for _, x := range cols {
		if y := named[x.name]; y == nil || x.newest > y.newest {
			named[x.name] = x
		}
	}
	used := map[string]bool{}
	for _, c := range m.Schema {
		used[c.Name] = true
	}
	names := map[*column]string{}
	for _, x := range cols {
		if named[x.name] == x {
			names[x] = x.name
			continue
		}
		n := x.name + "__" + kindSuffix(x.col)
		for used[n] {
			n += "_" + strconv.Itoa(x.id)
		}
		used[n] = true
		names[x] = n
	}
	partition := PartitionColumn
	for used[partition] {
		partition = "_" + partition
	}

	// The stream's columns in its order, each one's kinds side by side,
	// the named one first.
	rank := map[string]int{}
	for i, c := range m.Schema {
		rank[c.Name] = i
	}
	sort.SliceStable(cols, func(i, j int) bool {
		ri, iok := rank[cols[i].name]
		rj, jok := rank[cols[j].name]
		if iok != jok {
			return iok
		}
		return ri < rj
	})
	order := make([]*column, 0, len(cols))
	seen := map[*column]bool{}
	for _, x := range cols {
		if seen[x] {
			continue
		}
		group := []*column{named[x.name]}
		for _, y := range cols {
			if y.name == x.name && y != named[x.name] {
				group = append(group, y)
			}
		}
		for _, y := range group {
			seen[y] = true
			order = append(order, y)
		}
	}
	ts := tableSchema{partition: partition}
	for _, x := range order {
		f := ice.NestedField{ID: x.id, Name: names[x], Type: icebergType(x.col)}
		if names[x] != x.name {
			f.Doc = fmt.Sprintf("the values of lake column %s from the parts that hold it as %s", x.name, kindSuffix(x.col))
		}
		ts.fields = append(ts.fields, f)
	}
	ts.fields = append(ts.fields, ice.NestedField{ID: lake.PartitionFieldID, Name: partition, Type: ice.PrimitiveTypes.Date,
		Doc: "the day the row was extracted (the lake's Hive partition, not stored in the files)"})

	// The name mapping: the names of files without ids first (their
	// columns by the names they were written with), then every field's.
	claimed := map[string]bool{}
	byID := map[int][]string{}
	legacyNames := make([]string, 0, len(legacy))
	for n := range legacy {
		legacyNames = append(legacyNames, n)
	}
	sort.Strings(legacyNames)
	for _, n := range legacyNames {
		byID[legacy[n]] = append(byID[legacy[n]], n)
		claimed[n] = true
	}
	for _, f := range ts.fields {
		id := f.ID
		names := byID[id]
		if !claimed[f.Name] {
			names = append(names, f.Name)
			claimed[f.Name] = true
		}
		ts.mapping = append(ts.mapping, ice.MappedField{FieldID: &id, Names: names})
	}
	for i := range ts.mapping {
		if ts.mapping[i].Names == nil {
			ts.mapping[i].Names = []string{}
		}
	}
	return ts, nil
}

// mappingJSON is the name mapping as the table property holds it.
func (ts tableSchema) mappingJSON() string {
	b, _ := json.Marshal(ts.mapping)
	return string(b)
}

// kindSuffix names a kind of value in the name of a renamed column.
func kindSuffix(c pipelines.Column) string {
	switch c.Type {
	case pipelines.TypeDecimal:
		return fmt.Sprintf("decimal_%d", c.Scale)
	case pipelines.TypeJSON:
		return string(pipelines.TypeString)
	}
	return string(c.Type)
}

// icebergType is a lake type's Iceberg type, as the part files store it:
// timestamps are UTC instants (timestamptz), json is text.
func icebergType(c pipelines.Column) ice.Type {
	switch c.Type {
	case pipelines.TypeInt64:
		return ice.PrimitiveTypes.Int64
	case pipelines.TypeFloat64:
		return ice.PrimitiveTypes.Float64
	case pipelines.TypeDecimal:
		return ice.DecimalTypeOf(c.Precision, c.Scale)
	case pipelines.TypeBool:
		return ice.PrimitiveTypes.Bool
	case pipelines.TypeDate:
		return ice.PrimitiveTypes.Date
	case pipelines.TypeTimestamp:
		return ice.PrimitiveTypes.TimestampTz
	}
	return ice.PrimitiveTypes.String
}

// sameFields reports whether a table's schema already has these fields,
// in order, with the same names and types.
func sameFields(s *ice.Schema, fields []ice.NestedField) bool {
	have := s.Fields()
	if len(have) != len(fields) {
		return false
	}
	for i, f := range fields {
		h := have[i]
		if h.ID != f.ID || h.Name != f.Name || !h.Type.Equals(f.Type) || h.Required != f.Required || h.Doc != f.Doc {
			return false
		}
	}
	return true
}
