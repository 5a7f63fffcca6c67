-- One row per product sold or in the catalogue: names and categories from
-- the product catalogue where there is one, else from the order lines (the
-- most common spelling), in English and, where a system has them, Chinese;
-- the list price, else the most common unit price.
with lines as (
    select
        product_id,
        mode(product_name) as product_name,
        mode(product_name_zh) as product_name_zh,
        mode(category) as category,
        mode(category_zh) as category_zh,
        mode(unit_price) as common_price,
        count(*) as lines_sold
    from stg_order_lines
    group by product_id
),
catalogue as (
    select * from stg_products
),
ids as (
    select product_id from lines union select product_id from catalogue
)
select
    i.product_id,
    coalesce(c.product_name, l.product_name, c.product_name_zh, l.product_name_zh, i.product_id) as product_name,
    coalesce(c.product_name_zh, l.product_name_zh, c.product_name, l.product_name, i.product_id) as product_name_zh,
    coalesce(c.category, l.category, c.category_zh, l.category_zh) as category,
    coalesce(c.category_zh, l.category_zh, c.category, l.category) as category_zh,
    coalesce(c.list_price, l.common_price) as list_price,
    coalesce(l.lines_sold, 0) as lines_sold
from ids i
left join lines l using (product_id)
left join catalogue c using (product_id)
