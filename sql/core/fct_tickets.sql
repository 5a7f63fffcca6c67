-- One row per service ticket or complaint, with how long it took to
-- resolve (hours from opened to resolved; NULL while open) and the
-- customer's satisfaction rating (1-5) when given.
select
    t.ticket_id,
    coalesce(mc.customer_id, mo.customer_id) as customer_id,
    t.customer_id as source_customer_id,
    t.category,
    t.is_complaint,
    t.priority,
    t.subject,
    t.status,
    t.resolved_at is not null as is_resolved,
    t.opened_at,
    t.resolved_at,
    t.opened_date,
    t.opened_month,
    round(epoch(t.resolved_at - t.opened_at) / 3600.0, 2) as resolution_hours,
    t.rating as satisfaction
from stg_tickets t
left join customer_identity_map mc on mc.source = 'customers' and mc.source_key = t.customer_id
left join customer_identity_map mo on mo.source = 'orders' and mo.source_key = t.customer_id
