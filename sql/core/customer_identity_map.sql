-- Which golden customer each source record belongs to, and the rule that
-- decided it. The rules that analytics_settings switches on (crmwh.yaml
-- identity.match: key, email, phone) apply in this order:
--   customers_self     a customer record that shares no identifier with an earlier one
--   customers_email    a later customer record with the e-mail of an earlier one
--   customers_phone    a later customer record with the phone of an earlier one
--   orders_key         an order system's customer number that is a customer record's id
--   orders_email       one whose latest e-mail is a customer record's
--   orders_phone       one whose latest phone is a customer record's
--   orders_only        one no customer record knows: a customer of its own
--   surveys_key        a survey answer naming a known customer number
--   surveys_email      a survey answer whose e-mail is a customer record's
--   surveys_phone      a survey answer whose phone is a customer record's
--   surveys_unmatched  a survey answer from nobody we know (customer_id NULL)
-- "Earlier" means seen first (ties: the smaller id). A duplicate customer
-- record points at the earliest record it shares an identifier with, and
-- that record's own golden customer is followed once more, so chains of two
-- duplicates end at one golden record. The golden customer_id is the
-- surviving customer record's id, or the order system's customer number for
-- customers only the orders know (prefixed 'orders:' when key matching is
-- off, so it can never collide with a customer record's id).
with s as (
    select match_key, match_email, match_phone from analytics_settings
),
cust as (
    select source_key, email_norm, phone_norm, first_seen_at
    from customer_contacts where source = 'customers'
),
-- The earliest customer record with each e-mail and each phone.
email_first as (
    select email_norm, source_key as first_key
    from cust where email_norm is not null and (select match_email from s)
    qualify row_number() over (partition by email_norm order by first_seen_at nulls last, source_key) = 1
),
phone_first as (
    select phone_norm, source_key as first_key
    from cust where phone_norm is not null and (select match_phone from s)
    qualify row_number() over (partition by phone_norm order by first_seen_at nulls last, source_key) = 1
),
cust_first as (
    select
        c.source_key,
        case
            when e.first_key <> c.source_key then e.first_key
            when p.first_key <> c.source_key then p.first_key
            else c.source_key
        end as anchor,
        case
            when e.first_key <> c.source_key then 'customers_email'
            when p.first_key <> c.source_key then 'customers_phone'
            else 'customers_self'
        end as rule
    from cust c
    left join email_first e on e.email_norm = c.email_norm
    left join phone_first p on p.phone_norm = c.phone_norm
),
cust_golden as (
    select f.source_key, a.anchor as customer_id, f.rule
    from cust_first f
    join cust_first a on a.source_key = f.anchor
),
-- Order customer numbers: matched by key, else by e-mail, else by phone.
orders_matched as (
    select o.source_key,
        case when (select match_key from s) then gk.customer_id end as by_key,
        ge.customer_id as by_email, gp.customer_id as by_phone
    from customer_contacts o
    left join cust_golden gk on gk.source_key = o.source_key
    left join email_first e on e.email_norm = o.email_norm
    left join cust_golden ge on ge.source_key = e.first_key
    left join phone_first p on p.phone_norm = o.phone_norm
    left join cust_golden gp on gp.source_key = p.first_key
    where o.source = 'orders'
),
orders_golden as (
    select
        source_key,
        coalesce(by_key, by_email, by_phone,
            case when (select match_key from s) or not exists (select 1 from cust) then source_key
                 else 'orders:' || source_key end) as customer_id,
        case when by_key is not null then 'orders_key'
             when by_email is not null then 'orders_email'
             when by_phone is not null then 'orders_phone'
             else 'orders_only' end as rule
    from orders_matched
),
-- Survey answers: by the customer number they name (a customer record's
-- or the order system's), else e-mail, else phone.
surveys_matched as (
    select v.source_key,
        case when (select match_key from s) then coalesce(gk.customer_id, ok.customer_id) end as by_key,
        ge.customer_id as by_email, gp.customer_id as by_phone
    from customer_contacts v
    left join cust_golden gk on gk.source_key = v.customer_key
    left join orders_golden ok on ok.source_key = v.customer_key
    left join email_first e on e.email_norm = v.email_norm
    left join cust_golden ge on ge.source_key = e.first_key
    left join phone_first p on p.phone_norm = v.phone_norm
    left join cust_golden gp on gp.source_key = p.first_key
    where v.source = 'surveys'
)
select 'customers' as source, source_key, customer_id, rule
from cust_golden
union all
select 'orders', source_key, customer_id, rule
from orders_golden
union all
select 'surveys', source_key, coalesce(by_key, by_email, by_phone),
    case when by_key is not null then 'surveys_key'
         when by_email is not null then 'surveys_email'
         when by_phone is not null then 'surveys_phone'
         else 'surveys_unmatched' end
from surveys_matched
