-- The 5 hottest leads now, by lead_score.top_leads (exact, and read through an
-- index rather than by sorting every lead), with the alerts each one raised.
select
    t.lead_key::bigint as lead_id,
    l.full_name,
    t.total,
    t.quadrant,
    t.mql,
    (select count(*) from {{ source('lead_score', 'alerts') }} as a
     where a.attachment = 'crm' and a.lead_key = t.lead_key) as alerts
from lead_score.top_leads('crm', 5) as t
join {{ source('crm', 'leads') }} as l on l.id = t.lead_key::bigint
order by t.total desc, lead_id
