-- One row per product sold or in the catalogue: names and categories from
-- the product catalogue where there is one, else from the order lines (the
-- most common spelling), in English and, where a system has them, Chinese;
-- the list price, else the most common unit price. Of equally common
-- spellings or prices the greatest is taken, so that every build picks
-- the same one (mode() breaks ties in no fixed order, and invoice exports
-- sell a product at several prices equally often).
with spellings as (
    select product_id, 'name' as field, product_name as value, count(*) as n
    from stg_order_lines where product_name is not null group by all
    union all
    select product_id, 'name_zh', product_name_zh, count(*)
    from stg_order_lines where product_name_zh is not null group by all
    union all
    select product_id, 'category', category, count(*)
    from stg_order_lines where category is not null group by all
    union all
    select product_id, 'category_zh', category_zh, count(*)
    from stg_order_lines where category_zh is not null group by all
),
prices as (
    select product_id, unit_price, count(*) as n
    from stg_order_lines where unit_price is not null group by all
),
lines as (
    select
        product_id,
        count(*) as lines_sold
    from stg_order_lines
    group by product_id
),
common as (
    select
        product_id,
        arg_max(value, (n, value)) filter (where field = 'name') as product_name,
        arg_max(value, (n, value)) filter (where field = 'name_zh') as product_name_zh,
        arg_max(value, (n, value)) filter (where field = 'category') as category,
        arg_max(value, (n, value)) filter (where field = 'category_zh') as category_zh
    from spellings
    group by product_id
),
common_prices as (
    select product_id, arg_max(unit_price, (n, unit_price)) as common_price from prices group by product_id
),
catalogue as (
    select * from stg_products
),
ids as (
    select product_id from lines union select product_id from catalogue
)
select
    i.product_id,
    coalesce(c.product_name, s.product_name, c.product_name_zh, s.product_name_zh, i.product_id) as product_name,
    coalesce(c.product_name_zh, s.product_name_zh, c.product_name, s.product_name, i.product_id) as product_name_zh,
    coalesce(c.category, s.category, c.category_zh, s.category_zh) as category,
    coalesce(c.category_zh, s.category_zh, c.category, s.category) as category_zh,
    coalesce(c.list_price, p.common_price) as list_price,
    coalesce(l.lines_sold, 0) as lines_sold
from ids i
left join lines l using (product_id)
left join common s using (product_id)
left join common_prices p using (product_id)
left join catalogue c using (product_id)
