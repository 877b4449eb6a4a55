#!/usr/bin/env python3
"""SMTP AUTH to a smarthost (smtp_sasl_auth_enable): posternd's smtp client
and a private Postfix 3.7's, side by side, relay through the same
smarthost, a second posternd whose submission port requires STARTTLS and
authenticates against a real Dovecot, and which delivers to an smtp-sink.

Both clients run examples/office with relayhost = [127.0.0.1]:submission,
smtp_tls_security_level = encrypt and a 0600 smtp_sasl_password_maps keyed
by sender (smtp_sender_dependent_authentication): the right password is
sent (PLAIN; LOGIN through a transport with smtp_sasl_mechanism_filter);
a wrong one defers with the smarthost's 535; a transport whose TLS security
options forbid plaintext mechanisms defers with Cyrus's reason; mail
without credentials is refused by the smarthost. Each outcome's status,
dsn and reason are compared with Postfix's; then the smarthost's log (the
same mechanism and user for both clients), the sink, no password in any
log, the table's restriction in the image and postern check's PC0151.

Needs root, Debian's postfix and dovecot-core (exit 77 otherwise).
"""
import base64
import os
import re
import shutil
import smtplib
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Dovecot, SmtpSink  # noqa: E402
from postfix_instance import SKIP, PrivatePostfix, free_port, wait_for_port  # noqa: E402
from posternd import Posternd, arguments  # noqa: E402
from smtpd_services_differential import POSTFIX_UNIX_SERVICES, finish, office_config  # noqa: E402

PASSWORD = "Sm4rt-H0st-Pw"
USER = "relay@example.com"
CREDENTIALS = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()

# The smarthost: submission with STARTTLS required and AUTH, relaying only
# for authenticated clients.
HUB_MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
""" + POSTFIX_UNIX_SERVICES

# The clients: the smtp transport, one that asks for LOGIN, one whose
# options under TLS forbid plaintext mechanisms (Postfix's default).
CLIENT_MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
loginrelay unix -       -       n       -       -       smtp
  -o smtp_sasl_mechanism_filter=login
strict    unix  -       -       n       -       -       smtp
  -o smtp_sasl_tls_security_options=noplaintext,noanonymous
""" + POSTFIX_UNIX_SERVICES

# (case, sender, recipient, the outcome both must reach)
CASES = [
    ("right", "right@example.com", "someone@elsewhere.org", "sent"),
    ("login", "right@example.com", "someone@login.example", "sent"),
    ("wrong", "wrong@example.com", "someone@wrong.example", "deferred"),
    ("strict", "right@example.com", "someone@strict.example", "deferred"),
    ("stranger", "", "someone@elsewhere.org", "bounced"),
]


def client_config(source, root, hub_port):
    config = office_config(source, root, CLIENT_MASTER_CF, {
        "relayhost": f"[127.0.0.1]:{hub_port}",
        "transport_maps": "hash:/etc/postfix/smarthost_transport",
        "smtp_tls_security_level": "encrypt",
        "smtp_sasl_auth_enable": "yes",
        "smtp_sasl_password_maps": "hash:/etc/postfix/sasl_passwd",
        "smtp_sasl_security_options": "noanonymous",
        "smtp_sender_dependent_authentication": "yes",
    })
    with open(os.path.join(config, "smarthost_transport"), "w") as f:
        # A failed authentication suspends its destination (transport and
        # nexthop) in both MTAs: each failing case has its own.
        f.write(f"login.example loginrelay:[127.0.0.1]:{hub_port}\n"
                f"strict.example strict:[127.0.0.1]:{hub_port}\n"
                f"wrong.example relay:[127.0.0.1]:{hub_port}\n")
    path = os.path.join(config, "sasl_passwd")
    with open(path, "w") as f:
        f.write(f"right@example.com {USER}:{PASSWORD}\nwrong@example.com {USER}:guess\n")
    os.chmod(path, 0o600)
    return config


