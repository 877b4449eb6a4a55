"""Helpers for the posternd tests: a daemon on a loopback port serving a
compiled configuration with its own queue, and an independent reader of
queue files (docs/queue.md) that checks the sha256 trailer."""
import argparse
import hashlib
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time


def arguments():
    """The command line every posternd test takes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--posternd", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    args.postern, args.posternd = os.path.abspath(args.postern), os.path.abspath(args.posternd)
    return args


def report(results):
    """Prints (name, ok, detail) checks; the exit status: 1 when one failed."""
    failed = [r for r in results if not r[1]]
    for name, ok, detail in results:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n     " + str(detail)[:3000]))
    print("%d checks, %d failed" % (len(results), len(failed)))
    return 1 if failed else 0


def tls_settings(directory):
    """main.cf lines that offer STARTTLS with a self-signed certificate for
    mx.test.example, made by openssl in `directory`."""
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=mx.test.example"], check=True, capture_output=True)
    os.chmod(key, 0o600)  # root's alone, as keys are kept: posternd reads it as root (or through its helper)
    return "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n" % (cert, key)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_queue_file(path):
    """Decodes a queue file (docs/queue.md) independently of posternd's
    code: the first part, checked against its sha256, then the records
    appended to it (up to one a crash cut short). Recipients are dicts with
    address, original, notify, route ("transport:nexthop" or ""), state
    (0 pending, 1 delivered, 2 bounced, 3 deferred, 4 expanded), attempts
    and last_reply ("status reason")."""
    data = pathlib.Path(path).read_bytes()
    if data[:8] != b"PSTRNQUE":
        raise ValueError("bad magic")
    version = struct.unpack_from("<I", data, 8)[0]
    content_body = b""
    if version >= 4:
        # The body first (streamed while received), the envelope after it;
        # the check covers the front, the envelope and the body's sha256.
        first, body_size = struct.unpack_from("<QQ", data, 12)
        content_body = data[28:28 + body_size]
        body, trailer, records = data[28 + body_size:first], data[first:first + 64], data[first + 64:]
        check = hashlib.sha256(data[:28] + body + hashlib.sha256(content_body).digest()).hexdigest().encode()
        at = 0
    elif version >= 3:
        first = struct.unpack_from("<Q", data, 12)[0]
        body, trailer, records = data[:first], data[first:first + 64], data[first + 64:]
        check = hashlib.sha256(body).hexdigest().encode()
        at = 20
    else:
        body, trailer, records = data[:-64], data[-64:], b""
        check = hashlib.sha256(body).hexdigest().encode()
        at = 12
    if check != trailer:
        raise ValueError("checksum mismatch")
    buf = body

    def u8():
        nonlocal at
        at += 1
        return buf[at - 1]

    def u32():
        nonlocal at
        at += 4
        return struct.unpack_from("<I", buf, at - 4)[0]

    def u64():
        nonlocal at
        at += 8
        return struct.unpack_from("<Q", buf, at - 8)[0]

    def string():
        n = u32()
        nonlocal at
        at += n
        return buf[at - n:at]

    def status():
        s = {"code": u32()}
        for k in ("status", "reason", "remote_reply", "remote_mta", "relay"):
            s[k] = string().decode()
        s["host_failure"] = u8()
        return s

    def recipient():
        r = {k: string().decode() for k in ("address", "original", "notify")}
        kind, transport, nexthop = u8(), string().decode(), string().decode()
        string()  # the local detail
        status()  # a frozen bounce
        r["route"] = transport + ":" + nexthop if kind in (1, 2) else ""
        r["state"], r["attempts"] = u8(), u32()
        last = status()
        r["last_reply"] = (last["status"] + " " + last["reason"]) if last["code"] else ""
        return r

    m = {"version": version, "id": string().decode(), "arrival": u64(), "sender": string().decode()}
    for name in ("client_address", "client_name", "helo", "sasl_username", "ret", "envid"):
        m[name] = string().decode()
    m["smtputf8"] = u8()
    m["body_type"] = string().decode()
    m["image_id"] = string().decode()
    m["delay_warned"] = u8() if version >= 2 else 0
    m["recipients"] = []
    for _ in range(u32()):
        if version >= 3:
            m["recipients"].append(recipient())
            continue
        r = {k: string().decode() for k in ("address", "original", "notify", "route")}
        r["state"], r["attempts"], r["last_reply"] = u8(), u32(), string().decode()
        m["recipients"].append(r)
    m["content"] = string() + content_body  # version 4: the head, then the body
    if at != len(body):
        raise ValueError("trailing bytes")
    # The records: type, payload, and the first 16 hex digits of their sha256.
    while len(records) >= 5:
        kind, length = records[0], struct.unpack_from("<I", records, 1)[0]
        size = 5 + length + 16
        if len(records) < size or hashlib.sha256(records[:5 + length]).hexdigest()[:16].encode() != records[5 + length:size]:
            break
        buf, at = records[5:5 + length], 0
        if kind == ord("R"):
            r = m["recipients"][u32()]
            r["state"], r["attempts"] = u8(), u32()
            last = status()
            r["last_reply"] = (last["status"] + " " + last["reason"]) if last["code"] else ""
        elif kind == ord("E"):
            index, count = u32(), u32()
            m["recipients"][index]["state"] = 4
            m["recipients"] += [recipient() for _ in range(count)]
        elif kind == ord("W"):
            m["delay_warned"] = 1
        records = records[size:]
    return m


class Posternd:
    """posternd serving `config` (a directory, copied so that main.cf can
    get `extra` lines), on 127.0.0.1:port, with a queue in a temporary
    directory. Use as a context manager. Mail stays queued (--no-delivery)
    unless `deliver` is set."""

    def __init__(self, postern, posternd, config, extra="", users=None, queue=None, args=(), deliver=False,
                 log_to_stderr=True, user="nobody"):
        self.postern, self.posternd = postern, posternd
        self.root = tempfile.mkdtemp(prefix="posternd-test-")
        os.chmod(self.root, 0o755)  # the daemon drops to an unprivileged user
        self.config = os.path.join(self.root, "config")
        shutil.copytree(config, self.config)
        with open(os.path.join(self.config, "main.cf"), "a") as f:
            f.write(extra)
        self.images = os.path.join(self.root, "images")
        self.queue = queue or os.path.join(self.root, "queue")
        self.log_path = os.path.join(self.root, "posternd.log")
        self.users = users or os.path.join(config, "trace", "users")
        self.port = free_port()
        self.args = list(args) + ([] if deliver else ["--no-delivery"])
        # The log goes to posternd.log (stderr) unless the test is about
        # where maillog_file and syslog_name send it.
        if log_to_stderr:
            self.args += ["--maillog-file", "/dev/stderr"]
        self.user = user  # postfix (mail_owner) reads the images that hold secrets (0440)
        self.process = None

    def compile(self, config=None):
        return self.compile_to(self.images, config)

    def compile_to(self, images, config=None):
        """Compiles into `images`; the new image's id."""
        r = subprocess.run([self.postern, "compile", "-c", config or self.config, "-o", images],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("postern compile failed: " + r.stderr)
        return r.stdout.strip()

    def __enter__(self):
        self.image = self.compile()
        self.start()
        return self

    def start(self, attempts=3):
        """Starts posternd; when another process took the port first (a
        race with parallel tests), again on another port."""
        for attempt in range(attempts):
            try:
                return self._start()
            except RuntimeError as e:
                if attempt + 1 == attempts or "bind 127.0.0.1" not in str(e):
                    raise
                self.port = free_port()

    def _start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.posternd, "-i", self.images, "-q", self.queue, "--listen", "127.0.0.1:%d" % self.port,
             "--users", self.users, "--user", self.user, *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("posternd exited: " + self.log_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("posternd did not start: " + self.log_text())

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode if self.process else None
        self.process = None
        return code

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self):
        try:
            return pathlib.Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def queued(self, queue="incoming"):
        d = pathlib.Path(self.queue, queue)
        return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.is_dir() else []

    def connect(self, timeout=10):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return SmtpLines(s)


class SmtpLines:
    """A raw SMTP client: send bytes exactly as given, read whole replies."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """The next complete reply (all its lines), as text; '' on EOF."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return "\n".join(lines)
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            text = line.decode(errors="replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return "\n".join(lines)

    def envelope(self, helo, sender, recipients, data=True):
        """Greeting, EHLO, MAIL, RCPT... (and DATA), pipelined; their replies."""
        self.reply()
        commands = "EHLO %s\r\nMAIL FROM:<%s>\r\n" % (helo, sender)
        commands += "".join("RCPT TO:<%s>\r\n" % r for r in recipients) + ("DATA\r\n" if data else "")
        self.send(commands)
        return [self.reply() for _ in range(2 + len(recipients) + (1 if data else 0))]

    def command(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def close(self):
        self.sock.close()
