#!/usr/bin/env python3
"""A seeded, randomized differential test of lead_score's live scores.

One session writes a small CRM (20 lead keys, some never leads) through every
write pattern the README names: single and multi-row inserts, COPY, updates of
every activity column, deletes, upserts (DO NOTHING and DO UPDATE), MERGE,
writable CTEs (the move idiom, insert-then-update, update-then-insert, lead and
activity in one statement), lead inserts, fit changes, key changes, deletes and
TRUNCATE of either table, manual adjustments, tick() inside an insert, rescore,
publishing other versions (exponential, step and window decay, caps,
categories, disqualifiers), and time passing (the mock clock). Transactions
run at READ COMMITTED, REPEATABLE READ or SERIALIZABLE, with savepoints and
rollbacks, or as single autocommit statements.

The oracle is the set-based path: every lead recomputed from scratch from its
tables with the aggregates (lead_score.engagement_state, lead_score.score). The
live path (sync and deferred attachments, their views, current_score,
top_leads and check_consistency) must give the same scores, inside the
transaction and after it commits, after tick(), and read at a later as_of.

    python3 tests/fuzz/fuzz.py SEED TRANSACTIONS VARIANT

VARIANT: tz (timestamptz events, both modes), ts (timestamp events in a time
zone, session time zones changing), sync, deferred (one attachment), future
(events dated after the clock: their leads are left out of the comparison),
fasthl (a 1-hour half-life and time passing faster: landmarks move), real (the
real clock: not reproducible). Connects with the PG* environment variables.
On a mismatch it exits 1 and writes the session's SQL, replayable with psql,
to $FUZZ_OUT/fail_VARIANT_SEED.sql (default: the current directory).
"""
import io, json, os, random, sys, time

import psycopg2

DSN = os.environ.get("FUZZ_DSN", "")
OUT = os.environ.get("FUZZ_OUT", ".")
MOCK0 = "2026-06-01 12:00:00+00"
NKEYS = int(os.environ.get("NKEYS", "20"))
# fasthl: a 1-hour half-life on one rule, and time passing faster.
FASTHL = False
TYPES = ['page_view', 'page_view', 'webinar', 'demo_request', 'unsubscribe', 'email_open', 'download', 'other']
URLS = ['/pricing', '/blog', '/pricing/ent', None, '', '/docs']
CHANNELS = ['email', 'ads', None, 'email']

SPEC1 = {
  "fit": {
    "rules": [
      {"name": "target industry", "when": {"field": "industry", "in": ["Software", "Fintech"]}, "points": 20},
      {"name": "senior", "when": {"field": "title", "regex": "\\b(vp|chief|head|director)\\b"}, "points": 15},
      {"name": "big", "when": {"field": "employees", "gte": 200}, "points": 10},
      {"name": "student", "when": {"field": "title", "contains": "Student"}, "points": -10},
      {"name": "competitor", "when": {"field": "email", "regex": "@rival\\.com$"}, "disqualify": True}
    ],
    "completeness": {"fields": ["email", "title", "country"], "points": 9}
  },
  "engagement": {
    "properties": ["url", "channel", "duration"],
    "decay": {"kind": "exponential", "half_life": "10 days"},
    "categories": [{"name": "content", "cap": 25, "watermark": 8}],
    "rules": [
      {"name": "visit", "event": "page_view", "points": 1, "repeat": {"cap": 6}},
      {"name": "pricing", "event": "page_view", "when": {"field": "url", "contains": "/pricing"}, "points": 5, "category": "content", "repeat": {"cap": 15}},
      {"name": "webinar", "event": "webinar", "points": 10, "category": "content"},
      {"name": "long webinar", "event": "webinar", "when": {"field": "duration", "gte": 30}, "points": 4},
      {"name": "demo", "event": "demo_request", "points": 40, "repeat": "once"},
      {"name": "unsub", "event": "unsubscribe", "points": -20},
      {"name": "mail", "event": ["email_open", "page_view"], "when": {"field": "channel", "eq": "email"}, "points": 2, "repeat": {"cap": 6}},
      {"name": "dl", "event": "download", "points": 8, "repeat": {"cap": 16}, "decay": {"kind": "window", "window": "14 days"}}
    ],
    "cap": 90
  },
  "classification": {
    "grades": [{"name": "A", "min": 35}, {"name": "B", "min": 20}, {"name": "C"}],
    "labels": [{"name": "hot", "min": 40}, {"name": "warm", "min": 10}, {"name": "cold"}],
    "quadrant": {"fit": 30, "engagement": 25},
    "mql": {"min_total": 60, "min_fit": 20}
  }
}

