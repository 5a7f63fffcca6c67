-- One row per product code, with its English name and category (from the
-- modern billing system) and Chinese ones (from the legacy system; each
-- system spells a product one way), and the most common list price.
with lines as (
    select * from stg_billing__order_lines
)
select
    product_code,
    coalesce(min(product_name) filter (where billing_system = 'modern'), min(product_name)) as product_name,
    coalesce(min(product_name) filter (where billing_system = 'legacy'), min(product_name)) as product_name_zh,
    coalesce(min(category) filter (where billing_system = 'modern'), min(category)) as category,
    coalesce(min(category) filter (where billing_system = 'legacy'), min(category)) as category_zh,
    mode(unit_price) as list_price,
    count(*) as lines_sold
from lines
group by product_code
