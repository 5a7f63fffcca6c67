-- One row per customer who bought: what their purchase history says that
-- does not depend on where the data ends (customer_purchases adds the
-- as-of day and what is counted to it). Kept by customer, so a build after
-- new orders recomputes only the customers whose orders changed.
--   purchase_days    days with a paid order
--   monetary         mean order value of the repeat purchase days
-- Amounts are what customers paid (net_amount, after discounts, before
-- refunds); net_revenue also subtracts refunds (those naming an order and
-- those that do not).
with days as (
    select customer_id, order_date, sum(net_amount) as paid, sum(net_revenue) as net_revenue, count(*) as orders
    from fct_orders
    where status = 'paid'
    group by customer_id, order_date
),
firsts as (
    select customer_id, min(order_date) as first_purchase_date from days group by customer_id
),
unlinked_refunds as (
    select customer_id, sum(net_revenue) as refunds from fct_orders where status = 'refund' group by customer_id
),
summary as (
    select
        d.customer_id,
        f.first_purchase_date,
        max(d.order_date) as last_purchase_date,
        count(*) as purchase_days,
        sum(d.orders) as orders,
        sum(d.paid) as paid_amount,
        sum(d.net_revenue) as net_revenue,
        avg(d.paid) filter (where d.order_date > f.first_purchase_date) as monetary,
        avg(d.paid) as avg_purchase_value
    from days d
    join firsts f using (customer_id)
    group by d.customer_id, f.first_purchase_date
)
select
    s.customer_id,
    s.first_purchase_date,
    cast(date_trunc('month', s.first_purchase_date) as date) as cohort_month,
    s.last_purchase_date,
    s.purchase_days,
    cast(s.orders as bigint) as orders,
    cast(s.paid_amount as decimal(18, 2)) as paid_amount,
    cast(s.net_revenue + coalesce(u.refunds, 0) as decimal(18, 2)) as net_revenue,
    s.purchase_days - 1 as frequency,
    datediff('day', s.first_purchase_date, s.last_purchase_date) as recency,
    s.monetary,
    s.avg_purchase_value,
    case when s.purchase_days > 1
        then datediff('day', s.first_purchase_date, s.last_purchase_date) / (s.purchase_days - 1) end as avg_days_between_purchases
from summary s
left join unlinked_refunds u using (customer_id)
