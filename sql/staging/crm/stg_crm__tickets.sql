-- Service tickets and complaints: latest version of each.
select ticket_id, customer_id, category, priority, subject, opened_at, resolved_at, status, satisfaction, updated_at
from raw.crm_tickets
qualify row_number() over (partition by ticket_id order by updated_at desc) = 1
