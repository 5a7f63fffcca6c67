-- One row per customer who bought, summarising their purchase history in
-- days, as of the last day with orders in the data. This is the input of
-- RFM, cohorts, churn and the CLV models (docs/analytics.md):
--   frequency x      repeat purchase days (days with a paid order, minus one)
--   recency t_x      days from the first to the last purchase day
--   tenure T         days from the first purchase day to the as-of day
--   monetary         mean order value of the repeat purchase days
-- Amounts are what customers paid (net_amount, after discounts, before
-- refunds); net_revenue also subtracts refunds (those naming an order and
-- those that do not). A view over customer_order_summary: the as-of day
-- moves with every new day of orders, the summary only where orders came.
with as_of as (
    select max(last_purchase_date) as as_of_date from customer_order_summary
)
select
    s.customer_id,
    s.first_purchase_date,
    s.cohort_month,
    s.last_purchase_date,
    a.as_of_date,
    s.purchase_days,
    s.orders,
    s.paid_amount,
    s.net_revenue,
    s.frequency,
    s.recency,
    datediff('day', s.first_purchase_date, a.as_of_date) as tenure,
    datediff('day', s.last_purchase_date, a.as_of_date) as days_since_last_purchase,
    s.monetary,
    s.avg_purchase_value,
    s.avg_days_between_purchases
from customer_order_summary s
cross join as_of a
