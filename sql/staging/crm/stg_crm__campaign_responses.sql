-- Who a campaign reached and how they responded: latest version of each.
select response_id, campaign_id, customer_id, sent_at, responded_at, response, updated_at
from raw.crm_campaign_responses
qualify row_number() over (partition by response_id order by updated_at desc) = 1
