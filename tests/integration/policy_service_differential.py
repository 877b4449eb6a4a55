#!/usr/bin/env python3
"""check_policy_service, posternd and a private Postfix 3.7 side by side,
talking to the same policy servers: a recording server in this test, which
answers each request by its sender's local part (DUNNO, OK, REJECT with a
text, DEFER_IF_PERMIT, a numeric reply, a restriction), an address nobody
listens on (smtpd_policy_service_default_action, 451 4.3.5), Debian's
postgrey (the first attempt greylisted, the retry after the delay
accepted) and Debian's postfix-policyd-spf-python (SPF pass and fail
against TXT records that dnsmasq serves it). Every reply is compared word for word, then the requests
themselves: the same attributes in the same order, with the same values
(the ports, the queue id and the instance, which differ between two
servers, only where they are empty).

Needs root, Debian's postfix, postgrey, postfix-policyd-spf-python and
dnsmasq, and mount namespaces (exit 77 otherwise).
"""
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_restrictions_differential import MASTER_CF as STANDARD_MASTER_CF  # noqa: E402
from peers import Dnsmasq, PolicyRecorder, Postgrey, SpfPolicyServer  # noqa: E402
from postfix_instance import SKIP, free_port  # noqa: E402
from posternd import arguments  # noqa: E402
from smtpd_services_differential import SideBySide, finish, office_config, talk  # noqa: E402

ANSWERS = {
    "dunno": "DUNNO",
    "ok": "OK",
    "reject": "REJECT go away",
    "plain": "REJECT",
    "later": "DEFER_IF_PERMIT come back later",
    "numeric": "550 5.7.1 no thanks",
    "tempfail": "450 4.7.1 not now",
    "hold": "HOLD",
    "restriction": "reject_unauth_destination",
    "garbage": "WHATEVER this is",
}


def answer(request):
    return ANSWERS.get(request.get("sender", "").split("@")[0], "DUNNO")


DNS_ADDRESS = "127.0.0.154"  # port 53 of its own (dns_restrictions_differential has .153)

SPF_CONFIG = """\
debugLevel = 0
TestOnly = 1
HELO_reject = Fail
Mail_From_reject = Fail
PermError_reject = False
TempError_Defer = False
skip_addresses = 192.0.2.250/32
"""


def master_cf(recorder_port, dead_port, postgrey_port, spf_port):
    return STANDARD_MASTER_CF.replace(
        "smtp      inet  n       -       n       -       -       smtpd\n",
        "smtp      inet  n       -       n       -       -       smtpd\n"
        "unreachable inet n     -       n       -       -       smtpd\n"
        "  -o { smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination,"
        f" check_policy_service inet:127.0.0.1:{dead_port} }}\n"
        "greylist  inet  n       -       n       -       -       smtpd\n"
        "  -o { smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination,"
        f" check_policy_service inet:127.0.0.1:{postgrey_port} }}\n"
        "spf       inet  n       -       n       -       -       smtpd\n"
        "  -o { smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination,"
        f" check_policy_service inet:127.0.0.1:{spf_port} }}\n", 1)


def envelope(sender, *recipients):
    return [f"MAIL FROM:<{sender}>"] + [f"RCPT TO:<{r}>" for r in recipients] + ["RSET"]


def dialogues():
    lines = ["EHLO client.example"]
    for local in ANSWERS:
        lines += envelope(f"{local}@outside.example", "fred@example.com", "jean@example.com")
    lines += envelope("dunno@outside.example", "fred@example.com")[:-1] + ["DATA", ".", "QUIT"]
    return {"the recording server's answers": ("smtp", lines),
            "a policy server nobody listens on": ("unreachable", ["EHLO client.example"]
                                                  + envelope("dunno@outside.example", "fred@example.com")),
            "SPF (postfix-policyd-spf-python)": ("spf", ["EHLO client.example"]
                                                 + envelope("a@spf-pass.test.example", "fred@example.com")
                                                 + envelope("a@spf-fail.test.example", "fred@example.com")
                                                 + envelope("a@spf-none.test.example", "fred@example.com"))}


