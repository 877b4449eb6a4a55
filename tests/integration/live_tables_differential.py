#!/usr/bin/env python3
"""Live tables (postern_live = yes) in posternd, next to a private Postfix
with the same tables, over SMTP.

A relay gateway keeps its relay recipients in PostgreSQL and a recipient
access table and its transport table in SQLite, all asked live. posternd
and Postfix get the same RCPTs while the database answers, and again after
PostgreSQL is stopped: their replies must be the same, a lookup that fails
being a temporary error (451 4.3.0), never an unknown user. A message
posternd accepts is routed by its queue manager through the live transport
table. posternd's log must name the table and never the password.

Needs root, Debian's postfix with postfix-pgsql and postfix-sqlite, and
PostgreSQL's server; exits 77 when it cannot run.
"""
import argparse
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

from database_servers import PrivatePostgres, Unavailable
from postfix_instance import SKIP, PrivatePostfix, map_types
from posternd import Posternd

MAIN_CF = """compatibility_level = 3.6
myhostname = mx.example.net
mydomain = example.net
mydestination = $myhostname
mynetworks = 192.0.2.0/24
alias_maps =
alias_database =
relay_domains = relay.example
relay_recipient_maps = pgsql:/etc/postfix/relay_recipients.cf
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access sqlite:/etc/postfix/access.cf
transport_maps = sqlite:/etc/postfix/transport.cf
"""

RECIPIENTS = ["known@relay.example", "KNOWN@relay.example", "unknown@relay.example", "blocked@relay.example",
              "it's@relay.example", "someone@elsewhere.example"]


def replies(port):
    """The reply to each RCPT of RECIPIENTS, in one transaction."""
    out = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo("client.outside.example")
        s.mail("sender@outside.example")
        for rcpt in RECIPIENTS:
            code, text = s.rcpt(rcpt)
            out.append(f"{code} {text.decode(errors='replace')}")
    return out


def compare(what, postfix_port, posternd_port):
    theirs, ours = replies(postfix_port), replies(posternd_port)
    different = 0
    for rcpt, a, b in zip(RECIPIENTS, theirs, ours):
        if a != b:
            different += 1
            print(f"DIFFERENT {what} {rcpt}\n  postfix: {a}\n  posternd: {b}")
        else:
            print(f"  {what} {rcpt}: {a}")
    print(f"{what}: {len(RECIPIENTS)} recipients, {different} different")
    return different


def routed(daemon):
    """A message to a relay recipient goes where the live transport table says."""
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=60) as s:
        s.sendmail("sender@outside.example", ["known@relay.example"], "Subject: live\r\n\r\nrouted\r\n")
    deadline = time.time() + 30
    while time.time() < deadline:
        if "status=sent (live-routed)" in daemon.log_text():
            print("  queued mail routed through the live transport table: discard:live-routed")
            return 0
        time.sleep(0.2)
    print("FAIL: the message was not routed through the live transport table:\n" + daemon.log_text()[-2000:])
    return 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--posternd", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix package")
        return SKIP
    if not {"pgsql", "sqlite"} <= map_types():
        print("skipped: needs Debian's postfix-pgsql and postfix-sqlite")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-live-")
    os.chmod(root, 0o755)
    failures = 0
    try:
        with PrivatePostgres() as server:
            server.execute("CREATE TABLE relay_recipients (address VARCHAR(255));"
                           "INSERT INTO relay_recipients VALUES ('known@relay.example'), ('blocked@relay.example'),"
                           "('it''s@relay.example');")
            access = os.path.join(root, "access.db")
            subprocess.run(["sqlite3", access], text=True, check=True,
                           input="CREATE TABLE access (address TEXT, action TEXT);"
                                 "INSERT INTO access VALUES ('blocked@relay.example', 'REJECT');"
                                 "CREATE TABLE transport (domain TEXT, transport TEXT);"
                                 "INSERT INTO transport VALUES ('relay.example', 'discard:live-routed');")
            os.chmod(access, 0o644)
            example = os.path.join(root, "example")
            os.makedirs(os.path.join(example, "trace"))
            open(os.path.join(example, "trace", "users"), "w").write("root:x:0:0:root:/root:/bin/sh\n")
            shutil.copy(os.path.join(args.source, "examples", "office", "master.cf"), example)
            open(os.path.join(example, "main.cf"), "w").write(MAIN_CF)
            definitions = {
                "relay_recipients.cf": f"hosts = inet:127.0.0.1:{server.port}\nuser = postfix\n"
                                       f"password = {server.password}\ndbname = mail\n"
                                       "query = SELECT address FROM relay_recipients WHERE address = '%s'\n",
                "access.cf": f"dbpath = {access}\nquery = SELECT action FROM access WHERE address = '%s'\n",
                "transport.cf": f"dbpath = {access}\nquery = SELECT transport FROM transport WHERE domain = '%s'\n",
            }
            for name, text in definitions.items():
                path = os.path.join(example, name)
                open(path, "w").write(text + "postern_live = yes\n")
                os.chmod(path, 0o644)  # Postfix's smtpd and posternd read it as their own users
            with PrivatePostfix(example, os.path.join(root, "postfix")) as instance:
                # posternd serves the configuration Postfix runs (its paths
                # rewritten to the instance's directory).
                with Posternd(args.postern, args.posternd, instance.etc, users=os.path.join(example, "trace", "users"),
                              user="postfix", deliver=True) as daemon:
                    failures += compare("database up", instance.port, daemon.port)
                    failures += routed(daemon)
                    server.process.terminate()
                    server.process.wait(timeout=30)
                    failures += compare("database down", instance.port, daemon.port)
                    log = daemon.log_text()
                    if "relay_recipients.cf lookup error" not in log or server.password in log:
                        print("FAIL: posternd's log does not name the failing table, or shows the password:\n" +
                              log[-2000:])
                        failures += 1
    except Unavailable as e:
        print(f"skipped: {e}")
        return SKIP
    finally:
        if failures == 0:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"(kept {root})")
    print(f"live tables: {failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
