#!/usr/bin/env bash
# The Citus suite: starts its own cluster (a coordinator and two workers, plus a
# plain single node to compare with; tests/citus/cluster.sh), runs the setup of
# docs/citus.md verbatim on the coordinator, then checks every documented write,
# alerts on the coordinator, tick/rescore/publish, aggregate pushdown (bit for
# bit against the single node) and 16 concurrent pgbench clients. It does all
# of it twice, on a fresh cluster each time: with the attachment in sync mode
# (the setup as documented) and in deferred mode (the same setup, attached with
# mode => 'deferred'), where every check of the scores is made before and
# after a tick() that folds the pending events on every shard.
#
#   bash tests/citus/run.sh
#   PG_BIN=/opt/pgc/lib/postgresql/15/bin SKIP_INSTALL=1 bash tests/citus/run.sh   # another PostgreSQL
#   CITUS_MODES=deferred bash tests/citus/run.sh                                  # one mode only
#   CITUS_PORT=29401 CITUS_DIR=/tmp/citus_wt bash tests/citus/run.sh              # beside another run
#
# Skips (exit 0) when citus is not installed and ../shared/citus (the source
# build.sh builds it from) is absent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
shared=$root/../shared/citus
if [ ! -f "$("$pg_bin/pg_config" --pkglibdir 2>/dev/null)/citus.so" ]; then
    if [ -f "$shared/build.sh" ] && [ "$pg_bin" = /usr/lib/postgresql/15/bin ]; then
        bash "$shared/build.sh"
    else
        echo "citus suite: skipped: citus is not installed under $pg_bin and $shared (its source) is absent"
        exit 0
    fi
fi
source "$here/cluster.sh"
OUT_ROOT=${OUT:-$ROOT/target/test-results/citus}
install_lead_score
trap cluster_stop EXIT

pending() { on "$COORD" -c "SELECT count(*) FROM lead_score_internal.default_pending"; }
# Pending events of leads with a score row: a fold leaves none. (Events of a
# key that is no lead stay pending until the lead is created, as on one node.)
unfolded() { on "$COORD" -c "SELECT count(*) FROM lead_score_internal.default_pending p JOIN lead_score_internal.default_scores s ON s.lead_key = p.lead_key"; }
# 0 mismatches; in deferred mode both with the write's events pending (readers
# merge them) and after a tick() that folds them on every shard.
consistent() {
    check "$1: 0 mismatches" "$(mismatches)" 0
    if [ "$MODE" = deferred ]; then
        on "$COORD" -c "SELECT lead_score.tick()" >/dev/null
        check "$1, then tick(): 0 mismatches, 0 left to fold" "$(mismatches) $(unfolded)" "0 0"
    fi
}

suite() { # suite MODE: the whole suite on a fresh cluster, the attachment in MODE
MODE=$1
log "citus ($MODE): starting a coordinator and two workers (ports $COORD-$WORKER2) and a single node ($SINGLE) in $CITUS_DIR"
cluster_start
OUT=$OUT_ROOT/$MODE
mkdir -p "$OUT"
chmod 777 "$OUT" 2>/dev/null || true

log "citus ($MODE): the setup of docs/citus.md, verbatim$([ "$MODE" = deferred ] && echo ", attached with mode => 'deferred'")"
citus_setup_sql >"$OUT/setup.sql"
if [ "$MODE" = deferred ]; then
    sed -i "s/^SELECT lead_score.attach('default', 'crm.leads', 'crm.activities');$/SELECT lead_score.attach('default', 'crm.leads', 'crm.activities', mode => 'deferred');/" "$OUT/setup.sql"
    check "setup: attached in deferred mode" "$(grep -c "mode => 'deferred'" "$OUT/setup.sql")" 1
fi
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -f "$OUT/setup.sql" >/dev/null
check "setup: attachment mode" "$(on "$COORD" -c "SELECT mode FROM lead_score.attachments WHERE name = 'default'")" "$MODE"
# Idempotent: again, as after moving shards (a deferred group has no insert function of its own).
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('default')"
check "setup: distribute() again" "$?" 0
check "setup: attachment distributed" \
    "$(on "$COORD" -c "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text) FROM pg_dist_partition WHERE logicalrelid::text ~ '^lead_score(_internal)?\\.'")" \
    "lead_score.alerts:h lead_score.attachments:n lead_score.model_versions:n lead_score.models:n lead_score.outcome_links:n lead_score_internal.default_outbox:h lead_score_internal.default_pending:h lead_score_internal.default_scores:h"
check "setup: views on every worker" \
    "$(on "$WORKER1" -c "SELECT count(*) FROM pg_views WHERE schemaname IN ('lead_score', 'lead_score_internal') AND viewname LIKE 'default\_%'")" 4

# The same data on the cluster (through the triggers) and on the single node.
# Tables attach cannot score on Citus are refused at once with 55000 (local
# leads with distributed activities were attached, and then every write to
# either failed; a reference table failed inside the rescore; local tables in a
# database with distributed attachments failed from a worker with 42P01).
on "$COORD" -c "CREATE TABLE crm.l_leads (LIKE crm.leads INCLUDING ALL)" -c "CREATE TABLE crm.l_acts (LIKE crm.activities INCLUDING ALL)" \
    -c "CREATE TABLE crm.r_leads (LIKE crm.leads INCLUDING ALL)" -c "CREATE TABLE crm.d_acts (LIKE crm.activities INCLUDING ALL)" \
    -c "SELECT create_reference_table('crm.r_leads')" -c "SELECT create_distributed_table('crm.d_acts', 'lead_id')" >/dev/null
