package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"crmwh/pipelines/lake"
	_ "crmwh/pipelines/sources/all" // the project's source kinds
	"crmwh/project"
	"crmwh/refresh"
	"crmwh/warehouse/duckdb"
	"crmwh/warehouse/models"
)

// benchBuild measures the warehouse build on a demo company of n
// customers: a full build by the runner, the same SQL files run straight
// in DuckDB (raw views, then every model in order on one connection, with
// the same Go steps; no tests, no metadata, no publish), and an
// incremental build after one more day of billing data.
func benchBuild(bin string, n, reps int) {
	dir, err := os.MkdirTemp("", "crmwh-bench-build-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	if _, err := run(bin, dir, "init", "."); err != nil {
		fail(err)
	}
	if _, err := run(bin, dir, "demo", "--customers", fmt.Sprint(n), "--json"); err != nil {
		fail(err)
	}
	// Hold back the last day of billing exports: it arrives later.
	held, err := holdBackLastDay(dir)
	if err != nil {
		fail(err)
	}
	if _, err := run(bin, dir, "extract", "--json"); err != nil {
		fail(err)
	}
	wh := filepath.Join(dir, "data", "crmwh.duckdb")
	removeWarehouse := func() {
		for _, suffix := range []string{"", ".prev", ".wal"} {
			os.Remove(wh + suffix)
		}
	}
	var full, straight []sample
	for r := 0; r < reps; r++ {
		removeWarehouse()
		res, err := run(bin, dir, "build", "--skip-tests", "--json")
		if err != nil {
			fail(err)
		}
		full = append(full, sample{wall: res.wall, rss: res.rss})
		res, err = runSelf("-straight-child", dir)
		if err != nil {
			fail(err)
		}
		straight = append(straight, sample{wall: res.wall, rss: res.rss})
	}
	// The last full build stays published; one day arrives; build again.
	for _, h := range held {
		if err := os.Rename(h[1], h[0]); err != nil {
			fail(err)
		}
	}
	if _, err := run(bin, dir, "extract", "--json"); err != nil {
		fail(err)
	}
	inc, err := run(bin, dir, "build", "--skip-tests", "--json")
	if err != nil {
		fail(err)
	}
	withTests, err := run(bin, dir, "build", "--json")
	if err != nil {
		fail(err)
	}
	// Every default page, both languages, from the 1,000,000-customer
	// warehouse just built.
	var dash []sample
	var charts string
	var pages []string
	for r := 0; r < reps; r++ {
		res, err := run(bin, dir, "dashboards", "--json")
		if err != nil {
			fail(err)
		}
		dash = append(dash, sample{wall: res.wall, rss: res.rss})
		var sum struct {
			Steps []struct {
				Detail string
				Result struct{ Pages []struct{ Name string } }
			} `json:"steps"`
		}
		if json.Unmarshal(res.out, &sum) == nil && len(sum.Steps) > 0 {
			charts, _, _ = strings.Cut(sum.Steps[0].Detail, " in ") // "9 pages, 84 charts"
			pages = pages[:0]
			for _, p := range sum.Steps[0].Result.Pages {
				pages = append(pages, p.Name)
			}
		}
	}
	// Each page on its own (crmwh dashboards --page NAME), both languages.
	perPage := map[string][]sample{}
	for r := 0; r < reps; r++ {
		for _, p := range pages {
			res, err := run(bin, dir, "dashboards", "--page", p, "--json")
			if err != nil {
				fail(err)
			}
			perPage[p] = append(perPage[p], sample{wall: res.wall, rss: res.rss})
		}
	}
	f, s := medianSample(full), medianSample(straight)
	fmt.Printf("\nWarehouse build, %d customers (median of %d):\n\n", n, reps)
	fmt.Println("| build | wall | vs full build | peak RSS |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	fmt.Printf("| crmwh build (full, no tests) | %.1f s | 1.00× | %.0f MB |\n", f.wall.Seconds(), float64(f.rss)/1e6)
	fmt.Printf("| same SQL straight in DuckDB | %.1f s | runner overhead %.2f× | %.0f MB |\n", s.wall.Seconds(), f.wall.Seconds()/s.wall.Seconds(), float64(s.rss)/1e6)
	fmt.Printf("| crmwh build after one new day (no tests) | %.1f s | %.2f× | %.0f MB |\n", inc.wall.Seconds(), inc.wall.Seconds()/f.wall.Seconds(), float64(inc.rss)/1e6)
	fmt.Printf("| crmwh build with data tests (no new data) | %.1f s | %.2f× | %.0f MB |\n", withTests.wall.Seconds(), withTests.wall.Seconds()/f.wall.Seconds(), float64(withTests.rss)/1e6)
	d := medianSample(dash)
	fmt.Printf("\nDashboards from the %d-customer warehouse (median of %d):\n\n", n, reps)
	fmt.Println("| step | pages | wall | peak RSS |")
	fmt.Println("| --- | --- | ---: | ---: |")
	fmt.Printf("| crmwh dashboards (English and Chinese) | %s | %.2f s | %.0f MB |\n", charts, d.wall.Seconds(), float64(d.rss)/1e6)
	for _, p := range pages {
		ps := medianSample(perPage[p])
		fmt.Printf("| crmwh dashboards --page %s | 1 page | %.2f s | %.0f MB |\n", p, ps.wall.Seconds(), float64(ps.rss)/1e6)
	}
}

func medianSample(ss []sample) sample {
	sort.Slice(ss, func(i, j int) bool { return ss[i].wall < ss[j].wall })
	return ss[len(ss)/2]
}

// holdBackLastDay moves the billing files of the last day aside and
// returns [original, moved] pairs.
func holdBackLastDay(dir string) ([][2]string, error) {
	var all []string
	for _, pat := range []string{"orders/orders_*.csv", "legacy/orders_*.csv"} {
		m, err := filepath.Glob(filepath.Join(dir, "data/demo/billing", pat))
		if err != nil {
			return nil, err
		}
		all = append(all, m...)
	}
	last := ""
	for _, f := range all {
		day := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "orders_"), ".csv")
		if day > last {
			last = day
		}
	}
	side := filepath.Join(dir, "held")
	if err := os.MkdirAll(side, 0o755); err != nil {
		return nil, err
	}
	var out [][2]string
	for _, pat := range []string{"orders/orders_%s.csv", "order_lines/order_lines_%s.csv", "legacy/orders_%s.csv", "legacy/order_lines_%s.csv"} {
		f := filepath.Join(dir, "data/demo/billing", fmt.Sprintf(pat, last))
		if _, err := os.Stat(f); err != nil {
			continue
		}
		to := filepath.Join(side, strings.ReplaceAll(fmt.Sprintf(pat, last), "/", "_"))
		if err := os.Rename(f, to); err != nil {
			return nil, err
		}
		out = append(out, [2]string{f, to})
	}
	return out, nil
}

