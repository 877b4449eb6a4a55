#!/usr/bin/env python3
"""A virtual-hosting configuration whose domains, mailboxes, aliases and
transports are SQL or LDAP tables, routed by a private Postfix and by
`postern trace`: the same recipients, transports and nexthops, the same
rejections.

For each server (an SQLite file, a private PostgreSQL cluster, a private
MariaDB server, a private slapd: tests/integration/database_servers.py) the
configuration is the same but for the table type and definitions. Postfix
(tests/integration/postfix_instance.py) looks the tables up live as mail
arrives over SMTP; Postern reads them when it compiles, and traces; then
again with `postern_live = yes` in every definition (which Postfix ignores),
Postern asking the server as it traces.

Needs root, Debian's postfix and its postfix-sqlite/-pgsql/-mysql/-ldap clients;
exits 77 when it cannot run at all, and skips a server that cannot start.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

from database_servers import PrivateMariadb, PrivatePostgres, PrivateSlapd, Unavailable
from postfix_instance import SKIP, PrivatePostfix, map_types
from postfix_trace_differential import postern_outcomes, postfix_outcomes

SCHEMA = """
CREATE TABLE domains (name VARCHAR(255), kind VARCHAR(16));
CREATE TABLE mailbox (local_part VARCHAR(255), domain VARCHAR(255), maildir VARCHAR(255), active INT);
CREATE TABLE alias (address VARCHAR(255), goto VARCHAR(255), active INT);
CREATE TABLE transport (domain VARCHAR(255), transport VARCHAR(255));
INSERT INTO domains VALUES ('example.com', 'mailbox'), ('hosted.example', 'mailbox'), ('alias.example', 'alias');
INSERT INTO mailbox VALUES ('joe', 'example.com', 'example.com/joe/', 1), ('ann', 'example.com', 'example.com/ann/', 1),
  ('old', 'example.com', 'example.com/old/', 0), ('box', 'hosted.example', 'hosted.example/box/', 1);
INSERT INTO alias VALUES ('info@example.com', 'joe@example.com', 1), ('info@example.com', 'ann@example.com', 1),
  ('sales@example.com', 'orders@partner.example', 1), ('@hosted.example', 'box@hosted.example', 1),
  ('team@alias.example', 'joe@example.com,box@hosted.example', 1), ('gone@example.com', 'joe@example.com', 0);
INSERT INTO transport VALUES ('partner.example', 'smtp:[mx.partner.example]:2525'),
  ('hosted.example', 'lmtp:inet:[127.0.0.1]:24');
