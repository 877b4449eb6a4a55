#!/usr/bin/env python3
"""posternd's queue manager and delivery agents against real peers on
loopback: Postfix's smtp-sink as next hops (accepting, tempfailing, down
and then up, LMTP on a unix socket), Debian's dnsmasq serving MX records,
local delivery into Maildir, an mbox file and a command under the test's
directory. Bounces are parsed with Python's email package and their
delivery-status fields checked. Restarts check recovery: recipients
recorded as delivered are not delivered again, a damaged queue file is
moved to the corrupt queue."""
import email
import email.policy
import glob
import os
import pathlib
import pwd
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Dnsmasq, SmtpSink  # noqa: E402
from posternd import Posternd, arguments, free_port, read_queue_file, report, tls_settings  # noqa: E402

results = []


def expect(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def wait_for(predicate, timeout=15):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(0.1)


class Setup:
    """One posternd with delivery on, its next hops filled in."""

    def __init__(self, args, ports, extra="", dns=None):
        config = os.path.join(args.source, "tests/integration/configs/delivery")
        self.d = Posternd(args.postern, args.posternd, config, extra=extra, deliver=True,
                          args=["--dns", dns.server] if dns else ["--dns", "127.0.0.1:%d" % free_port()])
        root = self.d.root
        for sub in ("home/joe", "home/ann", "spool"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        for path in (os.path.join(root, "home"), os.path.join(root, "home/joe"), os.path.join(root, "home/ann"),
                     os.path.join(root, "spool")):
            os.chmod(path, 0o777)
        self.d.users = os.path.join(root, "users")
        with open(self.d.users, "w") as f:
            f.write("joe:x:1001:1001:Joe:%s/home/joe:/bin/sh\n" % root)
            f.write("ann:x:1002:1002:Ann:%s/home/ann:/bin/sh\n" % root)
        fill = dict(ports, ROOT=root)
        for name in ("transport", "aliases"):
            path = pathlib.Path(self.d.config, name)
            text = path.read_text()
            for key, value in fill.items():
                text = text.replace("@%s@" % key, str(value))
            path.write_text(text)
        with open(os.path.join(self.d.config, "main.cf"), "a") as f:
            f.write("mail_spool_directory = %s/spool\n" % root)
        # Writable by the delivery users, sticky as /tmp is: the local
        # delivery helper trusts no image under a directory others could
        # rename things in.
        os.chmod(root, 0o1777)

    def __enter__(self):
        self.d.__enter__()
        return self

    def __exit__(self, *exc):
        self.d.__exit__(*exc)

    def maildir(self, user):
        return sorted(glob.glob(os.path.join(self.d.root, "home", user, "Maildir", "new", "*")))

    def read(self, path):
        return pathlib.Path(path).read_text(errors="replace")

    def queue_empty(self):
        return not self.d.queued("incoming") and not self.d.queued("deferred")

    def deferred(self):
        """What is still deferred, and why."""
        out = []
        for p in self.d.queued("deferred"):
            m = read_queue_file(str(p))
            out += ["%s %s: %s" % (p.name, r["address"], r["last_reply"]) for r in m["recipients"] if r["state"] == 3]
        return out


def lines(log, qid):
    return "\n".join(line for line in (log or "").splitlines() if qid in line)


def send(d, sender, recipients, body, rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
        s.ehlo("client.test")
        code, msg = s.mail(sender)
        for r in recipients:
            code, msg = s.rcpt(r, list(rcpt_options))
            if code != 250:
                raise RuntimeError("RCPT %s: %d %s" % (r, code, msg))
        code, msg = s.data(body.encode())
        if code != 250:
            raise RuntimeError("DATA: %d %s" % (code, msg))
        return msg.decode().split()[-1]


def message(subject, message_id, body="Hello.\r\n"):
    return "Subject: %s\r\nMessage-ID: <%s>\r\nFrom: joe@test.example\r\n\r\n%s" % (subject, message_id, body)


def relay(s, sink):
    qid = send(s.d, "joe@test.example", ["a@sink.example", "b@sink.example"], message("relay", "relay@test"))
    got = wait_for(lambda: [m for m in sink.messages() if "Message-ID: <relay@test>" in m])
    expect("relay: the message reached smtp-sink once, both recipients in one transaction",
           len(got) == 1 and "a@sink.example" in got[0] and "b@sink.example" in got[0], sink.messages())
    expect("relay: the queue file is removed", wait_for(s.queue_empty), s.d.queued("incoming"))
    texts = (qid + ": to=<a@sink.example>, relay=127.0.0.1[127.0.0.1]:%d" % sink.port,
             "dsn=2.0.0, status=sent (250 2.0.0 Ok", qid + ": removed")  # "removed" follows the unlink
    log = wait_for(lambda: all(t in s.d.log_text() for t in texts) and s.d.log_text())
    expect("relay: maillog status=sent with relay and dsn", log, lines(s.d.log_text(), qid))


def local(s):
    body = "Hello.\r\nFrom the start of a line.\r\n>From quoted already.\r\n"
    send(s.d, "alice@elsewhere.example", ["joe@test.example", "list@test.example", "cmd@test.example"],
         message("local", "local@test", body))
    joe = wait_for(lambda: len(s.maildir("joe")) >= 2 and s.maildir("joe"))
    ann = wait_for(lambda: s.maildir("ann"))
    expect("local: joe's Maildir has the direct copy and the list's", len(joe or []) == 2, joe)
    expect("local: ann's Maildir has the list's copy", len(ann or []) == 1, ann)
    texts = [s.read(p) for p in joe or []]
    direct = [t for t in texts if "X-Original-To: joe@test.example" in t]
    via_list = [t for t in texts if "X-Original-To: list@test.example" in t]
    expect("local: delivery headers on the direct copy",
           direct and direct[0].startswith("Return-Path: <alice@elsewhere.example>\n"
                                           "X-Original-To: joe@test.example\nDelivered-To: joe@test.example\n"),
           texts)
    expect("local: the list's copy says where it was sent", via_list and "Delivered-To: joe@test.example" in via_list[0],
           texts)
    expect("local: Maildir copies have LF lines and no From_ quoting",
           direct and "\r" not in direct[0] and "\nFrom the start of a line.\n" in direct[0], direct)
    mbox = os.path.join(s.d.root, "archive.mbox")
    # (until the copy is complete: an mbox is appended to in place)
    text = wait_for(lambda: os.path.exists(mbox) and s.read(mbox).endswith("\n\n") and s.read(mbox))
    expect("mbox: From_ line, delivery headers, >From quoting, blank line at the end",
           text and text.startswith("From alice@elsewhere.example  ")
           and "\nDelivered-To: archive@test.example\n" in text and "\n>From the start of a line.\n" in text
           and "\n>>From quoted already.\n" not in text and text.endswith("\n\n"), text)
    out = os.path.join(s.d.root, "cmd.out")
    text = wait_for(lambda: os.path.exists(out) and "Hello." in s.read(out) and s.read(out))
    expect("command: the message on its standard input", text and "Subject: local" in text, text)
    if os.geteuid() == 0:  # the privileged helper delivers as the recipient
        nobody = pwd.getpwnam("nobody").pw_uid
        owners = {"joe's Maildir copy": os.stat(joe[0]).st_uid if joe else None,
                  "ann's Maildir copy": os.stat(ann[0]).st_uid if ann else None,
                  "the alias's /file": os.stat(mbox).st_uid, "the alias's command output": os.stat(out).st_uid}
        expect("local as root: mailboxes belong to their users, alias files and commands to default_privs",
               owners == {"joe's Maildir copy": 1001, "ann's Maildir copy": 1002, "the alias's /file": nobody,
                          "the alias's command output": nobody}, owners)
    expect("local: queue empty afterwards", wait_for(s.queue_empty), s.deferred())


def find_dsn(s, user, marker):
    for path in s.maildir(user):
        text = s.read(path)
        if marker in text and "multipart/report" in text:
            return email.message_from_string(text, policy=email.policy.compat32)
    return None


def dsn_fields(report):
    """(per-message fields, [per-recipient fields]) of a multipart/report."""
    status = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"][0]
    blocks = status.get_payload()
    return dict(blocks[0].items()), [dict(b.items()) for b in blocks[1:]]


def bounces(s):
    send(s.d, "joe@test.example", ["x@gone.example", "failcmd@test.example"], message("doomed", "doomed@test"))
    report = wait_for(lambda: find_dsn(s, "joe", "doomed@test"))
    expect("bounce: a notification reached the sender", report is not None)
    if report is None:
        return
    expect("bounce: headers (null sender, MAILER-DAEMON, subject)",
           report["Return-Path"] == "<>" and report["From"].startswith("MAILER-DAEMON@mx.test.example")
           and report["Subject"] == "Undelivered Mail Returned to Sender" and report["Auto-Submitted"], dict(report))
    expect("bounce: multipart/report; report-type=delivery-status",
           report.get_content_type() == "multipart/report" and report.get_param("report-type") == "delivery-status",
           report["Content-Type"])
    per_message, per_recipient = dsn_fields(report)
    expect("bounce: Reporting-MTA", per_message.get("Reporting-MTA") == "dns; mx.test.example", per_message)
    by_address = {r.get("Final-Recipient", "").split(";")[-1].strip(): r for r in per_recipient}
    gone = by_address.get("x@gone.example", {})
    expect("bounce: error transport recipient: failed 5.1.2",
           gone.get("Action") == "failed" and gone.get("Status") == "5.1.2", per_recipient)
    failcmd = [r for a, r in by_address.items() if a.startswith("failcmd@")]
    expect("bounce: failed command recipient: 5.3.0 with its output",
           failcmd and failcmd[0].get("Status") == "5.3.0", per_recipient)
    original = [p for p in report.walk() if p.get_content_type() == "message/rfc822"]
    expect("bounce: the original message is returned",
           original and "Message-ID: <doomed@test>" in original[0].as_string(), report.as_string()[:3000])
    expect("bounce: queue empty afterwards", wait_for(s.queue_empty), s.deferred())


def success_notice(s, sink):
    send(s.d, "joe@test.example", ["n@sink.example"], message("notify", "notify@test"), ["NOTIFY=SUCCESS"])
    report = wait_for(lambda: find_dsn(s, "joe", "notify@test"))
    if report is None:
        expect("NOTIFY=SUCCESS: a success notice reached the sender", False, s.d.log_text()[-2000:])
        return
    _, per_recipient = dsn_fields(report)
    expect("NOTIFY=SUCCESS: Action delivered, Status 2.0.0, Remote-MTA",
           per_recipient and per_recipient[0].get("Action") == "delivered"
           and per_recipient[0].get("Status") == "2.0.0" and "Remote-MTA" in per_recipient[0], per_recipient)


def deferral_and_retry(s, down_port):
    qid = send(s.d, "joe@test.example", ["y@down.example"], message("retry", "retry@test"))
    deferred = wait_for(lambda: [p for p in s.d.queued("deferred") if p.name == qid])
    expect("down host: the message goes to the deferred queue", deferred, lines(s.d.log_text(), qid))
    log = s.d.log_text()
    expect("down host: logged as deferred with the connect error (4.4.1)",
           qid + ": to=<y@down.example>" in log and "dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]:%d"
           % down_port in log, log[-2000:])
    if deferred:
        m = read_queue_file(str(deferred[0]))
        expect("down host: the deferred file records the attempt",
               m["recipients"][0]["attempts"] >= 1 and "Connection refused" in m["recipients"][0]["last_reply"],
               m["recipients"])
        expect("down host: the next attempt time is the file's mtime, in the future",
               deferred[0].stat().st_mtime >= time.time() - 0.5)
    with SmtpSink(port=down_port) as late:
        got = wait_for(lambda: [m for m in late.messages() if "retry@test" in m], timeout=20)
        expect("down host comes up: the deferred message is delivered", len(got or []) == 1,
               s.d.log_text()[-2000:])
        expect("down host comes up: the file is removed",
               wait_for(lambda: not any(p.name == qid for p in s.d.queued("deferred"))), s.deferred())


def tempfail(s):
    qid = send(s.d, "joe@test.example", ["t@tempfail.example"], message("tempfail", "tempfail@test"))
    log = wait_for(lambda: (qid + ": to=<t@tempfail.example>") in s.d.log_text() and s.d.log_text())
    expect("4xx to RCPT: deferred with the server's reply",
           log and "status=deferred (host 127.0.0.1[127.0.0.1] said: 450" in log
           and "(in reply to RCPT TO command)" in log, (log or "")[-2000:])


def other_transports(s):
    qid = send(s.d, "joe@test.example", ["v@void.example", "l@later.example"], message("other", "other@test"))
    log = wait_for(lambda: (qid + ": to=<l@later.example>") in s.d.log_text()
                   and (qid + ": to=<v@void.example>") in s.d.log_text() and s.d.log_text())
    expect("discard transport: sent, with its text",
           log and qid + ": to=<v@void.example>" in log and "status=sent (dropped by the test)" in log, lines(log, qid))
    expect("retry transport: deferred with its status and text",
           log and "dsn=4.3.2, status=deferred (come back later)" in log, lines(log, qid))


def lmtp(s, server):
    qid = send(s.d, "joe@test.example", ["l1@lmtp.example", "l2@lmtp.example"], message("lmtp", "lmtp@test"))
    got = wait_for(lambda: [m for m in server.messages() if "lmtp@test" in m])
    expect("LMTP over a unix socket: delivered once with both recipients",
           len(got or []) == 1 and "l1@lmtp.example" in got[0] and "l2@lmtp.example" in got[0],
           s.d.log_text()[-2000:])
    logged = wait_for(lambda: s.d.log_text().count(qid + ": to=<l") == 2)  # after the last LMTP reply
    expect("LMTP: one status=sent per recipient", logged and "relay=" + server.path in s.d.log_text(),
           lines(s.d.log_text(), qid))


def mx(s, sink):
    qid = send(s.d, "joe@test.example", ["m@mx.example"], message("mx", "mx@test"))
    got = wait_for(lambda: [m for m in sink.messages() if "mx@test" in m])
    log = wait_for(lambda: (qid + ": to=<m@mx.example>") in s.d.log_text() and s.d.log_text())
    expect("MX: the preferred exchanger is down, the next one gets the mail",
           len(got or []) == 1 and log and qid + ": to=<m@mx.example>, relay=mx2.mx.example[127.0.0.1]" in log,
           lines(log, qid))
    qid = send(s.d, "joe@test.example", ["n@nxdomain.example"], message("nx", "nx@test"))
    log = wait_for(lambda: (qid + ": to=<n@nxdomain.example>") in s.d.log_text() and s.d.log_text())
    expect("MX: a domain that does not exist bounces with 5.4.4",
           log and "dsn=5.4.4, status=bounced (Host or domain name not found" in log, (log or "")[-2000:])


def recovery(args, ports, sink):
    """A message half delivered, the daemon stopped: after a restart the
    delivered recipient is not sent again; a damaged file is set aside."""
    extra = "maximal_backoff_time = 1s\n"
    with Setup(args, ports, extra) as s:
        send(s.d, "joe@test.example", ["r1@sink.example", "r2@tempfail.example"], message("half", "half@test"))
        deferred = wait_for(lambda: s.d.queued("deferred"))
        expect("recovery: half delivered, the rest deferred", deferred, s.d.log_text()[-2000:])
        if deferred:
            m = read_queue_file(str(deferred[0]))
            states = {r["address"]: r["state"] for r in m["recipients"]}
            expect("recovery: the file records r1 as delivered", states.get("r1@sink.example") == 1, states)
        s.d.stop()
        pathlib.Path(s.d.queue, "incoming", "0000000000000BAD").write_bytes(b"PSTRNQUE not a queue file")
        s.d.start()
        time.sleep(3)  # several retries of r2
        copies = [m for m in sink.messages() if "half@test" in m]
        expect("recovery: r1 was delivered exactly once across the restart", len(copies) == 1, len(copies))
        expect("recovery: the damaged file is in the corrupt queue",
               [p.name for p in s.d.queued("corrupt")] == ["0000000000000BAD"] and not pathlib.Path(
                   s.d.queue, "incoming", "0000000000000BAD").exists(), s.d.log_text()[-2000:])
        expect("recovery: logged", "0000000000000BAD: corrupt queue file" in s.d.log_text())


def find_dsns(s, user, marker):
    out = []
    for path in s.maildir(user):
        text = s.read(path)
        if marker in text and "multipart/report" in text:
            out.append(email.message_from_string(text, policy=email.policy.compat32))
    return out


def expiry(args, ports):
    """delay_warning_time: one delay warning; maximal_queue_lifetime: then
    a failure notice, and the message is gone."""
    with Setup(args, ports, "maximal_queue_lifetime = 4s\ndelay_warning_time = 1s\n") as s:
        send(s.d, "joe@test.example", ["e@down.example"], message("expire", "expire@test"))
        failed = lambda: [r for r in find_dsns(s, "joe", "expire@test")
                          if r["Subject"] == "Undelivered Mail Returned to Sender"]
        report = (wait_for(failed, timeout=20) or [None])[0]
        expect("maximal_queue_lifetime: the sender gets a failure notice", report is not None,
               s.d.log_text()[-2000:])
        if report is not None:
            _, per_recipient = dsn_fields(report)
            expect("expired: Action failed with the last deferral's status (4.4.1)",
                   per_recipient and per_recipient[0].get("Action") == "failed"
                   and per_recipient[0].get("Status") == "4.4.1", per_recipient)
        delays = [r for r in find_dsns(s, "joe", "expire@test") if r["Subject"].startswith("Delayed Mail")]
        expect("delay_warning_time: exactly one delay warning before that", len(delays) == 1, len(delays))
        if delays:
            _, per_recipient = dsn_fields(delays[0])
            expect("delay warning: Action delayed, Status 4.4.1",
                   per_recipient and per_recipient[0].get("Action") == "delayed"
                   and per_recipient[0].get("Status") == "4.4.1", per_recipient)
        expect("expired: logged", "status=expired, returned to sender" in s.d.log_text()
               and "sender delay notification" in s.d.log_text())
        expect("expired: queue empty", wait_for(s.queue_empty), s.deferred())


def queue_tools(args, ports):
    """With retries an hour away: `postern queue requeue` has a deferred
    message tried again at once, `postern queue flush` has all deferred
    mail tried now (the down host has come up meanwhile)."""
    extra = "minimal_backoff_time = 1h\nmaximal_backoff_time = 2h\nqueue_run_delay = 1h\n"
    with Setup(args, ports, extra) as s:
        qid = send(s.d, "joe@test.example", ["q@down.example"], message("tools", "tools@test"))
        expect("tools: deferred", wait_for(lambda: [p for p in s.d.queued("deferred") if p.name == qid]),
               lines(s.d.log_text(), qid))
        tool = [args.postern, "queue", "-q", s.d.queue]
        r = subprocess.run(tool + ["requeue", qid], capture_output=True, text=True)
        attempts = wait_for(lambda: s.d.log_text().count(qid + ": to=<q@down.example>") >= 2)
        expect("requeue: tried again at once, not at the next queue run", r.returncode == 0 and attempts,
               r.stderr + lines(s.d.log_text(), qid))
        wait_for(lambda: [p for p in s.d.queued("deferred") if p.name == qid])
        with SmtpSink(port=ports["DOWN"]) as late:
            r = subprocess.run(tool + ["flush"], capture_output=True, text=True)
            got = wait_for(lambda: [m for m in late.messages() if "tools@test" in m])
            expect("flush: deferred mail is delivered now", r.returncode == 0 and got,
                   r.stdout + r.stderr + lines(s.d.log_text(), qid))
        r = subprocess.run([args.postern, "status", "-q", s.d.queue], capture_output=True, text=True)
        expect("status: delivery counters", r.returncode == 0 and "delivered 1" in r.stdout and "deferred 2" in r.stdout,
               r.stdout + r.stderr)


def tls(args, ports, receiver):
    """STARTTLS to a real TLS server (another posternd with a certificate
    made here): required TLS (encrypt) delivers; verify refuses the
    self-signed certificate and defers."""
    with Setup(args, ports) as s:
        qid = send(s.d, "joe@test.example", ["t@tls.example"], message("tls", "tls@test"))
        got = wait_for(lambda: [p for p in receiver.queued() if b"tls@test" in read_queue_file(str(p))["content"]])
        expect("encrypt: delivered over TLS to the next hop", got, lines(s.d.log_text(), qid))
        if got:
            content = read_queue_file(str(got[0]))["content"].decode(errors="replace")
            expect("encrypt: the next hop's Received header shows TLS", "with cipher" in content
                   and "ESMTPS" in content, content[:600])
        qid = send(s.d, "joe@test.example", ["v@verify.example"], message("verify", "verify@test"))
        log = wait_for(lambda: (qid + ": to=<v@verify.example>") in s.d.log_text() and s.d.log_text())
        expect("verify: a self-signed certificate is refused, the mail deferred",
               log and "status=deferred (TLS handshake with 127.0.0.1[127.0.0.1] failed" in log
               and "certificate verify failed" in log, lines(log, qid))


def main():
    args = arguments()
    for tool in ("smtp-sink", "/usr/sbin/dnsmasq"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode != 0:
            print("skipped: %s is not installed" % tool)
            return 77
    with SmtpSink() as sink, SmtpSink() as second, SmtpSink(["-r", "RCPT"]) as temp, \
            SmtpSink(["-L"], unix=True) as lmtp_server, \
            Dnsmasq("example", mx=[("mx.example", "mx1.mx.example", 10), ("mx.example", "mx2.mx.example", 20)],
                    hosts=[("mx1.mx.example", "127.0.0.2"), ("mx2.mx.example", "127.0.0.1")]) as dns:
        ports = {"SINK": sink.port, "SECOND": second.port, "DOWN": free_port(), "TEMPFAIL": temp.port,
                 "LMTP": lmtp_server.path, "TLS": free_port()}
        with Setup(args, ports, dns=dns) as s:
            relay(s, sink)
            local(s)
            bounces(s)
            success_notice(s, sink)
            tempfail(s)
            other_transports(s)
            lmtp(s, lmtp_server)
            mx(s, sink)
            deferral_and_retry(s, ports["DOWN"])
        recovery(args, ports, sink)
        expiry(args, ports)
        queue_tools(args, ports)
        with tempfile.TemporaryDirectory() as certs:
            os.chmod(certs, 0o755)
            receiving = (tls_settings(certs) + "smtpd_tls_received_header = yes\n"
                         "relay_domains = tls.example, verify.example\n")
            daemon_config = os.path.join(args.source, "tests/integration/configs/daemon")
            with Posternd(args.postern, args.posternd, daemon_config, receiving) as receiver:
                tls(args, dict(ports, TLS=receiver.port), receiver)

    return report(results)


if __name__ == "__main__":
    sys.exit(main())
