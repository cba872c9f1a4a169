-- top_leads walks an index of score bounds; it must agree with sorting every
-- qualified lead by total (ties by key).
with sorted as (
    select lead_id, round(total::numeric, 6) as total
    from {{ ref('lead_scores') }}
    where not disqualified
    order by total desc, lead_id
    limit 5
),
hot as (
    select lead_id, round(total::numeric, 6) as total from {{ ref('hot_leads') }}
)
(select * from sorted except select * from hot)
union all
(select * from hot except select * from sorted)
