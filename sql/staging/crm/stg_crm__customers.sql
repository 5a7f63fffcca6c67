-- CRM customers: one row per customer_id, its latest extracted version.
-- The lake keeps every version the CRM ever had (incremental extraction by
-- updated_at); staging picks the newest.
select
    customer_id,
    customer_type,
    name as customer_name,
    nullif(trim(company), '') as company,
    email,
    phone,
    city,
    province,
    region,
    channel as acquisition_channel,
    account_manager_id,
    status,
    created_at,
    updated_at
from raw.crm_customers
qualify row_number() over (partition by customer_id order by updated_at desc) = 1