refused() { on "$COORD" -c '\set VERBOSITY sqlstate' -c "SELECT lead_score.attach('default', $1, name => 'refused')" 2>&1 | grep -o '^ERROR:  [0-9A-Z]*' || true; }
check "attach of local leads with distributed activities: 55000" "$(refused "'crm.l_leads', 'crm.d_acts'")" "ERROR:  55000"
check "attach of a reference table: 55000" "$(refused "'crm.r_leads', 'crm.d_acts'")" "ERROR:  55000"
check "attach of local tables beside a distributed attachment: 55000" "$(refused "'crm.l_leads', 'crm.l_acts'")" "ERROR:  55000"
check "the refused attachments left nothing" \
    "$(on "$COORD" -c "SELECT count(*) FROM lead_score.attachments WHERE name = 'refused'") $(on "$COORD" -c "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lead_score_refused%'")" "0 0"
on "$COORD" -c "DROP TABLE crm.l_leads, crm.l_acts, crm.r_leads, crm.d_acts" >/dev/null

data="
INSERT INTO crm.leads SELECT i, (ARRAY['Software', 'Retail', 'Finance'])[1 + i % 3],
       (ARRAY['VP', 'Engineer', 'CTO', 'Intern'])[1 + i % 4],
       CASE WHEN i % 97 = 0 THEN 'x@rival.com' ELSE 'x@example.com' END
FROM generate_series(1, 2000) i;
INSERT INTO crm.activities (lead_id, type, occurred_at, url)
SELECT 1 + i % 2000, (ARRAY['visit', 'visit', 'download', 'demo_request'])[1 + i % 4],
       timestamptz '2026-06-01 00:00+00' - (i % 1000) * interval '37 minutes',
       (ARRAY['/pricing', '/blog', NULL])[1 + i % 3]
FROM generate_series(1, 40000) i;"
log "citus ($MODE): writes through the triggers on the shards"
on "$COORD" -c "$data" >/dev/null
if [ "$MODE" = deferred ]; then
    # The C trigger on each activity shard appended to the co-located pending shard.
    check "inserts append to the pending shards" "$(pending)" 40000
    # A join Citus runs shard by shard: each lead's events are on its activities' node.
    check "each lead's pending events on the shard of its activities" \
        "$(on "$COORD" -c "SELECT count(*) FROM (SELECT lead_id, count(*) n FROM crm.activities GROUP BY lead_id) a
                           FULL JOIN (SELECT lead_key, count(*) n FROM lead_score_internal.default_pending GROUP BY lead_key) p
                           ON p.lead_key = a.lead_id WHERE a.n IS DISTINCT FROM p.n")" 0
    # (Two statements: a query calling current_score() on a distributed table
    # would nest distributed execution.)
    check "current_score() merges pending events" \
        "$(on "$COORD" -c "SELECT round(s.total::numeric, 6), s.engagement > 0 FROM lead_score.current_score('default', 7::bigint) s")" \
        "$(on "$COORD" -c "SELECT round(c.total::numeric, 6), c.engagement > 0 FROM lead_score.default_current c WHERE c.lead_key = 7")"
fi
check "top_leads() is the top of the current view" \
    "$(on "$COORD" -c "SELECT string_agg(lead_key, ',' ORDER BY total DESC, lead_key) FROM lead_score.top_leads('default', 5)")" \
    "$(on "$COORD" -c "SELECT string_agg(lead_key::text, ',' ORDER BY total DESC, lead_key::text) FROM (SELECT lead_key, total FROM lead_score.default_current WHERE NOT disqualified ORDER BY total DESC, lead_key::text LIMIT 5) t")"
consistent "insert of 2,000 leads and 40,000 activities"
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES (1, 'visit', now(), '/pricing'), (2, 'demo_request', now(), NULL)" >/dev/null
consistent "insert of activities"
printf '3\tvisit\t%s\t/pricing\n4\tdemo_request\t%s\t\\N\n5\tdownload\t%s\t/blog\n' "$(date -u +%FT%TZ)" "$(date -u +%FT%TZ)" "$(date -u +%FT%TZ)" |
    on "$COORD" -c "\\copy crm.activities (lead_id, type, occurred_at, url) FROM stdin"
consistent "COPY of activities"
on "$COORD" -c "UPDATE crm.activities SET type = 'demo_request' WHERE lead_id IN (6, 7) AND type = 'visit'" >/dev/null
consistent "update of activities (two leads, two shards)"
on "$COORD" -c "DELETE FROM crm.activities WHERE lead_id IN (8, 9, 10)" >/dev/null
consistent "delete of activities"
on "$COORD" -c "INSERT INTO crm.leads VALUES (5001, 'Software', 'VP', NULL), (5002, NULL, NULL, NULL)" >/dev/null
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at) SELECT 5001, 'download', now() - i * interval '1 minute' FROM generate_series(1, 5) i" >/dev/null
consistent "insert of leads"
on "$COORD" -c "UPDATE crm.leads SET industry = 'Software', title = 'CTO' WHERE id IN (11, 12, 5002)" >/dev/null
consistent "update of leads"
on "$COORD" -c "DELETE FROM crm.leads WHERE id IN (13, 5002)" >/dev/null
consistent "delete of leads"
check "deleted leads have no score" "$(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.default_scores WHERE lead_key IN (13, 5002)")" 0
before=$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.alerts) + (SELECT count(*) FROM lead_score_internal.default_outbox)")
on "$COORD" -c "BEGIN" \
    -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) SELECT 14, 'visit', now(), '/pricing' FROM generate_series(1, 4)" \
    -c "UPDATE crm.leads SET industry = 'Software' WHERE id = 15" -c "ROLLBACK" >/dev/null
