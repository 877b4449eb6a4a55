#!/usr/bin/env python3
"""reject_unverified_recipient and reject_unverified_sender (ADDRESS_
VERIFICATION_README), posternd and a private Postfix 3.7 side by side: each
a gateway that relays partner.example to an internal SMTP server and
lmtp.example to an internal LMTP server (one of each per side, knowing the
same mailboxes), nowhere.example to a port nobody listens on, and verifies
every recipient (and, on a `strict` service, every sender) with probes
before it accepts mail.

First contact: each address is asked once; a probe the internal server
holds up (local part `slow`) answers "Address verification in progress"
(450) on both; the others may or may not be back within the poll window.
Then, with every probe back, the same questions again: deliverable
addresses accepted, refused ones 550 "undeliverable address" with the
internal server's reply, a 4xx from it or a dead host 450 "unverified
address", word for word as Postfix says them; the strict service's
senders likewise. Also compared: the probes the internal servers saw
(sender, no DATA) and the log lines of the probes' results
(status=deliverable / undeliverable).

Needs root and Debian's postfix (exit 77 otherwise).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import MailboxServer  # noqa: E402
from postfix_instance import SKIP, PrivatePostfix, free_port, set_parameters, wait_for_port  # noqa: E402
from posternd import Posternd, arguments  # noqa: E402
from smtpd_services_differential import finish, talk  # noqa: E402

SMTP_MAILBOXES = ["fred@partner.example", "jean@partner.example"]
LMTP_MAILBOXES = ["anna@lmtp.example"]
RECIPIENTS = ["fred@partner.example", "ghost@partner.example", "busy@partner.example", "slow@partner.example",
              "anna@lmtp.example", "ghost@lmtp.example", "someone@nowhere.example"]
SLOW_SECONDS = 8
IN_PROGRESS = "450 4.1.1 <{}>: Recipient address rejected: unverified address: Address verification in progress"

MASTER_CF = """\
strict    inet  n       -       n       -       -       smtpd
  -o smtpd_sender_restrictions=reject_unverified_sender
  -o unverified_sender_reject_code=550
