-- A BI tool reading an attachment's current view with its leads while
-- tests/pgbench/deadlocks.sh detaches and attaches it again: the view is not
-- there for a moment (caught), but a read must never deadlock with detach. The
-- read locks the view, then the leads table; detach holds the tables while it
-- waits for writers, and lets them go when a reader holds its views.
\set k random(1, :leads)
DO $$
BEGIN
    PERFORM count(*), sum(c.total)
    FROM lead_score.:"current" c JOIN :"leads" l ON l.id = c.lead_key
    WHERE l.id BETWEEN :k - 2 AND :k + 2;
EXCEPTION WHEN undefined_table THEN
    NULL;
END
$$;
