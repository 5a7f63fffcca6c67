-- Everything about a customer's value in one row, for every customer who
-- bought: RFM values and scores, historical net revenue, and what the CLV
-- models expect (expected purchases in the next 90 and 365 days, P(alive),
-- expected order value, 12-month CLV; see docs/analytics.md). value_tier
-- is the customer pyramid on clv_12m: top_1 (the top 1%), top_5 (the next
-- 4%), top_20 (the next 15%) and rest; when CLV is unavailable
-- (mart_clv_status), on the net revenue of the last 12 months instead
-- (customer_value_tiers), and value_basis says which. is_churned follows the churn
-- definition in crmwh.yaml (inactivity or P(alive)); churn_risk flags
-- customers who have not churned yet but are likely leaving: P(alive)
-- under 0.5, or more than twice their usual interval since their last
-- purchase.
with s as (select * from analytics_settings),
clv_ok as (
    select count(clv_12m) > 0 as ok from clv_scores
),
ranked as (
    -- The pyramid ranks on CLV, or on recent revenue when there is none.
    select s.customer_id,
        percent_rank() over (order by
            case when (select ok from clv_ok) then s.clv_12m else t.net_revenue_12m end desc, s.customer_id) as pct
    from clv_scores s
    join customer_value_tiers t using (customer_id)
)
select
    p.customer_id,
    d.customer_name,
    d.customer_type,
    d.region,
    d.acquisition_channel,
    d.account_manager_id,
    d.account_manager_name,
    d.account_manager_name_zh,
    p.first_purchase_date,
    p.last_purchase_date,
    p.days_since_last_purchase,
    p.purchase_days,
    p.frequency,
    p.avg_days_between_purchases,
    p.net_revenue,
    r.r_score,
    r.f_score,
    r.m_score,
    r.rfm_segment,
    c.expected_purchases_90d,
    c.expected_purchases_365d,
    c.p_alive,
    c.p_alive_90d_ago,
    c.expected_order_value,
    cast(c.clv_12m as decimal(18, 2)) as clv_12m,
    case
        when k.pct < 0.01 then 'top_1'
        when k.pct < 0.05 then 'top_5'
        when k.pct < 0.20 then 'top_20'
        else 'rest'
    end as value_tier,
    case when (select ok from clv_ok) then 'clv_12m' else 'net_revenue_12m' end as value_basis,
    case (select churn_definition from s)
        when 'p_alive' then c.p_alive < (select p_alive_threshold from s)
        else p.days_since_last_purchase >= (select inactivity_days from s)
    end as is_churned,
    not (case (select churn_definition from s)
            when 'p_alive' then c.p_alive < (select p_alive_threshold from s)
            else p.days_since_last_purchase >= (select inactivity_days from s)
         end)
        and (c.p_alive < 0.5 or p.days_since_last_purchase > 2 * coalesce(p.avg_days_between_purchases, (select inactivity_days from s) / 2.0))
        as churn_risk
from customer_purchases p
join dim_customer d using (customer_id)
join customer_rfm r using (customer_id)
join clv_scores c using (customer_id)
join ranked k using (customer_id)
