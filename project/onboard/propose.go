package onboard

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"crmwh/pipelines"
	"crmwh/warehouse/contract"
	"crmwh/warehouse/duckdb"
)

// column is one column of an input as the lake has it.
type column struct {
	// Name is the lake's (and raw view's) column name.
	Name string
	// Orig is the name in the file or table.
	Orig string
	Col  pipelines.Column
	norm string
}

// fieldLine is one field of a proposed mapping.
type fieldLine struct {
	Field, Expr string
	// Comment explains the choice or lists the alternatives.
	Comment string
	// TODO marks a required field that no column fits.
	TODO bool
}

// proposal is the mapping proposed for one entity.
type proposal struct {
	entity    *contract.Entity
	table     *table
	fields    map[string]*fieldLine
	rows      string
	freshness string
	// notes are comments written above the fields.
	notes []string
	// used marks the columns mapped to a field.
	used    map[string]bool
	missing []Missing
}

// Missing is a required field that no column fits.
type Missing struct {
	Entity string `json:"entity"`
	Field  string `json:"field"`
	// Columns lists the input's columns.
	Columns []string `json:"columns"`
	Input   string   `json:"input"`
	// Why says what is missing, when it is not a column.
	Why string `json:"why,omitempty"`
}

// candidate is a column that may fill a field, with how well it fits.
type candidate struct {
	col   *column
	score int
}

// proposer proposes the mappings of the inputs read into db.
type proposer struct {
	ctx      context.Context
	db       *sql.DB
	now      time.Time
	reserved map[string]bool
}

func newProposal(e *contract.Entity, t *table) *proposal {
	return &proposal{entity: e, table: t, fields: map[string]*fieldLine{}, used: map[string]bool{}}
}

// typeFits reports whether a lake column can fill a field of the type.
func typeFits(f contract.Field, c pipelines.Column) bool {
	switch f.Type {
	case contract.String:
		switch c.Type {
		case pipelines.TypeString, pipelines.TypeInt64:
			return true
		case pipelines.TypeFloat64, pipelines.TypeDecimal:
			return f.ID
		}
		return false
	case contract.Money, contract.Number, contract.Integer:
		return c.Type == pipelines.TypeInt64 || c.Type == pipelines.TypeFloat64 || c.Type == pipelines.TypeDecimal
	case contract.Timestamp, contract.Date:
		return c.Type == pipelines.TypeTimestamp || c.Type == pipelines.TypeDate
	case contract.Boolean:
		return c.Type == pipelines.TypeBool
	}
	return false
}