def submit(port, case, sender, recipient):
    """Hands one message to a client's smtpd; its queue id."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("submitter.example")
        s.mail(sender)
        s.rcpt(recipient)
        code, text = s.data(f"From: <{sender or 'mailer-daemon@example.com'}>\r\nTo: <{recipient}>\r\n"
                            f"Subject: {case}\r\nX-Test-Input: {case}\r\n\r\nvia the smarthost\r\n")
    m = re.search(r"queued as (\S+)", text.decode())
    if code != 250 or not m:
        raise RuntimeError(f"{case}: not queued: {code} {text!r}")
    return m.group(1)


def outcomes(read_log, ids, timeout=60):
    """The delivery line of each queue id: {case: (status, dsn, relay, reason)}."""
    found = {}
    deadline = time.time() + timeout
    while time.time() < deadline and len(found) < len(ids):
        for line in read_log().splitlines():
            for case, qid in ids.items():
                if case in found or f" {qid}: to=<" not in line:
                    continue
                m = re.search(r"relay=([^,]+),.* dsn=([0-9.]+), status=(\w+) \((.*)\)$", line)
                if m:
                    found[case] = (m.group(3), m.group(2), m.group(1), m.group(4))
        time.sleep(0.3)
    return found


def comparable(outcome):
    """What must agree: status, dsn, relay, and the reason unless the mail
    was sent (the smarthost's queue id differs)."""
    status, dsn, relay, reason = outcome
    return (status, dsn, relay, "" if status == "sent" else reason)


def run_side(label, port, read_log, hub):
    before = len(hub.log_text())
    ids = {case: submit(port, case, sender, recipient) for case, sender, recipient, _ in CASES}
    found = outcomes(read_log, ids)
    time.sleep(1)  # the smarthost's log lines for the last session
    return found, hub.log_text()[before:]


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None or not Dovecot.available():
        print("skipped: needs root, Debian's postfix and dovecot-core")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-smarthost-")
    os.chmod(root, 0o755)
    results = []
    hub_port = free_port()
    with Dovecot(os.path.join(root, "dovecot"), {USER: PASSWORD}) as dovecot, SmtpSink() as sink:
        hub_config = office_config(args.source, os.path.join(root, "hub"), HUB_MASTER_CF, {
            "myhostname": "smarthost.example.net",
            "relayhost": f"[127.0.0.1]:{sink.port}",
            "transport_maps": "",
            "smtp_tls_security_level": "none",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": dovecot.socket,
        })
        config = client_config(args.source, os.path.join(root, "client"), hub_port)

        check = subprocess.run([args.postern, "check", "-c", config], capture_output=True, text=True)
        results.append(("postern check passes the client with a 0600 password table",
                        check.returncode == 0 and "PC0151" not in check.stderr, check.stdout + check.stderr))
        readable = os.path.join(root, "readable")
        shutil.copytree(config, readable)
        os.chmod(os.path.join(readable, "sasl_passwd"), 0o644)
        check = subprocess.run([args.postern, "check", "-c", readable], capture_output=True, text=True)
        results.append(("postern check warns about a password table every user can read (PC0151)",
                        "PC0151" in check.stdout + check.stderr and "sasl_passwd" in check.stdout + check.stderr,
                        check.stdout + check.stderr))

        with Posternd(args.postern, args.posternd, hub_config, deliver=True,
                      args=["--listen", f"submission=127.0.0.1:{hub_port}"]) as hub:
            wait_for_port(hub_port)
            # As mail_owner, whose group may read the image's copy of the
            # password table.
            with Posternd(args.postern, args.posternd, config, deliver=True, user="postfix") as ours:
                images = os.path.join(ours.images, ours.image)
                secret_files = [os.path.join(d, f) for d, _, fs in os.walk(images) for f in fs
                                if PASSWORD.encode() in open(os.path.join(d, f), "rb").read()]
                results.append(("the image's copy of the password table is not world-readable",
                                secret_files and all(not os.stat(p).st_mode & stat.S_IROTH for p in secret_files),
                                [(p, oct(os.stat(p).st_mode)) for p in secret_files]))
                our_outcomes, our_hub_log = run_side("postern", ours.port, ours.log_text, hub)
                our_log = ours.log_text()
            with PrivatePostfix(config, os.path.join(root, "postfix"), recorded=()) as theirs:
                maillog = os.path.join(root, "postfix", "maillog")

                def read_postfix_log():
                    try:
                        return open(maillog, errors="replace").read()
                    except OSError:
                        return ""

                their_outcomes, their_hub_log = run_side("postfix", theirs.port, read_postfix_log, hub)
            hub_log = hub.log_text()

        compared = different = 0
        for case, _, _, expected in CASES:
            a, b = their_outcomes.get(case), our_outcomes.get(case)
            compared += 1
            same = a is not None and b is not None and comparable(a) == comparable(b)
            if not same:
                different += 1
                print(f"DIFFERENT [{case}]\n  postfix: {a}\n  postern: {b}")
            results.append((f"{case}: {expected}, as with Postfix", same and b[0] == expected,
                            f"postfix: {a}\npostern: {b}"))
        results.append((f"{compared} delivery outcomes compared with Postfix", different == 0,
                        f"{different} different"))
        for label, log in (("postfix", their_hub_log), ("postern", our_hub_log)):
            for method, count in (("PLAIN", 1), ("LOGIN", 1)):
                words = f"sasl_method={method}, sasl_username={USER}"
                results.append((f"the smarthost authenticated {label}'s client with {method}",
                                log.count(words) == count, f"{log.count(words)} times"))
            results.append((f"the smarthost refused {label}'s wrong password",
                            "SASL PLAIN authentication failed" in log, log[-1500:]))
        arrived = [m for m in sink.messages() if "X-Test-Input:" in m]
        for case in ("right", "login"):
            n = sum(1 for m in arrived if f"X-Test-Input: {case}" in m)
            results.append((f"{case}: both clients' messages reached the sink", n == 2, f"{n} arrived"))
        secrets = (PASSWORD, CREDENTIALS)
        for label, text in (("posternd client", our_log), ("smarthost posternd", hub_log),
                            ("postern check", check.stdout + check.stderr)):
            results.append((f"no password in the {label}'s log", not any(s in text for s in secrets),
                            [s for s in secrets if s in text]))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
