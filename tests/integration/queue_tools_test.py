#!/usr/bin/env python3
"""postern queue on what posternd stored: list (mailq layout and -j JSON),
show (envelope and content), hold / release / delete by id and ALL, a
damaged file reported, never shown as a message, and impact: what a new
configuration would do to the queued recipients."""
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, free_port  # noqa: E402


def main():
    args = arguments()
    config = os.path.join(args.source, "tests/integration/configs/daemon")
    results = []

    def expect(name, condition, detail=""):
        results.append((name, bool(condition), detail))

    with Posternd(args.postern, args.posternd, config) as d:
        def queue(*argv):
            return subprocess.run([args.postern, "queue", "-q", d.queue, *argv], capture_output=True, text=True)

        ids = []
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
            s.ehlo("queue.test")
            for n, rcpts in enumerate([["joe@test.example"], ["joe@test.example", "ann@test.example"], ["ann@test.example"]]):
                s.mail("sender%d@elsewhere.example" % n)
                for r in rcpts:
                    s.rcpt(r)
                code, reply = s.data(b"Subject: queue tools %d\r\n\r\nbody %d\r\n" % (n, n))
                ids.append(reply.decode().split()[-1])
        # One daemon per queue: a second one on it is refused before it binds
        # or touches the first one's control socket.
        second = subprocess.run([args.posternd, "-i", d.images, "-q", d.queue, "--listen", "127.0.0.1:%d" % free_port(),
                                 "--no-delivery", "--users", d.users, "--user", "nobody"],
                                capture_output=True, text=True, timeout=30)
        status = subprocess.run([args.postern, "status", "-q", d.queue], capture_output=True, text=True)
        expect("a second posternd on the same queue is refused, the first keeps its control socket",
               second.returncode != 0 and "in use by another posternd (pid %d)" % d.process.pid in second.stderr
               and status.returncode == 0 and d.image in status.stdout, second.stderr + status.stdout + status.stderr)
        # impact: ann becomes an alias of joe. With a users file without joe
        # (on both sides: the machine's users do not change with the
        # configuration), ann's mail now bounces; joe's bounced already.
        with tempfile.TemporaryDirectory() as tmp:
            changed = os.path.join(tmp, "daemon")
            shutil.copytree(config, changed)
            with open(os.path.join(changed, "aliases"), "a") as f:
                f.write("ann: joe\n")
            with open(os.path.join(changed, "users"), "w") as f:
                f.write("ann:x:1001:1001:Ann:/home/ann:/bin/sh\n")
            r = queue("impact", changed, "--users", os.path.join(changed, "users"), "-j")
            report = json.loads(r.stdout) if r.returncode in (0, 1) else {}
            moved = sorted((c["queue_id"], c["recipient"], c["bounces"]) for c in report.get("changes", []))
            expect("impact: against the image posternd serves, each queued recipient whose route changes",
                   r.returncode == 1 and report["old"] == d.image and report["messages"] == 3
                   and report["open_recipients"] == 4
                   and moved == sorted([(ids[1], "ann@test.example", True), (ids[2], "ann@test.example", True)]),
                   r.stdout + r.stderr)
            r = queue("impact", changed, "--users", d.users)
            expect("impact: text, an alias that now expands",
                   r.returncode == 1 and "ann@test.example\n" in r.stdout and "+ joe@test.example via local" in r.stdout
                   and "2 of 4 open recipients change, in 3 messages" in r.stdout, r.stdout + r.stderr)
            r = queue("impact", config, "--users", d.users)
            expect("impact: the same configuration changes nothing", r.returncode == 0 and "0 of 4" in r.stdout,
                   r.stdout + r.stderr)
            d.stop()  # the tools work on the directory; a stopped daemon is the simple case
            r = queue("impact", changed)
            expect("impact without a running posternd asks for --old",
                   r.returncode == 2 and "name its image with --old" in r.stderr, r.stderr)
            r = queue("impact", changed, "--old", d.images, "--users", d.users, "-j")
            expect("impact --old IMAGES", r.returncode == 1 and json.loads(r.stdout)["old"] == d.image, r.stdout + r.stderr)

        r = queue("list", "-j")
        entries = [json.loads(l) for l in r.stdout.splitlines()]
        r = queue("list")
        lines = r.stdout.splitlines()
        # Postfix counts the message with bare newlines; the queue file keeps
        # the CRLFs that came in.
        sizes = {}
        for e in entries:
            sizes[e["queue_id"]] = e["message_size"]
        total_kbytes = sum(sizes.values()) // 1024
        expect("list: mailq header, each message with its recipients, a summary",
               r.returncode == 0 and lines[0].startswith(("-Queue ID-", "----Queue ID-----"))
               and all(i in r.stdout for i in ids)
               and "ann@test.example" in r.stdout and lines[-1] == "-- %d Kbytes in 3 Requests." % total_kbytes
               and lines[-2] == "", r.stdout)
        first = lines[1].split()
        shown = queue("show", first[0]).stdout
        content = shown.split(" ***\n", 2)[-1].rsplit("*** END OF MESSAGE ***", 1)[0]
        expect("list: the size column is Postfix's message size (the content with bare newlines)",
               int(first[1]) == sizes[first[0]] == len(content.encode()), (lines[1], len(content.encode())))
        # Postfix's columns: the long format (ids over 10 characters) puts
        # recipients after 17+8+19 characters and three spaces.
        indent = 47 if lines[0].startswith("----Queue ID-----") else 41
        expect("list: recipients in Postfix's column", " " * indent + "joe@test.example" in lines, r.stdout)
        r = subprocess.run([args.postern, "queue", "-q", d.queue + "/incoming", "list"], capture_output=True, text=True)
        expect("a directory that is not a queue is an error, not an empty queue",
               r.returncode == 2 and "not a posternd queue" in r.stderr, r.stdout + r.stderr)
        expect("list -j: one JSON object per message", [e["queue_id"] for e in entries] == ids
               and entries[1]["recipients"] == [{"address": "joe@test.example", "state": "pending"},
                                                {"address": "ann@test.example", "state": "pending"}]
               and entries[0]["sender"] == "sender0@elsewhere.example" and entries[0]["image"] == d.image, entries)
        r = queue("show", ids[1])
        expect("show: envelope and content", r.returncode == 0 and "sender: sender1@elsewhere.example" in r.stdout
               and "recipient: ann@test.example (pending" in r.stdout and "Subject: queue tools 1\n" in r.stdout
               and "\n\nbody" in r.stdout
               and r.stdout.endswith("*** END OF MESSAGE ***\n"), r.stdout)
        r = queue("hold", ids[0])
        listed = queue("list").stdout
        expect("hold: the message moves to hold, mailq marks it !", r.returncode == 0
               and os.path.exists(os.path.join(d.queue, "hold", ids[0])) and (ids[0] + "!") in listed, listed)
        r = queue("release", "ALL")
        expect("release ALL", r.returncode == 0 and "Released from hold: 1 message" in r.stderr
               and os.path.exists(os.path.join(d.queue, "incoming", ids[0])), r.stderr)
        r = queue("delete", "NOSUCHID")
        expect("an unknown id exits 1", r.returncode == 1 and "no such message" in r.stderr, r.stderr)
        with open(os.path.join(d.queue, "incoming", ids[2]), "r+b") as f:
            f.seek(40)
            f.write(b"X")
        r = queue("list", "-j")
        damaged = [json.loads(l) for l in r.stdout.splitlines() if ids[2] in l]
        expect("a damaged file is reported as such", damaged and "checksum mismatch" in damaged[0].get("error", ""), r.stdout)
        r = queue("delete", ids[1])
        expect("delete by id", r.returncode == 0 and not os.path.exists(os.path.join(d.queue, "incoming", ids[1])))
        r = queue("delete", "ALL", "deferred")
        expect("delete ALL deferred leaves the other queues alone",
               r.returncode == 0 and "Deleted: 0 messages" in r.stderr and ids[0] in queue("list").stdout, r.stderr)
        r = queue("delete", "ALL", "nosuchqueue")
        expect("ALL with an unknown queue name exits 2", r.returncode == 2, r.stderr)
        r = queue("delete", "ALL")
        expect("delete ALL empties the queue", r.returncode == 0 and queue("list").stdout == "Mail queue is empty\n")

    for name, ok, detail in results:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + str(detail)[:2000]))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