// candidates lists the unused columns whose name means the field (and
// whose type fits it), best first.
func (pr *proposal) candidates(synonymsKey string, f contract.Field) []candidate {
	key := len(pr.entity.Key) == 1 && pr.entity.Key[0] == f.Name
	syn := synonymsOf(pr.entity.Name, synonymsKey, key)
	var out []candidate
	for i := range pr.table.cols {
		c := &pr.table.cols[i]
		if pr.used[c.Name] || !typeFits(f, c.Col) {
			continue
		}
		score := 0
		for k, s := range syn {
			switch {
			case c.norm == s.norm:
				score = max(score, 1000-k)
			case s.compound && (strings.HasPrefix(c.norm, s.norm) || strings.HasSuffix(c.norm, s.norm)):
				score = max(score, 500-k)
			}
		}
		if score > 0 {
			out = append(out, candidate{c, score})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

// byType lists the unused columns of a type that fits the field.
func (pr *proposal) byType(f contract.Field, ok func(pipelines.Column) bool) []*column {
	var out []*column
	for i := range pr.table.cols {
		c := &pr.table.cols[i]
		if !pr.used[c.Name] && typeFits(f, c.Col) && (ok == nil || ok(c.Col)) {
			out = append(out, c)
		}
	}
	return out
}

// set maps a field to an expression.
func (pr *proposal) set(field, expr, comment string, cols ...*column) *fieldLine {
	l := &fieldLine{Field: field, Expr: expr, Comment: comment}
	pr.fields[field] = l
	for _, c := range cols {
		pr.used[c.Name] = true
	}
	return l
}

// pickByName maps a field to its best-named column, listing the others.
func (pr *proposal) pickByName(p *proposer, field string) *column {
	return pr.pickBy(p, field, field)
}

func (pr *proposal) pickBy(p *proposer, field, synonymsKey string) *column {
	f, _ := pr.entity.Field(field)
	cs := pr.candidates(synonymsKey, f)
	if len(cs) == 0 {
		return nil
	}
	pr.set(field, p.ident(cs[0].col.Name), alternatives(cs[1:]), cs[0].col)
	return cs[0].col
}

func alternatives(cs []candidate) string {
	if len(cs) == 0 {
		return ""
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.col.Name)
	}
	return "also possible: " + strings.Join(names, ", ")
}

// pickTime maps a time field by name, else to the only column of a time
// type, saying so.
func (pr *proposal) pickTime(p *proposer, field string) *column {
	if c := pr.pickByName(p, field); c != nil {
		return c
	}
	f, _ := pr.entity.Field(field)
	cs := pr.byType(f, nil)
	if len(cs) == 1 {
		pr.set(field, p.ident(cs[0].Name), "chosen by type: the only date or time column", cs[0])
		return cs[0]
	}
	return nil
}

// missingField writes a required field that no column fits.
func (pr *proposal) missingField(field, why string) {
	var cols []string
	for _, c := range pr.table.cols {
		cols = append(cols, c.Name)
	}
	l := pr.set(field, "", "TODO: "+why+"; give a column or a SQL expression")
	l.TODO = true
	pr.missing = append(pr.missing, Missing{Entity: pr.entity.Name, Field: field, Columns: cols, Input: pr.table.in.Spec})
}

// propose proposes an entity's mapping from one input.
func (p *proposer) propose(entity string, t *table) (*proposal, error) {
	e, err := contract.Lookup(entity)
	if err != nil {
		return nil, err
	}
	pr := newProposal(e, t)
	if entity == "orders" {
		if err := p.orders(pr); err != nil {
			return nil, err
		}
	} else {
		for _, f := range e.Fields {
			if !f.Required || pr.fields[f.Name] != nil {
				continue
			}
			var c *column
			if f.Type == contract.Timestamp || f.Type == contract.Date {
				c = pr.pickTime(p, f.Name)
			} else {
				c = pr.pickByName(p, f.Name)
			}
			if c == nil {
				pr.missingField(f.Name, fmt.Sprintf("no column looks like %s", describeField(e, f)))
			}
		}
	}
	for _, f := range e.Fields {
		if pr.fields[f.Name] == nil && !f.Required {
			pr.pickByName(p, f.Name)
		}
	}
	return pr, nil
}

// describeField names a field for people.
func describeField(e *contract.Entity, f contract.Field) string {
	switch f.Name {
	case "customer_id":
		return "the customer's id"
	case "order_id":
		return "the order's number"
	case "ordered_at":
		return "the order's date or time"
	case "amount":
		return "the order's amount"
	}
	return fmt.Sprintf("%s's %s", e.Name, strings.ReplaceAll(f.Name, "_", " "))
}

// orders proposes the orders mapping: customer, time, amount and order
// key, with the special cases of real exports.
func (p *proposer) orders(pr *proposal) error {
	t := pr.table
	cust := pr.pickByName(p, "customer_id")
	at := pr.pickTime(p, "ordered_at")
	if cust == nil {
		pr.missingField("customer_id", "no column looks like the customer's id")
	}
	if at == nil {
		pr.missingField("ordered_at", "no column looks like the order's date or time")
	}

	// Amount: by name; else quantity × unit price; else a price alone;
	// else the only decimal column.
	amountExpr := ""
	if c := pr.pickByName(p, "amount"); c != nil {
		amountExpr = p.ident(c.Name)
	} else if expr, err := p.decimalComma(pr, "amount"); err != nil {
		return err
	} else if expr != "" {
		amountExpr = expr
	} else {
		amount, _ := pr.entity.Field("amount")
		qty := pr.candidates("quantity", amount)
		price := pr.candidates("unit_price", amount)
		switch {
		case len(qty) > 0 && len(price) > 0 && qty[0].col != price[0].col:
			amountExpr = p.ident(qty[0].col.Name) + " * " + p.ident(price[0].col.Name)
			pr.set("amount", amountExpr, "no amount column: quantity × unit price", qty[0].col, price[0].col)
		case len(price) > 0:
			amountExpr = p.ident(price[0].col.Name)
			pr.set("amount", amountExpr, "check: is this the whole order's amount? (no quantity column)", price[0].col)
		default:
			cs := pr.byType(amount, func(c pipelines.Column) bool { return c.Type == pipelines.TypeDecimal })
			if len(cs) == 1 {
				amountExpr = p.ident(cs[0].Name)
				pr.set("amount", amountExpr, "chosen by type: the only decimal column", cs[0])
			} else {
				pr.missingField("amount", "no column looks like the order's amount")
			}
		}
	}

	// The order key: unique (one row per order), repeated (one row per
	// line of an order), or absent (a purchase log).
	orderField, _ := pr.entity.Field("order_id")
	keys := pr.candidates("order_id", orderField)
	var key *column
	if len(keys) > 0 {
		key = keys[0].col
		pr.set("order_id", p.ident(key.Name), alternatives(keys[1:]), key)
	}
	switch {
	case key != nil:
		var n, distinct int64
		if err := p.db.QueryRowContext(p.ctx, fmt.Sprintf("SELECT count(%[1]s), count(DISTINCT %[1]s) FROM %[2]s",
			duckdb.QuoteIdent(key.Name), t.relation())).Scan(&n, &distinct); err != nil {
			return err
		}
		if distinct < n {
			if pr.fields["updated_at"] == nil && len(pr.candidates("updated_at", mustField(pr.entity, "updated_at"))) == 0 {
				pr.rows = contract.RowsLines
				pr.notes = append(pr.notes, fmt.Sprintf("%s rows share %s values of %s: each row is read as a line of an order, and an order's amount is the sum of its lines.",
					count(n), count(distinct), key.Name))
			} else {
				pr.notes = append(pr.notes, fmt.Sprintf("%s rows share %s values of %s: read as versions of orders, the latest (by updated_at) winning.",
					count(n), count(distinct), key.Name))
			}
		}
		if err := p.cancellations(pr, key, amountExpr); err != nil {
			return err
		}
	case cust != nil && at != nil:
		custExpr := p.ident(cust.Name)
		if cust.Col.Type != pipelines.TypeString {
			custExpr = "CAST(" + custExpr + " AS VARCHAR)"
		}
		if at.Col.Type == pipelines.TypeDate {
			pr.set("order_id", custExpr+" || '-' || strftime("+p.ident(at.Name)+", '%Y%m%d')",
				"no order number: a customer's purchases on one day are one order")
			pr.notes = append(pr.notes, "There is no order number: each row is a purchase, and a customer's purchases on the same day become one order (rows: lines adds them up).")
		} else {
			pr.set("order_id", custExpr+" || '-' || strftime("+p.ident(at.Name)+", '%Y%m%d%H%M%S')",
				"no order number: a customer's purchases at the same second are one order")
			pr.notes = append(pr.notes, "There is no order number: each row is a purchase, and a customer's purchases at the same time become one order (rows: lines adds them up).")
		}
		pr.rows = contract.RowsLines
	default:
		pr.missingField("order_id", "no column looks like the order's number")
	}

	// A status column: its words mapped onto paid, cancelled, refund.
	if pr.fields["status"] == nil {
		if c := pr.pickByName(p, "status"); c != nil {
			if err := p.statusWords(pr, c); err != nil {
				return err
			}
		}
	}
	if cust != nil {
		var n, null int64
		if err := p.db.QueryRowContext(p.ctx, fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE %s IS NULL) FROM %s",
			duckdb.QuoteIdent(cust.Name), t.relation())).Scan(&n, &null); err != nil {
			return err
		}
		if null > 0 {
			pr.notes = append(pr.notes, fmt.Sprintf("%s of %s rows read have no %s: they cannot be put to a customer and are left out (a warning data test counts them).",
				count(null), count(n), cust.Name))
		}
	}
	if at != nil && t.sample.Complete {
		var last sql.NullTime
		if err := p.db.QueryRowContext(p.ctx, fmt.Sprintf("SELECT max(%s)::TIMESTAMP FROM %s", duckdb.QuoteIdent(at.Name), t.relation())).Scan(&last); err != nil {
			return err
		}
		if last.Valid && p.now.Sub(last.Time) > 30*24*time.Hour {
			pr.freshness = "off"
			pr.notes = append(pr.notes, fmt.Sprintf("The newest order is from %s: historical data, so the data tests do not warn that orders stopped coming (remove freshness: off once new orders arrive every day).",
				last.Time.Format("2006-01-02")))
		}
	}
	return nil
}

