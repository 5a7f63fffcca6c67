-- The next best offers (下一个最佳推荐): for every customer who has not
-- churned, the three products, and the three categories, they have not
-- bought that they are most likely to buy, best first, with the reason in
-- words for the account manager. The cross_sell build step scores every
-- item the customer has not bought (docs/analytics.md):
--   score = popularity × category preference × exp(Σ log lift / √m)
-- popularity: the share of customer-window baskets holding the item;
-- category preference (products only): the customer's share of purchases
-- in the item's category (add-one smoothed) over all customers' share;
-- the lifts are those of the customer-window pairs of mart_product_affinity
-- between the item and each of the m items the customer bought that are
-- bought with it in at least min_pair_baskets baskets. The reason names
-- the bought item with the highest lift; else the category the customer
-- favours; else the item's popularity. mart_next_best_offer_validation
-- says how well the same scoring did on a holdout period. The step scores
-- the customers who bought within analytics.churn.inactivity_days of the
-- last day with orders; under the p_alive churn definition a customer not
-- churned but inactive for longer has no offers.
with customers as (
    select customer_id, customer_name, account_manager_id, account_manager_name, account_manager_name_zh,
        value_tier, clv_12m, days_since_last_purchase
    from mart_customer_value
    where not is_churned
)
select
    o.customer_id,
    c.customer_name,
    c.account_manager_id,
    c.account_manager_name,
    c.account_manager_name_zh,
    c.value_tier,
    c.clv_12m,
    c.days_since_last_purchase,
    o.level,
    o.rank,
    o.item,
    i.item_name,
    i.item_name_zh,
    i.category,
    i.category_zh,
    o.score,
    o.evidence,
    o.group_preference as category_preference,
    o.because_of,
    b.item_name as because_of_name,
    b.item_name_zh as because_of_name_zh,
    o.confidence,
    o.lift,
    o.popularity,
    case
        when o.because_of is not null
            then format('bought {}; buyers of {} buy {} {:.1f}× as often', b.item_name, b.item_name, i.item_name, o.lift)
        when o.group_preference > 1
            then format('buys {} {:.1f}× as often as customers at large', i.category, o.group_preference)
        else format('a best seller: in {:.1f}% of baskets', 100 * o.popularity)
    end as reason,
    case
        when o.because_of is not null
            then format('买过{}；买{}的客户购买{}的比例是平均的{:.1f}倍', b.item_name_zh, b.item_name_zh, i.item_name_zh, o.lift)
        when o.group_preference > 1
            then format('购买{}的频率是平均客户的{:.1f}倍', i.category_zh, o.group_preference)
        else format('热销商品：{:.1f}%的购物篮包含它', 100 * o.popularity)
    end as reason_zh
from cross_sell_offers o
join customers c using (customer_id)
left join cross_sell_items i on i.level = o.level and i.item = o.item
left join cross_sell_items b on b.level = o.level and b.item = o.because_of
