-- Survey answers: NPS (0-10) and satisfaction (1-5), one row per response_id.
select response_id, submitted_at, email, phone, nps, satisfaction, nullif(trim(comment), '') as comment
from raw.surveys_responses
qualify row_number() over (partition by response_id order by submitted_at desc) = 1
