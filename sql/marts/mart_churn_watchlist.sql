-- The early-warning list (流失预警): valuable customers (value tier top_1,
-- top_5 or top_20) who have not churned and show a warning sign, with the
-- signals behind each and a suggested action, most urgent first. Signals:
--   p_alive_drop       P(alive) fell by 0.2 or more in 90 days
--   overdue            more than 1.5 times their usual purchase interval
--                      since the last purchase (or 90 days for one-time buyers)
--   recent_complaint   a complaint in the last 90 days
--   unresolved_ticket  a ticket still open
--   falling_orders     the last three purchase days averaged at least 30%
--                      less than the ones before
-- Priority ranks by expected value at risk: clv_12m × (1 − p_alive) plus
-- a weight per signal, then net revenue (all there is to rank on when CLV
-- is unavailable: then value tiers come from recent revenue and P(alive)
-- gives no signal).
with base as (
    select * from mart_customer_value
    where value_tier in ('top_1', 'top_5', 'top_20') and not is_churned
),
as_of as (select max(as_of_date) as as_of_date from customer_purchases),
-- Ticket counts are NULL, not 0, when the project maps no tickets.
coverage as (select exists (select 1 from fct_tickets) as has_tickets),
tickets as (
    select t.customer_id,
        count(*) filter (where t.is_complaint and t.opened_date > a.as_of_date - 90) as recent_complaints,
        count(*) filter (where not t.is_resolved) as unresolved_tickets
    from fct_tickets t cross join as_of a
    group by 1
),
purchase_days as (
    select customer_id, order_date, sum(net_amount) as paid,
        row_number() over (partition by customer_id order by order_date desc) as n
    from fct_orders where status = 'paid'
    group by 1, 2
),
trend as (
    select customer_id,
        avg(paid) filter (where n <= 3) as last3,
        avg(paid) filter (where n > 3) as before
    from purchase_days
    group by 1
    having count(*) >= 6
),
flags as (
    select b.*,
        case when c.has_tickets then coalesce(t.recent_complaints, 0) end as recent_complaints,
        case when c.has_tickets then coalesce(t.unresolved_tickets, 0) end as unresolved_tickets,
        tr.last3 / nullif(tr.before, 0) - 1 as order_value_change,
        b.p_alive_90d_ago - b.p_alive >= 0.2 as sig_p_alive_drop,
        b.days_since_last_purchase > 1.5 * coalesce(b.avg_days_between_purchases, 60) as sig_overdue,
        coalesce(t.recent_complaints, 0) > 0 as sig_complaint,
        coalesce(t.unresolved_tickets, 0) > 0 as sig_unresolved,
        coalesce(tr.last3 / nullif(tr.before, 0) - 1 <= -0.3, false) as sig_falling
    from base b
    cross join coverage c
    left join tickets t using (customer_id)
    left join trend tr using (customer_id)
),
listed as (
    select *,
        list_filter([
            case when sig_p_alive_drop then 'P(alive) dropped' end,
            case when sig_overdue then 'overdue' end,
            case when sig_complaint then 'recent complaint' end,
            case when sig_unresolved then 'unresolved ticket' end,
            case when sig_falling then 'falling order value' end], x -> x is not null) as sigs,
        list_filter([
            case when sig_p_alive_drop then '存活概率下降' end,
            case when sig_overdue then '超过惯常购买间隔' end,
            case when sig_complaint then '近期投诉' end,
            case when sig_unresolved then '工单未解决' end,
            case when sig_falling then '客单价下降' end], x -> x is not null) as sigs_zh
    from flags
    where sig_p_alive_drop or sig_overdue or sig_complaint or sig_unresolved or sig_falling
)
select
    cast(row_number() over (order by coalesce(clv_12m * (1 - p_alive), 0)
        + 100 * (sig_complaint::int + sig_unresolved::int + coalesce(sig_p_alive_drop, false)::int) desc,
        net_revenue desc, customer_id) as integer) as priority,
    customer_id,
    customer_name,
    account_manager_id,
    account_manager_name,
    account_manager_name_zh,
    region,
    rfm_segment,
    value_tier,
    clv_12m,
    p_alive,
    p_alive_90d_ago,
    days_since_last_purchase,
    cast(round(avg_days_between_purchases) as integer) as usual_interval_days,
    recent_complaints,
    unresolved_tickets,
    order_value_change,
    array_to_string(sigs, ', ') as signals,
    array_to_string(sigs_zh, '，') as signals_zh,
    case
        when sig_unresolved or sig_complaint then 'Account manager calls within 48 hours to resolve the complaint or open ticket, then offers a goodwill gesture'
        when sig_p_alive_drop or sig_overdue then 'Account manager reaches out with a personal offer based on past purchases'
        else 'Review recent orders and recommend products in their favourite categories'
    end as suggested_action,
    case
        when sig_unresolved or sig_complaint then '客户经理48小时内致电，解决投诉或未结工单，并给予补偿'
        when sig_p_alive_drop or sig_overdue then '客户经理主动联系，基于历史购买提供个性化优惠'
        else '回顾近期订单，推荐其偏好品类的商品'
    end as suggested_action_zh
from listed
order by priority
