-- Every MQL reaches the MQL thresholds of the model's published spec
-- (classification.mql: min_total, and min_fit if set) and is not disqualified.
-- A singular test passes when it returns no rows.
with mql as (
    select lead_score.model_spec('crm') #> '{classification,mql}' as spec
)
select s.*
from {{ ref('lead_scores') }} as s
cross join mql
where s.mql
  and (s.total < (mql.spec ->> 'min_total')::float8
       or s.fit < coalesce((mql.spec ->> 'min_fit')::float8, '-infinity')
       or s.disqualified)
