-- One row per lead: who they are and their live score.
select
    l.id as lead_id,
    l.full_name,
    l.job_title,
    l.company,
    s.fit,
    s.engagement,
    s.total,
    s.grade,
    s.label,
    s.quadrant,
    s.mql,
    s.disqualified,
    s.disqualified_by,
    s.last_activity
from {{ source('crm', 'leads') }} as l
join {{ source('lead_score', 'crm_current') }} as s on s.lead_key = l.id
