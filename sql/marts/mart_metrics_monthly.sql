-- The parts every monthly KPI is computed from, one row per calendar month
-- (in the project's time zone) and cell of customers: their current region,
-- acquisition channel and RFM segment ('unknown' / 'none' where a customer
-- has none). Every column but the month flags adds up over cells, so a KPI
-- of any set of cells is a sum or a ratio of sums: the dashboards read the
-- KPIs by name from dashboards/metrics.yaml (which says how each is made of
-- these columns), compute them for all customers, and again in the browser
-- for the region, channel and segment a reader filters on. The totals of
-- all cells equal mart_kpi_monthly and mart_churn_monthly (tested).
--   orders, gross_revenue, refunds, net_revenue, active_customers,
--   new_customers       as in mart_kpi_monthly, for the cell's customers
--   retained_customers  active in the month and in the month before
--   prev_active_customers  active in the month before (retention's base)
--   customers_at_risk, churned_customers  as in mart_churn_monthly
--   complaints, complaints_resolved  complaints opened in the month
--   rated_tickets, satisfaction_points  tickets rated, and their ratings' sum
-- Month flags (the same in every cell of a month):
--   is_complete        the data reaches the month's last day
--   churn_mature       the first purchase in the data lies at least
--                      inactivity_days before the month: earlier months show no churn only because
--                      nobody could have been inactive that long yet
--   complaints_mature  every complaint of the month has had the time 95% of
--                      complaints take to be resolved (at least a day) by the
--                      last day with tickets: the newest month's resolution
--                      rate is not final yet
with s as (
    select inactivity_days from analytics_settings
),
cells as (
    select d.customer_id,
        coalesce(d.region, 'unknown') as region,
        coalesce(d.acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(r.rfm_segment, 'none') as rfm_segment
    from dim_customer d
    left join customer_rfm r using (customer_id)
),
bounds as (
    select min(order_month) as first_month, max(order_month) as last_month,
        max(order_date) as last_day
    from stg_orders
),
paid as (
    select customer_id, order_month as month, order_date, net_amount from fct_orders where status = 'paid'
),
-- Refunds by the month they were issued, for the customer of the refund row.
refunds as (
    select m.customer_id, o.order_month as month, sum(abs(o.amount)) as refunds
    from stg_orders o
    left join customer_identity_map m on m.source = 'orders' and m.source_key = o.customer_id
    where o.status = 'refund'
    group by 1, 2
),
active as (
    select customer_id, month, count(*) as orders, sum(net_amount) as gross_revenue
    from paid group by 1, 2
),
firsts as (
    select customer_id, min(order_date) as first_day, max(order_date) as last_day from paid group by 1
),
purchases as (
    select
        coalesce(a.customer_id, r.customer_id) as customer_id,
        coalesce(a.month, r.month) as month,
        coalesce(a.orders, 0) as orders,
        coalesce(a.gross_revenue, 0) as gross_revenue,
        coalesce(r.refunds, 0) as refunds,
        (a.customer_id is not null)::int as active,
        (a.customer_id is not null and date_trunc('month', f.first_day) = a.month)::int as new,
        (a.customer_id is not null and prev.customer_id is not null)::int as retained,
        0 as prev_active
    from active a
    full join refunds r on r.customer_id = a.customer_id and r.month = a.month
    left join firsts f on f.customer_id = a.customer_id
    left join active prev on prev.customer_id = a.customer_id and prev.month = a.month - interval 1 month
    union all
    -- the base of next month's retention
    select customer_id, cast(month + interval 1 month as date), 0, 0, 0, 0, 0, 0, 1
    from active
    where month < (select last_month from bounds)
),
-- Churn as mart_churn_monthly: at risk from the month after the first
-- purchase; churned on the day the last purchase is inactivity_days old.
churn_events as (
    select customer_id, cast(date_trunc('month', first_day) + interval 1 month as date) as month, 1 as entered, 0 as churned
    from firsts
    union all
    select customer_id, cast(date_trunc('month', last_day + (select inactivity_days from s)) as date), 0, 1
    from firsts
),
months as (
    select cast(unnest(generate_series(first_month, last_month, interval 1 month)) as date) as month from bounds
),
churn_cells as (
    select c.region, c.acquisition_channel, c.rfm_segment, e.month, sum(e.entered) as entered, sum(e.churned) as churned
    from churn_events e join cells c using (customer_id)
    group by all
),
churn_grid as (
    select k.region, k.acquisition_channel, k.rfm_segment, m.month,
        coalesce(e.entered, 0) as entered, coalesce(e.churned, 0) as churned
    from (select distinct region, acquisition_channel, rfm_segment from churn_cells) k
    cross join months m
    left join churn_cells e using (region, acquisition_channel, rfm_segment, month)
),
churn as (
    select region, acquisition_channel, rfm_segment, month, churned,
        sum(entered) over w - coalesce(sum(churned) over (w rows between unbounded preceding and 1 preceding), 0) as at_risk
    from churn_grid
    window w as (partition by region, acquisition_channel, rfm_segment order by month)
),
tickets as (
    select customer_id, opened_month as month,
        count(*) filter (where is_complaint) as complaints,
        count(*) filter (where is_complaint and is_resolved) as complaints_resolved,
        count(satisfaction) as rated_tickets,
        coalesce(sum(satisfaction), 0) as satisfaction_points
    from fct_tickets
    group by 1, 2
),
ticket_window as (
    select max(opened_date) as last_day,
        greatest(1, ceil(coalesce(quantile_cont(resolution_hours, 0.95) filter (where is_complaint and is_resolved), 0) / 24)) as days
    from fct_tickets
),
parts as (
    select coalesce(c.region, 'unknown') as region, coalesce(c.acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(c.rfm_segment, 'none') as rfm_segment, p.month,
        sum(p.orders) as orders, sum(p.gross_revenue) as gross_revenue, sum(p.refunds) as refunds,
        sum(p.active) as active_customers, sum(p.new) as new_customers,
        sum(p.retained) as retained_customers, sum(p.prev_active) as prev_active_customers,
        0 as customers_at_risk, 0 as churned_customers,
        0 as complaints, 0 as complaints_resolved, 0 as rated_tickets, 0 as satisfaction_points
    from purchases p left join cells c using (customer_id)
    group by all
    union all
    select region, acquisition_channel, rfm_segment, month, 0, 0, 0, 0, 0, 0, 0, at_risk, churned, 0, 0, 0, 0
    from churn
    union all
    select coalesce(c.region, 'unknown'), coalesce(c.acquisition_channel, 'unknown'), coalesce(c.rfm_segment, 'none'), t.month,
        0, 0, 0, 0, 0, 0, 0, 0, 0, t.complaints, t.complaints_resolved, t.rated_tickets, t.satisfaction_points
    from tickets t left join cells c using (customer_id)
    where t.month between (select first_month from bounds) and (select last_month from bounds)
),
summed as (
    select month, region, acquisition_channel, rfm_segment,
        sum(orders) as orders, sum(gross_revenue) as gross_revenue, sum(refunds) as refunds,
        sum(active_customers) as active_customers, sum(new_customers) as new_customers,
        sum(retained_customers) as retained_customers, sum(prev_active_customers) as prev_active_customers,
        sum(customers_at_risk) as customers_at_risk, sum(churned_customers) as churned_customers,
        sum(complaints) as complaints, sum(complaints_resolved) as complaints_resolved,
        sum(rated_tickets) as rated_tickets, sum(satisfaction_points) as satisfaction_points
    from parts
    group by all
)
select
    x.month,
    x.region,
    x.acquisition_channel,
    x.rfm_segment,
    last_day(x.month) <= b.last_day as is_complete,
    x.month >= (select min(first_day) from firsts) + (select inactivity_days from s) as churn_mature,
    last_day(x.month) + cast(w.days as integer) <= w.last_day as complaints_mature,
    cast(x.orders as bigint) as orders,
    cast(x.gross_revenue as decimal(18, 2)) as gross_revenue,
    cast(x.refunds as decimal(18, 2)) as refunds,
    cast(x.gross_revenue - x.refunds as decimal(18, 2)) as net_revenue,
    cast(x.active_customers as bigint) as active_customers,
    cast(x.new_customers as bigint) as new_customers,
    cast(x.retained_customers as bigint) as retained_customers,
    cast(x.prev_active_customers as bigint) as prev_active_customers,
    cast(x.customers_at_risk as bigint) as customers_at_risk,
    cast(x.churned_customers as bigint) as churned_customers,
    cast(x.complaints as bigint) as complaints,
    cast(x.complaints_resolved as bigint) as complaints_resolved,
    cast(x.rated_tickets as bigint) as rated_tickets,
    cast(x.satisfaction_points as bigint) as satisfaction_points
from summed x
cross join bounds b
cross join ticket_window w
where x.orders <> 0 or x.refunds <> 0 or x.active_customers <> 0 or x.prev_active_customers <> 0
    or x.customers_at_risk <> 0 or x.churned_customers <> 0 or x.complaints <> 0 or x.rated_tickets <> 0
order by x.month, x.region, x.acquisition_channel, x.rfm_segment
