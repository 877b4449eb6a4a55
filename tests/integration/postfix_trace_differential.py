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
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile

from postfix_instance import PrivatePostfix, differential_main, wait_for_empty_queue

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
    instance = PrivatePostfix(example, root)
    users = os.path.join(example, "trace", "users")
    addresses = comparable_addresses(postern, instance.etc, users, example)
    with instance:
        theirs = postfix_outcomes(root, instance.env, instance.port, addresses)
    ours = postern_outcomes(postern, instance.etc, users, addresses)
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
    return differential_main("postfix differential", "addresses", "trace/addresses", run_example)


if __name__ == "__main__":
    sys.exit(main())
