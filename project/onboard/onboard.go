// Package onboard proposes a project for a company's own data: `crmwh init
// DIR --orders FILE` (and --customers, --tickets, … one flag per entity of
// the contract) reads each input (a CSV or Parquet file or glob, or a
// table of a SQLite or PostgreSQL database), works out how the source kind
// must read it (a CSV file's encoding, delimiter, column types and date
// formats; a table's primary key and watermark), reads a sample through
// that very source, and proposes the mapping of every contract field: by
// the column's name (English and common Chinese names) and type, listing
// the alternatives beside each field. Before anything is written the
// proposal is checked as a build would: the staging models are generated
// against the sample in DuckDB, so `crmwh refresh` builds on its first run.
//
// A required field that no column fits is never guessed: it is written
// with a TODO comment, and Result.Err names it and the columns seen.
package onboard

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"crmwh/pipelines"
	"crmwh/warehouse/contract"
	"crmwh/warehouse/duckdb"
)

// Options of Propose.
type Options struct {
	// Dir is the project folder: paths in crmwh.yaml are written relative
	// to it when the files are inside it, absolute otherwise.
	Dir string
	// Name is the project's name (default: Dir's base name).
	Name string
	// Timezone of the company (default: this machine's, see MachineZone).
	Timezone string
	// Currency is the ISO code of the amounts (default: the contract's).
	Currency string
	// Inputs are the entities' inputs (ParseInput); orders is required.
	Inputs []Input
	// Now is the time freshness is judged against (default: now).
	Now time.Time
}

// DefaultCurrency is the project's currency when none is given (crmwh.yaml's default).
const DefaultCurrency = "CNY"

// Result is a proposed project.
type Result struct {
	// Config is the text of crmwh.yaml.
	Config []byte `json:"-"`
	// Inputs says, per input, how it was read.
	Inputs []InputSummary `json:"inputs"`
	// Entities says, per entity, the fields mapped.
	Entities []EntitySummary `json:"entities"`
	// Missing lists the required fields that no column fits (written with
	// a TODO in Config).
	Missing []Missing `json:"missing"`
	// Preview is what the orders of the sample come to through the
	// generated staging model (nil when orders miss a field).
	Preview *Preview `json:"preview"`
	// Timezone and Currency are the project's.
	Timezone string `json:"timezone"`
	Currency string `json:"currency"`
}

// InputSummary is how one input was read.
type InputSummary struct {
	Spec   string `json:"input"`
	Stream string `json:"stream"`
	Kind   string `json:"kind"`
	// Rows read (all of them when Complete), and rows the source
	// quarantined among them.
	Rows        int64 `json:"rows"`
	Quarantined int64 `json:"quarantined"`
	Complete    bool  `json:"complete"`
	Columns     int   `json:"columns"`
}

// EntitySummary is the mapping proposed for one entity.
type EntitySummary struct {
	Entity string `json:"entity"`
	Stream string `json:"stream"`
	Rows   string `json:"rows,omitempty"`
	// Fields maps each mapped field to its column or expression.
	Fields map[string]string `json:"fields"`
}

// Preview is what the sample's orders come to.
type Preview struct {
	Orders    int64  `json:"orders"`
	Customers int64  `json:"customers"`
	Amount    string `json:"amount"`
	First     string `json:"first_day"`
	Last      string `json:"last_day"`
}

