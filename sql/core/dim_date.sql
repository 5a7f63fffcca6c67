-- One row per calendar day from the first order to a year after the last,
-- in the project's calendar (its time zone), with English and Chinese names.
with bounds as (
    select min(order_date) as first_day, max(order_date) + interval 1 year as last_day
    from stg_orders
),
days as (
    select cast(unnest(generate_series(first_day, last_day, interval 1 day)) as date) as date_day from bounds
)
select
    date_day,
    year(date_day) as year,
    quarter(date_day) as quarter,
    month(date_day) as month,
    cast(date_trunc('month', date_day) as date) as month_start,
    strftime(date_day, '%B') as month_name,
    month(date_day) || '月' as month_name_zh,
    isoyear(date_day) as iso_year,
    week(date_day) as iso_week,
    isodow(date_day) as iso_weekday,
    strftime(date_day, '%A') as weekday_name,
    '星期' || ['一', '二', '三', '四', '五', '六', '日'][isodow(date_day)] as weekday_name_zh,
    isodow(date_day) >= 6 as is_weekend
from days
