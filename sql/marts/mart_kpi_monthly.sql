-- The monthly management figures, one row per calendar month (in the
-- company's time zone) from the first order to the last, months without
-- orders included.
--   orders            paid orders placed in the month
--   cancelled_orders  cancelled orders placed in the month
--   gross_revenue     what paid orders placed in the month were paid (after discounts)
--   refunds           refunds issued in the month (by refund date), positive
--   net_revenue       gross_revenue − refunds (a closed month never changes)
--   active_customers  customers with at least one paid order in the month
--   new_customers     customers whose first paid order was in the month
--   is_complete       the data reaches the month's last day (charts of
--                     trends leave out the month still in progress)
with paid as (
    select * from fct_orders where status = 'paid'
),
refunds as (
    select
        cast(date_trunc('month', timezone('Asia/Shanghai', ordered_at)) as date) as month,
        -sum(net_amount) as refunds
    from stg_billing__orders
    where status = 'refund'
    group by 1
),
firsts as (
    select customer_id, min(order_month) as first_month
    from paid
    group by customer_id
),
bounds as (
    select
        cast(date_trunc('month', min(timezone('Asia/Shanghai', ordered_at))) as date) as first_month,
        cast(date_trunc('month', max(timezone('Asia/Shanghai', ordered_at))) as date) as last_month,
        cast(max(timezone('Asia/Shanghai', ordered_at)) as date) as last_day
    from stg_billing__orders
),
months as (
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as month
    from bounds
),
by_month as (
    select
        order_month as month,
        count(*) as orders,
        sum(net_amount) as gross_revenue,
        count(distinct customer_id) as active_customers
    from paid
    group by 1
),
cancelled as (
    select order_month as month, count(*) as cancelled_orders
    from fct_orders where is_cancelled
    group by 1
),
new_customers as (
    select first_month as month, count(*) as new_customers
    from firsts
    group by 1
)
select
    m.month,
    coalesce(b.orders, 0) as orders,
    coalesce(c.cancelled_orders, 0) as cancelled_orders,
    cast(coalesce(b.gross_revenue, 0) as decimal(18, 2)) as gross_revenue,
    cast(coalesce(r.refunds, 0) as decimal(18, 2)) as refunds,
    cast(coalesce(b.gross_revenue, 0) - coalesce(r.refunds, 0) as decimal(18, 2)) as net_revenue,
    coalesce(b.active_customers, 0) as active_customers,
    coalesce(n.new_customers, 0) as new_customers,
    last_day(m.month) <= (select last_day from bounds) as is_complete
from months m
left join by_month b using (month)
left join cancelled c using (month)
left join refunds r using (month)
left join new_customers n using (month)
order by m.month
