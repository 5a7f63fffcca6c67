-- RFM scores (quintiles, 5 best) and the named segment of every customer
-- who bought. R ranks days since the last purchase (recent is 5), F the
-- purchase days, M the net revenue. A score is 1 + floor(5 × (rank − 1) / n)
-- with tied values sharing their rank, so equal values always get equal
-- scores (every one-time buyer has F = 1, however many there are).
-- Segments follow the usual R × F map:
--   champions           R 5,   F 4-5      loyal               R 3-4, F 4-5
--   potential_loyalists R 4-5, F 2-3      new_customers       R 5,   F 1
--   promising           R 4,   F 1        need_attention      R 3,   F 3
--   about_to_sleep      R 3,   F 1-2      at_risk             R 1-2, F 3-4
--   cant_lose_them      R 1-2, F 5        hibernating         R 1-2, F 1-2
with scored as (
    select
        customer_id,
        days_since_last_purchase as recency_days,
        purchase_days,
        net_revenue,
        cast(1 + floor(5 * (rank() over (order by days_since_last_purchase desc) - 1) / count(*) over ()) as integer) as r_score,
        cast(1 + floor(5 * (rank() over (order by purchase_days) - 1) / count(*) over ()) as integer) as f_score,
        cast(1 + floor(5 * (rank() over (order by net_revenue) - 1) / count(*) over ()) as integer) as m_score
    from customer_purchases
)
select
    *,
    r_score * 100 + f_score * 10 + m_score as rfm_code,
    case
        when r_score = 5 and f_score >= 4 then 'champions'
        when r_score >= 3 and f_score >= 4 then 'loyal'
        when r_score >= 4 and f_score between 2 and 3 then 'potential_loyalists'
        when r_score = 5 and f_score = 1 then 'new_customers'
        when r_score = 4 and f_score = 1 then 'promising'
        when r_score = 3 and f_score = 3 then 'need_attention'
        when r_score = 3 and f_score <= 2 then 'about_to_sleep'
        when r_score <= 2 and f_score = 5 then 'cant_lose_them'
        when r_score <= 2 and f_score between 3 and 4 then 'at_risk'
        else 'hibernating'
    end as rfm_segment
from scored
