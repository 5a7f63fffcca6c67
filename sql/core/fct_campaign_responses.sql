-- One row per campaign message sent to a customer, with the response
-- (none, opened, clicked, purchased).
select
    r.response_id,
    r.campaign_id,
    c.campaign_name,
    c.campaign_name_zh,
    c.channel,
    m.customer_id,
    r.customer_id as crm_customer_id,
    r.sent_at,
    r.responded_at,
    r.response,
    r.response <> 'none' as responded,
    r.response = 'purchased' as purchased
from stg_crm__campaign_responses r
left join stg_crm__campaigns c using (campaign_id)
left join customer_identity_map m on m.source = 'crm' and m.source_key = r.customer_id
