#!/usr/bin/env bash
# The upgrade test: ALTER EXTENSION lead_score UPDATE from every released version
# gives the same catalog as a fresh install, and keeps the data and attachments
# working. For each version V with a frozen install script here
# (tests/upgrade/lead_score--V.sql):
#   1. database "fresh": CREATE EXTENSION lead_score (the current version) + fixture.sql;
#   2. database "from_V": CREATE EXTENSION lead_score VERSION 'V' + fixture.sql, then
#      ALTER EXTENSION lead_score UPDATE;
#   3. catalog.sql of both must be equal (functions, aggregates, relations, columns,
#      views, indexes, constraints, types, triggers, comments, grants, members);
#   4. models, attachments, alerts, history, feedback and scores survive the update,
#      and the attachments stay exact (check_consistency) and live after it.
# Uses the cluster in PGHOST/PGPORT when set (scripts/test.sh's), else starts one.
#   bash tests/upgrade/run.sh
source "$(dirname "$0")/../../scripts/lib.sh"
HERE=$ROOT/tests/upgrade
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
EXTDIR=$("$PG_BIN/pg_config" --sharedir)/extension
WORK=$(mktemp -d /tmp/lead_score_upgrade.XXXX)
chmod 755 "$WORK"
if [ -z "${PGHOST:-}" ]; then
    ensure_deps
    [ "${SKIP_INSTALL:-}" = 1 ] || PROFILE=debug FEATURES=mock_clock install_extension
    start_cluster /tmp/lead_score_upgrade 28846
    trap 'stop_cluster /tmp/lead_score_upgrade; rm -rf "$WORK"' EXIT
else
    trap 'rm -rf "$WORK"' EXIT
fi
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$EXTDIR/lead_score.control")
failures=0
check() { # check NAME GOT WANT
    if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAILED: $1: got '$2', want '$3'"; failures=$((failures + 1)); fi
}
q() { PGOPTIONS="-c client_min_messages=warning" psql -X -v ON_ERROR_STOP=1 -qAt -d "$1" -c "$2"; }
fresh_db() {
    PGOPTIONS="-c client_min_messages=warning" psql_q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}
