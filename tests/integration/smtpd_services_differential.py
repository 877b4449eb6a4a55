#!/usr/bin/env python3
"""Every smtpd service of master.cf with its own -o overrides, against a
private Postfix 3.7 on the same configuration: examples/office with a
master.cf that runs smtp (main.cf's settings), submission (STARTTLS
required, HELO required, its own recipient restrictions), smtps (TLS from
the first byte, its own relay restrictions) and a content-filter
reinjection port (its own mynetworks, no unknown recipient checks by
receive_override_options, one session at a time). Each service's dialogues are replayed against both servers and
every reply's code and enhanced status code compared; then what only
posternd can be asked: its log names each service's syslog_name, and
`postern check` accepts the configuration (each service's open-relay proof).

Needs root and Debian's postfix package (exit 77 otherwise).
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postfix_instance import SKIP, PrivatePostfix, free_port, set_parameters, wait_for_port  # noqa: E402
from posternd import arguments, report, tls_settings  # noqa: E402
from smtp_dialogue_differential import code_of  # noqa: E402

# The unix services of Debian's master.cf, without chroot: what a private
# Postfix needs besides its smtpd services (the differential tests' own).
POSTFIX_UNIX_SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_helo_required=yes
  -o { smtpd_recipient_restrictions = reject_non_fqdn_recipient, permit_mynetworks, reject }
smtps     inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_relay_restrictions=permit_mynetworks,reject
reinject  inet  n       -       n       -       1       smtpd
  -o syslog_name=postfix/reinject
  -o mynetworks=127.0.0.0/8
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
  -o smtpd_recipient_restrictions=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks
""" + POSTFIX_UNIX_SERVICES

SERVICES = ("smtp", "submission", "smtps", "reinject")

OUTSIDE = ["MAIL FROM:<a@outside.example>", "RCPT TO:<someone@elsewhere.org>", "RCPT TO:<fred@example.com>",
           "RCPT TO:<nobody@example.com>", "RCPT TO:<fred>"]

# (service, how the client talks: plain, starttls or wrapped, lines)
DIALOGUES = {
    "smtp: relay and recipients": ("smtp", "plain", ["EHLO client.example"] + OUTSIDE),
    "smtp: no HELO needed": ("smtp", "plain", ["MAIL FROM:<a@outside.example>"]),
    "submission: STARTTLS first": ("submission", "plain",
                                   ["EHLO client.example", "MAIL FROM:<a@outside.example>", "VRFY fred", "NOOP"]),
    "submission: HELO first": ("submission", "plain", ["MAIL FROM:<a@outside.example>"]),
    "submission: after STARTTLS": ("submission", "starttls", ["EHLO client.example"] + OUTSIDE),
    "smtps: wrapped": ("smtps", "wrapped", ["EHLO client.example", "STARTTLS"] + OUTSIDE),
    "reinject: relays for its mynetworks": ("reinject", "plain", ["EHLO client.example"] + OUTSIDE),
}


def connect(port, mode):
    """A socket: plain, wrapped in TLS from the first byte, or plain from
    another loopback address ("from:127.0.0.2")."""
    source = (mode[5:], 0) if mode.startswith("from:") else None
    s = socket.create_connection(("127.0.0.1", port), timeout=20, source_address=source)
    if mode == "wrapped":
        s = insecure_context().wrap_socket(s, server_hostname="mx.test.example")
    return s


