#!/usr/bin/env python3
"""Postfix's own LDAP client as the oracle for Postern's LDAP tables.

A private slapd (tests/integration/database_servers.py) serves people,
groups with member DNs and a group that routes elsewhere. For each table
definition below, `postmap -q - ldap:/x.cf` (Debian's postfix-ldap) and
`postern query - ldap:/x.cf` (which reads the whole table when it loads it)
look up the same keys; their answers must be the same. The definitions cover
the query_filter forms (%s, %u with a domain filter, %u@%d, the bare
`attr=%s` form), result_format with value and key parts, DN recursion
through special_result_attribute with leaf and terminal attributes, a
simple bind with bind_pw, and anonymous reads.

Then the same live (`postern_live = yes`, which Postfix ignores), with a
substring filter that only a live table can have.

Then what goes wrong: a wrong bind_pw or a closed port is a compile error
that names the server (never the password), and for a live table an error
of each lookup; a filter whose keys cannot be listed is refused.

Exits 77 (skipped) when postfix-ldap or slapd is missing.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from database_servers import PrivateSlapd, Unavailable
from database_tables_differential import expect_refused, lookups
from postfix_instance import map_types

SKIP = 77

BASE = "dc=example,dc=com"
LDIF = f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: uid=joe,ou=people,{BASE}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: joe
cn: Joe
sn: Joe
mail: joe@example.com
mailLocalAddress: joe.alias@example.com
mailLocalAddress: jo@example.com
mailRoutingAddress: joe@mailhost.example

dn: uid=ann,ou=people,{BASE}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: ann
cn: Ann
sn: Ann
mail: Ann@Example.COM
mailRoutingAddress: ann@mailhost.example
mailHost: mh2.example

dn: uid=sue,ou=people,{BASE}
objectClass: inetOrgPerson
uid: sue
cn: Sue
sn: Sue
mail: sue@other.example

dn: uid=star,ou=people,{BASE}
objectClass: inetOrgPerson
uid: star
cn: Star
sn: Star
mail: a*b@example.com

dn: cn=staff,ou=groups,{BASE}
objectClass: groupOfNames
objectClass: inetLocalMailRecipient
cn: staff
member: uid=joe,ou=people,{BASE}
member: uid=ann,ou=people,{BASE}
member: uid=gone,ou=people,{BASE}
mailLocalAddress: staff@example.com

dn: cn=routed,ou=groups,{BASE}
objectClass: groupOfNames
objectClass: inetLocalMailRecipient
cn: routed
member: uid=sue,ou=people,{BASE}
mailLocalAddress: routed@example.com
mailRoutingAddress: list@lists.example

dn: cn=nested,ou=groups,{BASE}
objectClass: groupOfNames
objectClass: inetLocalMailRecipient
cn: nested
member: cn=staff,ou=groups,{BASE}
member: uid=sue,ou=people,{BASE}
mailLocalAddress: nested@example.com
"""

DEFINITIONS = {
    "aliases": "query_filter = (mailLocalAddress=%s)\nresult_attribute = mailRoutingAddress\n",
    "bare": "query_filter = mail=%s\nresult_attribute = uid\nresult_format = %s@%D (%U)\n",
    "localpart": "query_filter = (&(objectClass=inetOrgPerson)(uid=%u))\nresult_attribute = mail\n"
                 "domain = example.com\n",
    "either": "query_filter = (|(mail=%u@%d)(mailLocalAddress=%u@%d))\nresult_attribute = uid, mailHost\n"
              "bind = no\n",
    "groups": "query_filter = (|(mail=%s)(mailLocalAddress=%s))\nresult_attribute =\n"
              "special_result_attribute = member\nleaf_result_attribute = mail\n",
    "terminal": "query_filter = (mailLocalAddress=%s)\nresult_attribute =\nspecial_result_attribute = member\n"
                "terminal_result_attribute = mailRoutingAddress\nleaf_result_attribute = mail\n",
    "limited": "query_filter = (mailLocalAddress=%s)\nresult_attribute = mailLocalAddress\nexpansion_limit = 2\n"
               "size_limit = 5\n",
}

