-- One row per order (paid or cancelled) with its refunds netted off, and
-- one row per refund that names no order in the data (status 'refund').
-- Amounts are in the order's currency. net_amount is what the customer paid
-- (gross − discount); refunded_amount sums the refunds that point at the
-- order (as a positive number); net_revenue = net_amount − refunded_amount
-- for paid orders, 0 for cancelled ones, and minus the refund for a refund
-- row of its own (its net_amount and gross_amount are negative too). Dates
-- and months are in the project's time zone (stg_orders).
with refunds as (
    select r.refund_of as order_id, sum(abs(r.amount)) as refunded_amount, count(*) as refunds
    from stg_orders r
    join stg_orders o on o.order_id = r.refund_of and o.status in ('paid', 'cancelled')
    where r.status = 'refund'
    group by r.refund_of
),
order_rows as (
    select o.*
    from stg_orders o
    where o.status in ('paid', 'cancelled')
    union all
    -- Refunds that point at no order we have: kept, so revenue is not overstated.
    select o.* replace (-abs(o.amount) as amount, -abs(o.amount) as gross_amount, 0 as discount_amount)
    from stg_orders o
    left join stg_orders x on x.order_id = o.refund_of and x.status in ('paid', 'cancelled')
    where o.status = 'refund' and x.order_id is null
)
select
    o.order_id,
    coalesce(m.customer_id, o.customer_id) as customer_id,
    o.customer_id as source_customer_id,
    o.source_stream,
    o.ordered_at,
    o.order_date,
    o.order_month,
    o.status,
    o.status = 'cancelled' as is_cancelled,
    o.refund_of,
    o.channel,
    o.region,
    o.store,
    o.city,
    o.currency,
    o.gross_amount,
    o.discount_amount,
    o.amount as net_amount,
    cast(coalesce(r.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
    coalesce(r.refunds, 0) as refunds,
    cast(case o.status
        when 'paid' then o.amount - coalesce(r.refunded_amount, 0)
        when 'refund' then o.amount
        else 0
    end as decimal(18, 2)) as net_revenue
from order_rows o
left join customer_identity_map m on m.source = 'orders' and m.source_key = o.customer_id
left join refunds r on r.order_id = o.order_id
