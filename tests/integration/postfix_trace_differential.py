#!/usr/bin/env python3
"""Postfix itself as the oracle for `postern trace`.

For each example configuration (and test configuration) with a trace/
directory, a private Postfix
instance (its own config_directory, queue_directory and log file, smtpd on a
loopback port) is started from a derived copy of the configuration in which
only the delivery agents differ: every smtp/relay/lmtp/virtual service and
the mailbox transport become a pipe(8) recorder that writes the transport,
nexthop and recipient Postfix chose. The aliases, canonical, virtual,
transport and relocated tables, and local(8) itself, are Postfix's own.

Each address from trace/addresses is sent over SMTP with Python's smtplib;
Postfix's RCPT replies, the recorder's lines and the bounces in its log are
then compared with `postern trace --json` on the same derived configuration.

Needs root (Postfix's master runs as root) and Debian's postfix package;
exits 77 (skipped) without them.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
RECORDED_SERVICES = ("smtp", "lmtp", "virtual")  # master.cf commands replaced by the recorder


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def derive_master_cf(path, port, recorder):
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
        if f[1] == "inet":
            if f[0] == "smtp":
                out.append(f"127.0.0.1:{port} inet n - n - - smtpd")
            skipping = True
            continue
        if f[1] == "unix" and f[7] in RECORDED_SERVICES:
            out.append(f"{f[0]} unix - n n - - pipe flags=q user=nobody "
                       f"argv={recorder} {f[0]} ${{nexthop}} ${{recipient}}")
            skipping = True
            continue
        f[4] = "n"  # no chroot: the instance lives in a test directory
        out.append(" ".join(f))
    out.append(f"mailboxrec unix - n n - - pipe flags=q user=nobody "
               f"argv={recorder} mailboxrec ${{nexthop}} ${{recipient}}")
    open(path, "w").write("\n".join(out) + "\n")


def derive(example, root, port):
    etc = os.path.join(root, "etc")
    shutil.copytree(example, etc, ignore=shutil.ignore_patterns("trace"))
    for name in os.listdir(etc):
        p = os.path.join(etc, name)
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
    })
    derive_master_cf(os.path.join(etc, "master.cf"), port, recorder)
    env = dict(os.environ, MAIL_CONFIG=etc)
    for line in open(os.path.join(etc, "main.cf")):
        for ref in re.findall(r"hash:(\S+?)(?:[\s,]|$)", line):
            tool = "postalias" if line.startswith(("alias_maps", "alias_database")) else "postmap"
            if ref.endswith("aliases"):
                tool = "postalias"
            subprocess.run([tool, f"hash:{ref}"], check=True, env=env)
    return etc, env


def wait_for_port(port, timeout=20):
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


def postfix_outcomes(root, env, port, addresses):
    outcomes = {a: {"deliveries": set(), "rejects": set(), "bounces": set()} for a in addresses}
    for i, address in enumerate(addresses):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo("client.example")
            s.mail("<>")
            code, text = s.rcpt(f"<{address}>")
            if code >= 400:
                outcomes[address]["rejects"].add(code)
                continue
            s.data(f"X-Test-Input: {address}\r\nMessage-ID: <{i}.postern-differential@test>\r\n"
                   f"Subject: trace {address}\r\n\r\nbody\r\n")
    if not wait_for_empty_queue(env):
        subprocess.run(["postqueue", "-p"], env=env)
        raise RuntimeError("postfix did not deliver everything in time")
    deliveries = os.path.join(root, "out", "deliveries")
    if os.path.exists(deliveries):
        for line in open(deliveries):
            parts = line.split()
            if len(parts) == 4 and parts[0] in outcomes:
                outcomes[parts[0]]["deliveries"].add((parts[3].lower(), parts[1], parts[2]))
    # Bounces: queue id -> message-id -> input.
    log = open(os.path.join(root, "maillog")).read() if os.path.exists(os.path.join(root, "maillog")) else ""
    message_ids = dict(re.findall(r" ([0-9A-F]{6,}): message-id=<(\d+)\.postern-differential@test>", log))
    for qid, to in re.findall(r" ([0-9A-F]{6,}): to=<([^>]*)>.*status=bounced", log):
        if qid in message_ids:
            outcomes[addresses[int(message_ids[qid])]]["bounces"].add(to.lower())
    return outcomes


def postern_outcomes(postern, etc, users, addresses):
    proc = subprocess.run([postern, "trace", "-c", etc, "--users", users, "--json"] + addresses,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    outcomes = {}
    for entry in json.loads(proc.stdout):
        o = {"deliveries": set(), "rejects": set(), "bounces": set()}
        for r in entry["results"]:
            if "transport" in r:
                o["deliveries"].add((r["address"].lower(), r["transport"], r["nexthop"]))
            elif r["status"] == "reject":
                o["rejects"].add(r["code"])
            elif r["status"] == "bounce":
                o["bounces"].add(r["address"].lower())
        outcomes[entry["input"]] = o
    return outcomes


def comparable_addresses(postern, etc, users, example):
    """Addresses from trace/addresses whose Postern results Postfix can show:
    fully qualified, no --sender option, no local file or command delivery."""
    lines = [l for l in open(os.path.join(example, "trace", "addresses")).read().splitlines()
             if l.strip() and not l.startswith("#")]
    candidates = [l.strip() for l in lines if not l.startswith("-") and "@" in l and "[" not in l]
    proc = subprocess.run([postern, "trace", "-c", etc, "--users", users, "--json"] + candidates,
                          capture_output=True, text=True, check=True)
    keep = []
    for entry in json.loads(proc.stdout):
        if not any(r.get("delivery", "").startswith(("file ", "command ")) for r in entry["results"]):
            keep.append(entry["input"])
    return keep


def run_example(postern, example):
    root = tempfile.mkdtemp(prefix="postern-pfx-")
    port = free_port()
    etc, env = derive(example, root, port)
    users = os.path.join(example, "trace", "users")
    addresses = comparable_addresses(postern, etc, users, example)
    subprocess.run(["postfix", "start"], env=env, check=True, capture_output=True)
    try:
        wait_for_port(port)
        theirs = postfix_outcomes(root, env, port, addresses)
    finally:
        subprocess.run(["postfix", "stop"], env=env, capture_output=True)
    ours = postern_outcomes(postern, etc, users, addresses)
    failures = 0
    for address in addresses:
        if ours[address] != theirs[address]:
            failures += 1
            print(f"DIFFERENT {os.path.basename(example)} {address}\n  postfix: {theirs[address]}\n"
                  f"  postern: {ours[address]}")
    print(f"{os.path.basename(example)}: {len(addresses)} addresses, {failures} different")
    if failures == 0:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"  (instance kept in {root})")
    return len(addresses), failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix package")
        return SKIP
    total = failed = 0
    for parent in ("examples", "tests/integration/configs"):
        directory = os.path.join(args.source, parent)
        for name in sorted(os.listdir(directory)):
            example = os.path.join(directory, name)
            if os.path.exists(os.path.join(example, "trace", "addresses")):
                n, f = run_example(os.path.abspath(args.postern), example)
                total += n
                failed += f
    print(f"postfix differential: {total} addresses compared, {failed} different")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
