#!/usr/bin/env python3
"""Debian's testssl.sh against posternd's STARTTLS at the default TLS
settings (only a certificate and key configured): no SSL, no TLS 1.0 or
1.1, no NULL, anonymous, export, low-grade, RC4 or 3DES cipher, forward
secrecy offered. Skips when testssl.sh is not installed."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from posternd import Posternd, arguments, report, tls_settings  # noqa: E402

# testssl.sh finding ids that must say "not offered" (protocols and cipher
# categories), and the ids that must not be worse than OK/INFO.
MUST_NOT_BE_OFFERED = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL", "cipherlist_aNULL",
                       "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA"]


def main():
    args = arguments()
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    if testssl is None:
        print("SKIP: testssl.sh (Debian package testssl.sh) is not installed")
        return 77
    config = os.path.join(args.source, "tests/integration/configs/daemon")
    results = []
    with Posternd(args.postern, args.posternd, config) as d:
        d.stop()
        with open(os.path.join(d.config, "main.cf"), "a") as f:
            f.write(tls_settings(d.root))
        d.compile()
        d.start()
        out = os.path.join(d.root, "testssl.json")
        r = subprocess.run([testssl, "--quiet", "--warnings", "off", "--color", "0", "--starttls", "smtp",
                            "-p", "-s", "-f", "--jsonfile", out, "127.0.0.1:%d" % d.port],
                           capture_output=True, text=True, timeout=600)
        try:
            findings = {f["id"]: f for f in json.load(open(out))}
        except (OSError, ValueError) as e:
            print(r.stdout[-3000:], r.stderr[-3000:])
            results.append(("testssl.sh ran", False, repr(e)))
            return report(results)
        for name in MUST_NOT_BE_OFFERED:
            f = findings.get(name, {})
            results.append(("%s is not offered" % name, "not offered" in f.get("finding", ""), f))
        for name in ("TLS1_2", "TLS1_3"):
            f = findings.get(name, {})
            results.append(("%s is offered" % name, f.get("finding", "").startswith("offered"), f))
        bad = {k: v for k, v in findings.items()
               if v.get("severity") in ("MEDIUM", "HIGH", "CRITICAL") and not k.startswith("cert")}
        results.append(("no finding of medium severity or worse", not bad, bad))
        fs = findings.get("FS", findings.get("PFS", {}))  # "PFS" before testssl.sh 3.1
        results.append(("forward secrecy is offered", "offered" in fs.get("finding", "") and fs.get("severity") == "OK",
                        fs))
    return report(results)


if __name__ == "__main__":
    sys.exit(main())
