#!/usr/bin/env python3
"""Postfix itself as the oracle for Postern's restriction lists.

For each configuration with policy test files (examples/*/tests/*.test and
tests/integration/configs/*/tests/*.test), a private Postfix instance
(postfix_instance.py) runs the same main.cf restrictions and access tables.
Every test case is replayed against it over SMTP with Python's smtplib, the
client made to look outside with XCLIENT (allowed for loopback only:
smtpd_authorized_xclient_hosts), on the port of the master.cf service the
case names (`service submission`) and after STARTTLS when it says `tls`,
and every reply is compared with what `postern test --print` computes on
the same derived configuration.

Rejects and deferrals must match in code and text; accepts in code. Needs
root and Debian's postfix; exits 77 (skipped) without them.
"""
import json
import os
import shutil
import re
import smtplib
import ssl
import subprocess
import sys
import tempfile

from postfix_instance import PrivatePostfix, differential_main, free_port, wait_for_port

def replay(ports, cases, facts):
    """cases: {test name: [(command, args...)]} -> {(test, line): reply};
    each case on the port of its service (ports: name -> port), over TLS
    when it says `tls`."""
    replies = {}
    for test, steps in cases.items():
        client = next((s for s in steps if s["command"].startswith("client ")), None)
        service, tls = facts.get(test, ("smtp", False))
        with smtplib.SMTP("127.0.0.1", ports[service], timeout=30) as s:
            s.ehlo("tester.example")
            if tls:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                s.starttls(context=context)
                s.ehlo("tester.example")
            if client:
                address = client["address"]
                name = client["name"] if client["name"] != "unknown" else "[UNAVAILABLE]"
                attrs = f"ADDR={address} NAME={name} REVERSE_NAME={name}"
                if client.get("sasl"):
                    attrs += f" LOGIN={client['sasl']}"
                code, msg = s.docmd("XCLIENT " + attrs)
                if code != 220:
                    raise RuntimeError(f"XCLIENT refused: {code} {msg!r}")
                replies[(test, client["line"])] = "220"
            for step in steps:
                command = step["command"]
                if command.startswith("client "):
                    continue
                if command.startswith("helo "):
                    code, msg = s.ehlo(command[5:])
                elif command.startswith("mail from "):
                    code, msg = s.docmd("MAIL FROM:" + command[10:])
                elif command.startswith("rcpt to "):
                    code, msg = s.docmd("RCPT TO:" + command[8:])
                elif command == "data":
                    code, msg = s.docmd("DATA")
                    if code == 354:
                        content = client.get("content", "") if client else ""
                        s.send((content + "\r\n.\r\n").encode())
                        code, msg = s.getreply()
                else:
                    continue
                text = msg.decode(errors="replace").split("\n")[-1] if isinstance(msg, bytes) else str(msg)
                replies[(test, step["line"])] = f"{code} {text}"
    return replies


def cases_of(printed, test_file):
    """Groups `postern test --print` rows by test, with the client facts."""
    cases = {}
    facts = parse_facts(test_file)
    for row in printed:
        steps = cases.setdefault(row["test"], [])
        entry = {"command": row["command"], "line": row["line"]}
        if row["command"].startswith("client "):
            entry.update(facts.get((row["test"], row["line"]), {}))
        steps.append(entry)
    return cases


def parse_facts(test_file):
    """The client line and sasl user of each case, for XCLIENT."""
    facts = {}
    test = None
    sasl = {}
    headers = {}
    body = {}
    clients = []
    for number, line in enumerate(open(test_file), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "test":
            test = line.strip()[5:].strip().strip('"')
        elif words[0] == "sasl":
            sasl[test] = words[1]
        elif words[0] == "header":
            headers.setdefault(test, []).append(line.strip()[7:].strip())
        elif words[0] == "body":
            body.setdefault(test, []).append(line.strip()[5:])
        elif words[0] == "client":
            clients.append((test, number, words[1], words[2] if len(words) > 2 and words[2] != "expect" else "unknown"))
    for test, number, address, name in clients:
        content = "\r\n".join(headers.get(test, []) + [""] + body.get(test, []))
        facts[(test, number)] = {"address": address, "name": name, "sasl": sasl.get(test), "content": content}
    return facts


def session_facts(test_file):
    """Each case's service (`service NAME`, else smtp) and whether it says `tls`."""
    facts = {}
    test = None
    for line in open(test_file):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "test":
            test = line.strip()[5:].strip().strip('"')
            facts[test] = ("smtp", False)
        elif words[0] == "service":
            facts[test] = (words[1], facts[test][1])
        elif words[0] == "tls":
            facts[test] = (facts[test][0], True)
    return facts


def smtpd_services(config):
    """The inet smtpd services of the configuration's master.cf other than smtp."""
    names = []
    for line in open(os.path.join(config, "master.cf")):
        f = line.split()
        if len(f) >= 8 and not line[0].isspace() and f[1] == "inet" and f[7] == "smtpd" and f[0] != "smtp":
            names.append(f[0])
    return names


def postern_view(instance, ports):
    """A copy of the instance's configuration whose master.cf names the
    services as the original does (Postfix's copy names them by port), for
    `postern test`."""
    etc = os.path.join(instance.root, "postern-etc")
    shutil.copytree(instance.etc, etc)
    path = os.path.join(etc, "master.cf")
    text = open(path).read()
    for name, port in ports.items():
        text = re.sub(rf"^127\.0\.0\.1:{port} inet", f"{name} inet", text, flags=re.M)
    open(path, "w").write(text)
    return etc


def run_configuration(postern, config):
    tests_dir = os.path.join(config, "tests")
    users = os.path.join(config, "trace", "users")
    failures = compared = 0
    for test_name in sorted(os.listdir(tests_dir)):
        if not test_name.endswith(".test"):
            continue
        test_file = os.path.join(tests_dir, test_name)
        if "differential: no" in open(test_file).readline():
            continue  # cases about Postern's own policy language
        root = tempfile.mkdtemp(prefix="postern-pfx-")
        ports = {name: free_port() for name in smtpd_services(config)}
        instance = PrivatePostfix(config, root, {"smtpd_authorized_xclient_hosts": "127.0.0.0/8"}, inet_ports=ports)
        ports["smtp"] = instance.port
        cmd = [postern, "test", "-c", postern_view(instance, ports), "--print", test_file]
        if os.path.exists(users):
            cmd[2:2] = ["--users", users]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            raise RuntimeError(proc.stderr)
        printed = json.loads(proc.stdout)
        with instance:
            for port in ports.values():
                wait_for_port(port)
            theirs = replay(ports, cases_of(printed, test_file), session_facts(test_file))
        file_failures = 0
        for row in printed:
            key = (row["test"], row["line"])
            if key not in theirs:
                continue
            ours, postfix = row["reply"], theirs[key]
            same = ours == postfix if postfix[:1] in "45" or ours[:1] in "45" else ours[:3] == postfix[:3]
            compared += 1
            if not same:
                file_failures += 1
                print(f"DIFFERENT {test_file}:{row['line']} {row['test']}: {row['command']}\n"
                      f"  postfix: {postfix}\n  postern: {ours}")
        print(f"{test_file}: {len(printed)} replies, {file_failures} different")
        failures += file_failures
        if file_failures == 0:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"  (instance kept in {root})")
    return compared, failures


def main():
    return differential_main("postfix policy differential", "replies", "tests", run_configuration)


if __name__ == "__main__":
    sys.exit(main())
