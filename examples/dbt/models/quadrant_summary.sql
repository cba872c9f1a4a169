-- What sales does next: leads, MQLs and the average score per quadrant.
select
    quadrant,
    count(*) as leads,
    count(*) filter (where mql) as mqls,
    round(avg(total)::numeric, 1) as avg_total
from {{ ref('lead_scores') }}
group by quadrant
