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
-- campaigns is not materialized: read more than once, DuckDB would
-- otherwise materialize it and plan the joins on it blind (a 50,000-
-- customer build ran out of 142 MiB on this model; inlined it needs 90,
-- and the 5,000,000-customer one takes 32 s under 1.35 GiB).
with campaigns as not materialized (
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
-- The revenue of each customer who bought in a campaign's first 90 days:
-- tens of millions of campaign × customer pairs in a large company. The
-- orders meet the campaigns' days by an equality (a range join would sort
-- every order in memory), and the pairs are only summed, never joined
-- again, so that they can spill to disk.
campaign_days as (
    select campaign_id, start_date, start_date + cast(d as integer) as day
    from campaigns, range(90) as days(d)
),
window_revenue as (
    select c.campaign_id, c.start_date, o.customer_id,
        sum(o.net_revenue) filter (where o.order_date < c.start_date + 30) as revenue_30d,
        sum(o.net_revenue) as revenue_90d
    from campaign_days c
    join fct_orders o on o.order_date = c.day and o.status = 'paid'
    group by 1, 2, 3
),
-- Customers who had bought before the campaign are counted by segment
-- and first purchase day, and their revenue (and its squares, for the
-- standard deviation, as exact decimals so every build adds them up to the
-- same figure) added up by segment, not listed one by one: the
-- comparable group is everyone eligible but the reached, and its sums the
-- eligible customers' less the reached ones'.
eligible_counts as (
    select c.campaign_id, f.segment, sum(f.customers) as eligible
    from campaigns c
    join (select segment, first_purchase_date, count(*) as customers from segments group by 1, 2) f
        on f.first_purchase_date < c.start_date
    group by 1, 2
),
reached_counts as (
    select r.campaign_id, s.segment,
        count(*) as reached,
        count(*) filter (where r.responded) as responded,
        count(*) filter (where r.purchased) as purchased
    from reached r
    join campaigns c using (campaign_id)
    join segments s using (customer_id)
    where s.first_purchase_date < c.start_date
    group by 1, 2
),
-- Revenue sums of the eligible customers who bought in the window, and of
-- the reached and the responders among them (the reached who did not buy
-- add nothing to a sum).
revenue_sums as (
    select w.campaign_id, s.segment,
        coalesce(sum(w.revenue_30d), 0) as rev30,
        sum(w.revenue_90d) as rev90,
        sum(cast(w.revenue_90d as decimal(18, 2)) * cast(w.revenue_90d as decimal(18, 2))) as sq90,
        coalesce(sum(w.revenue_30d) filter (where r.responded), 0) as rev30_resp,
        coalesce(sum(w.revenue_90d) filter (where r.responded), 0) as rev90_resp,
        coalesce(sum(w.revenue_30d) filter (where r.customer_id is not null), 0) as rev30_reached,
        coalesce(sum(w.revenue_90d) filter (where r.customer_id is not null), 0) as rev90_reached,
        coalesce(sum(cast(w.revenue_90d as decimal(18, 2)) * cast(w.revenue_90d as decimal(18, 2)))
            filter (where r.customer_id is not null), 0) as sq90_reached
    from window_revenue w
    join segments s on s.customer_id = w.customer_id and s.first_purchase_date < w.start_date
    left join reached r on r.campaign_id = w.campaign_id and r.customer_id = w.customer_id
    group by 1, 2
),
sums as (
    select e.campaign_id, e.segment,
        coalesce(r.reached, 0) as reached,
        coalesce(r.responded, 0) as responded,
        coalesce(r.purchased, 0) as purchased,
        e.eligible - coalesce(r.reached, 0) as comparable,
        case when r.responded > 0 then coalesce(v.rev30_resp, 0) end as rev30_resp,
        case when r.responded > 0 then coalesce(v.rev90_resp, 0) end as rev90_resp,
        case when r.reached > 0 then coalesce(v.rev30_reached, 0) end as rev30_reached,
        case when r.reached > 0 then coalesce(v.rev90_reached, 0) end as rev90_reached,
        case when r.reached > 0 then coalesce(v.sq90_reached, 0) end as sq90_reached,
        coalesce(v.rev30, 0) - coalesce(v.rev30_reached, 0) as rev30_comp,
        coalesce(v.rev90, 0) - coalesce(v.rev90_reached, 0) as rev90_comp,
        coalesce(v.sq90, 0) - coalesce(v.sq90_reached, 0) as sq90_comp
    from eligible_counts e
    left join reached_counts r using (campaign_id, segment)
    left join revenue_sums v using (campaign_id, segment)
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
    cast(s.comparable as bigint) as comparable_customers,
    s.rev30_comp / nullif(s.comparable, 0) as revenue_30d_per_comparable,
    s.rev90_comp / nullif(s.comparable, 0) as revenue_90d_per_comparable,
    s.rev30_reached / nullif(s.reached, 0) - s.rev30_comp / nullif(s.comparable, 0) as uplift_30d,
    s.rev90_reached / nullif(s.reached, 0) - s.rev90_comp / nullif(s.comparable, 0) as uplift_90d,
    -- sample standard deviations from the sums: (Σx² − (Σx)²/n) / (n − 1)
    case when s.reached > 1 then
        sqrt(greatest(0, (s.sq90_reached - s.rev90_reached * s.rev90_reached / s.reached) / (s.reached - 1))) end
        as revenue_90d_sd_reached,
    case when s.comparable > 1 then
        sqrt(greatest(0, (s.sq90_comp - s.rev90_comp * s.rev90_comp / s.comparable) / (s.comparable - 1))) end
        as revenue_90d_sd_comparable,
    cast(greatest(0, least(90, d.last_day - c.start_date + 1)) as integer) as days_observed,
    c.start_date + 90 <= d.last_day + 1 as is_window_complete
from sums s
join campaigns c using (campaign_id)
cross join data_end d
where s.reached > 0
order by c.start_date, c.campaign_id, s.segment
