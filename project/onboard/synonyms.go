package onboard

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// synonyms lists, per contract field, the column names that mean it, best
// first, in English and Chinese. Names are compared normalised: lower case,
// without blanks, underscores, hyphens, dots or brackets (Customer ID,
// customer_id and CustomerID are one name). Keys are "field" for every
// entity, or "entity.field" where an entity's field means something else.
var synonyms = map[string][]string{
	"customer_id": {"customer_id", "customer_no", "customer_number", "customer_code", "cust_id", "cust_no", "client_id", "client_no",
		"member_id", "member_no", "user_id", "buyer_id", "account_id", "account_no", "customer_ref", "customer_reference", "cust_ref", "client_ref",
		"customer", "cust", "client", "member", "kundennummer", "kunden_nr", "kunde", "numero_client", "cliente",
		"客户编号", "客户号", "客户id", "客户代码", "客户编码", "会员号", "会员编号", "会员id", "会员卡号", "用户id", "用户编号", "顾客编号", "顾客id", "买家id"},
	"order_id": {"order_id", "order_no", "order_number", "order_code", "invoice_no", "invoice_number", "invoice_id", "invoice",
		"bill_no", "bill_number", "receipt_no", "transaction_id", "transaction_no", "txn_id", "sales_order_id", "sales_order", "order_ref", "order",
		"reference", "ref", "bestellnummer", "auftragsnummer", "rechnungsnummer", "numero_commande", "numero_pedido",
		"订单号", "订单编号", "订单id", "单号", "单据号", "发票号", "交易号", "交易编号", "流水号", "小票号"},
	"ordered_at": {"ordered_at", "order_date", "order_time", "order_datetime", "ordered_on", "invoice_date", "invoice_time",
		"purchase_date", "purchase_time", "purchased_at", "placed_at", "placed_on", "transaction_date", "transaction_time", "sale_date", "sales_date",
		"created_at", "create_time", "created", "date", "datetime", "time", "timestamp", "bestelldatum", "datum", "date_commande", "fecha",
		"下单时间", "下单日期", "订单时间", "订单日期", "交易时间", "交易日期", "购买时间", "购买日期", "创建时间", "发票日期", "日期", "时间"},
	"amount": {"amount", "net_amount", "total_amount", "total", "order_total", "grand_total", "order_amount", "paid_amount",
		"amount_paid", "paid", "payment", "revenue", "sales", "sales_amount", "order_value", "value", "dollar_value", "net",
		"net_sales", "total_price", "sum", "betrag", "gesamtbetrag", "umsatz", "montant", "montant_total", "importe",
		"金额", "实付金额", "订单金额", "总金额", "销售额", "支付金额", "实收金额", "消费金额", "付款金额", "成交金额", "实付"},
	"quantity":        {"quantity", "qty", "units", "units_sold", "number_of_items", "items", "count", "数量", "件数", "购买数量"},
	"unit_price":      {"unit_price", "price", "item_price", "price_each", "sale_price", "单价", "价格", "售价"},
	"status":          {"status", "order_status", "state", "状态", "订单状态"},
	"refund_of":       {"refund_of", "original_order_id", "original_order", "refunded_order_id", "原订单号"},
	"gross_amount":    {"gross_amount", "gross", "subtotal", "list_amount", "应付金额", "原价金额"},
	"discount_amount": {"discount_amount", "discount", "discounts", "折扣金额", "优惠金额", "折扣"},
	"currency":        {"currency", "currency_code", "币种", "货币"},
	"channel":         {"channel", "sales_channel", "acquisition_channel", "source_channel", "渠道", "销售渠道", "来源"},
	"region":          {"region", "area", "country", "sales_region", "地区", "区域", "国家", "大区"},
	"store":           {"store", "shop", "store_id", "store_name", "branch", "门店", "店铺", "门店名称"},
	"city":            {"city", "ship_city", "城市"},
	"customer_name":   {"customer_name", "cust_name", "client_name", "buyer_name", "name", "客户名称", "客户姓名", "姓名"},
	"customer_email":  {"customer_email", "email", "e_mail", "mail", "email_address", "邮箱", "电子邮件"},
	"customer_phone":  {"customer_phone", "phone", "mobile", "tel", "telephone", "phone_number", "mobile_phone", "电话", "手机", "手机号", "联系电话"},
	"updated_at":      {"updated_at", "updated", "update_time", "modified_at", "modified", "last_modified", "last_updated", "modify_time", "更新时间", "修改时间", "最后修改时间"},

	"product_id":                  {"product_id", "product_code", "sku", "stock_code", "item_id", "item_code", "article_no", "product", "item", "商品编码", "商品编号", "商品id", "产品编号", "产品编码", "货号"},
	"line_no":                     {"line_no", "line_number", "line", "line_id", "行号"},
	"product_name":                {"product_name", "description", "item_name", "product_description", "title", "商品名称", "产品名称", "品名"},
	"category":                    {"category", "product_category", "category_name", "品类", "类别", "分类"},
	"list_price":                  {"list_price", "price", "unit_price", "价格", "单价", "标价"},
	"order_lines.amount":          {"line_amount", "line_total", "amount", "total", "行金额", "金额"},
	"order_lines.discount_amount": {"discount_amount", "discount", "折扣金额", "优惠金额"},

	"name":               {"name", "full_name", "customer_name", "名称", "姓名", "客户名称"},
	"customer_type":      {"customer_type", "type", "客户类型"},
	"company":            {"company", "company_name", "公司", "公司名称"},
	"email":              {"email", "e_mail", "mail", "email_address", "邮箱", "电子邮件"},
	"phone":              {"phone", "mobile", "tel", "telephone", "phone_number", "mobile_phone", "电话", "手机", "手机号", "联系电话"},
	"province":           {"province", "state", "省份", "省"},
	"signed_up_at":       {"signed_up_at", "signup_date", "sign_up_date", "registered_at", "registration_date", "register_date", "join_date", "joined_at", "created_at", "created", "first_seen", "注册时间", "注册日期", "开户日期", "入会时间", "创建时间"},
	"account_manager_id": {"account_manager_id", "manager_id", "account_manager", "sales_rep_id", "owner_id", "客户经理", "客户经理编号"},
	"manager_id":         {"manager_id", "account_manager_id", "employee_id", "经理编号"},
	"name_zh":            {"name_zh", "chinese_name", "中文名"},
	"hired_at":           {"hired_at", "hire_date", "start_date", "入职日期"},

	"contact_id":       {"contact_id", "interaction_id", "activity_id", "联系编号"},
	"occurred_at":      {"occurred_at", "contacted_at", "contact_time", "contact_date", "activity_date", "created_at", "date", "time", "联系时间", "接触时间", "日期"},
	"direction":        {"direction", "方向"},
	"topic":            {"topic", "subject", "reason", "主题"},
	"duration_seconds": {"duration_seconds", "duration", "duration_sec", "时长"},

	"ticket_id":        {"ticket_id", "ticket_no", "case_id", "case_no", "issue_id", "工单号", "工单编号"},
	"opened_at":        {"opened_at", "created_at", "created", "open_date", "opened", "open_time", "reported_at", "创建时间", "开单时间", "受理时间"},
	"resolved_at":      {"resolved_at", "closed_at", "resolved", "closed", "resolve_time", "close_time", "解决时间", "关闭时间"},
	"is_complaint":     {"is_complaint", "complaint", "是否投诉"},
	"priority":         {"priority", "优先级"},
	"subject":          {"subject", "title", "标题", "主题"},
	"rating":           {"rating", "satisfaction", "score", "csat", "满意度", "评分"},
	"tickets.category": {"category", "type", "ticket_type", "类别", "类型"},

	"campaign_id":    {"campaign_id", "campaign_code", "活动编号", "活动id"},
	"start_date":     {"start_date", "starts_on", "start", "开始日期"},
	"end_date":       {"end_date", "ends_on", "end", "结束日期"},
	"target_segment": {"target_segment", "segment", "target", "目标客群"},
	"campaigns.name": {"name", "campaign_name", "活动名称", "名称"},

	"response_id":  {"response_id", "answer_id", "survey_id", "答卷编号"},
	"sent_at":      {"sent_at", "send_time", "sent", "发送时间"},
	"responded_at": {"responded_at", "response_time", "responded", "响应时间"},
	"response":     {"response", "result", "outcome", "响应"},

	"submitted_at": {"submitted_at", "submit_time", "submitted", "created_at", "date", "time", "提交时间", "日期"},
	"nps":          {"nps", "recommend", "likelihood_to_recommend", "推荐意愿"},
	"satisfaction": {"satisfaction", "csat", "score", "满意度"},
	"comment":      {"comment", "comments", "feedback", "remark", "意见", "评论", "备注"},

	"contract_id":       {"contract_id", "subscription_id", "membership_id", "account_id", "合同编号", "合同号"},
	"started_at":        {"started_at", "start_date", "start", "signed_at", "开始日期", "签约日期"},
	"ended_at":          {"ended_at", "end_date", "end", "cancelled_at", "churned_at", "结束日期", "终止日期"},
	"plan":              {"plan", "product", "package", "tariff", "套餐"},
	"contracts.amount":  {"amount", "fee", "monthly_fee", "price", "月费", "金额"},
	"surveys.email":     {"email", "e_mail", "mail", "邮箱"},
	"surveys.phone":     {"phone", "mobile", "telephone", "电话", "手机"},
	"contacts.channel":  {"channel", "type", "contact_type", "渠道", "方式"},
	"customers.channel": {"channel", "acquisition_channel", "source", "渠道", "来源"},
}

