-- How each account manager's customers do, by month (the case studies
-- judge account managers by their customers, not only by sales). Customers
-- are those assigned to the manager now (dim_customer). Per month:
-- customers served (had bought by the month's end), active customers, their
-- net revenue, retention (share of the previous month's active customers
-- who bought again), complaints opened (NULL when the project maps no
-- tickets), how many of them are resolved, and the median hours to
-- resolve their tickets. clv_12m_total and clv_change_90d are as of the end of the
-- data: the customers' 12-month CLV now, and its change against the CLV the
-- same model gave them 90 days earlier.
with coverage as (
    select exists (select 1 from fct_tickets) as has_tickets
),
am as (
    select manager_id, name as manager_name, name_zh as manager_name_zh, region as manager_region from stg_account_managers
),
customers as (
    select d.customer_id, d.account_manager_id, p.first_purchase_date
    from dim_customer d join customer_purchases p using (customer_id)
    where d.account_manager_id is not null
),
months as (
    select cast(unnest(generate_series(min(order_month), max(order_month), interval 1 month)) as date) as month
    from fct_orders where status = 'paid'
),
activity as (
    select c.account_manager_id, o.order_month as month, o.customer_id, sum(o.net_revenue) as net_revenue
    from fct_orders o join customers c using (customer_id)
    where o.status = 'paid'
    group by 1, 2, 3
),
by_month as (
    select account_manager_id, month, count(*) as active_customers, sum(net_revenue) as net_revenue
    from activity group by 1, 2
),
retained as (
    select cur.account_manager_id, cur.month, count(*) as retained
    from activity cur
    join activity prev on prev.customer_id = cur.customer_id and prev.month = cur.month - interval 1 month
    group by 1, 2
),
served as (
    select c.account_manager_id, m.month, count(*) as customers_served
    from customers c join months m on c.first_purchase_date < m.month + interval 1 month
    group by 1, 2
),
service as (
    select c.account_manager_id, t.opened_month as month,
        count(*) filter (where t.is_complaint) as complaints,
        count(*) filter (where t.is_complaint and t.is_resolved) as complaints_resolved,
        median(t.resolution_hours) as median_resolution_hours
    from fct_tickets t join customers c using (customer_id)
    group by 1, 2
),
clv as (
    select c.account_manager_id, sum(s.clv_12m) as clv_12m_total, sum(s.clv_12m - s.clv_12m_90d_ago) as clv_change_90d
    from clv_scores s join customers c using (customer_id)
    group by 1
)
select
    am.manager_id as account_manager_id,
    am.manager_name,
    am.manager_name_zh,
    am.manager_region,
    m.month,
    coalesce(sv.customers_served, 0) as customers_served,
    coalesce(b.active_customers, 0) as active_customers,
    cast(coalesce(b.net_revenue, 0) as decimal(18, 2)) as net_revenue,
    r.retained / nullif(lag(b.active_customers) over (partition by am.manager_id order by m.month), 0) as retention_rate,
    case when (select has_tickets from coverage) then coalesce(t.complaints, 0) end as complaints,
    t.median_resolution_hours,
    case when (select has_tickets from coverage) then coalesce(t.complaints_resolved, 0) end as complaints_resolved,
    cast(cl.clv_12m_total as decimal(18, 2)) as clv_12m_total,
    cast(cl.clv_change_90d as decimal(18, 2)) as clv_change_90d
from am
cross join months m
left join served sv on sv.account_manager_id = am.manager_id and sv.month = m.month
left join by_month b on b.account_manager_id = am.manager_id and b.month = m.month
left join retained r on r.account_manager_id = am.manager_id and r.month = m.month
left join service t on t.account_manager_id = am.manager_id and t.month = m.month
left join clv cl on cl.account_manager_id = am.manager_id
order by am.manager_id, m.month
