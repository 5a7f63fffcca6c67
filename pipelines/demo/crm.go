package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// The CRM schema of docs/demo-data.md.
var crmSchema = []string{
	`CREATE TABLE account_managers(manager_id TEXT PRIMARY KEY, name TEXT, name_zh TEXT, region TEXT, hired_at DATE, updated_at DATETIME)`,
	`CREATE TABLE customers(customer_id TEXT PRIMARY KEY, customer_type TEXT, name TEXT, company TEXT, email TEXT, phone TEXT, city TEXT, province TEXT, region TEXT, channel TEXT, account_manager_id TEXT, status TEXT, created_at DATETIME, updated_at DATETIME)`,
	`CREATE TABLE interactions(interaction_id INTEGER PRIMARY KEY, customer_id TEXT, channel TEXT, direction TEXT, topic TEXT, occurred_at DATETIME, duration_seconds INTEGER, updated_at DATETIME)`,
	`CREATE TABLE tickets(ticket_id INTEGER PRIMARY KEY, customer_id TEXT, category TEXT, priority TEXT, subject TEXT, opened_at DATETIME, resolved_at DATETIME, status TEXT, satisfaction INTEGER, updated_at DATETIME)`,
	`CREATE TABLE opportunities(opportunity_id INTEGER PRIMARY KEY, customer_id TEXT, product_category TEXT, stage TEXT, amount NUMERIC(12,2), created_at DATETIME, closed_at DATETIME, updated_at DATETIME)`,
	`CREATE TABLE campaigns(campaign_id TEXT PRIMARY KEY, name TEXT, name_zh TEXT, channel TEXT, start_date DATE, end_date DATE, target_segment TEXT, updated_at DATETIME)`,
	`CREATE TABLE campaign_responses(response_id INTEGER PRIMARY KEY, campaign_id TEXT, customer_id TEXT, sent_at DATETIME, responded_at DATETIME, response TEXT, updated_at DATETIME)`,
	`CREATE TABLE memberships(membership_id INTEGER PRIMARY KEY, customer_id TEXT, plan TEXT, monthly_fee NUMERIC(10,2), started_at DATETIME, ended_at DATETIME, status TEXT, updated_at DATETIME)`,
}

// Indexes are created after the load: building them once is much cheaper
// than maintaining them row by row.
var crmIndexes = []string{
	`CREATE INDEX customers_updated_at ON customers(updated_at)`,
	`CREATE INDEX interactions_customer_id ON interactions(customer_id)`,
	`CREATE INDEX interactions_updated_at ON interactions(updated_at)`,
	`CREATE INDEX tickets_customer_id ON tickets(customer_id)`,
	`CREATE INDEX tickets_updated_at ON tickets(updated_at)`,
	`CREATE INDEX opportunities_customer_id ON opportunities(customer_id)`,
	`CREATE INDEX campaign_responses_customer_id ON campaign_responses(customer_id)`,
	`CREATE INDEX campaign_responses_updated_at ON campaign_responses(updated_at)`,
	`CREATE INDEX memberships_updated_at ON memberships(updated_at)`,
}

// Fixed settings: they make the file's bytes depend only on its content.
var crmPragmas = []string{
	`PRAGMA page_size = 4096`,
	`PRAGMA journal_mode = OFF`, // a failed run discards the whole folder
	`PRAGMA synchronous = OFF`,
	`PRAGMA locking_mode = EXCLUSIVE`,
	`PRAGMA cache_size = -32768`,
	`PRAGMA auto_vacuum = NONE`,
	`PRAGMA encoding = 'UTF-8'`,
}

const (
	insertBatch = 64      // rows per multi-row INSERT
	txRows      = 500_000 // rows per transaction
)

// crmWriter loads the CRM database in large transactions.
type crmWriter struct {
	w    *world
	db   *sql.DB
	conn *sql.Conn

	customers, interactions, tickets, opps, responses, memberships *inserter

	nextInteraction, nextTicket, nextOpp, nextResponse, nextMembership int64
	dupSeq                                                             int
	inTx                                                               int
	idBuf                                                              []byte
	primIDs, dupIDs                                                    []string // per person of the current chunk
}

func openCRM(ctx context.Context, path string, w *world) (*crmWriter, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	cw := &crmWriter{w: w, db: db}
	if err := cw.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating CRM database %s: %w", path, err)
	}
	return cw, nil
}

