#!/usr/bin/env python3
"""Postfix's own SQL clients as the oracle for Postern's database tables.

The same data goes into an SQLite file, a private PostgreSQL cluster and a
private MariaDB server (tests/integration/database_servers.py). For each
table definition below and each server, `postmap -q - TYPE:/x.cf` (Debian's
postfix-sqlite, postfix-pgsql, postfix-mysql) and `postern query - TYPE:/x.cf`
(which reads the whole table when it loads it) look up the same keys; their
answers must be the same. The definitions cover the query shapes: the whole
key, %u and %d, %u alone with a `domain` filter, a legacy table/select_field
form with LIMIT, result_format with value and key parts, several columns, an
explicit postern_enumeration_query (which Postfix must ignore), keys that
need SQL quoting, mixed-case and NULL/empty data.

Then what goes wrong: a wrong password or a closed port is a compile error
that names the server (never the password); expansion_limit exceeded.

Exits 77 (skipped) when Postfix's sqlite client is missing; a server that
cannot start is reported and skipped on its own.
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

from database_servers import PrivateMariadb, PrivatePostgres, Unavailable
from postfix_instance import map_types

SKIP = 77

SCHEMA = """
CREATE TABLE aliases (source VARCHAR(255), destination VARCHAR(255), active INT);
CREATE TABLE mailbox (local_part VARCHAR(255), domain VARCHAR(255), maildir VARCHAR(255), active INT);
INSERT INTO aliases VALUES
  ('a@example.com', 'x@dest.example', 1), ('a@example.com', 'y@dest.example', 1),
  ('b@example.com', 'inactive@dest.example', 0), ('Mixed@Example.com', 'mixed@dest.example', 1),
  ('empty@example.com', '', 1), ('null@example.com', NULL, 1),
  ('o''brien@example.com', 'quote@dest.example', 1), ('back\\slash@example.com', 'bs@dest.example', 1),
  ('@example.com', 'catchall@dest.example', 1), ('example.com', 'a domain key', 1),
  ('postmaster', 'root', 1), ('many@example.com', 'm1@d.example', 1), ('many@example.com', 'm2@d.example', 1),
  ('many@example.com', 'm3@d.example', 1), ('nodomain@example.com', 'justlocal', 1);
INSERT INTO mailbox VALUES
  ('joe', 'example.com', 'example.com/joe/', 1), ('ann', 'example.com', 'example.com/ann/', 0),
  ('joe', 'other.example', 'other.example/joe/', 1), ('sue', 'sub.example.com', 'sub/sue/', 1);
