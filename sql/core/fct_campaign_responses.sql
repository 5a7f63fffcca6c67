-- One row per campaign message sent to a customer, with the response
-- (none, opened, clicked, purchased).
select
    r.response_id,
    r.campaign_id,
    c.name as campaign_name,
    c.name_zh as campaign_name_zh,
    c.channel,
    coalesce(mc.customer_id, mo.customer_id) as customer_id,
    r.customer_id as source_customer_id,
    r.sent_at,
    r.responded_at,
    r.response,
    r.response <> 'none' as responded,
    r.response = 'purchased' as purchased
from stg_campaign_responses r
left join stg_campaigns c using (campaign_id)
left join customer_identity_map mc on mc.source = 'customers' and mc.source_key = r.customer_id
left join customer_identity_map mo on mo.source = 'orders' and mo.source_key = r.customer_id
