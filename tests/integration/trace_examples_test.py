#!/usr/bin/env python3
"""Expected traces of the example configurations.

Each examples/<name>/trace/ directory (and tests/integration/configs/<name>/trace/) holds `addresses` (the arguments of one
`postern trace` run per line), `users` (the passwd(5) users the trace
assumes) and `expected` (the concatenated text output). With
POSTERN_UPDATE_GOLDEN=1 the expected files are rewritten instead.
"""
import argparse
import difflib
import json
import os
import shlex
import subprocess
import sys


def traced_configurations(source):
    """Every example, and every test configuration, that has a trace/ directory."""
    for parent in ("examples", "tests/integration/configs"):
        directory = os.path.join(source, parent)
        for name in sorted(os.listdir(directory)):
            if os.path.exists(os.path.join(directory, name, "trace", "addresses")):
                yield os.path.join(directory, name)


def run_trace(postern, example, args, json_output=False):
    cmd = [postern, "trace", "-c", example, "--users", os.path.join(example, "trace", "users")]
    if json_output:
        cmd.append("--json")
    proc = subprocess.run(cmd + args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd + args)} exited {proc.returncode}: {proc.stderr}")
    return proc.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    update = os.environ.get("POSTERN_UPDATE_GOLDEN") == "1"
    failures = 0
    checked = 0
    for example in traced_configurations(args.source):
        addresses = os.path.join(example, "trace", "addresses")
        lines = [l for l in open(addresses).read().splitlines() if l.strip() and not l.startswith("#")]
        output = "".join(run_trace(args.postern, example, shlex.split(l)) for l in lines)
        expected_path = os.path.join(example, "trace", "expected")
        if update:
            with open(expected_path, "w") as f:
                f.write(output)
            continue
        expected = open(expected_path).read()
        checked += len(lines)
        if output != expected:
            failures += 1
            sys.stdout.writelines(difflib.unified_diff(expected.splitlines(True), output.splitlines(True),
                                                       expected_path, "postern trace"))
        # The JSON form carries the same results, with the documented fields.
        for line in lines:
            for entry in json.loads(run_trace(args.postern, example, shlex.split(line), json_output=True)):
                assert set(entry) >= {"input", "steps", "results"}, entry
                for result in entry["results"]:
                    fields = {"address", "transport", "nexthop"} if "transport" in result else \
                             {"address", "status", "code", "text"}
                    assert set(result) >= fields, result
    print(f"trace examples: {checked} traces checked, {failures} example(s) differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
