#!/usr/bin/env python3
"""posternd over real sockets with real clients: Python's smtplib, swaks
(--pipeline, --tls), Postfix's smtp-source, and raw sockets for what
clients normally do not do (smuggling variants, injection after STARTTLS,
limits, timeouts, shutdown). Every acknowledged message is read back from
the queue and checked."""
import os
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, read_queue_file, report, tls_settings  # noqa: E402

results = []


def expect(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def wait_log(d, *texts, timeout=5):
    """The log once it holds every text (the daemon logs a disconnect
    after the client has gone), or what it holds at the timeout."""
    deadline = time.time() + timeout
    while True:
        log = d.log_text()
        if all(t in log for t in texts) or time.time() > deadline:
            return log
        time.sleep(0.05)


def basic(d):
    before = len(d.queued())
    with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
        s.ehlo("client.test")
        expect("EHLO announces the extensions",
               all(s.has_extn(x) for x in ("pipelining", "size", "8bitmime", "smtputf8", "chunking", "dsn",
                                           "enhancedstatuscodes")), s.esmtp_features)
        code, msg = s.docmd("MAIL FROM:<alice@elsewhere.example> SIZE=100")
        expect("MAIL 250", code == 250, msg)
        code, msg = s.docmd("RCPT TO:<joe@test.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;joe@test.example")
        expect("RCPT to a local user 250", code == 250, msg)
        code, msg = s.docmd("RCPT TO:<nobody@test.example>")
        expect("unknown local user 550 5.1.1", code == 550 and b"5.1.1" in msg, msg)
        code, msg = s.docmd("RCPT TO:<victim@elsewhere.example>")
        expect("relay to a stranger refused", code in (450, 454, 554) and b"Relay access denied" in msg, msg)
        code, msg = s.data(b"Subject: smtplib\r\nMessage-ID: <smtplib@test>\r\n\r\n.leading dot\r\nline two\r\n")
        expect("DATA 250 with a queue id", code == 250 and b"queued as" in msg, msg)
        qid = msg.decode().split()[-1]
    files = d.queued()
    expect("one more file in the queue", len(files) == before + 1, files)
    path = os.path.join(d.queue, "incoming", qid)
    m = read_queue_file(path)
    expect("queue file: envelope", m["sender"] == "alice@elsewhere.example"
           and [r["address"] for r in m["recipients"]] == ["joe@test.example"]
           and m["recipients"][0]["notify"] == "SUCCESS,FAILURE" and m["image_id"] == d.image, m)
    expect("queue file: Received header first, content dot-unstuffed",
           m["content"].startswith(b"Received: from client.test (localhost [127.0.0.1])")
           and b"\r\n\r\n.leading dot\r\nline two\r\n" in m["content"], m["content"][:300])
    lines = ["postfix/smtpd[", "%s: from=<alice@elsewhere.example>, size=" % qid,
             "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1/3 data=1 quit=1 commands=7",
             ": reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nobody@test.example>"]
    log = wait_log(d, *lines)
    expect("maillog lines", all(t in log for t in lines), [t for t in lines if t not in log] + [log[-2000:]])


def xclient(d):
    c = d.connect()
    c.reply()
    r = c.command("XCLIENT ADDR=192.0.2.9 NAME=inside.test.example")
    expect("XCLIENT from an authorized host: new greeting", r.startswith("220 "), r)
    c.command("EHLO inside")
    c.command("MAIL FROM:<x@test.example>")
    r = c.command("RCPT TO:<someone@elsewhere.example>")
    expect("XCLIENT ADDR inside mynetworks may relay", r.startswith("250"), r)
    c.close()


def swaks(d, cert_dir):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(d.port), "--pipeline", "--from",
                        "a@elsewhere.example", "--to", "joe@test.example,ann@test.example"],
                       capture_output=True, text=True, timeout=60)
    expect("swaks --pipeline", r.returncode == 0 and "queued as" in r.stdout, r.stdout[-1500:] + r.stderr)
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(d.port), "--tls", "--from",
                        "a@elsewhere.example", "--to", "joe@test.example", "--header", "Subject: over TLS"],
                       capture_output=True, text=True, timeout=60)
    ok = r.returncode == 0 and "queued as" in r.stdout
    expect("swaks --tls (STARTTLS with the generated certificate)", ok, r.stdout[-1500:] + r.stderr)
    if ok:
        qid = [l for l in r.stdout.splitlines() if "queued as" in l][-1].split()[-1]
        m = read_queue_file(os.path.join(d.queue, "incoming", qid))
        expect("Received header says ESMTPS", b"with ESMTPS id " + qid.encode() in m["content"], m["content"][:400])


