package contract

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"crmwh/pipelines"
	"crmwh/project/strictyaml"
	"crmwh/warehouse/models"
)

// Options of Generate.
type Options struct {
	// Timezone is the project's zone: local dates and months, and the
	// zone of timestamps the sources give without one.
	Timezone string
	// Currency is the project's currency, the default of orders.currency.
	Currency string
	// File is the project file the mappings come from (crmwh.yaml), for
	// messages and model paths.
	File string
	// Raw lists the lake's relations (raw.<source>_<stream>).
	Raw map[string]bool
}

// SourceStreamColumn names, in every staging model, the stream a row came
// from ("<source>.<stream>").
const SourceStreamColumn = "source_stream"

// DefaultFreshness is how old the newest order may get before the data
// tests warn, unless the mapping says otherwise.
const DefaultFreshness = 3 * 24 * time.Hour

// DuckDBType is the column type of a field type.
func DuckDBType(t string) string {
	switch t {
	case Integer:
		return "BIGINT"
	case Number:
		return "DOUBLE"
	case Money:
		return "DECIMAL(18,2)"
	case Timestamp:
		return "TIMESTAMP WITH TIME ZONE"
	case Date:
		return "DATE"
	case Boolean:
		return "BOOLEAN"
	}
	return "VARCHAR"
}

