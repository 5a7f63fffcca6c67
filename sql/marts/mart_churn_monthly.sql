-- Churn by month under the inactivity definition (analytics_settings:
-- inactivity_days; the P(alive) definition is in mart_customer_value's
-- churn flag and the watchlist). A customer churns on the day their last
-- purchase is inactivity_days old (and not before the data ends). For each
-- month and each cut (all customers, RFM segment, region, acquisition
-- channel): the customers at risk at the start of the month (bought
-- before, not yet churned), those who churned during it, the churn rate,
-- and the churned customers' net revenue in the 12 months before they
-- churned. Months end at the last month with data. is_mature is false for
-- months that start less than inactivity_days after the first day with
-- orders: nobody could have been inactive that long yet, so their churn
-- rate is structurally low and is not shown as a rate to compare.
with s as (
    select inactivity_days from analytics_settings
),
churns as (
    select
        p.customer_id,
        p.first_purchase_date,
        p.last_purchase_date + (select inactivity_days from s) as churn_date
    from customer_purchases p
),
customers as (
    select c.*, coalesce(r.rfm_segment, 'none') as rfm_segment, coalesce(d.region, 'unknown') as region,
        coalesce(d.acquisition_channel, 'unknown') as acquisition_channel
    from churns c
    join dim_customer d using (customer_id)
    left join customer_rfm r using (customer_id)
),
months as (
    select cast(unnest(generate_series(min(order_month), max(order_month), interval 1 month)) as date) as month
    from fct_orders where status = 'paid'
),
-- Region and channel are cuts only when the data know some customer's
-- (a project whose sources have neither gets no rows of 'unknown').
cuts as (
    select customer_id, 'all' as dimension, 'all' as dimension_value from customers
    union all select customer_id, 'rfm_segment', rfm_segment from customers
    union all select customer_id, 'region', region from customers
        where exists (select 1 from customers where region <> 'unknown')
    union all select customer_id, 'acquisition_channel', acquisition_channel from customers
        where exists (select 1 from customers where acquisition_channel <> 'unknown')
),
churned_revenue as (
    select c.customer_id, sum(o.net_revenue) as revenue_12m
    from customers c
    join fct_orders o on o.customer_id = c.customer_id and o.status = 'paid'
        and o.order_date > c.churn_date - interval 365 day and o.order_date <= c.churn_date
    group by 1
),
-- A customer is at risk from the month after their first purchase to the
-- month they churn; count entries and churns per month and accumulate.
events as (
    select k.dimension, k.dimension_value,
        cast(date_trunc('month', c.first_purchase_date) + interval 1 month as date) as month,
        1 as entered, 0 as churned, 0 as revenue
    from customers c join cuts k using (customer_id)
    union all
    select k.dimension, k.dimension_value, cast(date_trunc('month', c.churn_date) as date) as month,
        0, 1, coalesce(cr.revenue_12m, 0)
    from customers c join cuts k using (customer_id) left join churned_revenue cr using (customer_id)
),
per_month as (
    select dimension, dimension_value, month, sum(entered) as entered, sum(churned) as churned, sum(revenue) as revenue
    from events group by all
),
grid as (
    select k.dimension, k.dimension_value, m.month
    from (select distinct dimension, dimension_value from cuts) k cross join months m
),
filled as (
    select g.dimension, g.dimension_value, g.month,
        coalesce(p.entered, 0) as entered, coalesce(p.churned, 0) as churned, coalesce(p.revenue, 0) as revenue
    from grid g left join per_month p using (dimension, dimension_value, month)
),
flows as (
    select *,
        sum(entered) over w - coalesce(sum(churned) over (w rows between unbounded preceding and 1 preceding), 0) as customers_at_risk
    from filled
    window w as (partition by dimension, dimension_value order by month)
)
select
    month,
    dimension,
    dimension_value,
    cast(customers_at_risk as bigint) as customers_at_risk,
    cast(churned as bigint) as churned_customers,
    churned / nullif(customers_at_risk, 0) as churn_rate,
    cast(revenue as decimal(18, 2)) as churned_revenue,
    month >= (select min(first_purchase_date) from customer_purchases) + (select inactivity_days from s) as is_mature
from flows
order by dimension, dimension_value, month
