// Package docsite writes the warehouse's documentation as a static page
// (`crmwh docs`), in English and in Chinese, styled like the dashboards and
// linked both ways with them: every model with its description,
// materialisation, file, columns (types from the published warehouse,
// descriptions from the YAML beside the model), data tests with their
// latest status, the tables the build's Go steps write (described in
// gosteps.yaml), and a lineage graph drawn by ECharts from the binary,
// working offline from file://.
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

	_ "embed"

	"gopkg.in/yaml.v3"

	"crmwh/dashboards/assets"
	"crmwh/warehouse/models"
)

//go:embed gosteps.yaml
var goStepsYAML []byte

// goSteps are the Go steps' tables and their descriptions.
type goSteps struct {
	Steps map[string]struct {
		Description string `yaml:"description"`
		Tables      map[string]struct {
			Description string            `yaml:"description"`
			Columns     map[string]string `yaml:"columns"`
		} `yaml:"tables"`
	} `yaml:"steps"`
}

// Column is one column of a model.
type Column struct {
	Name, Type, Description string
}

// Test is one data test and its latest result.
type Test struct {
	Name, Kind, Severity, Column, Status, FailingSince string
}

// Model is one documented model, or a table a Go step writes (Layer
// "steps", Path "go step <name>").
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
	// The tables of the Go steps, as the warehouse has them.
	var gs goSteps
	if err := yaml.Unmarshal(goStepsYAML, &gs); err != nil {
		return nil, fmt.Errorf("reading the Go steps' descriptions: %w", err)
	}
	for _, step := range sortedKeys(gs.Steps) {
		st := gs.Steps[step]
		for _, table := range sortedKeys(st.Tables) {
			tb := st.Tables[table]
			have, ok := cols[table]
			if !ok {
				continue
			}
			dm := Model{Name: table, Path: "go step " + step, Layer: LayerSteps, Materialize: "go",
				Description: tb.Description, Deps: deps[step], Sources: srcs[step], Dependents: kids[step]}
			for _, c := range have {
				c.Description = tb.Columns[c.Name]
				if c.Description == "" {
					dm.Undocumented = append(dm.Undocumented, c.Name)
				}
				dm.Columns = append(dm.Columns, c)
			}
			cat.Models = append(cat.Models, dm)
		}
	}
	for s := range allSources {
		cat.Sources = append(cat.Sources, s)
	}
	sort.Strings(cat.Sources)
	layer := map[string]int{"staging": 0, "core": 1, LayerSteps: 2, "marts": 3}
	sort.SliceStable(cat.Models, func(i, j int) bool {
		a, b := cat.Models[i], cat.Models[j]
		if layer[a.Layer] != layer[b.Layer] {
			return layer[a.Layer] < layer[b.Layer]
		}
		return a.Name < b.Name
	})
	return cat, nil
}

