-- One row per product code, with its English name and category (from the
-- modern billing system) and Chinese ones (from the legacy system), and the
-- most common list price.
with lines as (
    select * from stg_billing__order_lines
)
select
    product_code,
    coalesce(mode(product_name) filter (where billing_system = 'modern'), mode(product_name)) as product_name,
    coalesce(mode(product_name) filter (where billing_system = 'legacy'), mode(product_name)) as product_name_zh,
    coalesce(mode(category) filter (where billing_system = 'modern'), mode(category)) as category,
    coalesce(mode(category) filter (where billing_system = 'legacy'), mode(category)) as category_zh,
    mode(unit_price) as list_price,
    count(*) as lines_sold
from lines
group by product_code