def compare_requests(theirs, ours):
    """Differences between the requests Postfix and posternd sent."""
    varying = {"client_port", "server_port", "queue_id", "instance"}
    problems = []
    if len(theirs) != len(ours):
        problems.append(f"{len(theirs)} requests from Postfix, {len(ours)} from posternd")
    for i, (a, b) in enumerate(zip(theirs, ours)):
        if list(a) != list(b):
            problems.append(f"request {i}: attributes {list(a)} != {list(b)}")
            continue
        for name in a:
            same = (bool(a[name]) == bool(b[name])) if name in varying else a[name] == b[name]
            if not same:
                problems.append(f"request {i}: {name}={a[name]!r} from Postfix, {b[name]!r} from posternd")
    return problems


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None or not Postgrey.available() or \
            not SpfPolicyServer.available() or not os.path.exists("/usr/sbin/dnsmasq"):
        print("skipped: needs root, Debian's postfix, postgrey, postfix-policyd-spf-python, dnsmasq and unshare")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-policy-")
    os.chmod(root, 0o755)
    results = []
    spf_config = os.path.join(root, "policyd-spf.conf")
    resolv_conf = os.path.join(root, "resolv.conf")
    with open(spf_config, "w") as f:
        f.write(SPF_CONFIG)
    with open(resolv_conf, "w") as f:
        f.write(f"nameserver {DNS_ADDRESS}\n")
    zone = Dnsmasq("test.example", address=DNS_ADDRESS, port=53,
                   extra=["--txt-record=spf-fail.test.example,v=spf1 -all",
                          "--txt-record=spf-pass.test.example,v=spf1 ip4:127.0.0.0/8 -all"])
    with PolicyRecorder(answer) as recorder, Postgrey(os.path.join(root, "postgrey"), delay=2) as postgrey, \
            zone, SpfPolicyServer(spf_config, resolv_conf) as spf:
        config = office_config(args.source, root, master_cf(recorder.port, free_port(), postgrey.port, spf.port), {
            "mynetworks": "10.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination, "
                                        f"check_policy_service inet:127.0.0.1:{recorder.port}",
        })
        with SideBySide(args, config, root, ("smtp", "unreachable", "greylist", "spf")) as servers:
            compared = different = 0
            requests = {}
            for label, ports in (("postfix", servers.theirs), ("postern", servers.ours)):
                del recorder.requests[:]
                requests[label] = {name: talk(ports[service], "plain", lines)
                                   for name, (service, lines) in dialogues().items()}
                requests[label + " requests"] = list(recorder.requests)
            for name in dialogues():
                for (command, a), (_, b) in zip(requests["postfix"][name], requests["postern"][name]):
                    if command == "(greeting)":
                        continue
                    a, b = (re.sub(r"queued as \S+", "queued as ID", x) for x in (a, b))
                    compared += 1
                    if a != b:
                        different += 1
                        print(f"DIFFERENT [{name}] {command}\n  postfix: {a}\n  postern: {b}")
            # Greylisting: each server's own sender, so that each is greylisted once.
            grey = {}
            for label, ports in (("postfix", servers.theirs), ("postern", servers.ours)):
                lines = ["EHLO client.example"] + envelope(f"{label}@outside.example", "fred@example.com")
                first = talk(ports["greylist"], "plain", lines)
                time.sleep(postgrey.delay + 1.5)
                second = talk(ports["greylist"], "plain", lines)
                grey[label] = (first[3][1], second[3][1])
            compared += 1
            a, b = grey["postfix"], grey["postern"]
            same = a[0].split(" see ")[0] == b[0].split(" see ")[0] and a[1] == b[1] == "250 2.1.5 Ok"
            if not same:
                different += 1
                print(f"DIFFERENT [postgrey]\n  postfix: {a}\n  postern: {b}")
            results.append((f"postgrey: greylisted first ({b[0][:40]}...), accepted after the delay, as with Postfix",
                            same, f"postfix: {a}\npostern: {b}"))
            spf = [reply for command, reply in requests["postern"]["SPF (postfix-policyd-spf-python)"]
                   if command.startswith("RCPT")]
            results.append(("SPF: a pass accepted, a fail refused with policyd-spf's 550 5.7.23, none accepted",
                            len(spf) == 3 and spf[0] == spf[2] == "250 2.1.5 Ok" and spf[1].startswith("550 5.7.23"),
                            str(spf)))
            results.append((f"{compared} replies compared with Postfix, word for word", different == 0,
                            f"{different} different"))
            problems = compare_requests(requests["postfix requests"], requests["postern requests"])
            results.append((f"{len(requests['postern requests'])} policy requests with Postfix's attributes and values",
                            not problems and requests["postern requests"], "\n".join(problems[:10])))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
