-- One row per customer who bought, summarising their purchase history in
-- days, as of the last day with orders in the data. This is the input of
-- RFM, cohorts, churn and the CLV models (docs/analytics.md):
--   frequency x      repeat purchase days (days with a paid order, minus one)
--   recency t_x      days from the first to the last purchase day
--   tenure T         days from the first purchase day to the as-of day
--   monetary         mean order value of the repeat purchase days
-- Amounts are what customers paid (net_amount, after discounts, before
-- refunds); net_revenue also subtracts refunds.
with as_of as (
    select max(order_date) as as_of_date from fct_orders where status = 'paid'
),
days as (
    select customer_id, order_date, sum(net_amount) as paid, sum(net_revenue) as net_revenue, count(*) as orders
    from fct_orders
    where status = 'paid'
    group by customer_id, order_date
),
firsts as (
    select customer_id, min(order_date) as first_purchase_date from days group by customer_id
)
select
    d.customer_id,
    f.first_purchase_date,
    cast(date_trunc('month', f.first_purchase_date) as date) as cohort_month,
    max(d.order_date) as last_purchase_date,
    a.as_of_date,
    count(*) as purchase_days,
    sum(d.orders) as orders,
    sum(d.paid) as paid_amount,
    sum(d.net_revenue) as net_revenue,
    count(*) - 1 as frequency,
    datediff('day', f.first_purchase_date, max(d.order_date)) as recency,
    datediff('day', f.first_purchase_date, a.as_of_date) as tenure,
    datediff('day', max(d.order_date), a.as_of_date) as days_since_last_purchase,
    avg(d.paid) filter (where d.order_date > f.first_purchase_date) as monetary,
    avg(d.paid) as avg_purchase_value,
    case when count(*) > 1
        then datediff('day', f.first_purchase_date, max(d.order_date)) / (count(*) - 1) end as avg_days_between_purchases
from days d
join firsts f using (customer_id)
cross join as_of a
group by d.customer_id, f.first_purchase_date, a.as_of_date
