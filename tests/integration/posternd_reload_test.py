#!/usr/bin/env python3
"""Hot reload under load: clients send mail without pause while the
configuration is recompiled and published 100 times (each time a new
image, its generation number in the banner). No session may fail, and
every message must be accepted by exactly one image: the one whose banner
its session was greeted with (sessions pin their image), as its queue file
records."""
import os
import re
import shutil
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, read_queue_file  # noqa: E402

SWAPS = 100
CLIENTS = 4


def refuse_bad_image(d, good, postern):
    """An image whose bytes do not match its id is published: the daemon
    refuses it, says so, and keeps serving the image it had."""
    bad = os.path.join(d.images, "0" * 64)
    shutil.copytree(os.path.join(d.images, good), bad)
    with open(os.path.join(bad, "params.cdb"), "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    link = os.path.join(d.images, "current.tmp")
    os.symlink("0" * 64, link)
    os.rename(link, os.path.join(d.images, "current"))
    deadline = time.time() + 10
    while "reload (inotify) refused" not in d.log_text() and time.time() < deadline:
        time.sleep(0.05)
    status = subprocess.run([postern, "status", "-q", d.queue], capture_output=True, text=True)
    ok = True
    try:
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
            s.sendmail("a@elsewhere.example", ["joe@test.example"], b"Subject: after\r\n\r\nx\r\n")
    except (smtplib.SMTPException, OSError):
        ok = False
    return [
        ("a damaged image is refused and logged", "reload (inotify) refused" in d.log_text(),
         d.log_text()[-1500:]),
        ("... and the old image keeps serving", ("image " + good) in status.stdout and ok, status.stdout),
    ]


def main():
    args = arguments()
    config = os.path.join(args.source, "tests/integration/configs/daemon")
    failures, sent = [], []
    lock = threading.Lock()
    stop = threading.Event()
    with Posternd(args.postern, args.posternd, config,
                  "smtpd_banner = $myhostname ESMTP generation 0\n") as d:
        main_cf = os.path.join(d.config, "main.cf")
        base = open(main_cf).read()
        generations = {0: d.image}

        def client(n):
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    s = smtplib.SMTP(timeout=30)
                    code, banner = s.connect("127.0.0.1", d.port)
                    generation = int(re.search(rb"generation (\d+)", banner).group(1))
                    s.ehlo("reload-client")
                    for k in range(1 + i % 2):  # some sessions send two messages
                        s.mail("c%d@elsewhere.example" % n)
                        s.rcpt("joe@test.example")
                        code, reply = s.data(b"Subject: client %d message %d.%d\r\n\r\nbody\r\n" % (n, i, k))
                        if code != 250:
                            raise RuntimeError("DATA: %d %r" % (code, reply))
                        with lock:
                            sent.append((reply.decode().split()[-1], generation))
                    s.quit()
                except Exception as e:  # noqa: BLE001 - every failure is a test failure
                    with lock:
                        failures.append("client %d: %r" % (n, e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for g in range(1, SWAPS + 1):
            with open(main_cf, "w") as f:
                f.write(base.replace("generation 0", "generation %d" % g))
            generations[g] = d.compile()
            time.sleep(0.02)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        status = subprocess.run([args.postern, "status", "-q", d.queue], capture_output=True, text=True)
        log = d.log_text()

        wrong, seen = [], set()
        for qid, generation in sent:
            m = read_queue_file(os.path.join(d.queue, "incoming", qid))
            seen.add(m["image_id"])
            if m["image_id"] != generations[generation]:
                wrong.append((qid, generation, m["image_id"]))
        checks = [
            ("no session failed", not failures, failures[:5]),
            ("messages were sent throughout", len(sent) >= SWAPS, len(sent)),
            ("every message was accepted by the image its session started with", not wrong, wrong[:5]),
            ("messages were accepted by many images", len(seen) >= 10, len(seen)),
            ("the last image is active", ("image " + generations[SWAPS]) in status.stdout, status.stdout),
            ("no reload was refused", "refused" not in log, [l for l in log.splitlines() if "refused" in l][:3]),
            ("the queue holds exactly the acknowledged messages", len(d.queued()) == len(sent), (len(d.queued()), len(sent))),
        ]
        checks += refuse_bad_image(d, generations[SWAPS], args.postern)
    for name, ok, detail in checks:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + str(detail)))
    if not all(ok for _, ok, _ in checks):
        print("posternd's log ends:\n" + log[-6000:])
    print("%d messages, %d swaps, %d images seen by messages" % (len(sent), SWAPS, len(seen)))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
