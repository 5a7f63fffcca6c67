package demo_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"crmwh/pipelines/demo"
)

func TestValidateNamesTheFlag(t *testing.T) {
	cases := []struct {
		name string
		edit func(*demo.Options)
		want string
	}{
		{"no customers", func(o *demo.Options) { o.Customers = 0 }, "--customers must be at least 1"},
		{"no years", func(o *demo.Options) { o.Years = 0 }, "--years"},
		{"no end", func(o *demo.Options) { o.End = time.Time{} }, "--end"},
		{"no out", func(o *demo.Options) { o.Out = "" }, "--out"},
		{"negative rate", func(o *demo.Options) { o.CRMDupRate = -0.1 }, "--crm-dup-rate must be between 0 and 1"},
		{"rate above one", func(o *demo.Options) { o.UTCRate = 1.5 }, "--utc-rate"},
		{"both identifiers bad", func(o *demo.Options) { o.BadEmailRate, o.BadPhoneRate = 0.6, 0.6 }, "--bad-email-rate plus --bad-phone-rate"},
		{"bad params", func(o *demo.Options) { o.Params.Alpha = 0 }, "alpha must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := demo.DefaultOptions()
			c.edit(&o)
			err := o.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
	require.NoError(t, demo.DefaultOptions().Validate())
}

func TestSameSeedSameBytes(t *testing.T) {
	o := demo.DefaultOptions()
	o.Customers = 2000
	s1, dir1 := generate(t, o)
	s2, dir2 := generate(t, o)
	s1.Out, s2.Out, s1.Duration, s2.Duration = "", "", 0, 0
	require.Equal(t, s1, s2)

	files := func(dir string) map[string][]byte {
		m := map[string][]byte{}
		require.NoError(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			require.NoError(t, err)
			if !e.IsDir() {
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				rel, _ := filepath.Rel(dir, p)
				m[rel] = b
			}
			return nil
		}))
		return m
	}
	f1, f2 := files(dir1), files(dir2)
	require.Len(t, f1, s1.Files)
	require.Equal(t, len(f1), len(f2))
	for name, b := range f1 {
		require.True(t, bytes.Equal(b, f2[name]), "%s differs between runs", name)
	}

	o.Seed = 2
	_, dir3 := generate(t, o)
	b1, err := os.ReadFile(filepath.Join(dir1, "truth", "people.csv"))
	require.NoError(t, err)
	b3, err := os.ReadFile(filepath.Join(dir3, "truth", "people.csv"))
	require.NoError(t, err)
	require.NotEqual(t, b1, b3, "another seed must give other data")
}