// The scale benchmark keeps, in a kept project's held/ folder, what it
// needs to measure the project again (-scale-reuse): the day it held
// back (day.json) and the lake as it was before that day was extracted
// (held/lake, hard links: the lake never changes a file in place, it
// writes new ones and renames them).
const (
	heldDay  = "day.json"
	heldLake = "lake"
)

// keepForReuse records the day held back and the lake as it is now.
func keepForReuse(dir string, held [][2]string) error {
	p, err := project.Load(dir)
	if err != nil {
		return err
	}
	side := filepath.Join(dir, "held")
	b, err := json.Marshal(held)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(side, heldDay), b, 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(side, heldLake)); err != nil {
		return err
	}
	return linkTree(p.LakeDir(), filepath.Join(side, heldLake))
}

// reuseKept puts a project an earlier run kept back as it was before its
// first build: the day held back again, the lake as it was before the day
// and no warehouse. It returns the day's files, as holdBackLastDay does.
func reuseKept(dir string) ([][2]string, error) {
	side := filepath.Join(dir, "held")
	b, err := os.ReadFile(filepath.Join(side, heldDay))
	if err != nil {
		return nil, fmt.Errorf("%s: not kept by an earlier run of the scale benchmark with -scale-dir: %w", dir, err)
	}
	var held [][2]string
	if err := json.Unmarshal(b, &held); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(side, heldDay), err)
	}
	for _, h := range held {
		if _, err := os.Stat(h[1]); err == nil {
			continue // still held back: the earlier run stopped before the day
		}
		if err := os.Rename(h[0], h[1]); err != nil {
			return nil, err
		}
	}
	p, err := project.Load(dir)
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(p.LakeDir()); err != nil {
		return nil, err
	}
	if err := linkTree(filepath.Join(side, heldLake), p.LakeDir()); err != nil {
		return nil, err
	}
	wh, err := filepath.Glob(p.WarehouseFile() + "*")
	if err != nil {
		return nil, err
	}
	for _, f := range wh {
		if err := os.RemoveAll(f); err != nil {
			return nil, err
		}
	}
	return held, nil
}

