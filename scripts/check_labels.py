#!/usr/bin/env python3
"""Every function an SQL file creates says its volatility, its strictness and
its parallel safety; every aggregate is PARALLEL = SAFE with a combine function
and a state that is not `internal` (so parallel query and Citus can split it).

    python3 scripts/check_labels.py FILE.sql...

Reads the extension's install script (as pgrx writes it) and the snapshots of
the SQL attach generates; exits 1 and names each object that is not labelled.
Quoted text, dollar-quoted bodies and comments are skipped, so a body never
labels its function. A later `ALTER FUNCTION f(...) CALLED ON NULL INPUT`
labels a function whose CREATE could not (pgrx writes no strictness clause for
a Rust function that takes NULLs).
"""

import re
import sys


def statements(sql):
    """The text of each statement outside quotes, dollar quotes and comments."""
    out, cur, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            cur.append(" ")
        elif c == "'":
            j = i + 1
            while j < n:
                if sql[j] == "'" and j + 1 < n and sql[j + 1] == "'":
                    j += 2
                elif sql[j] == "'":
                    break
                else:
                    j += 1
            i = j + 1
            cur.append(" '' ")
        elif c == '"':
            j = sql.find('"', i + 1)
            cur.append(sql[i : j + 1])
            i = j + 1
        elif c == "$" and (m := re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:])):
            tag = m.group(0)
            j = sql.find(tag, i + len(tag))
            i = n if j < 0 else j + len(tag)
            cur.append(" $body$ ")
        elif c == ";":
            out.append("".join(cur))
            cur = []
            i += 1
        else:
            cur.append(c)
            i += 1
    if "".join(cur).strip():
        out.append("".join(cur))
    return out


def norm(name):
    return name.replace('"', "").lower()


def main(paths):
    problems = []
    counted = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            stmts = [" ".join(s.split()) for s in statements(f.read())]
        altered = {
            norm(m.group(1))
            for s in stmts
            if (m := re.match(r"(?i)ALTER FUNCTION\s+([^\s(]+)\s*\(.*\bCALLED ON NULL INPUT\b", s))
        }
        for s in stmts:
            fn = re.match(r"(?i)CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([^\s(]+)", s)
            agg = re.match(r"(?i)CREATE\s+(?:OR\s+REPLACE\s+)?AGGREGATE\s+([^\s(]+)", s)
            if fn:
                counted += 1
                name, missing = fn.group(1), []
                if not re.search(r"(?i)\b(IMMUTABLE|STABLE|VOLATILE)\b", s):
                    missing.append("volatility")
                if not re.search(r"(?i)\b(STRICT|CALLED ON NULL INPUT|RETURNS NULL ON NULL INPUT)\b", s) and norm(
                    name
                ) not in altered:
                    missing.append("strictness")
                if not re.search(r"(?i)\bPARALLEL\s+(SAFE|RESTRICTED|UNSAFE)\b", s):
                    missing.append("parallel safety")
                if missing:
                    problems.append(f"{path}: function {name}: no {', no '.join(missing)}")
            elif agg:
                counted += 1
                name, missing = agg.group(1), []
                if not re.search(r"(?i)\bPARALLEL\s*=\s*SAFE\b", s):
                    missing.append("PARALLEL = SAFE")
                if not re.search(r"(?i)\bCOMBINEFUNC\s*=", s):
                    missing.append("a combine function")
                if re.search(r"(?i)\bSTYPE\s*=\s*internal\b", s):
                    missing.append("a state other than internal")
                if missing:
                    problems.append(f"{path}: aggregate {name}: no {', no '.join(missing)}")
    for p in problems:
        print(p)
    print(f"check_labels: {counted} functions and aggregates, {len(problems)} not labelled")
    return 1 if problems or counted == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