// decimalComma maps a money field to a text column named for it whose
// values are numbers written with a decimal comma (12,50 or 1.234,50, as
// in much of Europe), which the expression converts.
func (p *proposer) decimalComma(pr *proposal, field string) (string, error) {
	f := mustField(pr.entity, field)
	text := f
	text.Type, text.ID = contract.String, false
	for _, cand := range pr.candidates(field, text) {
		c := cand.col
		if c.Col.Type != pipelines.TypeString {
			continue
		}
		var n, numbers, commas int64
		q := fmt.Sprintf(`SELECT count(%[1]s), count(*) FILTER (WHERE regexp_full_match(trim(%[1]s), '-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?')),
			count(*) FILTER (WHERE contains(%[1]s, ',')) FROM %[2]s`, duckdb.QuoteIdent(c.Name), pr.table.relation())
		if err := p.db.QueryRowContext(p.ctx, q).Scan(&n, &numbers, &commas); err != nil {
			return "", err
		}
		if n == 0 || commas == 0 || numbers < n {
			continue
		}
		expr := fmt.Sprintf("TRY_CAST(replace(replace(trim(%s), '.', ''), ',', '.') AS DECIMAL(18,2))", p.ident(c.Name))
		pr.set(field, expr, "numbers with a decimal comma (12,50): converted", c)
		return expr, nil
	}
	return "", nil
}

