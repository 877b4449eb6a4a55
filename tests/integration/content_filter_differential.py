#!/usr/bin/env python3
"""content_filter (FILTER_README's after-queue filter), posternd and a
private Postfix 3.7 side by side: each relays partner.example to an
smtp-sink of its own, hands everything accepted on port smtp to a content
filter (a real SMTP filter in this test that adds a header and re-injects
the message, same envelope, into a `reinject` service with
`-o content_filter=`), and a `direct` service without a content filter
sends mail whose sender an access table answers FILTER for to the filter
too. Compared: the replies, the envelopes the filter received (sender and
recipients, in order), and what reached the sinks (recipients, and the
filter's header on every message).

Needs root and Debian's postfix (exit 77 otherwise).
"""
import os
import re
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import ContentFilter, SmtpSink  # noqa: E402
from postfix_instance import SKIP, PrivatePostfix, free_port, set_parameters, wait_for_port  # noqa: E402
from posternd import Posternd, arguments  # noqa: E402
from smtpd_services_differential import finish  # noqa: E402

MASTER_CF = """\
scan      unix  -       -       n       -       10      smtp
reinject  inet  n       -       n       -       -       smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
direct    inet  n       -       n       -       -       smtpd
  -o content_filter=
  -o smtpd_sender_restrictions=check_sender_access,texthash:/etc/postfix/filter_senders
"""

MESSAGES = [  # (service, sender, recipients)
    ("smtp", "alice@bench.example", ["one@partner.example"]),
    ("smtp", "bob@bench.example", ["two@partner.example", "three@partner.example"]),
    ("direct", "plain@bench.example", ["four@partner.example"]),
    ("direct", "filtered@bench.example", ["five@partner.example"]),
]


def make_config(source, directory, filter_port, sink_port):
    shutil.copytree(os.path.join(source, "tools", "bench", "smtpd_config"), directory)
    set_parameters(os.path.join(directory, "main.cf"), {
        "content_filter": f"scan:[127.0.0.1]:{filter_port}",
        "relay_transport": f"smtp:[127.0.0.1]:{sink_port}", "default_transport": f"smtp:[127.0.0.1]:{sink_port}"})
    with open(os.path.join(directory, "master.cf"), "a") as f:
        f.write(MASTER_CF)
    with open(os.path.join(directory, "filter_senders"), "w") as f:
        f.write(f"filtered@bench.example FILTER scan:[127.0.0.1]:{filter_port}\n")


def send(port, sender, recipients, n):
    body = f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: message {n}\r\nX-Test-Input: {n}\r\n\r\nhi\r\n"
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            refused = s.sendmail(sender, recipients, body)
        return "250" + (f" refused {refused}" if refused else "")
    except smtplib.SMTPException as e:
        return str(e)


def wait_sink(sink, count, timeout=30):
    """The sink's messages once `count` are there, each written past its
    X-Test-Input header (smtp-sink writes a file while it receives it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        messages = sink.messages()
        if len(messages) >= count and all("X-Test-Input:" in m for m in messages):
            return messages
        time.sleep(0.1)
    return sink.messages()


def delivered(sink, count):
    """(recipients, filtered) per message in the sink, sorted."""
    out = []
    for m in wait_sink(sink, count):
        head = m.split("\n\n", 1)[0]
        rcpts = sorted(re.findall(r"^X-Rcpt-Args: <([^>]*)>", head, re.M))
        test_input = re.findall(r"^X-Test-Input: (\S+)", m, re.M)
        out.append((test_input[0] if test_input else "?", rcpts, "X-Content-Filter: scanned" in m))
    return sorted(out)


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-filter-")
    os.chmod(root, 0o755)
    results = []
    ports = {"ours": free_port(), "theirs": free_port()}  # the reinject services
    with SmtpSink() as ours_sink, SmtpSink() as theirs_sink, \
            ContentFilter(ports["ours"]) as ours_filter, ContentFilter(ports["theirs"]) as theirs_filter:
        ours_config, theirs_config = os.path.join(root, "ours"), os.path.join(root, "theirs")
        make_config(args.source, ours_config, ours_filter.port, ours_sink.port)
        make_config(args.source, theirs_config, theirs_filter.port, theirs_sink.port)
        direct = {"ours": free_port(), "theirs": free_port()}
        pf = PrivatePostfix(theirs_config, os.path.join(root, "postfix"), recorded=(),
                            inet_ports={"reinject": ports["theirs"], "direct": direct["theirs"]})
        with Posternd(args.postern, args.posternd, ours_config, deliver=True,
                      args=["--listen", f"reinject=127.0.0.1:{ports['ours']}",
                            "--listen", f"direct=127.0.0.1:{direct['ours']}"]) as pd, pf:
            for port in (ports["ours"], direct["ours"], ports["theirs"], direct["theirs"]):
                wait_for_port(port)
            replies = {}
            for label, smtp_port, sink in (("postern", pd.port, ours_sink), ("postfix", pf.port, theirs_sink)):
                side = "ours" if label == "postern" else "theirs"
                replies[label] = [send(smtp_port if service == "smtp" else direct[side], sender, rcpts, n)
                                  for n, (service, sender, rcpts) in enumerate(MESSAGES)]
            ours, theirs = delivered(ours_sink, len(MESSAGES)), delivered(theirs_sink, len(MESSAGES))
            log = open(pd.log_path, errors="replace").read()
        results.append(("every message accepted by both", replies["postern"] == replies["postfix"] ==
                        ["250"] * len(MESSAGES), replies))
        # (Postfix's queue manager sorts the recipients, and delivers messages
        # in parallel: neither order means anything.)
        expected = sorted((s, sorted(r)) for service, s, r in MESSAGES if service == "smtp" or s.startswith("filtered"))
        received = {label: sorted((s, sorted(r)) for s, r in f.received)
                    for label, f in (("postern", ours_filter), ("postfix", theirs_filter))}
        results.append(("the filter got the envelopes Postfix gives it: port smtp's mail and the FILTER sender's",
                        received["postern"] == received["postfix"] == expected,
                        f"postfix: {theirs_filter.received}\npostern: {ours_filter.received}"))
        results.append((f"{len(ours)} messages in the sink, the same recipients as Postfix's, filtered where "
                        "Postfix's were", ours == theirs and len(ours) == len(MESSAGES),
                        f"postfix: {theirs}\npostern: {ours}\n{log[-2500:]}"))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
