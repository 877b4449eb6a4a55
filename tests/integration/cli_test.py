#!/usr/bin/env python3
"""End-to-end tests of the postern command line: exit codes, output
formats and the interfaces other tools rely on (check, conf, query,
compile, trace), --define and --hermetic."""
import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    postern = os.path.abspath(args.postern)
    source = pathlib.Path(args.source)
    office = str(source / "examples/office")
    results = []

    def run(*argv, stdin=None, cwd=None):
        return subprocess.run([postern, *argv], capture_output=True, text=True, input=stdin, cwd=cwd)

    def expect(name, condition, detail=""):
        results.append((name, bool(condition), detail))

    r = run("--version")
    expect("--version prints the version", r.returncode == 0 and r.stdout.startswith("postern "), r.stdout)
    r = run("--help")
    expect("--help lists the commands", r.returncode == 0 and all(c in r.stdout for c in ("check", "conf", "query")))
    r = run("frobnicate")
    expect("unknown command exits 2 and is called unknown",
           r.returncode == 2 and 'unknown command "frobnicate"' in r.stderr, r.stderr)
    # Without -q the queue tools look where posternd would: main.cf's
    # queue_directory ($MAIL_CONFIG), never Postfix's /var/spool/postfix.
    with tempfile.TemporaryDirectory() as etc:
        pathlib.Path(etc, "main.cf").write_text("queue_directory = %s/spool\n" % etc)
        r = subprocess.run([postern, "queue", "list"], capture_output=True, text=True,
                           env=dict(os.environ, MAIL_CONFIG=etc))
        expect("postern queue finds the queue in main.cf's queue_directory",
               r.returncode == 2 and "%s/spool is not a posternd queue" % etc in r.stderr, r.stderr)
        pathlib.Path(etc, "main.cf").write_text("queue_directory = /var/spool/postfix\n")
        r = subprocess.run([postern, "status"], capture_output=True, text=True, env=dict(os.environ, MAIL_CONFIG=etc))
        expect("... and /var/spool/postern for Postfix's own", "/var/spool/postern" in r.stderr + r.stdout,
               r.stdout + r.stderr)
    r = run("conf", "-c", office, "-h", "myhostname", "message_size_limit")
    expect("conf -h prints the values alone, as postconf -h",
           r.returncode == 0 and r.stdout == "mail.example.com\n20480000\n", r.stdout + r.stderr)

    r = run("check", "-c", office)
    expect("check: the example is clean", r.returncode == 0 and r.stdout == "", r.stdout + r.stderr)
    r = run("check", "-c", office, "--format", "json")
    report = json.loads(r.stdout)
    expect("check --format json", r.returncode == 0 and report["errors"] == 0 and report["diagnostics"] == [], r.stdout)

    # --hermetic: what an image compiled here takes from this machine;
    # --define settles it for a build.
    with tempfile.TemporaryDirectory() as d:
        pathlib.Path(d, "main.cf").write_text("compatibility_level = 3.6\nrelay_domains = example.com\n"
                                              "transport_maps = hash:%s/elsewhere/transport\n" % d)
        pathlib.Path(d, "elsewhere").mkdir()
        pathlib.Path(d, "elsewhere", "transport").write_text("example.com smtp:[192.0.2.1]\n")
        pathlib.Path(d, "config").mkdir()
        config = str(pathlib.Path(d, "config"))
        os.rename(os.path.join(d, "main.cf"), os.path.join(config, "main.cf"))
        r = run("check", "-c", config, "--hermetic", "--format", "json")
        found = [x["message"] for x in json.loads(r.stdout)["diagnostics"] if x["code"] == "PC0170"]
        expect("check --hermetic: the computed host name and networks, a table outside the configuration",
               r.returncode == 0 and any(m.startswith("myhostname is computed") for m in found)
               and any(m.startswith("mynetworks is computed") for m in found)
               and any("elsewhere/transport" in m for m in found), found)
        r = run("check", "-c", config, "--hermetic", "--format", "json", "-D", "myhostname=mx.ci.example",
                "--define", "mynetworks=127.0.0.0/8")
        found = [x["message"] for x in json.loads(r.stdout)["diagnostics"] if x["code"] == "PC0170"]
        expect("... --define settles the computed ones",
               r.returncode == 0 and not any("is computed" in m for m in found) and len(found) >= 1, found)
        r = run("check", "-c", config, "--define", "nonsense")
        expect("a --define without '=' is an error at --define:1", r.returncode == 1 and "--define:1:1" in r.stdout
               and "PC0101" in r.stdout, r.stdout)
        images = os.path.join(d, "images")
        plain = run("compile", "-c", office, "-o", images).stdout.strip()
        defined = run("compile", "-c", office, "-o", images, "-D", "smtpd_banner=$myhostname ESMTP ci").stdout.strip()
        r = run("conf", "-c", office, "smtpd_banner")
        expect("compile --define makes another image, main.cf untouched",
               plain and defined and plain != defined and "ci" not in r.stdout, (plain, defined, r.stdout))

    # tools/git-hooks/pre-commit refuses a commit whose staged configuration
    # fails postern check --werror (or its test cases).
    with tempfile.TemporaryDirectory() as repo:
        def git(*argv):
            return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *argv], cwd=repo,
                                  capture_output=True, text=True)
        git("init", "-q")
        git("config", "core.hooksPath", str((source / "tools/git-hooks").resolve()))
        git("config", "postern.command", postern)
        shutil.copytree(office, os.path.join(repo, "mail"))
        git("add", "mail")
        clean = git("commit", "-q", "-m", "office")
        with open(os.path.join(repo, "mail", "main.cf"), "a") as f:
            f.write("smtpd_tls_security_level = sometimes\n")
        git("add", "mail/main.cf")
        broken = git("commit", "-q", "-m", "broken")
        expect("the pre-commit hook lets a clean configuration in and keeps a broken one out",
               clean.returncode == 0 and broken.returncode != 0 and "postern check failed for mail" in broken.stderr,
               clean.stderr + broken.stdout + broken.stderr)

    with tempfile.TemporaryDirectory() as d:
        pathlib.Path(d, "main.cf").write_text("compatibility_level = 3.6\nmyhostname = mx.example.com\n"
                                              "mydestinaton = x\n")
        r = run("check", "-c", d)
        expect("check: warnings alone exit 0", r.returncode == 0 and "PC0104" in r.stdout, r.stdout)
        r = run("check", "-c", d, "--werror")
        expect("check --werror: warnings exit 1", r.returncode == 1, r.stdout)
        r = run("check", "-c", d, "--format", "json")
        report = json.loads(r.stdout)
        d0 = report["diagnostics"][0]
        expect("check json fields", (d0["code"], d0["line"], d0["column"], d0["severity"]) == ("PC0104", 3, 1, "warning")
               and d0["hint"] == 'did you mean "mydestination"?', d0)
        pathlib.Path(d, "main.cf").write_text("compatibility_level = 3.6\nsmtpd_tls_security_level = encrypt\n")
        r = run("check", "-c", d)
        expect("check: STARTTLS required without a certificate is an error (PC0150)",
               r.returncode == 1 and "PC0150" in r.stdout and "main.cf:2:28" in r.stdout, r.stdout)
        pathlib.Path(d, "main.cf").write_text("message_size_limit = big\n")
        r = run("check", "-c", d)
        expect("check: errors exit 1", r.returncode == 1 and "PC0110" in r.stdout, r.stdout)
        r = run("check", "-c", os.path.join(d, "nonexistent"))
        expect("check: no main.cf exits 2", r.returncode == 2, r.stdout + r.stderr)

    r = run("conf", "-c", office, "-x", "myorigin", "mydestination")
    expect("conf -x expands", r.stdout == "myorigin = example.com\n"
           "mydestination = mail.example.com, localhost.example.com, localhost, example.com\n", r.stdout)
    r = run("conf", "-c", office, "-d", "message_size_limit")
    expect("conf -d default", r.stdout == "message_size_limit = 10240000\n", r.stdout)

    r = run("query", "-c", office, "@thebible.com", "hash:/etc/postfix/virtual")
    expect("query found exits 0", r.returncode == 0 and r.stdout == "fred\n", r.stdout)
    r = run("query", "-c", office, "nobody@nowhere", "hash:/etc/postfix/virtual")
    expect("query missing exits 1", r.returncode == 1 and r.stdout == "", r.stdout)
    r = run("query", "-c", office, "-", "cidr:/etc/postfix/client.cidr", stdin="192.0.2.5\n8.8.8.8\n192.168.1.9\n")
    expect("query - prints key<TAB>value", r.stdout == "192.0.2.5\tREJECT\n192.168.1.9\tOK\n", r.stdout)
    r = run("query", "-c", office, "X-Mailer: BadMailer", "pcre:/etc/postfix/header_checks.pcre")
    expect("query pcre substitutes $1", r.stdout == "REJECT mailer BadMailer refused\n", r.stdout)
    r = run("query", "-c", office, "--aliases", "ROOT", "hash:/etc/postfix/aliases")
    expect("query --aliases folds case", r.stdout == "admin, fred\n", r.stdout)
    r = run("query", "key", "memcache:/etc/postfix/memcache.cf")
    expect("query unsupported type exits 2", r.returncode == 2 and "PT0320" in r.stderr, r.stderr)

    # Routing checks run the resolver on the compiled image; the exact text.
    mistakes = "tests/integration/configs/routing_mistakes"
    r = run("check", "-c", mistakes, cwd=str(source))
    expected = (source / mistakes / "expected.out").read_text()
    expect("check: routing mistakes, exact diagnostics", r.returncode == 1 and r.stdout == expected,
           "".join(__import__("difflib").unified_diff(expected.splitlines(True), r.stdout.splitlines(True))))

    seeded = "tests/integration/configs/open_relay"
    r = run("check", "-c", seeded, cwd=str(source))
    expected = (source / seeded / "expected.out").read_text()
    expect("check: the seeded open relay is found, exact diagnostics", r.returncode == 1 and r.stdout == expected
           and "PC0140" in r.stdout, r.stdout)
    r = run("check", "-c", seeded, "--format", "sarif", cwd=str(source))
    sarif = json.loads(r.stdout)
    result = next(x for x in sarif["runs"][0]["results"] if x["ruleId"] == "PC0140")
    region = result["locations"][0]["physicalLocation"]["region"]
    expect("check --format sarif", sarif["version"] == "2.1.0" and result["level"] == "error"
           and (region["startLine"], region["startColumn"]) == (9, 28)
           and result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("open_relay/main.cf"),
           r.stdout)
    for example in sorted((source / "examples").iterdir()):
        r = run("check", "-c", str(example), "--format", "json")
        codes = [d["code"] for d in json.loads(r.stdout)["diagnostics"]]
        expect(f"check: {example.name} is not an open relay", "PC0140" not in codes, codes)

    with tempfile.TemporaryDirectory() as d:
        images = os.path.join(d, "images")
        r = run("compile", "-c", office, "-o", images)
        image_id = r.stdout.strip()
        expect("compile prints the image id and publishes it",
               r.returncode == 0 and len(image_id) == 64 and os.readlink(os.path.join(images, "current")) == image_id,
               r.stdout + r.stderr)
        r = run("compile", "-c", office, "-o", images)
        expect("compile is reproducible", r.stdout.strip() == image_id and "already present" in r.stderr, r.stderr)
        r = run("trace", "-i", images, "--users", str(source / "examples/office/trace/users"), "--json",
                "joe@thebible.com")
        result = json.loads(r.stdout)[0]["results"]
        expect("trace -i IMAGES uses the current image",
               result == [{"address": "fred@example.com", "transport": "local", "nexthop": "example.com",
                           "class": "local", "delivery": "maildir /home/fred/Maildir/"}], r.stdout + r.stderr)
        with open(os.path.join(images, image_id, "params.cdb"), "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
        r = run("trace", "-i", os.path.join(images, image_id), "x@example.org")
        expect("trace refuses a corrupted image", r.returncode == 2 and "checksum mismatch" in r.stderr, r.stderr)
        broken = os.path.join(d, "broken")
        os.makedirs(broken)
        pathlib.Path(broken, "main.cf").write_text("message_size_limit = big\n")
        r = run("compile", "-c", broken, "-o", images)
        expect("compile refuses a configuration with errors", r.returncode == 1 and "PC0110" in r.stderr
               and os.readlink(os.path.join(images, "current")) == image_id, r.stderr)
        relay = os.path.join(d, "relay")
        os.makedirs(relay)
        pathlib.Path(relay, "main.cf").write_text("compatibility_level = 3.6\nmydestination = example.com\n"
                                                  "smtpd_relay_restrictions = permit_mynetworks, permit\n")
        r = run("compile", "-c", relay, "-o", images)
        expect("compile refuses an open relay (PC0140) and publishes nothing", r.returncode == 1 and "PC0140" in r.stderr
               and os.readlink(os.path.join(images, "current")) == image_id
               and sorted(os.listdir(images)) == sorted([image_id, "current"]), r.stderr)
        r = run("trace", "-c", broken, "x@example.org")
        expect("trace -c compiles first and reports errors", r.returncode == 1 and "PC0110" in r.stderr, r.stderr)
        r = run("compile", "-c", os.path.join(d, "nonexistent"), "-o", images)
        expect("compile without main.cf exits 2", r.returncode == 2, r.stderr)

    failed = [x for x in results if not x[1]]
    for name, _, detail in failed:
        print(f"FAILED: {name}\n  {detail!r}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
