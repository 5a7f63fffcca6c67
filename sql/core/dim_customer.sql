-- One golden row per real customer: the customer record that identity
-- resolution chose (see customer_identity_map) or, for buyers no customer
-- record knows, what the order system says of them. Counts of the source
-- records merged in.
with keys as (
    select
        customer_id,
        count(*) filter (where source = 'customers') as customer_records,
        count(*) filter (where source = 'orders') as order_customer_numbers
    from customer_identity_map
    where source in ('customers', 'orders')
    group by customer_id
),
from_orders as (
    select
        m.customer_id,
        arg_max(o.customer_name, o.ordered_at) filter (where o.customer_name is not null) as customer_name,
        arg_max(o.city, o.ordered_at) filter (where o.city is not null) as city,
        arg_max(o.region, o.ordered_at) filter (where o.region is not null) as region,
        arg_min(o.channel, o.ordered_at) filter (where o.channel is not null) as first_channel,
        min(o.ordered_at) as first_order_at
    from customer_identity_map m
    join stg_orders o on o.customer_id = m.source_key
    where m.source = 'orders'
    group by m.customer_id
)
select
    k.customer_id,
    coalesce(c.name, b.customer_name) as customer_name,
    coalesce(c.customer_type, 'individual') as customer_type,
    c.company,
    coalesce(cc.email_norm, oc.email_norm) as email,
    coalesce(cc.phone_norm, oc.phone_norm) as phone,
    case when c.customer_id is null then b.city else c.city end as city,
    c.province,
    case when c.customer_id is null then b.region else c.region end as region,
    coalesce(c.channel, b.first_channel, 'unknown') as acquisition_channel,
    c.account_manager_id,
    am.name as account_manager_name,
    am.name_zh as account_manager_name_zh,
    coalesce(c.status, 'active') as status,
    coalesce(c.signed_up_at, b.first_order_at) as created_at,
    c.customer_id is null as is_orders_only,
    k.customer_records,
    k.order_customer_numbers
from keys k
left join stg_customers c on c.customer_id = k.customer_id
left join customer_contacts cc on cc.source = 'customers' and cc.source_key = k.customer_id
left join customer_contacts oc on oc.source = 'orders' and oc.source_key = k.customer_id
left join from_orders b on b.customer_id = k.customer_id
left join stg_account_managers am on am.manager_id = c.account_manager_id
