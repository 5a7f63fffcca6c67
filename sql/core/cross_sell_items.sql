-- The items the cross-sell marts count, at both levels: every product
-- (level 'product', item = product_id) and every category products have
-- (level 'category', item = the category), with names in English and
-- Chinese. A project whose products have no categories has no category
-- rows, and the marts no category-level rows.
select
    'product' as level,
    product_id as item,
    product_name as item_name,
    product_name_zh as item_name_zh,
    category,
    category_zh
from dim_product
union all
select
    'category',
    category,
    category,
    category_zh,
    category,
    category_zh
from (
    -- A category's most common Chinese name among its products; of
    -- equally common ones the greatest, so every build names it the same.
    select category, arg_max(category_zh, (n, category_zh)) as category_zh
    from (
        select category, category_zh, count(*) as n
        from dim_product
        where category is not null
        group by all
    )
    group by category
)
