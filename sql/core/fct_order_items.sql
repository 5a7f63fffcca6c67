-- One row per order line.
-- Amounts: gross = unit_price × quantity, discount, net = the line's amount.
-- Lines with a negative quantity are refund lines (line_type 'refund');
-- cancellations are per order: join fct_orders on order_id.
select
    order_id,
    line_no,
    source_stream,
    case when quantity < 0 then 'refund' else 'sale' end as line_type,
    product_id,
    quantity,
    unit_price,
    cast(unit_price * quantity as decimal(18, 2)) as gross_amount,
    discount_amount,
    amount as net_amount
from stg_order_lines