def spec2():
    s = json.loads(json.dumps(SPEC1))
    s["engagement"]["decay"] = {"kind": "step", "points": 3, "every": "5 days"}
    s["engagement"]["rules"][0]["points"] = 2
    s["engagement"]["rules"][4]["points"] = 35
    s["engagement"]["rules"][5]["decay"] = {"kind": "exponential", "half_life": "3 days"}
    s["engagement"]["cap"] = 70
    s["engagement"]["floor_at_zero"] = True
    s["fit"]["rules"][0]["points"] = 25
    return s

def spec3():
    s = json.loads(json.dumps(SPEC1))
    s["engagement"]["rules"][3]["when"] = {"field": "duration", "between": [10, 40]}
    s["engagement"]["categories"][0]["cap"] = 12
    s["fit"]["min"] = 0
    if FASTHL:
        s["engagement"]["rules"][2]["decay"] = {"kind": "exponential", "half_life": "1 hour"}
    return s


def specs():
    """The versions published in turn (the first is the one attached)."""
    return [spec3(), SPEC1, spec2()] if FASTHL else [SPEC1, spec2(), spec3()]


class Bug(Exception):
    pass


class Fuzzer:
    def __init__(self, db, seed, tcol='timestamptz', atts=(('sy', 'sync'), ('de', 'deferred')), future=False,
                 logf=None, mock=True, single=False):
        self.db, self.seed, self.tcol, self.atts, self.future = db, seed, tcol, list(atts), future
        self.rng = random.Random(seed)
        self.mock = mock
        self.log = []
        self.logf = logf
        self.eid = 1000
        self.taint = set()
        self.nchecks = 0
        self.ntx = 0
        self.findings = []
        self.single = single
        self.mock_time = MOCK0
        self.base_epoch = 1780315200
        if not mock:
            self.base_epoch = int(time.time())
            self.mock_time = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.base_epoch)) + '+00'
        self.spec_idx = 0
        self.specs = specs()

    # ---------- plumbing
    def connect(self):
        c = psycopg2.connect(DSN + " dbname=" + self.db)
        c.autocommit = True
        cur = c.cursor()
        cur.execute("SET client_min_messages = warning")
        if self.mock:
            cur.execute("SET lead_score.mock_now = %s", (self.mock_time,))
        return c

    def ex(self, cur, sql, args=None, log=True):
        q = cur.mogrify(sql, args).decode() if args is not None else sql
        if log:
            self.log.append(q.strip().rstrip(';') + ';')
        cur.execute(q)
        try:
            return cur.fetchall()
        except psycopg2.ProgrammingError:
            return None

    def setup(self):
        c = psycopg2.connect(DSN + " dbname=postgres")
        c.autocommit = True
        cur = c.cursor()
        cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db)
        cur.execute("CREATE DATABASE %s" % self.db)
        c.close()
        self.conn = self.connect()
        cur = self.conn.cursor()
        tz = ''
        if self.tcol == 'timestamp':
            tz = ', "time_zone": "Europe/Berlin"'
        dur_t = 'integer' if self.tcol == 'timestamp' else 'text'
        self.dur_t = dur_t
        setup = f"""
CREATE EXTENSION lead_score;
SET client_min_messages = warning;
{"SET lead_score.mock_now = '" + self.mock_time + "';" if self.mock else "SELECT 1;"}
CREATE SCHEMA fz;
CREATE TABLE fz.leads (id int PRIMARY KEY, industry text, title text, email text, employees int, country text);
CREATE TABLE fz.acts (id bigserial PRIMARY KEY, event_id int UNIQUE, lead_id int, type text, occurred_at {self.tcol},
                      url text, channel text, duration {dur_t});
CREATE INDEX ON fz.acts (lead_id);
SELECT lead_score.create_model('m', '{json.dumps(self.specs[0])}');
"""
        for name, mode in self.atts:
            setup += f"""SELECT lead_score.attach('m', 'fz.leads', 'fz.acts', '{{"properties": {{}}{tz}}}', name => '{name}', mode => '{mode}');\n"""
        self.setup_sql = setup
        for stmt in [s for s in setup.split(';\n') if s.strip()]:
            self.ex(cur, stmt)
        self.log = []
        # initial data
        for k in range(1, NKEYS + 1):
            if self.rng.random() < 0.6:
                self.ex(cur, "INSERT INTO fz.leads VALUES (%s,%s,%s,%s,%s,%s)", self.lead_row(k))
        for _ in range(30):
            self.ex(cur, "INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + self.act_vals(cur, 1))
        for _ in range(NKEYS // 20):
            self.ex(cur, "INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + self.act_vals(cur, 50))

    # ---------- generators
    def lead_row(self, k):
        r = self.rng
        return (k, r.choice(['Software', 'Fintech', 'Retail', None, '']), r.choice(['VP Sales', 'Engineer', 'Student', 'Head of IT', None]),
                r.choice(['a@x.com', 'b@rival.com', None, 'c@y.com', 'c@y.com']), r.choice([None, 10, 200, 5000]),
                r.choice(['US', 'DE', None, '  ']))

    def ts(self):
        r = self.rng
        x = r.random()
        if x < 0.04:
            return None
        if self.future and x < 0.07:
            return '2026-06-0%d 12:00:00' % r.randint(2, 9) + ('+00' if self.tcol == 'timestamptz' else '')
        if self.tcol == 'timestamp' and x < 0.12:
            # around DST change in Europe/Berlin (2026-03-29 02:00 -> 03:00, 2025-10-26 03:00 -> 02:00)
            return r.choice(['2026-03-29 02:30:00', '2026-03-29 01:59:59', '2026-03-29 03:00:00', '2025-10-26 02:30:00'])
        # within last 40 days of mock time
        secs = r.randint(6 * 3600, 40 * 86400)
        base = self.base_epoch
        if FASTHL:
            import calendar
            base = calendar.timegm(time.strptime(self.mock_time[:19], '%Y-%m-%d %H:%M:%S'))
            secs = r.randint(5 * 3600 + 60, 3 * 86400) if r.random() < 0.7 else secs
        t = base - secs
        s = time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t))
        if self.tcol == 'timestamptz':
            s += r.choice(['+00', '+02', '-05'])
        return s

    def key(self, extra=True):
        return self.rng.randint(1, NKEYS + (3 if extra else 0))

    def act_tuple(self, key=None, eid=None):
        r = self.rng
        if eid is None:
            self.eid += 1
            eid = self.eid if r.random() < 0.8 else None
        dur = r.choice([None, 5, 30, 45, 12])
        if dur is not None and self.dur_t == 'text':
            dur = r.choice([str(dur), str(dur), ' %d' % dur, '30.0'])
        if key is None and r.random() < 0.03:
            key = 'NULLKEY'
        return (eid, None if key == 'NULLKEY' else (key if key is not None else self.key()), r.choice(TYPES) if r.random() > 0.02 else None,
                self.ts(), r.choice(URLS), r.choice(CHANNELS), dur)

    def act_vals(self, cur, n, key=None):
        return ", ".join(cur.mogrify("(%s,%s,%s,%s,%s,%s,%s)", self.act_tuple(key)).decode() for _ in range(n))

    # ---------- operations
    def op(self, cur):
        r = self.rng
        ops = ['ins1', 'insn', 'insn', 'copy', 'upd_time', 'upd_type', 'upd_prop', 'upd_key', 'del', 'upsert_nothing',
               'upsert_update', 'merge', 'cte_move', 'cte_upd_ins', 'cte_ins_upd', 'lead_ins', 'lead_upd', 'lead_key',
               'lead_del', 'cte_lead_act', 'cte_leadupd_act', 'rescore', 'tick', 'publish', 'truncate', 'adjust',
               'tick_in_insert', 'cte_read', 'cte_read', 'upd_multi', 'lead_ins_conflict', 'read', 'lead_trunc', 'lead_del_ins', 'end_adj']
        weights = [8, 8, 4, 3, 4, 3, 3, 3, 4, 3, 4, 3, 2, 2, 2, 3, 3, 2, 2, 2, 2, 0.4, 2, 0.4, 0.3, 1.5, 1, 2, 2, 2, 1, 3, 0.2, 1.5, 0.3]
        o = r.choices(ops, weights)[0]
        k = self.key()
        k2 = self.key()
        if o == 'ins1':
            self.ex(cur, "INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + self.act_vals(cur, 1))
        elif o == 'insn':
            self.ex(cur, "INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + self.act_vals(cur, r.randint(2, 8)))
        elif o == 'copy' and getattr(self, 'capture', None) is not None:
            return o
        elif o == 'copy':
            rows = [self.act_tuple() for _ in range(r.randint(1, 10))]
            buf = io.StringIO()
            for t in rows:
                buf.write("\t".join('\\N' if v is None else str(v) for v in t) + "\n")
            data = buf.getvalue()
            self.log.append("COPY fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) FROM STDIN;\n" + data + "\\.")
            cur.copy_expert("COPY fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) FROM STDIN", io.StringIO(data))
        elif o == 'upd_time':
            self.ex(cur, "UPDATE fz.acts SET occurred_at = %s WHERE id IN (SELECT id FROM fz.acts WHERE lead_id = %s ORDER BY id LIMIT 2)", (self.ts(), k))
        elif o == 'upd_type':
            self.ex(cur, "UPDATE fz.acts SET type = %s WHERE lead_id = %s AND id %% 3 = %s", (r.choice(TYPES), k, r.randint(0, 2)))
        elif o == 'upd_prop':
            self.ex(cur, "UPDATE fz.acts SET url = %s, channel = %s WHERE lead_id IN (%s, %s) AND id %% 2 = %s", (r.choice(URLS), r.choice(CHANNELS), k, k2, r.randint(0, 1)))
        elif o == 'upd_key':
            self.ex(cur, "UPDATE fz.acts SET lead_id = %s WHERE lead_id = %s AND id %% 2 = %s", (k2, k, r.randint(0, 1)))
        elif o == 'upd_multi':
            self.ex(cur, "UPDATE fz.acts SET occurred_at = occurred_at - interval '1 day', lead_id = CASE WHEN id %% 5 = 0 THEN %s ELSE lead_id END WHERE id %% 7 = %s", (k2, r.randint(0, 6)))
        elif o == 'del':
            if r.random() < 0.5:
                self.ex(cur, "DELETE FROM fz.acts WHERE lead_id = %s AND id %% 2 = %s", (k, r.randint(0, 1)))
            else:
                self.ex(cur, "DELETE FROM fz.acts WHERE id IN (SELECT id FROM fz.acts ORDER BY md5(id::text || %s) LIMIT 2)", (str(r.randint(0, 999)),))
        elif o == 'upsert_nothing':
            vals = ", ".join(cur.mogrify("(%s,%s,%s,%s,%s,%s,%s)", self.act_tuple(eid=r.randint(1, 40))).decode() for _ in range(r.randint(1, 3)))
            self.ex(cur, "INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + vals + " ON CONFLICT (event_id) DO NOTHING")
        elif o == 'upsert_update':
            eids = r.sample(range(1, 40), r.randint(1, 3))
            vals = ", ".join(cur.mogrify("(%s,%s,%s,%s,%s,%s,%s)", self.act_tuple(eid=e)).decode() for e in eids)
            sets = r.choice(["url = excluded.url", "lead_id = excluded.lead_id, occurred_at = excluded.occurred_at",
                             "type = excluded.type, channel = excluded.channel", "duration = excluded.duration"])
            self.ex(cur, "INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + vals + " ON CONFLICT (event_id) DO UPDATE SET " + sets)
        elif o == 'merge':
            eids = r.sample(range(1, 40), r.randint(1, 4))
            vals = ", ".join(cur.mogrify("(%s,%s,%s,%s::" + self.tcol + ",%s,%s,%s::" + self.dur_t + ")", self.act_tuple(eid=e)).decode() for e in eids)
            self.ex(cur, "MERGE INTO fz.acts t USING (VALUES " + vals + ") v(eid, lid, ty, ts, url, ch, du) ON t.event_id = v.eid::int "
                    "WHEN MATCHED AND v.lid::int % 3 = 0 THEN DELETE "
                    "WHEN MATCHED THEN UPDATE SET url = v.url, lead_id = v.lid::int "
                    "WHEN NOT MATCHED THEN INSERT (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES (v.eid::int, v.lid::int, v.ty, v.ts, v.url, v.ch, v.du)")
        elif o == 'cte_move':
            self.ex(cur, "WITH d AS (DELETE FROM fz.acts WHERE lead_id = %s RETURNING *) INSERT INTO fz.acts (lead_id, type, occurred_at, url, channel, duration) SELECT %s, type, occurred_at, url, channel, duration FROM d", (k, r.choice([k, k2])))
        elif o == 'cte_upd_ins':
            self.ex(cur, "WITH u AS (UPDATE fz.acts SET url = '/x' WHERE lead_id = %s AND type = %s RETURNING lead_id, occurred_at) INSERT INTO fz.acts (lead_id, type, occurred_at, url) SELECT %s, 'page_view', occurred_at, '/pricing' FROM u", (k, r.choice(TYPES), r.choice([k, k2])))
        elif o == 'cte_ins_upd':
            self.ex(cur, "WITH i AS (INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + self.act_vals(cur, 2, key=k) + " RETURNING lead_id) UPDATE fz.acts SET channel = 'email' WHERE lead_id IN (SELECT lead_id FROM i) OR lead_id = %s", (k2,))
        elif o == 'lead_ins':
            self.ex(cur, "INSERT INTO fz.leads VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET title = excluded.title, email = excluded.email", self.lead_row(k))
        elif o == 'lead_ins_conflict':
            self.ex(cur, "INSERT INTO fz.leads VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO NOTHING", self.lead_row(k))
        elif o == 'lead_upd':
            row = self.lead_row(k)
            self.ex(cur, "UPDATE fz.leads SET industry = %s, title = %s, email = %s, employees = %s WHERE id = %s", (row[1], row[2], row[3], row[4], k))
        elif o == 'lead_key':
            self.ex(cur, "UPDATE fz.leads SET id = %s WHERE id = %s AND NOT EXISTS (SELECT 1 FROM fz.leads WHERE id = %s)", (k2, k, k2))
        elif o == 'lead_del':
            self.ex(cur, "DELETE FROM fz.leads WHERE id = %s", (k,))
        elif o == 'cte_lead_act':
            self.ex(cur, "WITH a AS (INSERT INTO fz.acts (lead_id, type, occurred_at, url) VALUES (%s, 'demo_request', %s, NULL), (%s, 'page_view', %s, '/pricing') RETURNING lead_id) "
                    "INSERT INTO fz.leads (id, industry, title) SELECT DISTINCT lead_id, 'Software', 'VP' FROM a ON CONFLICT (id) DO UPDATE SET title = 'Chief'", (k, self.ts(), k, self.ts()))
        elif o == 'cte_leadupd_act':
            self.ex(cur, "WITH u AS (UPDATE fz.leads SET title = title WHERE id = %s RETURNING id) INSERT INTO fz.acts (lead_id, type, occurred_at, url) SELECT id, 'page_view', %s, '/pricing' FROM u", (k, self.ts()))
        elif o == 'rescore':
            self.ex(cur, "SELECT lead_score.rescore(%s)", (r.choice(self.atts)[0],))
        elif o == 'tick':
            self.ex(cur, "SELECT lead_score.tick()")
        elif o == 'cte_read':
            # readers in the statement whose CTE inserts: must agree with a recompute in that statement
            taint = tuple(self.taint) or (-1,)
            for name, mode in self.atts:
                q = ("WITH a AS (INSERT INTO fz.acts (event_id, lead_id, type, occurred_at, url, channel, duration) VALUES " + self.act_vals(cur, 2, key=k) + " RETURNING lead_id), "
                     f"r AS ({self.recompute_sql()}), v AS (SELECT * FROM lead_score.{name}_current) "
                     "SELECT (SELECT count(*) FROM a), coalesce(v.lead_key, r.k), v.total - v.adjustment, r.total, "
                     f"(SELECT c.total FROM lead_score.current_score('{name}', {k}::int) c) AS cs, "
                     f"(SELECT t.total FROM lead_score.top_leads('{name}', 1000, true) t WHERE t.lead_key = r.k::text) AS tl "
                     "FROM v FULL JOIN r ON r.k = v.lead_key "
                     "WHERE coalesce(v.lead_key, r.k) NOT IN %s AND (v.lead_key IS NULL OR r.k IS NULL OR abs(v.total - v.adjustment - r.total) > 1e-6 "
                     f"  OR (r.k = {k} AND {k} NOT IN %s AND (SELECT abs(c.total - v.adjustment - r.total) > 1e-6 FROM lead_score.current_score('{name}', {k}::int) c)))")
                rows = self.ex(cur, q, (taint, taint))
                if rows:
                    self.fail("cte_read [%s %s]" % (name, mode), rows)
        elif o == 'tick_in_insert':
            self.ex(cur, "WITH a AS (INSERT INTO fz.acts (lead_id, type, occurred_at, url) VALUES (%s, 'page_view', %s, '/pricing') RETURNING lead_id) SELECT lead_score.tick() FROM (SELECT count(*) FROM a) x", (k, self.ts()))
        elif o == 'publish':
            self.spec_idx = (self.spec_idx + 1) % len(self.specs)
            self.ex(cur, "SELECT lead_score.create_model('m', %s)", (json.dumps(self.specs[self.spec_idx]),))
        elif o == 'truncate':
            self.ex(cur, "TRUNCATE fz.acts")
        elif o == 'adjust':
            if r.random() < 0.5:
                self.ex(cur, "SELECT lead_score.adjust(%s, id::text, %s, 'fuzz') FROM fz.leads WHERE id = %s", (r.choice(self.atts)[0], r.choice([5, -7, 30]), k))
            else:
                self.ex(cur, "SELECT lead_score.adjust(%s, id::text, %s, 'fuzz', lead_score.scoring_time() + %s::interval) FROM fz.leads WHERE id = %s", (r.choice(self.atts)[0], r.choice([5, -7, 30, 60]), r.choice(['2 hours', '3 days', '40 hours']), k))
        elif o == 'end_adj':
            self.ex(cur, "SELECT lead_score.end_adjustment(id) FROM lead_score.adjustments WHERE ended_by IS NULL AND lead_key = %s", (str(k),))
        elif o == 'lead_trunc':
            self.ex(cur, "TRUNCATE fz.leads")
        elif o == 'lead_del_ins':
            self.ex(cur, "WITH d AS (DELETE FROM fz.leads WHERE id = %s RETURNING *) INSERT INTO fz.leads SELECT %s, industry, 'VP', email, employees, country FROM d", (k, r.choice([k, k2])))
        elif o == 'read':
            self.check_reads(cur, "in-txn read")
        return o

    # ---------- checks
    def recompute_sql(self):
        t = "occurred_at"
        if self.tcol == 'timestamp':
            t = "occurred_at AT TIME ZONE 'Europe/Berlin'"
        return f"""SELECT l.id AS k, s.fit, s.engagement, s.total, s.grade, s.label, s.quadrant, s.mql, s.disqualified
FROM fz.leads l LEFT JOIN (SELECT lead_id, lead_score.engagement_state('m', type, {t}, url, channel, duration::text) st
  FROM fz.acts GROUP BY lead_id) e ON e.lead_id = l.id
CROSS JOIN LATERAL lead_score.score('m', l, e.st) s"""

    def fail(self, what, detail):
        msg = "%s: %s" % (what, detail)
        raise Bug(msg)

    def check_reads(self, cur, where):
        """Compare view, current_score, top_leads against recompute (valid inside a txn too)."""
        self.nchecks += 1
        taint = tuple(self.taint) or (-1,)
        for name, mode in self.atts:
            q = f"""WITH r AS ({self.recompute_sql()}), v AS (SELECT * FROM lead_score.{name}_current)
SELECT coalesce(v.lead_key, r.k), v.total - v.adjustment, r.total, v.fit - v.adjustment, r.fit, v.engagement, r.engagement,
       v.grade, r.grade, v.label, r.label, v.quadrant, r.quadrant, v.mql, r.mql, v.disqualified, r.disqualified, v.adjustment
FROM v FULL JOIN r ON r.k = v.lead_key
WHERE (v.lead_key IS NULL OR r.k IS NULL
   OR abs(v.total - v.adjustment - r.total) > 1e-6 OR abs(v.engagement - r.engagement) > 1e-6
   OR v.label IS DISTINCT FROM r.label OR v.disqualified IS DISTINCT FROM r.disqualified
   OR (v.adjustment = 0 AND (v.grade IS DISTINCT FROM r.grade OR v.quadrant IS DISTINCT FROM r.quadrant OR v.mql IS DISTINCT FROM r.mql)))
  AND coalesce(v.lead_key, r.k) NOT IN %s"""
            rows = self.ex(cur, q, (taint,), log=False)
            if rows:
                self.fail("view!=recompute [%s %s] %s" % (name, mode, where), rows)
            # current_score for a few keys
            for k in self.rng.sample(range(1, NKEYS + 4), 3):
                if k in self.taint:
                    continue
                a = self.ex(cur, "SELECT total, engagement FROM lead_score.current_score(%s, " + ("%s::int)" if k % 2 else "%s::text)"), (name, k if k % 2 else str(k)), log=False)
                b = self.ex(cur, f"SELECT r.total + coalesce((SELECT adjustment FROM lead_score.{name}_current WHERE lead_key = %s), 0), r.engagement FROM ({self.recompute_sql()}) r WHERE r.k = %s", (k, k), log=False)
                if len(a) != len(b) or (a and (abs(a[0][0] - b[0][0]) > 1e-6 or abs(a[0][1] - b[0][1]) > 1e-6)):
                    self.fail("current_score!=recompute [%s %s] %s key %s" % (name, mode, where, k), (a, b))
            # top_leads vs full sort of the view
            n = self.rng.choice([0, 1, 2, 3, 5, 10, 30])
            incl = self.rng.random() < 0.3
            a = self.ex(cur, "SELECT lead_key, total FROM lead_score.top_leads(%s, %s, %s)", (name, n, incl), log=False)
            b = self.ex(cur, f"SELECT lead_key::text AS k, total FROM lead_score.{name}_current v WHERE %s OR NOT disqualified ORDER BY total DESC, v.lead_key LIMIT %s", (incl, n), log=False)
            if [x[0] for x in a] != [x[0] for x in b] or any(abs(x[1] - y[1]) > (1e-9 if self.mock else 1e-4) for x, y in zip(a, b)):
                self.fail("top_leads!=sort [%s %s] %s n=%s incl=%s" % (name, mode, where, n, incl), (a, b))

    def check_consistency(self, cur, where):
        self.nchecks += 1
        for name, mode in self.atts:
            rows = self.ex(cur, "SELECT * FROM lead_score.check_consistency(%s)", (name,), log=False)
            rows = [x for x in rows if int(x[0]) not in self.taint]
            if rows:
                self.fail("check_consistency [%s %s] %s" % (name, mode, where), rows)

    def update_taint(self, cur):
        if not self.future:
            return
        if self.tcol == 'timestamptz':
            rows = self.ex(cur, "SELECT DISTINCT lead_id FROM fz.acts WHERE occurred_at > lead_score.scoring_time() AND lead_id IS NOT NULL", log=False)
        else:
            rows = self.ex(cur, "SELECT DISTINCT lead_id FROM fz.acts WHERE occurred_at AT TIME ZONE 'Europe/Berlin' > lead_score.scoring_time() AND lead_id IS NOT NULL", log=False)
        self.taint |= {x[0] for x in rows}

    # ---------- main loop
    def transaction(self):
        r = self.rng
        cur = self.conn.cursor()
        iso = r.choice(['READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']) if r.random() < 0.6 else None
        start = len(self.log)
        if self.tcol == 'timestamp' and r.random() < 0.3:
            self.ex(cur, "SET TIME ZONE %s", (r.choice(['UTC', 'America/New_York', 'Asia/Tokyo', 'Europe/Berlin']),))
        if iso is None:
            # autocommit single statement
            o = self.op(cur)
            self.update_taint(cur)
            self.after_commit(cur, o)
            return
        self.ex(cur, "BEGIN ISOLATION LEVEL " + iso)
        nops = r.randint(1, 6)
        sp = False
        ops = []
        for i in range(nops):
            if r.random() < 0.15:
                self.ex(cur, "SAVEPOINT s%d" % i)
                sp = i
            ops.append(self.op(cur))
            self.update_taint(cur)
            if sp is not False and r.random() < 0.3:
                self.ex(cur, "ROLLBACK TO SAVEPOINT s%d" % sp)
                sp = False
            if r.random() < 0.25:
                self.check_reads(cur, "in txn after %s" % ops[-1])
                if r.random() < 0.4:
                    self.check_consistency(cur, "in txn after %s" % ops[-1])
        if r.random() < 0.12:
            self.ex(cur, "ROLLBACK")
        else:
            self.ex(cur, "COMMIT")
        self.after_commit(cur, ",".join(ops))

    def after_commit(self, cur, o):
        self.ntx += 1
        self.update_taint(cur)
        self.check_consistency(cur, "after commit of %s" % o)
        if self.rng.random() < 0.5:
            self.check_reads(cur, "after commit of %s" % o)
        if self.rng.random() < 0.15:
            h = self.rng.choice([1, 3, 24, 100, 400, 2000])
            self.ex(cur, "SET lead_score.as_of = %s", (self.later(h),))
            try:
                self.check_reads(cur, "as_of +%dh after %s" % (h, o))
            finally:
                self.ex(cur, "RESET lead_score.as_of")
        if self.rng.random() < 0.3:
            self.ex(cur, "SELECT lead_score.tick()")
            self.check_consistency(cur, "after tick")
            self.check_reads(cur, "after tick")
        if self.mock and self.rng.random() < (0.1 if FASTHL else 0.03):
            # time passes (all later statements in this session)
            h = self.rng.choice([1, 5, 30, 200] + ([70, 100] if FASTHL else []))
            self.ex(cur, "SET lead_score.mock_now = %s", (self.advance(h),))

    def later(self, hours):
        import datetime
        t = datetime.datetime.strptime(self.mock_time[:19], '%Y-%m-%d %H:%M:%S') + datetime.timedelta(hours=hours)
        return t.strftime('%Y-%m-%d %H:%M:%S') + '+00'

    def advance(self, hours):
        import datetime
        t = datetime.datetime.strptime(self.mock_time[:19], '%Y-%m-%d %H:%M:%S') + datetime.timedelta(hours=hours)
        self.mock_time = t.strftime('%Y-%m-%d %H:%M:%S') + '+00'
        return self.mock_time

    def run(self, ntx):
        self.setup()
        self.update_taint(self.conn.cursor())
        self.check_consistency(self.conn.cursor(), "after setup")
        for i in range(ntx):
            try:
                self.transaction()
            except Bug:
                raise
            except psycopg2.Error as e:
                code = e.pgcode
                cur = self.conn.cursor()
                try:
                    cur.execute("ROLLBACK")
                except Exception:
                    pass
                self.log.append("-- error %s: %s" % (code, str(e).strip().splitlines()[0]))
                self.log.append("ROLLBACK;")
                if code == '40001':
                    continue
                if code in ('23505',):
                    continue
                raise Bug("error %s: %s" % (code, e))


def main():
    global FASTHL
    seed = int(sys.argv[1])
    ntx = int(sys.argv[2])
    variant = sys.argv[3] if len(sys.argv) > 3 else 'tz'
    kw = {}
    if variant == 'fasthl':
        FASTHL = True
    if variant == 'ts':
        kw['tcol'] = 'timestamp'
    if variant == 'future':
        kw['future'] = True
    if variant == 'sync':
        kw['atts'] = (('sy', 'sync'),)
    if variant == 'deferred':
        kw['atts'] = (('de', 'deferred'),)
    if variant == 'real':
        kw['mock'] = False
    db = 'lead_score_fuzz_' + variant + '_' + str(seed % 1000)
    f = Fuzzer(db, seed, **kw)
    try:
        f.run(ntx)
        print("OK seed=%d variant=%s tx=%d checks=%d" % (seed, variant, f.ntx, f.nchecks))
        rc = 0
    except Bug as b:
        print("BUG seed=%d variant=%s tx=%d: %s" % (seed, variant, f.ntx, b))
        with open(os.path.join(OUT, 'fail_%s_%d.sql' % (variant, seed)), 'w') as fh:
            fh.write(f.setup_sql + "\n" + "\n".join(f.log) + "\n")
        rc = 1
    try:
        f.conn.close()
    except Exception:
        pass
    if rc == 0:
        c = psycopg2.connect(DSN + " dbname=postgres"); c.autocommit = True
        c.cursor().execute("DROP DATABASE IF EXISTS " + db)
    sys.exit(rc)


if __name__ == '__main__':
    main()
