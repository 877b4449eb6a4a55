#!/usr/bin/env python3
"""The DNS restrictions against a real DNS server, posternd and a private
Postfix 3.7 side by side: Debian's dnsmasq serves test zones (a domain with
MX records, one with an address only, names that do not exist, a DNS list
listing 127.0.0.2 with a reason, a domain list listing one domain; it refuses every other name, a DNS
failure) on port 53 of 127.0.0.153; posternd asks
it through --dns, Postfix through /etc/resolv.conf replaced in a mount
namespace of its own. Clients connect from 127.0.0.1 (not listed) and
127.0.0.2 (listed), also to two services whose client lists a DNS
whitelist (permit_dnswl_client) decides; every reply is compared word for
word.

Needs root, Debian's postfix and dnsmasq, and mount namespaces (exit 77
otherwise).
"""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Dnsmasq  # noqa: E402
from postfix_instance import SKIP  # noqa: E402
from posternd import arguments  # noqa: E402
from smtpd_services_differential import (POSTFIX_UNIX_SERVICES, SideBySide, compare_replies, finish,  # noqa: E402
                                         office_config)  # noqa: E402

DNS_ADDRESS = "127.0.0.153"

MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
""" + POSTFIX_UNIX_SERVICES

# A service whose clients a DNS whitelist lets through (permit_dnswl_client),
# with one list that fails (a name nobody answers for).
DNSWL_SERVICE = """\
dnswl     inet  n       -       n       -       -       smtpd
  -o { smtpd_client_restrictions = permit_dnswl_client dnswl.test, reject }
  -o smtpd_helo_restrictions=
  -o smtpd_sender_restrictions=
  -o { smtpd_relay_restrictions = permit_dnswl_client dnswl.test, reject_unauth_destination }
  -o { smtpd_recipient_restrictions = permit_dnswl_client nowhere.invalid, permit }
filters   inet  n       -       n       -       -       smtpd
  -o { smtpd_client_restrictions = reject_rbl_client dnsbl.test=127.0.0.[3..5],
       reject_rbl_client dnsbl.test=127.0.[0;1].[1;2] }
dnswlfail inet  n       -       n       -       -       smtpd
  -o { smtpd_client_restrictions = permit_dnswl_client dnswl.test, reject }
  -o smtpd_helo_restrictions=
  -o smtpd_sender_restrictions=
  -o { smtpd_relay_restrictions = permit_dnswl_client dnswl.test, reject_unauth_destination }
  -o { smtpd_recipient_restrictions = permit_dnswl_client nowhere.invalid, reject }
"""

# Services whose DNS list replies come from rbl_reply_maps (RBL_REPLY_MAP,
# keyed by the restriction's argument) or from a default_rbl_reply of
# their own: a custom code, status and text; a recipient status corrected
# for a client (4.0.0) and for a sender (5.1.7); a text without a code
# (450 4.7.1); an unknown name (default_rbl_reply instead); a table that
# fails (451 4.3.5).
RBL_REPLY_SERVICES = """\
rblmap    inet  n       -       n       -       -       smtpd
  -o rbl_reply_maps=texthash:RBL_REPLY_MAP
  -o { smtpd_client_restrictions = reject_rbl_client dnsbl.test=127.0.0.2 }
rblfix    inet  n       -       n       -       -       smtpd
  -o rbl_reply_maps=texthash:RBL_REPLY_MAP
  -o { smtpd_client_restrictions = reject_rbl_client rbl2.test }
rblnocode inet  n       -       n       -       -       smtpd
  -o rbl_reply_maps=texthash:RBL_REPLY_MAP
  -o { smtpd_client_restrictions = reject_rbl_client rbl3.test }
rblundef  inet  n       -       n       -       -       smtpd
  -o rbl_reply_maps=texthash:RBL_REPLY_MAP
  -o { smtpd_client_restrictions = reject_rbl_client rbl4.test }
rblfail   inet  n       -       n       -       -       smtpd
  -o rbl_reply_maps=fail:rbl
  -o { smtpd_client_restrictions = reject_rbl_client dnsbl.test }
