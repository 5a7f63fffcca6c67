-- What preceded churn. For every customer who bought, the signals in the
-- 90 days before and the 90 days after their last purchase (the same
-- window for everyone, cut at the end of the data): ticket categories, an
-- unresolved ticket, a low satisfaction score (1-2), and topics of contacts
-- they started. Each
-- signal's share among churned customers is set against its share among
-- customers who have not churned; lift > 1 means the signal is more common
-- before churn (inactivity definition, as mart_churn_monthly).
with s as (
    select inactivity_days from analytics_settings
),
people as (
    select
        p.customer_id,
        p.last_purchase_date + (select inactivity_days from s) <= p.as_of_date as churned,
        p.last_purchase_date - interval 90 day as window_start,
        least(p.last_purchase_date + interval 90 day, p.as_of_date) as window_end
    from customer_purchases p
),
signals as (
    select distinct p.customer_id, 'ticket:' || t.category as reason
    from people p join fct_tickets t on t.customer_id = p.customer_id
        and t.opened_date between p.window_start and p.window_end
    union
    select distinct p.customer_id, 'unresolved_ticket'
    from people p join fct_tickets t on t.customer_id = p.customer_id
        and t.opened_date between p.window_start and p.window_end and not t.is_resolved
    union
    select distinct p.customer_id, 'low_satisfaction'
    from people p join fct_tickets t on t.customer_id = p.customer_id
        and t.opened_date between p.window_start and p.window_end and t.satisfaction <= 2
    union
    select distinct p.customer_id, 'contact:' || i.topic
    from people p join fct_interactions i on i.customer_id = p.customer_id and i.direction = 'inbound'
        and i.occurred_date between p.window_start and p.window_end
),
totals as (
    select count(*) filter (where churned) as churned, count(*) filter (where not churned) as retained from people
),
counts as (
    select g.reason,
        count(*) filter (where p.churned) as churned_with_reason,
        count(*) filter (where not p.churned) as retained_with_reason
    from signals g join people p using (customer_id)
    group by 1
)
select
    c.reason,
    c.churned_with_reason,
    c.churned_with_reason / nullif(t.churned, 0) as share_of_churned,
    c.retained_with_reason,
    c.retained_with_reason / nullif(t.retained, 0) as share_of_retained,
    (c.churned_with_reason / nullif(t.churned, 0)) / nullif(c.retained_with_reason / nullif(t.retained, 0), 0) as lift
from counts c cross join totals t
order by share_of_churned desc, reason
