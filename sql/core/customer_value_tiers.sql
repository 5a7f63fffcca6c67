-- The customer pyramid on historical value: customers ranked by net
-- revenue over the 12 months before the latest order in the data, in
-- tiers top_1 (the top 1%), top_5 (the next 4%), top_20 (the next 15%)
-- and rest; customers with no revenue in that window are 'inactive'.
with bounds as (
    select max(ordered_at) as as_of from fct_orders
),
revenue as (
    select o.customer_id, sum(o.net_revenue) as net_revenue_12m
    from fct_orders o, bounds b
    where o.status = 'paid' and o.ordered_at > b.as_of - interval 12 month
    group by o.customer_id
    having sum(o.net_revenue) > 0
),
ranked as (
    select *, percent_rank() over (order by net_revenue_12m desc, customer_id) as pct
    from revenue
)
select
    d.customer_id,
    cast(coalesce(r.net_revenue_12m, 0) as decimal(18, 2)) as net_revenue_12m,
    case
        when r.customer_id is null then 'inactive'
        when r.pct < 0.01 then 'top_1'
        when r.pct < 0.05 then 'top_5'
        when r.pct < 0.20 then 'top_20'
        else 'rest'
    end as value_tier
from dim_customer d
left join ranked r using (customer_id)