rbldefault inet n       -       n       -       -       smtpd
  -o { default_rbl_reply = $rbl_code 5.1.1 Rejected: $rbl_class <$rbl_what> at $rbl_domain${rbl_reason?: $rbl_reason}${rbl_reason:: no reason} by $server_name for $client helo $helo_name from $sender_name at $sender_domain to $recipient }
  -o { smtpd_client_restrictions = reject_rhsbl_sender rhsbl.test }
"""

# A service whose access tables judge the hosts that serve a name
# (check_*_{a,mx,ns}_access): MX hosts by name and by address, a domain
# without MX (its own address), the NS of a parent domain, an address
# literal, DUNNO, and an OK (refused with 451 4.3.5).
SERVER_ACCESS_SERVICE = """\
srvaccess inet  n       -       n       -       -       smtpd
  -o smtpd_client_restrictions=
  -o { smtpd_helo_restrictions = check_helo_a_access texthash:SERVER_TABLE }
  -o { smtpd_sender_restrictions = check_sender_mx_access texthash:SERVER_TABLE,
       check_sender_ns_access texthash:SERVER_TABLE }
  -o { smtpd_relay_restrictions = check_recipient_mx_access texthash:SERVER_TABLE, permit_mynetworks,
       reject_unauth_destination }
"""

SERVER_TABLE = """\
mx.bad.test      REJECT bad mail server
192.0.2.66       REJECT 5.1.1 listed address
192.0.2.77       REJECT its own address
ns.bad.test      REJECT bad name server
mx.ok.test       DUNNO
mx.allow.test    OK
"""

# `sleep 1` before the next restriction, as in the corpus's
# "sleep 7, reject_unauth_pipelining" client lists.
SLEEP_SERVICE = """\
sleepy    inet  n       -       n       -       -       smtpd
  -o { smtpd_client_restrictions = sleep 1, reject_unauth_pipelining }
