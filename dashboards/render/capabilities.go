package render

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"

	"crmwh/dashboards/spec"
	"crmwh/warehouse/models"
)

// LeftOut is a page or chart the site does not show because the project
// does not map the data it needs (docs/your-data.md).
type LeftOut struct {
	Page string `json:"page"`
	// Chart is empty when the whole page is left out.
	Chart string `json:"chart,omitempty"`
	// Needs lists the entities (or "a or b" alternatives) that would
	// enable it.
	Needs []string `json:"needs"`
}

// leaveOut removes from pages what needs data the project lacks: pages,
// sections and charts whose requires name an unmapped entity, and charts
// whose query reads a relation the build left out. A section left with no
// charts goes, and so does a page. It returns the pages kept and what was
// left out, pages first.
func leaveOut(ctx context.Context, db *sql.DB, pages []spec.Page, o Options) ([]spec.Page, []LeftOut, error) {
	if len(o.Unmapped) == 0 && len(o.LeftOut) == 0 {
		return pages, nil, nil
	}
	missing := func(req []string) []string {
		var out []string
		for _, e := range req {
			if slices.Contains(o.Unmapped, e) {
				out = append(out, e)
			}
		}
		return out
	}
	var kept []spec.Page
	var pagesOut, chartsOut []LeftOut
	for _, p := range pages {
		if needs := missing(p.Requires); len(needs) > 0 {
			pagesOut = append(pagesOut, LeftOut{Page: p.Name, Needs: needs})
			continue
		}
		pageNeeds := map[string]bool{}
		var secs []spec.Section
		for _, sec := range p.Sections {
			secNeeds := missing(sec.Requires)
			var charts []spec.Chart
			for _, c := range sec.Charts {
				needs := append(append([]string(nil), secNeeds...), missing(c.Requires)...)
				if c.Kind == spec.Summary {
					// A summary tells of the metrics the project has.
					var defs []*spec.Metric
					for _, m := range c.Defs {
						if len(missing(m.Requires)) == 0 && len(o.LeftOut[m.From]) == 0 {
							defs = append(defs, m)
						}
					}
					c.Defs = defs
				}
				for _, m := range c.Defs {
					needs = append(needs, missing(m.Requires)...)
					if len(needs) == 0 {
						needs = append(needs, o.LeftOut[m.From]...)
					}
				}
				if len(needs) == 0 && c.Query != "" {
					n, err := readsLeftOut(ctx, db, c.Query, o.LeftOut)
					if err != nil {
						return nil, nil, err
					}
					needs = n
				}
				slices.Sort(needs)
				needs = slices.Compact(needs)
				if len(needs) > 0 {
					chartsOut = append(chartsOut, LeftOut{Page: p.Name, Chart: c.Name, Needs: needs})
					for _, n := range needs {
						pageNeeds[n] = true
					}
					continue
				}
				charts = append(charts, c)
			}
			if len(charts) > 0 {
				sec.Charts = charts
				secs = append(secs, sec)
			}
		}
		if len(secs) == 0 {
			pagesOut = append(pagesOut, LeftOut{Page: p.Name, Needs: sortedKeys(pageNeeds)})
			continue
		}
		p.Sections = secs
		kept = append(kept, p)
	}
	return kept, append(pagesOut, chartsOut...), nil
}

// readsLeftOut returns what a query needs when it reads a relation the
// build left out (a query DuckDB cannot parse is left to fail when run).
func readsLeftOut(ctx context.Context, db *sql.DB, query string, leftOut map[string][]string) ([]string, error) {
	if len(leftOut) == 0 {
		return nil, nil
	}
	refs, err := models.References(ctx, db, query)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rendering dashboards: %w", ctx.Err())
		}
		return nil, nil
	}
	set := map[string]bool{}
	for _, r := range refs {
		if r.Schema != "" && r.Schema != "main" {
			continue
		}
		for _, n := range leftOut[r.Name] {
			set[n] = true
		}
	}
	return sortedKeys(set), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