KEYS = [
    "joe@example.com", "JOE@EXAMPLE.COM", "joe.alias@example.com", "jo@example.com", "ann@example.com",
    "sue@other.example", "staff@example.com", "routed@example.com", "nested@example.com", "joe", "ann",
    "joe@other.example", "sue@example.com", "nobody@example.com", "a*b@example.com", "a*@example.com",
    "*", "example.com", "@example.com",
]


def connection(server, bind_pw=None, port=None):
    text = f"server_host = 127.0.0.1\nserver_port = {port or server.port}\nsearch_base = {BASE}\nversion = 3\n"
    return text + f"bind_dn = {server.root_dn}\nbind_pw = {bind_pw or server.password}\n"


# Keys that cannot be listed: only a live table can answer.
LIVE_DEFINITIONS = {"substring": "query_filter = (mail=*%s*)\nresult_attribute = mail\n"}


def compare(postern, server, work, live=False):
    form = "live" if live else "materialised"
    config = os.path.join(work, "compare-" + form)
    os.makedirs(config)
    open(os.path.join(config, "main.cf"), "w").write("compatibility_level = 3.6\n")
    env = dict(os.environ, MAIL_CONFIG=config)
    different = 0
    definitions = dict(DEFINITIONS, **LIVE_DEFINITIONS) if live else DEFINITIONS
    for name, settings in definitions.items():
        cf = os.path.join(config, name + ".cf")
        open(cf, "w").write(connection(server) + settings + ("postern_live = yes\n" if live else ""))
        os.chmod(cf, 0o640)
        theirs = lookups(["postmap", "-c", config, "-q", "-", f"ldap:{cf}"], KEYS, env)
        ours = lookups([postern, "query", "-c", config, "-", f"ldap:{cf}"], KEYS)
        if theirs[:2] != ours[:2]:
            different += 1
            print(f"DIFFERENT ldap {form} {name}:\n  postfix (exit {theirs[0]}): {theirs[1]}\n  postfix said: "
                  f"{theirs[2].strip()[:400]}\n  postern (exit {ours[0]}): {ours[1]}\n  postern said: "
                  f"{ours[2].strip()[:800]}")
    print(f"ldap {form}: {len(definitions)} tables x {len(KEYS)} keys, {different} tables different")
    return different


def check_failures(postern, server, work):
    failures = 0
    config = os.path.join(work, "bad")
    os.makedirs(config)
    aliases = DEFINITIONS["aliases"]
    cases = [
        ("wrong bind_pw", connection(server, bind_pw="wrong-" + server.password) + aliases,
         ["Invalid credentials"]),
        ("closed port", connection(server, port=1) + aliases, ["127.0.0.1:1", "Can't contact LDAP server"]),
        ("unlistable filter", connection(server) + "query_filter = (mail=*%s*)\n", ["PT0333"]),
    ]
    for what, definition, words in cases:
        failures += expect_refused(postern, config, "ldap", what, definition, words, server.password)
    # Live, each lookup fails instead (exit 2), saying why.
    for what, definition, words in cases[:2]:
        cf = os.path.join(config, "live.cf")
        open(cf, "w").write(definition + "postern_live = yes\n")
        r = subprocess.run([postern, "query", "-c", config, "joe@example.com", f"ldap:{cf}"], capture_output=True,
                           text=True, timeout=120)
        said = r.stdout + r.stderr
        if r.returncode != 2 or not any(w in said for w in words) or server.password in said:
            print(f"FAIL ldap live {what}: exit {r.returncode}, expected 2 with one of {words}, no secret:\n{said}")
            failures += 1
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    args = parser.parse_args()
    postern = os.path.abspath(args.postern)
    if shutil.which("postmap") is None or "ldap" not in map_types():
        print("skipped: needs Debian's postfix and postfix-ldap (postmap's ldap client)")
        return SKIP
    work = tempfile.mkdtemp(prefix="postern-ldaptables-")
    os.chmod(work, 0o755)
    failures = 0
    try:
        try:
            with PrivateSlapd(LDIF) as server:
                failures += compare(postern, server, work)
                failures += compare(postern, server, work, live=True)
                failures += check_failures(postern, server, work)
        except Unavailable as e:
            print(f"skipped: {e}")
            return SKIP
    finally:
        if failures == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"(kept {work})")
    print(f"ldap tables: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
