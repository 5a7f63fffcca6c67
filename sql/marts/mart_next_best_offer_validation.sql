-- How well the next best offers predict what customers buy next. The
-- cross_sell build step scores, with the same method as
-- mart_next_best_offer, every customer active holdout_days (analytics.
-- cross_sell.holdout_days) before the data ends, from their history and
-- the customer-window counts up to then; then, for the customers who
-- bought something new to them in the holdout period, checks whether one
-- of their three offers was among it (a hit), and the same for the
-- baseline: the three best sellers (bought by the most customers) they
-- had not bought. hit rate at 3 = hits / customers evaluated. The
-- comparison is paired (the same customers): McNemar's z =
-- (offer_only_hits − baseline_only_hits) / √(offer_only_hits +
-- baseline_only_hits); the offers beat the baseline when z > 1.96.
with v as (
    select *,
        offer_hits / nullif(customers_evaluated, 0) as offer_hit_rate,
        baseline_hits / nullif(customers_evaluated, 0) as baseline_hit_rate,
        (offer_only_hits - baseline_only_hits) / nullif(sqrt(offer_only_hits + baseline_only_hits), 0) as mcnemar_z
    from cross_sell_validation
),
w as (
    -- Wilson's 95% interval of the offers' hit rate.
    select *,
        (offer_hit_rate + 1.96^2 / (2 * customers_evaluated)
            - 1.96 * sqrt(offer_hit_rate * (1 - offer_hit_rate) / customers_evaluated + 1.96^2 / (4 * customers_evaluated^2)))
            / (1 + 1.96^2 / customers_evaluated) as offer_hit_rate_ci_low,
        (offer_hit_rate + 1.96^2 / (2 * customers_evaluated)
            + 1.96 * sqrt(offer_hit_rate * (1 - offer_hit_rate) / customers_evaluated + 1.96^2 / (4 * customers_evaluated^2)))
            / (1 + 1.96^2 / customers_evaluated) as offer_hit_rate_ci_high
    from v
)
select
    level,
    calibration_end,
    holdout_end,
    datediff('day', calibration_end, holdout_end) as holdout_days,
    customers_scored,
    customers_evaluated,
    offer_hits,
    baseline_hits,
    offer_only_hits,
    baseline_only_hits,
    offer_hit_rate,
    offer_hit_rate_ci_low,
    offer_hit_rate_ci_high,
    baseline_hit_rate,
    offer_hit_rate / nullif(baseline_hit_rate, 0) as ratio_to_baseline,
    mcnemar_z,
    coalesce(mcnemar_z > 1.96, false) as beats_baseline,
    case
        when customers_scored = 0 then format('Not checked: no customer was active before the holdout period (the data''s last {} days), so there were no offers to check.', datediff('day', calibration_end, holdout_end))
        when customers_evaluated = 0 then 'No customer bought anything new in the holdout period: nothing to check the offers against.'
        when mcnemar_z > 1.96 then format('The offers were bought by {:.1f}% of the customers, the best sellers by {:.1f}%: {:.2f}× as often, more than chance explains.',
            100 * offer_hit_rate, 100 * baseline_hit_rate, offer_hit_rate / nullif(baseline_hit_rate, 0))
        when mcnemar_z < -1.96 then format('The offers did worse than the best sellers: {:.1f}% of the customers bought one, against {:.1f}%. Offer the best sellers instead.',
            100 * offer_hit_rate, 100 * baseline_hit_rate)
        else format('The offers did no better than the best sellers: {:.1f}% against {:.1f}% of the customers, a difference chance explains.',
            100 * offer_hit_rate, 100 * baseline_hit_rate)
    end as verdict,
    case
        when customers_scored = 0 then format('未检验：验证期（数据的最后{}天）之前没有活跃客户，没有可检验的推荐。', datediff('day', calibration_end, holdout_end))
        when customers_evaluated = 0 then '验证期内没有客户购买新商品，无法检验推荐。'
        when mcnemar_z > 1.96 then format('{:.1f}%的客户购买了推荐商品，热销商品为{:.1f}%：是其{:.2f}倍，差异显著。',
            100 * offer_hit_rate, 100 * baseline_hit_rate, offer_hit_rate / nullif(baseline_hit_rate, 0))
        when mcnemar_z < -1.96 then format('推荐不如热销商品：{:.1f}%的客户购买了推荐商品，热销商品为{:.1f}%。建议改推热销商品。',
            100 * offer_hit_rate, 100 * baseline_hit_rate)
        else format('推荐并不优于热销商品：{:.1f}%对{:.1f}%，差异在随机范围内。',
            100 * offer_hit_rate, 100 * baseline_hit_rate)
    end as verdict_zh,
    refit,
    refit_zh
from w
