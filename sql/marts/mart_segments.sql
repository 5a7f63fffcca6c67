-- PLACEHOLDER, written on the dashboards branch (issue 6) so that the
-- dashboards can be rendered and tested end to end before the analytics
-- work lands: the agreed columns of mart_segments, from the placeholder
-- mart_customer_value. Replace with the real mart when merging.
with c as (
    select * from mart_customer_value where rfm_segment is not null
),
totals as (
    select count(*) as customers, sum(net_revenue) as revenue from c
)
select
    c.rfm_segment,
    count(*) as customers,
    count(*) / any_value(t.customers) as share_of_customers,
    cast(sum(c.net_revenue) as decimal(18, 2)) as net_revenue,
    sum(c.net_revenue) / any_value(t.revenue) as share_of_revenue,
    cast(avg(c.clv_12m) as decimal(18, 2)) as avg_clv_12m,
    avg(c.p_alive) as avg_p_alive,
    case c.rfm_segment
        when 'champions' then 'Reward and involve them: early access and referrals; no discounts needed'
        when 'loyal' then 'Upsell higher-value products; invite them to the membership programme'
        when 'potential_loyalists' then 'Offer membership and personal recommendations'
        when 'new_customers' then 'Onboard well: welcome series and an incentive for the second purchase'
        when 'promising' then 'Build the habit: timely reminders and small offers'
        when 'need_attention' then 'Win back attention with limited-time offers based on past purchases'
        when 'about_to_sleep' then 'Reactivate with popular products and a reason to return'
        when 'at_risk' then 'Win back personally: account manager call and a tailored offer'
        when 'cant_lose_them' then 'Act now: senior contact, solve open issues, a strong offer'
        else 'Low-cost reactivation only; do not over-invest'
    end as recommended_action,
    case c.rfm_segment
        when 'champions' then '奖励并邀请参与：新品抢先体验、推荐有礼，无需折扣'
        when 'loyal' then '向上销售高价值产品，邀请加入会员计划'
        when 'potential_loyalists' then '提供会员权益和个性化推荐'
        when 'new_customers' then '做好新客引导：欢迎礼包和复购激励'
        when 'promising' then '培养购买习惯：适时提醒和小额优惠'
        when 'need_attention' then '用基于历史购买的限时优惠重新吸引'
        when 'about_to_sleep' then '用热门商品和回购理由唤醒'
        when 'at_risk' then '个性化挽回：客户经理回访并提供定制优惠'
        when 'cant_lose_them' then '立即行动：高层联系、解决遗留问题、提供有力优惠'
        else '仅做低成本唤醒，避免过度投入'
    end as recommended_action_zh
from c cross join totals t
group by c.rfm_segment
order by net_revenue desc, c.rfm_segment
