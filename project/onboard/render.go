package onboard

import (
	"fmt"
	"sort"
	"strings"

	"crmwh/pipelines"
)

// render writes crmwh.yaml.
func render(o Options, tables []*table, props []*proposal) []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var specs []string
	for _, in := range o.Inputs {
		specs = append(specs, flagName(in.Entity)+" "+in.Spec)
	}
	comment(&b, "", fmt.Sprintf("crmwh.yaml: proposed by `crmwh init %s`. Check the choices the comments point out, then run `crmwh -C %s refresh`. docs/your-data.md explains every entity and field; docs/pipelines.md every source key.",
		strings.Join(specs, " "), quoteShell(o.Dir)))
	w("name: %s\n", quoteYAML(o.Name))
	w("timezone: %s\n", quoteYAML(o.Timezone))
	if o.Currency == DefaultCurrency {
		w("currency: %s    # the default: set the ISO code of your amounts (USD, EUR, …)\n", o.Currency)
	} else {
		w("currency: %s\n", quoteYAML(o.Currency))
	}
	w("\npaths:\n  lake: data/lake\n  warehouse: data/crmwh.duckdb\n  site: site\n  state: data/state\n")

	w("\nsources:\n")
	done := map[string]bool{}
	for _, t := range tables {
		if done[t.source] {
			continue
		}
		done[t.source] = true
		w("  - name: %s\n    kind: %s\n", t.source, t.in.Kind)
		if t.sourceDSN != "" {
			w("    dsn: %s\n", quoteYAML(t.sourceDSN))
		}
		w("    streams:\n")
		for _, u := range tables {
			if u.source == t.source {
				renderStream(&b, u)
			}
		}
	}

	w("\n")
	comment(&b, "", "Your data mapped onto crmwh's business entities (docs/your-data.md): per field, a column of the stream or a SQL expression over its columns. Models, marts and pages read the entities only.")
	w("entities:\n")
	for i, pr := range props {
		if i > 0 {
			w("\n")
		}
		renderEntity(&b, pr)
	}
	return []byte(b.String())
}

func renderStream(b *strings.Builder, t *table) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	st := t.stream
	for _, n := range t.notes {
		comment(b, "      ", n)
	}
	w("      - name: %s\n", st.Name)
	if st.Table != "" {
		w("        table: %s\n", quoteYAML(st.Table))
	}
	if st.Watermark != "" {
		w("        watermark: %s\n", quoteYAML(st.Watermark))
	}
	if len(st.PrimaryKey) > 0 {
		var ks []string
		for _, k := range st.PrimaryKey {
			ks = append(ks, quoteYAML(k))
		}
		w("        primary_key: [%s]\n", strings.Join(ks, ", "))
	}
	if st.Path != "" {
		w("        path: %s\n", quoteYAML(st.Path))
	}
	if st.Encoding != "" {
		w("        encoding: %s\n", st.Encoding)
	}
	if st.Delimiter != "" {
		w("        delimiter: %s\n", quoteYAML(st.Delimiter))
	}
	if st.Timezone != "" {
		w("        timezone: %s\n", quoteYAML(st.Timezone))
	}
	if st.MaxBadRatio != nil {
		w("        max_bad_ratio: %g\n", *st.MaxBadRatio)
	}
	if len(st.Columns) > 0 {
		w("        columns:\n")
		lines := make([]string, len(st.Columns))
		for i, c := range st.Columns {
			lines[i] = "          - " + columnYAML(c)
		}
		width := 0
		for _, l := range lines {
			width = max(width, len([]rune(l)))
		}
		for i, l := range lines {
			if n := t.colNotes[st.Columns[i].Name]; n != "" {
				l += strings.Repeat(" ", width-len([]rune(l))) + "  # " + n
			}
			w("%s\n", l)
		}
	}
}

// columnYAML writes a declared column as a flow mapping.
func columnYAML(c pipelines.ColumnConfig) string {
	parts := []string{"name: " + quoteYAML(c.Name)}
	if c.Header != "" {
		parts = append(parts, "header: "+quoteYAML(c.Header))
	}
	if c.Field != "" {
		parts = append(parts, "field: "+quoteYAML(c.Field))
	}
	parts = append(parts, "type: "+quoteYAML(c.Type))
	if c.Format != "" {
		parts = append(parts, "format: "+quoteYAML(c.Format))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func renderEntity(b *strings.Builder, pr *proposal) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("  %s:\n", pr.entity.Name)
	w("    stream: %s\n", pr.table.streamRef())
	for _, n := range pr.notes {
		comment(b, "    ", n)
	}
	if pr.rows != "" {
		w("    rows: %s\n", pr.rows)
	}
	if pr.freshness != "" {
		w("    freshness: %s\n", quoteYAML(pr.freshness))
	}
	w("    fields:\n")
	var lines, comments []string
	for _, f := range pr.entity.Fields {
		l := pr.fields[f.Name]
		if l == nil {
			continue
		}
		v := quoteYAML(l.Expr)
		if l.TODO {
			v = `""`
		}
		lines = append(lines, fmt.Sprintf("      %s: %s", f.Name, v))
		comments = append(comments, l.Comment)
	}
	width := 0
	for _, l := range lines {
		width = max(width, len([]rune(l)))
	}
	for i, l := range lines {
		if comments[i] != "" {
			l += strings.Repeat(" ", width-len([]rune(l))) + "  # " + comments[i]
		}
		w("%s\n", l)
	}
	var unused []string
	for _, c := range pr.table.cols {
		if !pr.used[c.Name] {
			unused = append(unused, c.Name)
		}
	}
	var open []string
	for _, f := range pr.entity.Fields {
		if pr.fields[f.Name] == nil && f.Name != "updated_at" {
			open = append(open, f.Name)
		}
	}
	sort.Strings(open)
	if len(unused) > 0 && len(open) > 0 {
		comment(b, "    ", fmt.Sprintf("Columns not mapped: %s. Fields of %s you could still map: %s.",
			strings.Join(unused, ", "), pr.entity.Name, strings.Join(open, ", ")))
	}
}

// comment writes text as YAML comment lines of about 80 characters.
func comment(b *strings.Builder, indent, text string) {
	line := indent + "#"
	for _, word := range strings.Fields(text) {
		if len([]rune(line))+1+len([]rune(word)) > 80 && line != indent+"#" {
			b.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
}

// quoteShell quotes a folder for a command line when it needs it.
func quoteShell(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"$`\\&;|<>()*?[]#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
