\pset footer off
\echo
\echo 'The 20 hottest leads (model "demo", scored as of now)'
SELECT lead_id, full_name, job_title, company,
       round(fit::numeric, 1) AS fit, round(engagement::numeric, 1) AS engagement,
       round(total::numeric, 1) AS total, grade, label, quadrant, mql
FROM crm.lead_scores
WHERE NOT disqualified
ORDER BY total DESC, lead_id
LIMIT 20;

\echo 'Leads per quadrant'
SELECT quadrant, count(*) AS leads, count(*) FILTER (WHERE mql) AS mqls,
       round(avg(fit)::numeric, 1) AS avg_fit, round(avg(engagement)::numeric, 1) AS avg_engagement
FROM crm.lead_scores
GROUP BY quadrant
ORDER BY array_position(ARRAY['act_now','account_based','check_fit','nurture','disqualified'], quadrant);

\echo 'Why the hottest lead scores what it does'
SELECT x.section, x.item, x.category, x.events,
       round(x.raw_points::numeric, 2) AS raw, round(x.decayed_points::numeric, 2) AS decayed,
       round(x.points::numeric, 2) AS points, x.detail
FROM (SELECT * FROM crm.lead_scores WHERE NOT disqualified ORDER BY total DESC, lead_id LIMIT 1) top
JOIN crm.leads l ON l.id = top.lead_id
CROSS JOIN LATERAL lead_score.explain('demo', l, top.engagement_state) AS x;
