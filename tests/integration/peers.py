"""The real peers tests talk to: Postfix's smtp-sink (an SMTP or LMTP
server that records every message it accepts, or refuses as told),
Debian's dnsmasq (a DNS server for a test zone on a loopback port) and
Dovecot (an authentication server only, for SMTP AUTH), policy servers
(postgrey, policyd-spf), Milter applications (a scripted pymilter) and
scripted SMTP servers (a content filter, mailbox servers)."""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
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


def _start_on_a_free_port(what, start):
    """A server started by `start(port)` (which returns its process) on a
    free loopback port, again on another one when some other process took
    the port first. Returns (process, port)."""
    for _ in range(5):
        port = free_port()
        process = start(port)
        if _wait_listening(process, lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close(), what):
            return process, port
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
    """dnsmasq answering for the zone `domain` (and the other `zones`) on
    a loopback port: `mx` is a list of (domain, host, preference), `hosts`
    of (name, address), `extra` more dnsmasq options (--txt-record=...).
    `address`/`port`: where it listens (port 53 on an address of its own
    serves a resolver that cannot be told a port: resolv.conf)."""

    def __init__(self, domain, mx=(), hosts=(), zones=(), extra=(), address="127.0.0.1", port=None):
        self.domain, self.mx, self.hosts = domain, list(mx), list(hosts)
        self.zones, self.extra, self.address, self.fixed_port = list(zones), list(extra), address, port
        self.process = None
        self.port = None

    def __enter__(self):
        for _ in range(5):
            self.port = self.fixed_port or free_port()
            argv = ["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                    "--no-hosts", "--pid-file=", "--bind-interfaces", "--listen-address=" + self.address,
                    "--port=%d" % self.port]
            argv += ["--local=/%s/" % z for z in [self.domain] + self.zones]
            argv += ["--mx-host=%s,%s,%d" % m for m in self.mx]
            argv += ["--host-record=%s,%s" % h for h in self.hosts]
            argv += self.extra
            if os.geteuid() == 0:
                argv += ["--user=nobody"]
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            if _wait_listening(self.process,
                               lambda: socket.create_connection((self.address, self.port), timeout=1).close(),
                               "dnsmasq"):
                return self
        raise RuntimeError("dnsmasq did not start")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    @property
    def server(self):
        return "%s:%d" % (self.address, self.port)