"""

TABLES = {
    "domains.cf": "query = SELECT name FROM domains WHERE name = '%s' AND kind = 'mailbox'\n",
    "alias_domains.cf": "query = SELECT name FROM domains WHERE name = '%s' AND kind = 'alias'\n",
    "mailboxes.cf": "query = SELECT maildir FROM mailbox WHERE local_part = '%u' AND domain = '%d' AND active = 1\n",
    "aliases.cf": "query = SELECT goto FROM alias WHERE address = '%s' AND active = 1\n",
    "transport.cf": "query = SELECT transport FROM transport WHERE domain = '%s'\n",
}

LDAP_BASE = "dc=example,dc=com"


def ldif():
    """The same hosting data as a directory: domains and transports (by
    associatedDomain), mailboxes (mail), aliases (groups whose members are
    mailboxes, or a mailRoutingAddress)."""
    entries = [(LDAP_BASE, [("objectClass", "dcObject"), ("objectClass", "organization"), ("dc", "example"),
                            ("o", "Example")]),
               (f"ou=mail,{LDAP_BASE}", [("objectClass", "organizationalUnit"), ("ou", "mail")])]
    for name, domain, description in [("d1", "example.com", "mailbox"), ("d2", "hosted.example", "mailbox"),
                                      ("d3", "alias.example", "alias"),
                                      ("t1", "partner.example", "smtp:[mx.partner.example]:2525"),
                                      ("t2", "hosted.example", "lmtp:inet:[127.0.0.1]:24")]:
        entries.append((f"cn={name},ou=mail,{LDAP_BASE}",
                        [("objectClass", "organizationalRole"), ("objectClass", "domainRelatedObject"),
                         ("cn", name), ("associatedDomain", domain), ("description", description)]))
    for uid, mail, state in [("joe", "joe@example.com", "active"), ("ann", "ann@example.com", "active"),
                             ("old", "old@example.com", "disabled"), ("box", "box@hosted.example", "active")]:
        entries.append((f"uid={uid},ou=mail,{LDAP_BASE}",
                        [("objectClass", "inetOrgPerson"), ("uid", uid), ("cn", uid), ("sn", uid), ("mail", mail),
                         ("description", state)]))
    for name, address, members in [("info", "info@example.com", ["joe", "ann"]),
                                   ("team", "team@alias.example", ["joe", "box"])]:
        entries.append((f"cn={name},ou=mail,{LDAP_BASE}",
                        [("objectClass", "groupOfNames"), ("objectClass", "inetLocalMailRecipient"), ("cn", name),
                         ("mailLocalAddress", address)] +
                        [("member", f"uid={m},ou=mail,{LDAP_BASE}") for m in members]))
    for name, address, target in [("sales", "sales@example.com", "orders@partner.example"),
                                  ("catchall", "@hosted.example", "box@hosted.example")]:
        entries.append((f"cn={name},ou=mail,{LDAP_BASE}",
                        [("objectClass", "organizationalRole"), ("objectClass", "inetLocalMailRecipient"),
                         ("cn", name), ("mailLocalAddress", address), ("mailRoutingAddress", target)]))
    return "\n".join(f"dn: {dn}\n" + "".join(f"{a}: {v}\n" for a, v in attributes) for dn, attributes in entries)


LDAP_TABLES = {
    "domains.cf": "query_filter = (&(associatedDomain=%s)(description=mailbox))\nresult_attribute = associatedDomain\n",
    "alias_domains.cf": "query_filter = (&(associatedDomain=%s)(description=alias))\n"
                        "result_attribute = associatedDomain\n",
    "mailboxes.cf": "query_filter = (&(mail=%s)(!(description=disabled)))\nresult_attribute = uid\n"
                    "result_format = %D/%s/\n",
    "aliases.cf": "query_filter = (mailLocalAddress=%s)\nresult_attribute = mailRoutingAddress\n"
                  "special_result_attribute = member\nleaf_result_attribute = mail\n",
    "transport.cf": "query_filter = (&(associatedDomain=%s)(cn=t*))\nresult_attribute = description\n",
}

ADDRESSES = [
    "joe@example.com", "Joe@EXAMPLE.com", "ann@example.com", "old@example.com", "nobody@example.com",
    "info@example.com", "sales@example.com", "gone@example.com", "box@hosted.example", "anyone@hosted.example",
    "team@alias.example", "other@alias.example", "someone@partner.example",
]


def write_configuration(example, kind, definitions, master_cf):
    os.makedirs(os.path.join(example, "trace"))
    open(os.path.join(example, "trace", "users"), "w").write("root:x:0:0:root:/root:/bin/sh\n")
    shutil.copy(master_cf, os.path.join(example, "master.cf"))
    for name, definition in definitions.items():
        path = os.path.join(example, name)
        open(path, "w").write(definition)
        os.chmod(path, 0o644)  # Postfix's processes read it as the postfix user
    open(os.path.join(example, "main.cf"), "w").write(
        "compatibility_level = 3.6\nmyhostname = mail.example.net\nmydomain = example.net\n"
        "mydestination = $myhostname, localhost\nalias_maps =\nalias_database =\n"
        "mynetworks = 127.0.0.0/8\n"
        f"virtual_mailbox_domains = {kind}:/etc/postfix/domains.cf\n"
        f"virtual_alias_domains = proxy:{kind}:/etc/postfix/alias_domains.cf\n"
        f"virtual_mailbox_maps = {kind}:/etc/postfix/mailboxes.cf\n"
        f"virtual_alias_maps = {kind}:/etc/postfix/aliases.cf\n"
        f"transport_maps = {kind}:/etc/postfix/transport.cf\n")


def normalised(outcomes):
    """Nexthops in lower case: Postfix's queue manager names a destination
    after whichever recipient opened its queue (EXAMPLE.com or example.com)."""
    for outcome in outcomes.values():
        outcome["deliveries"] = {(a, t, n.lower()) for a, t, n in outcome["deliveries"]}
    return outcomes


def run(postern, source, kind, definitions):
    """Routes ADDRESSES through a private Postfix and postern trace with the
    table definitions `definitions` (file name -> text) of type `kind`, the
    tables materialised and live."""
    different = run_form(postern, source, kind, definitions, "materialised")
    live = {name: text + "postern_live = yes\n" for name, text in definitions.items()}
    return different + run_form(postern, source, kind, live, "live")


def run_form(postern, source, kind, definitions, form):
    root = tempfile.mkdtemp(prefix=f"postern-dbroute-{kind}-")
    os.chmod(root, 0o755)
    example = os.path.join(root, "example")
    write_configuration(example, kind, definitions, os.path.join(source, "examples", "office", "master.cf"))
    # One recipient per delivery, so the recorder sees each (an alias
    # expands to two mailboxes of one domain).
    one_each = {f"{t}_destination_recipient_limit": "1" for t in ("virtual", "lmtp", "smtp")}
    instance = PrivatePostfix(example, os.path.join(root, "postfix"), extra=one_each)
    users = os.path.join(example, "trace", "users")
    with instance:
        theirs = normalised(postfix_outcomes(instance.root, instance.env, instance.port, ADDRESSES))
    ours = normalised(postern_outcomes(postern, instance.etc, users, ADDRESSES))
    different = 0
    for address in ADDRESSES:
        if ours[address] != theirs[address]:
            different += 1
            print(f"DIFFERENT {kind} {form} {address}\n  postfix: {theirs[address]}\n  postern: {ours[address]}")
    print(f"{kind} {form}: {len(ADDRESSES)} addresses, {different} different")
    if different == 0:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"  (kept {root})")
    return different


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix package")
        return SKIP
    postern = os.path.abspath(args.postern)
    maps = map_types()
    if "sqlite" not in maps:
        print("skipped: needs Debian's postfix-sqlite")
        return SKIP

    different = 0
    data = tempfile.mkdtemp(prefix="postern-dbroute-data-")
    try:
        os.chmod(data, 0o755)
        database = os.path.join(data, "mail.db")
        subprocess.run(["sqlite3", database], input=SCHEMA, text=True, check=True)
        os.chmod(database, 0o644)
        different += run(postern, args.source, "sqlite", {n: f"dbpath = {database}\n" + q for n, q in TABLES.items()})
    finally:
        shutil.rmtree(data, ignore_errors=True)
    for server_class, kind in ((PrivatePostgres, "pgsql"), (PrivateMariadb, "mysql")):
        if kind not in maps:
            print(f"{kind}: skipped: Postfix's {kind} client is not installed (postfix-{kind})")
            continue
        try:
            with server_class() as server:
                server.execute(SCHEMA)
                connection = (f"hosts = inet:127.0.0.1:{server.port}\nuser = postfix\n"
                              f"password = {server.password}\ndbname = mail\n")
                different += run(postern, args.source, kind, {n: connection + q for n, q in TABLES.items()})
        except Unavailable as e:
            print(f"{kind}: skipped: {e}")
    if "ldap" not in maps:
        print("ldap: skipped: Postfix's ldap client is not installed (postfix-ldap)")
    else:
        try:
            with PrivateSlapd(ldif()) as server:
                connection = (f"server_host = ldap://127.0.0.1:{server.port}\nsearch_base = {LDAP_BASE}\n"
                              f"bind_dn = {server.root_dn}\nbind_pw = {server.password}\n")
                different += run(postern, args.source, "ldap", {n: connection + q for n, q in LDAP_TABLES.items()})
        except Unavailable as e:
            print(f"ldap: skipped: {e}")
    print(f"database routing: {different} addresses different")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
