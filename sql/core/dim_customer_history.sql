-- Type-2 history of the attributes of a customer that change: region,
-- account manager, status and value tier. Each build observes today's
-- values; a change closes the current row (valid_to, closed_reason
-- 'changed') and opens a new one; a customer gone from the source closes
-- with 'deleted_in_source'. See dim_customer_history.yml.
select
    d.customer_id,
    d.region,
    d.account_manager_id,
    d.status,
    t.value_tier
from dim_customer d
join customer_value_tiers t using (customer_id)