// LayerSteps is the layer of the tables the build's Go steps write.
const LayerSteps = "steps"

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
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
	cats := []string{"lake", "staging", "core", LayerSteps, "marts", "other"}
	catOf := func(layer string) int {
		for i, c := range cats {
			if c == layer {
				return i
			}
		}
		return len(cats) - 1
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
			place(l.Source, len(cats)-1) // a Go build step
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

// texts are the page's words in one language.
type texts struct {
	Lang, HTMLLang, Title, Intro, Lineage, Models, Column, Type, Description, Test, Kind, Severity, Latest,
	FailingSince, Reads, ReadBy, Lake, Dashboards, Language, English, Undocumented string
	Layers map[string]string
}

var words = map[string]texts{
	"en": {Lang: "en", HTMLLang: "en", Title: "Warehouse documentation",
		Intro:   "%d models and Go-step tables reading %d lake tables. Models are tables and views by their bare names in the published warehouse; raw.* are the lake's streams. Descriptions are written in English, in the YAML beside each model.",
		Lineage: "Lineage", Models: "Models", Column: "column", Type: "type", Description: "description", Test: "test",
		Kind: "kind", Severity: "severity", Latest: "latest", FailingSince: "failing since", Reads: "reads", ReadBy: "read by",
		Lake: "lake", Dashboards: "Dashboards", Language: "中文", Undocumented: "columns without a description",
		Layers: map[string]string{"staging": "Staging", "core": "Core", LayerSteps: "Go steps", "marts": "Marts"}},
	"zh": {Lang: "zh", HTMLLang: "zh-CN", Title: "数据仓库文档",
		Intro:   "共 %d 个模型及 Go 步骤生成的表，读取 %d 张数据湖表。模型在已发布的数据仓库中以表或视图的名称直接访问；raw.* 为数据湖的数据流。各模型的说明写在其旁的 YAML 文件中，使用英文。",
		Lineage: "血缘关系", Models: "模型", Column: "列", Type: "类型", Description: "说明", Test: "测试",
		Kind: "类别", Severity: "级别", Latest: "最近结果", FailingSince: "开始失败", Reads: "读取", ReadBy: "被读取",
		Lake: "数据湖", Dashboards: "仪表板", Language: "English", Undocumented: "个列缺少说明",
		Layers: map[string]string{"staging": "暂存层", "core": "核心层", LayerSteps: "Go 步骤", "marts": "数据集市"}},
}

var page = template.Must(template.New("docs").Parse(`<!DOCTYPE html>
<html lang="{{.T.HTMLLang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}} · crmwh</title>
<link rel="stylesheet" href="{{.Assets}}assets/crmwh.css">
<style>
.docs h2 { color: var(--ink); border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; margin-top: 2rem; }
.docs table { margin: 0.5rem 0 1rem; background: var(--card); }
.docs td code { white-space: normal; overflow-wrap: anywhere; }
.docs .meta { color: var(--muted); font-size: 0.85rem; }
.docs nav.models { columns: 16rem; font-size: 0.85rem; }
.docs nav.models h3 { margin: 0.5rem 0 0.2rem; font-size: 0.9rem; break-after: avoid; }
.docs nav.models a { display: block; }
.pass { color: var(--good); } .fail, .error { color: var(--bad); } .warn { color: var(--warn); }
#lineage { height: {{.GraphHeight}}px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
</style>
</head>
<body data-lang="{{.T.Lang}}">
<header class="site">
<a class="brand" href="{{.Dashboards}}">crmwh</a>
<nav aria-label="{{.T.Models}}"><ul><li><a href="{{.Dashboards}}">{{.T.Dashboards}}</a></li><li><a href="#top" aria-current="page">{{.T.Title}}</a></li></ul></nav>
<p class="langs"><a href="{{.Other}}" data-lang-link="{{.OtherLang}}">{{.T.Language}}</a></p>
</header>
<main class="docs" id="top">
<h1>{{.T.Title}}</h1>
<p class="description">{{.Intro}}</p>
{{- with .Undocumented}}<p class="banner"><strong>{{.}}</strong></p>{{end}}
<nav class="models" aria-label="{{.T.Models}}">
{{- range .Layers}}
<h3>{{.Title}}</h3>
{{- range .Models}}<a href="#{{.Name}}">{{.Name}}</a>{{end}}
{{- end}}
</nav>
<h2>{{.T.Lineage}}</h2>
<div id="lineage"></div>
{{range .Catalog.Models}}
<h2 id="{{.Name}}">{{.Name}}</h2>
<p>{{.Description}}</p>
<p class="meta"><code>{{.Path}}</code> · {{.Materialize}}{{if .Deps}} · {{$.T.Reads}} {{range $i, $d := .Deps}}{{if $i}}, {{end}}<a href="#{{$d}}">{{$d}}</a>{{end}}{{end}}{{if .Sources}} · {{$.T.Lake}} {{range $i, $d := .Sources}}{{if $i}}, {{end}}<code>{{$d}}</code>{{end}}{{end}}{{if .Dependents}} · {{$.T.ReadBy}} {{range $i, $d := .Dependents}}{{if $i}}, {{end}}<a href="#{{$d}}">{{$d}}</a>{{end}}{{end}}</p>
{{if .Columns}}<table><thead><tr><th>{{$.T.Column}}</th><th>{{$.T.Type}}</th><th>{{$.T.Description}}</th></tr></thead><tbody>
{{range .Columns}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{.Description}}</td></tr>
{{end}}</tbody></table>{{end}}
{{if .Tests}}<table><thead><tr><th>{{$.T.Test}}</th><th>{{$.T.Kind}}</th><th>{{$.T.Column}}</th><th>{{$.T.Severity}}</th><th>{{$.T.Latest}}</th><th>{{$.T.FailingSince}}</th></tr></thead><tbody>
{{range .Tests}}<tr><td><code>{{.Name}}</code></td><td>{{.Kind}}</td><td>{{.Column}}</td><td>{{.Severity}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.FailingSince}}</td></tr>
{{end}}</tbody></table>{{end}}
{{end}}
</main>
<script src="{{.Assets}}assets/echarts.min.js"></script>
<script>
echarts.init(document.getElementById('lineage')).setOption({{.Graph}});
</script>
</body>
</html>
`))

// Options say where the page links to.
type Options struct {
	// Dashboards is the dashboards' index in each language, relative to
	// the docs folder (default ../index.html).
	Dashboards map[string]string
}

// layerView is a layer's models, for the page's navigation.
type layerView struct {
	Title  string
	Models []Model
}

// Write writes index.html (English), zh/index.html (Chinese) and the
// assets they use (the dashboards' style sheet and ECharts) into dir, and
// returns the English page's path.
func Write(dir string, c *Catalog, o Options) (string, error) {
	g, err := c.graph()
	if err != nil {
		return "", err
	}
	maxRows := len(c.Sources)
	counts := map[string]int{}
	undocumented := 0
	for _, m := range c.Models {
		counts[m.Layer]++
		undocumented += len(m.Undocumented)
	}
	for _, n := range counts {
		if n > maxRows {
			maxRows = n
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "assets"), 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"echarts.min.js", "crmwh.css"} {
		data, err := fs.ReadFile(assets.Site, name)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "assets", name), data, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "zh"), 0o755); err != nil {
		return "", err
	}
	var out string
	for _, lang := range []string{"en", "zh"} {
		t := words[lang]
		dash := o.Dashboards[lang]
		if dash == "" {
			dash = "../index.html"
		}
		data := map[string]any{"T": t, "Catalog": c, "Graph": g, "GraphHeight": 120 + 40*maxRows,
			"Intro": fmt.Sprintf(t.Intro, len(c.Models), len(c.Sources)), "Assets": "", "Dashboards": dash,
			"Other": "zh/index.html", "OtherLang": "zh"}
		file := filepath.Join(dir, "index.html")
		if lang == "zh" {
			data["Assets"], data["Other"], data["OtherLang"] = "../", "../index.html", "en"
			data["Dashboards"] = "../" + dash
			file = filepath.Join(dir, "zh", "index.html")
		}
		if undocumented > 0 {
			data["Undocumented"] = fmt.Sprintf("%d %s", undocumented, t.Undocumented)
		}
		var layers []layerView
		for _, l := range []string{"staging", "core", LayerSteps, "marts"} {
			lv := layerView{Title: t.Layers[l]}
			for _, m := range c.Models {
				if m.Layer == l {
					lv.Models = append(lv.Models, m)
				}
			}
			if len(lv.Models) > 0 {
				layers = append(layers, lv)
			}
		}
		data["Layers"] = layers
		var b strings.Builder
		if err := page.Execute(&b, data); err != nil {
			return "", err
		}
		if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
			return "", err
		}
		if lang == "en" {
			out = file
		}
	}
	return out, nil
}
