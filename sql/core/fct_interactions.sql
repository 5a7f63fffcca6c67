-- One row per contact with a customer (call, e-mail, visit, WeChat),
-- with the golden customer.
select
    i.interaction_id,
    m.customer_id,
    i.customer_id as crm_customer_id,
    i.channel,
    i.direction,
    i.topic,
    i.occurred_at,
    cast(timezone('Asia/Shanghai', i.occurred_at) as date) as occurred_date,
    i.duration_seconds
from stg_crm__interactions i
left join customer_identity_map m on m.source = 'crm' and m.source_key = i.customer_id
