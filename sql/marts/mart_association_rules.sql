-- Association rules (antecedent → consequent) from the frequent itemsets
-- of up to three items, in the terms of Agrawal & Srikant's Apriori and
-- of R's arules and Python's mlxtend, at analytics.cross_sell's
-- min_support and min_confidence (docs/analytics.md has the recipe to
-- reproduce them with those tools). An itemset is frequent when it is in
-- at least ceil(min_support × n) of the n baskets (arules' rounding); a
-- frequent itemset X ∪ Y gives the rule X → Y for every way of cutting it
-- in two, kept when its confidence reaches min_confidence. Both scopes
-- (order, customer_window) and levels (product, category). Measures:
--   support = n(X∪Y)/n; confidence = n(X∪Y)/n(X); lift = confidence / (n(Y)/n)
--   leverage = support − support(X)·support(Y)
--   conviction = (1 − support(Y)) / (1 − confidence), NULL when confidence is 1
--   lift_ci_low/high: the 95% interval of the lift, as in mart_product_affinity
--   (X and Y as the two events).
with settings as (
    select cross_sell_min_support as min_support, cross_sell_min_confidence as min_confidence from analytics_settings
),
totals as (select level, scope, baskets as n from cross_sell_itemsets where size = 0),
sets as (
    select level, scope, size, list_filter([item_1, item_2, item_3], x -> x is not null) as items, baskets
    from cross_sell_itemsets
    where size between 1 and 3
),
frequent as (
    select s.* from sets s join totals t using (level, scope), settings
    where s.size >= 2 and s.baskets >= ceil(settings.min_support * t.n)
),
-- Every cut of a frequent itemset into antecedent and consequent.
cuts as (
    select level, scope, baskets, [items[1]] as antecedent, [items[2]] as consequent from frequent where size = 2
    union all select level, scope, baskets, [items[2]], [items[1]] from frequent where size = 2
    union all select level, scope, baskets, [items[1], items[2]], [items[3]] from frequent where size = 3
    union all select level, scope, baskets, [items[1], items[3]], [items[2]] from frequent where size = 3
    union all select level, scope, baskets, [items[2], items[3]], [items[1]] from frequent where size = 3
    union all select level, scope, baskets, [items[1]], [items[2], items[3]] from frequent where size = 3
    union all select level, scope, baskets, [items[2]], [items[1], items[3]] from frequent where size = 3
    union all select level, scope, baskets, [items[3]], [items[1], items[2]] from frequent where size = 3
),
rules as (
    select c.level, c.scope, c.antecedent, c.consequent,
        c.baskets::double as n_xy, x.baskets::double as n_x, y.baskets::double as n_y, t.n::double as n
    from cuts c
    join totals t using (level, scope)
    join sets x on x.level = c.level and x.scope = c.scope and x.items = c.antecedent
    join sets y on y.level = c.level and y.scope = c.scope and y.items = c.consequent
),
measures as (
    select *,
        n_xy / n_x as confidence,
        n_xy * n / (n_x * n_y) as lift,
        sqrt(greatest(1 / n_xy - 1 / n_x - 1 / n_y + 2 * n_xy / (n_x * n_y) - 1 / n, 0)) as log_lift_se
    from rules, settings
    where n_xy / n_x >= settings.min_confidence
)
select
    m.level,
    m.scope,
    m.antecedent,
    m.consequent,
    len(m.antecedent) as antecedent_size,
    len(m.consequent) as consequent_size,
    concat_ws(' + ', a1.item_name, a2.item_name) || ' → ' || concat_ws(' + ', c1.item_name, c2.item_name) as rule,
    concat_ws(' + ', a1.item_name_zh, a2.item_name_zh) || ' → ' || concat_ws(' + ', c1.item_name_zh, c2.item_name_zh) as rule_zh,
    m.n_xy::bigint as baskets,
    m.n_x::bigint as antecedent_baskets,
    m.n_y::bigint as consequent_baskets,
    m.n::bigint as total_baskets,
    m.n_xy / m.n as support,
    m.n_x / m.n as antecedent_support,
    m.n_y / m.n as consequent_support,
    m.confidence,
    m.lift,
    m.n_xy / m.n - (m.n_x / m.n) * (m.n_y / m.n) as leverage,
    case when m.confidence < 1 then (1 - m.n_y / m.n) / (1 - m.confidence) end as conviction,
    m.lift * exp(-1.96 * m.log_lift_se) as lift_ci_low,
    m.lift * exp(1.96 * m.log_lift_se) as lift_ci_high
from measures m
left join cross_sell_items a1 on a1.level = m.level and a1.item = m.antecedent[1]
left join cross_sell_items a2 on a2.level = m.level and a2.item = m.antecedent[2]
left join cross_sell_items c1 on c1.level = m.level and c1.item = m.consequent[1]
left join cross_sell_items c2 on c2.level = m.level and c2.item = m.consequent[2]
