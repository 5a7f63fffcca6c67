package onboard_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	_ "crmwh/pipelines/sources/all"
	"crmwh/project"
	"crmwh/project/onboard"
)

// propose writes files into a temporary folder, proposes a project from
// them (inputs are entity=spec, specs relative to the folder) and checks
// that the config loads.
func propose(t *testing.T, files map[string][]byte, inputs ...string) *onboard.Result {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	t.Chdir(dir)
	var ins []onboard.Input
	for _, s := range inputs {
		entity, spec, _ := strings.Cut(s, "=")
		in, err := onboard.ParseInput(entity, spec)
		require.NoError(t, err)
		ins = append(ins, in)
	}
	res, err := onboard.Propose(context.Background(), onboard.Options{Dir: dir, Timezone: "Asia/Shanghai", Inputs: ins,
		Now: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	if len(res.Missing) == 0 {
		_, err := project.ParseConfig("crmwh.yaml", res.Config)
		require.NoError(t, err, string(res.Config))
	}
	return res
}

func fields(t *testing.T, r *onboard.Result, entity string) map[string]string {
	t.Helper()
	for _, e := range r.Entities {
		if e.Entity == entity {
			return e.Fields
		}
	}
	t.Fatalf("no entity %s in %+v", entity, r.Entities)
	return nil
}

func gb18030(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

func TestAChineseGB18030ExportIsReadAndMapped(t *testing.T) {
	text := "订单号,客户编号,客户名称,下单时间,金额,状态\r\n" +
		"D001,K01,张伟,2024年3月5日 14:03:05,\"1,234.50\",已支付\r\n" +
		"D002,K02,李娜,2024年3月6日 09:00:00,88.00,已取消\r\n" +
		"D003,K01,张伟,2024年3月7日 20:15:00,-88.00,退款\r\n" +
		"D004,K03,王芳,2024年3月31日 23:59:59,12.30,已支付\r\n"
	r := propose(t, map[string][]byte{"legacy.csv": gb18030(t, text)}, "orders=legacy.csv")
	cfg := string(r.Config)
	for _, want := range []string{
		"encoding: gb18030", "timezone: Asia/Shanghai",
		"{name: order_id, header: 订单号, type: string}",
		"{name: customer_id, header: 客户编号, type: string}",
		`{name: ordered_at, header: 下单时间, type: timestamp, format: "2006年1月2日 15:04:05"}`,
		`{name: amount, header: 金额, type: "decimal(18,2)"}`,
	} {
		require.Contains(t, cfg, want)
	}
	require.Equal(t, map[string]string{
		"order_id": "order_id", "customer_id": "customer_id", "ordered_at": "ordered_at", "amount": "amount",
		"customer_name": "customer_name",
		"status":        "CASE lower(trim(status)) WHEN '已取消' THEN 'cancelled' WHEN '已支付' THEN 'paid' WHEN '退款' THEN 'refund' ELSE 'paid' END",
	}, fields(t, r, "orders"))
	require.Equal(t, &onboard.Preview{Orders: 4, Customers: 3, Amount: "1246.80", First: "2024-03-05", Last: "2024-03-31"}, r.Preview)
}

func TestDelimitersDatesAndNumbersAreSniffed(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string
	}{
		{"semicolon, day first, decimal comma", "Bestellnummer;Kunde;Datum;Betrag\n1001;K-1;05.03.2024;12,50\n1002;K-2;13.03.2024;1.234,00\n",
			[]string{`delimiter: ";"`, `{name: Datum, type: date, format: "2.1.2006"}`, "{name: Betrag, type: string}",
				`amount: "TRY_CAST(replace(replace(trim(Betrag), '.', ''), ',', '.') AS DECIMAL(18,2))"`, "order_id: Bestellnummer"}},
		{"tab, day and month ambiguous", "order_no\tcustomer\tdate\ttotal\nA1\tC1\t3/4/2024\t10\nA2\tC2\t4/3/2024\t20.5\n",
			[]string{"delimiter: tab", `{name: date, type: date, format: "1/2/2006"}`, `if days come first, use format "2/1/2006"`,
				`{name: total, type: "decimal(18,2)"}`}},
		{"pipe, ISO times with offsets, thousands", "id|customer_id|created_at|amount\n1|7|2024-03-05T10:00:00+01:00|\"1,000.5\"\n2|8|2024-03-05 11:00:00Z|3\n",
			[]string{`delimiter: "|"`, "{name: created_at, type: timestamp}", "{name: customer_id, type: string}", "order_id: id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := propose(t, map[string][]byte{"in.csv": []byte(c.text)}, "orders=in.csv")
			for _, w := range c.want {
				require.Contains(t, string(r.Config), w)
			}
			require.NotNil(t, r.Preview)
			require.Equal(t, int64(2), r.Preview.Orders)
		})
	}
}

func TestTimesWithoutOffsetAreReadInTheProjectsZone(t *testing.T) {
	r := propose(t, map[string][]byte{"o.csv": []byte("order_id,customer_id,order_time,amount\n1,a,2024-03-31 23:30:00,5.00\n")}, "orders=o.csv")
	require.Contains(t, string(r.Config), "timezone: Asia/Shanghai\n        columns:")
	require.Equal(t, "2024-03-31", r.Preview.First, "the order's day in the project's zone")
	r = propose(t, map[string][]byte{"o.csv": []byte("order_id,customer_id,order_time,amount\n1,a,2024-03-31T23:30:00Z,5.00\n")}, "orders=o.csv")
	require.NotContains(t, string(r.Config), "timezone: Asia/Shanghai\n        columns:")
	require.Equal(t, "2024-04-01", r.Preview.First, "23:30 UTC is the next day in Shanghai")
}

func TestAFileWithoutHeaderIsRefused(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile("o.csv", []byte("1,7,2024-03-05,10.50\n2,8,2024-03-06,3.00\n"), 0o644))
	in, err := onboard.ParseInput("orders", "o.csv")
	require.NoError(t, err)
	_, err = onboard.Propose(context.Background(), onboard.Options{Dir: dir, Timezone: "UTC", Inputs: []onboard.Input{in}})
	require.ErrorContains(t, err, "the first line (1, 7, 2024-03-05, 10.50) looks like data, not a header")
}

func TestARequiredFieldIsNeverGuessed(t *testing.T) {
	r := propose(t, map[string][]byte{"o.csv": []byte("ref,placed,x,y\nA,2024-03-01,1.50,2.50\nB,2024-03-02,2.00,1.00\n")}, "orders=o.csv")
	require.Len(t, r.Missing, 2)
	err := r.Err()
	require.True(t, errors.Is(err, onboard.ErrIncomplete))
	require.EqualError(t, err, "the mapping needs you: orders.customer_id: no column of o.csv fits (columns: ref, placed, x, y); "+
		"orders.amount: no column of o.csv fits (columns: ref, placed, x, y); edit the TODO line(s) in crmwh.yaml")
	require.Contains(t, string(r.Config), `amount: ""`)
	require.Contains(t, string(r.Config), `customer_id: ""`)
	require.Nil(t, r.Preview)
}

func TestOrderLinesFromADatabaseNeedAWatermark(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shop.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE lines (order_no TEXT, customer TEXT, sold_on DATE, qty INTEGER, price NUMERIC(10,2));
		INSERT INTO lines VALUES ('A', 'c1', '2024-03-01', 2, 1.50), ('A', 'c1', '2024-03-01', 1, 4.00), ('B', 'c2', '2024-03-02', 1, 9.99)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	r := propose(t, nil, "orders=sqlite:"+path+"#lines")
	require.Equal(t, "lines", r.Entities[0].Rows)
	require.Equal(t, "qty * price", r.Entities[0].Fields["amount"])
	require.Len(t, r.Missing, 1)
	require.Equal(t, "shop.lines.watermark", r.Missing[0].Field)
	require.ErrorContains(t, r.Err(), "sources.shop.lines.watermark: its rows are order lines, added up per order, and without a watermark every run would read them again")
	require.Contains(t, string(r.Config), "No watermark found")
	require.Contains(t, string(r.Config), "# TODO: its rows are order lines")
}

func TestInputsAreParsed(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile("a.parquet", nil, 0o644))
	require.NoError(t, os.WriteFile("crm.db", nil, 0o644))
	for _, c := range []struct {
		spec string
		want onboard.Input
		err  string
	}{
		{spec: "a.parquet", want: onboard.Input{Kind: "parquet", Path: "a.parquet", Files: []string{"a.parquet"}}},
		{spec: "*.parquet", want: onboard.Input{Kind: "parquet", Path: "*.parquet", Files: []string{"a.parquet"}}},
		{spec: "sqlite:crm.db#main#customers", err: "no SQLite database crm.db#main"},
		{spec: "sqlite:crm.db#customers", want: onboard.Input{Kind: "sqlite", Path: "crm.db", Table: "customers"}},
		{spec: "postgres:postgres://crmwh:${PW}@db/shop#sales.orders", want: onboard.Input{Kind: "postgres", DSN: "postgres://crmwh:${PW}@db/shop", Table: "sales.orders"}},
		{spec: "postgres:host=db password='${PW}' dbname=shop#orders", want: onboard.Input{Kind: "postgres", DSN: "host=db password='${PW}' dbname=shop", Table: "orders"}},
		{spec: "postgres:postgres://crmwh:hunter2@db/shop#orders", err: "holds a password"},
		{spec: "postgres:host=db password=x${PW} dbname=shop#orders", err: "holds a password"},
		{spec: "postgres:host=db dbname=shop#", err: "expected postgres:DSN#SCHEMA.TABLE"},
		{spec: "missing.csv", err: "--customers: no file matches missing.csv"},
	} {
		in, err := onboard.ParseInput("customers", c.spec)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, c.spec)
			require.ErrorIs(t, err, onboard.ErrInput)
			continue
		}
		require.NoError(t, err, c.spec)
		c.want.Entity, c.want.Spec = "customers", c.spec
		require.Equal(t, c.want, in)
	}
}

