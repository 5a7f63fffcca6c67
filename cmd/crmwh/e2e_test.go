package main_test

// End-to-end tests of the crmwh binary on a small demo company: the real
// command line, a real SQLite CRM, real CSV exports, a real Parquet lake,
// a real DuckDB warehouse and the rendered site in real Chromium.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"crmwh/dashboards/browsertest"
	"crmwh/project"
	crmwhrefresh "crmwh/refresh"
	"crmwh/warehouse/docsite"
	"crmwh/warehouse/warehousetest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmwh-e2e-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "crmwh")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building crmwh: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runResult struct {
	stdout, stderr string
	code           int
}

// crmwh runs the binary in dir.
func crmwh(t *testing.T, dir string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CRMWH_PROJECT=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := runResult{o.String(), e.String(), 0}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return r
}

func mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := crmwh(t, dir, args...)
	require.Equal(t, 0, r.code, "crmwh %s failed:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
	return r.stdout
}

type summary struct {
	Status string
	Steps  []struct {
		Step   string
		Status string
		Rows   int64
		Result json.RawMessage
	}
}

func refresh(t *testing.T, dir string) summary {
	t.Helper()
	var s summary
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "refresh", "--json")), &s))
	require.Equal(t, "ok", s.Status)
	return s
}

// demoProject makes a project folder with a small demo company in it.
func demoProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, dir, "init", ".")
	mustRun(t, dir, "demo", "--customers", "3000", "--years", "1", "--seed", "11")
	return dir
}