"""


def make_config(source, directory, smtp_port, lmtp_port, dead_port):
    shutil.copytree(os.path.join(source, "tools", "bench", "smtpd_config"), directory)
    set_parameters(os.path.join(directory, "main.cf"), {
        "relay_domains": "partner.example, nowhere.example",
        "relay_transport": f"smtp:[127.0.0.1]:{smtp_port}",
        "transport_maps": "texthash:/etc/postfix/transport",
        "virtual_mailbox_domains": "lmtp.example",
        "virtual_transport": f"lmtp:inet:127.0.0.1:{lmtp_port}",
        "smtpd_recipient_restrictions": "reject_unauth_destination, reject_unverified_recipient",
        "unverified_recipient_reject_code": "550",
        "address_verify_poll_count": "3",
        "address_verify_poll_delay": "1s",
    })
    with open(os.path.join(directory, "transport"), "w") as f:
        f.write(f"nowhere.example smtp:[127.0.0.1]:{dead_port}\n")
    with open(os.path.join(directory, "master.cf"), "a") as f:
        f.write(MASTER_CF)


def recipients_dialogue():
    return ["EHLO client.example", "MAIL FROM:<someone@outside.example>"] + \
        [f"RCPT TO:<{r}>" for r in RECIPIENTS] + ["QUIT"]


def senders_dialogue():
    lines = ["EHLO client.example"]
    for sender in ("fred@partner.example", "ghost@partner.example", "busy@partner.example", ""):
        lines += [f"MAIL FROM:<{sender}>", "RCPT TO:<jean@partner.example>", "RSET"]
    return lines + ["QUIT"]


def probe_results(log):
    """(to, status, reason) of every probe result line for the relayed
    domains, sorted (relay and delays differ between the two)."""
    out = set()
    for m in re.finditer(r"to=<([^>]+)>,.* status=(deliverable|undeliverable) \((.*)\)$", log, re.M):
        if m.group(1).endswith(("partner.example", "lmtp.example", "nowhere.example")):
            out.add((m.group(1), m.group(2), m.group(3)))
    return sorted(out)


def probes_seen(servers):
    """(sender, recipients accepted, DATA sent) of every transaction the
    internal servers saw, sorted."""
    return sorted((s, tuple(r), d) for server in servers for s, r, d in server.transactions)


def wait_for_probes(servers, count, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline and sum(len(s.transactions) for s in servers) < count:
        time.sleep(0.2)


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-verify-")
    os.chmod(root, 0o755)
    results = []
    dead_port = free_port()
    strict = {"ours": free_port(), "theirs": free_port()}
    with MailboxServer(SMTP_MAILBOXES, slow_seconds=SLOW_SECONDS) as ours_smtp, \
            MailboxServer(SMTP_MAILBOXES, slow_seconds=SLOW_SECONDS) as theirs_smtp, \
            MailboxServer(LMTP_MAILBOXES, lmtp=True) as ours_lmtp, MailboxServer(LMTP_MAILBOXES, lmtp=True) as theirs_lmtp:
        ours_config, theirs_config = os.path.join(root, "ours"), os.path.join(root, "theirs")
        make_config(args.source, ours_config, ours_smtp.port, ours_lmtp.port, dead_port)
        make_config(args.source, theirs_config, theirs_smtp.port, theirs_lmtp.port, dead_port)
        check = subprocess.run([args.postern, "check", "-c", ours_config], capture_output=True, text=True)
        results.append(("postern check passes the gateway without a warning about verification",
                        check.returncode == 0 and "address_verify" not in check.stdout + check.stderr
                        and "unverified" not in check.stdout + check.stderr, check.stdout + check.stderr))
        pf = PrivatePostfix(theirs_config, os.path.join(root, "postfix"), recorded=(),
                            inet_ports={"strict": strict["theirs"]})
        with Posternd(args.postern, args.posternd, ours_config, deliver=True,
                      args=["--listen", f"strict=127.0.0.1:{strict['ours']}"]) as pd, pf:
            for port in (strict["ours"], strict["theirs"]):
                wait_for_port(port)
            sides = {"postern": (pd.port, strict["ours"], (ours_smtp, ours_lmtp)),
                     "postfix": (pf.port, strict["theirs"], (theirs_smtp, theirs_lmtp))}
            first, second, senders = {}, {}, {}
            for label, (port, _, _) in sides.items():
                first[label] = talk(port, "plain", recipients_dialogue())
            # Every probe back (the slow one last), then the same again.
            for label, (_, _, servers) in sides.items():
                wait_for_probes(servers, len(RECIPIENTS) - 1)  # nowhere.example's never arrives
            time.sleep(SLOW_SECONDS + 2)
            for label, (port, strict_port, _) in sides.items():
                second[label] = talk(port, "plain", recipients_dialogue())
                senders[label] = talk(strict_port, "plain", senders_dialogue())
            time.sleep(2)  # the senders' probes, for the comparison of what the servers saw
            seen = {label: probes_seen(servers) for label, (_, _, servers) in sides.items()}
            ours_log = pd.log_text()
        theirs_log = open(os.path.join(root, "postfix", "maillog"), errors="replace").read()

    # First contact: the held-up probe is in progress on both; every other
    # reply is the final one or "in progress", as the probe's speed allows.
    for label in first:
        replies = dict(first[label])
        slow = replies.get("RCPT TO:<slow@partner.example>")
        results.append((f"{label}: first contact with a held-up probe: in progress",
                        slow == IN_PROGRESS.format("slow@partner.example"), slow))
    final = dict(second["postfix"])
    loose = [(command, reply) for command, reply in first["postern"]
             if command.startswith("RCPT") and reply not in (final[command], IN_PROGRESS.format(command[9:-1]))]
    results.append(("posternd's first-contact replies are Postfix's final ones or in progress", not loose, loose))

    compared = different = 0
    diffs = []
    for name, ours, theirs in (("recipients", second["postern"], second["postfix"]),
                               ("senders", senders["postern"], senders["postfix"])):
        for (command, a), (_, b) in zip(ours, theirs):
            if command == "(greeting)":
                continue
            compared += 1
            if a != b:
                different += 1
                diffs.append(f"[{name}] {command}\n  postfix: {b}\n  postern: {a}")
    results.append((f"{compared} replies with every probe back compared with Postfix, word for word",
                    different == 0 and compared > 0, "\n".join(diffs)))
    by_command = dict(second["postern"])
    results.append(("a refused recipient: 550 undeliverable address with the internal server's reply",
                    by_command["RCPT TO:<ghost@partner.example>"].startswith(
                        "550 5.1.1 <ghost@partner.example>: Recipient address rejected: undeliverable address: host "
                        "127.0.0.1[127.0.0.1] said: 550 5.1.1"), by_command))
    results.append(("the probes the internal servers saw: the same as Postfix's, from double-bounce, without DATA",
                    seen["postern"] == seen["postfix"] and all(
                        s == "double-bounce@mx.bench.example" and not d for s, _, d in seen["postern"]),
                    f"postfix: {seen['postfix']}\npostern: {seen['postern']}"))
    ours_results, theirs_results = probe_results(ours_log), probe_results(theirs_log)
    results.append((f"{len(ours_results)} probe results logged as Postfix logs them (status=deliverable/undeliverable)",
                    ours_results == theirs_results and len(ours_results) >= 6,
                    f"postfix: {theirs_results}\npostern: {ours_results}"))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
