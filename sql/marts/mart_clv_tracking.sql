-- PLACEHOLDER, written on the dashboards branch (issue 6) so that the
-- dashboards can be rendered and tested end to end before the analytics
-- work lands: the agreed columns of mart_clv_tracking. Week by week
-- through the holdout period (holdout_days before the data's last day),
-- the cumulative repeat purchase days of customers who bought before it,
-- actual and expected by a naive rule (each customer's calibration rate of
-- repeat purchases goes on). Replace with the real model's tracking when
-- merging.
with s as (
    select holdout_days from analytics_settings
),
bounds as (
    select max(order_date) - (select holdout_days from s) as cutoff
    from fct_orders where status = 'paid'
),
days as (
    select distinct customer_id, order_date from fct_orders where status = 'paid'
),
calibration as (
    select d.customer_id, (count(*) - 1) / greatest(datediff('day', min(d.order_date), any_value(b.cutoff)), 1) as daily_rate
    from days d cross join bounds b
    where d.order_date <= b.cutoff
    group by 1
),
weeks as (
    select cast(unnest(range(1, cast(ceil((select holdout_days from s) / 7) as integer) + 1)) as integer) as week
),
actual as (
    select cast(ceil(datediff('day', b.cutoff, d.order_date) / 7) as integer) as week, count(*) as purchases
    from days d
    cross join bounds b
    join calibration c using (customer_id)
    where d.order_date > b.cutoff
    group by 1
)
select
    w.week,
    cast(coalesce(sum(a.purchases) over (order by w.week), 0) as double) as actual_cumulative,
    (select sum(daily_rate) from calibration) * least(w.week * 7, (select holdout_days from s)) as expected_cumulative
from weeks w
left join actual a using (week)
order by w.week
