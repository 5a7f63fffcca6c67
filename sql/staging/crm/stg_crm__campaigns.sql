-- Marketing campaigns: latest version of each.
select campaign_id, name as campaign_name, name_zh as campaign_name_zh, channel, start_date, end_date, target_segment, updated_at
from raw.crm_campaigns
qualify row_number() over (partition by campaign_id order by updated_at desc) = 1