def starttls_injection(d):
    c = d.connect()
    c.reply()
    c.command("EHLO attacker")
    # STARTTLS and a command in one packet: the command must be discarded.
    c.send("STARTTLS\r\nMAIL FROM:<injected@elsewhere.example>\r\n")
    r = c.reply()
    expect("STARTTLS 220", r.startswith("220 2.0.0"), r)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    c.sock = context.wrap_socket(c.sock)
    c.buffer = b""
    r = c.command("MAIL FROM:<after@elsewhere.example>")
    # Had the injected MAIL run, this one would be a nested MAIL (503).
    expect("plaintext pipelined after STARTTLS was not executed",
           r.startswith("250 2.1.0"), r)
    c.close()
    expect("the discard is logged", "plaintext input after STARTTLS discarded" in d.log_text())


def smtp_source(d):
    before = len(d.queued())
    r = subprocess.run(["smtp-source", "-s", "5", "-m", "100", "-l", "2048", "-f", "a@elsewhere.example",
                        "-t", "joe@test.example", "127.0.0.1:%d" % d.port], capture_output=True, text=True, timeout=120)
    after = len(d.queued())
    expect("smtp-source: 100 messages over 5 sessions all queued", r.returncode == 0 and after - before == 100,
           "%d new files; %s" % (after - before, r.stderr))


VARIANTS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\r\n", b"\n.\r", b"\r\n.\r\r\n", b"\r\n\x00.\r\n"]


def smuggling(d):
    for v in VARIANTS:
        before = {p.name for p in d.queued()}
        c = d.connect()
        c.envelope("s", "a@elsewhere.example", ["joe@test.example"])
        c.send(b"Subject: first\r\n\r\nfirst" + v + b"MAIL FROM:<evil@elsewhere.example>\r\n"
               b"RCPT TO:<ann@test.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n")
        replies = [c.reply(), c.reply()]
        c.close()
        new = [p for p in d.queued() if p.name not in before]
        content = read_queue_file(new[0])["content"] if len(new) == 1 else b""
        expect("smuggling %r: one message, the rest is its content" % v,
               replies[0].startswith("250 2.0.0 Ok: queued as") and replies[1].startswith("221") and len(new) == 1
               and b"MAIL FROM:<evil@elsewhere.example>" in content
               and [r["address"] for r in read_queue_file(new[0])["recipients"]] == ["joe@test.example"],
               (replies, len(new), content[-200:]))


def bare_newline_refused(postern, posternd, config):
    with Posternd(postern, posternd, config,
                  "smtpd_forbid_bare_newline = reject\nsmtpd_forbid_bare_newline_exclusions =\n") as d:
        c = d.connect()
        c.envelope("s", "a@elsewhere.example", ["joe@test.example"])
        c.send(b"Subject: x\r\n\r\nfirst\n.\nMAIL FROM:<evil@elsewhere.example>\r\n")
        r = c.reply()
        expect("smtpd_forbid_bare_newline = reject: 521 and disconnect", r.startswith("521 5.5.2") and c.reply() == "", r)
        expect("... and nothing queued", d.queued() == [])