# Scores are compared at one time, after every event of the fixture.
ASOF=$(date -u -d '+1 day' '+%Y-%m-%d %H:00:00+00')
catalog() { psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$HERE/catalog.sql" >"$2"; }
# What must survive an update, as one line per table (row counts and a digest of
# the columns that do not depend on when the row was written).
survivors() {
    # The pending table is in lead_score until the update, then in lead_score_internal.
    local pending
    pending=$(q "$1" "SELECT coalesce(to_regclass('lead_score_internal.feed_pending'), to_regclass('lead_score.feed_pending'))")
    q "$1" "SET lead_score.as_of = '$ASOF'; SELECT 'models ' || count(*) || ' ' || md5(string_agg(name || current_version, ',' ORDER BY name)) FROM lead_score.models
            UNION ALL SELECT 'versions ' || count(*) || ' ' || md5(string_agg(version || spec::text, ',' ORDER BY version)) FROM lead_score.model_versions
            UNION ALL SELECT 'attachments ' || count(*) || ' ' || md5(string_agg(name || mode || mapping::text, ',' ORDER BY name)) FROM lead_score.attachments
            UNION ALL SELECT 'alerts ' || count(*) || ' ' || md5(string_agg(attachment || lead_key || kind || coalesce(detail, ''), ',' ORDER BY id)) FROM lead_score.alerts
            UNION ALL SELECT 'history ' || count(*) FROM lead_score.score_history
            UNION ALL SELECT 'feedback ' || count(*) || ' ' || md5(string_agg(lead_key || accepted, ',' ORDER BY id)) FROM lead_score.feedback
            UNION ALL SELECT 'outcome links ' || count(*) FROM lead_score.outcome_links
            UNION ALL SELECT 'live ' || count(*) || ' ' || md5(string_agg(lead_key || ' ' || total || grade || label, ',' ORDER BY lead_key)) FROM lead_score.live_current
            UNION ALL SELECT 'feed ' || count(*) || ' ' || md5(string_agg(lead_key || ' ' || total || grade || label, ',' ORDER BY lead_key)) FROM lead_score.feed_current
            UNION ALL SELECT 'pending ' || count(*) FROM $pending"
}
# After an update: both attachments exact, and live for every kind of write.
still_live() {
    local db=$1 v=$2
    check "$v: check_consistency(live) after the update" "$(q "$db" "SELECT count(*) FROM lead_score.check_consistency('live')")" 0
    check "$v: check_consistency(feed) after the update" "$(q "$db" "SELECT count(*) FROM lead_score.check_consistency('feed')")" 0
    q "$db" "INSERT INTO crm.activities (lead_id, type, occurred_at) VALUES (2, 'demo_request', now())" >/dev/null
    check "$v: a sync insert after the update alerts" \
        "$(q "$db" "SELECT count(*) FROM lead_score.alerts WHERE attachment = 'live' AND lead_key = '2' AND kind = 'burst'")" 1
    q "$db" "INSERT INTO crm.feed (lead_id, type, occurred_at) SELECT id, 'demo_request', now() FROM crm.leads WHERE id <= 20;
             UPDATE crm.leads SET industry = 'Retail' WHERE id = 3; DELETE FROM crm.activities WHERE lead_id = 4;
             SELECT lead_score.tick(); SELECT lead_score.rescore('live');
             SELECT lead_score.create_model('m', jsonb_set(lead_score.model_spec('m'), '{fit,completeness,points}', '14'));" >/dev/null
    check "$v: deferred fold after the update" "$(q "$db" "SELECT count(*) FROM lead_score_internal.feed_pending")" 0
    check "$v: check_consistency after writes, tick, rescore and publish" \
        "$(q "$db" "SELECT (SELECT count(*) FROM lead_score.check_consistency('live')) + (SELECT count(*) FROM lead_score.check_consistency('feed'))")" 0
    q "$db" "SELECT lead_score.adjust('live', '5', 20, 'after the update')" >/dev/null
    check "$v: a manual adjustment counts in an attachment made before the update" \
        "$(q "$db" "SELECT adjustment || ' ' || (SELECT count(*) FROM lead_score.current_scores WHERE attachment = 'live' AND adjustment = 20) FROM lead_score.live_current WHERE lead_key = 5")" "20 1"
    q "$db" "SELECT lead_score.detach('feed'); SELECT lead_score.attach('m', 'crm.leads', 'crm.feed', name => 'feed2', mode => 'deferred')" >/dev/null
    check "$v: detach and attach after the update" "$(q "$db" "SELECT count(*) FROM lead_score.feed2_current")" 200
}

fresh_db lead_score_upgrade_fresh
q lead_score_upgrade_fresh "CREATE EXTENSION lead_score" >/dev/null
psql_q -d lead_score_upgrade_fresh -f "$HERE/fixture.sql" >/dev/null
catalog lead_score_upgrade_fresh "$WORK/fresh.catalog"
survivors lead_score_upgrade_fresh >"$WORK/fresh.survivors"
psql_q -d lead_score_upgrade_fresh -f "$HERE/after.sql" >/dev/null
catalog lead_score_upgrade_fresh "$WORK/fresh.catalog2"

versions=0
for script in "$HERE"/lead_score--*.sql; do
    v=${script##*/lead_score--}; v=${v%.sql}
    versions=$((versions + 1))
    db=lead_score_upgrade_from_${v//./_}
    log "upgrade: $v → $current"
    # The frozen install script of V, next to the current one (CREATE EXTENSION … VERSION finds it there).
    as_root cp "$script" "$EXTDIR/"
    fresh_db "$db"
    q "$db" "CREATE EXTENSION lead_score VERSION '$v'" >/dev/null
    psql_q -d "$db" -f "$HERE/fixture.sql" >/dev/null
    # V's attachments keep working with this library before the update (its
    # internal objects are still where V put them, src/layout.rs): every kind
    # of write, a fold, and the checks.
    q "$db" "INSERT INTO crm.activities (lead_id, type, occurred_at) VALUES (7, 'page_view', now());
             UPDATE crm.activities SET url = '/pricing' WHERE lead_id = 8;
             DELETE FROM crm.activities WHERE lead_id = 9;
             UPDATE crm.leads SET title = 'VP Marketing' WHERE id = 10;
             INSERT INTO crm.feed (lead_id, type, occurred_at) VALUES (11, 'demo_request', now());
             SELECT lead_score.tick();" >/dev/null
    check "$v: writes and tick() before the update keep both attachments exact" \
        "$(q "$db" "SELECT (SELECT count(*) FROM lead_score.check_consistency('live')) + (SELECT count(*) FROM lead_score.check_consistency('feed'))")" 0
    check "$v: tick() before the update folds the pending events" \
        "$(q "$db" "SELECT count(*) FROM lead_score.feed_pending")" 0
    # top_leads with events pending: V's catalog has no _live_bound, so the
    # new library bounds pending events as V did, and is still exact.
    q "$db" "INSERT INTO crm.feed (lead_id, type, occurred_at) SELECT i, 'demo_request', now() FROM generate_series(1, 200, 3) i" >/dev/null
    check "$v: top_leads with events pending reads with the new library" \
        "$(q "$db" "SELECT (SELECT array_agg(t.lead_key ORDER BY t.o) FROM lead_score.top_leads('feed', 10) WITH ORDINALITY AS t(lead_key, total, fit, engagement, grade, label, quadrant, mql, disqualified, o))
                       = (SELECT array_agg(c.lead_key::text ORDER BY c.total DESC, c.lead_key)
                          FROM (SELECT * FROM lead_score.feed_current c WHERE NOT c.disqualified ORDER BY c.total DESC, c.lead_key LIMIT 10) c)")" t
    survivors "$db" >"$WORK/$v.before"
    # V's dump, restored after the loop on a server whose default is newer.
    "$PG_BIN/pg_dump" -Fc -d "$db" -f "$WORK/$v.dump"
    # V's SQL runs with this version's library until the update: its reads still work.
    check "$v: its current_scores reads with the new library" \
        "$(q "$db" "SELECT count(*) FROM lead_score.current_scores")" 400
    # Dropping an attached table in that window forgets the attachment (this
    # version's event trigger code, with V's tables).
    q "$db" "CREATE TABLE crm.tmp_leads (LIKE crm.leads INCLUDING ALL);
             CREATE TABLE crm.tmp_acts (LIKE crm.activities INCLUDING ALL);
             SELECT lead_score.attach('m', 'crm.tmp_leads', 'crm.tmp_acts', name => 'tmp')" >/dev/null 2>&1 || true
    check "$v: attach before the update" "$(q "$db" "SELECT count(*) FROM lead_score.attachments WHERE name = 'tmp'")" 1
    q "$db" "DROP TABLE crm.tmp_acts CASCADE" >/dev/null 2>&1 || true
    check "$v: dropping an attached table before the update forgets the attachment" \
        "$(q "$db" "SELECT (SELECT count(*) FROM pg_class WHERE relname = 'tmp_scores') || ' ' || count(*) FROM lead_score.attachments WHERE name = 'tmp'; DROP TABLE crm.tmp_leads")" "0 0"
    # An attachment V let get into a state attach now refuses (V had no DDL
    # guard: its activity table got an inheritance child): the update keeps it,
    # regenerated, and says with a WARNING to detach it.
    q "$db" "CREATE TABLE crm.r_leads (LIKE crm.leads INCLUDING ALL);
             CREATE TABLE crm.r_acts (LIKE crm.activities INCLUDING ALL);
             SELECT lead_score.attach('m', 'crm.r_leads', 'crm.r_acts', name => 'inherited');
             CREATE TABLE crm.r_acts_child () INHERITS (crm.r_acts)" >/dev/null
    # And one whose model V let publish a version attach now refuses: a
    # predictive feature on a capped window rule.
    q "$db" "CREATE TABLE crm.p_leads (LIKE crm.leads INCLUDING ALL);
             CREATE TABLE crm.p_acts (LIKE crm.activities INCLUDING ALL);
             INSERT INTO crm.p_leads SELECT * FROM crm.leads WHERE id <= 5;
             SELECT lead_score.create_model('pw', jsonb_set(lead_score.model_spec('m'), '{engagement,rules,0}',
                 '{\"name\": \"visit\", \"event\": \"page_view\", \"points\": 2, \"repeat\": {\"cap\": 4}, \"decay\": {\"kind\": \"window\", \"window\": \"10 days\"}}'));
             SELECT lead_score.attach('pw', 'crm.p_leads', 'crm.p_acts', name => 'predwin');
             SELECT lead_score.create_model('pw', jsonb_set(lead_score.model_spec('pw'), '{predictive}',
                 '{\"intercept\": -2, \"features\": [{\"name\": \"visits\", \"rule\": \"visit\", \"weight\": 0.5}]}'))" >/dev/null
    # An attachment whose name starts with "_", as V allowed: its public views
    # are not internal objects to move, and a view of the user's over one
    # still reads it after the update.
    q "$db" "CREATE TABLE crm.u_leads (LIKE crm.leads INCLUDING ALL);
             CREATE TABLE crm.u_acts (LIKE crm.activities INCLUDING ALL);
             INSERT INTO crm.u_leads SELECT * FROM crm.leads WHERE id <= 5;
             SELECT lead_score.attach('m', 'crm.u_leads', 'crm.u_acts', name => '_w');
             CREATE VIEW crm.u_view AS SELECT * FROM lead_score._w_current" >/dev/null
    # Two attachments V let be named x and x_account, whose account views
    # would share a name (this library's attach refuses the second, so the
    # first is renamed while it is made): the update warns, once.
    q "$db" "CREATE TABLE crm.n_leads (LIKE crm.leads INCLUDING ALL);
             CREATE TABLE crm.n_acts (LIKE crm.activities INCLUDING ALL);
             CREATE TABLE crm.n_leads2 (LIKE crm.leads INCLUDING ALL);
             CREATE TABLE crm.n_acts2 (LIKE crm.activities INCLUDING ALL);
             SELECT lead_score.create_model('qm', lead_score.model_spec('m'));
             SELECT lead_score.attach('qm', 'crm.n_leads2', 'crm.n_acts2', name => 'q');
             UPDATE lead_score.attachments SET name = 'qz' WHERE name = 'q';
             SELECT lead_score.attach('qm', 'crm.n_leads', 'crm.n_acts', name => 'q_account');
             UPDATE lead_score.attachments SET name = 'q' WHERE name = 'qz'" >/dev/null
    # What V's own attach did not create (the fixture ran V's attach with this
    # library, which creates them): the update must.
    q "$db" "DROP VIEW IF EXISTS lead_score.live_categories, lead_score.feed_categories" >/dev/null
    q "$db" "ALTER EXTENSION lead_score UPDATE" >/dev/null 2>"$WORK/$v.update.err"
    check "$v: the update reaches $current" "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'lead_score'")" "$current"
    check "$v: the update warns once about each attachment attach now refuses" \
        "$(grep -c 'would be refused by attach now' "$WORK/$v.update.err") $(grep -c 'attachment "q_account" would be refused by attach now: attachment name "q_account" would create "q_account_categories", a name of attachment "q" too' "$WORK/$v.update.err") $(grep -c 'attachment "inherited" would be refused by attach now: activities: "crm"."r_acts" is partitioned, a partition, or has inheritance parents or children' "$WORK/$v.update.err") $(grep -c 'attachment "predwin" would be refused by attach now: predictive.features\[0\] ("visits"): live scores keep only the events of window rule "visit" that its cap can count' "$WORK/$v.update.err")" "3 1 1 1"
    # Such an attachment works as before until it is detached (writes are
    # scored; its probabilities may differ from a recompute, as the WARNING says).
    q "$db" "INSERT INTO crm.p_acts (lead_id, type, occurred_at) SELECT 1 + i % 5, 'page_view', now() - i * interval '1 day' FROM generate_series(0, 19) i" >/dev/null
    check "$v: an attachment attach now refuses still scores writes after the update" \
        "$(q "$db" "SELECT count(*) || ' ' || sum((engagement > 0)::int) FROM lead_score.predwin_current")" "5 5"
    check "$v: an attachment named _w keeps its views in lead_score, and the user's view over them" \
        "$(q "$db" "SELECT (to_regclass('lead_score._w_current') IS NOT NULL) || ' ' || (to_regclass('lead_score_internal._w_current') IS NULL)
                       || ' ' || (SELECT count(*) FROM crm.u_view) || ' ' || (SELECT pg_catalog.pg_get_viewdef('crm.u_view') LIKE '%lead_score._w_current%')")" "true true 5 true"
    q "$db" "DROP VIEW crm.u_view; SELECT lead_score.detach('_w'); DROP TABLE crm.u_acts, crm.u_leads" >/dev/null
    check "$v: an attachment named _w detaches after the update" \
        "$(q "$db" "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_w\\_%'")" 0
    # Publishing a version (without accounts) of their model, and detaching
    # x, leave x_account's views (x's account views by name): both failed on
    # current_categories, or would have dropped them.
    q "$db" "SELECT lead_score.create_model('qm', jsonb_set(lead_score.model_spec('qm'), '{fit,completeness,points}', '13'))" >/dev/null
    check "$v: publishing q's model leaves q_account's views" \
        "$(q "$db" "SELECT current_version || ' ' || (SELECT count(*) FROM pg_class WHERE relname IN ('q_account_current', 'q_account_categories')) FROM lead_score.models WHERE name = 'qm'")" "2 2"
    q "$db" "SELECT lead_score.detach('q')" >/dev/null
    check "$v: detaching q leaves q_account's views" \
        "$(q "$db" "SELECT count(*) FROM pg_class WHERE relname IN ('q_account_current', 'q_account_categories')")" 2
    q "$db" "SELECT lead_score.detach('q_account'); SELECT lead_score.drop_model('qm'); DROP TABLE crm.n_acts, crm.n_acts2, crm.n_leads, crm.n_leads2" >/dev/null
    q "$db" "SELECT lead_score.detach('inherited'); DROP TABLE crm.r_acts, crm.r_acts_child, crm.r_leads;
             SELECT lead_score.detach('predwin'); SELECT lead_score.drop_model('pw'); DROP TABLE crm.p_acts, crm.p_leads" >/dev/null
    catalog "$db" "$WORK/$v.catalog"
    if diff -u "$WORK/fresh.catalog" "$WORK/$v.catalog" >"$WORK/$v.diff"; then
        echo "ok: $v: the upgraded catalog equals a fresh install's ($(wc -l <"$WORK/fresh.catalog") lines)"
    else
        echo "FAILED: $v: the upgraded catalog differs from a fresh install's (- fresh, + upgraded):"
        head -60 "$WORK/$v.diff"
        failures=$((failures + 1))
    fi
    survivors "$db" >"$WORK/$v.after"
    if diff -u "$WORK/$v.before" "$WORK/$v.after" >"$WORK/$v.sdiff"; then
        echo "ok: $v: models, attachments, alerts, history, feedback and scores survive the update"
    else
        echo "FAILED: $v: data changed in the update:"; cat "$WORK/$v.sdiff"; failures=$((failures + 1))
    fi
    # Then what only the new version can do, on both: a version with accounts.
    psql_q -d "$db" -f "$HERE/after.sql" >/dev/null
    catalog "$db" "$WORK/$v.catalog2"
    if diff -u "$WORK/fresh.catalog2" "$WORK/$v.catalog2" >"$WORK/$v.diff2"; then
        echo "ok: $v: after publishing a version with accounts, still a fresh install's catalog"
    else
        echo "FAILED: $v: after publishing a version with accounts, the catalogs differ (- fresh, + upgraded):"
        head -40 "$WORK/$v.diff2"
        failures=$((failures + 1))
    fi
    still_live "$db" "$v"
    # The README's recipe (Backup and restore) for a dump of V on a server
    # whose default version is newer: create V first, restore, then update.
    fresh_db "${db}_restored"
    q "${db}_restored" "CREATE EXTENSION lead_score VERSION '$v'" >/dev/null
    "$PG_BIN/pg_restore" -d "${db}_restored" "$WORK/$v.dump" >/dev/null 2>"$WORK/$v.restore.err" || true
    check "$v: its dump restores after CREATE EXTENSION … VERSION '$v', with the one error the README names" \
        "$(grep -c 'errors ignored on restore: 1$' "$WORK/$v.restore.err") $(grep -c 'schema "lead_score" already exists' "$WORK/$v.restore.err")" "1 1"
    q "${db}_restored" "ALTER EXTENSION lead_score UPDATE" >/dev/null 2>&1
    check "$v: the restored dump updates and stays exact" \
        "$(q "${db}_restored" "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'lead_score') || ' ' || ((SELECT count(*) FROM lead_score.check_consistency('live')) + (SELECT count(*) FROM lead_score.check_consistency('feed')))")" "$current 0"
done
check "released versions tested" "$([ "$versions" -ge 1 ] && echo yes)" yes
if [ "$failures" = 0 ]; then echo "upgrade: all checks passed"; else echo "upgrade: $failures checks FAILED"; fi
[ "$failures" = 0 ]
