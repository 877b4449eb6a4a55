#!/usr/bin/env python3
"""Signed images: posternd started with --signature-keys serves only images
a trusted key signed (postern compile --sign). A reload to an unsigned
image, to one signed by another key, or to one whose signature was
tampered with is refused and logged, and the old image keeps serving; a
signed one is taken. posternd does not start on an unsigned image.
`postern verify` agrees with the daemon. Keys are made with openssl."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, report  # noqa: E402


class SignedPosternd(Posternd):
    """A Posternd whose images are compiled with `postern compile --sign`."""

    def __init__(self, *args, key=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.key = key

    def compile_to(self, images, config=None, key=None):
        sign = ["--sign", key or self.key] if (key or self.key) else []
        r = subprocess.run([self.postern, "compile", "-c", config or self.config, "-o", images, *sign],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("postern compile failed: " + r.stderr)
        return r.stdout.strip()


def make_key(directory, name):
    private, public = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".pub")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", private], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True, capture_output=True)
    return private, public


def status_image(postern, queue):
    out = subprocess.run([postern, "status", "-q", queue], capture_output=True, text=True).stdout
    return out


def main():
    args = arguments()
    if shutil.which("openssl") is None:
        print("skipped: needs openssl")
        return 77
    keys = tempfile.mkdtemp(prefix="postern-keys-")
    trusted, trusted_pub = make_key(keys, "trusted")
    other, _ = make_key(keys, "other")
    results = []
    config = os.path.join(args.source, "tests", "integration", "configs", "daemon")
    with SignedPosternd(args.postern, args.posternd, config, key=trusted,
                        args=["--signature-keys", trusted_pub]) as d:
        first = d.image
        verify = subprocess.run([args.postern, "verify", d.images, "--key", trusted_pub], capture_output=True, text=True)
        results.append(("postern verify: the served image is signed by the trusted key",
                        verify.returncode == 0 and first in verify.stdout, verify.stdout + verify.stderr))
        results.append(("posternd serves a signed image", first in status_image(args.postern, d.queue),
                        d.log_text()[-1500:]))

        # Unsigned: refused, the old image keeps serving.
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write("smtpd_banner = $myhostname ESMTP unsigned\n")
        unsigned = subprocess.run([args.postern, "compile", "-c", d.config, "-o", d.images], capture_output=True,
                                  text=True, check=True).stdout.strip()
        reload = subprocess.run([args.postern, "reload", "-q", d.queue], capture_output=True, text=True)
        results.append(("a reload to an unsigned image is refused; the old one keeps serving",
                        "not signed" in d.log_text() and first in status_image(args.postern, d.queue)
                        and unsigned != first, reload.stdout + d.log_text()[-1500:]))
        # Signed by a key posternd does not trust.
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write("smtpd_banner = $myhostname ESMTP other key\n")
        foreign = d.compile_to(d.images, key=other)
        subprocess.run([args.postern, "reload", "-q", d.queue], capture_output=True, text=True)
        results.append(("... and to one signed by an untrusted key",
                        "which is not trusted" in d.log_text() and first in status_image(args.postern, d.queue),
                        d.log_text()[-1500:]))
        # A signature copied onto another image does not match it.
        with open(os.path.join(d.images, first, "SIGNATURE")) as f:
            stolen = f.read()
        target = os.path.join(d.images, foreign, "SIGNATURE")
        os.chmod(target, 0o644)
        with open(target, "w") as f:
            f.write(stolen)
        subprocess.run([args.postern, "reload", "-q", d.queue], capture_output=True, text=True)
        results.append(("... and to one carrying another image's signature",
                        "does not match image " + foreign in d.log_text()
                        and first in status_image(args.postern, d.queue), d.log_text()[-1500:]))
        # Signed by the trusted key: taken.
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write("smtpd_banner = $myhostname ESMTP signed again\n")
        second = d.compile_to(d.images)
        subprocess.run([args.postern, "reload", "-q", d.queue], capture_output=True, text=True)
        deadline = time.time() + 10
        while second not in status_image(args.postern, d.queue) and time.time() < deadline:
            time.sleep(0.1)
        results.append(("a signed image is taken", second in status_image(args.postern, d.queue),
                        d.log_text()[-1500:]))
    # Starting on an unsigned image fails, saying why.
    probe = SignedPosternd(args.postern, args.posternd, config, key=None, args=["--signature-keys", trusted_pub])
    try:
        probe.image = probe.compile()
        started, why = True, ""
        try:
            probe.start(attempts=1)
        except RuntimeError as e:
            started, why = False, str(e)
        results.append(("posternd does not start on an unsigned image", not started and "not signed" in why, why))
    finally:
        probe.__exit__(None, None, None)
    shutil.rmtree(keys, ignore_errors=True)
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
