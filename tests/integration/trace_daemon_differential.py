#!/usr/bin/env python3
"""One semantics: what `postern trace --sender S --json R` says about a
message's envelope is what the next hops receive when posternd delivers it.

tests/integration/configs/rewriting rewrites senders (canonical form,
sender_canonical_maps, canonical_maps) and recipients (recipient_canonical_maps,
canonical_maps, virtual aliases), and routes them through relayhost and
transport_maps to two smtp-sinks. For every case the envelope sender, the
final recipients and the nexthop each one reached are compared with trace's
answer on the same configuration.
"""
import json
import os
import pathlib
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import SmtpSink  # noqa: E402
from posternd import Posternd, arguments, free_port, report  # noqa: E402

# (sender as sent in MAIL FROM, recipients as sent in RCPT TO)
CASES = [
    ("alice@example.com", ["someone@elsewhere.example"]),  # sender_canonical_maps
    ("bob@example.com", ["x@partner.example"]),  # canonical_maps on the sender; transport_maps
    ("carol@old.example", ["y@partner-old.example"]),  # domain maps on both sides
    ("alice@example.com", ["team@lists.example.com"]),  # a virtual alias to two next hops
    ("", ["bob@example.com"]),  # the null sender stays null; canonical_maps on the recipient
    ("dave", ["z@elsewhere.example"]),  # a bare sender gets @$myorigin
    ("erin@elsewhere.example", ["bob@example.com", "x@partner.example"]),  # untouched sender, two routes
]


def traced(postern, config, sender, recipient):
    """(sender, {(final address, nexthop)}) as postern trace says."""
    argv = [postern, "trace", "-c", config, "--json", "--users", os.devnull, "--no-smtpd-checks"]
    if sender:
        argv += ["--sender", sender]
    r = subprocess.run(argv + [recipient], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("postern trace: " + r.stderr)
    [resolution] = json.loads(r.stdout)
    routes = set()
    for d in resolution["results"]:
        if "transport" not in d:
            raise RuntimeError("trace does not deliver %s: %s" % (recipient, d))
        routes.add((d["address"], d["nexthop"]))
    return resolution.get("sender", ""), routes


def received(sinks, subject):
    """(sender, {(recipient, nexthop)}) of the transactions carrying `subject`."""
    senders, routes = set(), set()
    for nexthop, sink in sinks.items():
        for text in sink.messages():
            if "Subject: " + subject + "\n" not in text.replace("\r\n", "\n"):
                continue
            for line in text.splitlines():
                if not line.strip():
                    break
                if line.startswith("X-Mail-Args: "):
                    senders.add(line.split(":", 1)[1].strip().split()[0].strip("<>"))
                if line.startswith("X-Rcpt-Args: "):
                    routes.add((line.split(":", 1)[1].strip().split()[0].strip("<>"), nexthop))
    return senders, routes


def main():
    args = arguments()
    for tool in ("smtp-sink",):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print("skipped: %s is not installed" % tool)
            return 77
    results = []

    def expect(name, condition, detail=""):
        results.append((name, bool(condition), detail))

    config = os.path.join(args.source, "tests/integration/configs/rewriting")
    with SmtpSink() as relay, SmtpSink() as partner:
        relay_hop = "[127.0.0.1]:%d" % relay.port
        partner_hop = "[127.0.0.1]:%d" % partner.port
        d = Posternd(args.postern, args.posternd, config, extra="relayhost = %s\n" % relay_hop,
                     users=os.devnull, deliver=True, args=["--dns", "127.0.0.1:%d" % free_port()])
        transport = pathlib.Path(d.config, "transport")
        transport.write_text(transport.read_text().replace("@PARTNER@", str(partner.port)))
        sinks = {relay_hop: relay, partner_hop: partner}
        with d:
            expected = {}
            for n, (sender, recipients) in enumerate(CASES):
                subject = "trace-differential-%d" % n
                want_sender, want_routes = "", set()
                for r in recipients:
                    want_sender, routes = traced(args.postern, d.config, sender, r)
                    want_routes |= routes
                expected[subject] = (want_sender, want_routes)
                with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
                    s.ehlo("client.test")
                    s.sendmail(sender, recipients, ("Subject: %s\r\n\r\nbody\r\n" % subject).encode())
            deadline = time.time() + 30
            while time.time() < deadline:
                if all(received(sinks, s)[1] == want[1] for s, want in expected.items()):
                    break
                time.sleep(0.2)
            for subject, (want_sender, want_routes) in expected.items():
                got_senders, got_routes = received(sinks, subject)
                case = CASES[int(subject.rsplit("-", 1)[1])]
                expect("%s -> %s: sender %r as trace says" % (case[0] or "<>", ", ".join(case[1]), want_sender),
                       got_senders == {want_sender}, (got_senders, want_sender))
                expect("%s -> %s: recipients and nexthops as trace says" % (case[0] or "<>", ", ".join(case[1])),
                       got_routes == want_routes, (sorted(got_routes), sorted(want_routes), d.log_text()[-2000:]))
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
