#!/usr/bin/env python3
"""SMTP AUTH against a real Dovecot, posternd and a private Postfix 3.7 side
by side with the same master.cf and the same Dovecot: port 25 without AUTH,
submission that requires STARTTLS and offers AUTH only after it, smtps in
wrapper mode, and a service that offers no AUTH to loopback clients
(smtpd_sasl_exceptions_networks). Every reply after the greeting is
compared word for word (235, 535 5.7.8, 503 5.5.1, 501, 334 challenges,
relaying with and without authentication, the sender login checks of
smtpd_sender_login_maps, 450 4.7.1 beyond smtpd_client_auth_rate_limit),
then both logs: sasl_method= and sasl_username= on the client= line, the
failed-authentication warning, and no password in posternd's log.

Needs root, Debian's postfix and dovecot-core (exit 77 otherwise).
"""
import base64
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Dovecot  # noqa: E402
from postfix_instance import SKIP  # noqa: E402
from posternd import arguments  # noqa: E402
from smtpd_services_differential import (POSTFIX_UNIX_SERVICES, SideBySide, compare_replies,  # noqa: E402
                                         ehlo_keywords, finish, office_config)  # noqa: E402

USERS = {"fred@example.com": "s3cret-Pa55", "jean": "motdepasse"}


def b64(text):
    return base64.b64encode(text.encode()).decode()


RIGHT = b64("\0fred@example.com\0s3cret-Pa55")
WRONG = b64("\0fred@example.com\0guess")

MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
  -o smtpd_sender_restrictions=reject_unauthenticated_sender_login_mismatch
