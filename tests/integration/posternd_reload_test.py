#!/usr/bin/env python3
"""Hot reload under load: clients send mail without pause while the
configuration is recompiled and published 100 times (each time a new
image, its generation number in the banner). No session may fail, and
every message must be accepted by exactly one image: the one whose banner
its session was greeted with (sessions pin their image), as its queue file
records."""
import argparse
import os
import re
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, read_queue_file  # noqa: E402

SWAPS = 100
CLIENTS = 4


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--posternd", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    config = os.path.join(args.source, "tests/integration/configs/daemon")
    failures, sent = [], []
    lock = threading.Lock()
    stop = threading.Event()
    with Posternd(os.path.abspath(args.postern), os.path.abspath(args.posternd), config,
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
        status = subprocess.run([os.path.abspath(args.postern), "status", "-q", d.queue], capture_output=True, text=True)
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
    for name, ok, detail in checks:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + str(detail)))
    print("%d messages, %d swaps, %d images seen by messages" % (len(sent), SWAPS, len(seen)))
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
