#!/usr/bin/env python3
"""posternd's maillog read by pflogsumm, the report Postfix administrators
run on their logs: a run whose messages the test counts itself (received,
delivered to a relay and to a mailbox, deferred by a tempfailing peer,
bounced by the error transport with its notice delivered, recipients
rejected at RCPT) must be counted exactly so by pflogsumm's Grand Totals."""
import os
import re
import shutil
import smtplib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from delivery_test import Setup, message, send, wait_for  # noqa: E402
from peers import SmtpSink  # noqa: E402
from posternd import arguments, free_port  # noqa: E402


def grand_totals(report):
    """pflogsumm's "Grand Totals" counts by name (received, delivered, ...)."""
    section = report.split("Grand Totals", 1)[-1].split("Per-", 1)[0]
    totals = {}
    for line in section.splitlines():
        m = re.match(r"\s*(\d+)\s+(received|delivered|forwarded|deferred|bounced|rejected|held|discarded)\b", line)
        if m:
            totals[m.group(2)] = int(m.group(1))
    return totals


def main():
    args = arguments()
    pflogsumm = shutil.which("pflogsumm") or ("/usr/sbin/pflogsumm" if os.path.exists("/usr/sbin/pflogsumm") else None)
    if pflogsumm is None or shutil.which("smtp-sink") is None:
        print("skipped: pflogsumm or smtp-sink is not installed (Debian packages pflogsumm, postfix)")
        return 77
    results = []
    with SmtpSink() as sink, SmtpSink() as second, SmtpSink(["-r", "RCPT"]) as temp:
        ports = {"SINK": sink.port, "SECOND": second.port, "DOWN": free_port(), "TEMPFAIL": temp.port,
                 "LMTP": "/nonexistent", "TLS": free_port()}
        with Setup(args, ports) as s:
            send(s.d, "joe@test.example", ["a@sink.example", "b@sink.example"], message("relayed", "r@test"))
            send(s.d, "joe@test.example", ["ann@test.example"], message("local", "l@test"))
            send(s.d, "joe@test.example", ["x@gone.example"], message("bounced", "b@test"))
            send(s.d, "joe@test.example", ["t@tempfail.example"], message("deferred", "d@test"))
            with smtplib.SMTP("127.0.0.1", s.d.port, timeout=10) as c:
                c.ehlo("client.test")
                c.mail("joe@test.example")
                refused = [c.rcpt(r)[0] for r in ("nobody1@test.example", "nobody2@test.example")]
                c.rset()
            known = {"received": 4, "delivered": 4, "deferred": 1, "bounced": 1, "rejected": 2}
            # Delivered: two relayed, one to a mailbox, the bounce notice to joe.
            done = wait_for(lambda: s.d.log_text().count("status=sent") >= 4
                            and "status=deferred" in s.d.log_text() and "status=bounced" in s.d.log_text(), 30)
            log = s.d.log_text()
        results.append(("the run: both RCPTs refused, every delivery logged", refused == [550, 550] and done,
                        (refused, log[-3000:])))
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "posternd-pflogsumm-%d.log" % os.getpid())
        with open(path, "w") as f:
            f.write(log)
        try:
            report = subprocess.run([pflogsumm, path], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(path)
        totals = grand_totals(report.stdout)
        counted = {k: totals.get(k) for k in known}
        results.append(("pflogsumm counts what the test knows: %s" % known,
                        report.returncode == 0 and counted == known, (counted, report.stdout[:1500], report.stderr)))
    for name, ok, detail in results:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + str(detail)[:3000]))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
