-- One row per survey answer, matched to a customer by the customer number
-- it names, else e-mail, else phone (customer_id NULL when the respondent
-- is unknown). nps_group follows the Net Promoter convention: 9-10
-- promoter, 7-8 passive, 0-6 detractor.
select
    s.response_id,
    m.customer_id,
    m.rule as match_rule,
    s.submitted_at,
    s.submitted_month,
    s.nps,
    case when s.nps >= 9 then 'promoter' when s.nps >= 7 then 'passive' when s.nps >= 0 then 'detractor' end as nps_group,
    s.satisfaction,
    nullif(trim(s.comment), '') as comment
from stg_surveys s
left join customer_identity_map m on m.source = 'surveys' and m.source_key = s.response_id
