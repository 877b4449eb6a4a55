#!/usr/bin/env python3
"""Tests of `postern diff`. Golden: each tests/golden/diff/<case>/ changes
one thing in a copy of tests/golden/diff/base/ (the files under new/
replace the base's), and `postern diff old new` must print expected.txt
(and, where the case has them, expected.md and expected.json for the other
formats) exactly, ending with its exit code. Then: --fail-on, git
revisions (-c), images as sides, and a side that does not compile. With
POSTERN_UPDATE_GOLDEN=1 the expected files are rewritten instead.
"""
import argparse
import difflib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

FORMATS = (("expected.txt", "text"), ("expected.md", "markdown"), ("expected.json", "json"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    postern = os.path.abspath(args.postern)
    golden = pathlib.Path(args.source, "tests/golden/diff")
    update = os.environ.get("POSTERN_UPDATE_GOLDEN") == "1"
    failures = []
    checked = 0

    def run(*argv, cwd):
        return subprocess.run([postern, "diff", *argv], capture_output=True, text=True, cwd=cwd)

    def sides(case, work):
        old, new = work / "old", work / "new"
        shutil.copytree(golden / "base", old)
        shutil.copytree(golden / "base", new)
        overlay = golden / case / "new"
        if overlay.is_dir():
            shutil.copytree(overlay, new, dirs_exist_ok=True)
        return old, new

    def expect(name, condition, detail=""):
        if not condition:
            failures.append("%s\n%s" % (name, detail))

    for case in sorted(p.name for p in golden.iterdir() if p.is_dir() and p.name != "base"):
        with tempfile.TemporaryDirectory() as tmp:
            work = pathlib.Path(tmp)
            sides(case, work)
            for expected_name, fmt in FORMATS:
                path = golden / case / expected_name
                if fmt != "text" and not path.exists():
                    continue
                r = run("--format", fmt, "old", "new", cwd=work)
                output = r.stdout + r.stderr + "[exit %d]\n" % r.returncode
                if update:
                    path.write_text(output)
                    continue
                checked += 1
                expected = path.read_text()
                if output != expected:
                    failures.append("".join(difflib.unified_diff(
                        expected.splitlines(True), output.splitlines(True), str(path), "postern diff")))
                if fmt == "json" and r.returncode != 2:
                    report = json.loads(r.stdout)
                    expect("%s: json identical agrees with the exit code" % case,
                           report["identical"] == (r.returncode == 0), r.stdout[:400])
    if update:
        print("diff golden: expected files rewritten")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        old, new = sides("mynetworks_widened", work)
        for kinds, code in (("bounce", 0), ("route,bounce", 0), ("relay", 1), ("parameter", 1), ("policy", 1)):
            r = run("--fail-on", kinds, "old", "new", cwd=work)
            expect("--fail-on %s exits %d when mynetworks widens" % (kinds, code), r.returncode == code, r.stderr)
        r = run("--fail-on", "everything", "old", "new", cwd=work)
        expect("--fail-on with an unknown kind exits 2 and names the kinds",
               r.returncode == 2 and "parameter, table" in r.stderr, r.stderr)

        # Images as sides: the behaviour is the same; no source lines.
        images = {}
        for side in ("old", "new"):
            images[side] = str(work / ("images-" + side))
            c = subprocess.run([postern, "compile", "-c", side, "-o", images[side]], capture_output=True,
                               text=True, cwd=work)
            expect("compile %s" % side, c.returncode == 0, c.stderr)
        r = run(images["old"], images["new"], cwd=work)
        expect("images as sides: the same relaying change",
               r.returncode == 1 and "OPENS RELAYING service smtp: client 10.0.0.1" in r.stdout, r.stdout[-2000:])

        # A side that does not compile: its errors, exit 2.
        (new / "main.cf").write_text((new / "main.cf").read_text() + "smtpd_relay_restrictions = bogus_restriction\n")
        r = run("old", "new", cwd=work)
        expect("a side that does not compile exits 2 with its diagnostics",
               r.returncode == 2 and "new/main.cf:" in r.stderr and "does not compile" in r.stderr, r.stderr)
        r = run("old", "nowhere", cwd=work)
        expect("a side that is neither exits 2", r.returncode == 2 and "nowhere: neither" in r.stderr, r.stderr)

    # git revisions of a directory inside a repository.
    if shutil.which("git") is None:
        print("diff: git not found; revision tests skipped")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            repo = pathlib.Path(tmp)
            config = repo / "mail"
            shutil.copytree(golden / "base", config)

            def git(*argv):
                return subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *argv],
                                      cwd=repo, capture_output=True, text=True, check=True)
            git("init", "-q")
            git("add", ".")
            git("commit", "-qm", "base")
            shutil.copytree(golden / "alias_removed/new", config, dirs_exist_ok=True)
            git("commit", "-qam", "sales alias removed")
            r = run("-c", "mail", "HEAD~1", "HEAD", cwd=repo)
            expected = (golden / "alias_removed/expected.txt").read_text().split("\n", 2)[2]
            got = (r.stdout + r.stderr + "[exit %d]\n" % r.returncode).split("\n", 2)
            expect("diff -c DIR HEAD~1 HEAD: as the directories' diff",
                   got[:2] == ["--- HEAD~1", "+++ HEAD"] and got[2] == expected,
                   "".join(difflib.unified_diff(expected.splitlines(True), got[-1].splitlines(True))))
            r = run("-c", "mail", "HEAD", cwd=repo)
            expect("diff -c DIR HEAD: no change in the working tree", r.returncode == 0 and "no differences" in r.stdout,
                   r.stdout + r.stderr)
            shutil.copy(golden / "transport_nexthop/new/transport", config / "transport")
            r = run("-c", "mail", "HEAD", cwd=repo)
            expect("diff -c DIR HEAD: an uncommitted change", r.returncode == 1 and "+++ mail (working tree)" in r.stdout
                   and "mx2.partner.example" in r.stdout, r.stdout + r.stderr)
            r = run("-c", "mail", "no-such-revision", "HEAD", cwd=repo)
            expect("an unknown revision exits 2, saying so",
                   r.returncode == 2 and "no-such-revision" in r.stderr, r.stderr)

    for f in failures:
        print("FAIL", f)
    print("diff: %d golden outputs checked, %d failures" % (checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
