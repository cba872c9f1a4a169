#!/usr/bin/env python3
"""Two sessions interleaving fuzz.py's writes, for campaigns by hand.

    python3 tests/fuzz/conc.py SEED STEPS [tz|ts]

Each step sends one statement (a write of fuzz.py, COMMIT, ROLLBACK, or a read
of a view against a recompute in the same statement) on one of two sessions,
each in transactions at READ COMMITTED, REPEATABLE READ or SERIALIZABLE, and
lets it block; sync and deferred attachments share the tables. After commits,
and at the end (before and after a tick()), the scores must equal a recompute.
Serialization failures, unique violations and deadlocks are counted, not
failures: these are multi-statement transactions, which deadlock on plain
tables too (the deadlocks it reports are to be read, statement by statement).
Which statement blocks depends on timing, so a seed does not replay exactly:
not part of scripts/test.sh, whose fuzz suite runs fuzz.py.
"""
import os, select, sys, time

import psycopg2
import psycopg2.extensions as ext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzz import Fuzzer, Bug, DSN, OUT  # noqa: E402

OK_CODES = {'40001', '23505', '40P01'}


def wait(conn, timeout):
    end = time.time() + timeout
    while True:
        st = conn.poll()
        if st == ext.POLL_OK:
            return True
        rem = end - time.time()
        if rem <= 0:
            return False
        if st == ext.POLL_READ:
            select.select([conn.fileno()], [], [], rem)
        elif st == ext.POLL_WRITE:
            select.select([], [conn.fileno()], [], rem)


class Sess:
    def __init__(self, name, db, mock):
        self.name = name
        self.conn = psycopg2.connect(DSN + " dbname=" + db, async_=1)
        wait(self.conn, 10)
        self.cur = self.conn.cursor()
        self.intx = False
        self.pending = None
        self.stmts = []
        self.run("SET client_min_messages = warning", 10)
        self.run("SET lead_score.mock_now = '%s'" % mock, 10)
        self.run("SET deadlock_timeout = '200ms'", 10)

    def send(self, sql):
        self.pending = sql
        self.cur.execute(sql)

    def run(self, sql, t=5):
        self.send(sql)
        return self.finish(t)

    def finish(self, t):
        """returns None if still running, else (ok, err)"""
        try:
            if not wait(self.conn, t):
                return None
        except psycopg2.Error as e:
            self.pending = None
            return (False, e)
        self.pending = None
        return (True, None)


