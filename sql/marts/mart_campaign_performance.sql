-- Campaign results by campaign and the customers' current RFM segment:
-- how many were reached and responded, and the net revenue per customer in
-- the 30 and 90 days from the campaign's start, for responders, for all
-- reached customers, and for a comparable group not reached (customers of
-- the same segment who had bought before the campaign started). uplift_90d
-- = reached − comparable. Segments are today's, so read uplift as
-- indicative, not as a controlled experiment.
with campaigns as (
    select campaign_id, name as campaign_name, name_zh as campaign_name_zh, start_date from stg_campaigns
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
-- Paid orders in each campaign's first 90 days.
window_orders as (
    select c.campaign_id, c.start_date, o.customer_id, o.order_date < c.start_date + 30 as in_30d, o.net_revenue
    from campaigns c
    join fct_orders o on o.status = 'paid' and o.order_date >= c.start_date and o.order_date < c.start_date + 90
),
-- Customers who had bought before the campaign are counted by segment
-- and first purchase day, and their revenue added up by segment, not
-- listed one by one: the comparable group is everyone eligible but the
-- reached, and its revenue the eligible customers' less the reached ones'.
eligible_counts as (
    select c.campaign_id, f.segment, sum(f.customers) as eligible
    from campaigns c
    join (select segment, first_purchase_date, count(*) as customers from segments group by 1, 2) f
        on f.first_purchase_date < c.start_date
    group by 1, 2
),
eligible_revenue as (
    select w.campaign_id, s.segment,
        coalesce(sum(w.net_revenue) filter (where w.in_30d), 0) as rev30, sum(w.net_revenue) as rev90
    from window_orders w
    join segments s using (customer_id)
    where s.first_purchase_date < w.start_date
    group by 1, 2
),
-- The revenue of each reached customer in the windows.
window_revenue as (
    select w.campaign_id, w.customer_id,
        sum(w.net_revenue) filter (where w.in_30d) as revenue_30d,
        sum(w.net_revenue) as revenue_90d
    from window_orders w
    where (w.campaign_id, w.customer_id) in (select campaign_id, customer_id from reached)
    group by 1, 2
),
reached_sums as (
    select r.campaign_id, s.segment,
        count(*) as reached,
        count(*) filter (where r.responded) as responded,
        count(*) filter (where r.purchased) as purchased,
        sum(coalesce(w.revenue_30d, 0)) filter (where r.responded) as rev30_resp,
        sum(coalesce(w.revenue_90d, 0)) filter (where r.responded) as rev90_resp,
        sum(coalesce(w.revenue_30d, 0)) as rev30_reached,
        sum(coalesce(w.revenue_90d, 0)) as rev90_reached
    from reached r
    join campaigns c using (campaign_id)
    join segments s using (customer_id)
    left join window_revenue w on w.campaign_id = r.campaign_id and w.customer_id = r.customer_id
    where s.first_purchase_date < c.start_date
    group by 1, 2
),
sums as (
    select e.campaign_id, e.segment,
        coalesce(r.reached, 0) as reached,
        coalesce(r.responded, 0) as responded,
        coalesce(r.purchased, 0) as purchased,
        e.eligible - coalesce(r.reached, 0) as comparable,
        r.rev30_resp, r.rev90_resp, r.rev30_reached, r.rev90_reached,
        coalesce(v.rev30, 0) - coalesce(r.rev30_reached, 0) as rev30_comp,
        coalesce(v.rev90, 0) - coalesce(r.rev90_reached, 0) as rev90_comp
    from eligible_counts e
    left join reached_sums r using (campaign_id, segment)
    left join eligible_revenue v using (campaign_id, segment)
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
    s.rev90_reached / nullif(s.reached, 0) - s.rev90_comp / nullif(s.comparable, 0) as uplift_90d
from sums s
join campaigns c using (campaign_id)
where s.reached > 0
order by c.start_date, c.campaign_id, s.segment
