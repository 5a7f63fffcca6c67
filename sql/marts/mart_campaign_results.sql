-- One row per campaign, for deciding which campaigns to repeat: how many
-- customers it reached and how many comparable customers it is measured
-- against, the extra net revenue per reached customer in the 90 days from
-- the start with a 95% interval, and that extra revenue in total. The
-- uplift is stratified by segment (mart_campaign_performance): each
-- segment's reached customers against the comparable customers of the same
-- segment, weighted by the reached customers; segments with fewer than two
-- comparable customers are left out of it. Its standard error adds the
-- segments' sampling variances (a segment with one reached customer
-- borrows the campaign's pooled deviation). Campaigns are ranked by
-- extra_revenue_90d_low, the total at the interval's lower end: a size-aware
-- measure, so a campaign that reached 20 customers does not lead on luck;
-- campaigns still inside their 90-day window come after the others, as
-- their figures are not final.
with seg as (
    select * from mart_campaign_performance
),
pooled as (
    select campaign_id,
        sqrt(sum((reached - 1) * revenue_90d_sd_reached ^ 2) / nullif(sum(reached - 1) filter (where revenue_90d_sd_reached is not null), 0)) as sd_reached
    from seg
    group by 1
),
parts as (
    select s.campaign_id, s.reached, s.comparable_customers, s.uplift_90d,
        coalesce(s.revenue_90d_sd_reached, p.sd_reached, 0) ^ 2 / s.reached
            + s.revenue_90d_sd_comparable ^ 2 / s.comparable_customers as variance
    from seg s join pooled p using (campaign_id)
    where s.comparable_customers >= 2
),
measured as (
    select campaign_id,
        sum(reached) as measured_reached,
        sum(reached * uplift_90d) / sum(reached) as uplift_90d,
        sqrt(sum(reached ^ 2 * variance)) / sum(reached) as uplift_90d_se
    from parts
    group by 1
),
campaigns as (
    select campaign_id, any_value(campaign_name) as campaign_name, any_value(campaign_name_zh) as campaign_name_zh,
        any_value(start_date) as start_date, cast(sum(reached) as bigint) as reached, cast(sum(responded) as bigint) as responded,
        cast(sum(purchased) as bigint) as purchased, cast(sum(comparable_customers) as bigint) as comparable_customers,
        sum(revenue_90d_per_reached * reached) / sum(reached) as revenue_90d_per_reached,
        any_value(days_observed) as days_observed, bool_and(is_window_complete) as is_window_complete
    from seg
    group by 1
),
results as (
    select c.*,
        c.responded / c.reached as response_rate,
        m.uplift_90d,
        m.uplift_90d_se,
        m.uplift_90d - 1.96 * m.uplift_90d_se as uplift_90d_low,
        m.uplift_90d + 1.96 * m.uplift_90d_se as uplift_90d_high,
        c.reached * m.uplift_90d as extra_revenue_90d,
        c.reached * (m.uplift_90d - 1.96 * m.uplift_90d_se) as extra_revenue_90d_low
    from campaigns c
    left join measured m using (campaign_id)
)
select
    cast(row_number() over (order by is_window_complete desc, extra_revenue_90d_low desc nulls last, start_date, campaign_id) as integer) as rank,
    campaign_id,
    campaign_name,
    campaign_name_zh,
    start_date,
    days_observed,
    is_window_complete,
    reached,
    responded,
    response_rate,
    purchased,
    comparable_customers,
    revenue_90d_per_reached,
    uplift_90d,
    uplift_90d_se,
    uplift_90d_low,
    uplift_90d_high,
    uplift_90d_low > 0 as is_uplift_significant,
    extra_revenue_90d,
    extra_revenue_90d_low
from results
order by rank