def bdat(d):
    c = d.connect()
    c.envelope("b", "a@elsewhere.example", ["joe@test.example"], data=False)
    c.send(b"BDAT 14\r\nSubject: b\r\n\r\n")
    r1 = c.reply()
    c.send(b"BDAT 9 LAST\r\n.\r\nbody\r\n")
    r2 = c.reply()
    expect("BDAT chunks: the last one answered with the bytes of all (Postfix 3.7)",
           r1 == "250 2.0.0 Ok: 14 bytes" and r2.startswith("250 2.0.0 Ok: 23 bytes queued as"), (r1, r2))
    if r2.startswith("250"):
        m = read_queue_file(os.path.join(d.queue, "incoming", r2.split()[-1]))
        # (After Subject: the headers cleanup adds for a local client.)
        expect("BDAT content is raw (no dot-unstuffing)", b"Subject: b\r\n" in m["content"] and
               m["content"].endswith(b"\r\nFrom: a@elsewhere.example\r\n\r\n.\r\nbody\r\n"),
               m["content"][-100:])
    c.close()


def sequence_and_limits(d):
    c = d.connect()
    c.reply()
    # Postfix takes MAIL before HELO unless smtpd_helo_required = yes.
    expect("MAIL before EHLO accepted", c.command("MAIL FROM:<a@b>").startswith("250 2.1.0"))
    c.command("RSET")
    c.command("EHLO l")
    expect("DATA before MAIL 503", c.command("DATA").startswith("503 5.5.1"))
    expect("SIZE over message_size_limit 552", c.command("MAIL FROM:<a@elsewhere.example> SIZE=200000").startswith("552 5.3.4"))
    c.command("MAIL FROM:<a@elsewhere.example>")
    replies = [c.command("RCPT TO:<joe@test.example>") for _ in range(6)]
    expect("smtpd_recipient_limit: the 6th is 452 4.5.3", all(r.startswith("250") for r in replies[:5])
           and replies[5].startswith("452 4.5.3"), replies)
    c.command("DATA")
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 150 + b".\r\n")
    r = c.reply()
    expect("content over message_size_limit 552 5.3.4", r.startswith("552 5.3.4"), r)
    c.close()
    c = d.connect()
    c.reply()
    r = c.command("NOOP " + "y" * 3000)
    expect("over-long command line 500", r.startswith("500 5.5.2"), r)
    expect("session goes on after it", c.command("NOOP").startswith("250"))
    c.close()
    # Hard error limit (5): the 6th command gets 421 and the connection ends.
    c = d.connect()
    c.reply()
    rs = [c.command("BOGUS") for _ in range(5)]
    r = c.command("NOOP")
    expect("smtpd_hard_error_limit: 421 4.7.0 then disconnect",
           all(x.startswith("500") for x in rs) and r.startswith("421 4.7.0") and c.reply() == "", (rs, r))
    c.close()
    # smtpd_timeout (3s): an idle client is told and dropped.
    c = d.connect(timeout=30)
    c.reply()
    start = time.time()
    r = c.reply()
    expect("smtpd_timeout: 421 4.4.2", r.startswith("421 4.4.2") and c.reply() == "", r)
    expect("... after about smtpd_timeout, not at once", time.time() - start >= 2.5, time.time() - start)
    c.close()


def connection_limit(postern, posternd, config):
    with Posternd(postern, posternd, config,
                  "smtpd_client_connection_count_limit = 2\nsmtpd_client_event_limit_exceptions =\n") as d:
        wait_log(d, "disconnect from")  # the start-up probe has gone
        conns = [d.connect() for _ in range(3)]
        replies = [c.reply() for c in conns]
        refused = [r for r in replies if r.startswith("421 4.7.0") and "too many connections from 127.0.0.1" in r]
        expect("smtpd_client_connection_count_limit (2): one of 3 gets 421 4.7.0",
               len(refused) == 1 and sum(r.startswith("220") for r in replies) == 2, replies)
        for c, r in zip(conns, replies):
            if r.startswith("220"):
                c.command("QUIT")
                break
        time.sleep(0.3)
        again = d.connect()
        r = again.reply()
        expect("... and a slot freed is a slot again", r.startswith("220"), r)
        for c in conns + [again]:
            c.close()


def connection_rate_limit(postern, posternd, config):
    with Posternd(postern, posternd, config,
                  "smtpd_client_connection_rate_limit = 3\nsmtpd_client_event_limit_exceptions =\n") as d:
        # The start-up probe was the first connection of this minute.
        replies = []
        for _ in range(3):
            c = d.connect()
            replies.append(c.reply())
            c.close()
        expect("smtpd_client_connection_rate_limit (3/min): the 4th connection in a minute gets 421 4.7.0",
               [r[:3] for r in replies] == ["220", "220", "421"] and "too many connections" in replies[2], replies)
        expect("... and the log says which limit", "Connection rate limit exceeded from 127.0.0.1" in d.log_text())


