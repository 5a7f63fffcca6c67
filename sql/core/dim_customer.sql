-- One golden row per real customer: the customer record that identity
-- resolution chose (see customer_identity_map) or, for buyers no customer
-- record knows, what the order system says of them
-- (customer_order_profile). Counts of the source
-- records merged in.
-- The counts of merged records and the customer record's and the order
-- customer number's normalised contacts come from one aggregation by
-- customer (customer_contacts has one row per source record), not from
-- joins: at 5,000,000 customers, four hash joins of millions of rows in
-- one query ran out of DuckDB's memory (a 1.35 GiB limit, two threads),
-- and an aggregation spills. (Folding customer_order_profile into the
-- aggregation as well needed more memory, not less.)
with keys as (
    select
        customer_id,
        count(*) filter (where kind = 'record' and source = 'customers') as customer_records,
        count(*) filter (where kind = 'record' and source = 'orders') as order_customer_numbers,
        any_value(email_norm) filter (where kind = 'contact' and source = 'customers') as customer_email,
        any_value(phone_norm) filter (where kind = 'contact' and source = 'customers') as customer_phone,
        any_value(email_norm) filter (where kind = 'contact' and source = 'orders') as orders_email,
        any_value(phone_norm) filter (where kind = 'contact' and source = 'orders') as orders_phone
    from (
        -- by name: the columns a branch lacks are NULL
        select 'record' as kind, customer_id, source
        from customer_identity_map
        where source in ('customers', 'orders')
        union all by name
        select 'contact' as kind, source_key as customer_id, source, email_norm, phone_norm
        from customer_contacts
        where source in ('customers', 'orders')
    )
    group by customer_id
    having count(*) filter (where kind = 'record') > 0
)

select
    k.customer_id,
    coalesce(c.name, b.customer_name) as customer_name,
    coalesce(c.customer_type, 'individual') as customer_type,
    c.company,
    coalesce(k.customer_email, k.orders_email) as email,
    coalesce(k.customer_phone, k.orders_phone) as phone,
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
left join customer_order_profile b on b.customer_id = k.customer_id
left join stg_account_managers am on am.manager_id = c.account_manager_id
