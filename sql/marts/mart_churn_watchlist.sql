-- PLACEHOLDER, written on the dashboards branch (issue 6) so that the
-- dashboards can be rendered and tested end to end before the analytics
-- work lands: the agreed columns of mart_churn_watchlist, from the
-- placeholder mart_customer_value and simple rules. Replace with the real
-- mart when merging.
-- Valuable customers (top 20% by clv_12m) at risk (churn_risk) and not yet
-- churned, most valuable and least likely to stay first (priority 1).
with at_risk as (
    select * from mart_customer_value
    where churn_risk and not is_churned and value_tier in ('top_1', 'top_5', 'top_20')
),
typical as (
    select coalesce(median(avg_days_between_purchases), 90) as interval_days from customer_purchases
),
tickets as (
    select customer_id,
        count(*) filter (where is_complaint and opened_at >= (select max(opened_at) from fct_tickets) - interval 90 day) as recent_complaints,
        count(*) filter (where not is_resolved) as unresolved_tickets
    from fct_tickets
    group by 1
),
orders as (
    select customer_id, arg_max(net_amount, ordered_at) as last_value, avg(net_amount) as avg_value
    from fct_orders where status = 'paid'
    group by 1
),
facts as (
    select a.*,
        round(coalesce(p.avg_days_between_purchases, t.interval_days)) as usual_interval_days,
        exp(-greatest(a.days_since_last_purchase - 90, 0) / greatest(coalesce(p.avg_days_between_purchases, t.interval_days), 1)) as p_alive_90d_ago,
        coalesce(k.recent_complaints, 0) as recent_complaints,
        coalesce(k.unresolved_tickets, 0) as unresolved_tickets,
        o.last_value / nullif(o.avg_value, 0) - 1 as order_value_change
    from at_risk a
    cross join typical t
    join customer_purchases p using (customer_id)
    left join tickets k using (customer_id)
    left join orders o using (customer_id)
)
select
    cast(row_number() over (order by clv_12m * (1 - p_alive) desc, customer_id) as integer) as priority,
    customer_id,
    customer_name,
    account_manager_name,
    account_manager_name_zh,
    value_tier,
    clv_12m,
    p_alive,
    p_alive_90d_ago,
    days_since_last_purchase,
    usual_interval_days,
    recent_complaints,
    unresolved_tickets,
    order_value_change,
    concat_ws(', ',
        case when days_since_last_purchase > 1.5 * usual_interval_days then 'overdue' end,
        case when p_alive < p_alive_90d_ago - 0.2 then 'P(alive) falling' end,
        case when recent_complaints > 0 then 'recent complaint' end,
        case when unresolved_tickets > 0 then 'unresolved ticket' end,
        case when order_value_change <= -0.3 then 'smaller orders' end) as signals,
    concat_ws('，',
        case when days_since_last_purchase > 1.5 * usual_interval_days then '超期未购' end,
        case when p_alive < p_alive_90d_ago - 0.2 then '存活概率下降' end,
        case when recent_complaints > 0 then '近期投诉' end,
        case when unresolved_tickets > 0 then '工单未解决' end,
        case when order_value_change <= -0.3 then '订单金额下降' end) as signals_zh,
    case
        when unresolved_tickets > 0 then 'Resolve the open ticket, then call'
        when recent_complaints > 0 then 'Call about the complaint and offer a goodwill gesture'
        when value_tier = 'top_1' then 'Account manager visit this week'
        else 'Personal call with a tailored offer'
    end as suggested_action,
    case
        when unresolved_tickets > 0 then '先解决未结工单，再电话回访'
        when recent_complaints > 0 then '就投诉致电并提供补偿'
        when value_tier = 'top_1' then '客户经理本周上门拜访'
        else '个人电话回访并提供定制优惠'
    end as suggested_action_zh
from facts
order by priority
