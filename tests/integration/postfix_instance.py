"""A private Postfix instance for differential tests, derived from a
configuration directory: its own config_directory, queue_directory, data
directory and log file, smtpd on a loopback port, and every smtp, relay,
lmtp and virtual service (and the mailbox transport) replaced by a pipe(8)
recorder that writes the transport, nexthop and recipient Postfix chose.
Needs root and Debian's postfix package.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

SKIP = 77  # ctest's SKIP_RETURN_CODE
RECORDED_SERVICES = ("smtp", "lmtp", "virtual")  # master.cf commands replaced by the recorder


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def map_types():
    """The lookup table types Debian's Postfix has here (postconf -m, which
    needs a main.cf), e.g. {"hash", "sqlite", "ldap", ...}."""
    with tempfile.TemporaryDirectory() as probe:
        open(os.path.join(probe, "main.cf"), "w").write("")
        r = subprocess.run(["postconf", "-c", probe, "-m"], capture_output=True, text=True)
        return set(r.stdout.split())


def set_parameters(main_cf, overrides):
    """Removes every definition of the overridden names, then appends them."""
    out, skipping = [], False
    for line in open(main_cf).read().splitlines():
        if line[:1] in (" ", "\t") and skipping:
            continue
        skipping = False
        m = re.match(r"^([A-Za-z0-9_]+)\s*=", line)
        if m and m.group(1) in overrides:
            skipping = True
            continue
        out.append(line)
    out += [f"{k} = {v}" for k, v in overrides.items()]
    open(main_cf, "w").write("\n".join(out) + "\n")


def derive_master_cf(path, port, recorder, recorded=RECORDED_SERVICES, inet_ports=None):
    """smtp on 127.0.0.1:port, without its -o overrides; each inet service
    named in `inet_ports` on 127.0.0.1:inet_ports[name], with its overrides;
    other inet services dropped."""
    out, skipping = [], False
    for line in open(path).read().splitlines():
        if line[:1] in (" ", "\t"):
            if not skipping:
                out.append(line)
            continue
        skipping = False
        f = line.split()
        if not f or line.startswith("#"):
            out.append(line)
            continue
        if f[1] == "inet" and f[0] in (inet_ports or {}):
            f[0] = f"127.0.0.1:{inet_ports[f[0]]}"
            f[4] = "n"
            out.append(" ".join(f))
            continue
        if f[1] == "inet":
            if f[0] == "smtp":
                out.append(f"127.0.0.1:{port} inet n - n - - smtpd")
            skipping = True
            continue
        if f[1] == "unix" and f[7] in recorded:
            out.append(f"{f[0]} unix - n n - - pipe flags=q user=nobody "
                       f"argv={recorder} {f[0]} ${{nexthop}} ${{recipient}}")
            skipping = True
            continue
        f[4] = "n"  # no chroot: the instance lives in a test directory
        out.append(" ".join(f))
    out.append(f"mailboxrec unix - n n - - pipe flags=q user=nobody "
               f"argv={recorder} mailboxrec ${{nexthop}} ${{recipient}}")
    open(path, "w").write("\n".join(out) + "\n")


def derive(example, root, port, extra=None, recorded=RECORDED_SERVICES, inet_ports=None):
    etc = os.path.join(root, "etc")
    shutil.copytree(example, etc, ignore=shutil.ignore_patterns("trace", "tests", "policy"))
    for name in os.listdir(etc):
        p = os.path.join(etc, name)
        if not os.path.isfile(p):
            continue
        text = open(p).read()
        open(p, "w").write(text.replace("/etc/postfix/", etc + "/"))
    users = [l.split(":")[0] for l in open(os.path.join(example, "trace", "users"))
             if l.strip() and not l.startswith("#")]
    open(os.path.join(etc, "local_users"), "w").write("".join(f"{u} x\n" for u in users))
    for d in ("queue", "data", "spool", "out"):
        os.makedirs(os.path.join(root, d))
    os.chmod(os.path.join(root, "out"), 0o777)
    shutil.chown(os.path.join(root, "data"), "postfix")
    os.chmod(root, 0o755)
    recorder = os.path.join(root, "record")
    open(recorder, "w").write(
        "#!/bin/sh\n"
        "input=$(sed -n 's/^X-Test-Input: //p' | head -n 1)\n"
        f"echo \"$input $1 $2 $3\" >> {root}/out/deliveries\n")
    os.chmod(recorder, 0o755)
    set_parameters(os.path.join(etc, "main.cf"), {
        "queue_directory": f"{root}/queue",
        "data_directory": f"{root}/data",
        "mail_spool_directory": f"{root}/spool",
        "maillog_file": f"{root}/maillog",
        "maillog_file_prefixes": root,
        "mailbox_transport": "mailboxrec",
        "local_recipient_maps": f"hash:{etc}/local_users $alias_maps",
        "inet_interfaces": "loopback-only",
        "inet_protocols": "ipv4",
        **(extra or {}),
    })
    derive_master_cf(os.path.join(etc, "master.cf"), port, recorder, recorded, inet_ports)
    env = dict(os.environ, MAIL_CONFIG=etc)
    for line in open(os.path.join(etc, "main.cf")):
        for ref in re.findall(r"hash:(\S+?)(?:[\s,]|$)", line):
            tool = "postalias" if line.startswith(("alias_maps", "alias_database")) else "postmap"
            if ref.endswith("aliases"):
                tool = "postalias"
            subprocess.run([tool, f"hash:{ref}"], check=True, env=env)
    return etc, env


def wait_for_port(port, timeout=60):
    # Generous: under the sanitizer runs, with every core busy, Postfix's
    # master can take more than 20 seconds to have smtpd listening.
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("postfix smtpd did not start")


def wait_for_empty_queue(env, timeout=90):
    end = time.time() + timeout
    while time.time() < end:
        out = subprocess.run(["postqueue", "-p"], env=env, capture_output=True, text=True).stdout
        if "Mail queue is empty" in out:
            return True
        subprocess.run(["postqueue", "-f"], env=env, capture_output=True)
        time.sleep(1)
    return False


def configurations(source, marker):
    """Every example and test configuration that has `marker` (a path inside it)."""
    for parent in ("examples", "tests/integration/configs"):
        directory = os.path.join(source, parent)
        for name in sorted(os.listdir(directory)):
            if os.path.exists(os.path.join(directory, name, marker)):
                yield os.path.join(directory, name)


def differential_main(title, unit, marker, run_one):
    """The command line of a Postfix differential test: --postern and
    --source; run_one(postern, configuration) -> (compared, different) for
    each configuration holding `marker`; exit 0, 1 (differences) or 77
    (skipped: not root, or no Postfix)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix package")
        return SKIP
    total = failed = 0
    for config in configurations(args.source, marker):
        n, f = run_one(os.path.abspath(args.postern), config)
        total += n
        failed += f
    print(f"{title}: {total} {unit} compared, {failed} different")
    return 1 if failed else 0


