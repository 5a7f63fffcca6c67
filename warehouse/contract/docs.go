package contract

import (
	"fmt"
	"strings"
)

// Reference writes the entity reference of docs/your-data.md from the
// catalog: per entity, what it is, what it unlocks, and a table of its
// fields. A test keeps the document in step with the catalog.
func Reference() string {
	var b strings.Builder
	for _, e := range Catalog {
		fmt.Fprintf(&b, "### %s (`%s`)\n\n", e.Name, e.Model)
		fmt.Fprintf(&b, "%s Key: %s.", e.Doc, codeList(e.Key))
		if e.DateColumn != "" {
			fmt.Fprintf(&b, " The model adds `%s`", e.DateColumn)
			if e.MonthColumn != "" {
				fmt.Fprintf(&b, " and `%s`", e.MonthColumn)
			}
			fmt.Fprintf(&b, " (of `%s`, in the project's time zone).", e.Time)
		}
		fmt.Fprintf(&b, "\n\nUnlocks: %s.\n\n", e.Unlocks)
		b.WriteString("| field | type | required | meaning |\n| --- | --- | --- | --- |\n")
		for _, f := range e.Fields {
			req := ""
			if f.Required {
				req = "yes"
			}
			doc := f.Doc
			if len(f.Values) > 0 && !strings.Contains(doc, f.Values[0]) {
				doc += " One of " + strings.Join(f.Values, ", ") + "."
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, f.Type, req, doc)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func codeList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return strings.Join(out, ", ")
}
