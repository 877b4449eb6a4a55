#!/usr/bin/env python3
"""The programs are built as Debian builds hardened packages: position
independent, read-only relocations bound at start (RELRO, BIND_NOW), the
stack protector and fortified libc calls. Checked from the ELF files with
readelf, and with Debian's hardening-check (devscripts) when it is there.

Usage: hardening_test.py PROGRAM..."""
import shutil
import subprocess
import sys


def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], capture_output=True, text=True, check=True).stdout


def check(program):
    """(name, ok, detail) for each property of one program."""
    header, segments, dynamic, symbols = (readelf("-h", program), readelf("-l", program), readelf("-d", program),
                                          readelf("--dyn-syms", program))
    flags = [line for line in dynamic.splitlines() if "FLAGS" in line]
    return [
        ("position independent executable", "DYN (Position-Independent Executable" in header
         or ("DYN" in header and "PIE" in " ".join(flags)), header.splitlines()[:12]),
        ("RELRO segment", "GNU_RELRO" in segments, ""),
        ("bound at start (BIND_NOW)", any("BIND_NOW" in f or " NOW" in f for f in flags), flags),
        ("stack protector", "__stack_chk_fail" in symbols, ""),
        ("fortified libc calls", any("_chk@" in line for line in symbols.splitlines()), ""),
    ]


def main():
    programs = sys.argv[1:]
    if not programs or shutil.which("readelf") is None:
        print("SKIP: no programs given, or no readelf")
        return 77
    failed = 0
    for program in programs:
        for name, ok, detail in check(program):
            print(("ok   " if ok else "FAIL ") + program + ": " + name + ("" if ok else "\n     " + str(detail)))
            failed += not ok
        if shutil.which("hardening-check"):
            # Control-flow enforcement (CET) is compiled in (-fcf-protection),
            # but Debian 12's C start files are not marked for it, so no
            # program linked there carries the mark (Debian's Postfix neither).
            r = subprocess.run(["hardening-check", "--nocfprotection", program], capture_output=True, text=True)
            print(r.stdout.strip())
            if r.returncode != 0:
                print("FAIL " + program + ": hardening-check")
                failed += 1
        else:
            print("(hardening-check from devscripts is not installed: readelf's view only)")
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
