-- Billing orders from both billing systems, in one shape: the modern
-- system's daily exports and the legacy system's GB18030 exports (Chinese
-- status words mapped to paid / cancelled / refund). One row per order_id.
with unioned as (
    select
        'modern' as billing_system,
        order_id, billing_customer_no, customer_name, email, phone, order_time,
        lower(trim(status)) as status,
        ship_city, currency, gross_amount, discount_amount, net_amount,
        nullif(trim(original_order_id), '') as original_order_id
    from raw.billing_orders
    union all
    select
        'legacy' as billing_system,
        order_id, billing_customer_no, customer_name, email, phone, order_time,
        case trim(status)
            when '已支付' then 'paid'
            when '已取消' then 'cancelled'
            when '退款' then 'refund'
            else lower(trim(status))
        end as status,
        ship_city, currency, gross_amount, discount_amount, net_amount,
        nullif(trim(original_order_id), '') as original_order_id
    from raw.billing_legacy_orders
)
select
    billing_system,
    trim(order_id) as order_id,
    trim(billing_customer_no) as billing_customer_no,
    customer_name,
    email,
    phone,
    order_time as ordered_at,
    status,
    ship_city,
    coalesce(currency, 'CNY') as currency,
    gross_amount,
    coalesce(discount_amount, 0) as discount_amount,
    net_amount,
    original_order_id
from unioned
qualify row_number() over (partition by trim(order_id) order by ordered_at desc, billing_system) = 1