class Dovecot:
    """Debian's Dovecot as an authentication server only, under `root`:
    a passwd-file of `users` ({name: password}), PLAIN and LOGIN, the
    client socket at `socket` (mode 0666, for Postfix's smtpd too). Needs
    root. Use as a context manager; `available()` says whether Dovecot is
    installed."""

    BINARY = "/usr/sbin/dovecot"

    @staticmethod
    def available():
        return os.path.exists(Dovecot.BINARY) and os.geteuid() == 0

    def __init__(self, root, users):
        self.root = root
        os.makedirs(os.path.join(root, "run"), exist_ok=True)
        os.makedirs(os.path.join(root, "state"), exist_ok=True)
        os.chmod(root, 0o755)  # its auth process reads the users as nobody
        self.socket = os.path.join(root, "auth")
        self.conf = os.path.join(root, "dovecot.conf")
        with open(os.path.join(root, "users"), "w") as f:
            for name, password in users.items():
                f.write("%s:{PLAIN}%s\n" % (name, password))
        with open(self.conf, "w") as f:
            f.write(f"""protocols =
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_login_user = nobody
default_internal_user = nobody
default_internal_group = nogroup
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}
}}
service auth {{
  unix_listener auth-client {{
    path = {self.socket}
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
""")

    def __enter__(self):
        # It forks into the background: no pipes it would keep open.
        subprocess.run([self.BINARY, "-c", self.conf], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(self.socket):
            if time.time() > deadline:
                raise RuntimeError("dovecot did not start: " + self.log())
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        subprocess.run([self.BINARY, "-c", self.conf, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def log(self):
        try:
            return pathlib.Path(self.root, "dovecot.log").read_text(errors="replace")
        except OSError:
            return ""


class _ThreadedServer:
    """A TCP server on a loopback port in a thread of the test, each
    connection handled by `handle(socket)`; `port` once started."""

    def __init__(self, handle):
        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class PolicyRecorder:
    """A policy server (SMTPD_POLICY_README) on a loopback port, in a
    thread of the test: it records every request (a dict of its
    attributes) and answers `answer(request)` ("DUNNO" by default);
    connections are kept open, as Postfix keeps them."""

    def __init__(self, answer=None):
        self.answer = answer or (lambda request: "DUNNO")
        self.requests = []
        self.connections = 0
        self.server = None

    def _serve(self, connection):
        self.connections += 1
        request = {}
        for raw in connection.makefile("rb"):
            line = raw.decode(errors="replace").rstrip("\n")
            if line:
                name, _, value = line.partition("=")
                request[name] = value
                continue
            self.requests.append(request)
            connection.sendall(("action=%s\n\n" % self.answer(request)).encode())
            request = {}

    def __enter__(self):
        self.server = _ThreadedServer(self._serve)
        self.port = self.server.port
        return self

    def __exit__(self, *exc):
        self.server.close()


class Postgrey:
    """Debian's postgrey (a greylisting policy server) on a loopback port,
    its database under `root`, greylisting for `delay` seconds. Needs
    root; `available()` says whether postgrey is installed."""

    BINARY = "/usr/sbin/postgrey"

    @staticmethod
    def available():
        return os.path.exists(Postgrey.BINARY) and os.geteuid() == 0

    def __init__(self, root, delay=2):
        self.root, self.delay = root, delay
        self.process = None
        self.port = None

    def __enter__(self):
        os.makedirs(self.root, exist_ok=True)
        shutil.chown(self.root, "nobody", "nogroup")
        self.process, self.port = _start_on_a_free_port("postgrey", lambda port: subprocess.Popen(
            [self.BINARY, "--inet=127.0.0.1:%d" % port, "--dbdir=" + self.root, "--delay=%d" % self.delay,
             "--user=nobody", "--group=nogroup"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class SpfPolicyServer:
    """Debian's postfix-policyd-spf-python on a loopback port: each
    connection gets a policyd-spf process (it speaks the policy protocol on
    its standard input and output, as spawn(8) runs it), with `config` and,
    in a mount namespace of its own, `resolv_conf` for /etc/resolv.conf.
    `available()` says whether it is installed and namespaces work."""

    BINARY = "/usr/bin/policyd-spf"

    @staticmethod
    def available():
        if not os.path.exists(SpfPolicyServer.BINARY) or os.geteuid() != 0:
            return False
        return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0

    def __init__(self, config, resolv_conf):
        self.config, self.resolv_conf = config, resolv_conf
        self.server = None

    def __enter__(self):
        argv = ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$1" "$2"',
                self.resolv_conf, self.BINARY, self.config]
        self.server = _ThreadedServer(lambda connection: subprocess.run(
            argv, stdin=connection.fileno(), stdout=connection.fileno(), stderr=subprocess.DEVNULL))
        self.port = self.server.port
        return self

    def __exit__(self, *exc):
        self.server.close()


class ScriptedMilter:
    """tests/integration/milters/scripted_milter.py (Debian's python3-milter)
    on a loopback port, recording the events it is sent in `log` (a JSON
    line each) and acting as each message tells it; `connect` is what it
    answers to the connect event. `available()` says whether pymilter is
    installed for /usr/bin/python3."""

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "milters", "scripted_milter.py")

    @staticmethod
    def available():
        return subprocess.run(["/usr/bin/python3", "-c", "import Milter"], capture_output=True).returncode == 0

    def __init__(self, log, connect="continue"):
        self.log, self.connect = log, connect
        self.process = None
        self.port = None

    def __enter__(self):
        self.process, self.port = _start_on_a_free_port("the scripted milter", lambda port: subprocess.Popen(
            ["/usr/bin/python3", self.SCRIPT, str(port), self.log, "--connect", self.connect],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def events(self):
        """The events recorded so far, as dicts."""
        if not os.path.exists(self.log):
            return []
        return [json.loads(line) for line in open(self.log) if line.strip()]

    def forget(self):
        open(self.log, "w").close()

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class OpenDkim:
    """Debian's OpenDKIM signing for `domain` (selector `selector`, a key
    opendkim-genkey makes under `root`) on a loopback port, for mail from
    127.0.0.1 (`mode` "v": verifying instead). `public_record()` is the TXT
    record to verify with. `available()` says whether opendkim and
    opendkim-genkey are installed."""

    @staticmethod
    def available():
        return shutil.which("opendkim") is not None and shutil.which("opendkim-genkey") is not None

    def __init__(self, root, domain="example.com", selector="test", mode="s"):
        self.root, self.domain, self.selector, self.mode = root, domain, selector, mode
        self.process = None
        self.port = None

    def __enter__(self):
        os.makedirs(self.root, exist_ok=True)
        subprocess.run(["opendkim-genkey", "-b", "2048", "-d", self.domain, "-s", self.selector, "-D", self.root],
                       check=True, capture_output=True)
        key = os.path.join(self.root, self.selector + ".private")
        if os.geteuid() == 0:
            shutil.chown(self.root, "opendkim", "opendkim")
            shutil.chown(key, "opendkim", "opendkim")
        config = os.path.join(self.root, "opendkim.conf")

        def start(port):
            with open(config, "w") as f:
                f.write(f"Syslog no\nMode {self.mode}\nDomain {self.domain}\nSelector {self.selector}\nKeyFile {key}\n"
                        f"Socket inet:{port}@127.0.0.1\nCanonicalization relaxed/simple\n"
                        f"InternalHosts 127.0.0.1\nBackground no\nPidFile {self.root}/opendkim.pid\n"
                        # The test directory is under /tmp, which others may write.
                        "RequireSafeKeys false\n"
                        + ("UserID opendkim:opendkim\n" if os.geteuid() == 0 else ""))
            return subprocess.Popen(["opendkim", "-f", "-x", config], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        self.process, self.port = _start_on_a_free_port("opendkim", start)
        return self

    def public_record(self):
        """The p= record's text, its quoted pieces joined."""
        text = open(os.path.join(self.root, self.selector + ".txt")).read()
        return "".join(re.findall(r'"([^"]*)"', text))

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class SilentServer:
    """A server on a loopback port that accepts connections and reads what
    it is sent, and never answers: a hung Milter or policy server."""

    def __enter__(self):
        def swallow(connection):
            while connection.recv(4096):
                pass
        self.server = _ThreadedServer(swallow)
        self.port = self.server.port
        return self

    def __exit__(self, *exc):
        self.server.close()


class _ScriptedSmtpServer:
    """An SMTP (or LMTP, `lmtp=True`) server on a loopback port whose
    answers subclasses decide: `rcpt(address)` the reply to RCPT TO,
    `data(sender, recipients, lines)` the reply to the final dot (one per
    recipient under LMTP). `transactions`: [sender, recipients accepted,
    whether DATA came] per MAIL FROM, in order."""

    name = "scripted.test"

    def __init__(self, lmtp=False):
        self.lmtp = lmtp
        self.transactions = []
        self.lock = threading.Lock()

    def rcpt(self, address):
        return "250 2.1.5 Ok"

    def data(self, sender, recipients, lines):
        return "250 2.0.0 Ok"

    def _serve(self, connection):
        f = connection.makefile("rb")

        def say(text):
            connection.sendall(text.encode() + b"\r\n")

        def address_of(command):
            return command.split(":", 1)[1].strip().split(" ")[0].strip("<>")

        say(f"220 {self.name} " + ("LMTP" if self.lmtp else "ESMTP"))
        transaction = None
        while True:
            line = f.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            verb = command.split(" ")[0].upper()
            if verb in ("EHLO", "LHLO"):
                say(f"250-{self.name}\r\n250 PIPELINING")
            elif verb == "HELO":
                say(f"250 {self.name}")
            elif verb == "MAIL":
                transaction = [address_of(command), [], False]
                with self.lock:
                    self.transactions.append(transaction)
                say("250 2.1.0 Ok")
            elif verb == "RCPT" and transaction is not None:
                reply = self.rcpt(address_of(command))
                if reply.startswith("250"):
                    transaction[1].append(address_of(command))
                say(reply)
            elif verb == "DATA" and transaction is not None and transaction[1]:
                say("354 go ahead")
                lines = []
                while True:
                    data = f.readline()
                    if not data or data == b".\r\n":
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                transaction[2] = True
                reply = self.data(transaction[0], list(transaction[1]), lines)
                for _ in transaction[1] if self.lmtp else [None]:
                    say(reply)
                transaction = None
            elif verb in ("RSET", "NOOP"):
                transaction = None if verb == "RSET" else transaction
                say("250 2.0.0 Ok")
            elif verb == "QUIT":
                say("221 2.0.0 Bye")
                return
            else:
                say("503 5.5.1 Error: bad sequence of commands")

    def __enter__(self):
        self.server = _ThreadedServer(self._serve)
        self.port = self.server.port
        return self

    def __exit__(self, *exc):
        self.server.close()


class ContentFilter(_ScriptedSmtpServer):
    """An after-queue content filter as FILTER_README describes one: an SMTP
    server on a loopback port that records each message's envelope, puts
    `header` on top of it and hands it back, same envelope, to the
    reinjection service on 127.0.0.1:`reinject_port`; it answers what the
    reinjection answered. `received`: (sender, recipients) per message."""

    name = "filter.test"

    def __init__(self, reinject_port, header="X-Content-Filter: scanned by the test filter"):
        super().__init__()
        self.reinject_port, self.header = reinject_port, header
        self.received = []

    def data(self, sender, recipients, lines):
        import smtplib
        with self.lock:
            self.received.append((sender, list(recipients)))
        try:
            with smtplib.SMTP("127.0.0.1", self.reinject_port, timeout=30) as s:
                s.sendmail(sender, recipients, self.header.encode() + b"\r\n" + b"".join(lines))
            return "250 2.0.0 Ok: re-injected"
        except (smtplib.SMTPException, OSError) as e:
            return "451 4.3.0 re-injection failed: " + str(e).replace("\r", " ").replace("\n", " ")[:200]


class MailboxServer(_ScriptedSmtpServer):
    """An internal mail server that knows its mailboxes, as a gateway's
    address verification asks one. RCPT TO a known address is 250 2.1.5;
    to local part `busy`, 450 4.2.1; to local part `slow`, the same 250
    after `slow_seconds`; to anything else, 550 5.1.1 User unknown."""

    name = "mailbox.test"

    def __init__(self, mailboxes, lmtp=False, slow_seconds=8):
        super().__init__(lmtp)
        self.mailboxes = {m.lower() for m in mailboxes}
        self.slow_seconds = slow_seconds

    def rcpt(self, address):
        local = address.split("@")[0].lower()
        if local == "busy":
            return f"450 4.2.1 <{address}>: mailbox busy"
        if local == "slow":
            time.sleep(self.slow_seconds)
            return "250 2.1.5 Ok"
        if address.lower() in self.mailboxes:
            return "250 2.1.5 Ok"
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
