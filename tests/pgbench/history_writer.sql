-- A writer of an attachment's history while tests/pgbench/deadlocks.sh
-- detaches and attaches it again: a history check, or a manual adjustment made
-- and ended (each locks the attachment's history settings row, then reads its
-- view). While the attachment is detached it does not exist (caught), but no
-- statement may deadlock with detach.
\set k random(1, :leads)
\set what random(0, 1)
DO $$
DECLARE
    id bigint;
BEGIN
    IF :what = 0 THEN
        PERFORM lead_score.record_history(':attachment');
    ELSE
        id := lead_score.adjust(':attachment', (:k)::text, 1, 'pgbench');
        PERFORM lead_score.end_adjustment(id);
    END IF;
EXCEPTION WHEN undefined_object OR undefined_table THEN
    NULL;
END
$$;
