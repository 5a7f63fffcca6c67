-- Account managers: one row per manager_id, latest version.
select manager_id, name as manager_name, name_zh as manager_name_zh, region as manager_region, hired_at, updated_at
from raw.crm_account_managers
qualify row_number() over (partition by manager_id order by updated_at desc) = 1