// Generate returns the staging model of every entity of the catalog: for a
// mapped entity, SQL over its lake streams that renames, types, filters,
// defaults and de-duplicates; for the others a placeholder (an empty
// relation with the entity's columns, Model.Placeholder set), which the
// build uses only where a model reads the entity as optional. Every
// expression is checked against its stream's columns on db, where the raw
// views exist: the error lists every problem as file:line: key: what is
// wrong.
func Generate(ctx context.Context, db *sql.DB, ms map[string]Mapping, o Options) ([]*models.Model, error) {
	if o.File == "" {
		o.File = "crmwh.yaml"
	}
	if _, err := time.LoadLocation(o.Timezone); err != nil || o.Timezone == "" {
		return nil, fmt.Errorf("unknown time zone %q", o.Timezone)
	}
	var problems strictyaml.Problems
	if _, ok := ms[Required]; !ok {
		problems = append(problems, strictyaml.Problem{File: o.File, Path: "entities." + Required,
			Msg: fmt.Sprintf("missing: map %s before building (the fields %s); see docs/your-data.md, or let `crmwh init --orders FILE` propose it",
				Required, strings.Join(mustLookup(Required).Required(), ", "))})
		return nil, problems
	}
	var out []*models.Model
	for i := range Catalog {
		e := &Catalog[i]
		m, ok := ms[e.Name]
		if !ok {
			out = append(out, placeholder(e, o))
			continue
		}
		g := &generator{e: e, m: m, o: o, ctx: ctx, db: db}
		model := g.model()
		problems = append(problems, g.problems...)
		if model != nil {
			out = append(out, model)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// generator writes one mapped entity's model.
type generator struct {
	e        *Entity
	m        Mapping
	o        Options
	ctx      context.Context
	db       *sql.DB
	problems strictyaml.Problems
	// conv holds the converted SQL of each source's fields.
	conv []map[string]string
}

func (g *generator) addf(path, format string, args ...any) {
	g.problems = append(g.problems, strictyaml.Problem{File: g.o.File, Line: g.m.Lines[path], Path: "entities." + g.e.Name + pathSuffix(path), Msg: fmt.Sprintf(format, args...)})
}

func pathSuffix(p string) string {
	if p == "" {
		return ""
	}
	return "." + p
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// RawRelation is the lake view of a "<source>.<stream>" name.
func RawRelation(stream string) string {
	return "raw." + strings.ReplaceAll(stream, ".", "_")
}

func (g *generator) model() *models.Model {
	e, m := g.e, g.m
	var selects []string
	for i, s := range m.Sources() {
		sp := m.SourcePath(i)
		rel := RawRelation(s.Stream)
		if !g.o.Raw[rel] {
			g.addf(joinPath(sp, "stream"), "stream %s has no data in the lake yet (run `crmwh extract %s` first)", s.Stream, s.Stream)
			continue
		}
		from := "raw." + quoteIdent(strings.TrimPrefix(rel, "raw."))
		if strings.TrimSpace(s.Where) != "" {
			if _, err := g.describe("SELECT * FROM " + from + " WHERE (" + s.Where + ")"); err != nil {
				g.addf(joinPath(sp, "where"), "%s", err)
			}
		}
		conv := map[string]string{}
		g.conv = append(g.conv, conv)
		cols := []string{fmt.Sprintf("%s AS %s", quoteString(s.Stream), SourceStreamColumn), fmt.Sprintf("%d AS source_rank", i+1)}
		for _, f := range e.Fields {
			expr, ok := s.Fields[f.Name]
			if !ok {
				cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", DuckDBType(f.Type), quoteIdent(f.Name)))
				continue
			}
			c, err := g.convert(f, expr, from)
			if err != nil {
				g.addf(joinPath(sp, "fields."+f.Name), "%s", err)
				continue
			}
			conv[f.Name] = c
			cols = append(cols, c+" AS "+quoteIdent(f.Name))
		}
		sel := "    SELECT\n        " + strings.Join(cols, ",\n        ") + "\n    FROM " + from
		if strings.TrimSpace(s.Where) != "" {
			sel += "\n    WHERE (" + s.Where + ")"
		}
		selects = append(selects, sel)
	}
	if len(g.problems) > 0 {
		return nil
	}
	ctes := []string{"mapped AS (\n" + strings.Join(selects, "\n    UNION ALL\n") + "\n)"}
	prev := "mapped"
	// Defaults, one step each, in catalog order: a default may use a
	// field defaulted before it (amount = quantity × unit_price − discount).
	for _, f := range e.Fields {
		def := g.defaultOf(f)
		if def == "" {
			continue
		}
		name := "d_" + f.Name
		ctes = append(ctes, fmt.Sprintf("%s AS (\n    SELECT * REPLACE (CAST(coalesce(%s, %s) AS %s) AS %s) FROM %s\n)",
			name, quoteIdent(f.Name), def, DuckDBType(f.Type), quoteIdent(f.Name), prev))
		prev = name
	}
	key := e.Key
	generatedLineNo := e.Name == "order_lines" && !m.Mapped("line_no")
	latest := m.Rows != RowsLines && !generatedLineNo
	// The versions of a key are found without keeping every row in
	// memory: complete is read twice rather than materialised.
	completeAS := "complete AS ("
	if latest {
		completeAS = "complete AS NOT MATERIALIZED ("
	}
	ctes = append(ctes, fmt.Sprintf("%s\n    SELECT * FROM %s\n    WHERE %s\n)", completeAS, prev, g.requiredNotNull()))
	var body string
	switch {
	case m.Rows == RowsLines:
		body = g.sumLines()
	case generatedLineNo:
		body = g.numberLines()
	default:
		ctes = append(ctes, g.versionedKeys())
		body = g.latestVersion()
	}
	ctes = append(ctes, "entity AS (\n"+body+"\n)")
	final := g.finalColumns()
	sqlText := fmt.Sprintf("-- Generated by crmwh from %s (entities.%s): %s\n-- Change the mapping, not this SQL (docs/your-data.md).\nWITH %s\nSELECT\n    %s\nFROM entity",
		g.o.File, e.Name, g.describeSources(), strings.Join(ctes, ",\n"), strings.Join(final, ",\n    "))

	// Entities kept by key are incremental tables: a build reads only the
	// lake's new parts and merges them by key in the de-duplication's
	// order, and the models after them see which rows changed. Orders
	// summed from lines, and lines numbered here, are tables rebuilt from
	// every part.
	mat, mergeOrder := models.Table, ""
	if latest {
		mat, mergeOrder = models.Incremental, g.versionOrder(true)
	}
	spec := g.spec(key)
	if mat == models.Incremental {
		spec.UniqueKey = key
	}
	return &models.Model{
		Name: e.Model, Path: g.o.File, Layer: "staging", SQL: sqlText, Materialize: mat,
		Spec: spec, SpecPath: g.o.File, Entity: e.Name, MergeOrder: mergeOrder,
	}
}

// versionOrder orders the versions of a key, the one kept first: by
// updated_at, then the entity's time, then the order of the sources
// (source_rank in the model's query; in its table, from source_stream).
func (g *generator) versionOrder(onTable bool) string {
	var order []string
	if _, ok := g.e.Field("updated_at"); ok {
		order = append(order, `"updated_at" DESC NULLS LAST`)
	}
	if g.e.Time != "" {
		order = append(order, quoteIdent(g.e.Time)+" DESC NULLS LAST")
	}
	if !onTable {
		return strings.Join(append(order, "source_rank"), ", ")
	}
	rank := "CASE " + SourceStreamColumn
	for i, s := range g.m.Sources() {
		rank += fmt.Sprintf(" WHEN %s THEN %d", quoteString(s.Stream), i+1)
	}
	return strings.Join(append(order, rank+" END"), ", ")
}

func (g *generator) describeSources() string {
	var names []string
	for _, s := range g.m.Sources() {
		names = append(names, s.Stream)
	}
	return g.e.Name + " from " + strings.Join(names, " and ")
}

// defaultOf is the SQL default of a field, or "".
func (g *generator) defaultOf(f Field) string {
	if f.Name == "currency" && g.e.Name == "orders" {
		return quoteString(g.o.Currency)
	}
	if f.Default == "" {
		return ""
	}
	// A default naming other fields quotes them.
	d := f.Default
	for _, other := range g.e.Fields {
		if strings.Contains(d, other.Name) && other.Name != f.Name {
			d = replaceWord(d, other.Name, quoteIdent(other.Name))
		}
	}
	return d
}

// replaceWord replaces whole-word occurrences of w in s.
func replaceWord(s, w, with string) string {
	var b strings.Builder
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], w) && (i == 0 || !isWord(s[i-1])) && (i+len(w) == len(s) || !isWord(s[i+len(w)])) {
			b.WriteString(with)
			i += len(w)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

func (g *generator) requiredNotNull() string {
	var conds []string
	for _, f := range g.e.Fields {
		if f.Required {
			conds = append(conds, quoteIdent(f.Name)+" IS NOT NULL")
		}
	}
	return strings.Join(conds, " AND ")
}

// keyHash is the SQL hash of an entity's key columns.
func (g *generator) keyHash() string {
	var keys []string
	for _, k := range g.e.Key {
		keys = append(keys, quoteIdent(k))
	}
	return "hash(" + strings.Join(keys, ", ") + ")"
}

// versionedKeys is the CTE of the hashes of the keys that have more than
// one row (versions). Grouping by a 64-bit hash is several times cheaper
// than by the key's text and spills to disk under a memory limit; a hash
// two keys share only sends both through the window of latestVersion.
func (g *generator) versionedKeys() string {
	return fmt.Sprintf("versioned AS (\n    SELECT %s AS key_hash FROM complete GROUP BY key_hash HAVING count(*) > 1\n)", g.keyHash())
}

// latestVersion keeps, of the rows with one key, the latest: by
// updated_at, then the entity's time, then the order of the sources. Rows
// of one stream equal in all three are versions nothing tells apart; one
// of them is kept (breaking the tie on every value doubled the cost of the
// largest staging models). Only keys with versions go through the window
// (a sort of every row took half the time of the largest staging models
// and ran out of memory under a limit); the others are kept as they are.
func (g *generator) latestVersion() string {
	var keys []string
	for _, k := range g.e.Key {
		keys = append(keys, quoteIdent(k))
	}
	h := g.keyHash()
	return fmt.Sprintf(`    SELECT * FROM complete
    WHERE %s NOT IN (SELECT key_hash FROM versioned)
    UNION ALL
    (SELECT * FROM complete
    WHERE %s IN (SELECT key_hash FROM versioned)
    QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s) = 1)`,
		h, h, strings.Join(keys, ", "), g.versionOrder(false))
}

// sumLines makes one order of its lines: money added up, the earliest
// time, the latest update, and the smallest value of every other field
// (the same on every line of an order, as a rule).
func (g *generator) sumLines() string {
	cols := []string{"min(source_stream) AS source_stream", "min(source_rank) AS source_rank"}
	for _, f := range g.e.Fields {
		q := quoteIdent(f.Name)
		switch {
		case contains(g.e.Key, f.Name):
			cols = append(cols, q)
		case f.Type == Money:
			cols = append(cols, fmt.Sprintf("CAST(sum(%s) AS DECIMAL(18,2)) AS %s", q, q))
		case f.Name == "updated_at":
			cols = append(cols, fmt.Sprintf("max(%s) AS %s", q, q))
		default:
			cols = append(cols, fmt.Sprintf("min(%s) AS %s", q, q))
		}
	}
	var keys []string
	for _, k := range g.e.Key {
		keys = append(keys, quoteIdent(k))
	}
	return fmt.Sprintf("    SELECT %s\n    FROM complete\n    GROUP BY %s", strings.Join(cols, ", "), strings.Join(keys, ", "))
}

// numberLines numbers the lines of each order when the source has no line
// number: by product, then quantity, price and amount, so the numbers do
// not depend on the scan order (identical lines are interchangeable).
func (g *generator) numberLines() string {
	return `    SELECT * REPLACE (CAST(row_number() OVER (PARTITION BY "order_id" ORDER BY "product_id", "quantity", "unit_price", "amount", "discount_amount", source_stream, "product_name" NULLS LAST, "category" NULLS LAST) AS BIGINT) AS "line_no")
    FROM complete`
}

// finalColumns lists the model's columns: key, the other fields, local
// date and month of the entity's time, and the source stream.
func (g *generator) finalColumns() []string {
	var out []string
	for _, k := range g.e.Key {
		out = append(out, quoteIdent(k))
	}
	for _, f := range g.e.Fields {
		if !contains(g.e.Key, f.Name) {
			out = append(out, quoteIdent(f.Name))
		}
	}
	out = append(out, localColumns(g.e, g.o.Timezone)...)
	return append(out, SourceStreamColumn)
}

// localColumns computes the entity's local date and month columns.
func localColumns(e *Entity, tz string) []string {
	var out []string
	if e.Time == "" {
		return nil
	}
	local := fmt.Sprintf("timezone(%s, %s)", quoteString(tz), quoteIdent(e.Time))
	if e.DateColumn != "" {
		out = append(out, fmt.Sprintf("CAST(%s AS DATE) AS %s", local, quoteIdent(e.DateColumn)))
	}
	if e.MonthColumn != "" {
		out = append(out, fmt.Sprintf("CAST(date_trunc('month', %s) AS DATE) AS %s", local, quoteIdent(e.MonthColumn)))
	}
	return out
}

// placeholder is the stand-in of an entity the project does not map: no
// rows, the columns of a mapped one.
func placeholder(e *Entity, o Options) *models.Model {
	var cols []string
	add := func(name, typ string) {
		cols = append(cols, fmt.Sprintf("CAST(NULL AS %s) AS %s", typ, quoteIdent(name)))
	}
	for _, k := range e.Key {
		f, _ := e.Field(k)
		add(k, DuckDBType(f.Type))
	}
	for _, f := range e.Fields {
		if !contains(e.Key, f.Name) {
			add(f.Name, DuckDBType(f.Type))
		}
	}
	if e.DateColumn != "" {
		add(e.DateColumn, "DATE")
	}
	if e.MonthColumn != "" {
		add(e.MonthColumn, "DATE")
	}
	add(SourceStreamColumn, "VARCHAR")
	return &models.Model{
		Name: e.Model, Path: o.File, Layer: "staging", Materialize: models.View, Entity: e.Name, Placeholder: true,
		SQL:  fmt.Sprintf("-- %s is not mapped in %s: no rows.\nSELECT %s WHERE false", e.Name, o.File, strings.Join(cols, ", ")),
		Spec: models.Spec{Description: fmt.Sprintf("Not mapped: %s has no entities.%s.", o.File, e.Name)},
	}
}

// describe returns the column types of a query, or DuckDB's message (the
// mapping is the project's own configuration, read like a model, on the
// build's connection).
func (g *generator) describe(q string) ([]string, error) {
	var n int
	var types string
	err := g.db.QueryRowContext(g.ctx, "SELECT count(*), coalesce(string_agg(column_type, '\x1f'), '') FROM (DESCRIBE "+q+")").Scan(&n, &types)
	if err != nil {
		return nil, fmt.Errorf("%s", oneLine(err.Error()))
	}
	if n == 0 {
		return nil, nil
	}
	return strings.Split(types, "\x1f"), nil
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		rest := strings.TrimSpace(s[i+1:])
		s = strings.TrimSpace(s[:i])
		// DuckDB puts the useful hint ("Did you mean …") on the next line.
		if strings.HasPrefix(rest, "Did you mean") || strings.HasPrefix(rest, "Candidate") {
			s += " " + strings.SplitN(rest, "\n", 2)[0]
		}
	}
	return s
}

// convert checks an expression's type against the field's and returns the
// SQL that turns it into the field's column.
func (g *generator) convert(f Field, expr, from string) (string, error) {
	types, err := g.describe("SELECT (" + expr + ") AS v FROM " + from)
	if err != nil {
		return "", err
	}
	if len(types) != 1 {
		return "", fmt.Errorf("%q is not one expression", expr)
	}
	st := strings.ToUpper(types[0])
	e := "(" + expr + ")"
	tz := quoteString(g.o.Timezone)
	bad := func(want, hint string) error {
		return fmt.Errorf("%s is %s, not %s: %s", quoteExpr(expr), st, want, hint)
	}
	switch f.Type {
	case String:
		switch {
		case f.ID && isFloat(st):
			// 17850.0 is the id 17850: spreadsheets and pandas write
			// integer ids with missing values as floats.
			return fmt.Sprintf("CASE WHEN %s = trunc(%s) THEN CAST(CAST(%s AS HUGEINT) AS VARCHAR) ELSE CAST(%s AS VARCHAR) END", e, e, e, e), nil
		case f.ID:
			return fmt.Sprintf("nullif(trim(CAST(%s AS VARCHAR)), '')", e), nil
		case len(f.Values) > 0:
			return fmt.Sprintf("nullif(lower(trim(CAST(%s AS VARCHAR))), '')", e), nil
		}
		return fmt.Sprintf("CAST(%s AS VARCHAR)", e), nil
	case Integer, Number, Money:
		if !isNumeric(st) {
			return "", bad("a number", "convert it in the expression, e.g. cast(x as decimal(18,2)) or try_cast(replace(x, ',', '') as double)")
		}
		if f.Type == Integer {
			return fmt.Sprintf("CAST(round(%s) AS BIGINT)", e), nil
		}
		return fmt.Sprintf("CAST(%s AS %s)", e, DuckDBType(f.Type)), nil
	case Timestamp:
		switch {
		case st == "TIMESTAMP WITH TIME ZONE":
			return e, nil
		case strings.HasPrefix(st, "TIMESTAMP") || st == "DATE":
			// Wall-clock time in the project's zone.
			return fmt.Sprintf("timezone(%s, CAST(%s AS TIMESTAMP))", tz, e), nil
		}
		return "", bad("a timestamp", "parse it in the expression, e.g. strptime(x, '%Y%m%d') or cast(x as timestamp)")
	case Date:
		switch {
		case st == "DATE":
			return e, nil
		case st == "TIMESTAMP WITH TIME ZONE":
			return fmt.Sprintf("CAST(timezone(%s, %s) AS DATE)", tz, e), nil
		case strings.HasPrefix(st, "TIMESTAMP"):
			return fmt.Sprintf("CAST(%s AS DATE)", e), nil
		}
		return "", bad("a date", "parse it in the expression, e.g. cast(strptime(x, '%d/%m/%Y') as date)")
	case Boolean:
		if st != "BOOLEAN" {
			return "", bad("a boolean", "compare it in the expression, e.g. x = 'Y'")
		}
		return e, nil
	}
	return "", fmt.Errorf("field %s has unknown type %s", f.Name, f.Type)
}

func quoteExpr(e string) string {
	if len(e) > 60 {
		e = e[:57] + "…"
	}
	return "`" + e + "`"
}

func isFloat(t string) bool { return t == "DOUBLE" || t == "FLOAT" || t == "REAL" }

func isNumeric(t string) bool {
	if isFloat(t) || strings.HasPrefix(t, "DECIMAL") {
		return true
	}
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT":
		return true
	}
	return false
}

// spec writes the model's description, columns and data tests.
func (g *generator) spec(key []string) models.Spec {
	e := g.e
	s := models.Spec{Description: e.Doc + " Generated from " + g.o.File + " (" + g.describeSources() + ")."}
	line := g.m.Lines[""]
	col := func(name, doc string, tests ...models.TestSpec) {
		s.Columns = append(s.Columns, models.ColumnSpec{Name: name, Description: doc, Tests: tests})
	}
	t := func(kind, severity string) models.TestSpec {
		return models.TestSpec{Kind: kind, Severity: severity, Line: line}
	}
	for _, f := range e.Fields {
		var tests []models.TestSpec
		if len(key) == 1 && f.Name == key[0] {
			tests = append(tests, t(models.TestUnique, models.SeverityError), t(models.TestNotNull, models.SeverityError))
		}
		if len(f.Values) > 0 && g.m.Mapped(f.Name) {
			sev := models.SeverityWarn
			if e.Name == "orders" && f.Name == "status" {
				sev = models.SeverityError // revenue depends on it
			}
			av := t(models.TestAcceptedValues, sev)
			av.Values = f.Values
			tests = append(tests, av)
		}
		if rng := ranges[e.Name+"."+f.Name]; rng != "" && g.m.Mapped(f.Name) {
			a := t(models.TestAssert, models.SeverityWarn)
			a.Expr = fmt.Sprintf("%s IS NULL OR %s", quoteIdent(f.Name), rng)
			tests = append(tests, a)
		}
		if e.Time == f.Name {
			if fresh := g.freshness(); fresh > 0 {
				ft := t(models.TestFreshness, models.SeverityWarn)
				ft.WarnAfter = pipelines.Duration(fresh)
				tests = append(tests, ft)
			}
		}
		col(f.Name, f.Doc, tests...)
	}
	if e.DateColumn != "" {
		col(e.DateColumn, fmt.Sprintf("The day of %s in the project's time zone (%s).", e.Time, g.o.Timezone))
	}
	if e.MonthColumn != "" {
		col(e.MonthColumn, fmt.Sprintf("The first day of the month of %s in the project's time zone (%s).", e.Time, g.o.Timezone))
	}
	col(SourceStreamColumn, "The lake stream the row came from (<source>.<stream>).")
	if len(key) > 1 {
		var keys []string
		for _, k := range key {
			keys = append(keys, quoteIdent(k))
		}
		s.Tests = append(s.Tests, models.TestSpec{Kind: models.TestSQL, Severity: models.SeverityError, Line: line,
			Name:  "unique_" + e.Model + "_" + strings.Join(key, "_"),
			Query: fmt.Sprintf("SELECT %s, count(*) AS occurrences FROM %s GROUP BY ALL HAVING count(*) > 1", strings.Join(keys, ", "), e.Model)})
	}
	// The source rows the entity could not use: a required field is NULL.
	s.Tests = append(s.Tests, models.TestSpec{Kind: models.TestSQL, Severity: models.SeverityWarn, Line: line,
		Name:  "rows_left_out_" + e.Model,
		Query: g.leftOutQuery()})
	return s
}

// ranges are the valid ranges of scored fields (warned about).
var ranges = map[string]string{
	"tickets.rating":       `"rating" BETWEEN 1 AND 5`,
	"surveys.nps":          `"nps" BETWEEN 0 AND 10`,
	"surveys.satisfaction": `"satisfaction" BETWEEN 1 AND 5`,
}

func (g *generator) freshness() time.Duration {
	switch {
	case g.m.Freshness == "off":
		return 0
	case g.m.Freshness != "":
		d, _ := pipelines.ParseDuration(g.m.Freshness)
		return d
	case g.e.Name == "orders":
		return DefaultFreshness
	}
	return 0
}

// leftOutQuery returns the stream rows whose required fields are NULL, as
// the stream and the required fields, for the data test that warns about
// them.
func (g *generator) leftOutQuery() string {
	var selects []string
	for i, s := range g.m.Sources() {
		from := "raw." + quoteIdent(strings.TrimPrefix(RawRelation(s.Stream), "raw."))
		var cols, conds []string
		for _, f := range g.e.Fields {
			if !f.Required {
				continue
			}
			conv := g.conv[i][f.Name]
			cols = append(cols, conv+" AS "+quoteIdent(f.Name))
			conds = append(conds, "("+conv+") IS NULL")
		}
		sel := fmt.Sprintf("SELECT %s AS source_stream, %s FROM %s WHERE (%s)", quoteString(s.Stream), strings.Join(cols, ", "), from, strings.Join(conds, " OR "))
		if strings.TrimSpace(s.Where) != "" {
			sel += " AND (" + s.Where + ")"
		}
		selects = append(selects, sel)
	}
	return strings.Join(selects, " UNION ALL ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quoteIdent(s string) string  { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
