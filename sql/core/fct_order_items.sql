-- One row per order line.
-- Amounts: gross = unit_price × quantity, discount, net = line_amount.
-- Lines of refund rows have negative quantities and amounts (line_type
-- 'refund'); cancellations are per order: join fct_orders on order_id.
select
    order_id,
    line_no,
    billing_system,
    case when quantity < 0 then 'refund' else 'sale' end as line_type,
    product_code,
    quantity,
    unit_price,
    cast(unit_price * quantity as decimal(18, 2)) as gross_amount,
    discount_amount,
    line_amount as net_amount
from stg_billing__order_lines
