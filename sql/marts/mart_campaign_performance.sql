-- Campaign results by campaign and the customers' current RFM segment:
-- how many were reached and responded, and the net revenue per customer in
-- the 30 and 90 days from the campaign's start, for responders, for all
-- reached customers, and for a comparable group not reached (customers of
-- the same segment who had bought before the campaign started). uplift_90d
-- = reached − comparable. Segments are today's, so read uplift as
-- indicative, not as a controlled experiment. The standard deviations of
-- the 90-day revenue per customer of both groups give the uplift's
-- interval (mart_campaign_results). A campaign whose 90 days are not over
-- by the last day with orders is inside its window: days_observed says how
-- many of them the data cover, and its revenue figures are not final.
with campaigns as (
    select campaign_id, name as campaign_name, name_zh as campaign_name_zh, start_date from stg_campaigns
),
data_end as (
    select max(order_date) as last_day from fct_orders where status = 'paid'
),
segments as (
    select p.customer_id, coalesce(r.rfm_segment, 'none') as segment, p.first_purchase_date
    from customer_purchases p left join customer_rfm r using (customer_id)
),
reached as (
    select campaign_id, customer_id, bool_or(responded) as responded, bool_or(purchased) as purchased
    from fct_campaign_responses
    where customer_id is not null
    group by 1, 2
),
window_revenue as (
    select c.campaign_id, o.customer_id,
        sum(o.net_revenue) filter (where o.order_date < c.start_date + 30) as revenue_30d,
        sum(o.net_revenue) as revenue_90d
    from campaigns c
    join fct_orders o on o.status = 'paid' and o.order_date >= c.start_date and o.order_date < c.start_date + 90
    group by 1, 2
),
eligible as (
    -- customers who had bought before the campaign, with their group
    select c.campaign_id, s.customer_id, s.segment,
        case when r.customer_id is null then 'comparable' when r.responded then 'responder' else 'reached' end as grp,
        coalesce(r.purchased, false) as purchased
    from campaigns c
    join segments s on s.first_purchase_date < c.start_date
    left join reached r on r.campaign_id = c.campaign_id and r.customer_id = s.customer_id
),
sums as (
    select e.campaign_id, e.segment,
        count(*) filter (where e.grp <> 'comparable') as reached,
        count(*) filter (where e.grp = 'responder') as responded,
        count(*) filter (where e.purchased) as purchased,
        count(*) filter (where e.grp = 'comparable') as comparable,
        sum(coalesce(w.revenue_30d, 0)) filter (where e.grp = 'responder') as rev30_resp,
        sum(coalesce(w.revenue_90d, 0)) filter (where e.grp = 'responder') as rev90_resp,
        sum(coalesce(w.revenue_30d, 0)) filter (where e.grp <> 'comparable') as rev30_reached,
        sum(coalesce(w.revenue_90d, 0)) filter (where e.grp <> 'comparable') as rev90_reached,
        sum(coalesce(w.revenue_30d, 0)) filter (where e.grp = 'comparable') as rev30_comp,
        sum(coalesce(w.revenue_90d, 0)) filter (where e.grp = 'comparable') as rev90_comp,
        stddev_samp(coalesce(w.revenue_90d, 0)) filter (where e.grp <> 'comparable') as sd90_reached,
        stddev_samp(coalesce(w.revenue_90d, 0)) filter (where e.grp = 'comparable') as sd90_comp
    from eligible e
    left join window_revenue w on w.campaign_id = e.campaign_id and w.customer_id = e.customer_id
    group by 1, 2
)
select
    c.campaign_id,
    c.campaign_name,
    c.campaign_name_zh,
    c.start_date,
    s.segment,
    s.reached,
    s.responded,
    s.responded / nullif(s.reached, 0) as response_rate,
    s.purchased,
    s.rev30_resp / nullif(s.responded, 0) as revenue_30d_per_responder,
    s.rev90_resp / nullif(s.responded, 0) as revenue_90d_per_responder,
    s.rev30_reached / nullif(s.reached, 0) as revenue_30d_per_reached,
    s.rev90_reached / nullif(s.reached, 0) as revenue_90d_per_reached,
    s.comparable as comparable_customers,
    s.rev30_comp / nullif(s.comparable, 0) as revenue_30d_per_comparable,
    s.rev90_comp / nullif(s.comparable, 0) as revenue_90d_per_comparable,
    s.rev30_reached / nullif(s.reached, 0) - s.rev30_comp / nullif(s.comparable, 0) as uplift_30d,
    s.rev90_reached / nullif(s.reached, 0) - s.rev90_comp / nullif(s.comparable, 0) as uplift_90d,
    s.sd90_reached as revenue_90d_sd_reached,
    s.sd90_comp as revenue_90d_sd_comparable,
    cast(greatest(0, least(90, d.last_day - c.start_date + 1)) as integer) as days_observed,
    c.start_date + 90 <= d.last_day + 1 as is_window_complete
from sums s
join campaigns c using (campaign_id)
cross join data_end d
where s.reached > 0
order by c.start_date, c.campaign_id, s.segment