consistent "rolled back writes"
check "rolled back writes leave no alert" \
    "$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.alerts) + (SELECT count(*) FROM lead_score_internal.default_outbox)")" "$before"

log "citus ($MODE): alerts reach lead_score.alerts and a client LISTENing on the coordinator"
on "$COORD" -c "SELECT lead_score.relay_alerts()" >/dev/null
alerts_before=$(on "$COORD" -c "SELECT count(*) FROM lead_score.alerts")
psql -X -p "$COORD" -c "LISTEN lead_score_alerts" -c "SELECT pg_sleep(6)" -c "SELECT 1" >"$OUT/listen.out" 2>&1 &
listener=$!
sleep 1
# A pricing burst for two leads on different shards, and a lead that becomes an MQL.
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) SELECT l, 'visit', now() - i * interval '1 minute', '/pricing' FROM generate_series(1, 3) i, (VALUES (16), (17)) v(l)" \
    -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES (18, 'demo_request', now(), NULL), (18, 'download', now(), NULL), (18, 'download', now(), NULL)" \
    -c "UPDATE crm.leads SET industry = 'Software', title = 'VP' WHERE id = 18" >/dev/null
outbox=$(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.default_outbox")
pending_before=$(pending)
# pending_summary() counts them through the coordinator, as a scan of the shards does.
check "pending_summary() counts the pending events" \
    "$(on "$COORD" -c "SELECT pending_events FROM lead_score.pending_summary() WHERE attachment = 'default'")" \
    "$(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.default_pending WHERE occurred_at IS NOT NULL")"
# As a lead_score_admin that is no superuser (with USAGE on the application's
# schema, docs/citus.md): it relays the outbox and, in deferred mode, runs the
# nodes' folds (it failed on the outbox, the shard folds and _emit_outbox).
on "$COORD" -c "CREATE ROLE citus_tick_admin LOGIN IN ROLE lead_score_admin" -c "GRANT USAGE ON SCHEMA crm TO citus_tick_admin" >/dev/null
ticked=$(on "$COORD" -c "SET ROLE citus_tick_admin" -c "SELECT lead_score.tick()")
wait "$listener" || true
alerts_after=$(on "$COORD" -c "SELECT count(*) FROM lead_score.alerts")
notified=$(grep -c 'Asynchronous notification "lead_score_alerts"' "$OUT/listen.out" || true)
if [ "$MODE" = deferred ]; then
    # The bursts are still pending (the lead update folded lead 18's events):
    # tick() folds them on the workers, into the outbox, and relays them.
    check "the bursts wait in the pending shards" "$([ "$pending_before" -ge 6 ] && echo yes || echo "no ($pending_before)")" yes
    check "tick() folds them: alerts in the outbox or sent" "$([ $((outbox + ticked)) -ge 3 ] && echo yes || echo "no ($outbox + $ticked)")" yes
else
    check "alerts written on the workers wait in the outbox" "$([ "$outbox" -ge 3 ] && echo yes || echo "no ($outbox)")" yes
fi
# tick() returns the alerts of its folds and time-driven crossings, and relays the outbox.
check "tick() relays every one to lead_score.alerts" "$((alerts_after - alerts_before))" "$((outbox + ticked))"
check "the coordinator's listener hears each once" "$notified" "$((alerts_after - alerts_before))"
check "outbox empty after tick()" "$(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.default_outbox")" 0
check "nothing left to fold after tick()" "$(unfolded)" 0
check "alert kinds" "$(on "$COORD" -c "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM lead_score.alerts WHERE lead_key IN ('16', '17', '18')")" "burst,mql,quadrant,watermark"
echo "   (tick() returned $ticked; $notified notifications)"

log "citus ($MODE): tick(), rescore() and a new model version, from the coordinator"
on "$COORD" -c "SELECT lead_score.tick()" >/dev/null
consistent "tick()"
check "rescore() scores every lead" "$(on "$COORD" -c "SET client_min_messages = warning" -c "SELECT lead_score.rescore('default')")" 2000
consistent "rescore()"
on "$COORD" -c "SET client_min_messages = warning" -c "SELECT lead_score.create_model('default', jsonb_set(lead_score.model_spec('default'), '{fit,rules,0,points}', '35'))" >/dev/null
check "published version 2" "$(on "$COORD" -c "SELECT current_version FROM lead_score.models WHERE name = 'default'")" 2
check "scores are of version 2" "$(on "$COORD" -c "SELECT DISTINCT model_version FROM lead_score_internal.default_scores")" 2
consistent "publishing a new version"
on "$COORD" -c "TRUNCATE crm.activities" >/dev/null
consistent "truncate of activities"
check "no engagement left" "$(on "$COORD" -c "SELECT count(*) FROM lead_score.default_current WHERE engagement > 0")" 0

log "citus ($MODE): engagement pushdown, bit for bit against a single node"
on "$COORD" -c "TRUNCATE crm.activities" -c "$(echo "$data" | sed -n '/INSERT INTO crm.activities/,$p')" >/dev/null
consistent "reload of activities"
citus_setup_sql |
    grep -v -e 'citus' -e 'create_distributed_table' -e 'lead_score.attach' -e 'lead_score.distribute' >"$OUT/single.sql"