def tls_protocols(postern, posternd, config, tls):
    """smtpd_tls_protocols as Postfix writes it: >=TLSv1.3 refuses a TLSv1.2-only client."""
    with Posternd(postern, posternd, config, tls + "smtpd_tls_protocols = >=TLSv1.3\n"
                  "smtpd_tls_received_header = yes\n") as d:
        outcomes = {}
        for name, version in (("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)):
            c = d.connect()
            c.reply()
            c.command("EHLO tls")
            c.command("STARTTLS")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.minimum_version = context.maximum_version = version
            try:
                c.sock = context.wrap_socket(c.sock)
                c.buffer = b""
                for command in ("EHLO tls", "MAIL FROM:<a@elsewhere.example>", "RCPT TO:<joe@test.example>", "DATA"):
                    c.command(command)
                c.send(b"Subject: tls\r\n\r\nx\r\n.\r\n")
                outcomes[name] = c.reply()
            except (ssl.SSLError, OSError) as e:
                outcomes[name] = "handshake failed: %s" % e.__class__.__name__
            c.close()
        ok13 = outcomes["TLSv1.3"].startswith("250 2.0.0 Ok: queued as")
        expect("smtpd_tls_protocols = >=TLSv1.3: TLSv1.2 refused, TLSv1.3 accepted",
               outcomes["TLSv1.2"].startswith("handshake failed") and ok13, outcomes)
        if ok13:
            m = read_queue_file(os.path.join(d.queue, "incoming", outcomes["TLSv1.3"].split()[-1]))
            expect("smtpd_tls_received_header = yes names protocol and cipher",
                   b"(using TLSv1.3 with cipher TLS_" in m["content"], m["content"][:400])


def message_and_recipient_rate_limits(postern, posternd, config):
    with Posternd(postern, posternd, config, "smtpd_client_message_rate_limit = 2\n"
                  "smtpd_client_recipient_rate_limit = 3\nsmtpd_client_event_limit_exceptions =\n") as d:
        c = d.connect()
        c.reply()
        c.command("EHLO r")
        mails = [c.command("MAIL FROM:<a@elsewhere.example>")]
        rcpts = [c.command("RCPT TO:<joe@test.example>") for _ in range(4)]
        for _ in range(2):
            c.command("RSET")
            mails.append(c.command("MAIL FROM:<a@elsewhere.example>"))
        c.close()
        expect("smtpd_client_message_rate_limit (2/min): the 3rd MAIL gets 452 4.3.2",
               [m[:3] for m in mails] == ["250", "250", "452"] and "too much mail from 127.0.0.1" in mails[2], mails)
        expect("smtpd_client_recipient_rate_limit (3/min): the 4th RCPT gets 452 4.3.2",
               [r[:3] for r in rcpts] == ["250", "250", "250", "452"] and "too many recipients from 127.0.0.1" in rcpts[3],
               rcpts)


def rate_limit(postern, posternd, config):
    d = Posternd(postern, posternd, config)
    os.makedirs(os.path.join(d.config, "policy"))
    with open(os.path.join(d.config, "policy", "rate.pol"), "w") as f:
        f.write('stage rcpt {\n  defer 451 4.7.1 "Slow down" when rate(client.ip) > 3 per minute\n}\n')
    with d:
        c = d.connect()
        c.reply()
        c.command("EHLO r")
        c.command("MAIL FROM:<a@elsewhere.example>")
        replies = [c.command("RCPT TO:<joe@test.example>") for _ in range(5)]
        expect("policy rate(client.ip) > 3 per minute: the 4th RCPT is deferred",
               all(r.startswith("250") for r in replies[:3]) and all(r == "451 4.7.1 Slow down" for r in replies[3:]),
               replies)
        c.close()


def shutdown(postern, posternd, config):
    with Posternd(postern, posternd, config) as d:
        idle, busy = d.connect(), d.connect()
        idle.reply()
        idle.command("EHLO idle")
        busy.envelope("busy", "a@elsewhere.example", ["joe@test.example"])
        busy.send(b"Subject: during shutdown\r\n\r\nfirst half\r\n")
        time.sleep(0.2)
        d.process.send_signal(signal.SIGTERM)
        r = idle.reply()
        expect("SIGTERM: an idle session gets 421 4.3.2", r.startswith("421 4.3.2"), r)
        busy.send(b"second half\r\n.\r\n")
        r = busy.reply()
        expect("SIGTERM: the transaction in progress completes with 250", r.startswith("250 2.0.0 Ok: queued as"), r)
        r2 = busy.command("MAIL FROM:<a@elsewhere.example>")
        expect("... and the next command gets 421", r2.startswith("421 4.3.2"), r2)
        code = d.process.wait(30)
        expect("posternd exits 0 after the drain", code == 0, code)
        if r.startswith("250"):
            expect("the message is in the queue", os.path.exists(os.path.join(d.queue, "incoming", r.split()[-1])))


def maillog_file(postern, posternd, config):
    """maillog_file and syslog_name as Postfix has them; SIGHUP opens the
    file again (logrotate moves it first)."""
    root = tempfile.mkdtemp(prefix="postern-maillog-")
    os.chmod(root, 0o777)  # the daemon reopens the file as nobody
    path = os.path.join(root, "mail.log")
    # With delivery on: the delivery process opens the file again too.
    with Posternd(postern, posternd, config, "maillog_file = %s\nsyslog_name = postfix-edge\n" % path,
                  log_to_stderr=False, deliver=True) as d:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("a@elsewhere.example", ["joe@test.example"], b"Subject: one\r\n\r\nx\r\n")
        first = wait_for_text(path, "postfix-edge/smtpd[")
        expect("maillog_file gets the lines, named after syslog_name",
               "postfix-edge/smtpd[" in first and "postfix-edge/posternd[" in first and "postern/" not in first, first)
        os.rename(path, path + ".1")
        os.chmod(root, 0o777)
        d.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
            s.sendmail("a@elsewhere.example", ["joe@test.example"], b"Subject: two\r\n\r\nx\r\n")
        second = wait_for_text(path, "postfix-edge/qmgr[")
        expect("the delivery process writes to the new file too", "postfix-edge/qmgr[" in second, second)
        expect("after SIGHUP a new file is written, the old one keeps what it had",
               "postfix-edge/smtpd[" in second and second.count(": client=") == 1
               and open(path + ".1").read().count(": client=") == 1, (second, open(path + ".1").read()))
    shutil.rmtree(root, ignore_errors=True)


def wait_for_text(path, text, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            content = open(path).read()
            if text in content:
                return content
        except OSError:
            pass
        time.sleep(0.1)
    try:
        return open(path).read()
    except OSError:
        return ""


def status(postern, d):
    r = subprocess.run([postern, "status", "-q", d.queue], capture_output=True, text=True)
    expect("postern status names the active image", r.returncode == 0 and ("image " + d.image) in r.stdout, r.stdout + r.stderr)


def main():
    args = arguments()
    postern, posternd = args.postern, args.posternd
    config = os.path.join(args.source, "tests/integration/configs/daemon")
    with tempfile.TemporaryDirectory() as certs:
        os.chmod(certs, 0o755)
        tls = tls_settings(certs)
        with Posternd(postern, posternd, config, tls) as d:
            for step in (basic, xclient, lambda x: swaks(x, certs), starttls_injection, smtp_source, smuggling, bdat,
                         sequence_and_limits):
                step(d)
            status(postern, d)
        tls_protocols(postern, posternd, config, tls)
    bare_newline_refused(postern, posternd, config)
    connection_limit(postern, posternd, config)
    connection_rate_limit(postern, posternd, config)
    message_and_recipient_rate_limits(postern, posternd, config)
    rate_limit(postern, posternd, config)
    shutdown(postern, posternd, config)
    maillog_file(postern, posternd, config)

    return report(results)


if __name__ == "__main__":
    sys.exit(main())
