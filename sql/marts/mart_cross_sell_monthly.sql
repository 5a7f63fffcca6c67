-- Cross-selling by calendar month (in the project's time zone): how many
-- orders span categories, how many categories and products the month's
-- active customers have bought so far (the cross-sell ratio), and how much
-- of the month's revenue comes from customers who buy in more than one
-- category. Paid orders and their sale lines; categories from dim_product
-- (the category columns are NULL when products have none).
--   multi_category_orders     orders with sale lines in two categories or more
--   active_customers          customers with a paid order in the month
--   categories_per_customer   the cross-sell ratio: the mean number of
--                             categories an active customer has bought,
--                             from their first order to the month's end
--   products_per_customer     the same for distinct products
--   multi_category_customers  active customers with two categories or more
--                             bought by the month's end
--   multi_category_revenue    those customers' net revenue of orders placed
--                             in the month (fct_orders.net_revenue)
with lines as (
    select o.customer_id, o.order_id, o.order_month as month, i.product_id, p.category
    from fct_orders o
    join fct_order_items i on i.order_id = o.order_id and i.line_type = 'sale'
    left join dim_product p using (product_id)
    where o.status = 'paid'
),
orders as (
    select month, count(*) as orders, count(*) filter (where min_category <> max_category) as multi_category_orders,
        count(*) filter (where min_product <> max_product) as multi_product_orders
    -- an order spans two categories (products) when its smallest and
    -- largest differ: min and max spill to disk, where lists or DISTINCT
    -- aggregates ran out of memory at a million customers
    from (select month, order_id, min(category) as min_category, max(category) as max_category,
              min(product_id) as min_product, max(product_id) as max_product
          from lines group by all)
    group by month
),
-- Categories and products bought so far, per customer, as of each month
-- a customer bought something new.
new_items as (
    select customer_id, month, count(*) filter (where kind = 'category') as categories, count(*) filter (where kind = 'product') as products
    from (
        select customer_id, 'category' as kind, category as item, min(month) as month from lines where category is not null group by all
        union all
        select customer_id, 'product', product_id, min(month) from lines group by all
    )
    group by all
),
active as (
    select customer_id, order_month as month, sum(net_revenue) as net_revenue
    from fct_orders where status = 'paid'
    group by all
),
-- Every month with new items is a month the customer bought in (the
-- lines are those of paid orders), so the items bought so far are a
-- running sum over the customer's active months (a window, not an ASOF
-- join: DuckDB 1.4.3's ASOF join crashed when it had to spill).
customers as (
    select a.month, a.customer_id, a.net_revenue,
        sum(coalesce(n.categories, 0)) over w as categories,
        sum(coalesce(n.products, 0)) over w as products
    from active a
    left join new_items n using (customer_id, month)
    window w as (partition by a.customer_id order by a.month)
),
-- Products with categories: the category columns are NULL without.
has_categories as (select count(*) > 0 as yes from dim_product where category is not null),
by_month as (
    select month,
        count(*) as active_customers,
        avg(categories) as categories_per_customer,
        avg(products) as products_per_customer,
        count(*) filter (where categories >= 2) as multi_category_customers,
        sum(net_revenue) as net_revenue,
        coalesce(sum(net_revenue) filter (where categories >= 2), 0) as multi_category_revenue
    from customers
    group by month
)
select
    b.month,
    o.orders,
    o.multi_product_orders,
    case when h.yes then o.multi_category_orders end as multi_category_orders,
    case when h.yes then o.multi_category_orders / o.orders end as multi_category_order_share,
    b.active_customers,
    case when h.yes then b.categories_per_customer end as categories_per_customer,
    b.products_per_customer,
    case when h.yes then b.multi_category_customers end as multi_category_customers,
    case when h.yes then b.multi_category_customers / b.active_customers end as multi_category_customer_share,
    cast(b.net_revenue as decimal(18, 2)) as net_revenue,
    case when h.yes then cast(b.multi_category_revenue as decimal(18, 2)) end as multi_category_revenue,
    case when h.yes then b.multi_category_revenue / nullif(b.net_revenue, 0) end as multi_category_revenue_share,
    k.is_complete
from by_month b
cross join has_categories h
left join orders o using (month)
left join mart_kpi_monthly k using (month)
order by b.month
