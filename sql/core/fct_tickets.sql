-- One row per service ticket or complaint, with how long it took to
-- resolve (hours from opened to resolved; NULL while open) and the
-- customer's satisfaction (1-5) when given.
select
    t.ticket_id,
    m.customer_id,
    t.customer_id as crm_customer_id,
    t.category,
    t.category = 'complaint' as is_complaint,
    t.priority,
    t.subject,
    t.status,
    t.resolved_at is not null as is_resolved,
    t.opened_at,
    t.resolved_at,
    cast(date_trunc('month', timezone('Asia/Shanghai', t.opened_at)) as date) as opened_month,
    round(epoch(t.resolved_at - t.opened_at) / 3600.0, 2) as resolution_hours,
    t.satisfaction
from stg_crm__tickets t
left join customer_identity_map m on m.source = 'crm' and m.source_key = t.customer_id