func mustField(e *contract.Entity, name string) contract.Field {
	f, ok := e.Field(name)
	if !ok {
		panic("contract has no field " + e.Name + "." + name)
	}
	return f
}

// cancellations proposes a status when the order keys show cancellations:
// most keys are numbers, and the rows whose key starts with a letter (C,
// as in retail exports) have negative amounts.
func (p *proposer) cancellations(pr *proposal, key *column, amountExpr string) error {
	if key.Col.Type != pipelines.TypeString || amountExpr == "" || pr.fields["status"] != nil ||
		len(pr.candidates("status", mustField(pr.entity, "status"))) > 0 {
		return nil
	}
	k := duckdb.QuoteIdent(key.Name)
	q := fmt.Sprintf(`SELECT upper(regexp_extract(%[1]s, '^([A-Za-z]+)[0-9]', 1)) AS prefix, count(*),
		count(*) FILTER (WHERE (%[2]s) < 0), (SELECT count(*) FROM %[3]s WHERE regexp_full_match(%[1]s, '[0-9]+')),
		(SELECT count(%[1]s) FROM %[3]s)
		FROM %[3]s WHERE regexp_matches(%[1]s, '^[A-Za-z]+[0-9]') GROUP BY 1 ORDER BY 2 DESC`, k, amountExpr, pr.table.relation())
	rows, err := p.db.QueryContext(p.ctx, q)
	if err != nil {
		return fmt.Errorf("looking for cancellations in %s: %w", key.Name, err)
	}
	defer rows.Close()
	type prefix struct {
		p              string
		n, neg, digits int64
		total          int64
	}
	var found []prefix
	for rows.Next() {
		var x prefix
		if err := rows.Scan(&x.p, &x.n, &x.neg, &x.digits, &x.total); err != nil {
			return err
		}
		if 2*x.digits >= x.total && 10*x.neg >= 8*x.n {
			found = append(found, x)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(found) == 0 {
		return nil
	}
	var whens, said []string
	for _, x := range found {
		whens = append(whens, fmt.Sprintf("%s LIKE '%s%%'", p.ident(key.Name), x.p))
		said = append(said, fmt.Sprintf("%s rows have a %s starting with %s, %d%% of them a negative amount",
			count(x.n), key.Name, x.p, 100*x.neg/x.n))
	}
	pr.set("status", fmt.Sprintf("CASE WHEN %s THEN 'refund' ELSE 'paid' END", strings.Join(whens, " OR ")),
		"money given back, as the data show")
	pr.notes = append(pr.notes, fmt.Sprintf("%s: read as refunds (credit notes); the other rows as paid.", strings.Join(said, "; ")))
	return nil
}

// statusWords maps a status column's values onto paid, cancelled and
// refund.
func (p *proposer) statusWords(pr *proposal, c *column) error {
	rows, err := p.db.QueryContext(p.ctx, fmt.Sprintf("SELECT DISTINCT CAST(%s AS VARCHAR) FROM %s WHERE %s IS NOT NULL ORDER BY 1 LIMIT 50",
		duckdb.QuoteIdent(c.Name), pr.table.relation(), duckdb.QuoteIdent(c.Name)))
	if err != nil {
		return err
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	words := map[string][]string{
		contract.StatusPaid: {"paid", "completed", "complete", "success", "successful", "delivered", "shipped", "closed", "fulfilled", "ok", "已支付", "已完成", "完成", "成功", "已发货", "已付款", "已签收"},
		// An order whose status says it was refunded or returned as a
		// whole brought no revenue: cancelled. A refund row of its own
		// (money given back) is a refund.
		contract.StatusCancelled: {"cancelled", "canceled", "cancel", "void", "voided", "failed", "rejected", "refunded", "returned",
			"已取消", "取消", "作废", "已作废", "已退款", "已退货"},
		contract.StatusRefund: {"refund", "return", "credit", "credit note", "退款", "退货"},
	}
	var whens, unknown []string
	exact := true
	for _, v := range values {
		k := strings.ToLower(strings.TrimSpace(v))
		to := ""
		for _, s := range []string{contract.StatusPaid, contract.StatusCancelled, contract.StatusRefund} {
			for _, w := range words[s] {
				if k == w {
					to = s
				}
			}
		}
		if to == "" {
			unknown = append(unknown, v)
			continue
		}
		if k != to || v != k {
			exact = false
		}
		whens = append(whens, fmt.Sprintf("WHEN %s THEN '%s'", sqlString(k), to))
	}
	if exact && len(unknown) == 0 {
		return nil // already paid, cancelled and refund
	}
	if len(whens) == 0 {
		// Nothing says paid, cancelled or refund: every order is paid.
		delete(pr.fields, "status") // the column stays used: nothing else maps it
		pr.notes = append(pr.notes, fmt.Sprintf("Column %s (%s) does not say which orders were paid, cancelled or refunded: not mapped, so every order counts as paid (map status with a CASE expression if it does).",
			c.Name, strings.Join(quoteAll(values[:min(len(values), 5)]), ", ")))
		return nil
	}
	x := p.ident(c.Name)
	if c.Col.Type != pipelines.TypeString {
		x = "CAST(" + x + " AS VARCHAR)"
	}
	expr := fmt.Sprintf("CASE lower(trim(%s)) %s ELSE 'paid' END", x, strings.Join(whens, " "))
	comment := "the system's words mapped onto paid, cancelled (refunded orders brought no revenue), refund (a row of money given back)"
	if len(unknown) > 0 {
		comment = fmt.Sprintf("check: %s counted as paid", strings.Join(quoteAll(unknown), ", "))
	}
	pr.set("status", expr, comment, c)
	return nil
}

func quoteAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var plainIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ident writes a column name for a SQL expression: bare when it is a plain
// name that is no reserved word, quoted otherwise.
func (p *proposer) ident(name string) string {
	if plainIdent.MatchString(name) && !p.reserved[strings.ToLower(name)] {
		return name
	}
	return duckdb.QuoteIdent(name)
}

// count writes a number with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
