"""The real peers delivery tests talk to: Postfix's smtp-sink (an SMTP or
LMTP server that records every message it accepts, or refuses as told) and
Debian's dnsmasq (a DNS server for a test zone on a loopback port)."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from posternd import free_port


def _wait_listening(process, connect, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        if process.poll() is not None:
            return False
        try:
            connect()
            return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(what + " did not start")


class SmtpSink:
    """smtp-sink on 127.0.0.1 (or a unix socket with `unix=True`), with
    `flags` ("-r", "RCPT" for 4xx to RCPT; "-L" for LMTP), dumping every
    message it accepts into its own directory. `port` keeps a given port
    (to bring a down host up)."""

    def __init__(self, flags=(), port=None, unix=False):
        self.dir = tempfile.mkdtemp(prefix="postern-sink-")
        os.chmod(self.dir, 0o777)
        self.flags = list(flags)
        self.unix = unix
        self.port = port
        self.path = os.path.join(self.dir, "lmtp.sock") if unix else None
        self.process = None

    def __enter__(self):
        for _ in range(5):  # another process may take a free port first
            if self.start():
                return self
            if not self.unix:
                self.port = free_port()
        raise RuntimeError("smtp-sink did not start")

    def start(self):
        if not self.unix and self.port is None:
            self.port = free_port()
        argv = ["smtp-sink"] + (["-u", "nobody"] if os.geteuid() == 0 else [])
        os.makedirs(os.path.join(self.dir, "mail"), exist_ok=True)
        os.chmod(os.path.join(self.dir, "mail"), 0o777)
        argv += ["-d", os.path.join(self.dir, "mail", "%M.")] + self.flags
        argv += ["unix:" + self.path if self.unix else "127.0.0.1:%d" % self.port, "50"]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        if self.unix:
            def connect():
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.path)
                s.close()
        else:
            def connect():
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        return _wait_listening(self.process, connect, "smtp-sink")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def messages(self):
        """Every message accepted so far, as text (smtp-sink's X-* envelope
        headers first), oldest first."""
        d = pathlib.Path(self.dir, "mail")
        files = sorted((p for p in d.rglob("*") if p.is_file()), key=lambda p: p.stat().st_mtime)
        return [p.read_text(errors="replace") for p in files]

    def recipients(self):
        """RCPT TO addresses of every accepted message, in one list."""
        out = []
        for m in self.messages():
            for line in m.splitlines():
                if line.startswith("X-Rcpt-Args: "):
                    out.append(line.split(":", 1)[1].strip().split()[0].strip("<>"))
                if not line.strip():
                    break
        return out


class Dnsmasq:
    """dnsmasq answering for the zone `domain` on a loopback port: `mx` is
    a list of (domain, host, preference), `hosts` of (name, address)."""

    def __init__(self, domain, mx=(), hosts=()):
        self.domain, self.mx, self.hosts = domain, list(mx), list(hosts)
        self.process = None
        self.port = None

    def __enter__(self):
        for _ in range(5):
            self.port = free_port()
            argv = ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                    "--no-hosts", "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1",
                    "--port=%d" % self.port, "--local=/%s/" % self.domain]
            argv += ["--mx-host=%s,%s,%d" % m for m in self.mx]
            argv += ["--host-record=%s,%s" % h for h in self.hosts]
            if os.geteuid() == 0:
                argv += ["--user=nobody"]
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            if _wait_listening(self.process,
                               lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close(),
                               "dnsmasq"):
                return self
        raise RuntimeError("dnsmasq did not start")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port