"""

# name -> the table's query settings (the connection settings are added per server)
DEFINITIONS = {
    "aliases": "query = SELECT destination FROM aliases WHERE source='%s' AND active = 1\n",
    "split": "query = SELECT maildir FROM mailbox WHERE local_part='%u' AND domain='%d' AND active = 1\n"
             "result_format = /var/mail/vhosts/%s\n",
    "localpart": "query = SELECT local_part FROM mailbox WHERE local_part = '%u'\n"
                 "result_format = %s@%D (for %S, %U)\n"
                 "domain = example.com, !other.example\n",
    "domainpart": "query = SELECT DISTINCT domain FROM mailbox WHERE domain = \"%d\"\n"
                  "result_format = %u=%s %2/%1\n",
    "legacy": "table = aliases\nselect_field = destination\nwhere_field = source\n"
              "additional_conditions = and active = 1 order by destination limit 1\n",
    "resultparts": "query = SELECT destination FROM aliases WHERE source = '%s'\n"
                   "result_format = %u at %d\n",
    "columns": "query = SELECT local_part, domain FROM mailbox WHERE local_part='%u' AND domain='%d'\n",
    "existence": "query = SELECT 1 FROM mailbox WHERE domain='%s'\n",
    # Keys listed apart, then looked up one by one with the query.
    "joined": "query = SELECT destination FROM aliases INNER JOIN mailbox ON mailbox.domain = '%d' "
              "WHERE source = '%s' AND aliases.active = 1\n",
    "either": "query = SELECT source FROM aliases WHERE source = '%s' OR destination = '%s'\n",
    "explicit": "query = SELECT destination FROM aliases WHERE lower(source) = lower('%s') AND active = 1\n"
                "postern_enumeration_query = SELECT lower(source), destination FROM aliases WHERE active = 1\n",
}

KEYS = [
    "a@example.com", "A@EXAMPLE.COM", "b@example.com", "mixed@example.com", "Mixed@Example.com",
    "empty@example.com", "null@example.com", "o'brien@example.com", "back\\slash@example.com",
    "@example.com", "example.com", "postmaster", "many@example.com", "nodomain@example.com",
    "joe@example.com", "Joe@Example.COM", "ann@example.com", "joe@other.example", "joe@sub.example.com",
    "sue@sub.example.com", "joe", "joe@", "nobody@example.com", "other.example", "sub.example.com",
    "x@com", "unknown",
]


def lookups(argv, keys, env=None):
    """(exit status, {key: value}) of a postmap-style `-q -` run."""
    r = subprocess.run(argv, input="".join(k + "\n" for k in keys), capture_output=True, text=True, env=env,
                       timeout=120)
    found = {}
    for line in r.stdout.splitlines():
        key, _, value = line.partition("\t")
        found[key] = value
    return r.returncode, found, r.stderr


class Backend:
    def __init__(self, kind, connection, execute):
        self.kind = kind
        self.connection = connection  # the .cf lines that reach the data
        self.execute = execute


def compare(postern, backend, work, live=False):
    """Every definition, every key: postmap and postern query agree, the
    table materialised or (`live`, postern_live = yes, which Postfix
    ignores) asked key by key."""
    form = "live" if live else "materialised"
    config = os.path.join(work, f"{backend.kind}-{form}")
    os.makedirs(config)
    open(os.path.join(config, "main.cf"), "w").write("compatibility_level = 3.6\n")
    env = dict(os.environ, MAIL_CONFIG=config)
    runs = {}
    # postmap sometimes takes seconds to start: run the tables side by side.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for name, settings in DEFINITIONS.items():
            if backend.kind == "pgsql":
                settings = settings.replace('"%d"', "'%d'")  # "..." names a column in PostgreSQL: see below
            cf = os.path.join(config, name + ".cf")
            open(cf, "w").write(backend.connection + settings + ("postern_live = yes\n" if live else ""))
            os.chmod(cf, 0o640)
            table = f"{backend.kind}:{cf}"
            runs[name] = (pool.submit(lookups, ["postmap", "-c", config, "-q", "-", table], KEYS, env),
                          pool.submit(lookups, [postern, "query", "-c", config, "-", table], KEYS))
    different = 0
    for name, (postfix_run, postern_run) in runs.items():
        theirs, ours = postfix_run.result(), postern_run.result()
        if theirs[:2] != ours[:2]:
            different += 1
            print(f"DIFFERENT {backend.kind} {form} {name}:\n  postfix (exit {theirs[0]}): {theirs[1]}\n"
                  f"  postern (exit {ours[0]}): {ours[1]}\n  postern said: {ours[2].strip()[:800]}")
    print(f"{backend.kind} {form}: {len(DEFINITIONS)} tables x {len(KEYS)} keys, {different} tables different")
    return different


def check_live_failures(postern, backend, work, password):
    """A live table whose server refuses the password or cannot be reached:
    each lookup is an error (exit 2) that names the server, never the
    password, where postmap says "query error"; and --offline asks nobody."""
    failures = 0
    config = os.path.join(work, backend.kind + "-live-bad")
    os.makedirs(config)
    open(os.path.join(config, "main.cf"), "w").write("compatibility_level = 3.6\n")
    env = dict(os.environ, MAIL_CONFIG=config)
    aliases = DEFINITIONS["aliases"] + "postern_live = yes\n"
    cases = [("offline", backend.connection, ["not asked offline"], ["--offline"])]
    if backend.kind != "sqlite":
        wrong = backend.connection.replace(password, "wrong-" + password)
        cases.append(("wrong password", wrong, ["password authentication failed", "Access denied"], []))
        closed = "".join(line for line in backend.connection.splitlines(True) if not line.startswith("hosts"))
        cases.append(("closed port", f"hosts = inet:127.0.0.1:1\n{closed}", ["127.0.0.1:1"], []))
    for what, connection, words, flags in cases:
        cf = os.path.join(config, what.replace(" ", "_") + ".cf")
        open(cf, "w").write(connection + aliases)
        table = f"{backend.kind}:{cf}"
        ours = subprocess.run([postern, "query", "-c", config, *flags, "info@example.com", table],
                              capture_output=True, text=True, timeout=120)
        said = ours.stdout + ours.stderr
        if ours.returncode != 2 or not any(w in said for w in words) or (password and password in said):
            print(f"FAIL {backend.kind} live {what}: exit {ours.returncode}, expected 2 with one of {words}, "
                  f"no secret:\n{said}")
            failures += 1
        if flags:
            continue
        theirs = subprocess.run(["postmap", "-c", config, "-q", "info@example.com", table], capture_output=True,
                                text=True, env=env, timeout=120)
        if theirs.returncode == 0 or "query error" not in theirs.stderr:
            print(f"FAIL {backend.kind} live {what}: postmap did not fail as expected: {theirs.stderr.strip()}")
            failures += 1
        failures += check_unanswered(postern, backend.kind, what, table, password)
    return failures


def check_unanswered(postern, kind, what, table, password):
    """`postern check` of a configuration whose live tables cannot be asked:
    one warning (PT0338) that says why, not a warning per lookup, and the
    configuration still passes. Returns the number of failures (0 or 1)."""
    config = tempfile.mkdtemp(prefix="postern-unanswered-")
    try:
        open(os.path.join(config, "main.cf"), "w").write(
            f"compatibility_level = 3.6\nmyhostname = mx.example.net\nalias_maps =\n"
            f"virtual_alias_domains = example.com\nvirtual_alias_maps = {table}\nrelay_domains = {table}\n")
        r = subprocess.run([postern, "check", "-c", config], capture_output=True, text=True, timeout=120)
        said = r.stdout + r.stderr
        if r.returncode != 0 or said.count("[PT0338]") != 1 or "lookup error" not in said or \
                "no question can be deferred" in said or (password and password in said):
            print(f"FAIL {kind} live {what}: postern check (exit {r.returncode}) should warn once (PT0338):\n{said}")
            return 1
        return 0
    finally:
        shutil.rmtree(config, ignore_errors=True)


def check_failures(postern, backend, work, password):
    """A compile error for an unreachable server or a bad password, with
    the server named and the password nowhere; expansion_limit."""
    failures = 0
    config = os.path.join(work, backend.kind + "-bad")
    os.makedirs(config)
    cases = []
    if backend.kind != "sqlite":
        wrong = backend.connection.replace(password, "wrong-" + password)
        cases.append(("wrong password", wrong, ["password authentication failed", "Access denied"]))
        closed = "".join(line for line in backend.connection.splitlines(True) if not line.startswith("hosts"))
        cases.append(("closed port", f"hosts = inet:127.0.0.1:1\n{closed}", ["127.0.0.1:1"]))
    aliases = DEFINITIONS["aliases"]
    cases.append(("expansion_limit", backend.connection + "expansion_limit = 2\n" + aliases,
                  ["expansion_limit", "PT0335"]))
    if backend.kind == "pgsql":
        # Postfix's query fails (no such column); Postern says why when it compiles.
        cases.append(("double quotes", backend.connection + aliases.replace("'%s'", '"%s"'), ["names a column"]))
    for what, definition, words in cases:
        if what not in ("expansion_limit", "double quotes"):
            definition += aliases
        failures += expect_refused(postern, config, backend.kind, what, definition, words, password)
    return failures


def expect_refused(postern, config, kind, what, definition, words, secret):
    """`postern check` of a configuration whose virtual_alias_maps is a
    `kind` table with `definition` fails (exit 1) with one of `words`, and
    never shows `secret`. Returns the number of failures (0 or 1)."""
    cf = os.path.join(config, "bad.cf")
    open(cf, "w").write(definition)
    open(os.path.join(config, "main.cf"), "w").write(f"virtual_alias_maps = {kind}:{cf}\n")
    r = subprocess.run([postern, "check", "-c", config], capture_output=True, text=True, timeout=120)
    said = r.stdout + r.stderr
    if r.returncode != 1 or not any(w in said for w in words) or (secret and secret in said):
        print(f"FAIL {kind} {what}: exit {r.returncode}, expected one of {words}, no secret:\n{said}")
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    args = parser.parse_args()
    postern = os.path.abspath(args.postern)
    maps = map_types() if shutil.which("postmap") else set()
    if "sqlite" not in maps:
        print("skipped: needs Debian's postfix and postfix-sqlite (postmap's sqlite client)")
        return SKIP
    work = tempfile.mkdtemp(prefix="postern-dbtables-")
    os.chmod(work, 0o755)
    failures = 0
    try:
        database = os.path.join(work, "mail.db")
        subprocess.run(["sqlite3", database], input=SCHEMA, text=True, check=True)
        os.chmod(database, 0o644)
        sqlite = Backend("sqlite", f"dbpath = {database}\n", None)
        failures += compare(postern, sqlite, work)
        failures += compare(postern, sqlite, work, live=True)
        failures += check_failures(postern, sqlite, work, None)
        failures += check_live_failures(postern, sqlite, work, None)

        for server_class, kind in ((PrivatePostgres, "pgsql"), (PrivateMariadb, "mysql")):
            if kind not in maps:
                print(f"{kind}: skipped: Postfix's {kind} client is not installed (postfix-{kind})")
                continue
            try:
                with server_class() as server:
                    schema = SCHEMA if kind == "mysql" else SCHEMA.replace("\\\\", "\\")
                    server.execute(schema)
                    host = f"hosts = inet:127.0.0.1:{server.port}\n"
                    if kind == "mysql":
                        # MySQL compares with a case-insensitive collation;
                        # and through its socket too.
                        host = f"hosts = unix:{server.socket} inet:127.0.0.1:{server.port}\n"
                    backend = Backend(kind, f"{host}user = postfix\npassword = {server.password}\ndbname = mail\n",
                                      server.execute)
                    failures += compare(postern, backend, work)
                    failures += compare(postern, backend, work, live=True)
                    failures += check_failures(postern, backend, work, server.password)
                    failures += check_live_failures(postern, backend, work, server.password)
            except Unavailable as e:
                print(f"{kind}: skipped: {e}")
    finally:
        if failures == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"(kept {work})")
    print(f"database tables: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