def insecure_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def talk(port, mode, lines):
    """Each line's reply (its last line), or "(closed)"; in mode
    "starttls", after EHLO and STARTTLS on a plain connection."""
    s = connect(port, mode)
    buffer = [b""]

    def reply():
        while True:
            while b"\r\n" not in buffer[0]:
                try:
                    chunk = s.recv(4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    return "(closed)"
                buffer[0] += chunk
            line, buffer[0] = buffer[0].split(b"\r\n", 1)
            text = line.decode(errors="replace")
            if len(text) < 4 or text[3] != "-":
                return text

    def send(line):
        try:
            s.sendall(line.encode() + b"\r\n")
            return reply()
        except OSError:
            return "(closed)"

    replies = [("(greeting)", reply())]
    if mode == "starttls":
        replies.append(("EHLO client.example", send("EHLO client.example")))
        replies.append(("STARTTLS", send("STARTTLS")))
        if not replies[-1][1].startswith("220"):
            s.close()
            return replies
        s = insecure_context().wrap_socket(s, server_hostname="mx.test.example")
        buffer[0] = b""
    for line in lines:
        replies.append((line, send(line)))
    s.close()
    return replies


def ehlo_keywords(port, mode):
    s = connect(port, mode)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO client.example\r\n")
    words = []
    while True:
        line = f.readline().decode(errors="replace").rstrip("\r\n")
        if not line:
            break
        if line[4:].split()[:1] and not line[4:].startswith(("mx.", "mail.", "office.")):
            words.append(line[4:].split()[0].upper())
        if len(line) < 4 or line[3] != "-":
            break
    s.close()
    return words


def greets_within(port, seconds):
    """Whether a new connection gets its greeting within `seconds`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    try:
        return s.recv(512).startswith(b"220")
    except OSError:
        return False
    finally:
        s.close()


def compare_replies(theirs, ours, dialogues, same=lambda a, b: a == b, greeting=False):
    """Runs each dialogue (name: (service, mode, lines)) against Postfix's
    and posternd's ports for its service; returns how many replies were
    compared and how many were not `same` (each printed). The greeting
    counts only when `greeting` says so."""
    compared = different = 0
    for name, (service, mode, lines) in dialogues.items():
        a = talk(theirs[service], mode, lines)
        b = talk(ours[service], mode, lines)
        for (command, postfix), (_, postern) in zip(a, b):
            if command == "(greeting)" and not greeting:
                continue
            compared += 1
            if not same(postfix, postern):
                different += 1
                print(f"DIFFERENT [{name}] {command[:60]}\n  postfix: {postfix}\n  postern: {postern}")
    return compared, different


def compare(theirs, ours):
    compared, different = compare_replies(theirs, ours, DIALOGUES, lambda a, b: code_of(a) == code_of(b),
                                          greeting=True)
    for service, mode in (("smtp", "plain"), ("submission", "plain"), ("smtps", "wrapped")):
        a = "STARTTLS" in ehlo_keywords(theirs[service], mode)
        b = "STARTTLS" in ehlo_keywords(ours[service], mode)
        compared += 1
        if a != b:
            different += 1
            print(f"DIFFERENT [{service}: STARTTLS offered]\n  postfix: {a}\n  postern: {b}")
    # maxproc 1: while one session is open, the next waits in the listen queue.
    for label, ports in (("postfix", theirs), ("postern", ours)):
        first = socket.create_connection(("127.0.0.1", ports["reinject"]), timeout=10)
        first.recv(512)
        second = greets_within(ports["reinject"], 1.5)
        first.close()
        time.sleep(0.5)
        third = greets_within(ports["reinject"], 10)
        compared += 1
        if second or not third:
            different += 1
            print(f"DIFFERENT [{label} reinject maxproc 1] second session greeted at once: {second}, "
                  f"after the first closed: {third}")
    return compared, different


def office_config(source, root, master_cf, settings):
    """examples/office under root/config with `master_cf` and the main.cf
    `settings`, plus a self-signed certificate that offers STARTTLS."""
    config = os.path.join(root, "config")
    shutil.copytree(os.path.join(source, "examples", "office"), config)
    with open(os.path.join(config, "master.cf"), "w") as f:
        f.write(master_cf)
    settings = dict(settings)
    for line in tls_settings(root).splitlines():
        name, _, value = line.partition(" = ")
        settings[name] = value
    set_parameters(os.path.join(config, "main.cf"), settings)
    return config


class SideBySide:
    """posternd and a private Postfix on the same configuration, each smtpd
    service of `services` on a loopback port of its own (posternd with
    `posternd_args`, Postfix with `resolv_conf` and the main.cf settings
    `postfix_extra` as PrivatePostfix takes them). Inside the `with`:
    `theirs` and `ours`, the ports by service; after it: `postfix_log` and
    `posternd_log`, the two servers' logs."""

    def __init__(self, args, config, root, services, posternd_args=(), resolv_conf=None, postfix_extra=None):
        self.args, self.config, self.root, self.services = args, config, root, services
        self.posternd_args = list(posternd_args)
        self.theirs = {s: free_port() for s in services if s != "smtp"}
        self.instance = PrivatePostfix(config, os.path.join(root, "postfix"), extra=postfix_extra,
                                       inet_ports=self.theirs, resolv_conf=resolv_conf)
        self.theirs["smtp"] = self.instance.port
        self.ours = {s: free_port() for s in services}
        self.ours_root = os.path.join(root, "posternd")
        self.log_path = os.path.join(self.ours_root, "posternd.log")
        self.process = None
        self.postfix_log = self.posternd_log = ""

    def __enter__(self):
        os.makedirs(self.ours_root)
        images = os.path.join(self.ours_root, "images")
        r = subprocess.run([self.args.postern, "compile", "-c", self.config, "-o", images],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("postern compile failed:\n" + r.stderr)
        listen = [x for s in self.services for x in ("--listen", f"{s}=127.0.0.1:{self.ours[s]}")]
        self.process = subprocess.Popen(
            [self.args.posternd, "-i", images, "-q", os.path.join(self.ours_root, "queue"), *listen, "--no-delivery",
             "--users", os.path.join(self.config, "trace", "users"), "--user", "nobody", "--maillog-file",
             "/dev/stderr", *self.posternd_args], stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))
        try:
            for port in self.ours.values():
                wait_for_port(port)
            self.instance.__enter__()
            self.theirs["smtp"] = self.instance.port  # moved if its port was taken
            for port in self.theirs.values():
                wait_for_port(port)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        time.sleep(1)  # the last log lines
        maillog = os.path.join(self.instance.root, "maillog")
        if os.path.exists(maillog):
            self.postfix_log = open(maillog, errors="replace").read()
        self.instance.__exit__(None, None, None)
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.posternd_log = open(self.log_path, errors="replace").read()
        return False


def finish(results, root):
    """Prints the checks; keeps `root` for a look when one failed."""
    status = report(results)
    if status:
        print(f"(kept in {root})")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return status


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix package")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-services-")
    os.chmod(root, 0o755)
    config = office_config(args.source, root, MASTER_CF, {"mynetworks": "10.0.0.0/8"})
    results = []
    check = subprocess.run([args.postern, "check", "-c", config], capture_output=True, text=True)
    results.append(("postern check passes the four services",
                    check.returncode == 0 and "PC0161" not in check.stdout, check.stdout + check.stderr))
    with SideBySide(args, config, root, SERVICES) as servers:
        compared, different = compare(servers.theirs, servers.ours)
        results.append((f"{compared} replies and behaviours compared with Postfix", different == 0,
                        f"{different} different"))
    theirs, ours = servers.postfix_log, servers.posternd_log
    for name in ("postfix/submission/smtpd[", "postfix/smtps/smtpd[", "postfix/reinject/smtpd["):
        results.append((f"both logs name {name[:-1]}", name in theirs and name in ours,
                        f"postfix: {name in theirs}, postern: {name in ours}"))
    results.append(("posternd says which service each port serves",
                    all(f"for service {s}" in ours for s in SERVICES), ours[:2000]))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
