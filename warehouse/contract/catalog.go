// Package contract is the seam between a company's systems and the models:
// a small set of business entities (orders, order lines, customers, …) with
// documented fields, which each project maps from its own lake streams in
// crmwh.yaml (a column or a SQL expression per field). The package owns the
// catalog of entities, the mapping's format and checks, and the SQL of the
// staging models it generates (stg_<entity>), which every core model and
// mart reads. Nothing after the contract names a source, a stream or a time
// zone. docs/your-data.md is the user's reference; a test keeps it in step
// with the catalog.
package contract

import (
	"fmt"
	"sort"
	"strings"
)

// Types of fields: what the mapped expression must yield, and the column
// type of the staging model.
const (
	// String fields are VARCHAR; ids are trimmed and an empty id is NULL.
	String = "string"
	// Integer fields are BIGINT.
	Integer = "integer"
	// Number fields are DOUBLE (quantities, scores).
	Number = "number"
	// Money fields are DECIMAL(18,2).
	Money = "money"
	// Timestamp fields are TIMESTAMP WITH TIME ZONE. A timestamp without a
	// zone, or a date, is read as wall-clock time in the project's zone.
	Timestamp = "timestamp"
	// Date fields are DATE.
	Date = "date"
	// Boolean fields are BOOLEAN.
	Boolean = "boolean"
)

// Field is one field of an entity.
type Field struct {
	Name     string
	Type     string
	Required bool
	// ID fields are trimmed, and empty values become NULL.
	ID bool
	// Values lists the accepted values of a coded field (tested).
	Values []string
	// Default is the SQL used when the field is not mapped (NULL when
	// empty); it may name other fields of the entity.
	Default string
	Doc     string
}

// Entity is one business entity of the contract.
type Entity struct {
	Name string
	// Title names the entity for people, in English and Chinese (pages
	// that need it say so).
	Title, TitleZh string
	// Model is the staging model the build generates for it.
	Model string
	// Key lists the fields that identify a row.
	Key []string
	// Time is the field whose local date and month the model adds (as
	// DateColumn and MonthColumn), in the project's zone.
	Time                    string
	DateColumn, MonthColumn string
	Doc                     string
	// Unlocks says what mapping the entity makes possible, for the docs
	// and for `crmwh build`'s list of what it left out.
	Unlocks string
	Fields  []Field
}

// Field returns the entity's field by name.
func (e *Entity) Field(name string) (Field, bool) {
	for _, f := range e.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// FieldNames lists the entity's fields in catalog order.
func (e *Entity) FieldNames() []string {
	out := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = f.Name
	}
	return out
}

// Required lists the fields a mapping must give.
func (e *Entity) Required() []string {
	var out []string
	for _, f := range e.Fields {
		if f.Required {
			out = append(out, f.Name)
		}
	}
	return out
}

// Lookup returns the entity with the name, or an error listing the known ones.
func Lookup(name string) (*Entity, error) {
	for i := range Catalog {
		if Catalog[i].Name == name {
			return &Catalog[i], nil
		}
	}
	return nil, fmt.Errorf("unknown entity %q (expected one of: %s)", name, strings.Join(Names(), ", "))
}

// ByModel returns the entity whose staging model has the name.
func ByModel(model string) (*Entity, bool) {
	for i := range Catalog {
		if Catalog[i].Model == model {
			return &Catalog[i], true
		}
	}
	return nil, false
}

// Names lists the entities, sorted.
func Names() []string {
	out := make([]string, len(Catalog))
	for i, e := range Catalog {
		out[i] = e.Name
	}
	sort.Strings(out)
	return out
}

// Required is the entity every project maps.
const Required = "orders"

// Order statuses. A refund row gives back money for an order (refund_of
// names it when the system records which); a cancelled order never brought
// revenue.
const (
	StatusPaid      = "paid"
	StatusCancelled = "cancelled"
	StatusRefund    = "refund"
)

