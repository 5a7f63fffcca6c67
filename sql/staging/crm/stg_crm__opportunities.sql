-- Sales opportunities: latest version of each.
select opportunity_id, customer_id, product_category, stage, amount, created_at, closed_at, updated_at
from raw.crm_opportunities
qualify row_number() over (partition by opportunity_id order by updated_at desc) = 1
