-- What sells together: one row per pair of products, and of categories,
-- bought together in at least analytics.cross_sell.min_pair_baskets
-- baskets, counted exactly by the cross_sell build step
-- (cross_sell_itemsets). Two kinds of basket (scope):
--   order            one paid order's sale lines
--   customer_window  a customer's paid orders within window_days (default
--                    30) days: windows run from the customer's first
--                    order, day 0 to window_days − 1, and so on
-- For items a and b (a before b by id) of n baskets, n_a and n_b of them
-- holding a and b and n_ab both (docs/analytics.md):
--   support = n_ab / n; confidence a→b = n_ab / n_a; lift = n_ab·n / (n_a·n_b)
--   lift_ci_low/high: the 95% interval of the lift, lift × exp(∓1.96·se),
--   se² = 1/n_ab − 1/n_a − 1/n_b + 2·n_ab/(n_a·n_b) − 1/n (delta method)
-- A lift above 1 means the pair is bought together more often than if
-- the two were bought independently; association is significant when the
-- interval excludes 1.
with counts as (
    select level, scope, size, item_1, item_2, baskets from cross_sell_itemsets
),
totals as (select level, scope, baskets as n from counts where size = 0),
items as (select level, scope, item_1 as item, baskets from counts where size = 1),
pairs as (
    select p.level, p.scope, p.item_1 as item_a, p.item_2 as item_b, p.baskets as n_ab, a.baskets as n_a, b.baskets as n_b, t.n
    from counts p
    join totals t using (level, scope)
    join items a on a.level = p.level and a.scope = p.scope and a.item = p.item_1
    join items b on b.level = p.level and b.scope = p.scope and b.item = p.item_2
    where p.size = 2 and p.baskets >= (select cross_sell_min_pair_baskets from analytics_settings)
),
measures as (
    select *,
        n_ab * n / (n_a * n_b) as lift,
        sqrt(greatest(1 / n_ab - 1 / n_a - 1 / n_b + 2 * n_ab / (n_a * n_b) - 1 / n, 0)) as log_lift_se
    from (select level, scope, item_a, item_b, n_ab::double as n_ab, n_a::double as n_a, n_b::double as n_b, n::double as n from pairs)
)
select
    m.level,
    m.scope,
    m.item_a,
    ia.item_name as item_a_name,
    ia.item_name_zh as item_a_name_zh,
    ia.category as item_a_category,
    m.item_b,
    ib.item_name as item_b_name,
    ib.item_name_zh as item_b_name_zh,
    ib.category as item_b_category,
    m.n::bigint as baskets,
    m.n_a::bigint as baskets_a,
    m.n_b::bigint as baskets_b,
    m.n_ab::bigint as baskets_ab,
    m.n_a * m.n_b / m.n as expected_baskets_ab,
    m.n_a / m.n as support_a,
    m.n_b / m.n as support_b,
    m.n_ab / m.n as support,
    m.n_ab / m.n_a as confidence_a_to_b,
    m.n_ab / m.n_b as confidence_b_to_a,
    m.lift,
    m.lift * exp(-1.96 * m.log_lift_se) as lift_ci_low,
    m.lift * exp(1.96 * m.log_lift_se) as lift_ci_high,
    case
        when m.lift * exp(-1.96 * m.log_lift_se) > 1 then 'positive'
        when m.lift * exp(1.96 * m.log_lift_se) < 1 then 'negative'
        else 'not_significant'
    end as association
from measures m
left join cross_sell_items ia on ia.level = m.level and ia.item = m.item_a
left join cross_sell_items ib on ib.level = m.level and ib.item = m.item_b
