-- Order lines from both billing systems in one shape: English product and
-- category names from the modern system, Chinese ones from the legacy
-- system. One row per (order_id, line_no).
with unioned as (
    select 'modern' as billing_system, order_id, line_no, product_code, product_name, category,
        quantity, unit_price, discount_amount, line_amount
    from raw.billing_order_lines
    union all
    select 'legacy' as billing_system, order_id, line_no, product_code, product_name, category,
        quantity, unit_price, discount_amount, line_amount
    from raw.billing_legacy_order_lines
)
select
    billing_system,
    trim(order_id) as order_id,
    line_no,
    trim(product_code) as product_code,
    product_name,
    category,
    quantity,
    unit_price,
    coalesce(discount_amount, 0) as discount_amount,
    line_amount
from unioned
qualify row_number() over (partition by trim(order_id), line_no order by billing_system) = 1