PGOPTIONS="-c client_min_messages=warning" on "$SINGLE" -f "$OUT/single.sql" >/dev/null
on "$SINGLE" -c "$data" >/dev/null
# The lead writes made on the cluster above.
on "$SINGLE" -c "INSERT INTO crm.leads VALUES (5001, 'Software', 'VP', NULL)" \
    -c "UPDATE crm.leads SET industry = 'Software', title = 'CTO' WHERE id IN (11, 12)" \
    -c "UPDATE crm.leads SET industry = 'Software', title = 'VP' WHERE id = 18" -c "DELETE FROM crm.leads WHERE id = 13" >/dev/null
on "$SINGLE" -c "SET client_min_messages = warning" -c "SELECT lead_score.create_model('default', jsonb_set(lead_score.model_spec('default'), '{fit,rules,0,points}', '35'))" >/dev/null
# Without Citus, distribute() says so with its SQLSTATE, and relay_alerts() has nothing to do.
check "distribute() without Citus: object_not_in_prerequisite_state" \
    "$(on "$SINGLE" -c '\set VERBOSITY sqlstate' -c "CALL lead_score.distribute('default')" 2>&1 | grep -o 55000 || true)" 55000
check "relay_alerts() without Citus" "$(on "$SINGLE" -c "SELECT lead_score.relay_alerts()")" 0
# The same as-of time on every node: Citus sends SET LOCAL to the workers.
as_of() { printf "SET citus.propagate_set_commands = 'local';\nBEGIN;\nSET LOCAL lead_score.as_of = '2026-06-02 00:00+00';\n%s;\nCOMMIT;\n" "$1"; }
by_lead="SELECT lead_id, lead_score.engagement('default', type, occurred_at, url) FROM crm.activities GROUP BY lead_id ORDER BY lead_id"
by_type="SELECT type, lead_score.engagement('default', type, occurred_at, url), lead_score.engagement_categories('default', type, occurred_at, url)::text FROM crm.activities GROUP BY type ORDER BY type"
by_industry="SELECT l.industry, count(*), lead_score.engagement('default', a.type, a.occurred_at, a.url) FROM crm.activities a JOIN crm.leads l ON l.id = a.lead_id GROUP BY l.industry ORDER BY l.industry"
for q in by_lead by_type by_industry; do
    as_of "${!q}" | on "$COORD" >"$OUT/$q.citus"
    as_of "${!q}" | on "$SINGLE" >"$OUT/$q.single"
    check "$q: the same text as a single node ($(wc -l <"$OUT/$q.single") rows)" \
        "$(cmp -s "$OUT/$q.citus" "$OUT/$q.single" && echo same || echo differs)" same
done
on "$COORD" -c "EXPLAIN (VERBOSE) $by_lead" >"$OUT/by_lead.plan"
on "$COORD" -c "EXPLAIN (VERBOSE) $by_type" >"$OUT/by_type.plan"
# Pushed down: the aggregate is only in the workers' plans, under the Citus scan.
check "GROUP BY the distribution column: aggregated on the workers only" \
    "$(awk '/Custom Scan \(Citus/ {exit} /Aggregate/ {print "coordinator aggregates"; exit}' "$OUT/by_lead.plan")$(grep -c 'lead_score.engagement(' "$OUT/by_lead.plan" | sed 's/^0$/ not pushed/;s/^[1-9][0-9]*$//')" ""
# Combined: partial states from the workers, combined on the coordinator.
check "GROUP BY another column: partial states combined on the coordinator" \
    "$(grep -c 'worker_partial_agg' "$OUT/by_type.plan" | sed 's/^[1-9][0-9]*$/yes/')$(grep -c 'coord_combine_agg' "$OUT/by_type.plan" | sed 's/^[1-9][0-9]*$/ yes/')" "yes yes"

log "citus ($MODE): 16 pgbench clients against the coordinator"
deadlocks_before=$(cat "$CITUS_DIR"/{coordinator,worker1,worker2}/server.log | grep -c "deadlock" || true)
transactions=${CITUS_PGBENCH_TRANSACTIONS:-150}
pgbench -n -h 127.0.0.1 -p "$COORD" -c 16 -j 2 -t "$transactions" \
    -f "$here/pgbench_writes.sql@10" -f "$here/pgbench_inserts.sql@10" -f "$here/pgbench_tick.sql@1" postgres >"$OUT/pgbench.log" 2>&1 || true
processed=$(awk -F'[:/ ]+' '/number of transactions actually processed/ {print $6; exit}' "$OUT/pgbench.log")
failed=$(awk '/number of failed transactions/ {print $5; exit}' "$OUT/pgbench.log")
deadlocks=$(($(cat "$CITUS_DIR"/{coordinator,worker1,worker2}/server.log | grep -c "deadlock" || true) - deadlocks_before))
grep -E "^tps|latency average" "$OUT/pgbench.log" | sed 's/^/   /'
check "pgbench: every transaction processed" "${processed:-?}" $((16 * transactions))
check "pgbench: failed transactions" "${failed:-?}" 0
check "pgbench: deadlocks (coordinator and workers)" "$deadlocks" 0
consistent "16 concurrent clients"
on "$COORD" -c "SELECT lead_score.tick()" >/dev/null
consistent "16 concurrent clients, then tick()"
if [ "$failures" != 0 ]; then tail -5 "$OUT/pgbench.log"; fi

