-- Contacts with customers (call, e-mail, visit, WeChat): latest version of each.
select interaction_id, customer_id, channel, direction, topic, occurred_at, duration_seconds, updated_at
from raw.crm_interactions
qualify row_number() over (partition by interaction_id order by updated_at desc) = 1