func (cw *crmWriter) init(ctx context.Context) error {
	var err error
	if cw.conn, err = cw.db.Conn(ctx); err != nil {
		return err
	}
	for _, q := range append(append([]string{}, crmPragmas...), crmSchema...) {
		if _, err := cw.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := cw.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return err
	}
	// The small company-wide tables.
	clk := cw.w.clk
	for _, m := range cw.w.managers {
		hired := m.hired.Format("2006-01-02")
		upd := m.hired.Add(9 * 3600e9).UTC().Format("2006-01-02 15:04:05")
		if _, err := cw.conn.ExecContext(ctx, `INSERT INTO account_managers VALUES (?,?,?,?,?,?)`,
			m.id, m.name, m.nameZh, regions[m.region].en, hired, upd); err != nil {
			return err
		}
	}
	for _, c := range cw.w.campaigns {
		upd := clk.sql(int64(c.first)*daySec - 5*daySec + 10*3600)
		if c.first < 5 {
			upd = clk.sql(0)
		}
		if _, err := cw.conn.ExecContext(ctx, `INSERT INTO campaigns VALUES (?,?,?,?,?,?,?,?)`,
			c.id, c.name, c.nameZh, c.channel, clk.date(c.first), clk.date(c.last), c.segment, upd); err != nil {
			return err
		}
	}
	mk := func(table string, cols int) (*inserter, error) { return newInserter(ctx, cw.conn, table, cols) }
	if cw.customers, err = mk("customers", 14); err != nil {
		return err
	}
	if cw.interactions, err = mk("interactions", 8); err != nil {
		return err
	}
	if cw.tickets, err = mk("tickets", 10); err != nil {
		return err
	}
	if cw.opps, err = mk("opportunities", 8); err != nil {
		return err
	}
	if cw.responses, err = mk("campaign_responses", 7); err != nil {
		return err
	}
	if cw.memberships, err = mk("memberships", 8); err != nil {
		return err
	}
	return nil
}

// nullStr is NULL for "", else the string.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (cw *crmWriter) nullTime(s int64) any {
	if s < 0 {
		return nil
	}
	return cw.w.clk.sql(s)
}

func (cw *crmWriter) id(ref custRef) string {
	if ref.dup {
		return cw.dupIDs[ref.person]
	}
	return cw.primIDs[ref.person]
}

// write loads one chunk.
func (cw *crmWriter) write(ctx context.Context, ck *chunk) error {
	w, clk := cw.w, cw.w.clk
	cw.primIDs, cw.dupIDs = cw.primIDs[:0], cw.dupIDs[:0]
	for k, p := range ck.people {
		cw.idBuf = w.customerID(cw.idBuf[:0], ck.first+k+1)
		cw.primIDs = append(cw.primIDs, string(cw.idBuf))
		dup := ""
		if p.dup {
			cw.dupSeq++
			cw.idBuf = w.customerID(cw.idBuf[:0], w.o.Customers+cw.dupSeq)
			dup = string(cw.idBuf)
		}
		cw.dupIDs = append(cw.dupIDs, dup)
	}
	for i := range ck.customers {
		c := &ck.customers[i]
		ct := cities[c.city]
		typ := "individual"
		if c.corporate {
			typ = "corporate"
		}
		var mgr any
		if c.manager >= 0 {
			mgr = w.managers[c.manager].id
		}
		if err := cw.customers.add(cw.id(c.ref), typ, c.name, nullStr(c.company), nullStr(c.email), nullStr(c.phone),
			ct.en, ct.province, regions[ct.region].en, c.channel, mgr, c.status, clk.sql(c.created), clk.sql(c.updated)); err != nil {
			return err
		}
	}
	for i := range ck.interactions {
		x := &ck.interactions[i]
		cw.nextInteraction++
		var dur any
		if x.duration >= 0 {
			dur = int64(x.duration)
		}
		if err := cw.interactions.add(cw.nextInteraction, cw.id(x.ref), x.channel, x.direction, x.topic,
			clk.sql(x.at), dur, clk.sql(min(x.updated, clk.end-1))); err != nil {
			return err
		}
	}
	for i := range ck.tickets {
		t := &ck.tickets[i]
		cw.nextTicket++
		var sat any
		if t.satisfaction > 0 {
			sat = int64(t.satisfaction)
		}
		if err := cw.tickets.add(cw.nextTicket, cw.id(t.ref), ticketCategories[t.category], t.priority, t.subject,
			clk.sql(t.opened), cw.nullTime(t.resolved), t.status, sat, clk.sql(t.updated)); err != nil {
			return err
		}
	}
	for i := range ck.opps {
		o := &ck.opps[i]
		cw.nextOpp++
		if err := cw.opps.add(cw.nextOpp, cw.id(o.ref), categories[o.category].en, o.stage, float64(o.amount)/100,
			clk.sql(o.created), cw.nullTime(o.closed), clk.sql(o.update)); err != nil {
			return err
		}
	}
	for i := range ck.responses {
		x := &ck.responses[i]
		cw.nextResponse++
		if err := cw.responses.add(cw.nextResponse, w.campaigns[x.campaign].id, cw.id(x.ref),
			clk.sql(x.sent), cw.nullTime(x.responded), x.response, clk.sql(x.updated)); err != nil {
			return err
		}
	}
	for i := range ck.memberships {
		m := &ck.memberships[i]
		cw.nextMembership++
		p := clubPlans[m.plan]
		status, updated := "active", m.start
		if m.end >= 0 {
			status, updated = "lapsed", m.end
		}
		if err := cw.memberships.add(cw.nextMembership, cw.id(m.ref), p.name, float64(p.fee)/100,
			clk.sql(m.start), cw.nullTime(m.end), status, clk.sql(updated)); err != nil {
			return err
		}
	}
	cw.inTx += len(ck.customers) + len(ck.interactions) + len(ck.tickets) + len(ck.opps) + len(ck.responses) + len(ck.memberships)
	if cw.inTx >= txRows {
		if err := cw.commit(ctx, true); err != nil {
			return err
		}
	}
	return nil
}