log "citus ($MODE): security: a table name that ends a string literal; lead_score.citus_placement"
# The owner of two distributed tables, one named to end a string literal and
# run its own command. distribute() runs as a superuser on every node: before,
# the shard's name went inside a literal of the command each node ran.
# It is in public, whose shards' names Citus writes without a schema.
hostile='public."x'\'') WHERE false;ALTER ROLE cit_owner SUPERUSER;--"'
on "$COORD" -c "CREATE ROLE cit_owner LOGIN" -c "CREATE ROLE cit_reader IN ROLE lead_score_reader" \
    -c "CREATE SCHEMA cit AUTHORIZATION cit_owner" -c "GRANT CREATE ON SCHEMA public TO cit_owner" >/dev/null
on "$COORD" -c "SET ROLE cit_owner" \
    -c "CREATE TABLE cit.leads (id bigint PRIMARY KEY, industry text, title text, email text)" \
    -c "CREATE TABLE $hostile (id bigserial, lead_id bigint NOT NULL, type text NOT NULL, occurred_at timestamptz NOT NULL, url text, PRIMARY KEY (lead_id, id))" \
    -c "SELECT create_distributed_table('cit.leads', 'id')" \
    -c "SELECT create_distributed_table(\$\$$hostile\$\$, 'lead_id', colocate_with => 'cit.leads')" \
    -c "INSERT INTO cit.leads VALUES (1, 'Software', 'VP', 'a@example.com'), (2, 'Retail', 'CTO', 'b@example.com')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" on "$COORD" \
    -c "SELECT lead_score.attach('default', 'cit.leads', \$\$$hostile\$\$, name => 'hostile', mode => '$MODE')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('hostile')"
check "distribute() of a table named to end a literal" "$?" 0
superuser="SELECT rolsuper FROM pg_roles WHERE rolname = 'cit_owner'"
check "its owner is no superuser on any node" \
    "$(on "$COORD" -c "$superuser") $(on "$WORKER1" -c "$superuser") $(on "$WORKER2" -c "$superuser")" "f f f"
on "$COORD" -c "INSERT INTO $hostile (lead_id, type, occurred_at, url) VALUES (1, 'visit', now(), '/pricing'), (2, 'demo_request', now(), NULL)" >/dev/null
check "its shards' triggers score the writes" \
    "$(on "$COORD" -c "SELECT count(*) FROM lead_score.check_consistency('hostile')") $(on "$COORD" -c "SELECT count(*) FROM lead_score.hostile_current WHERE engagement > 0")" "0 2"
on "$COORD" -c "SELECT lead_score.tick()" >/dev/null
check "then tick(): 0 mismatches, nothing pending" \
    "$(on "$COORD" -c "SELECT count(*) FROM lead_score.check_consistency('hostile')") $(on "$COORD" -c "SELECT count(*) FROM lead_score_internal.hostile_pending")" "0 0"
# A reader names, as the activity shard, a temporary table of its own named
# like one of the attachment's activity shards on this worker (the name alone
# matches for a table in public): refused, as any temporary relation is.
# (Citus hides shards from pg_class: their names come from shard_name.)
shard_of="FROM pg_dist_shard s JOIN pg_dist_placement p ON p.shardid = s.shardid
  WHERE p.groupid = (SELECT groupid FROM pg_dist_local_group)"
relname="(parse_ident(shard_name(s.logicalrelid, s.shardid, false)))[2]"
on "$WORKER1" -a -f - >"$OUT/placement_public.log" 2>&1 <<SQL || true
SELECT $relname AS act, s.shardminvalue AS lo $shard_of AND s.logicalrelid::text LIKE '%ALTER ROLE%' ORDER BY 1 LIMIT 1 \gset
SELECT $relname AS sc $shard_of AND s.logicalrelid = 'lead_score_internal.hostile_scores'::regclass AND s.shardminvalue = :'lo' \gset
SET ROLE cit_reader;
-- The group's own shards are taken (as its trigger functions name them).
SELECT set_config('lead_score.citus_placement', json_build_array('lead_score_internal', :'sc', 'public', :'act')::text, false);
SELECT 'own shards: ' || count(*) FROM unnest(lead_score_internal._read_states('hostile', ARRAY[1::bigint]));
CREATE TEMP TABLE :"act" (lead_id bigint, type text, occurred_at timestamptz, url text);
SELECT nspname AS tmp FROM pg_namespace WHERE oid = pg_my_temp_schema() \gset
SELECT set_config('lead_score.citus_placement', json_build_array('lead_score_internal', :'sc', :'tmp', :'act')::text, false);
SELECT lead_score_internal._read_states('hostile', ARRAY[1::bigint]);
SQL
check "its own shards named by a reader: taken; a temporary table named like its activity shard: refused" \
    "$(grep -c 'own shards: 1' "$OUT/placement_public.log") $(grep -c 'does not name the shards' "$OUT/placement_public.log")" "1 1"
