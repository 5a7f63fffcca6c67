// Package docsite writes the warehouse's documentation as a static page
// (`crmwh docs`): every model with its description, materialisation, file,
// columns (types from the published warehouse, descriptions from the YAML
// beside the model), data tests with their latest status, and a lineage
// graph drawn by ECharts from the binary, working offline from file://.
package docsite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"crmwh/dashboards/assets"
	"crmwh/warehouse/models"
)

// Column is one column of a model.
type Column struct {
	Name, Type, Description string
}

// Test is one data test and its latest result.
type Test struct {
	Name, Kind, Severity, Column, Status, FailingSince string
}

// Model is one documented model.
type Model struct {
	Name, Path, Layer, Materialize, Description string
	Columns                                     []Column
	Tests                                       []Test
	Deps, Sources, Dependents                   []string
	// Undocumented lists columns without a description.
	Undocumented []string
}

// Catalog is everything the page shows.
type Catalog struct {
	Models  []Model
	Sources []string
}

// Load builds the catalog from the project's models (its files and the
// staging models generated from its entity mapping) and the published
// warehouse (column types, lineage, test status). Models the warehouse does
// not hold (left out for want of data, or placeholders) are left out.
func Load(ctx context.Context, db *sql.DB, all []*models.Model) (*Catalog, error) {
	cols := map[string][]Column{}
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'main' ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t, c, ty string
		if err := rows.Scan(&t, &c, &ty); err != nil {
			rows.Close()
			return nil, err
		}
		cols[t] = append(cols[t], Column{Name: c, Type: ty})
	}
	rows.Close()
	status := map[string]Test{}
	if rs, err := db.QueryContext(ctx, `SELECT test, status, coalesce(strftime(failing_since, '%Y-%m-%d'), '') FROM meta.test_status`); err == nil {
		for rs.Next() {
			var t Test
			if err := rs.Scan(&t.Name, &t.Status, &t.FailingSince); err == nil {
				status[t.Name] = t
			}
		}
		rs.Close()
	}
	deps := map[string][]string{}
	kids := map[string][]string{}
	srcs := map[string][]string{}
	allSources := map[string]bool{}
	lin, err := db.QueryContext(ctx, `SELECT model, depends_on, kind FROM meta.lineage ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("reading lineage: %w", err)
	}
	for lin.Next() {
		var m, d, k string
		if err := lin.Scan(&m, &d, &k); err != nil {
			lin.Close()
			return nil, err
		}
		if k == "source" {
			srcs[m] = append(srcs[m], d)
			allSources[d] = true
		} else {
			deps[m] = append(deps[m], d)
			kids[d] = append(kids[d], m)
		}
	}
	lin.Close()

	var ms []*models.Model
	for _, m := range all {
		if _, ok := cols[m.Name]; ok && !m.Placeholder {
			ms = append(ms, m)
		}
	}
	cat := &Catalog{}
	tests := map[string][]models.DataTest{}
	for _, m := range ms {
		tests[m.Name] = m.DataTests()
	}
	for _, m := range ms {
		desc := map[string]string{}
		for _, c := range m.Spec.Columns {
			desc[c.Name] = c.Description
		}
		dm := Model{Name: m.Name, Path: m.Path, Layer: m.Layer, Materialize: m.Materialize, Description: m.Spec.Description,
			Deps: deps[m.Name], Sources: srcs[m.Name], Dependents: kids[m.Name]}
		if dm.Description == "" {
			dm.Description = headerComment(m.SQL)
		}
		for _, c := range cols[m.Name] {
			c.Description = desc[c.Name]
			if c.Description == "" {
				dm.Undocumented = append(dm.Undocumented, c.Name)
			}
			dm.Columns = append(dm.Columns, c)
		}
		for _, t := range tests[m.Name] {
			st := status[t.Name]
			dm.Tests = append(dm.Tests, Test{Name: t.Name, Kind: t.Kind, Severity: t.Severity, Column: t.Column,
				Status: st.Status, FailingSince: st.FailingSince})
		}
		cat.Models = append(cat.Models, dm)
	}
	for s := range allSources {
		cat.Sources = append(cat.Sources, s)
	}
	sort.Strings(cat.Sources)
	layer := map[string]int{"staging": 0, "core": 1, "marts": 2}
	sort.SliceStable(cat.Models, func(i, j int) bool {
		a, b := cat.Models[i], cat.Models[j]
		if layer[a.Layer] != layer[b.Layer] {
			return layer[a.Layer] < layer[b.Layer]
		}
		return a.Name < b.Name
	})
	return cat, nil
}

// headerComment returns the model's leading SQL comment lines.
func headerComment(sqlText string) string {
	var out []string
	for _, l := range strings.Split(sqlText, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "--") {
			break
		}
		if strings.HasPrefix(l, "-- @") {
			continue
		}
		out = append(out, strings.TrimSpace(strings.TrimPrefix(l, "--")))
	}
	return strings.Join(out, " ")
}

// graph is the ECharts option of the lineage graph: sources on the left,
// then staging, core and marts, left to right.
func (c *Catalog) graph() (template.JS, error) {
	type node struct {
		Name     string         `json:"name"`
		X        float64        `json:"x"`
		Y        float64        `json:"y"`
		Category int            `json:"category"`
		Symbol   string         `json:"symbol,omitempty"`
		Label    map[string]any `json:"label"`
	}
	type link struct {
		Source string `json:"source"`
		Target string `json:"target"`
	}
	cats := []string{"lake", "staging", "core", "marts", "other"}
	catOf := func(layer string) int {
		for i, c := range cats {
			if c == layer {
				return i
			}
		}
		return 4
	}
	rowIn := map[int]int{}
	var nodes []node
	place := func(name string, cat int) {
		nodes = append(nodes, node{Name: name, X: float64(cat) * 300, Y: float64(rowIn[cat]) * 40, Category: cat,
			Label: map[string]any{"show": true, "position": "right", "fontSize": 11}})
		rowIn[cat]++
	}
	for _, s := range c.Sources {
		place(s, 0)
	}
	var links []link
	for _, m := range c.Models {
		place(m.Name, catOf(m.Layer))
		for _, d := range append(append([]string(nil), m.Sources...), m.Deps...) {
			links = append(links, link{Source: d, Target: m.Name})
		}
	}
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
	}
	for _, l := range links {
		if !known[l.Source] {
			place(l.Source, 4) // a Go build step
			known[l.Source] = true
		}
	}
	catList := make([]map[string]string, len(cats))
	for i, c := range cats {
		catList[i] = map[string]string{"name": c}
	}
	opt := map[string]any{
		"tooltip": map[string]any{},
		"legend":  map[string]any{"data": cats},
		"series": []any{map[string]any{
			"type": "graph", "layout": "none", "roam": true, "draggable": true,
			"symbolSize": 12, "edgeSymbol": []string{"none", "arrow"}, "edgeSymbolSize": 6,
			"categories": catList, "data": nodes, "links": links,
			"lineStyle": map[string]any{"opacity": 0.5, "curveness": 0.1},
			"emphasis":  map[string]any{"focus": "adjacency"},
		}},
	}
	b, err := json.Marshal(opt)
	return template.JS(b), err
}

var page = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>crmwh warehouse documentation</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem;color:#222;max-width:72rem}
h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;font-size:.9rem}
code{background:#f4f4f4;padding:0 .2rem}.pass{color:#1a7f37}.fail,.error{color:#c00}.warn{color:#b26a00}
#lineage{height:{{.GraphHeight}}px;border:1px solid #ddd}nav a{margin-right:.6rem}
</style></head><body>
<h1>Warehouse documentation</h1>
<p>{{len .Catalog.Models}} models reading {{len .Catalog.Sources}} lake tables. Models are tables and views by their bare names in the
published warehouse; <code>raw.*</code> are the lake's streams.</p>
<nav>{{range .Catalog.Models}}<a href="#{{.Name}}">{{.Name}}</a> {{end}}</nav>
<h2>Lineage</h2>
<div id="lineage"></div>
{{range .Catalog.Models}}
<h2 id="{{.Name}}">{{.Name}}</h2>
<p>{{.Description}}</p>
<p><code>{{.Path}}</code> · {{.Materialize}}{{if .Deps}} · reads {{range $i, $d := .Deps}}{{if $i}}, {{end}}<a href="#{{$d}}">{{$d}}</a>{{end}}{{end}}{{if .Sources}} · lake {{range $i, $d := .Sources}}{{if $i}}, {{end}}<code>{{$d}}</code>{{end}}{{end}}{{if .Dependents}} · read by {{range $i, $d := .Dependents}}{{if $i}}, {{end}}<a href="#{{$d}}">{{$d}}</a>{{end}}{{end}}</p>
{{if .Columns}}<table><tr><th>column</th><th>type</th><th>description</th></tr>
{{range .Columns}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
{{if .Tests}}<table><tr><th>test</th><th>kind</th><th>column</th><th>severity</th><th>latest</th><th>failing since</th></tr>
{{range .Tests}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td><td>{{.Column}}</td><td>{{.Severity}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.FailingSince}}</td></tr>
{{end}}</table>{{end}}
{{end}}
<script src="assets/echarts.min.js"></script>
<script>
echarts.init(document.getElementById('lineage')).setOption({{.Graph}});
</script>
</body></html>
`))

// Write writes index.html and assets/echarts.min.js into dir.
func Write(dir string, c *Catalog) (string, error) {
	g, err := c.graph()
	if err != nil {
		return "", err
	}
	maxRows := len(c.Sources)
	counts := map[string]int{}
	for _, m := range c.Models {
		counts[m.Layer]++
	}
	for _, n := range counts {
		if n > maxRows {
			maxRows = n
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		return "", err
	}
	js, err := fs.ReadFile(assets.Site, "echarts.min.js")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "assets", "echarts.min.js"), js, 0o644); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := page.Execute(&b, map[string]any{"Catalog": c, "Graph": g, "GraphHeight": 120 + 40*maxRows}); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "index.html")
	return out, os.WriteFile(out, []byte(b.String()), 0o644)
}