// synonym is a normalised name that means a field.
type synonym struct {
	norm string
	// compound names (customer_no, 客户编号) also match as the start or
	// end of a longer name (billing_customer_no).
	compound bool
}

// synonymsOf lists the names that mean a field of an entity, best first;
// the key field of an entity also matches "id".
func synonymsOf(entity, field string, key bool) []synonym {
	list, ok := synonyms[entity+"."+field]
	if !ok {
		list = synonyms[field]
	}
	out := make([]synonym, 0, len(list)+1)
	for _, s := range list {
		out = append(out, synonym{normalize(s), strings.Contains(s, "_") || utf8.RuneCountInString(s) > 1 && s[0] >= utf8.RuneSelf})
	}
	if key {
		out = append(out, synonym{norm: "id"})
	}
	return out
}

// normalize folds a column name for matching: lower case, letters and
// digits only.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// idFields are the fields that hold ids: a CSV column whose name means one
// keeps its text even when every value is a number.
var idFields = []string{"customer_id", "order_id", "product_id", "ticket_id", "contact_id", "campaign_id", "response_id",
	"contract_id", "manager_id", "account_manager_id", "refund_of"}

// textFields hold numbers that are labels, not quantities (phone
// numbers): their columns keep their text too.
var textFields = []string{"customer_phone", "phone", "zip", "postcode", "postal_code", "邮编"}

// isIDHeader reports whether a column's name means an id or another label
// written in digits.
func isIDHeader(h string) bool {
	n := normalize(h)
	if n == "id" || strings.HasSuffix(n, "zip") || strings.Contains(n, "postcode") || strings.Contains(n, "postalcode") || n == "邮编" {
		return true
	}
	for _, f := range append(idFields, textFields...) {
		for _, s := range synonymsOf("", f, false) {
			if n == s.norm {
				return true
			}
		}
	}
	return false
}
