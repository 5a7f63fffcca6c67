-- One row per contact with a customer (call, e-mail, visit, message), with
-- the golden customer: the customer number it names is looked up among the
-- customer records first, then among the order system's numbers.
select
    i.contact_id as interaction_id,
    coalesce(mc.customer_id, mo.customer_id) as customer_id,
    i.customer_id as source_customer_id,
    i.channel,
    i.direction,
    i.topic,
    i.occurred_at,
    i.occurred_date,
    i.duration_seconds
from stg_contacts i
left join customer_identity_map mc on mc.source = 'customers' and mc.source_key = i.customer_id
left join customer_identity_map mo on mo.source = 'orders' and mo.source_key = i.customer_id