"""

RBL_REPLY_ENTRIES = """\
dnsbl.test=127.0.0.2  $rbl_code 5.7.9 Listed by $rbl_domain ($rbl_reason) for ${client_address}
rbl2.test             450 4.1.1 $rbl_what: try again later
rbl3.test             Go away $rbl_what
rbl4.test             $rbl_code ${nosuch} listed
"""

SETTINGS = {
    "mynetworks": "10.0.0.0/8",
    "smtpd_client_restrictions": "reject_rhsbl_client rhsbl.test, reject_rhsbl_reverse_client rhsbl.test",
    "smtpd_helo_restrictions": "reject_unknown_helo_hostname, reject_rhsbl_helo rhsbl.test",
    "smtpd_sender_restrictions": "reject_unknown_sender_domain, reject_rhsbl_sender rhsbl.test",
    "smtpd_relay_restrictions": "reject_rbl_client dnsbl.test, reject_unknown_recipient_domain, "
                                "reject_rhsbl_recipient rhsbl.test, permit_mynetworks, reject_unauth_destination",
}

ZONE_RECORDS = dict(
    domain="test.example", zones=["dnsbl.test", "rhsbl.test", "dnswl.test", "rbl2.test", "rbl3.test", "rbl4.test",
                                  "bad.test", "ok.test", "allow.test"],
    mx=[("exists.test.example", "mx.test.example", 10), ("badmx.test.example", "mx.bad.test", 10),
        ("addrmx.test.example", "mx.addrmx.test.example", 10), ("okmx.test.example", "mx.ok.test", 10),
        ("allowmx.test.example", "mx.allow.test", 10)],
    hosts=[("mx.test.example", "192.0.2.25"), ("aonly.test.example", "192.0.2.26"),
           ("spammy.test.example", "192.0.2.27"), ("mx.addrmx.test.example", "192.0.2.66"),
           ("selfmx.test.example", "192.0.2.77"), ("nsparent.test.example", "192.0.2.78")],
    extra=["--address=/2.0.0.127.dnsbl.test/127.0.0.2",
           "--txt-record=2.0.0.127.dnsbl.test,Listed for testing",
           "--address=/spammy.test.example.rhsbl.test/127.0.0.2",
           "--txt-record=spammy.test.example.rhsbl.test,Bad domain",
           "--address=/2.0.0.127.dnswl.test/127.0.10.1",
           "--address=/2.0.0.127.rbl2.test/127.0.0.2",
           "--address=/2.0.0.127.rbl3.test/127.0.0.2",
           "--address=/2.0.0.127.rbl4.test/127.0.0.2",
           "--address=/plain.test.example.rhsbl.test/127.0.0.2",
           # nsparent.test.example NS ns.bad.test (type 2, the name in wire format)
           "--dns-rr=nsparent.test.example,2,026e7303626164047465737400"])


def envelope(sender, *recipients):
    return [f"MAIL FROM:<{sender}>"] + [f"RCPT TO:<{r}>" for r in recipients] + ["RSET"]


DIALOGUES = {
    "sender domains (reject_unknown_sender_domain)": (
        "plain", ["EHLO exists.test.example"]
        + envelope("a@exists.test.example", "fred@example.com")
        + envelope("a@aonly.test.example", "fred@example.com")
        + envelope("a@missing.test.example", "fred@example.com")
        + envelope("a@example.com", "fred@example.com")
        + envelope("a@nowhere.invalid", "fred@example.com", "b@exists.test.example")
        + envelope("", "fred@example.com")),
    "recipient domains (reject_unknown_recipient_domain)": (
        "plain", ["EHLO exists.test.example"]
        + envelope("a@exists.test.example", "b@exists.test.example", "b@aonly.test.example",
                   "b@missing.test.example", "b@nowhere.invalid", "fred@example.com")),
    "HELO names (reject_unknown_helo_hostname, reject_rhsbl_helo)": (
        "plain", ["EHLO missing.test.example"] + envelope("a@exists.test.example", "fred@example.com")
        + ["EHLO aonly.test.example"] + envelope("a@exists.test.example", "fred@example.com")
        + ["EHLO [127.0.0.1]"] + envelope("a@exists.test.example", "fred@example.com")
        + ["EHLO spammy.test.example"] + envelope("a@exists.test.example", "fred@example.com")
        + ["EHLO nowhere.invalid"] + envelope("a@exists.test.example", "fred@example.com")),
    "domains in a RHSBL (reject_rhsbl_sender, reject_rhsbl_recipient)": (
        "plain", ["EHLO exists.test.example"]
        + envelope("a@spammy.test.example", "fred@example.com")
        + envelope("a@exists.test.example", "b@spammy.test.example", "fred@example.com")),
    "a listed client (reject_rbl_client)": (
        "from:127.0.0.2", ["EHLO exists.test.example"] + envelope("a@exists.test.example", "fred@example.com")),
}

# (service, mode, lines): permit_dnswl_client for an unlisted and a listed
# client, a local and a remote recipient, and a list that cannot be asked.
DNSWL_DIALOGUES = {
    f"{service} from {source}": (service, mode, ["EHLO exists.test.example"]
                                 + envelope("a@exists.test.example", "fred@example.com", "x@elsewhere.org"))
    for service in ("dnswl", "dnswlfail", "filters") for source, mode in (("127.0.0.1", "plain"), ("127.0.0.2", "from:127.0.0.2"))
}

RBL_REPLY_DIALOGUES = {
    f"{service} from {source}": (service, mode, ["EHLO exists.test.example"]
                                 + envelope("a@exists.test.example", "fred@example.com"))
    for service in ("rblmap", "rblfix", "rblnocode", "rblundef", "rblfail")
    for source, mode in (("127.0.0.1", "plain"), ("127.0.0.2", "from:127.0.0.2"))
}
RBL_REPLY_DIALOGUES["rbldefault"] = ("rbldefault", "plain", ["EHLO exists.test.example"]
                                     + envelope("a@spammy.test.example", "fred@example.com")
                                     + envelope("a@plain.test.example", "fred@example.com"))

SERVER_ACCESS_DIALOGUES = {
    "check_*_{a,mx,ns}_access": ("srvaccess", "plain", ["EHLO exists.test.example"]
                                 + envelope("a@badmx.test.example", "fred@example.com")
                                 + envelope("a@addrmx.test.example", "fred@example.com")
                                 + envelope("a@selfmx.test.example", "fred@example.com")
                                 + envelope("a@www.nsparent.test.example", "fred@example.com")
                                 + envelope("a@okmx.test.example", "fred@example.com")
                                 + envelope("a@allowmx.test.example", "fred@example.com")
                                 + envelope("a@[192.0.2.66]", "fred@example.com")
                                 + envelope("a@exists.test.example", "b@badmx.test.example", "fred@example.com")
                                 + ["EHLO selfmx.test.example"]
                                 + envelope("a@exists.test.example", "fred@example.com")),
}


def seconds_to_rcpt_reply(port):
    """How long the RCPT TO reply takes (the client restrictions run then)."""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="exists.test.example", timeout=20) as client:
        client.ehlo("exists.test.example")
        client.mail("a@exists.test.example")
        start = time.monotonic()
        client.rcpt("fred@example.com")
        return time.monotonic() - start


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None or not os.path.exists("/usr/sbin/dnsmasq") \
            or shutil.which("unshare") is None:
        print("skipped: needs root, Debian's postfix, dnsmasq and unshare")
        return SKIP
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        print("skipped: no mount namespaces here: " + probe.stderr.decode(errors="replace"))
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-dns-")
    os.chmod(root, 0o755)
    resolv_conf = os.path.join(root, "resolv.conf")
    with open(resolv_conf, "w") as f:
        f.write(f"nameserver {DNS_ADDRESS}\noptions attempts:1 timeout:2\n")
    results = []
    with Dnsmasq(address=DNS_ADDRESS, port=53, **ZONE_RECORDS):
        reply_map = os.path.join(root, "config", "rbl_reply")
        server_table = os.path.join(root, "config", "server_access")
        services = DNSWL_SERVICE + RBL_REPLY_SERVICES.replace("RBL_REPLY_MAP", reply_map) + \
            SERVER_ACCESS_SERVICE.replace("SERVER_TABLE", server_table) + SLEEP_SERVICE
        config = office_config(args.source, root, MASTER_CF.replace("cleanup", services + "cleanup", 1), SETTINGS)
        with open(reply_map, "w") as f:
            f.write(RBL_REPLY_ENTRIES)
        with open(server_table, "w") as f:
            f.write(SERVER_TABLE)
        check = subprocess.run([args.postern, "check", "-c", config], capture_output=True, text=True)
        results.append(("postern check passes the DNS restrictions without a warning",
                        check.returncode == 0 and "PP0505" not in check.stdout + check.stderr,
                        check.stdout + check.stderr))
        results.append(("postern check warns of the reply template with an unknown name (PP0509)",
                        "PP0509" in check.stdout + check.stderr and "$nosuch" in check.stdout + check.stderr,
                        check.stdout + check.stderr))
        names = ("smtp", "dnswl", "dnswlfail", "filters", "srvaccess", "sleepy") + \
            tuple(d[0] for d in RBL_REPLY_DIALOGUES.values() if d[1] == "plain")
        with SideBySide(args, config, root, names, posternd_args=["--dns", f"{DNS_ADDRESS}:53"],
                        resolv_conf=resolv_conf) as servers:
            dialogues = {name: ("smtp", mode, lines) for name, (mode, lines) in DIALOGUES.items()}
            dialogues.update(DNSWL_DIALOGUES)
            dialogues.update(RBL_REPLY_DIALOGUES)
            dialogues.update(SERVER_ACCESS_DIALOGUES)
            dialogues["sleep 1 at RCPT"] = ("sleepy", "plain", ["EHLO exists.test.example"]
                                            + envelope("a@exists.test.example", "fred@example.com"))
            compared, different = compare_replies(servers.theirs, servers.ours, dialogues)
            results.append((f"{compared} replies compared with Postfix, word for word", different == 0,
                            f"{different} different"))
            waited = seconds_to_rcpt_reply(servers.ours["sleepy"])
            results.append(("sleep 1 holds the RCPT reply for a second", waited >= 0.95, f"{waited:.2f} s"))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