func TestMachineZone(t *testing.T) {
	t.Setenv("TZ", "Europe/Lisbon")
	require.Equal(t, "Europe/Lisbon", onboard.MachineZone())
	t.Setenv("TZ", ":America/Bogota")
	require.Equal(t, "America/Bogota", onboard.MachineZone())
	t.Setenv("TZ", "Not/AZone")
	z := onboard.MachineZone()
	_, err := time.LoadLocation(z)
	require.NoError(t, err, z)
}

func TestAStatusColumnIsMappedOnlyWhenItsWordsSaySo(t *testing.T) {
	r := propose(t, map[string][]byte{"o.csv": []byte("order_id,customer_id,order_date,amount,status\n1,a,2024-03-01,5.00,1\n2,b,2024-03-02,6.00,2\n")}, "orders=o.csv")
	require.NotContains(t, fields(t, r, "orders"), "status")
	require.Contains(t, string(r.Config), `# Column status ("1", "2") does not say which orders were paid`)

	r = propose(t, map[string][]byte{"o.csv": []byte("order_id,customer_id,order_date,amount,status\n1,a,2024-03-01,5.00,Completed\n2,b,2024-03-02,6.00,pending\n")}, "orders=o.csv")
	require.Equal(t, "CASE lower(trim(status)) WHEN 'completed' THEN 'paid' ELSE 'paid' END", fields(t, r, "orders")["status"])
	require.Contains(t, string(r.Config), `# check: "pending" counted as paid`)
}
