-- One row per order (paid or cancelled) with its refunds netted off.
-- Amounts in the order's currency. net_amount is what the customer paid
-- (gross − discount); refunded_amount sums the refund rows that point at
-- the order (as a positive number); net_revenue = net_amount −
-- refunded_amount for paid orders and 0 for cancelled ones. Dates and
-- months are in the company's time zone (Asia/Shanghai).
with refunds as (
    select original_order_id as order_id, -sum(net_amount) as refunded_amount, count(*) as refunds
    from stg_billing__orders
    where status = 'refund'
    group by original_order_id
)
select
    o.order_id,
    m.customer_id,
    o.billing_customer_no,
    o.billing_system,
    o.ordered_at,
    cast(timezone('Asia/Shanghai', o.ordered_at) as date) as order_date,
    cast(date_trunc('month', timezone('Asia/Shanghai', o.ordered_at)) as date) as order_month,
    o.status,
    o.status = 'cancelled' as is_cancelled,
    o.ship_city,
    o.currency,
    o.gross_amount,
    o.discount_amount,
    o.net_amount,
    coalesce(r.refunded_amount, 0) as refunded_amount,
    coalesce(r.refunds, 0) as refunds,
    case when o.status = 'paid' then o.net_amount - coalesce(r.refunded_amount, 0) else 0 end as net_revenue
from stg_billing__orders o
left join customer_identity_map m on m.source = 'billing' and m.source_key = o.billing_customer_no
left join refunds r on r.order_id = o.order_id
where o.status in ('paid', 'cancelled')
