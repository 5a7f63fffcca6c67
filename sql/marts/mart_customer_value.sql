-- PLACEHOLDER, written on the dashboards branch (issue 6) so that the
-- dashboards can be rendered and tested end to end before the analytics
-- work lands. It has the agreed columns of mart_customer_value, but naive
-- numbers instead of the BG/NBD and Gamma-Gamma models: replace this file
-- with the real model when merging.
--   p_alive                 exp(-days since the last purchase / the customer's
--                           usual interval between purchases; for one-time
--                           buyers, the median interval of all customers)
--   expected_purchases_*    past purchase days per day × days × p_alive
--   expected_order_value    mean paid amount per purchase day
--   clv_12m                 expected_purchases_365d × expected_order_value × margin
--   value_tier              the customer pyramid on clv_12m (top 1%, next 4%,
--                           next 15%, rest)
--   churn_risk / is_churned p_alive below p_alive_threshold / inactive for
--                           inactivity_days (analytics_settings)
with s as (
    select * from analytics_settings
),
typical as (
    select coalesce(median(avg_days_between_purchases), 90) as interval_days from customer_purchases
),
scored as (
    select p.*,
        exp(-p.days_since_last_purchase / greatest(coalesce(p.avg_days_between_purchases, t.interval_days), 1)) as p_alive,
        p.purchase_days / greatest(p.tenure + 1, 30) as daily_rate
    from customer_purchases p cross join typical t
),
valued as (
    select *,
        daily_rate * 90 * p_alive as expected_purchases_90d,
        daily_rate * 365 * p_alive as expected_purchases_365d,
        cast(daily_rate * 365 * p_alive * avg_purchase_value * (select margin from s) as decimal(18, 2)) as clv_12m
    from scored
),
ranked as (
    select *,
        row_number() over (order by clv_12m desc, customer_id) as value_rank,
        count(*) over () as customers
    from valued
)
select
    r.customer_id,
    d.customer_name,
    d.customer_type,
    d.region,
    d.acquisition_channel,
    d.account_manager_name,
    d.account_manager_name_zh,
    r.first_purchase_date,
    r.last_purchase_date,
    r.days_since_last_purchase,
    r.purchase_days,
    r.net_revenue,
    f.r_score,
    f.f_score,
    f.m_score,
    f.rfm_segment,
    r.expected_purchases_90d,
    r.expected_purchases_365d,
    r.p_alive,
    r.avg_purchase_value as expected_order_value,
    r.clv_12m,
    case
        when r.value_rank <= ceil(r.customers * 0.01) then 'top_1'
        when r.value_rank <= ceil(r.customers * 0.05) then 'top_5'
        when r.value_rank <= ceil(r.customers * 0.20) then 'top_20'
        else 'rest'
    end as value_tier,
    r.p_alive < (select p_alive_threshold from s) as churn_risk,
    r.days_since_last_purchase >= (select inactivity_days from s) as is_churned
from ranked r
join dim_customer d using (customer_id)
left join customer_rfm f using (customer_id)
