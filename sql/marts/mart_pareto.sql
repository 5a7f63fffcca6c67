-- The Pareto curve: customers ranked by lifetime net revenue (largest
-- first); for each percentile of customers (1 … 100), the share of all net
-- revenue held by that top share of customers. The row with
-- customer_percentile = 20 answers "do 20% of customers bring 80% of the
-- revenue?" with the real number.
with ranked as (
    select customer_id, net_revenue,
        row_number() over (order by net_revenue desc, customer_id) as rank,
        count(*) over () as customers,
        sum(net_revenue) over () as total_revenue
    from customer_purchases
),
percentiles as (
    select unnest(range(1, 101)) as customer_percentile
)
select
    p.customer_percentile,
    p.customer_percentile / 100.0 as customer_share,
    count(r.customer_id) as customers,
    cast(coalesce(sum(r.net_revenue), 0) as decimal(18, 2)) as net_revenue,
    -- no share of nothing: NULL when the net revenue adds up to zero (baskets
    -- loaded without amounts to count what sells together, say)
    coalesce(sum(r.net_revenue), 0) / nullif(any_value(t.total_revenue), 0) as revenue_share
from percentiles p
cross join (select sum(net_revenue) as total_revenue, count(*) as customers from customer_purchases) t
left join ranked r on r.rank <= ceil(p.customer_percentile * t.customers / 100.0)
group by p.customer_percentile
order by p.customer_percentile
