#!/usr/bin/env python3
"""Postern as a system service: `cmake --install` into a scratch prefix
puts the programs, their man pages, the systemd unit, the logrotate file,
the docs and the examples where they belong, and the installed postern
checks an installed example; the man pages render without a warning; `systemd-analyze verify` accepts the unit (no warning either);
posternd speaks systemd's notify protocol (READY=1 once it serves,
RELOADING=1 then READY=1 around a reload, WATCHDOG=1 while its main loop
turns, STOPPING=1 at shutdown) and reopens its log on SIGUSR1 without
reloading; `postern status --json` answers, and fails once it is down."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd  # noqa: E402
from smtpd_services_differential import finish  # noqa: E402


def install(build, prefix):
    r = subprocess.run(["cmake", "--install", build, "--prefix", prefix], capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def check_layout(prefix):
    expected = ["bin/postern", "sbin/posternd", "lib/systemd/system/posternd.service", "etc/logrotate.d/postern",
                "share/doc/postern/README.md", "share/doc/postern/posternd.md",
                "share/doc/postern/examples/office/main.cf", "share/man/man1/postern.1", "share/man/man8/posternd.8"]
    missing = [p for p in expected if not os.path.isfile(os.path.join(prefix, p))]
    executable = all(os.access(os.path.join(prefix, p), os.X_OK) for p in ("bin/postern", "sbin/posternd"))
    return not missing and executable, f"missing: {missing}, executable: {executable}"


def verify_unit(prefix):
    """systemd-analyze verify of the installed unit, its programs' paths
    moved to the scratch prefix (it checks that they exist)."""
    unit = open(os.path.join(prefix, "lib/systemd/system/posternd.service")).read()
    for program in ("bin/postern", "sbin/posternd"):
        for line in unit.splitlines():
            if line.startswith(("ExecStart", "ExecReload")) and program in line:
                path = line.split("=", 1)[1].split()[0]
                unit = unit.replace(path, os.path.join(prefix, program))
    copy = os.path.join(prefix, "posternd.service")
    with open(copy, "w") as f:
        f.write(unit)
    r = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True)
    return r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(), r.stdout + r.stderr


class NotifyListener:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o777)  # posternd drops its privileges, but notifies as root first too
        self.sock.settimeout(0.2)
        self.messages = []

    def wait_for(self, word, since=0, timeout=15):
        """Whether a message with `word` came (from message `since` on)."""
        deadline = time.time() + timeout
        while True:
            if any(word in m for m in self.messages[since:]):
                return True
            if time.time() >= deadline:
                return False
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass


def main():
    parser = argparse.ArgumentParser()
    for option in ("--postern", "--posternd", "--source", "--build"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    args.postern, args.posternd = os.path.abspath(args.postern), os.path.abspath(args.posternd)
    root = tempfile.mkdtemp(prefix="postern-service-")
    os.chmod(root, 0o755)
    prefix = os.path.join(root, "prefix")
    results = []
    ok, output = install(args.build, prefix)
    results.append(("cmake --install into a scratch prefix", ok, output[-2000:]))
    if ok:
        results.append(("the programs, unit, logrotate file, docs and examples are installed",
                        *check_layout(prefix)))
        example = os.path.join(prefix, "share/doc/postern/examples/office")
        check = subprocess.run([os.path.join(prefix, "bin/postern"), "check", "-c", example],
                               capture_output=True, text=True)
        results.append(("the installed postern checks the installed example", check.returncode == 0,
                        check.stdout + check.stderr))
        if shutil.which("groff"):
            pages = [os.path.join(prefix, "share/man", p) for p in ("man1/postern.1", "man8/posternd.8")]
            lint = [subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", p], capture_output=True, text=True,
                                   env=dict(os.environ, LC_ALL="C.UTF-8")) for p in pages]
            text = open(pages[0]).read()
            results.append(("the man pages render without a warning and document every postern command",
                            all(r.returncode == 0 and not r.stderr for r in lint)
                            and all(f'.SS "postern {c}"' in text for c in ("check", "compile", "verify", "queue list")),
                            "".join(r.stderr for r in lint)))
        if shutil.which("systemd-analyze"):
            results.append(("systemd-analyze verify accepts the unit, without a warning", *verify_unit(prefix)))
        else:
            print("(systemd-analyze is not installed: the unit is not verified)")

    listener = NotifyListener(root)
    os.environ["NOTIFY_SOCKET"] = listener.path
    os.environ["WATCHDOG_USEC"] = "400000"
    config = os.path.join(args.source, "tests", "integration", "configs", "daemon")
    logs = os.path.join(root, "log")
    os.makedirs(logs)
    os.chmod(logs, 0o777)  # posternd opens its log again as the user it runs as
    try:
        with Posternd(args.postern, args.posternd, config, log_to_stderr=False,
                      extra=f"maillog_file = {logs}/maillog\n") as d:
            ready = listener.wait_for("READY=1")
            results.append(("READY=1 once posternd serves, with its image",
                            ready and any("STATUS=serving image " + d.image in m for m in listener.messages),
                            listener.messages))
            watchdog_seen = sum("WATCHDOG=1" in m for m in listener.messages)
            time.sleep(1.0)
            listener.wait_for("never", timeout=0.5)
            results.append(("WATCHDOG=1 while the main loop turns (every 200 ms for a 400 ms watchdog)",
                            sum("WATCHDOG=1" in m for m in listener.messages) - watchdog_seen >= 3,
                            listener.messages))
            # Nobody reads the notify socket for a while (its queue fills):
            # posternd goes on serving.
            time.sleep(3)
            started = time.time()
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
                greeting = s.recv(512)
                s.sendall(b"QUIT\r\n")
            waited = time.time() - started
            results.append(("a notify socket nobody reads never stalls posternd",
                            greeting.startswith(b"220") and waited < 5, f"{greeting!r} after {waited:.1f} s"))
            before = len(listener.messages)
            d.process.send_signal(signal.SIGHUP)
            reloaded = listener.wait_for("RELOADING=1", since=before) and listener.wait_for("READY=1", since=before)
            after = [m for m in listener.messages[before:] if "WATCHDOG" not in m]
            results.append(("RELOADING=1, then READY=1 around a reload (SIGHUP)",
                            reloaded and len(after) >= 2 and "RELOADING=1" in after[0] and "READY=1" in after[-1],
                            after))
            log = os.path.join(logs, "maillog")
            os.rename(log, log + ".1")
            d.process.send_signal(signal.SIGUSR1)
            deadline = time.time() + 10
            while not os.path.exists(log) and time.time() < deadline:
                time.sleep(0.05)
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as s:
                s.recv(512)
                s.sendall(b"QUIT\r\n")
                s.recv(512)
            time.sleep(0.5)
            reloads = sum("RELOADING=1" in m for m in listener.messages)
            results.append(("SIGUSR1 reopens the log file (logrotate), without a reload",
                            os.path.exists(log) and os.path.getsize(log) > 0 and reloads == 1,
                            f"reopened: {os.path.exists(log)}, reloads: {reloads}"))
            status = subprocess.run([args.postern, "status", "-q", d.queue, "--json"], capture_output=True, text=True)
            try:
                answer = json.loads(status.stdout)
            except ValueError:
                answer = {}
            results.append(("postern status --json: posternd's answer as one JSON object",
                            status.returncode == 0 and answer.get("image") == d.image and "connections" in answer,
                            status.stdout + status.stderr))
            d.stop()
            results.append(("STOPPING=1 at shutdown", listener.wait_for("STOPPING=1"), listener.messages[-5:]))
            down = subprocess.run([args.postern, "status", "-q", d.queue], capture_output=True, text=True)
            results.append(("postern status exits non-zero when posternd is down (a health check)",
                            down.returncode == 2 and "cannot reach posternd" in down.stderr, down.stderr))
    finally:
        del os.environ["NOTIFY_SOCKET"]
        del os.environ["WATCHDOG_USEC"]
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
