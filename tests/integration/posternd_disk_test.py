#!/usr/bin/env python3
"""A full disk: the queue lives on a 2 MiB tmpfs; clients keep sending
messages of 65 KiB (written by the queue writer) and 300 KiB (streamed
into their files while received) until the filesystem is full. Replies must turn into 452
4.3.1 (never 250 for a message that was not stored), every message that
got a 250 must be in the queue intact, no temporary file may be left, and
once space is freed the daemon accepts mail again. Needs root (mount);
skips itself (77) otherwise."""
import os
import smtplib
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, read_queue_file  # noqa: E402

SKIP = 77


def main():
    args = arguments()
    if os.geteuid() != 0:
        print("skipped: mounting a small filesystem needs root")
        return SKIP
    config = os.path.join(args.source, "tests/integration/configs/daemon")
    mount_point = tempfile.mkdtemp(prefix="posternd-disk-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mount_point], capture_output=True, text=True)
    if r.returncode != 0:
        print("skipped: cannot mount a tmpfs: " + r.stderr.strip())
        os.rmdir(mount_point)
        return SKIP
    checks = []
    try:
        queue = os.path.join(mount_point, "queue")
        with Posternd(args.postern, args.posternd, config, "message_size_limit = 400000\n", queue=queue) as d:
            # Complete headers, so that what is stored ends with what was sent
            # (cleanup adds a missing From:, Date: or Message-Id: for this client).
            complete = b"From: <a@test>\r\nDate: Mon, 7 Dec 2026 00:00:00 +0000\r\nMessage-ID: <filler@test>\r\n"
            body = complete + b"Subject: filler\r\n\r\n" + (b"x" * 76 + b"\r\n") * 840  # 65 KiB
            large = complete + b"Subject: large filler\r\n\r\n" + (b"y" * 76 + b"\r\n") * 3900  # 300 KiB
            acknowledged, refusals, other, sent = [], [], [], {}
            s = smtplib.SMTP("127.0.0.1", d.port, timeout=30)
            s.ehlo("filler")
            for i in range(100):
                s.mail("a@elsewhere.example")
                s.rcpt("joe@test.example")
                content = large if i % 3 == 2 else body
                code, reply = s.data(content)
                if code == 250:
                    acknowledged.append(reply.decode().split()[-1])
                    sent[acknowledged[-1]] = content
                elif code == 452:
                    refusals.append(reply.decode())
                    if len(refusals) >= 3:
                        break
                else:
                    other.append((code, reply))
            noop = s.noop()
            s.quit()
            files = {p.name for p in d.queued()}
            intact = all(read_queue_file(os.path.join(queue, "incoming", q))["content"].endswith(sent[q])
                         for q in acknowledged)
            leftovers = [n for n in os.listdir(os.path.join(queue, "incoming")) if n.startswith(".tmp-")]
            checks += [
                ("the disk filled up: 452 4.3.1 Insufficient system storage",
                 refusals and all(r.startswith("4.3.1 Insufficient system storage") for r in refusals), refusals + other),
                ("no other failure", not other, other),
                ("some messages were accepted before, small and large",
                 len(acknowledged) >= 6 and large in sent.values(), len(acknowledged)),
                ("every acknowledged message is in the queue", set(acknowledged) == files,
                 (len(acknowledged), len(files))),
                ("... intact (checksum and content)", intact),
                ("no temporary file is left behind", not leftovers, leftovers),
                ("the session goes on after 452", noop[0] == 250, noop),
                ("the log says why", "452 4.3.1 Insufficient system storage" in d.log_text()),
            ]
            for q in acknowledged[: len(acknowledged) // 2]:
                os.unlink(os.path.join(queue, "incoming", q))
            with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s2:
                s2.ehlo("after")
                s2.mail("a@elsewhere.example")
                s2.rcpt("joe@test.example")
                code, reply = s2.data(body)
            checks.append(("with space again, mail is accepted again", code == 250, (code, reply)))
    finally:
        subprocess.run(["umount", "-l", mount_point])
        os.rmdir(mount_point)
    for name, ok, *detail in checks:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + str(detail)))
    return 0 if all(c[1] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
