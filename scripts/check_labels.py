#!/usr/bin/env python3
"""Every function an SQL file creates says its volatility, its strictness and
its parallel safety; every aggregate is PARALLEL = SAFE with a combine function
and a state that is not `internal` (so parallel query and Citus can split it).

    python3 scripts/check_labels.py FILE.sql...

Reads the extension's install script (as pgrx writes it) and the snapshots of
the SQL attach generates; exits 1 and names each object that is not labelled,
and each file in which it finds nothing to check. Labels are looked for only
outside string literals, dollar-quoted bodies, comments, quoted identifiers
and parentheses (argument lists, RETURNS TABLE columns), so neither a body nor
a name labels its function. A later `ALTER FUNCTION f(...) CALLED ON NULL
INPUT` with as many arguments labels a function whose CREATE could not (pgrx
writes no strictness clause for a Rust function that takes NULLs).
"""

import re
import sys

IDENT_CHAR = re.compile(r"[A-Za-z0-9_$]")


def token(kind, text):
    """A quoted identifier or literal as one opaque word ("Q…" / 'S…')."""
    return f"{kind}{text.encode('utf-8').hex()}{kind}"


def untoken(word):
    return re.sub(r'"([0-9a-f]*)"', lambda m: '"' + bytes.fromhex(m.group(1)).decode() + '"', word)


def statements(sql):
    """Each statement's text outside comments and dollar quotes, with quoted
    identifiers and string literals as opaque tokens."""
    out, cur, i, n = [], [], 0, len(sql)
    while i < n:
        c = sql[i]
        prev = sql[i - 1] if i else ""
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            cur.append(" ")
        elif c == "'":
            escapes = prev in "Ee" and not (i > 1 and IDENT_CHAR.match(sql[i - 2]))
            j, text = i + 1, []
            while j < n:
                if escapes and sql[j] == "\\" and j + 1 < n:
                    text.append(sql[j : j + 2])
                    j += 2
                elif sql[j] == "'" and j + 1 < n and sql[j + 1] == "'":
                    text.append("'")
                    j += 2
                elif sql[j] == "'":
                    break
                else:
                    text.append(sql[j])
                    j += 1
            if escapes:
                cur.pop()  # the E prefix
            cur.append(" " + token("'", "".join(text)) + " ")
            i = j + 1
        elif c == '"':
            j = sql.find('"', i + 1)
            while j >= 0 and sql.startswith('""', j):
                j = sql.find('"', j + 2)
            j = n if j < 0 else j
            cur.append(token('"', sql[i + 1 : j].replace('""', '"')))
            i = j + 1
        elif c == "$" and not IDENT_CHAR.match(prev) and (m := re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", sql[i:])):
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
    return [" ".join(s.split()) for s in out]


def split_head(s, m):
    """(name, number of arguments, the statement after the argument list with
    every parenthesized group removed)."""
    name, rest = m.group(1), s[m.end() :]
    args, depth, k = "", 0, 0
    if rest.lstrip().startswith("("):
        k = rest.index("(")
        for k in range(k, len(rest)):
            depth += {"(": 1, ")": -1}.get(rest[k], 0)
            if depth == 0:
                break
        args = rest[rest.index("(") + 1 : k]
        rest = rest[k + 1 :]
    while (flat := re.sub(r"\([^()]*\)", " ", rest)) != rest:
        rest = flat
    while (flat := re.sub(r"\([^()]*\)", "", args)) != args:
        args = flat
    nargs = 0 if not args.strip() else args.count(",") + 1
    return norm(name), nargs, rest


def norm(name):
    """A qualified name as PostgreSQL folds it: quoted parts as written, the rest lower case."""
    parts = [p.strip() for p in name.split(".")]
    return ".".join(
        bytes.fromhex(p[1:-1]).decode() if p.startswith('"') else p.lower() for p in parts
    )


NAME = r'((?:[A-Za-z_][A-Za-z_0-9$]*|"[0-9a-f]*")(?:\s*\.\s*(?:[A-Za-z_][A-Za-z_0-9$]*|"[0-9a-f]*"))?)'
SAFE = r"(?:SAFE|'%s')" % "|".join(token("'", w)[1:-1] for w in ("safe", "SAFE", "Safe"))
INTERNAL = r'(?:(?:pg_catalog|"%s")\s*\.\s*)?(?:internal|"%s")' % (token('"', "pg_catalog")[1:-1], token('"', "internal")[1:-1])


def main(paths):
    problems = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            stmts = statements(f.read())
        altered = set()
        for s in stmts:
            m = re.match(r"(?i)ALTER\s+FUNCTION\s+" + NAME + r"\s*(?=\()", s)
            if m:
                name, nargs, rest = split_head(s, m)
                if re.search(r"(?i)^\s*CALLED ON NULL INPUT\b", rest):
                    altered.add((name, nargs))
        counted = 0
        for s in stmts:
            fn = re.match(r"(?i)CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+" + NAME, s)
            agg = re.match(r"(?i)CREATE\s+(?:OR\s+REPLACE\s+)?AGGREGATE\s+" + NAME, s)
            if fn:
                counted += 1
                name, nargs, rest = split_head(s, fn)
                missing = []
                if not re.search(r"(?i)\b(IMMUTABLE|STABLE|VOLATILE)\b", rest):
                    missing.append("volatility")
                if (
                    not re.search(r"(?i)\b(STRICT|CALLED ON NULL INPUT|RETURNS NULL ON NULL INPUT)\b", rest)
                    and (name, nargs) not in altered
                ):
                    missing.append("strictness")
                if not re.search(r"(?i)\bPARALLEL\s+(SAFE|RESTRICTED|UNSAFE)\b", rest):
                    missing.append("parallel safety")
                if missing:
                    problems.append(f"{path}: function {name}: no {', no '.join(missing)}")
            elif agg:
                counted += 1
                name = agg.group(1)
                missing = []
                if not re.search(r"(?i)\bPARALLEL\s*=\s*" + SAFE, s):
                    missing.append("PARALLEL = SAFE")
                if not re.search(r"(?i)\bCOMBINEFUNC\s*=", s):
                    missing.append("a combine function")
                if re.search(r"(?i)\bM?STYPE\s*=\s*" + INTERNAL + r"(?![A-Za-z_0-9])", s):
                    missing.append("a state other than internal")
                if missing:
                    problems.append(f"{path}: aggregate {untoken(name)}: no {', no '.join(missing)}")
        if counted == 0:
            problems.append(f"{path}: no function or aggregate found")
        print(f"check_labels {path}: {counted} functions and aggregates")
    for p in problems:
        print(p)
    print(f"check_labels: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