func TestCancelledRunLeavesNothing(t *testing.T) {
	o := demo.DefaultOptions()
	o.Customers = 50000
	parent := t.TempDir()
	o.Out = filepath.Join(parent, "demo")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := demo.Generate(ctx, o, func(p demo.Progress) {
		calls++
		if p.Done > 5000 {
			cancel()
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Positive(t, calls)
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, entries, "a cancelled run must leave no folder behind")
}

func TestRerunReplacesDatasetAndKeepsOtherFiles(t *testing.T) {
	o := demo.DefaultOptions()
	o.Customers, o.Years = 300, 2
	o.Out = filepath.Join(t.TempDir(), "demo")
	_, err := demo.Generate(context.Background(), o, nil)
	require.NoError(t, err)
	note := filepath.Join(o.Out, "NOTES.txt")
	require.NoError(t, os.WriteFile(note, []byte("mine"), 0o644))
	stale := filepath.Join(o.Out, "billing", "orders", "orders_20200101.csv")
	require.NoError(t, os.WriteFile(stale, []byte("old"), 0o644))

	o.Years = 1
	sum, err := demo.Generate(context.Background(), o, nil)
	require.NoError(t, err)
	b, err := os.ReadFile(note)
	require.NoError(t, err)
	require.Equal(t, "mine", string(b))
	require.NoFileExists(t, stale)
	orders, err := filepath.Glob(filepath.Join(o.Out, "billing", "*", "orders_*.csv"))
	require.NoError(t, err)
	require.Len(t, orders, 365, "the files of the longer previous run are gone")
	entries, err := os.ReadDir(filepath.Dir(o.Out))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary folders left beside --out")
	require.Equal(t, 365, int(sum.End.Sub(sum.Start).Hours()/24)+1)
}

func TestRefusesToReplaceTheCurrentFolder(t *testing.T) {
	o := demo.DefaultOptions()
	o.Customers = 10
	for _, out := range []string{".", ".."} {
		o.Out = out
		_, err := demo.Generate(context.Background(), o, nil)
		require.ErrorContains(t, err, "--out")
	}
}

// TestFiles checks the files against docs/demo-data.md, with more dirt than
// the defaults so that every kind shows up.
func TestFiles(t *testing.T) {
	o := demo.DefaultOptions()
	o.Customers = 4000
	o.BadRowRate = 0.01
	o.LegacyShare = 0.3
	o.CRMDupRate, o.BillingDupRate = 0.1, 0.1
	sum, dir := generate(t, o)
	d := openDataset(t, dir)

	var params struct {
		Start, End string
		LegacyDays int `json:"legacy_days"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth", "params.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &params))
	require.Equal(t, "2024-11-01", params.Start)
	require.Equal(t, "2026-10-31", params.End)
	require.Equal(t, sum.LegacyDays, params.LegacyDays)

	t.Run("every day is exported by exactly one system", func(t *testing.T) {
		days := 0
		for day := sum.Start; !day.After(sum.End); day = day.AddDate(0, 0, 1) {
			days++
			ymd := day.Format("20060102")
			modern := fileExists(filepath.Join(dir, "billing", "orders", "orders_"+ymd+".csv"))
			legacy := fileExists(filepath.Join(dir, "billing", "legacy", "orders_"+ymd+".csv"))
			require.True(t, modern != legacy, ymd)
			if modern {
				require.FileExists(t, filepath.Join(dir, "billing", "order_lines", "order_lines_"+ymd+".csv"))
			} else {
				require.FileExists(t, filepath.Join(dir, "billing", "legacy", "order_lines_"+ymd+".csv"))
			}
		}
		require.Equal(t, 730, days)
		require.Len(t, d.files(t, "billing/legacy/orders_*.csv"), sum.LegacyDays)
		require.Len(t, d.files(t, "surveys/survey_*.csv"), 24)
	})

	t.Run("legacy files are GB18030 with Chinese text", func(t *testing.T) {
		files := d.files(t, "billing/legacy/*.csv")
		require.NotEmpty(t, files)
		seen := map[string]bool{}
		for _, rel := range files {
			raw, err := os.ReadFile(filepath.Join(dir, rel))
			require.NoError(t, err)
			require.False(t, utf8.Valid(raw), "%s must not be valid UTF-8", rel)
			ls := d.lines(t, rel)
			if strings.Contains(rel, "order_lines_") {
				require.Equal(t, "订单号,行号,商品编码,商品名称,品类,数量,单价,折扣金额,行金额", ls[0])
			} else {
				require.Equal(t, "订单号,客户编号,客户名称,邮箱,电话,下单时间,状态,城市,币种,总金额,折扣金额,实付金额,原订单号", ls[0])
			}
			for _, l := range ls[1:] {
				for _, w := range []string{"已支付", "已取消", "退款", "年", "茶", "上海", `"1,`} {
					if strings.Contains(l, w) {
						seen[w] = true
					}
				}
			}
		}
		for _, w := range []string{"已支付", "已取消", "退款", "年", "茶", "上海", `"1,`} {
			require.True(t, seen[w], "no legacy row contains %q", w)
		}
	})

	// Read every billing row, checking the malformed ones on the way.
	type order struct {
		time                          time.Time
		status, customer, original    string
		gross, discount, net          int64
		lineGross, lineDiscount, line int64
		lines                         int
	}
	orders := map[string]*order{}
	var paid, cancelled, refunds, lines, malformed int64
	utc := 0
	for _, rel := range append(d.files(t, "billing/orders/*.csv"), d.files(t, "billing/legacy/orders_*.csv")...) {
		legacy := isLegacy(rel)
		for _, r := range d.rows(t, rel, true) {
			f := r.fields
			o := &order{status: statusWords[f[6]], customer: f[1], original: f[12]}
			require.NotEmpty(t, o.status, "%s:%d status %q", rel, r.line, f[6])
			o.time, _ = parseTime(f[5], legacy)
			if strings.HasSuffix(f[5], "Z") {
				utc++
			}
			if day := strings.TrimSuffix(filepath.Base(rel), ".csv")[len("orders_"):]; day != o.time.In(shanghai).Format("20060102") {
				t.Fatalf("%s:%d: an order of %s is in the file of another day", rel, r.line, f[5])
			}
			o.gross, _ = parseAmount(f[9], legacy)
			o.discount, _ = parseAmount(f[10], legacy)
			o.net, _ = parseAmount(f[11], legacy)
			if o.gross-o.discount != o.net {
				t.Fatalf("%s:%d: net %d is not gross %d - discount %d", rel, r.line, o.net, o.gross, o.discount)
			}
			if _, dup := orders[f[0]]; dup {
				t.Fatalf("%s:%d: order id %s is not unique", rel, r.line, f[0])
			}
			orders[f[0]] = o
			switch o.status {
			case "paid":
				paid++
				require.Positive(t, o.net)
				require.Empty(t, o.original)
			case "cancelled":
				cancelled++
				require.Positive(t, o.net)
			case "refund":
				refunds++
				require.Negative(t, o.net)
				require.NotEmpty(t, o.original)
			}
		}
	}
	for _, rel := range append(d.files(t, "billing/order_lines/*.csv"), d.files(t, "billing/legacy/order_lines_*.csv")...) {
		legacy := isLegacy(rel)
		for _, r := range d.rows(t, rel, false) {
			f := r.fields
			o := orders[f[0]]
			if o == nil {
				t.Fatalf("%s:%d: line of an unknown order %s", rel, r.line, f[0])
			}
			unit, _ := parseAmount(f[6], legacy)
			disc, _ := parseAmount(f[7], legacy)
			amount, _ := parseAmount(f[8], legacy)
			qty, err := strconv.ParseInt(f[5], 10, 64)
			require.NoError(t, err)
			if qty*unit-disc != amount {
				t.Fatalf("%s:%d: line amount %d is not %d × %d - %d", rel, r.line, amount, qty, unit, disc)
			}
			o.lineGross += qty * unit
			o.lineDiscount += disc
			o.line += amount
			o.lines++
			lines++
		}
	}
	for _, files := range d.malformed {
		malformed += int64(len(files))
	}

	t.Run("counts match the summary", func(t *testing.T) {
		require.Equal(t, sum.Orders, paid)
		require.Equal(t, sum.Cancelled, cancelled)
		require.Equal(t, sum.Refunds, refunds)
		require.Equal(t, sum.OrderLines, lines)
		require.Equal(t, sum.MalformedRows, malformed)
		require.Positive(t, cancelled)
		require.Positive(t, refunds)
		// Dirt at about the flag rates.
		all := float64(paid + cancelled + refunds + lines + malformed)
		require.InDelta(t, o.BadRowRate, float64(malformed)/all, 0.003)
		require.InDelta(t, o.CancelRate, float64(cancelled)/float64(paid), 0.01)
		require.InDelta(t, o.RefundRate, float64(refunds)/float64(paid), 0.01)
		modern := float64(0)
		for _, rel := range d.files(t, "billing/orders/*.csv") {
			modern += float64(len(d.lines(t, rel)) - 1)
		}
		require.InDelta(t, o.UTCRate, float64(utc)/modern, 0.02)
	})

	t.Run("malformed rows exist at the stated lines", func(t *testing.T) {
		reasons := map[string]int{}
		for rel, byLine := range d.malformed {
			ls := d.lines(t, rel)
			for line, reason := range byLine {
				require.Less(t, line-1, len(ls), "%s has no line %d", rel, line)
				_, got := checkLine(ls[line-1], map[bool]int{true: 13, false: 9}[!strings.Contains(rel, "order_lines")], !strings.Contains(rel, "order_lines"), isLegacy(rel))
				require.Equal(t, reason, got, "%s:%d", rel, line)
				reasons[reason]++
			}
		}
		for _, r := range []string{"wrong field count", "unbalanced quote", "bad amount", "bad date"} {
			require.Positive(t, reasons[r], "no malformed row of kind %q", r)
		}
	})

	t.Run("lines add up to their orders", func(t *testing.T) {
		for id, o := range orders {
			require.Positive(t, o.lines, "order %s has no lines", id)
			require.Equal(t, o.gross, o.lineGross, id)
			require.Equal(t, o.discount, o.lineDiscount, id)
			require.Equal(t, o.net, o.line, id)
		}
	})

	t.Run("refunds point at earlier paid orders of the same customer", func(t *testing.T) {
		for id, o := range orders {
			if o.status != "refund" {
				continue
			}
			orig := orders[o.original]
			require.NotNil(t, orig, "refund %s points at a missing order %s", id, o.original)
			require.Equal(t, "paid", orig.status)
			require.Equal(t, orig.customer, o.customer)
			require.LessOrEqual(t, -o.net, orig.net)
			require.False(t, o.time.Before(orig.time))
		}
	})

	db, err := sql.Open("sqlite", filepath.Join(dir, "crm.sqlite"))
	require.NoError(t, err)
	defer db.Close()

	t.Run("the CRM database has the documented tables", func(t *testing.T) {
		rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
		require.NoError(t, err)
		var tables []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			tables = append(tables, n)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{"account_managers", "campaign_responses", "campaigns", "customers", "interactions", "memberships", "opportunities", "tickets"}, tables)

		count := func(q string) int64 {
			var n int64
			require.NoError(t, db.QueryRow(q).Scan(&n), q)
			return n
		}
		require.Equal(t, int64(sum.Customers), count(`SELECT count(*) FROM customers`))
		require.Equal(t, int64(sum.People+sum.DuplicateCustomers), count(`SELECT count(*) FROM customers`))
		require.Equal(t, int64(sum.Prospects), count(`SELECT count(*) FROM customers WHERE status = 'prospect' AND customer_id <= 'C0004000'`))
		require.Equal(t, sum.Interactions, count(`SELECT count(*) FROM interactions`))
		require.Equal(t, sum.Tickets, count(`SELECT count(*) FROM tickets`))
		require.Equal(t, sum.Complaints, count(`SELECT count(*) FROM tickets WHERE category = 'complaint'`))
		require.Equal(t, sum.Opportunities, count(`SELECT count(*) FROM opportunities`))
		require.Equal(t, sum.CampaignResponses, count(`SELECT count(*) FROM campaign_responses`))
		require.Zero(t, count(`SELECT count(*) FROM interactions WHERE customer_id NOT IN (SELECT customer_id FROM customers)`))
		require.Zero(t, count(`SELECT count(*) FROM tickets WHERE customer_id NOT IN (SELECT customer_id FROM customers)`))
		require.Zero(t, count(`SELECT count(*) FROM campaign_responses WHERE campaign_id NOT IN (SELECT campaign_id FROM campaigns)`))
		require.Zero(t, count(`SELECT count(*) FROM customers WHERE account_manager_id NOT IN (SELECT manager_id FROM account_managers)`))
		require.Zero(t, count(`SELECT count(*) FROM tickets WHERE satisfaction NOT BETWEEN 1 AND 5`))
		require.Zero(t, count(`SELECT count(*) FROM tickets WHERE resolved_at < opened_at OR (status = 'open') <> (resolved_at IS NULL)`))
		require.Zero(t, count(`SELECT count(*) FROM customers WHERE created_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'`))
		// Complaints are rated lower than other tickets.
		var complaint, other float64
		require.NoError(t, db.QueryRow(`SELECT avg(satisfaction) FROM tickets WHERE category = 'complaint'`).Scan(&complaint))
		require.NoError(t, db.QueryRow(`SELECT avg(satisfaction) FROM tickets WHERE category <> 'complaint'`).Scan(&other))
		require.Less(t, complaint+1, other)
		// Customer ids increase with acquisition time.
		require.Zero(t, count(`SELECT count(*) FROM (
			SELECT created_at, lag(created_at) OVER (ORDER BY customer_id) AS prev FROM customers WHERE customer_id <= 'C0004000'
		) WHERE created_at < prev`))
	})

	t.Run("identities resolve through e-mail and phone", func(t *testing.T) {
		type contact struct{ email, phone string }
		crm := map[string]contact{}
		rows, err := db.Query(`SELECT customer_id, coalesce(email, ''), coalesce(phone, '') FROM customers`)
		require.NoError(t, err)
		for rows.Next() {
			var id string
			var c contact
			require.NoError(t, rows.Scan(&id, &c.email, &c.phone))
			crm[id] = c
		}
		require.NoError(t, rows.Err())

		billing := map[string]contact{}
		for _, rel := range append(d.files(t, "billing/orders/*.csv"), d.files(t, "billing/legacy/orders_*.csv")...) {
			for _, r := range d.rows(t, rel, true) {
				c := contact{r.fields[3], r.fields[4]}
				if prev, ok := billing[r.fields[1]]; ok {
					require.Equal(t, prev, c, "billing customer %s changes contact details", r.fields[1])
				}
				billing[r.fields[1]] = c
			}
		}

		owner := map[string]string{} // normalised identifier -> person
		claim := func(person, kind, v string) {
			if prev, ok := owner[kind+v]; ok {
				require.Equal(t, prev, person, "%s %s is shared by two people", kind, v)
			}
			owner[kind+v] = person
		}
		ids := func(c contact) []string {
			var out []string
			if e, ok := normEmail(c.email); ok {
				out = append(out, "email:"+e)
			}
			if p, ok := normPhone(c.phone); ok {
				out = append(out, "phone:"+p)
			}
			return out
		}
		var records, badEmail, badPhone int
		people := readCSV(t, filepath.Join(dir, "truth", "people.csv"))
		require.Len(t, people, sum.People+1)
		for _, p := range people[1:] {
			crmIDs := strings.Split(p[1], ";")
			primary := ids(crm[crmIDs[0]])
			require.NotEmpty(t, primary, "person %s has no usable identifier", p[0])
			var others []contact
			for _, id := range crmIDs[1:] {
				others = append(others, crm[id])
			}
			if p[2] != "" {
				for _, no := range strings.Split(p[2], ";") {
					c, ok := billing[no]
					require.True(t, ok, "billing customer %s of %s has no orders", no, p[0])
					others = append(others, c)
				}
			}
			for _, c := range append(others, crm[crmIDs[0]]) {
				records++
				if _, ok := normEmail(c.email); !ok {
					badEmail++
				}
				if _, ok := normPhone(c.phone); !ok {
					badPhone++
				}
			}
			for _, c := range others {
				shared := false
				for _, id := range ids(c) {
					for _, pid := range primary {
						shared = shared || id == pid
					}
				}
				require.True(t, shared, "a record of %s (%+v) shares nothing with the primary record %+v", p[0], c, crm[crmIDs[0]])
			}
			for _, c := range append(others, crm[crmIDs[0]]) {
				for _, id := range ids(c) {
					claim(p[0], "", id)
				}
			}
		}
		require.InDelta(t, o.BadEmailRate, float64(badEmail)/float64(records), 0.01)
		require.InDelta(t, o.BadPhoneRate, float64(badPhone)/float64(records), 0.01)

		// Survey answers name someone through e-mail or phone.
		var answers int
		for _, rel := range d.files(t, "surveys/survey_*.csv") {
			recs := readCSV(t, filepath.Join(dir, rel))
			require.Equal(t, []string{"response_id", "submitted_at", "email", "phone", "nps", "satisfaction", "comment"}, recs[0])
			for _, r := range recs[1:] {
				answers++
				found := false
				for _, id := range ids(contact{r[2], r[3]}) {
					_, ok := owner[id]
					found = found || ok
				}
				require.True(t, found, "%s: survey answer %s names nobody", rel, r[0])
			}
		}
		require.Equal(t, sum.SurveyResponses, int64(answers))
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}
