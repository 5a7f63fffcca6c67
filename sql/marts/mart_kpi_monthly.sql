-- The monthly management figures, one row per calendar month (in the
-- project's time zone) from the first order to the last, months without
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
-- Service (tickets opened in the month; NULL when the project maps no
-- tickets): complaints, complaint_resolution_rate (share of those
-- complaints resolved), median_resolution_hours (tickets resolved),
-- avg_satisfaction (tickets rated). Cross-selling: categories_per_customer,
-- the mean number of product categories an active customer bought in the
-- month (NULL without order lines with categories). retention_rate: share
-- of the previous month's active customers who bought again this month.
with coverage as (
    select exists (select 1 from fct_tickets) as has_tickets
),
paid as (
    select * from fct_orders where status = 'paid'
),
refunds as (
    select order_month as month, sum(abs(amount)) as refunds
    from stg_orders
    where status = 'refund'
    group by 1
),
firsts as (
    select customer_id, cohort_month as first_month
    from customer_purchases
),
bounds as (
    select min(order_month) as first_month, max(order_month) as last_month, max(order_date) as last_day
    from stg_orders
),
months as (
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as month
    from bounds
),
-- Distinct counts as a count of groups: DuckDB 1.4.3's DISTINCT aggregates
-- failed with an internal error when they had to spill to disk.
by_month as (
    select
        month,
        sum(orders) as orders,
        sum(gross_revenue) as gross_revenue,
        count(customer_id) as active_customers
    from (
        select order_month as month, customer_id, count(*) as orders, sum(net_amount) as gross_revenue
        from paid
        group by 1, 2
    )
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
),
service as (
    select
        opened_month as month,
        count(*) filter (where is_complaint) as complaints,
        count(*) filter (where is_complaint and is_resolved) as complaints_resolved,
        median(resolution_hours) as median_resolution_hours,
        avg(satisfaction) as avg_satisfaction
    from fct_tickets
    group by 1
),
categories as (
    select month, avg(categories) as categories_per_customer
    from (
        select month, customer_id, count(*) as categories
        from (
            select distinct o.order_month as month, o.customer_id, p.category
            from paid o
            join fct_order_items i on i.order_id = o.order_id and i.line_type = 'sale'
            join dim_product p using (product_id)
            where p.category is not null
        )
        group by 1, 2
    )
    group by 1
),
active_pairs as (
    select distinct order_month as month, customer_id from paid
),
retained as (
    select cur.month, count(*) as retained
    from active_pairs cur
    join active_pairs prev on prev.customer_id = cur.customer_id and prev.month = cur.month - interval 1 month
    group by 1
)
select
    m.month,
    cast(coalesce(b.orders, 0) as bigint) as orders,
    coalesce(c.cancelled_orders, 0) as cancelled_orders,
    cast(coalesce(b.gross_revenue, 0) as decimal(18, 2)) as gross_revenue,
    cast(coalesce(r.refunds, 0) as decimal(18, 2)) as refunds,
    cast(coalesce(b.gross_revenue, 0) - coalesce(r.refunds, 0) as decimal(18, 2)) as net_revenue,
    coalesce(b.active_customers, 0) as active_customers,
    coalesce(n.new_customers, 0) as new_customers,
    last_day(m.month) <= (select last_day from bounds) as is_complete,
    case when (select has_tickets from coverage) then coalesce(sv.complaints, 0) end as complaints,
    sv.complaints_resolved / nullif(sv.complaints, 0) as complaint_resolution_rate,
    sv.median_resolution_hours,
    sv.avg_satisfaction,
    ct.categories_per_customer,
    coalesce(rt.retained, 0) / nullif(lag(b.active_customers) over (order by m.month), 0) as retention_rate
from months m
left join by_month b using (month)
left join cancelled c using (month)
left join refunds r using (month)
left join new_customers n using (month)
left join service sv using (month)
left join categories ct using (month)
left join retained rt using (month)
order by m.month