func (cw *crmWriter) commit(ctx context.Context, begin bool) error {
	for _, in := range []*inserter{cw.customers, cw.interactions, cw.tickets, cw.opps, cw.responses, cw.memberships} {
		if err := in.flush(); err != nil {
			return err
		}
	}
	if _, err := cw.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	cw.inTx = 0
	if begin {
		_, err := cw.conn.ExecContext(ctx, "BEGIN")
		return err
	}
	return nil
}

// finish commits, indexes and closes the database.
func (cw *crmWriter) finish(ctx context.Context) error {
	if err := cw.commit(ctx, false); err != nil {
		return err
	}
	for _, q := range crmIndexes {
		if _, err := cw.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return cw.close()
}

func (cw *crmWriter) close() error {
	var first error
	for _, in := range []*inserter{cw.customers, cw.interactions, cw.tickets, cw.opps, cw.responses, cw.memberships} {
		if in != nil {
			if err := in.close(); err != nil && first == nil {
				first = err
			}
		}
	}
	if cw.conn != nil {
		if err := cw.conn.Close(); err != nil && first == nil {
			first = err
		}
	}
	if err := cw.db.Close(); err != nil && first == nil {
		first = err
	}
	return first
}

// bg is the context of single inserts: a cancellable context would cost a
// watcher goroutine per statement, so cancellation is checked per chunk.
var bg = context.Background()

// inserter batches rows of one table into multi-row INSERT statements.
type inserter struct {
	conn          *sql.Conn
	cols          int
	multi, single *sql.Stmt
	args          []any
}

func newInserter(ctx context.Context, conn *sql.Conn, table string, cols int) (*inserter, error) {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	in := &inserter{conn: conn, cols: cols, args: make([]any, 0, cols*insertBatch)}
	var err error
	if in.single, err = conn.PrepareContext(ctx, "INSERT INTO "+table+" VALUES "+one); err != nil {
		return nil, err
	}
	many := "INSERT INTO " + table + " VALUES " + strings.TrimSuffix(strings.Repeat(one+",", insertBatch), ",")
	if in.multi, err = conn.PrepareContext(ctx, many); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *inserter) add(vals ...any) error {
	in.args = append(in.args, vals...)
	if len(in.args) == cap(in.args) {
		if _, err := in.multi.ExecContext(bg, in.args...); err != nil {
			return err
		}
		clear(in.args)
		in.args = in.args[:0]
	}
	return nil
}

func (in *inserter) flush() error {
	for k := 0; k < len(in.args); k += in.cols {
		if _, err := in.single.ExecContext(bg, in.args[k:k+in.cols]...); err != nil {
			return err
		}
	}
	clear(in.args)
	in.args = in.args[:0]
	return nil
}

func (in *inserter) close() error {
	err := in.multi.Close()
	if err2 := in.single.Close(); err == nil {
		err = err2
	}
	return err
}
