-- Which golden customer each source record belongs to, and the rule that
-- decided it. Rules, in order:
--   crm_self       a CRM record that shares no identifier with an earlier one
--   crm_email      a later CRM record with the e-mail of an earlier record
--   crm_phone      a later CRM record with the phone of an earlier record
--   billing_email  a billing customer number whose e-mail is a CRM customer's
--   billing_phone  a billing customer number whose phone is a CRM customer's
--   billing_only   a billing customer number unknown to the CRM
--   survey_email   a survey answer whose e-mail is a customer's
--   survey_phone   a survey answer whose phone is a customer's
--   survey_unmatched  a survey answer from nobody we know (customer_id NULL)
-- "Earlier" means created first (ties: the smaller id). A CRM duplicate
-- points at the earliest record it shares an identifier with, and that
-- record's own golden customer is followed once more, so chains of two
-- duplicates end at one golden record. The golden customer_id is the CRM
-- customer_id, or 'B:' || billing number for billing-only customers.
with crm as (
    select source_key, email_norm, phone_norm, first_seen_at
    from customer_contacts where source = 'crm'
),
-- The earliest CRM record with each e-mail and each phone.
email_first as (
    select email_norm, source_key as first_key
    from crm where email_norm is not null
    qualify row_number() over (partition by email_norm order by first_seen_at, source_key) = 1
),
phone_first as (
    select phone_norm, source_key as first_key
    from crm where phone_norm is not null
    qualify row_number() over (partition by phone_norm order by first_seen_at, source_key) = 1
),
crm_first as (
    select
        c.source_key,
        case
            when e.first_key <> c.source_key then e.first_key
            when p.first_key <> c.source_key then p.first_key
            else c.source_key
        end as anchor,
        case
            when e.first_key <> c.source_key then 'crm_email'
            when p.first_key <> c.source_key then 'crm_phone'
            else 'crm_self'
        end as rule
    from crm c
    left join email_first e on e.email_norm = c.email_norm
    left join phone_first p on p.phone_norm = c.phone_norm
),
crm_golden as (
    select f.source_key, a.anchor as customer_id, f.rule
    from crm_first f
    join crm_first a on a.source_key = f.anchor
),
matched as (
    -- Billing customer numbers and survey answers, matched to the golden
    -- customer of the earliest CRM record with their e-mail, else phone.
    select b.source, b.source_key, ge.customer_id as by_email, gp.customer_id as by_phone
    from customer_contacts b
    left join email_first e on e.email_norm = b.email_norm
    left join crm_golden ge on ge.source_key = e.first_key
    left join phone_first p on p.phone_norm = b.phone_norm
    left join crm_golden gp on gp.source_key = p.first_key
    where b.source in ('billing', 'survey')
)
select 'crm' as source, source_key, customer_id, rule
from crm_golden
union all
select source, source_key,
    coalesce(by_email, by_phone, case when source = 'billing' then 'B:' || source_key end) as customer_id,
    source || case when by_email is not null then '_email'
                   when by_phone is not null then '_phone'
                   when source = 'billing' then '_only'
                   else '_unmatched' end as rule
from matched
