-- One golden row per real customer: the CRM record that identity
-- resolution chose (see customer_identity_map), or, for buyers the CRM does
-- not know, their billing record. Counts of the source records merged in.
with keys as (
    select
        customer_id,
        count(*) filter (where source = 'crm') as crm_records,
        count(*) filter (where source = 'billing') as billing_records
    from customer_identity_map
    where source in ('crm', 'billing')
    group by customer_id
),
billing_only as (
    select
        m.customer_id,
        arg_max(o.customer_name, o.ordered_at) as customer_name,
        min(o.ordered_at) as created_at
    from customer_identity_map m
    join stg_billing__orders o on o.billing_customer_no = m.source_key
    where m.rule = 'billing_only'
    group by m.customer_id
)
select
    k.customer_id,
    coalesce(c.customer_name, b.customer_name) as customer_name,
    coalesce(c.customer_type, 'individual') as customer_type,
    c.company,
    cc.email_norm as email,
    cc.phone_norm as phone,
    c.city,
    c.province,
    c.region,
    coalesce(c.acquisition_channel, 'unknown') as acquisition_channel,
    c.account_manager_id,
    am.manager_name as account_manager_name,
    am.manager_name_zh as account_manager_name_zh,
    coalesce(c.status, 'active') as status,
    coalesce(c.created_at, b.created_at) as created_at,
    c.customer_id is null as is_billing_only,
    k.crm_records,
    k.billing_records
from keys k
left join stg_crm__customers c on c.customer_id = k.customer_id
left join customer_contacts cc on cc.source = 'crm' and cc.source_key = k.customer_id
left join billing_only b on b.customer_id = k.customer_id
left join stg_crm__account_managers am on am.manager_id = c.account_manager_id