// Err is nil when every required field is mapped; otherwise it names the
// fields and the columns seen.
func (r *Result) Err() error {
	if len(r.Missing) == 0 {
		return nil
	}
	var parts []string
	for _, m := range r.Missing {
		if m.Why != "" {
			parts = append(parts, fmt.Sprintf("%s.%s: %s", m.Entity, m.Field, m.Why))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s.%s: no column of %s fits (columns: %s)", m.Entity, m.Field, m.Input, strings.Join(m.Columns, ", ")))
	}
	return fmt.Errorf("%w: %s; edit the TODO line(s) in crmwh.yaml", ErrIncomplete, strings.Join(parts, "; "))
}

// ErrIncomplete marks a proposal with required fields left to the user.
var ErrIncomplete = errors.New("the mapping needs you")

// Propose reads the inputs and proposes the project's crmwh.yaml.
func Propose(ctx context.Context, o Options) (*Result, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = filepath.Base(dir)
	}
	if o.Timezone == "" {
		o.Timezone = MachineZone()
	}
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil || o.Timezone == "Local" {
		return nil, inputErr("--timezone: unknown time zone %q (expected an IANA name such as Europe/Paris)", o.Timezone)
	}
	if o.Currency == "" {
		o.Currency = DefaultCurrency
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	hasOrders := false
	for _, in := range o.Inputs {
		hasOrders = hasOrders || in.Entity == contract.Required
	}
	if !hasOrders {
		return nil, inputErr("--orders is required: orders are the one entity every project maps (the other flags add entities)")
	}

	db, err := duckdb.Open("", duckdb.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return nil, err
	}
	p := &proposer{ctx: ctx, db: db, now: o.Now, reserved: map[string]bool{}}
	if err := p.loadReserved(); err != nil {
		return nil, err
	}

	tables, err := planTables(o.Inputs, dir, o.Timezone)
	if err != nil {
		return nil, err
	}
	env := pipelines.Env{BaseDir: dir}
	for _, t := range tables {
		if err := t.read(ctx, env, loc, o.Timezone, db); err != nil {
			return nil, fmt.Errorf("%s %s: %w", flagName(t.in.Entity), t.in.Spec, err)
		}
	}

	res := &Result{Timezone: o.Timezone, Currency: o.Currency, Missing: []Missing{}}
	var props []*proposal
	for _, e := range contract.Catalog {
		for _, in := range o.Inputs {
			if in.Entity != e.Name {
				continue
			}
			t := tableOf(tables, in)
			pr, err := p.propose(e.Name, t)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", flagName(in.Entity), in.Spec, err)
			}
			props = append(props, pr)
			res.Missing = append(res.Missing, pr.missing...)
		}
	}
	for _, t := range tables {
		if t.needsWatermark(props) {
			why := "its rows are order lines, added up per order, and without a watermark every run would read them again and count them twice: give the stream a watermark (an increasing id or an updated_at column)"
			res.Missing = append(res.Missing, Missing{Entity: "sources", Field: t.streamRef() + ".watermark",
				Input: t.in.Spec, Columns: t.columnNames(), Why: why})
			t.notes = append(t.notes, "TODO: "+why+".")
		}
	}
	if err := p.check(o, props, res); err != nil {
		return nil, err
	}
	res.Config = render(o, tables, props)
	for _, t := range tables {
		res.Inputs = append(res.Inputs, InputSummary{Spec: t.in.Spec, Stream: t.streamRef(), Kind: t.in.Kind,
			Rows: t.sample.Read, Quarantined: t.sample.Bad, Complete: t.sample.Complete, Columns: len(t.cols)})
	}
	for _, pr := range props {
		es := EntitySummary{Entity: pr.entity.Name, Stream: pr.table.streamRef(), Rows: pr.rows, Fields: map[string]string{}}
		for f, l := range pr.fields {
			if !l.TODO {
				es.Fields[f] = l.Expr
			}
		}
		res.Entities = append(res.Entities, es)
	}
	return res, nil
}

// loadReserved reads DuckDB's reserved words, which column names in
// expressions must quote.
func (p *proposer) loadReserved() error {
	rows, err := p.db.QueryContext(p.ctx, "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		p.reserved[strings.ToLower(k)] = true
	}
	return rows.Err()
}

// check generates the staging models of the complete mappings against the
// samples, as a build does (every expression's type is checked), and
// previews the orders.
func (p *proposer) check(o Options, props []*proposal, res *Result) error {
	ms := map[string]contract.Mapping{}
	raw := map[string]bool{}
	for _, pr := range props {
		if len(pr.missing) > 0 {
			continue
		}
		m := contract.Mapping{Source: contract.Source{Stream: pr.table.streamRef(), Fields: map[string]string{}}, Rows: pr.rows, Freshness: pr.freshness}
		for f, l := range pr.fields {
			m.Fields[f] = l.Expr
		}
		ms[pr.entity.Name] = m
		raw[contract.RawRelation(pr.table.streamRef())] = true
	}
	if _, ok := ms[contract.Required]; !ok {
		return nil
	}
	models, err := contract.Generate(p.ctx, p.db, ms, contract.Options{Timezone: o.Timezone, Currency: o.Currency, File: "crmwh.yaml", Raw: raw})
	if err != nil {
		return fmt.Errorf("the proposed mapping does not check against the data (a bug in crmwh init; please report it): %w", err)
	}
	for _, m := range models {
		if m.Entity != contract.Required {
			continue
		}
		var pv Preview
		var amount sql.NullString
		var first, last sql.NullTime
		q := fmt.Sprintf(`SELECT count(*), count(DISTINCT customer_id), CAST(sum(amount) AS VARCHAR), min(order_date), max(order_date) FROM (%s)`, m.SQL)
		if err := p.db.QueryRowContext(p.ctx, q).Scan(&pv.Orders, &pv.Customers, &amount, &first, &last); err != nil {
			return fmt.Errorf("previewing the orders (a bug in crmwh init; please report it): %w", err)
		}
		if pv.Orders == 0 {
			return errors.New("no order of the rows read has a customer, a time and an amount: check the input")
		}
		pv.Amount = amount.String
		pv.First, pv.Last = first.Time.Format("2006-01-02"), last.Time.Format("2006-01-02")
		res.Preview = &pv
	}
	return nil
}