func TestRefreshOnTheDemoCompany(t *testing.T) {
	dir := demoProject(t)
	first := refresh(t, dir)
	require.Len(t, first.Steps, 3)
	wh := filepath.Join(dir, "data", "crmwh.duckdb")

	t.Run("monthly KPIs equal an independent computation from the raw files", func(t *testing.T) {
		want := rawMonthlyKPIs(t, filepath.Join(dir, "data", "demo"))
		db := warehousetest.Open(t, wh, true)
		got := warehousetest.Rows(t, db, `SELECT strftime(month, '%Y-%m'), orders, cancelled_orders, gross_revenue, refunds,
			net_revenue, active_customers, new_customers FROM mart_kpi_monthly ORDER BY month`)
		require.Len(t, got, 12)
		require.Equal(t, want, got)
	})

	t.Run("the tea club's cohorts recover the planted sBG parameters", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "data", "demo", "truth", "contracts.json"))
		require.NoError(t, err)
		var truth struct {
			Plans []struct {
				Plan        string
				Alpha, Beta float64
			}
		}
		require.NoError(t, json.Unmarshal(raw, &truth))
		db := warehousetest.Open(t, wh, true)
		for _, p := range truth.Plans {
			// Each fitted cohort within four of its standard errors
			// (from the fit's information, so they follow its size).
			rows := warehousetest.Rows(t, db, `SELECT cohort, contracts, alpha, beta, alpha_std_error, beta_std_error
				FROM mart_contract_retention WHERE period = 0 AND plan = ? AND status = 'ok' ORDER BY cohort`, p.Plan)
			require.NotEmpty(t, rows, p.Plan)
			for _, r := range rows {
				var a, b, sa, sb float64
				for i, v := range []*float64{&a, &b, &sa, &sb} {
					_, err := fmt.Sscan(r[2+i], v)
					require.NoError(t, err)
				}
				t.Logf("%s (%s contracts): alpha %.3f ± %.3f (true %.2f), beta %.3f ± %.3f (true %.2f)", r[0], r[1], a, sa, p.Alpha, b, sb, p.Beta)
				require.InDelta(t, p.Alpha, a, 4*sa, r[0])
				require.InDelta(t, p.Beta, b, 4*sb, r[0])
			}
		}
	})

	t.Run("Pareto and cohort retention equal an independent computation from the raw files", func(t *testing.T) {
		want := rawCohortsAndPareto(t, filepath.Join(dir, "data", "demo"))
		db := warehousetest.Open(t, wh, true)
		require.Equal(t, want.cohorts, warehousetest.Rows(t, db, `SELECT strftime(cohort_month, '%Y-%m'), months_since_first,
			cohort_customers, active_customers, net_revenue FROM mart_cohort_retention ORDER BY 1, 2`))
		for _, pct := range []int{1, 5, 20, 50, 80, 100} {
			var customers int64
			var revenue string
			require.NoError(t, db.QueryRow(`SELECT customers, CAST(net_revenue AS VARCHAR) FROM mart_pareto WHERE customer_percentile = ?`, pct).Scan(&customers, &revenue))
			require.Equal(t, want.paretoCustomers[pct], customers, "percentile %d", pct)
			require.Equal(t, money(want.paretoRevenue[pct]), revenue, "percentile %d", pct)
		}
		t.Logf("the top 20%% of customers hold %.1f%% of net revenue", 100*float64(want.paretoRevenue[20])/float64(want.paretoRevenue[100]))
	})

	t.Run("legacy GB18030 rows arrive with their Chinese text", func(t *testing.T) {
		id, city, name := firstLegacyOrder(t, filepath.Join(dir, "data", "demo"))
		db := warehousetest.Open(t, wh, true)
		require.Equal(t, [][]string{{"billing.legacy_orders", city, name}}, warehousetest.Rows(t, db,
			"SELECT source_stream, city, customer_name FROM stg_orders WHERE order_id = ?", id))
		require.Zero(t, warehousetest.Int(t, db, "SELECT count(*) FROM stg_orders WHERE contains(city || customer_name, '\uFFFD')"))
		require.Positive(t, warehousetest.Int(t, db, "SELECT count(*) FROM fct_orders WHERE source_stream = 'billing.legacy_orders'"))
	})

	t.Run("every malformed order row is in quarantine with its file and line", func(t *testing.T) {
		want := malformedOrderRows(t, filepath.Join(dir, "data", "demo"))
		require.NotEmpty(t, want)
		db := warehousetest.Open(t, wh, true)
		got := warehousetest.Rows(t, db, `SELECT origin, line FROM raw.billing_orders__quarantine
			UNION ALL SELECT origin, line FROM raw.billing_legacy_orders__quarantine ORDER BY 1, 2`)
		require.Equal(t, want, got)
		// raw.quarantine has every stream's rows, named by stream, and as
		// many as the lake's manifests count.
		require.Equal(t, want, warehousetest.Rows(t, db, `SELECT origin, line FROM raw.quarantine
			WHERE stream IN ('billing.orders', 'billing.legacy_orders') ORDER BY 1, 2`))
		require.Equal(t, warehousetest.Rows(t, db, `SELECT source || '.' || stream, quarantined::VARCHAR FROM meta.lake_streams WHERE quarantined > 0 ORDER BY 1`),
			warehousetest.Rows(t, db, `SELECT stream, count(*)::VARCHAR FROM raw.quarantine GROUP BY 1 ORDER BY 1`))
	})

	t.Run("identity resolution matches the generator's truth", func(t *testing.T) {
		db := warehousetest.Open(t, wh, true)
		people := filepath.Join(dir, "data", "demo", "truth", "people.csv")
		q := `with people as (
			select * from read_csv(?, all_varchar = true)
		), truth as (
			select person_id, 'customers' as source, unnest(string_split(crm_customer_ids, ';')) as key from people
			union all
			select person_id, 'orders', unnest(string_split(billing_customer_nos, ';')) from people where coalesce(billing_customer_nos, '') <> ''
		), recs as (
			select t.*, m.customer_id from truth t
			left join customer_identity_map m on m.source = t.source and m.source_key = t.key
		), pairs as (
			select a.person_id = b.person_id as same_person, a.customer_id = b.customer_id as same_customer
			from recs a join recs b on a.source || a.key < b.source || b.key
				and (a.person_id = b.person_id or a.customer_id = b.customer_id)
		)
		select
			(select count(*) from recs) as records,
			(select count(*) from recs where customer_id is null) as unmapped,
			count(*) filter (where same_person and same_customer) as tp,
			count(*) filter (where not same_person and same_customer) as fp,
			count(*) filter (where same_person and not same_customer) as fn
		from pairs`
		var records, unmapped, tp, fp, fn int64
		require.NoError(t, db.QueryRow(q, people).Scan(&records, &unmapped, &tp, &fp, &fn))
		precision := float64(tp) / float64(tp+fp)
		recall := float64(tp) / float64(tp+fn)
		t.Logf("identity resolution on %d source records: pairs TP %d, FP %d, FN %d; precision %.4f, recall %.4f", records, tp, fp, fn, precision, recall)
		require.Zero(t, unmapped, "every CRM record and billing number has a golden customer")
		require.Positive(t, tp)
		require.GreaterOrEqual(t, precision, 0.99)
		require.GreaterOrEqual(t, recall, 0.99)
		// Golden customers are people: as many as the truth has.
		require.Equal(t, warehousetest.Int(t, db, "select count(*) from read_csv(?, all_varchar = true)", people),
			warehousetest.Int(t, db, "select count(*) from dim_customer"))
	})

	t.Run("cross-sell marts match raw counts and the planted truth", func(t *testing.T) { checkCrossSell(t, dir, wh) })

	t.Run("a second refresh with no new data changes no row counts", func(t *testing.T) {
		counts := func() [][]string {
			db := warehousetest.Open(t, wh, true)
			defer db.Close()
			return warehousetest.Rows(t, db, `SELECT source || '.' || stream, row_count, quarantined FROM meta.lake_streams
				UNION ALL SELECT model, row_count::VARCHAR, NULL FROM meta.model_runs
				WHERE run_id = (SELECT max(run_id) FROM meta.build_runs) AND row_count IS NOT NULL ORDER BY 1`)
		}
		before := counts()
		second := refresh(t, dir)
		require.Equal(t, "extract", second.Steps[0].Step)
		require.Zero(t, second.Steps[0].Rows, "nothing new was extracted")
		require.Equal(t, before, counts())
	})

	t.Run("a billing file that grows after it was loaded is a warning everywhere", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join(dir, "data", "demo", "billing", "orders", "orders_*.csv"))
		require.NoError(t, err)
		f := files[len(files)/2]
		name, _ := filepath.Rel(dir, f)
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = fh.WriteString("X-LATE-1,B0000001,Late,late@example.com,,2026-01-01 10:00:00,paid,Shanghai,CNY,10.00,0.00,10.00,\n")
		require.NoError(t, err)
		require.NoError(t, fh.Close())
		later := time.Now().Add(time.Minute)
		require.NoError(t, os.Chtimes(f, later, later))

		r := crmwh(t, dir, "refresh")
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "extract     ok")
		require.Contains(t, r.stdout, "1 warning(s)")
		require.Contains(t, r.stdout, "  warning: billing.orders: grown_file: "+name+" grew from ")
		require.Contains(t, r.stderr, `"msg":"stream warning","run_id"`, "logged")
		state := mustRun(t, dir, "state", "show", "billing.orders")
		require.Contains(t, state, "    warning (grown_file, run ")
		require.Contains(t, state, name+" grew from ")
		db := warehousetest.Open(t, wh, true)
		defer db.Close()
		require.Equal(t, [][]string{{"billing", "orders", "grown_file"}},
			warehousetest.Rows(t, db, "SELECT source, stream, kind FROM meta.lake_warnings"), "the build keeps it for the data-health page")
		require.Zero(t, warehousetest.Int(t, db, "SELECT count(*) FROM fct_orders WHERE order_id = 'X-LATE-1'"), "warn loads nothing of it")
	})

	t.Run("every column of core and mart models is described", func(t *testing.T) {
		db := warehousetest.Open(t, wh, true)
		p, err := project.Load(dir)
		require.NoError(t, err)
		ms, err := crmwhrefresh.ProjectModels(context.Background(), p, db)
		require.NoError(t, err)
		cat, err := docsite.Load(context.Background(), db, ms)
		require.NoError(t, err)
		// Every table and view the warehouse publishes is documented, the
		// Go steps' tables too (warehouse/docsite/gosteps.yaml), and every
		// column of each has a description.
		documented := map[string]bool{}
		for _, m := range cat.Models {
			documented[m.Name] = true
			require.NotEmpty(t, m.Description, m.Name)
			require.Empty(t, m.Undocumented, "%s has columns without a description (in %s.yml, or for a Go step's table in warehouse/docsite/gosteps.yaml)", m.Name, m.Name)
		}
		for _, table := range warehousetest.Rows(t, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1`) {
			require.True(t, documented[table[0]], "%s is published but not documented", table[0])
		}
		for _, table := range []string{"clv_scores", "analytics_settings", "mart_clv_model", "mart_clv_monthly"} {
			require.True(t, documented[table], table)
		}
	})

	t.Run("published tables keep money in DECIMAL(18,2) and counts in BIGINT", func(t *testing.T) {
		// A sum of DECIMAL(18,2) is DECIMAL(38,2) and a sum of counts is
		// HUGEINT, both 128-bit: DuckDB 1.4.3 scans such a stored column
		// about 100 times slower than a 64-bit one (bit-unpacking by
		// 128-bit division), and every model and chart reading fct_orders
		// paid for it.
		db := warehousetest.Open(t, wh, true)
		defer db.Close()
		require.Empty(t, warehousetest.Rows(t, db, `SELECT table_name || '.' || column_name || ' ' || data_type FROM duckdb_columns()
			WHERE schema_name = 'main' AND (data_type IN ('HUGEINT', 'UHUGEINT') OR regexp_matches(data_type, '^DECIMAL\((19|[23][0-9]),')) ORDER BY 1`))
		require.Equal(t, [][]string{{"DECIMAL(18,2)"}}, warehousetest.Rows(t, db, `SELECT DISTINCT data_type FROM duckdb_columns()
			WHERE schema_name = 'main' AND table_name IN ('fct_orders', 'customer_order_summary') AND column_name IN ('net_revenue', 'refunded_amount', 'paid_amount')`))
	})

	t.Run("crmwh docs renders a lineage graph offline", func(t *testing.T) {
		out := t.TempDir()
		mustRun(t, dir, "docs", "--out", out)
		b := browsertest.Start(t)
		p := b.Open(t, filepath.Join(out, "index.html"))
		p.WaitFor(t, `document.querySelector('#lineage canvas') !== null`)
		painted := browsertest.Eval[int](t, p, `(() => { const c = document.querySelector('#lineage canvas');
			const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
			for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`)
		require.Greater(t, painted, 5000)
		text := browsertest.Eval[string](t, p, `document.body.innerText`)
		require.Contains(t, text, "customer_identity_map")
		require.Contains(t, text, "unique_fct_orders_order_id")
		require.Contains(t, text, "clv_scores")
		// Styled like the dashboards, and in Chinese too.
		require.Equal(t, "rgb(31, 58, 95)", browsertest.Eval[string](t, p, `getComputedStyle(document.querySelector('header.site')).backgroundColor`))
		p.Screenshot(t, "e2e-docs")
		p.RequireClean(t, out)
		zh := b.Open(t, filepath.Join(out, "zh", "index.html"))
		require.Contains(t, browsertest.Eval[string](t, zh, `document.body.innerText`), "数据仓库文档")
		require.Equal(t, "zh-CN", browsertest.Eval[string](t, zh, `document.documentElement.lang`))
		zh.RequireClean(t, out)

		// In the site folder, the docs and the dashboards link to each other.
		mustRun(t, dir, "docs")
		mustRun(t, dir, "dashboards")
		site := filepath.Join(dir, "site")
		overview, err := os.ReadFile(filepath.Join(site, "overview.html"))
		require.NoError(t, err)
		require.Contains(t, string(overview), `<a class="docs" href="docs/index.html">Warehouse docs</a>`)
		docs, err := os.ReadFile(filepath.Join(site, "docs", "index.html"))
		require.NoError(t, err)
		require.Contains(t, string(docs), `href="../index.html"`)
		require.FileExists(t, filepath.Join(site, "docs", "zh", "index.html"))
	})

	t.Run("every dashboard page renders in Chromium in both languages, with no errors and no network", func(t *testing.T) {
		site := filepath.Join(dir, "site")
		b := browsertest.Start(t)
		var files []string
		for _, lang := range []string{"", "zh"} {
			pages, err := filepath.Glob(filepath.Join(site, lang, "*.html"))
			require.NoError(t, err)
			files = append(files, pages...)
		}
		require.Len(t, files, 22, "index and ten pages, in English and Chinese")
		for _, f := range files {
			p := b.Open(t, f)
			charts := p.Charts(t)
			if filepath.Base(f) != "index.html" {
				require.NotEmpty(t, charts, f)
			}
			for _, c := range charts {
				require.True(t, c.Canvas, c.ID)
				require.Greater(t, c.Painted, 2000, "%s: %s looks blank", f, c.ID)
			}
			rel, err := filepath.Rel(site, f)
			require.NoError(t, err)
			if rel == "overview.html" || rel == "zh/value.html" {
				p.Screenshot(t, "e2e-"+strings.ReplaceAll(strings.TrimSuffix(rel, ".html"), "/", "-"))
			}
			require.Empty(t, browsertest.Eval[string](t, p, `Array.from(document.querySelectorAll('.chart-error')).map(e => e.textContent).join('\n')`), f)
			// On the demo company's data too: nothing wider than its card, no
			// chart text cut off or drawn over another, no name left out.
			for _, w := range []int{1024, 1440, 390} {
				p.Resize(t, w, 900)
				l := p.Layout(t)
				require.Empty(t, l.Overflow, "%s at %d px", rel, w)
				require.Empty(t, l.Clipped, "%s at %d px", rel, w)
				require.Empty(t, l.Overlaps, "%s at %d px", rel, w)
				require.Empty(t, l.Hidden, "%s at %d px", rel, w)
			}
			p.RequireClean(t, site)
		}
	})

	t.Run("the board pack is one PDF of the pages asked for", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "board.pdf")
		out := mustRun(t, dir, "dashboards", "--pdf="+file, "--lang", "zh", "--page", "overview", "--page", "appendix")
		require.Contains(t, out, "board pack "+file)
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(data, []byte("%PDF-")))
		require.Greater(t, len(data), 50_000)
		mustRun(t, dir, "dashboards") // the site in English again, for the tests after this one
	})

	t.Run("dashboards --single-file writes one file that works on its own", func(t *testing.T) {
		var s summary
		require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "dashboards", "--single-file", "--lang", "zh", "--json")), &s))
		require.Equal(t, "ok", s.Status)
		data, err := os.ReadFile(filepath.Join(dir, "site", "crmwh.dashboards.html"))
		require.NoError(t, err)
		alone := t.TempDir()
		file := filepath.Join(alone, "dashboards.html")
		require.NoError(t, os.WriteFile(file, data, 0o644))
		b := browsertest.Start(t)
		p := b.Open(t, file)
		p.WaitFor(t, `document.querySelector('.view.shown') !== null`)
		require.Equal(t, "zh-index", browsertest.Eval[string](t, p, `document.querySelector('.view.shown').id`))
		browsertest.Eval[bool](t, p, `(location.hash = '#en-value', true)`)
		p.WaitFor(t, `document.querySelector('.view.shown').id === 'en-value' && document.querySelectorAll('#en-value [data-echart]:not([data-rendered])').length === 0`)
		require.Equal(t, "en-value", browsertest.Eval[string](t, p, `document.querySelector('.view.shown').id`))
		require.Positive(t, browsertest.Eval[int](t, p, `document.querySelectorAll('#en-value canvas').length`))
		p.Screenshot(t, "e2e-single-file")
		p.RequireClean(t, alone)
	})

	// Last, as it breaks the project's pages for a while.
	t.Run("a broken page or chart fails the run but not the other pages", func(t *testing.T) {
		bad := map[string]string{
			"dashboards/zz_kind.yaml":  "name: zz-kind\ntitle: {en: K, zh: 类}\nsections:\n  - charts:\n      - {name: pie, kind: donut, title: {en: P, zh: 饼}, query: SELECT 1}\n",
			"dashboards/zz_query.yaml": "name: zz-query\ntitle: {en: Q, zh: 查}\nsections:\n  - charts:\n      - {name: broken, kind: table, title: {en: B, zh: 坏}, query: SELECT * FROM no_such_mart}\n      - {name: fine, kind: table, title: {en: F, zh: 好}, query: SELECT 1 AS one}\n",
			// Chart queries run in the sandbox like crmwh sql.
			"dashboards/zz_attack.yaml": "name: zz-attack\ntitle: {en: A, zh: 攻}\nsections:\n  - charts:\n" +
				"      - {name: copy, kind: table, title: {en: C, zh: 复}, query: \"SELECT 1; COPY (SELECT 42) TO 'pwned.csv'\"}\n" +
				"      - {name: passwd, kind: table, title: {en: P, zh: 密}, query: \"SELECT * FROM read_csv('/etc/passwd')\"}\n",
		}
		for f, text := range bad {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644))
		}
		defer func() {
			for f := range bad {
				os.Remove(filepath.Join(dir, f))
			}
		}()
		r := crmwh(t, dir, "dashboards", "--json")
		require.Equal(t, 6, r.code, "dashboards exit code\n%s%s", r.stdout, r.stderr)
		require.Contains(t, r.stderr, `dashboards/zz_kind.yaml:5: sections[0].charts[0].kind: unknown chart kind "donut"`)
		require.Contains(t, r.stderr, "dashboards/zz_query.yaml:5: sections[0].charts[0]: chart broken: query: Catalog Error: Table with name no_such_mart does not exist")
		require.Contains(t, r.stderr, "dashboards/zz_attack.yaml:5: sections[0].charts[0]: chart copy: query: not allowed in read-only SQL: COPY is not a query")
		require.Contains(t, r.stderr, "dashboards/zz_attack.yaml:6: sections[0].charts[1]: chart passwd: query: not allowed in read-only SQL: Permission Error")
		require.NoFileExists(t, filepath.Join(dir, "pwned.csv"))
		var s summary
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
		require.Equal(t, "failed", s.Status)
		var res struct {
			Pages  []struct{ Name string }
			Failed int
		}
		require.NoError(t, json.Unmarshal(s.Steps[0].Result, &res))
		require.Equal(t, 3, res.Failed)
		var names []string
		for _, p := range res.Pages {
			names = append(names, p.Name)
		}
		// The other pages were rendered; the file that could not be read was not.
		require.Equal(t, []string{"zz-attack", "zz-query", "overview", "value", "retention", "segments", "cross_sell", "watchlist", "account_managers", "service", "health", "appendix"}, names)
		page, err := os.ReadFile(filepath.Join(dir, "site", "zz-query.html"))
		require.NoError(t, err)
		require.Contains(t, string(page), `<div class="chart-error"`)
		require.Contains(t, string(page), "<h3>F</h3>")
		require.NoFileExists(t, filepath.Join(dir, "site", "zz-kind.html"))
	})
}

func TestAFailedBuildLeavesThePublishedWarehouseByteIdentical(t *testing.T) {
	dir := demoProject(t)
	refresh(t, dir)
	wh := filepath.Join(dir, "data", "crmwh.duckdb")
	before, err := os.ReadFile(wh)
	require.NoError(t, err)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "sql", "marts", "mart_broken.sql"),
		[]byte("select order_id::INTEGER as n from fct_orders\n"), 0o644))
	r := crmwh(t, dir, "refresh")
	require.Equal(t, 5, r.code, "build failure exit code\n%s%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "crmwh: build: build failed: model mart_broken (sql/marts/mart_broken.sql:1): Conversion Error")
	require.Contains(t, r.stdout, "dashboards  skipped")
	after, err := os.ReadFile(wh)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "the published warehouse changed")
}

func TestConfigErrorsAreOneLineNamingTheKey(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "crmwh.yaml"), []byte("name: x\npaths:\n  lakes: data/lake\n"), 0o644))
	r := crmwh(t, dir, "extract")
	require.Equal(t, 2, r.code)
	require.Equal(t, `crmwh: crmwh.yaml:3: paths.lakes: unknown key "lakes" (expected one of: lake, site, state, warehouse)`+"\n", r.stderr)
}

func TestBuildSelectTestAndRollback(t *testing.T) {
	dir := demoProject(t)
	refresh(t, dir)
	wh := filepath.Join(dir, "data", "crmwh.duckdb")
	first, err := os.ReadFile(wh)
	require.NoError(t, err)

	var s summary
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "build", "--select", "fct_orders+", "--json")), &s))
	var res struct{ Models []struct{ Name string } }
	require.NoError(t, json.Unmarshal(s.Steps[0].Result, &res))
	var built []string
	for _, m := range res.Models {
		built = append(built, m.Name)
	}
	require.Contains(t, built, "fct_orders")
	require.Contains(t, built, "mart_kpi_monthly")
	require.NotContains(t, built, "dim_customer")

	// A data test that fails: crmwh test exits 5 and records it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sql", "marts", "mart_kpi_monthly.yml"),
		[]byte("description: x\ntests:\n  - row_count: {max: 3}\n"), 0o644))
	r := crmwh(t, dir, "test")
	require.Equal(t, 5, r.code, r.stderr)
	require.Contains(t, r.stderr, "row_count_mart_kpi_monthly")
	db := warehousetest.Open(t, wh, true)
	require.Equal(t, "fail", warehousetest.Scalar(t, db, "select status from meta.test_status where test = 'row_count_mart_kpi_monthly'"))
	db.Close()

	out := mustRun(t, dir, "build", "--rollback")
	require.Contains(t, out, "restored the previous warehouse")
	rolled, err := os.ReadFile(wh)
	require.NoError(t, err)
	require.True(t, bytes.Equal(first, rolled), "rollback restores the first build's file")
}

func TestEveryVerbHasHelpWithAnExample(t *testing.T) {
	for _, verb := range []string{"init", "demo", "extract", "build", "test", "docs", "dashboards", "refresh", "sql", "scheduler", "runs", "status"} {
		out := mustRun(t, t.TempDir(), verb, "--help")
		require.Contains(t, out, "Examples:", verb)
		require.Contains(t, out, "crmwh "+verb, verb)
	}
}

func TestSQLPrintsFromTheWarehouseReadOnly(t *testing.T) {
	dir := demoProject(t)
	refresh(t, dir)
	q := "SELECT order_id, net_amount, city FROM fct_orders WHERE source_stream = 'billing.legacy_orders' ORDER BY order_id LIMIT 3"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "q.sql"), []byte(q+";\n"), 0o644))
	csvOut := mustRun(t, dir, "sql", "-f", "q.sql", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4)
	require.Equal(t, []string{"order_id", "net_amount", "city"}, recs[0])
	var js []map[string]any
	require.NoError(t, json.Unmarshal([]byte(mustRun(t, dir, "sql", q, "--json")), &js))
	require.Len(t, js, 3)
	require.Equal(t, recs[1][0], js[0]["order_id"])
	require.Equal(t, recs[1][1], fmt.Sprint(js[0]["net_amount"]), "decimals keep their scale in JSON")
	mustRun(t, dir, "sql", q, "--format", "parquet", "--out", "x.parquet")
	db := warehousetest.Open(t, "", false)
	require.Equal(t, [][]string{{recs[1][0], recs[1][1], recs[1][2]}},
		warehousetest.Rows(t, db, "select order_id, net_amount, city from read_parquet(?) limit 1", filepath.Join(dir, "x.parquet")))

	out := mustRun(t, dir, "sql", "SELECT count(*) AS customers FROM dim_customer")
	require.Regexp(t, `customers\n-+\n +\d+\n\(1 rows\)\n`, out)
	r := crmwh(t, dir, "sql", "CREATE TABLE x AS SELECT 1")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "read-only")
	r = crmwh(t, dir, "sql", "SELEC 1")
	require.NotEqual(t, 0, r.code)
	require.Equal(t, "crmwh: syntax error at or near \"SELEC\" (line 1, column 1)\n", r.stderr)

	// JSON keeps the query's column order.
	require.Equal(t, "[\n  {\n    \"z\": 1,\n    \"a\": \"x\",\n    \"m\": null\n  }\n]\n",
		mustRun(t, dir, "sql", "SELECT 1 AS z, 'x' AS a, NULL AS m", "--format", "json"))
	// --out is written by crmwh, wherever the user says.
	mustRun(t, dir, "sql", "SELECT 2 AS b, 1 AS a", "--format", "csv", "--out", "o.csv")
	b, err := os.ReadFile(filepath.Join(dir, "o.csv"))
	require.NoError(t, err)
	require.Equal(t, "b,a\n2,1\n", string(b))

	t.Run("the sandbox refuses every attack and changes nothing", func(t *testing.T) {
		mustRun(t, dir, "build") // a second build makes the .prev file
		wh := filepath.Join(dir, "data", "crmwh.duckdb")
		prev := wh + ".prev"
		before := fileSums(t, wh, prev)
		for _, c := range []struct{ q, want string }{
			{"COPY (SELECT 42) TO 'data/crmwh.duckdb'", "COPY is not a query"},
			{"COPY (SELECT 42) TO 'data/crmwh.duckdb' (USE_TMP_FILE false)", "COPY is not a query"},
			{"COPY (SELECT 42) TO 'data/lake/raw/x.csv'", "COPY is not a query"},
			{"EXPORT DATABASE 'exported'", "EXPORT is not a query"},
			{"ATTACH 'data/crmwh.duckdb.prev' AS p (READ_WRITE)", "ATTACH is not a query"},
			{"ATTACH 'data/crmwh.duckdb.prev' AS p (READ_WRITE); DROP TABLE p.mart_kpi_monthly", "ATTACH is not a query"},
			{"INSTALL httpfs", "INSTALL is not a query"},
			{"LOAD httpfs", "LOAD is not a query"},
			{"SET threads = 1", "SET is not a query"},
			{"SET enable_external_access = true", "SET is not a query"},
			{"PRAGMA threads = 1", "PRAGMA is not a query"},
			{"CALL pragma_version()", "CALL is not a query"},
			{"SELECT 1; SELECT 2", "2 statements"},
			{"SELECT 1; DROP TABLE mart_kpi_monthly", "DROP is not a query"},
			{"SELECT * FROM read_csv('/etc/passwd')", "Permission Error"},
			{"SELECT * FROM read_text('/etc/passwd')", "Permission Error"},
			{"SELECT * FROM glob('/etc/*')", "Permission Error"},
			{"SELECT * FROM read_csv('q.sql')", "Permission Error"},
			{"SELECT * FROM read_blob('data/crmwh.duckdb.prev')", "Permission Error"},
			{"SELECT * FROM read_text('data/lake/../crmwh.duckdb.prev')", "Permission Error"},
			{"SELECT * FROM query('COPY (SELECT 1) TO ''pwned.csv''')", "Expected a single SELECT"},
		} {
			r := crmwh(t, dir, "sql", c.q)
			require.Equal(t, 1, r.code, "%s: %s", c.q, r.stdout)
			require.Contains(t, r.stderr, c.want, c.q)
			if c.want != "Expected a single SELECT" {
				require.Contains(t, r.stderr, "crmwh: not allowed in read-only SQL: ", c.q)
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
			}
		}
		require.Equal(t, before, fileSums(t, wh, prev), "the published warehouse and .prev are unchanged")
		require.NoDirExists(t, filepath.Join(dir, "exported"))
		require.NoFileExists(t, filepath.Join(dir, "data", "lake", "raw", "x.csv"))
		require.NoFileExists(t, filepath.Join(dir, "pwned.csv"))
		out := mustRun(t, dir, "build", "--rollback")
		require.Contains(t, out, "restored the previous warehouse")
		mustRun(t, dir, "sql", "SELECT count(*) FROM mart_kpi_monthly")

		// What it may read: the warehouse, and the lake's files.
		lakeFile := filepath.Join(dir, "data", "lake", "_manifest", "billing", "orders.json")
		out = mustRun(t, dir, "sql", "SELECT json_extract_string(content, '$.stream') AS s FROM read_text('"+lakeFile+"')")
		require.Contains(t, out, "orders")
	})

	t.Run("sql --lake reads what was extracted since the last build", func(t *testing.T) {
		count := "SELECT count(*) AS n FROM raw.billing_orders"
		inWarehouse := mustRun(t, dir, "sql", count, "--format", "csv")
		require.Equal(t, inWarehouse, mustRun(t, dir, "sql", "--lake", count, "--format", "csv"))
		// A new export with one order arrives and is extracted.
		files, err := filepath.Glob(filepath.Join(dir, "data", "demo", "billing", "orders", "orders_*.csv"))
		require.NoError(t, err)
		lines := strings.SplitN(string(must(os.ReadFile(files[0]))), "\n", 3)
		fields := strings.Split(lines[1], ",")
		fields[0] = "SO-LATE-1"
		require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "demo", "billing", "orders", "orders_29991231.csv"),
			[]byte(lines[0]+"\n"+strings.Join(fields, ",")+"\n"), 0o644))
		mustRun(t, dir, "extract")
		require.Equal(t, inWarehouse, mustRun(t, dir, "sql", count, "--format", "csv"), "not built yet")
		var before, after int
		fmt.Sscanf(strings.TrimPrefix(inWarehouse, "n\n"), "%d", &before)
		fmt.Sscanf(strings.TrimPrefix(mustRun(t, dir, "sql", "--lake", count, "--format", "csv"), "n\n"), "%d", &after)
		require.Equal(t, before+1, after)
		require.Equal(t, "order_id\nSO-LATE-1\n", mustRun(t, dir, "sql", "--lake", "SELECT order_id FROM raw.billing_orders WHERE order_id LIKE 'SO-LATE%'", "--format", "csv"))
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// fileSums returns the SHA-256 of each file.
func fileSums(t *testing.T, paths ...string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out = append(out, fmt.Sprintf("%x", sha256.Sum256(b)))
	}
	return out
}

// ---- the independent computation, straight from the demo's files ----

// rawOrder is one order row of a billing export.
type rawOrder struct {
	id, customerNo, status, original string
	at                               time.Time
	net                              int64 // fen
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// readOrders parses every billing order file with encoding/csv (not
// crmwh's reader), skipping the rows the generator says it broke.
func readOrders(t *testing.T, demo string) []rawOrder {
	t.Helper()
	var out []rawOrder
	for _, b := range billingRecords(t, demo, "orders/orders_*.csv", "legacy/orders_*.csv") {
		r := b.fields
		o := rawOrder{id: r[0], customerNo: r[1], original: r[12]}
		o.status = map[string]string{"已支付": "paid", "已取消": "cancelled", "退款": "refund"}[r[6]]
		var err error
		if !b.legacy {
			o.status = r[6]
			o.at, err = time.Parse(time.RFC3339, r[5])
		} else {
			o.at, err = time.ParseInLocation("2006年1月2日 15:04:05", r[5], shanghai)
		}
		require.NoError(t, err)
		o.net = fen(t, r[11])
		out = append(out, o)
	}
	return out
}

// billingRecord is a well-formed row of a billing file.
type billingRecord struct {
	legacy bool
	fields []string
}

// billingRecords parses the billing files matching the modern and legacy
// globs (under billing/) with encoding/csv, the legacy ones decoded from
// GB18030, skipping the rows the generator says it broke.
func billingRecords(t *testing.T, demo, modern, legacy string) []billingRecord {
	t.Helper()
	bad := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "malformed_rows.csv"), false)[1:] {
		bad[r[0]+":"+r[1]] = true
	}
	var out []billingRecord
	for _, gb := range []bool{false, true} {
		pattern := map[bool]string{false: modern, true: legacy}[gb]
		files, err := filepath.Glob(filepath.Join(demo, "billing", pattern))
		require.NoError(t, err)
		for _, f := range files {
			rel, _ := filepath.Rel(demo, f)
			for i, line := range readLines(t, f, gb)[1:] {
				if bad[filepath.ToSlash(rel)+":"+fmt.Sprint(i+2)] || line == "" {
					continue
				}
				r, err := csv.NewReader(strings.NewReader(line)).Read()
				require.NoError(t, err, "%s line %d", rel, i+2)
				out = append(out, billingRecord{gb, r})
			}
		}
	}
	return out
}

func readLines(t *testing.T, path string, gb bool) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if gb {
		b, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		require.NoError(t, err)
	}
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
}

func readCSV(t *testing.T, path string, gb bool) [][]string {
	t.Helper()
	var r io.Reader
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if gb {
		b, err = simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		require.NoError(t, err)
	}
	r = bytes.NewReader(b)
	rows, err := csv.NewReader(r).ReadAll()
	require.NoError(t, err)
	return rows
}

// fen parses "1,234.50" into 123450.
func fen(t *testing.T, s string) int64 {
	t.Helper()
	r, ok := new(big.Rat).SetString(strings.ReplaceAll(s, ",", ""))
	require.True(t, ok, s)
	r.Mul(r, big.NewRat(100, 1))
	require.True(t, r.IsInt(), s)
	return r.Num().Int64()
}

func money(f int64) string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	return fmt.Sprintf("%s%d.%02d", sign, f/100, f%100)
}

// rawMonthlyKPIs computes mart_kpi_monthly's definition (docs: paid orders
// and revenue by order month in Shanghai time, refunds by refund month,
// customers counted as real people) from the raw files and the generator's
// truth about who is who.
func rawMonthlyKPIs(t *testing.T, demo string) [][]string {
	t.Helper()
	person := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "people.csv"), false)[1:] {
		for _, no := range strings.Split(r[2], ";") {
			if no != "" {
				person[no] = r[0]
			}
		}
	}
	type kpi struct {
		orders, cancelled, gross, refunds int64
		active                            map[string]bool
		newc                              int64
	}
	months := map[string]*kpi{}
	get := func(m string) *kpi {
		if months[m] == nil {
			months[m] = &kpi{active: map[string]bool{}}
		}
		return months[m]
	}
	first := map[string]string{}
	seen := map[string]bool{}
	for _, o := range readOrders(t, demo) {
		require.False(t, seen[o.id], "order %s twice", o.id)
		seen[o.id] = true
		m := o.at.In(shanghai).Format("2006-01")
		k := get(m)
		switch o.status {
		case "paid":
			p, ok := person[o.customerNo]
			require.True(t, ok, "billing number %s belongs to nobody", o.customerNo)
			k.orders++
			k.gross += o.net
			k.active[p] = true
			if f, ok := first[p]; !ok || m < f {
				first[p] = m
			}
		case "cancelled":
			k.cancelled++
		case "refund":
			k.refunds -= o.net
		default:
			t.Fatalf("order %s has status %q", o.id, o.status)
		}
	}
	for _, m := range first {
		get(m).newc++
	}
	var keys []string
	for m := range months {
		keys = append(keys, m)
	}
	sort.Strings(keys)
	var out [][]string
	for _, m := range keys {
		k := months[m]
		out = append(out, []string{m, fmt.Sprint(k.orders), fmt.Sprint(k.cancelled), money(k.gross), money(k.refunds),
			money(k.gross - k.refunds), fmt.Sprint(len(k.active)), fmt.Sprint(k.newc)})
	}
	return out
}

// firstLegacyOrder returns the first order of the first legacy file, its
// city and customer name, decoded here from GB18030.
func firstLegacyOrder(t *testing.T, demo string) (id, city, name string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(demo, "billing/legacy/orders_*.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rows := readCSV(t, f, true)
		if len(rows) > 1 {
			require.Equal(t, "订单号", rows[0][0])
			return rows[1][0], rows[1][7], rows[1][2]
		}
	}
	t.Fatal("no legacy orders")
	return
}

// malformedOrderRows lists the generator's broken order rows as file, line.
func malformedOrderRows(t *testing.T, demo string) [][]string {
	t.Helper()
	var out [][]string
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "malformed_rows.csv"), false)[1:] {
		if strings.Contains(r[0], "/orders_") {
			out = append(out, []string{"data/demo/" + r[0], r[1]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0] < out[j][0]
		}
		return len(out[i][1]) < len(out[j][1]) || len(out[i][1]) == len(out[j][1]) && out[i][1] < out[j][1]
	})
	return out
}

type cohortsAndPareto struct {
	cohorts         [][]string
	paretoCustomers map[int]int64
	paretoRevenue   map[int]int64
}

// rawCohortsAndPareto computes mart_cohort_retention's counts and revenue
// and mart_pareto's top shares from the raw billing files: an order's net
// revenue is its paid amount less the refunds that point at it, booked in
// the order's month (Asia/Shanghai); customers are the generator's people.
func rawCohortsAndPareto(t *testing.T, demo string) cohortsAndPareto {
	t.Helper()
	person := map[string]string{}
	for _, r := range readCSV(t, filepath.Join(demo, "truth", "people.csv"), false)[1:] {
		for _, no := range strings.Split(r[2], ";") {
			if no != "" {
				person[no] = r[0]
			}
		}
	}
	type order struct {
		person, month string
		net           int64
	}
	orders := readOrders(t, demo)
	paid := map[string]*order{}
	for _, o := range orders {
		if o.status == "paid" {
			paid[o.id] = &order{person[o.customerNo], o.at.In(shanghai).Format("2006-01"), o.net}
		}
	}
	for _, o := range orders {
		if p, ok := paid[o.original]; ok && o.status == "refund" {
			p.net += o.net // refunds are negative
		}
	}
	first := map[string]string{}
	last := ""
	for _, o := range paid {
		if f, ok := first[o.person]; !ok || o.month < f {
			first[o.person] = o.month
		}
		if o.month > last {
			last = o.month
		}
	}
	type cell struct{ cohort, month string }
	active := map[cell]map[string]bool{}
	revenue := map[cell]int64{}
	perPerson := map[string]int64{}
	size := map[string]int64{}
	for _, c := range first {
		size[c]++
	}
	for _, o := range paid {
		k := cell{first[o.person], o.month}
		if active[k] == nil {
			active[k] = map[string]bool{}
		}
		active[k][o.person] = true
		revenue[k] += o.net
		perPerson[o.person] += o.net
	}
	var out cohortsAndPareto
	var cohorts []string
	for c := range size {
		cohorts = append(cohorts, c)
	}
	sort.Strings(cohorts)
	for _, c := range cohorts {
		start, _ := time.Parse("2006-01", c)
		for k := 0; ; k++ {
			m := start.AddDate(0, k, 0).Format("2006-01")
			if m > last {
				break
			}
			key := cell{c, m}
			out.cohorts = append(out.cohorts, []string{c, fmt.Sprint(k), fmt.Sprint(size[c]), fmt.Sprint(len(active[key])), money(revenue[key])})
		}
	}
	revs := make([]int64, 0, len(perPerson))
	for _, v := range perPerson {
		revs = append(revs, v)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] > revs[j] })
	out.paretoCustomers, out.paretoRevenue = map[int]int64{}, map[int]int64{}
	for _, pct := range []int{1, 5, 20, 50, 80, 100} {
		n := (len(revs)*pct + 99) / 100
		var sum int64
		for _, v := range revs[:n] {
			sum += v
		}
		out.paretoCustomers[pct], out.paretoRevenue[pct] = int64(n), sum
	}
	return out
}
