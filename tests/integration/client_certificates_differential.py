#!/usr/bin/env python3
"""TLS client certificates, posternd and a private Postfix 3.7 side by
side: services that ask for a certificate (smtpd_tls_ask_ccert) and judge
it with permit_tls_clientcerts (relay_clientcerts lists one by its
fingerprint, another by its public key's), permit_tls_all_clientcerts
(smtpd_tls_CAfile or a smtpd_tls_CApath directory verifies it) and
check_ccert_access. Clients made with
openssl: two certificates the test CA signed, a self-signed one, and none;
every reply after STARTTLS is compared word for word. A service requires
a trusted certificate (smtpd_tls_req_ccert at level encrypt).

Needs root and Debian's postfix (exit 77 otherwise).
"""
import os
import shutil
import smtplib
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postfix_instance import SKIP  # noqa: E402
from posternd import arguments  # noqa: E402
from smtpd_services_differential import POSTFIX_UNIX_SERVICES, SideBySide, finish, office_config  # noqa: E402

MASTER_CF = """\
smtp      inet  n       -       n       -       -       smtpd
listed    inet  n       -       n       -       -       smtpd
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_fingerprint_digest=sha256
  -o relay_clientcerts=texthash:CERTS/relay_clientcerts
  -o { smtpd_relay_restrictions = permit_mynetworks, permit_tls_clientcerts, reject_unauth_destination }
verified  inet  n       -       n       -       -       smtpd
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_CAfile=CERTS/ca.pem
  -o { smtpd_relay_restrictions = permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination }
judged    inet  n       -       n       -       -       smtpd
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_CAfile=CERTS/ca.pem
  -o smtpd_tls_fingerprint_digest=sha256
  -o { smtpd_client_restrictions = check_ccert_access texthash:CERTS/ccert_access }
capath    inet  n       -       n       -       -       smtpd
  -o smtpd_tls_ask_ccert=yes
  -o smtpd_tls_CApath=CERTS/authorities
  -o { smtpd_relay_restrictions = permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination }
required  inet  n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_req_ccert=yes
  -o smtpd_tls_CAfile=CERTS/ca.pem
unasked   inet  n       -       n       -       -       smtpd
  -o { smtpd_relay_restrictions = permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination }
""" + POSTFIX_UNIX_SERVICES

SETTINGS = {"mynetworks": "10.0.0.0/8"}

SERVICES = ("listed", "verified", "capath", "judged", "required", "unasked")
CLIENTS = ("signed", "other", "self", None)


def openssl(*argv, **kwargs):
    return subprocess.run(["openssl", *argv], check=True, capture_output=True, **kwargs).stdout


def make_certificates(directory):
    """A CA, two client certificates it signed and a self-signed one; the
    sha256 fingerprints of each certificate and of its public key, as
    Postfix writes them."""
    def path(name, kind):
        return os.path.join(directory, f"{name}.{kind}")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca", "key"), "-out", path("ca", "pem"),
            "-days", "2", "-subj", "/CN=Test CA")
    for name in ("signed", "other"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", path(name, "key"), "-out", path(name, "csr"),
                "-subj", f"/CN={name}.client.example")
        openssl("x509", "-req", "-in", path(name, "csr"), "-CA", path("ca", "pem"), "-CAkey", path("ca", "key"),
                "-CAcreateserial", "-out", path(name, "pem"), "-days", "2")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("self", "key"), "-out",
            path("self", "pem"), "-days", "2", "-subj", "/CN=self.client.example")
    prints = {}
    for name in ("signed", "other", "self"):
        line = openssl("x509", "-in", path(name, "pem"), "-noout", "-fingerprint", "-sha256").decode()
        cert = line.strip().split("=", 1)[1].upper()
        public = openssl("x509", "-in", path(name, "pem"), "-noout", "-pubkey")
        der = openssl("pkey", "-pubin", "-outform", "DER", input=public)
        digest = openssl("dgst", "-sha256", "-c", input=der).decode().strip().split("= ", 1)[1].upper()
        prints[name] = (cert, digest)
    # smtpd_tls_CApath: the CA in a hashed directory.
    authorities = os.path.join(directory, "authorities")
    os.makedirs(authorities)
    shutil.copy(path("ca", "pem"), authorities)
    openssl("rehash", authorities)
    for name in os.listdir(directory):
        os.chmod(os.path.join(directory, name), 0o755 if name == "authorities" else 0o644)
    for name in os.listdir(authorities):
        os.chmod(os.path.join(authorities, name), 0o644)
    return prints


def talk(port, client, directory):
    """STARTTLS with `client`'s certificate (or none), then MAIL and two
    RCPTs: the replies, "(TLS failed)" when the handshake does."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if client:
        context.load_cert_chain(os.path.join(directory, f"{client}.pem"), os.path.join(directory, f"{client}.key"))
    replies = []
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=20) as s:
        try:
            s.starttls(context=context)
        except (ssl.SSLError, smtplib.SMTPException, OSError) as e:
            return [f"(TLS failed: {type(e).__name__})"]
        # smtpd_tls_req_ccert answers the first command after the handshake
        # with 421 and hangs up.
        for command in ("EHLO client.example", "MAIL FROM:<someone@outside.example>", "RCPT TO:<fred@example.com>",
                        "RCPT TO:<user@elsewhere.example>"):
            try:
                code, text = s.docmd(command)
            except smtplib.SMTPServerDisconnected:
                replies.append("(closed)")
                break
            replies.append(f"{code} {text.decode(errors='replace').splitlines()[-1]}")
            if code == 421:
                break
    return replies


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-ccert-")
    os.chmod(root, 0o755)
    certs = os.path.join(root, "certs")
    os.makedirs(certs)
    os.chmod(certs, 0o755)
    prints = make_certificates(certs)
    with open(os.path.join(certs, "relay_clientcerts"), "w") as f:
        f.write(f"{prints['signed'][0]} signed.client.example\n{prints['self'][1]} self.client.example\n")
    with open(os.path.join(certs, "ccert_access"), "w") as f:
        f.write(f"{prints['other'][0]} REJECT not this one\n"
                f"{prints['self'][1]} 550 5.7.1 self-signed keys are refused\n"
                f"{prints['signed'][0]} DUNNO\n")
    for name in ("relay_clientcerts", "ccert_access"):
        os.chmod(os.path.join(certs, name), 0o644)
    config = office_config(args.source, root, MASTER_CF.replace("CERTS", certs), SETTINGS)
    results = []
    check = subprocess.run([args.postern, "check", "-c", config], capture_output=True, text=True)
    results.append(("postern check passes the certificate restrictions", check.returncode == 0,
                    check.stdout + check.stderr))
    with SideBySide(args, config, root, SERVICES) as servers:
        compared = different = 0
        for service in SERVICES:
            for client in CLIENTS:
                theirs = talk(servers.theirs[service], client, certs)
                ours = talk(servers.ours[service], client, certs)
                for postfix, postern in zip(theirs, ours):
                    compared += 1
                    if postfix != postern:
                        different += 1
                        print(f"DIFFERENT [{service}, client {client}]\n  postfix: {postfix}\n  postern: {postern}")
                if len(theirs) != len(ours):
                    different += 1
                    print(f"DIFFERENT [{service}, client {client}]: {theirs} / {ours}")
        results.append((f"{compared} replies compared with Postfix, word for word", different == 0,
                        f"{different} different"))
    log = servers.posternd_log
    results.append(("posternd logs trusted, untrusted and anonymous TLS connections",
                    all(f"{kind} TLS connection established" in log for kind in ("Trusted", "Untrusted", "Anonymous")),
                    log[-2000:]))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