class PrivatePostfix:
    """with PrivatePostfix(example, root, extra_overrides) as pf: pf.port, pf.etc, pf.env.
    `recorded`: the master.cf commands replaced by the delivery recorder
    (none, for an instance that really delivers); `inet_ports`: the other
    inet services to run, each on its loopback port; `resolv_conf`: a file
    that stands in for /etc/resolv.conf."""

    def __init__(self, example, root, extra=None, recorded=RECORDED_SERVICES, inet_ports=None, resolv_conf=None):
        self.root = root
        self.port = free_port()
        self.inet_ports = inet_ports
        self.etc, self.env = derive(example, root, self.port, extra, recorded, inet_ports)
        self.resolv_conf = resolv_conf

    def __enter__(self):
        start = ["postfix", "start"]
        if self.resolv_conf:
            # Its resolver asks the test's DNS server: /etc/resolv.conf,
            # replaced in a mount namespace of its own (it stays there).
            start = ["unshare", "--mount", "sh", "-c",
                     'mount --bind "$0" /etc/resolv.conf && exec postfix start', self.resolv_conf]
        for attempt in range(3):
            started = subprocess.run(start, env=self.env, capture_output=True, text=True)
            if started.returncode == 0:
                break
            log = self.log_tail()
            if attempt == 2 or "Address already in use" not in log:
                raise RuntimeError(f"postfix start failed ({started.returncode}): "
                                   f"{(started.stderr.strip() or log)[-600:]}")
            # Another process took a port between free_port() and master's
            # bind: the same services on new ports.
            self.move_ports()
        try:
            wait_for_port(self.port)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def log_tail(self):
        path = os.path.join(self.root, "maillog")
        return open(path, errors="replace").read()[-2000:] if os.path.exists(path) else ""

    def move_ports(self):
        """New free ports for smtp and the other inet services, in master.cf
        and in `port` and `inet_ports` (which the caller may share)."""
        moved = {self.port: free_port()}
        for name, port in (self.inet_ports or {}).items():
            moved.setdefault(port, free_port())
            self.inet_ports[name] = moved[port]
        self.port = moved[self.port]
        path = os.path.join(self.etc, "master.cf")
        text = open(path).read()
        for old, new in moved.items():
            text = text.replace(f"127.0.0.1:{old} ", f"127.0.0.1:{new} ")
        open(path, "w").write(text)

    def __exit__(self, *exc):
        subprocess.run(["postfix", "stop"], env=self.env, capture_output=True)
        return False