class Conc(Fuzzer):
    def ex(self, cur, sql, args=None, log=True):
        if getattr(self, 'capture', None) is not None:
            q = cur.mogrify(sql, args).decode() if args is not None else sql
            self.capture.append(q)
            return []
        return Fuzzer.ex(self, cur, sql, args, log)

    def gen_op(self):
        self.capture = []
        cur = self.conn.cursor()
        while True:
            o = Fuzzer.op(self, cur)
            if o in ('read', 'copy', 'truncate', 'lead_trunc') or not self.capture:
                self.capture = []
                continue
            break
        out = self.capture
        self.capture = None
        return o, out

    def run_conc(self, steps):
        self.setup()
        mock = self.mock_time
        S = [Sess('A', self.db, mock), Sess('B', self.db, mock)]
        r = self.rng
        self.n40001 = self.n40p01 = self.ncommit = 0
        self.deadlocks = []
        trace = []
        self.trace = trace

        def handle(s, res):
            ok, err = res
            if ok:
                return
            code = err.pgcode
            trace.append("-- %s error %s: %s" % (s.name, code, str(err).splitlines()[0]))
            if code == '40001':
                self.n40001 += 1
            elif code == '40P01':
                self.n40p01 += 1
                self.deadlocks.append((list(s.stmts), str(err)))
            elif code in OK_CODES:
                pass
            else:
                raise Bug("%s error %s: %s\n%s" % (s.name, code, err, "\n".join(trace[-30:])))
            # abort the txn
            if s.intx:
                s.intx = False
                res2 = s.run("ROLLBACK", 10)
                trace.append("%s: ROLLBACK" % s.name)

        for step in range(steps):
            # finish blocked ones
            for s in S:
                if s.pending is not None:
                    res = s.finish(0.05)
                    if res is not None:
                        trace.append("%s: (unblocked)" % s.name)
                        handle(s, res)
            avail = [s for s in S if s.pending is None]
            if not avail:
                # both blocked: wait more (deadlock detector should fire)
                time.sleep(0.3)
                continue
            s = r.choice(avail)
            if not s.intx:
                iso = r.choice(['READ COMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'])
                s.run("BEGIN ISOLATION LEVEL " + iso)
                s.intx = True
                s.stmts = ["BEGIN ISOLATION LEVEL " + iso]
                trace.append("%s: BEGIN ISOLATION LEVEL %s" % (s.name, iso))
                continue
            x = r.random()
            if x > 0.85:
                # in-session read check: view vs recompute in one statement
                name = r.choice(self.atts)[0]
                q = f"""WITH r AS ({self.recompute_sql()}), v AS (SELECT * FROM lead_score.{name}_current)
SELECT '{name}', coalesce(v.lead_key, r.k), v.total - v.adjustment, r.total FROM v FULL JOIN r ON r.k = v.lead_key
WHERE v.lead_key IS NULL OR r.k IS NULL OR abs(v.total - v.adjustment - r.total) > 1e-6"""
                trace.append("%s: READCHECK %s" % (s.name, name))
                s.send(q)
                res = s.finish(5)
                if res is None:
                    trace.append("%s: (blocked read)" % s.name)
                    continue
                if not res[0]:
                    handle(s, res)
                    continue
                rows = s.cur.fetchall()
                self.nchecks += 1
                if rows:
                    raise Bug("in-session read mismatch (%s): %s\n%s" % (s.name, rows, "\n".join(trace[-40:])))
                continue
            if x < 0.2:
                sql = "COMMIT"
            elif x < 0.24:
                sql = "ROLLBACK"
            else:
                o, sqls = self.gen_op()
                sql = sqls[0]
            trace.append("%s: %s" % (s.name, sql))
            s.stmts.append(sql)
            s.send(sql)
            res = s.finish(0.3)
            if res is None:
                trace.append("%s: (blocked)" % s.name)
                continue
            if sql in ("COMMIT", "ROLLBACK"):
                s.intx = False
                if res[0]:
                    self.ncommit += (sql == "COMMIT")
                else:
                    handle(s, res)
                # check after each commit (from the sync conn)
                if r.random() < 0.3:
                    self.ntx += 1
                    c = self.conn.cursor()
                    self.check_consistency(c, "conc after commit step %d" % step)
                continue
            handle(s, res)
        # finish everything
        for s in S:
            t0 = time.time()
            while s.pending is not None and time.time() - t0 < 30:
                res = s.finish(0.5)
                if res is not None:
                    handle(s, res)
                else:
                    for o in S:
                        if o is not s and o.pending is None and o.intx:
                            o.run("COMMIT", 10); o.intx = False
            if s.intx:
                res = s.run("COMMIT", 30)
                s.intx = False
                if res and not res[0]:
                    handle(s, res)
        self.trace = trace
        c = self.conn.cursor()
        self.check_consistency(c, "conc end")
        self.check_reads(c, "conc end")
        self.ex(c, "SELECT lead_score.tick()")
        self.check_consistency(c, "conc end after tick")
        self.check_reads(c, "conc end after tick")
        pend = self.ex(c, "SELECT * FROM lead_score.pending_summary()", log=False)
        return pend


def main():
    seed, steps = int(sys.argv[1]), int(sys.argv[2])
    variant = sys.argv[3] if len(sys.argv) > 3 else 'tz'
    kw = {}
    if variant == 'ts':
        kw['tcol'] = 'timestamp'
    f = Conc('lead_score_fuzz_conc_%s_%d' % (variant, seed % 1000), seed, **kw)
    try:
        pend = f.run_conc(steps)
        print("OK conc seed=%d steps=%d commits=%d 40001=%d 40P01=%d checks=%d pending=%s" % (seed, steps, f.ncommit, f.n40001, f.n40p01, f.nchecks, pend))
        for d in f.deadlocks:
            print("  DEADLOCK victim stmts:", d)
        rc = 0
    except Bug as b:
        print("BUG conc seed=%d: %s" % (seed, b))
        with open(os.path.join(OUT, 'fail_conc_%d.txt' % seed), 'w') as fh:
            fh.write(f.setup_sql + "\n" + "\n".join(f.log) + "\n----trace----\n" + "\n".join(getattr(f, 'trace', []) or []))
        rc = 1
    if rc == 0:
        c = psycopg2.connect(DSN + " dbname=postgres")
        c.autocommit = True
        c.cursor().execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % f.db)
    sys.exit(rc)


if __name__ == '__main__':
    main()