submission inet n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
smtps     inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_client_auth_rate_limit=3
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sender_restrictions=reject_known_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
exempt    inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/exempt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_exceptions_networks=127.0.0.0/8
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
""" + POSTFIX_UNIX_SERVICES

SERVICES = ("smtp", "submission", "smtps", "exempt")

# smtpd_sender_login_maps: the logins that own each sender address.
SENDER_LOGINS = """\
fred@example.com     fred@example.com
jean@example.com     jean
shared@example.com   fred@example.com, jean
"""


def sender_rcpt(sender):
    return ["RSET", f"MAIL FROM:<{sender}>", "RCPT TO:<someone@elsewhere.org>"]
RELAY = ["MAIL FROM:<fred@example.com>", "RCPT TO:<someone@elsewhere.org>"]
EHLO = "EHLO client.example"  # again after STARTTLS (RFC 3207)

DIALOGUES = {
    "port 25 offers no AUTH": ("smtp", "plain", ["EHLO client.example", "AUTH PLAIN " + RIGHT] + RELAY),
    "submission before STARTTLS": ("submission", "plain", ["EHLO client.example", "AUTH PLAIN " + RIGHT]),
    "submission without AUTH does not relay": ("submission", "starttls", [EHLO] + RELAY),
    "submission, AUTH before EHLO": ("submission", "starttls", ["AUTH PLAIN " + RIGHT, "AUTH"]),
    "submission, a wrong password, then the right one": (
        "submission", "starttls", [EHLO, "AUTH PLAIN " + WRONG, "AUTH PLAIN " + RIGHT, "AUTH PLAIN " + RIGHT] + RELAY),
    "submission, LOGIN": ("submission", "starttls",
                          [EHLO, "AUTH LOGIN", b64("jean"), b64("motdepasse"), "MAIL FROM:<jean@example.com>",
                           "RCPT TO:<someone@elsewhere.org>", "RSET", "MAIL FROM:<jean@example.com>",
                           "AUTH PLAIN " + RIGHT]),
    "submission, LOGIN aborted": ("submission", "starttls", [EHLO, "AUTH LOGIN", "*", "AUTH LOGIN", b64("jean"), "*"]),
    "submission, AUTH syntax": ("submission", "starttls",
                                [EHLO, "AUTH", "AUTH CRAM-MD5", "AUTH PLAIN a b", "AUTH PLAIN =", "*"]),
    "smtps, wrapped": ("smtps", "wrapped", ["EHLO client.example", "AUTH PLAIN " + RIGHT] + RELAY),
    "submission, the senders fred owns (reject_sender_login_mismatch)": (
        "submission", "starttls",
        [EHLO, "AUTH PLAIN " + RIGHT] + sender_rcpt("fred@example.com") + sender_rcpt("jean@example.com")
        + sender_rcpt("shared@example.com") + sender_rcpt("stranger@elsewhere.org") + sender_rcpt("")
        + sender_rcpt("fred") + sender_rcpt("FRED@Example.COM")),
    "submission, the senders jean owns": (
        "submission", "starttls",
        [EHLO, "AUTH LOGIN", b64("jean"), b64("motdepasse")] + sender_rcpt("jean@example.com")
        + sender_rcpt("fred@example.com") + sender_rcpt("shared@example.com")),
    "smtps, reject_known_sender_login_mismatch": (
        "smtps", "wrapped",
        [EHLO, "AUTH PLAIN " + RIGHT] + sender_rcpt("stranger@elsewhere.org") + sender_rcpt("jean@example.com")
        + sender_rcpt("shared@example.com")),
    "port 25 without SASL ignores reject_unauthenticated_sender_login_mismatch": (
        "smtp", "plain",
        ["EHLO client.example", "MAIL FROM:<fred@example.com>", "RCPT TO:<fred@example.com>", "RSET",
         "MAIL FROM:<someone@outside.example>", "RCPT TO:<fred@example.com>"]),
    "smtpd_sasl_exceptions_networks: AUTH not offered to the client": (
        "exempt", "plain", ["EHLO client.example", "AUTH PLAIN " + RIGHT] + RELAY),
    "smtps, password guessing (smtpd_client_auth_rate_limit)": (
        "smtps", "wrapped", [EHLO] + ["AUTH PLAIN " + WRONG] * 4 + ["AUTH PLAIN " + RIGHT]),
}


def compare(theirs, ours):
    compared, different = compare_replies(theirs, ours, DIALOGUES)
    # Before STARTTLS and in wrapper mode (after STARTTLS, the dialogues' AUTH
    # replies show it).
    for service, mode in (("smtp", "plain"), ("submission", "plain"), ("smtps", "wrapped"), ("exempt", "plain")):
        a = [w for w in ehlo_keywords(theirs[service], mode) if w.startswith("AUTH")]
        b = [w for w in ehlo_keywords(ours[service], mode) if w.startswith("AUTH")]
        compared += 1
        if a != b:
            different += 1
            print(f"DIFFERENT [{service} {mode}: AUTH in EHLO]\n  postfix: {a}\n  postern: {b}")
    return compared, different


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None or not Dovecot.available():
        print("skipped: needs root, Debian's postfix and dovecot-core")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-sasl-")
    os.chmod(root, 0o755)
    results = []
    with Dovecot(os.path.join(root, "dovecot"), USERS) as dovecot:
        config = office_config(args.source, root, MASTER_CF, {
            "mynetworks": "10.0.0.0/8", "smtpd_sasl_type": "dovecot", "smtpd_sasl_path": dovecot.socket,
            "smtpd_sender_login_maps": "hash:/etc/postfix/sender_logins"})
        with open(os.path.join(config, "sender_logins"), "w") as f:
            f.write(SENDER_LOGINS)
        check = subprocess.run([args.postern, "check", "-c", config], capture_output=True, text=True)
        results.append(("postern check passes submission and smtps with AUTH",
                        check.returncode == 0, check.stdout + check.stderr))
        with SideBySide(args, config, root, SERVICES) as servers:
            compared, different = compare(servers.theirs, servers.ours)
            results.append((f"{compared} replies compared with Postfix, word for word", different == 0,
                            f"{different} different"))
    theirs, ours = servers.postfix_log, servers.posternd_log
    for words in ("sasl_method=PLAIN, sasl_username=fred@example.com", "sasl_method=LOGIN, sasl_username=jean",
                  "SASL PLAIN authentication failed", "AUTH command rate limit exceeded: 4 from localhost[127.0.0.1]"):
        results.append((f"both logs say {words}", words in theirs and words in ours,
                        f"postfix: {words in theirs}, postern: {words in ours}"))
    secrets = ("s3cret-Pa55", "motdepasse", RIGHT, WRONG, b64("motdepasse"))
    results.append(("no password or credential in posternd's log", not any(s in ours for s in secrets),
                    [s for s in secrets if s in ours]))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
