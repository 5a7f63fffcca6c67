-- One row per survey answer, matched to a customer by e-mail or phone
-- (customer_id NULL when the respondent is unknown). nps_group follows the
-- Net Promoter convention: 9-10 promoter, 7-8 passive, 0-6 detractor.
select
    s.response_id,
    m.customer_id,
    m.rule as match_rule,
    s.submitted_at,
    cast(date_trunc('month', timezone('Asia/Shanghai', s.submitted_at)) as date) as submitted_month,
    s.nps,
    case when s.nps >= 9 then 'promoter' when s.nps >= 7 then 'passive' when s.nps >= 0 then 'detractor' end as nps_group,
    s.satisfaction,
    s.comment
from stg_surveys__responses s
left join customer_identity_map m on m.source = 'survey' and m.source_key = cast(s.response_id as varchar)
