#!/usr/bin/env python3
"""Golden tests of the policy compiler: for each tests/golden/policy/<case>/,
`postern disasm -c` must print expected.dis (the bytecode) and `postern
check -c` must print expected.check (the diagnostics), exactly. With
POSTERN_UPDATE_GOLDEN=1 the expected files are rewritten instead.
"""
import argparse
import difflib
import os
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    postern = os.path.abspath(args.postern)
    update = os.environ.get("POSTERN_UPDATE_GOLDEN") == "1"
    base = "tests/golden/policy"
    failures = checked = 0
    for name in sorted(os.listdir(os.path.join(args.source, base))):
        case = os.path.join(base, name)
        for expected_name, command in (("expected.dis", "disasm"), ("expected.check", "check")):
            proc = subprocess.run([postern, command, "-c", case], capture_output=True, text=True, cwd=args.source)
            output = proc.stdout if command == "disasm" and proc.returncode == 0 else proc.stdout + proc.stderr
            path = os.path.join(args.source, case, expected_name)
            if update:
                open(path, "w").write(output)
                continue
            expected = open(path).read()
            checked += 1
            if output != expected:
                failures += 1
                sys.stdout.writelines(difflib.unified_diff(expected.splitlines(True), output.splitlines(True),
                                                           path, f"postern {command}"))
    print(f"policy golden: {checked} outputs checked, {failures} different")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