// linkTree makes to a copy of the folder from whose files are hard links.
func linkTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return os.Link(path, target)
	})
}

// straightDuckDB runs the project's SQL files in a fresh DuckDB file the
// plain way: raw views over the lake, then each model as CREATE TABLE (or
// VIEW) in dependency order on one connection, and the Go steps in place.
func straightDuckDB(dir string) error {
	ctx := context.Background()
	p, err := project.Load(dir)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, "straight.duckdb")
	os.Remove(file)
	defer os.Remove(file)
	db, err := duckdb.Open(file, duckdb.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	l, err := lake.Open(p.LakeDir())
	if err != nil {
		return err
	}
	ms, err := l.Manifests()
	if err != nil {
		return err
	}
	for _, s := range []string{"CREATE SCHEMA raw", "CREATE SCHEMA meta"} {
		if _, err := db.Exec(s); err != nil {
			return err
		}
	}
	sources := map[string]bool{}
	for _, m := range ms {
		for _, v := range l.RawViews(m) {
			if _, err := db.Exec(fmt.Sprintf("CREATE VIEW raw.%s AS %s", duckdb.QuoteIdent(v.Name), v.SQL)); err != nil {
				return err
			}
			sources["raw."+v.Name] = true
		}
	}
	// The models under sql/ and the staging models the entity mapping
	// generates.
	mods, err := refresh.ProjectModels(ctx, p, db)
	if err != nil {
		return err
	}
	// The staging models the entity mapping generates (crmwh.yaml's entities).
	gen, err := refresh.EntityModels(p)(ctx, db, sources)
	if err != nil {
		return err
	}
	mods = append(mods, gen...)
	steps := refresh.Steps(p, "straight")
	external := map[string]bool{}
	for _, s := range steps {
		for _, w := range s.Writes {
			external[w] = true
		}
	}
	if err := models.Resolve(ctx, db, mods, sources, external); err != nil {
		return err
	}
	ordered, err := models.Order(mods)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := map[string]bool{}
	// Go steps run as soon as what they read is there, as in the runner.
	runReady := func() error {
		for _, st := range steps {
			if done[st.Name] {
				continue
			}
			ready := true
			for _, r := range st.Reads {
				ready = ready && done[r]
			}
			if !ready {
				continue
			}
			if _, err := st.Run(ctx, conn); err != nil {
				return fmt.Errorf("step %s: %w", st.Name, err)
			}
			done[st.Name] = true
			for _, w := range st.Writes {
				done[w] = true
			}
		}
		return nil
	}
	if err := runReady(); err != nil {
		return err
	}
	for _, m := range ordered {
		kind := "TABLE"
		if m.Materialize == models.View {
			kind = "VIEW"
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE %s %s AS\n%s", kind, duckdb.QuoteIdent(m.Name), m.SQL)); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		done[m.Name] = true
		if err := runReady(); err != nil {
			return err
		}
	}
	var n sql.NullInt64
	return conn.QueryRowContext(ctx, "SELECT count(*) FROM mart_kpi_monthly").Scan(&n)
}