check "detach() of it" "$(on "$COORD" -c "SELECT lead_score.detach('hostile')")" t
# A reader points lead_score.citus_placement, which the shard groups' trigger
# functions set, at a view of its own: the owner's reads refuse it (22023), on
# the coordinator and on a worker, and never read the view.
placement="SET ROLE cit_reader;
CREATE TEMP VIEW decoy AS SELECT 1::bigint AS lead_id, 'visit'::text AS type, now() AS occurred_at, '/x'::text AS url;
GRANT SELECT ON decoy TO PUBLIC;
SELECT set_config('lead_score.citus_placement', json_build_array('lead_score_internal', 'default_scores', nspname, 'decoy')::text, false)
FROM pg_namespace WHERE oid = pg_my_temp_schema();
SELECT lead_score_internal._read_states('default', ARRAY[1::bigint]);"
on "$COORD" -c "$placement" >"$OUT/placement_coordinator.log" 2>&1 || true
# (A worker refuses a reader's views and grants, DDL a coordinator propagates:
# there the decoy is a temporary table. The refusal comes before any read.)
grep -v '^GRANT' <<<"${placement/CREATE TEMP VIEW decoy AS/CREATE TEMP TABLE decoy AS}" |
    on "$WORKER1" -a -f - >"$OUT/placement_worker.log" 2>&1 || true
check "lead_score.citus_placement set by a reader: refused on the coordinator and a worker" \
    "$(grep -c 'does not name the shards' "$OUT/placement_coordinator.log") $(grep -c 'does not name the shards' "$OUT/placement_worker.log")" "1 1"
# Real tables on worker 1 (made by its superuser) named like the shards of a
# group that worker 2 holds: the names resolve (to_regclass: Citus hides
# relations named like shards from pg_class), but those shards are not placed
# on this node's group: refused.
other_group="FROM pg_dist_shard s JOIN pg_dist_placement p ON p.shardid = s.shardid
  WHERE p.groupid <> (SELECT groupid FROM pg_dist_local_group)"
on "$WORKER1" -v ON_ERROR_STOP=0 -a -f - >"$OUT/placement_other_node.log" 2>&1 <<SQL || true
SELECT $relname AS act, s.shardminvalue AS lo $other_group AND s.logicalrelid = 'crm.activities'::regclass ORDER BY 1 LIMIT 1 \gset
SELECT $relname AS sc $other_group AND s.logicalrelid = 'lead_score_internal.default_scores'::regclass AND s.shardminvalue = :'lo' \gset
SET citus.enable_ddl_propagation = off;
CREATE TABLE crm.:"act" (id bigint, lead_id bigint, type text, occurred_at timestamptz, url text);
CREATE TABLE lead_score_internal.:"sc" (LIKE lead_score_internal.default_scores);
GRANT SELECT ON crm.:"act", lead_score_internal.:"sc" TO PUBLIC;
SELECT 'look-alikes: ' || count(r) FROM (VALUES (to_regclass(format('crm.%I', :'act'))), (to_regclass(format('lead_score_internal.%I', :'sc')))) v(r);
SET ROLE cit_reader;
SELECT set_config('lead_score.citus_placement', json_build_array('lead_score_internal', :'sc', 'crm', :'act')::text, false);
SELECT lead_score_internal._read_states('default', ARRAY[1::bigint]);
RESET ROLE;
DROP TABLE crm.:"act", lead_score_internal.:"sc";
SQL
check "real tables on a worker named like the shards another worker holds: refused" \
    "$(grep -c 'look-alikes: 2' "$OUT/placement_other_node.log") $(grep -c 'does not name the shards' "$OUT/placement_other_node.log")" "1 1"
# The same, with the reader's own = on regclass first on its search_path (it
# says every two relations are equal), calling _lock_activities directly: the
# check's SQL runs under a pinned search_path with qualified operators. (The
# reader may log in and create a schema for this, which Citus creates on every
# node as its owner, and may use crm.)
on "$COORD" -c "ALTER ROLE cit_reader LOGIN" -c "GRANT CREATE ON DATABASE postgres TO cit_reader" \
    -c "GRANT USAGE ON SCHEMA crm TO cit_reader" >/dev/null
on "$COORD" -v ON_ERROR_STOP=0 -a -f - >"$OUT/placement_operator.log" 2>&1 <<'SQL' || true
SET ROLE cit_reader;
CREATE SCHEMA evil;
CREATE FUNCTION evil.same(regclass, regclass) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR evil.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = evil.same);
CREATE TABLE evil.decoy (lead_id bigint, type text, occurred_at timestamptz, url text);
SET search_path = evil, pg_catalog;
SELECT 'hijacked: ' || ('pg_class'::regclass = 'pg_proc'::regclass);
SELECT set_config('lead_score.citus_placement', json_build_array('lead_score_internal', 'default_scores', 'evil', 'decoy')::text, false);
SELECT lead_score_internal._lock_activities('default');
SELECT lead_score_internal._read_states('default', ARRAY[1::bigint]);
SQL
on "$COORD" -c "DROP SCHEMA IF EXISTS evil CASCADE" -c "REVOKE CREATE ON DATABASE postgres FROM cit_reader" \
    -c "REVOKE USAGE ON SCHEMA crm FROM cit_reader" -c "ALTER ROLE cit_reader NOLOGIN" >/dev/null
check "…with a reader's own = on regclass: refused, by _lock_activities and _read_states" \
    "$(grep -c 'hijacked: true' "$OUT/placement_operator.log") $(grep -c 'does not name the shards' "$OUT/placement_operator.log")" "1 2"

