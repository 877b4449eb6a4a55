#!/usr/bin/env python3
"""What a hostile probe of posternd found, each reproduced as it was found
and checked to hold now: a local attacker with the daemon's user planting
links in the queue, secret tables in images, image files damaged or
replaced by a FIFO under a running daemon, CR in EHLO reaching the
Received: header, queue directories others can list. Runs posternd as
root (it drops to nobody), so it skips when not root."""
import os
import pathlib
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, report  # noqa: E402

results = []


def expect(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def wait_for(predicate, timeout=15):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(0.1)


def daemon_config(args):
    return os.path.join(args.source, "tests/integration/configs/daemon")


def control(d, command, timeout=10):
    """One command on posternd's control socket; its JSON reply as text."""
    # The socket comes last at start, after the delivery process is forked.
    path = os.path.join(d.queue, "control")
    wait_for(lambda: os.path.exists(path))
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(command.encode() + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.decode()


def send_message(d, helo="client.example", recipient="joe@test.example"):
    s = smtplib.SMTP(timeout=20)
    s.connect("127.0.0.1", d.port)
    s.ehlo(helo)
    s.mail("someone@elsewhere.example")
    s.rcpt(recipient)
    code, _ = s.data(b"Subject: probe\r\n\r\nbody\r\n")
    s.quit()
    return code


def planted_links(args):
    """Finding 1: root used to chown every entry of the queue, following
    links, so the daemon's user got any file it linked there."""
    nobody = pwd.getpwnam("nobody")
    d = Posternd(args.postern, args.posternd, daemon_config(args))
    try:
        d.compile()
        # The queue of an earlier run, where the daemon's user planted a
        # symbolic link and a hard link to a file of root's.
        secret = pathlib.Path(d.root, "root-owned-secret")
        secret.write_text("root only\n")
        os.chmod(secret, 0o600)
        for q in ("incoming", "deferred"):
            os.makedirs(os.path.join(d.queue, q))
        os.symlink(secret, os.path.join(d.queue, "incoming", "B00000000001"))
        os.link(secret, os.path.join(d.queue, "deferred", "B00000000002"))
        d.start()
        st = os.stat(secret)
        expect("a symbolic link planted in incoming/ does not make root chown its target",
               st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, "uid %d mode %o" % (st.st_uid, st.st_mode))
        modes = {q: os.stat(os.path.join(d.queue, q)) for q in ("", "incoming", "deferred", "hold", "corrupt")}
        expect("the queue directories are nobody's, mode 0700",
               all(s.st_uid == nobody.pw_uid and stat.S_IMODE(s.st_mode) == 0o700 for s in modes.values()),
               {q: (s.st_uid, oct(s.st_mode)) for q, s in modes.items()})
        expect("the daemon still accepts mail", send_message(d) == 250, d.log_text())

        # Finding 10: another user cannot list the queue; the tool says why.
        r = subprocess.run([args.postern, "queue", "-q", d.queue, "list"], capture_output=True, text=True,
                           preexec_fn=lambda: (os.setgroups([]), os.setgid(65533), os.setuid(65533)))
        expect("postern queue list as another user: permission denied, not an empty or corrupt queue",
               r.returncode != 0 and "Permission denied" in r.stderr and "corrupt" not in r.stdout + r.stderr,
               (r.returncode, r.stdout, r.stderr))
        d.stop()

        # A queue that is itself a link is refused, and its target untouched.
        target = pathlib.Path(d.root, "root-directory")
        target.mkdir(mode=0o755)
        shutil.rmtree(os.path.join(d.queue, "hold"))
        os.symlink(target, os.path.join(d.queue, "hold"))
        try:
            d.start(attempts=1)
            started = True
        except RuntimeError:
            started = False
        st = os.stat(target)
        expect("a queue that is a symbolic link stops posternd with a clear error",
               not started and "hold is not a directory" in d.log_text(), d.log_text()[-2000:])
        expect("and its target keeps its owner", st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o755)
    finally:
        d.__exit__(None, None, None)


def secret_tables(args):
    """Finding 3: a 0600 table compiled into a 0644 image file."""
    with Posternd(args.postern, args.posternd, daemon_config(args)) as d:
        d.stop()
        # Any table will do: what matters is its source's mode.
        secret = pathlib.Path(d.config, "relocated")
        secret.write_text("old@test.example very-secret-password@new.example\n")
        os.chmod(secret, 0o600)
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write("relocated_maps = hash:%s\n" % secret)
        r = subprocess.run([d.postern, "compile", "-c", d.config, "-o", d.images], capture_output=True, text=True)
        image = os.path.join(d.images, r.stdout.strip())
        holding = []
        for path in pathlib.Path(image).rglob("*"):
            if path.is_file() and b"very-secret-password" in path.read_bytes():
                holding.append(path)
        world = [p for p in holding if os.stat(p).st_mode & stat.S_IROTH]
        expect("the image file holding a 0600 table is not readable by others",
               holding and not world, (r.stderr, [(str(p), oct(os.stat(p).st_mode)) for p in holding]))
        st = os.stat(image)
        expect("the image directory holding it is not readable by others", not st.st_mode & stat.S_IROTH,
               oct(st.st_mode))
        public = os.path.join(image, "IMAGE")
        expect("other image files are read-only", stat.S_IMODE(os.stat(public).st_mode) == 0o444,
               oct(os.stat(public).st_mode))
        # posternd (nobody) still loads it: the group is mail_owner's when it exists.
        d.start()
        expect("posternd serves the image with the restricted table", send_message(d) == 250, d.log_text())


def damaged_images(args):
    """Findings 4 and 6: a table truncated under the running daemon killed
    it (SIGBUS in a mapping) and `postern compile` republished the damage;
    a FIFO in an image wedged reloading."""
    with Posternd(args.postern, args.posternd, daemon_config(args)) as d:
        image = os.path.join(d.images, d.image)
        tables = sorted(pathlib.Path(image, "tables").glob("*.cdb")) + [pathlib.Path(image, "params.cdb")]
        for t in tables:
            os.truncate(t, 10)
        expect("truncating the served image's files does not stop posternd",
               send_message(d) == 250 and d.process.poll() is None, d.log_text()[-2000:])
        r = subprocess.run([d.postern, "compile", "-c", d.config, "-o", d.images], capture_output=True, text=True)
        expect("postern compile finds the damaged image and writes it again",
               r.returncode == 0 and "damaged" in r.stderr, r.stderr)
        d.stop()
        d.start()
        expect("posternd starts again on the repaired image", send_message(d) == 250, d.log_text()[-2000:])

        # A new image with a FIFO where a table should be, made current.
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write("smtpd_banner = $myhostname ESMTP fifo test\n")
        elsewhere = os.path.join(d.root, "elsewhere")
        new = d.compile_to(elsewhere)
        shutil.copytree(os.path.join(elsewhere, new), os.path.join(d.images, new))
        fifo = sorted(pathlib.Path(d.images, new, "tables").glob("*.cdb"))[0]
        os.unlink(fifo)
        os.mkfifo(fifo)
        os.symlink(new, os.path.join(d.images, ".current-test"))
        os.replace(os.path.join(d.images, ".current-test"), os.path.join(d.images, "current"))
        d.process.send_signal(signal.SIGHUP)
        try:
            status = control(d, "status", timeout=10)
        except OSError as e:
            status = "no answer: %s" % e
        expect("a FIFO in the new image does not wedge posternd", '"image":"%s"' % d.image in status, status)
        refused = wait_for(lambda: "refused" in d.log_text() and "not a regular file" in d.log_text())
        expect("the reload is refused, naming the file", refused, d.log_text()[-2000:])


def helo_injection(args):
    """Finding 5: CR in the EHLO argument reached the Received: header
    verbatim, where a parser sees a header of its own."""
    with Posternd(args.postern, args.posternd, daemon_config(args)) as d:
        c = d.connect()
        c.reply()
        c.send("EHLO good.example\rX-Injected: yes\r\n")
        ehlo = c.reply()
        c.send("MAIL FROM:<a@elsewhere.example>\r\nRCPT TO:<joe@test.example>\r\nDATA\r\n")
        replies = [c.reply() for _ in range(3)]
        c.send("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        stored = c.reply()
        expect("EHLO with a CR is answered", ehlo.startswith("250"), ehlo)
        expect("and the message is stored", stored.startswith("250"), (replies, stored))
        queued = wait_for(lambda: d.queued())
        content = queued[0].read_bytes() if queued else b""
        expect("no bare CR from EHLO reaches the queued message",
               b"good.example\rX-Injected" not in content and b"\rX-Injected" not in content, content[:400])
        expect("the Received: header shows it as Postfix does (printable, '?')",
               b"from good.example?X-Injected: yes" in content, content[:400])
        expect("the log line has no CR either", "\r" not in d.log_text(), repr(d.log_text()[-500:]))


def process_cap(args):
    """Finding 8: the session cap (default_process_limit) overshot under a
    burst, being checked before the new session was counted."""
    with Posternd(args.postern, args.posternd, daemon_config(args), "default_process_limit = 3\n") as d:
        sockets = [socket.create_connection(("127.0.0.1", d.port), timeout=20) for _ in range(12)]
        for s in sockets:
            s.setblocking(False)
        greeted = set()

        def poll():
            for i, s in enumerate(sockets):
                if i in greeted:
                    continue
                try:
                    if s.recv(512):
                        greeted.add(i)
                except BlockingIOError:
                    pass
            return len(greeted)

        wait_for(lambda: poll() >= 3)
        time.sleep(1)  # a fourth greeting would have come by now
        expect("a burst of 12 connections gets 3 sessions at once, the cap", poll() == 3, len(greeted))
        sockets[min(greeted)].close()
        expect("the next one is served when one ends", wait_for(lambda: poll() >= 4), len(greeted))
        for s in sockets:
            s.close()


def make_certificate(key, cert, name):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + name], check=True, capture_output=True)
    os.chmod(key, 0o600)  # root's alone, as keys are kept


def served_certificate(d):
    """The DER certificate posternd's STARTTLS presents, or None."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", d.port, timeout=20)
    try:
        s.ehlo("client.example")
        if not s.has_extn("starttls"):
            return None
        s.starttls(context=context)
        return s.sock.getpeercert(binary_form=True)
    finally:
        s.close()


def tls_reload(args):
    """Finding 9: a certificate renewed in place was served until restart,
    and a key the daemon could not read silently turned STARTTLS off."""
    d = Posternd(args.postern, args.posternd, daemon_config(args))
    try:
        key, cert = os.path.join(d.root, "key.pem"), os.path.join(d.root, "cert.pem")
        make_certificate(key, cert, "first.test.example")
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write("smtpd_tls_security_level = may\nsmtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n" % (cert, key))
        d.__enter__()
        first = served_certificate(d)
        expect("STARTTLS with a key only root can read", first is not None, d.log_text()[-1500:])

        # Renewed in place (as certbot does), same configuration, then reload.
        make_certificate(key + ".new", cert + ".new", "second.test.example")
        os.replace(key + ".new", key)
        os.replace(cert + ".new", cert)
        reply = control(d, "reload")
        second = served_certificate(d)
        expect("a reload serves the renewed certificate", second is not None and second != first, (reply, d.log_text()[-1500:]))
        expect("and says why", "TLS certificate or key changed" in d.log_text(), d.log_text()[-1500:])

        # A key that cannot be used: the reload is refused, TLS stays on.
        pathlib.Path(key).write_text("not a key\n")
        reply = control(d, "reload")
        expect("an unusable key refuses the reload", "refused" in reply and "private key" in reply, reply)
        expect("and the certificate before it is still served", served_certificate(d) == second)
        d.stop()
        try:
            d.start(attempts=1)
            started = True
        except RuntimeError:
            started = False
        expect("posternd does not start without TLS when the image asks for it",
               not started and "private key" in d.log_text(), d.log_text()[-1500:])
    finally:
        d.__exit__(None, None, None)


def delivery_process(args):
    """Privilege separation: delivery runs in a process of its own (the
    only one holding the root helper's delivery channels), as the daemon's
    user, and goes when the SMTP process is killed outright."""
    nobody = pwd.getpwnam("nobody")
    def owners(pid):
        """posternd's child processes and their uids."""
        out = {}
        try:
            children = pathlib.Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()
        except FileNotFoundError:  # between a process and its restart
            return out
        for c in children:
            try:
                out[int(c)] = os.stat("/proc/" + c).st_uid
            except FileNotFoundError:
                pass
        return out

    with Posternd(args.postern, args.posternd, daemon_config(args), deliver=True) as d:
        # The port is open before the delivery process is forked.
        wait_for(lambda: nobody.pw_uid in owners(d.process.pid).values())
        children = owners(d.process.pid)
        delivery = [c for c, uid in children.items() if uid == nobody.pw_uid]
        expect("one child process runs as the daemon's user (delivery), the others as root (the helper)",
               len(delivery) == 1 and len(children) >= 2, children)
        status = control(d, "status")
        expect("the status includes the delivery process's counters", '"delivery":{"active"' in status, status)
        d.process.kill()
        d.process.wait()
        gone = wait_for(lambda: not os.path.exists("/proc/%d" % delivery[0]) if delivery else True)
        expect("killing the SMTP process ends the delivery process", gone)
        d.start()  # the queue lock is free again
        expect("and posternd starts again on the same queue", send_message(d) == 250, d.log_text()[-1000:])

        # The other way round: without its delivery process posternd stops,
        # with a status a supervisor restarts on, rather than accept in vain.
        wait_for(lambda: nobody.pw_uid in owners(d.process.pid).values())
        for c, uid in owners(d.process.pid).items():
            if uid == nobody.pw_uid:
                os.kill(c, signal.SIGKILL)
        try:
            code = d.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        expect("posternd stops with status 1 when its delivery process dies",
               code == 1 and "fatal: the delivery process ended" in d.log_text(), (code, d.log_text()[-1000:]))


def main():
    args = arguments()
    if os.geteuid() != 0:
        print("SKIP: posternd's privilege handling is tested as root")
        return 77
    for case in (planted_links, secret_tables, damaged_images, helo_injection, process_cap, tls_reload,
                 delivery_process):
        try:
            case(args)
        except Exception as e:  # one broken case must not hide the others
            expect(case.__name__ + " ran to the end", False, repr(e))
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
