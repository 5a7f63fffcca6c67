-- The RFM segments with their size, revenue, expected value and the action
-- the case studies recommend for each (English and Chinese).
with actions(rfm_segment, recommended_action, recommended_action_zh, segment_name_zh, sort_order) as (
    values
        ('champions', 'Reward them; early access to new products; ask for referrals and reviews', '给予奖励与新品优先体验，邀请推荐和评价', '冠军客户', 1),
        ('loyal', 'Upsell higher-value products; loyalty programme and member benefits', '向上销售高价值商品，会员权益与忠诚度计划', '忠诚客户', 2),
        ('potential_loyalists', 'Offer membership; recommend related categories (cross-sell)', '推荐会员计划与关联品类（交叉销售）', '潜力客户', 3),
        ('new_customers', 'Onboarding: welcome offer and a second-purchase incentive', '新客引导：欢迎礼与二次购买激励', '新客户', 4),
        ('promising', 'Build the relationship: personalised recommendations, free trials', '建立关系：个性化推荐与试用', '有希望客户', 5),
        ('need_attention', 'Limited-time offers based on past purchases', '基于历史购买的限时优惠', '需要关注', 6),
        ('about_to_sleep', 'Reactivate with popular products and a discount', '用热门商品与折扣重新激活', '即将沉睡', 7),
        ('at_risk', 'Personal outreach by the account manager; resolve open issues', '客户经理一对一回访，解决未决问题', '流失风险', 8),
        ('cant_lose_them', 'Win back now: call, understand why, strong retention offer', '立即挽回：电话沟通了解原因，提供挽留方案', '不能失去', 9),
        ('hibernating', 'Low-cost reminders only; do not overspend', '低成本提醒，避免过度投入', '沉睡客户', 10)
),
seg as (
    select rfm_segment, count(*) as customers, sum(net_revenue) as net_revenue,
        avg(clv_12m) as avg_clv_12m, sum(clv_12m) as clv_12m,
        -- summed as decimals: exact, so every build gives the same bits
        -- (a parallel sum of doubles depends on the order it adds them in)
        avg(p_alive::decimal(38, 18)) as avg_p_alive
    from mart_customer_value
    group by 1
)
select
    a.rfm_segment,
    a.segment_name_zh,
    a.sort_order,
    coalesce(s.customers, 0) as customers,
    coalesce(s.customers, 0) / sum(coalesce(s.customers, 0)) over () as share_of_customers,
    cast(coalesce(s.net_revenue, 0) as decimal(18, 2)) as net_revenue,
    coalesce(s.net_revenue, 0) / nullif(sum(coalesce(s.net_revenue, 0)) over (), 0) as share_of_revenue,
    cast(s.avg_clv_12m as decimal(18, 2)) as avg_clv_12m,
    cast(coalesce(s.clv_12m, 0) as decimal(18, 2)) as clv_12m,
    s.avg_p_alive,
    a.recommended_action,
    a.recommended_action_zh
from actions a
left join seg s using (rfm_segment)
order by a.sort_order
