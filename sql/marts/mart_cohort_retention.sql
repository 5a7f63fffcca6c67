-- Cohort retention: customers grouped by the month of their first purchase
-- (cohort_month); for each later month (months_since_first = 0, 1, …) how
-- many of them bought (active_customers), their share of the cohort
-- (retention_rate), the cohort's net revenue in that month, and that
-- revenue as a share of the cohort's first-month revenue
-- (revenue_retention). Net revenue nets the refunds that name an order in
-- the order's month and the others (fct_orders status refund) in their
-- own month; a refund dated before the customer's first purchase falls in
-- no cohort month. Month 0 retention is 1 by definition. Months after the
-- data ends are not listed.
with cohorts as (
    select customer_id, cohort_month from customer_purchases
),
sizes as (
    select cohort_month, count(*) as cohort_customers from cohorts group by 1
),
-- Each customer's month first, then the cohort's: a count of groups, not
-- a DISTINCT aggregate (DuckDB 1.4.3's failed when they had to spill).
activity as (
    select cohort_month, months_since_first,
        count(*) filter (where bought) as active_customers,
        sum(net_revenue) as net_revenue
    from (
        select c.cohort_month,
            datediff('month', c.cohort_month, o.order_month) as months_since_first,
            o.customer_id,
            bool_or(o.status = 'paid') as bought,
            sum(o.net_revenue) as net_revenue
        from fct_orders o
        join cohorts c using (customer_id)
        where o.status in ('paid', 'refund')
        group by 1, 2, 3
    )
    group by 1, 2
),
grid as (
    select s.cohort_month, cast(unnest(range(0, datediff('month', s.cohort_month, b.last_month) + 1)) as integer) as months_since_first
    from sizes s
    cross join (select cast(date_trunc('month', max(last_purchase_date)) as date) as last_month from customer_order_summary) b
)
select
    g.cohort_month,
    g.months_since_first,
    cast(g.cohort_month + to_months(g.months_since_first) as date) as activity_month,
    s.cohort_customers,
    coalesce(a.active_customers, 0) as active_customers,
    coalesce(a.active_customers, 0) / s.cohort_customers as retention_rate,
    cast(coalesce(a.net_revenue, 0) as decimal(18, 2)) as net_revenue,
    coalesce(a.net_revenue, 0) / nullif(first_value(coalesce(a.net_revenue, 0)) over (partition by g.cohort_month order by g.months_since_first), 0) as revenue_retention
from grid g
join sizes s using (cohort_month)
left join activity a using (cohort_month, months_since_first)
order by g.cohort_month, g.months_since_first