log "citus ($MODE): a shard group moved away and back gets its own triggers again"
# Citus rebuilds a moved shard with the distributed table's triggers; the
# group's functions stay on the node it left. Before, distribute() took those
# for an installed group when the shard came back, and left it unscored.
moved=$(on "$COORD" -c "SELECT s.shardid FROM pg_dist_shard s JOIN pg_dist_placement p ON p.shardid = s.shardid
                        JOIN pg_dist_node n ON n.groupid = p.groupid
                        WHERE s.logicalrelid = 'crm.activities'::regclass AND n.nodeport = $WORKER1 ORDER BY 1 LIMIT 1")
move() { on "$COORD" -c "SELECT citus_move_shard_placement($moved, '127.0.0.1', $1, '127.0.0.1', $2, shard_transfer_mode => 'block_writes')" \
            -c "CALL citus_cleanup_orphaned_resources()" >/dev/null; }
move "$WORKER1" "$WORKER2"
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('default')"
move "$WORKER2" "$WORKER1"
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('default')"
check "moved back: distribute() gives the activity shard the group's own trigger" \
    "$(on "$WORKER1" -c "SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = to_regclass(shard_name('crm.activities'::regclass, $moved, false))
                         AND t.tgfoid = to_regproc('lead_score_internal.default__act_upd_$moved')")" 1
lead=$(on "$COORD" -c "SELECT l.id FROM crm.leads l WHERE get_shard_id_for_distribution_column('crm.activities', l.id) = $moved ORDER BY 1 LIMIT 1")
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) VALUES ($lead, 'demo_request', now(), NULL), ($lead, 'visit', now(), '/pricing')" \
    -c "UPDATE crm.activities SET url = '/pricing' WHERE lead_id = $lead AND url IS NULL" >/dev/null
consistent "a shard group moved away and back"

log "citus ($MODE): distribute() checks that each node installed its own placements"
# A node whose metadata is stale could install groups it does not hold and
# miss its own. Here worker 2's installer reports worker 1's shards instead of
# its own: as many (the groups are spread evenly), which a check by counts
# (its first form) would pass; by sets, distribute() names what differs (55000).
own_install=$(on "$WORKER2" -c "SELECT pg_get_functiondef('lead_score_internal._citus_install_node(text)'::regprocedure)")
shards_on() { on "$COORD" -c "SELECT array_agg(s.shardid ORDER BY s.shardid) FROM pg_dist_shard s
                              JOIN pg_dist_placement p ON p.shardid = s.shardid JOIN pg_dist_node n ON n.groupid = p.groupid
                              WHERE s.logicalrelid = 'crm.activities'::regclass AND n.nodeport = $1"; }
check "distribute(): the workers hold as many activity shards" \
    "$(on "$COORD" -c "SELECT cardinality('$(shards_on "$WORKER1")'::bigint[]) = cardinality('$(shards_on "$WORKER2")'::bigint[])")" t
# (A worker takes DDL of the extension's objects only with propagation off.)
on "$WORKER2" -c "SET citus.enable_ddl_propagation = off" \
    -c "CREATE OR REPLACE FUNCTION lead_score_internal._citus_install_node(attachment text) RETURNS bigint[]
        LANGUAGE sql AS \$\$SELECT '$(shards_on "$WORKER1")'::bigint[]\$\$" >/dev/null
on "$COORD" -c '\set VERBOSITY verbose' -c "CALL lead_score.distribute('default')" >"$OUT/distribute_stale.log" 2>&1 || true
printf 'SET citus.enable_ddl_propagation = off;\n%s;\n' "$own_install" | on "$WORKER2" -f - >/dev/null
# Every shard of both workers differs: the first five are named (shards alternate
# between the workers, so both kinds), then how many more.
differ=$(( $(on "$COORD" -c "SELECT cardinality('$(shards_on "$WORKER1")'::bigint[]) + cardinality('$(shards_on "$WORKER2")'::bigint[])") - 5 ))
stale_error=$(grep '^ERROR:  55000: ' "$OUT/distribute_stale.log" || true)
check "distribute() with a node's installs unlike its placements: 55000, naming shards of each kind, then how many more" \
    "$(grep -c 'group [0-9]* not installed' <<<"$stale_error") $(grep -c 'installed where not placed, or twice' <<<"$stale_error") $(grep -o 'and [0-9]* more$' <<<"$stale_error")" \
    "1 1 and $differ more"
# A node that reports one of its shards twice (as two installs of one group).
on "$WORKER2" -c "SET citus.enable_ddl_propagation = off" \
    -c "CREATE OR REPLACE FUNCTION lead_score_internal._citus_install_node(attachment text) RETURNS bigint[]
        LANGUAGE sql AS \$\$SELECT '$(shards_on "$WORKER2")'::bigint[] || ('$(shards_on "$WORKER2")'::bigint[])[1]\$\$" >/dev/null
on "$COORD" -c '\set VERBOSITY verbose' -c "CALL lead_score.distribute('default')" >"$OUT/distribute_twice.log" 2>&1 || true
printf 'SET citus.enable_ddl_propagation = off;\n%s;\n' "$own_install" | on "$WORKER2" -f - >/dev/null
check "distribute() with a shard reported twice: 55000, that shard alone" \
    "$(grep '^ERROR:  55000: ' "$OUT/distribute_twice.log" | grep -o 'placements: .*')" \
    "placements: shard $(on "$COORD" -c "SELECT ('$(shards_on "$WORKER2")'::bigint[])[1]") of group $(on "$COORD" -c "SELECT groupid FROM pg_dist_node WHERE nodeport = $WORKER2") installed where not placed, or twice"
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('default')"
check "distribute() again once the node installs its own" "$?" 0

log "citus ($MODE): a second attachment of the same tables, in the other mode"
other=$([ "$MODE" = sync ] && echo deferred || echo sync)
PGOPTIONS="-c client_min_messages=warning" on "$COORD" \
    -c "SELECT lead_score.attach('default', 'crm.leads', 'crm.activities', name => 'second', mode => '$other')" >/dev/null
PGOPTIONS="-c client_min_messages=warning" on "$COORD" -c "CALL lead_score.distribute('second')"
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at, url) SELECT 1 + i % 50, 'visit', now(), '/pricing' FROM generate_series(1, 200) i" >/dev/null
check "second attachment ($other): 0 mismatches in both" \
    "$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('second'))")" 0