// Catalog is the contract: every entity and field a project can map.
var Catalog = []Entity{
	{
		Name: "orders", Title: "Orders", TitleZh: "订单", Model: "stg_orders", Key: []string{"order_id"},
		Time: "ordered_at", DateColumn: "order_date", MonthColumn: "order_month",
		Doc:     "What customers bought and paid: one row per order, cancellation or refund. The only entity every project maps.",
		Unlocks: "every core model and the overview, value, retention, segments and early-warning pages: revenue, active and new customers, cohorts, churn, RFM, the 80/20 curve, CLV",
		Fields: []Field{
			{Name: "order_id", Type: String, Required: true, ID: true, Doc: "The order's number; unique per order (a refund row has its own)."},
			{Name: "customer_id", Type: String, Required: true, ID: true, Doc: "The buyer's number in the system the orders come from. Matched to a customer record by this number, else by e-mail or phone (see identity)."},
			{Name: "ordered_at", Type: Timestamp, Required: true, Doc: "When the order was placed. Days and months are counted in the project's time zone."},
			{Name: "amount", Type: Money, Required: true, Doc: "What the customer paid for the order, after discounts. For a refund row: the money given back (either sign)."},
			{Name: "status", Type: String, Values: []string{StatusPaid, StatusCancelled, StatusRefund}, Default: "'paid'", Doc: "paid, cancelled or refund. Default paid. Map the system's own words with a case expression."},
			{Name: "refund_of", Type: String, ID: true, Doc: "For a refund row, the order it refunds; the refund then nets that order's revenue. Refunds without it reduce the customer's revenue in the refund's month."},
			{Name: "gross_amount", Type: Money, Default: "amount", Doc: "The order's value before discounts. Default: amount."},
			{Name: "discount_amount", Type: Money, Default: "0", Doc: "Discounts given on the order. Default 0."},
			{Name: "currency", Type: String, Doc: "ISO code of the amounts. Default: the project's currency."},
			{Name: "channel", Type: String, Doc: "Sales channel (web, app, store, …)."},
			{Name: "region", Type: String, Doc: "Sales region of the order."},
			{Name: "store", Type: String, Doc: "Store or branch."},
			{Name: "city", Type: String, Doc: "Delivery or store city."},
			{Name: "customer_name", Type: String, Doc: "The buyer's name as the order system has it (used for customers no customer record knows)."},
			{Name: "customer_email", Type: String, Doc: "The buyer's e-mail: matches orders to customer records kept in another system."},
			{Name: "customer_phone", Type: String, Doc: "The buyer's phone: matches orders to customer records kept in another system."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the row last changed: of several versions of an order, the latest wins (default: the latest ordered_at, then the stream listed first)."},
		},
	},
	{
		Name: "order_lines", Title: "Order lines", TitleZh: "订单明细", Model: "stg_order_lines", Key: []string{"order_id", "line_no"},
		Doc:     "What each order held: one row per product on an order (refund rows with negative quantities).",
		Unlocks: "fct_order_items, dim_product, categories per customer on the overview, and the cross-sell analyses",
		Fields: []Field{
			{Name: "order_id", Type: String, Required: true, ID: true, Doc: "The order the line belongs to (orders.order_id)."},
			{Name: "product_id", Type: String, Required: true, ID: true, Doc: "The product's code (SKU)."},
			{Name: "quantity", Type: Number, Required: true, Doc: "Units; negative on refund lines."},
			{Name: "unit_price", Type: Money, Required: true, Doc: "Price of one unit before line discounts."},
			{Name: "line_no", Type: Integer, Doc: "The line's number within the order. Default: numbered by product and quantity."},
			{Name: "discount_amount", Type: Money, Default: "0", Doc: "Discount on the line. Default 0."},
			{Name: "amount", Type: Money, Default: "quantity * unit_price - discount_amount", Doc: "What the line cost the customer. Default quantity × unit_price − discount_amount."},
			{Name: "product_name", Type: String, Doc: "The product's name."},
			{Name: "product_name_zh", Type: String, Doc: "The product's Chinese name, where the system has one."},
			{Name: "category", Type: String, Doc: "The product's category."},
			{Name: "category_zh", Type: String, Doc: "The category's Chinese name."},
		},
	},
	{
		Name: "customers", Title: "Customers", TitleZh: "客户资料", Model: "stg_customers", Key: []string{"customer_id"},
		Time: "signed_up_at", DateColumn: "signed_up_date",
		Doc:     "Customer records of a CRM or membership system: who the customers are.",
		Unlocks: "names, regions, acquisition channels and account managers on dim_customer; duplicates merged by e-mail and phone; churn by region and channel",
		Fields: []Field{
			{Name: "customer_id", Type: String, Required: true, ID: true, Doc: "The customer's number in this system."},
			{Name: "name", Type: String, Doc: "The customer's name."},
			{Name: "customer_type", Type: String, Values: []string{"individual", "corporate"}, Default: "'individual'", Doc: "individual or corporate. Default individual."},
			{Name: "company", Type: String, Doc: "The company of a corporate customer."},
			{Name: "email", Type: String, Doc: "E-mail (normalised for matching)."},
			{Name: "phone", Type: String, Doc: "Phone (normalised for matching, see identity.phone)."},
			{Name: "city", Type: String, Doc: "City."},
			{Name: "province", Type: String, Doc: "Province or state."},
			{Name: "region", Type: String, Doc: "Sales region."},
			{Name: "channel", Type: String, Doc: "How the customer was acquired (online, store, referral, …)."},
			{Name: "account_manager_id", Type: String, ID: true, Doc: "The responsible account manager (account_managers.manager_id)."},
			{Name: "status", Type: String, Doc: "The system's status of the customer (prospect, active, closed, …)."},
			{Name: "signed_up_at", Type: Timestamp, Doc: "When the customer signed up or was created."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version of a customer wins."},
		},
	},
	{
		Name: "products", Title: "Products", TitleZh: "商品目录", Model: "stg_products", Key: []string{"product_id"},
		Doc:     "The product catalogue.",
		Unlocks: "names, categories and list prices of products that order lines lack",
		Fields: []Field{
			{Name: "product_id", Type: String, Required: true, ID: true, Doc: "The product's code (order_lines.product_id)."},
			{Name: "product_name", Type: String, Doc: "The product's name."},
			{Name: "product_name_zh", Type: String, Doc: "The product's Chinese name."},
			{Name: "category", Type: String, Doc: "The product's category."},
			{Name: "category_zh", Type: String, Doc: "The category's Chinese name."},
			{Name: "list_price", Type: Money, Doc: "The list price."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "account_managers", Title: "Account managers", TitleZh: "客户经理", Model: "stg_account_managers", Key: []string{"manager_id"},
		Doc:     "The people responsible for customers.",
		Unlocks: "mart_account_manager_performance and managers' names on the early-warning list (with customers.account_manager_id)",
		Fields: []Field{
			{Name: "manager_id", Type: String, Required: true, ID: true, Doc: "The manager's id (customers.account_manager_id)."},
			{Name: "name", Type: String, Doc: "The manager's name."},
			{Name: "name_zh", Type: String, Doc: "The manager's Chinese name."},
			{Name: "region", Type: String, Doc: "The manager's region."},
			{Name: "hired_at", Type: Date, Doc: "When the manager started."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "contacts", Title: "Contacts", TitleZh: "客户接触记录", Model: "stg_contacts", Key: []string{"contact_id"},
		Time: "occurred_at", DateColumn: "occurred_date",
		Doc:     "Contacts with customers: calls, e-mails, visits, messages.",
		Unlocks: "fct_interactions and the contact topics among the signals before churn",
		Fields: []Field{
			{Name: "contact_id", Type: String, Required: true, ID: true, Doc: "The contact's id."},
			{Name: "customer_id", Type: String, Required: true, ID: true, Doc: "The customer (a customers.customer_id, or an orders.customer_id)."},
			{Name: "occurred_at", Type: Timestamp, Required: true, Doc: "When it happened."},
			{Name: "channel", Type: String, Doc: "call, email, visit, wechat, …"},
			{Name: "direction", Type: String, Values: []string{"inbound", "outbound"}, Doc: "inbound (the customer started it) or outbound."},
			{Name: "topic", Type: String, Doc: "What it was about."},
			{Name: "duration_seconds", Type: Integer, Doc: "How long it took."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "tickets", Title: "Service tickets", TitleZh: "服务工单", Model: "stg_tickets", Key: []string{"ticket_id"},
		Time: "opened_at", DateColumn: "opened_date", MonthColumn: "opened_month",
		Doc:     "Service tickets and complaints.",
		Unlocks: "fct_tickets, the service page, complaints on the overview and on the account-manager league table, complaint signals on the early-warning list and before churn",
		Fields: []Field{
			{Name: "ticket_id", Type: String, Required: true, ID: true, Doc: "The ticket's id."},
			{Name: "customer_id", Type: String, Required: true, ID: true, Doc: "The customer (a customers.customer_id, or an orders.customer_id)."},
			{Name: "opened_at", Type: Timestamp, Required: true, Doc: "When it was opened."},
			{Name: "resolved_at", Type: Timestamp, Doc: "When it was resolved; NULL while open."},
			{Name: "category", Type: String, Doc: "complaint, inquiry, return, …"},
			{Name: "is_complaint", Type: Boolean, Default: "coalesce(lower(category) = 'complaint', false)", Doc: "Whether it is a complaint. Default: category is complaint."},
			{Name: "priority", Type: String, Doc: "The ticket's priority."},
			{Name: "subject", Type: String, Doc: "Its subject line."},
			{Name: "status", Type: String, Doc: "The system's status (open, resolved, closed, …)."},
			{Name: "rating", Type: Integer, Doc: "The customer's satisfaction rating, 1 (worst) to 5 (best)."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "campaigns", Title: "Campaigns", TitleZh: "营销活动", Model: "stg_campaigns", Key: []string{"campaign_id"},
		Doc:     "Marketing campaigns.",
		Unlocks: "mart_campaign_performance and the campaign section of the segments page (with campaign_responses)",
		Fields: []Field{
			{Name: "campaign_id", Type: String, Required: true, ID: true, Doc: "The campaign's id."},
			{Name: "name", Type: String, Doc: "Its name."},
			{Name: "name_zh", Type: String, Doc: "Its Chinese name."},
			{Name: "channel", Type: String, Doc: "email, sms, app, wechat, …"},
			{Name: "start_date", Type: Date, Required: true, Doc: "Its first day; results are measured 30 and 90 days from it."},
			{Name: "end_date", Type: Date, Doc: "Its last day."},
			{Name: "target_segment", Type: String, Doc: "Whom it targeted."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "campaign_responses", Title: "Campaign responses", TitleZh: "营销活动响应", Model: "stg_campaign_responses", Key: []string{"response_id"},
		Time: "sent_at", DateColumn: "sent_date",
		Doc:     "Who each campaign reached and how they responded.",
		Unlocks: "fct_campaign_responses and mart_campaign_performance (with campaigns)",
		Fields: []Field{
			{Name: "response_id", Type: String, Required: true, ID: true, Doc: "The row's id."},
			{Name: "campaign_id", Type: String, Required: true, ID: true, Doc: "The campaign (campaigns.campaign_id)."},
			{Name: "customer_id", Type: String, Required: true, ID: true, Doc: "The customer reached (a customers.customer_id, or an orders.customer_id)."},
			{Name: "sent_at", Type: Timestamp, Doc: "When the message went out."},
			{Name: "responded_at", Type: Timestamp, Doc: "When the customer responded."},
			{Name: "response", Type: String, Values: []string{"none", "opened", "clicked", "purchased"}, Default: "'none'", Doc: "none, opened, clicked or purchased. Default none."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "surveys", Title: "Surveys", TitleZh: "满意度调查", Model: "stg_surveys", Key: []string{"response_id"},
		Time: "submitted_at", DateColumn: "submitted_date", MonthColumn: "submitted_month",
		Doc:     "Survey answers: NPS and satisfaction.",
		Unlocks: "fct_survey_responses and NPS on the service page",
		Fields: []Field{
			{Name: "response_id", Type: String, Required: true, ID: true, Doc: "The answer's id."},
			{Name: "submitted_at", Type: Timestamp, Required: true, Doc: "When it was submitted."},
			{Name: "customer_id", Type: String, ID: true, Doc: "The respondent's customer number, where the survey tool knows it."},
			{Name: "email", Type: String, Doc: "The respondent's e-mail (matched to customers)."},
			{Name: "phone", Type: String, Doc: "The respondent's phone (matched to customers)."},
			{Name: "nps", Type: Integer, Doc: "How likely to recommend, 0 to 10."},
			{Name: "satisfaction", Type: Integer, Doc: "Satisfaction, 1 (worst) to 5 (best)."},
			{Name: "comment", Type: String, Doc: "Free text."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
	{
		Name: "contracts", Title: "Contracts", TitleZh: "合同与会员", Model: "stg_contracts", Key: []string{"contract_id"},
		Time: "started_at", DateColumn: "start_date", MonthColumn: "start_month",
		Doc:     "Contracts, plans, subscriptions or memberships that customers renew or leave (telecom plans, accounts, memberships).",
		Unlocks: "contractual retention: mart_contract_retention (sBG survival and renewal rates by plan and start year, projected; residual lifetime and value) and the retention page's contract renewals",
		Fields: []Field{
			{Name: "contract_id", Type: String, Required: true, ID: true, Doc: "The contract's id."},
			{Name: "customer_id", Type: String, Required: true, ID: true, Doc: "The customer (a customers.customer_id, or an orders.customer_id)."},
			{Name: "started_at", Type: Timestamp, Required: true, Doc: "When it started."},
			{Name: "ended_at", Type: Timestamp, Doc: "When it ended (the customer left); NULL while active."},
			{Name: "plan", Type: String, Doc: "The plan or product."},
			{Name: "amount", Type: Money, Doc: "What one period of it brings in."},
			{Name: "updated_at", Type: Timestamp, Doc: "When the record last changed; the latest version wins."},
		},
	},
}
