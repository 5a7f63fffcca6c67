-- What the order system says of each golden customer with orders: the
-- name, city and region on their latest order that has one, the channel
-- of their first order, and when that was. dim_customer takes these for
-- customers no customer record knows. A table of its own: inside
-- dim_customer, this aggregation and dim_customer's joins ran out of
-- DuckDB's memory together at 5,000,000 customers (a 1.35 GiB limit, two
-- threads), each alone does not.
select
    m.customer_id,
    arg_max(o.customer_name, o.ordered_at) filter (where o.customer_name is not null) as customer_name,
    arg_max(o.city, o.ordered_at) filter (where o.city is not null) as city,
    arg_max(o.region, o.ordered_at) filter (where o.region is not null) as region,
    arg_min(o.channel, o.ordered_at) filter (where o.channel is not null) as first_channel,
    min(o.ordered_at) as first_order_at
from customer_identity_map m
join stg_orders o on o.customer_id = m.source_key
where m.source = 'orders'
group by m.customer_id
