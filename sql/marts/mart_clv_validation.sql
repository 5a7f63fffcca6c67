-- PLACEHOLDER, written on the dashboards branch (issue 6) so that the
-- dashboards can be rendered and tested end to end before the analytics
-- work lands: the agreed columns of mart_clv_validation. The data is split
-- at holdout_days before its last day; customers are grouped by their
-- repeat purchase days in the calibration period, and for each group the
-- mean purchase days per customer in the holdout period, predicted by a
-- naive rule (the calibration rate of repeat purchases goes on) and
-- actual. Replace with the real model's check when merging.
with s as (
    select holdout_days from analytics_settings
),
bounds as (
    select max(order_date) as last_day, max(order_date) - (select holdout_days from s) as cutoff
    from fct_orders where status = 'paid'
),
days as (
    select distinct customer_id, order_date from fct_orders where status = 'paid'
),
calibration as (
    select d.customer_id, count(*) - 1 as repeat_days, min(d.order_date) as first_day
    from days d cross join bounds b
    where d.order_date <= b.cutoff
    group by 1
),
holdout as (
    select d.customer_id, count(*) as purchase_days
    from days d cross join bounds b
    where d.order_date > b.cutoff
    group by 1
),
per_customer as (
    select c.repeat_days,
        c.repeat_days / greatest(datediff('day', c.first_day, b.cutoff), 1) * (select holdout_days from s) as predicted,
        coalesce(h.purchase_days, 0) as actual
    from calibration c
    cross join bounds b
    left join holdout h using (customer_id)
)
select
    case when repeat_days >= 7 then '7+' else cast(repeat_days as varchar) end as frequency_bucket,
    count(*) as customers,
    avg(predicted) as predicted_holdout,
    avg(cast(actual as double)) as actual_holdout
from per_customer
group by 1
order by 1
