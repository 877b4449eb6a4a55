#!/usr/bin/env python3
"""Nothing accepted is lost, across crashes and queue commands. Clients
send messages with unique Message-IDs to posternd, which relays them to
Postfix's smtp-sink; meanwhile posternd is killed with SIGKILL at random
moments and started again on the same queue, many times, and an admin
holds, releases and deletes queued messages with `postern queue`.
Afterwards every message that got a 250 and was not deleted must have
reached smtp-sink, and the queue must be empty (a deleted message never
comes back; a held one, released, is delivered); copies that arrived more
than once (a crash between delivery and removal) are counted and reported
as a figure, since SMTP allows them and Postfix has them too."""
import collections
import os
import random
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from delivery_test import Setup, wait_for  # noqa: E402
from peers import SmtpSink  # noqa: E402
from posternd import arguments, free_port, read_queue_file  # noqa: E402


def sender(port_of, worker, count, acked, stop):
    """Sends `count` messages, one session each, retrying refused
    connections; records the Message-IDs that got 250."""
    sent = 0
    while sent < count and not stop.is_set():
        mid = "crash-%d-%d@test" % (worker, sent)
        body = ("Subject: crash %d\r\nMessage-ID: <%s>\r\nFrom: joe@test.example\r\n\r\n" % (sent, mid)
                + "line of text\r\n" * random.randint(1, 200))
        try:
            with smtplib.SMTP("127.0.0.1", port_of(), timeout=10) as s:
                s.sendmail("joe@test.example", ["c%d@sink.example" % worker], body.encode())
            acked.append(mid)
            sent += 1
        except (OSError, smtplib.SMTPException):
            time.sleep(0.05)  # killed mid-session: this message was not acknowledged; send it again


def admin(postern, queue, deleted, stop):
    """Holds and releases queued messages, and deletes some, while mail
    flows; records the Message-IDs of what it deleted."""
    tool = [postern, "queue", "-q", queue]
    while not stop.is_set():
        time.sleep(random.uniform(0.05, 0.3))
        names = [n for q in ("incoming", "deferred") for n in os.listdir(os.path.join(queue, q))
                 if not n.startswith(".")]
        if not names:
            continue
        qid = random.choice(names)
        if random.random() < 0.2:
            try:
                content = read_queue_file(os.path.join(queue, "incoming", qid))["content"]
            except (OSError, ValueError):
                continue  # moved on meanwhile
            found = re.search(rb"^Message-ID: <([^>]+)>", content, re.M | re.I)
            if found and subprocess.run(tool + ["delete", qid], capture_output=True).returncode == 0:
                deleted.add(found.group(1).decode())
            continue
        if subprocess.run(tool + ["hold", qid], capture_output=True).returncode == 0:
            time.sleep(random.uniform(0, 0.2))
            for _ in range(20):  # (a release that fails is retried; one never released fails the test)
                if subprocess.run(tool + ["release", qid], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)


def main():
    args = arguments()
    if subprocess.run(["sh", "-c", "command -v smtp-sink"], capture_output=True).returncode != 0:
        print("skipped: smtp-sink is not installed")
        return 77
    kills = int(os.environ.get("POSTERN_CRASH_KILLS", "12"))
    per_worker = int(os.environ.get("POSTERN_CRASH_MESSAGES", "150"))
    workers = 4
    random.seed(int(os.environ.get("POSTERN_CRASH_SEED", str(int(time.time())))))
    failures = []
    with SmtpSink() as sink:
        ports = {"SINK": sink.port, "SECOND": free_port(), "DOWN": free_port(), "TEMPFAIL": free_port(),
                 "LMTP": "/nonexistent", "TLS": free_port()}
        with Setup(args, ports) as s:
            d = s.d
            acked, stop, deleted = [], threading.Event(), set()
            threads = [threading.Thread(target=sender, args=(lambda: d.port, w, per_worker, acked, stop))
                       for w in range(workers)]
            for t in threads:
                t.start()
            admin_stop = threading.Event()
            admin_thread = threading.Thread(target=admin, args=(args.postern, d.queue, deleted, admin_stop))
            admin_thread.start()
            for k in range(kills):
                time.sleep(random.uniform(0.1, 0.8))
                d.stop(sig=signal.SIGKILL)
                d.start()
            for t in threads:
                t.join(300)
            stop.set()
            admin_stop.set()
            admin_thread.join(60)
            drained = wait_for(s.queue_empty, timeout=60)
            delivered = collections.Counter()
            for m in sink.messages():
                found = re.search(r"^Message-ID: <([^>]+)>", m, re.M | re.I)
                if found:
                    delivered[found.group(1)] += 1
            missing = [mid for mid in acked if delivered[mid] == 0 and mid not in deleted]
            duplicates = sum(c - 1 for c in delivered.values() if c > 1)
            extra = [mid for mid in delivered if mid not in set(acked)]
            print("kills=%d acknowledged=%d deleted-by-admin=%d delivered=%d distinct=%d missing=%d duplicates=%d "
                  "delivered-but-not-acknowledged=%d left-in-queue=%d corrupt=%d" % (
                      kills, len(acked), len(deleted), sum(delivered.values()), len(delivered), len(missing),
                      duplicates,
                      len(extra), len(d.queued("incoming")) + len(d.queued("deferred")), len(d.queued("corrupt"))))
            if len(acked) != workers * per_worker:
                failures.append("only %d of %d messages were acknowledged" % (len(acked), workers * per_worker))
            if missing:
                failures.append("acknowledged but never delivered: %s" % missing[:20])
            if not drained:
                failures.append("messages left in the queue: %s" % (d.queued("incoming") + d.queued("deferred")))
            if d.queued("hold"):
                failures.append("messages left on hold (released by the admin): %s" % d.queued("hold"))
            if d.queued("corrupt"):
                failures.append("files in the corrupt queue: %s" % d.queued("corrupt"))
            if failures:
                print(d.log_text()[-4000:])
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