check "current_scores over both attachments" \
    "$(on "$COORD" -c "SELECT count(DISTINCT attachment) FROM lead_score.current_scores")" 2
on "$COORD" -c "SELECT lead_score.tick()" >/dev/null
check "second attachment, then tick(): 0 mismatches in both" \
    "$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('second'))")" 0
# A publish that finds only the second attachment's landmark due (here set
# 500 days back: 71 of the model's 7-day half-lives, over the 64 that make a
# rebase due) rescores it at the new landmark and then moves it, in the
# transaction in which the first attachment's rescore ran over every shard.
back=$(on "$COORD" -c "SELECT landmark - interval '500 days' FROM lead_score.attachments WHERE name = 'second'")
on "$COORD" -c "UPDATE lead_score.attachments SET landmark = '$back' WHERE name = 'second'" >/dev/null
versions="SELECT max(v.version) FROM lead_score.model_versions v JOIN lead_score.models m ON m.id = v.model_id WHERE m.name = 'default'"
next=$(( $(on "$COORD" -c "$versions") + 1 ))
published=$(on "$COORD" -c "SET client_min_messages = warning" \
    -c "SELECT lead_score.create_model('default', jsonb_set(lead_score.model_spec('default'), '{fit,rules,0,points}', '36'))" 2>&1 || true)
check "publish with the second attachment's landmark due" "$published" "$next"
check "its landmark moved, and is not due" \
    "$(on "$COORD" -c "SELECT landmark > '$back' AND NOT lead_score_internal._rebase_due(model, landmark, now()) FROM lead_score.attachments WHERE name = 'second'")" t
check "then 0 mismatches in both" \
    "$(on "$COORD" -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('second'))")" 0
# A tick() that rebases a distributed attachment switches its transaction to
# one connection per node (Citus's rule after that multi-shard write), and the
# switch lasts the transaction, though the rebase runs as the extension's owner
# with every other setting restored after it.
back=$(on "$COORD" -c "SELECT landmark - interval '500 days' FROM lead_score.attachments WHERE name = 'second'")
on "$COORD" -c "UPDATE lead_score.attachments SET landmark = '$back' WHERE name = 'second'" >/dev/null
check "a tick() that rebases leaves the transaction sequential" \
    "$(on "$COORD" -c "BEGIN" -c "SELECT lead_score.tick() >= 0" -c "SHOW citus.multi_shard_modify_mode" -c "COMMIT" | tail -1)" sequential
check "its landmark moved again, and 0 mismatches in both" \
    "$(on "$COORD" -c "SELECT NOT lead_score_internal._rebase_due(model, landmark, now()) FROM lead_score.attachments WHERE name = 'second'" \
        -c "SELECT (SELECT count(*) FROM lead_score.check_consistency('default')) + (SELECT count(*) FROM lead_score.check_consistency('second'))" | tr '\n' ' ')" "t 0 "
check "detach() of the second attachment" "$(on "$COORD" -c "SELECT lead_score.detach('second')")" t

log "citus ($MODE): detach() drops the shard groups' own objects on every node"
shard_objects="SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace) AND proname LIKE 'default\_\_%')
                    + (SELECT count(*) FROM pg_class WHERE relnamespace IN ('lead_score'::regnamespace, 'lead_score_internal'::regnamespace) AND relname LIKE 'default\_%')"
check "before detach(): shard-group objects on a worker" \
    "$([ "$(on "$WORKER1" -c "$shard_objects")" -gt 100 ] && echo yes || echo no)" yes
check "detach()" "$(on "$COORD" -c "SELECT lead_score.detach('default')")" t
check "after detach(): objects of the attachment on the coordinator and workers" \
    "$(on "$COORD" -c "$shard_objects") $(on "$WORKER1" -c "$shard_objects") $(on "$WORKER2" -c "$shard_objects")" "0 0 0"
check "after detach(): no lead_score trigger on the shards" \
    "$(on "$WORKER1" -c "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'lead\_score\_%'")" 0
on "$COORD" -c "INSERT INTO crm.activities (lead_id, type, occurred_at) VALUES (1, 'visit', now())" >/dev/null
check "after detach(): activities are written as before" "$?" 0
cluster_stop
}

for mode in ${CITUS_MODES:-sync deferred}; do
    suite "$mode"
done
# The extension update from 0.1.0 on a fresh cluster (CITUS_UPGRADE=0 skips it).
if [ "${CITUS_UPGRADE:-1}" = 1 ]; then
    SKIP_INSTALL=1 OUT="$OUT_ROOT" bash "$here/upgrade.sh" || failures=$((failures + 1))
fi

echo
if [ "$failures" = 0 ]; then
    echo "citus suite: every check passed"
else
    echo "citus suite: $failures checks failed (outputs in $OUT_ROOT)"
    exit 1
fi
