#!/usr/bin/env python3
"""Writes a program's man page from its own --help: the one-line summary,
the usage, the options, and for each subcommand (and theirs) its summary
and --help, so the page says what the program does and never drifts from
it. Reproducible: no date, the version from --version.

  manpage.py --program PATH --name postern --section 1 --output postern.1 \\
             [--description TEXT] [--see-also "posternd(8)"]
"""
import argparse
import re
import subprocess


def run_help(argv):
    r = subprocess.run(argv + ["--help"], capture_output=True, text=True, check=True)
    return r.stdout


def escape(line):
    line = line.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + line if line.startswith((".", "'")) else line


def parse(text):
    """(summary, usage, body lines, [(subcommand, description)])."""
    lines = text.rstrip("\n").splitlines()
    summary = lines[0].split(": ", 1)[1] if ": " in lines[0] else lines[0]
    usage = next((l[len("Usage: "):] for l in lines if l.startswith("Usage: ")), "")
    body, subcommands, in_subcommands = [], [], False
    for line in lines[1:]:
        if line.startswith("Usage: "):
            continue
        if line.strip() == "Subcommands:":
            in_subcommands = True
            continue
        if in_subcommands:
            m = re.match(r"^  (\S+)\s+(.*)$", line)
            if m:
                subcommands.append((m.group(1), m.group(2)))
            continue
        body.append(line)
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    return summary, usage, body, subcommands


def verbatim(lines):
    return [".nf"] + [escape(l) for l in lines] + [".fi"]


def section_for(program, name, path):
    """The COMMANDS entries of subcommand `path`, and of its subcommands."""
    summary, usage, body, subcommands = parse(run_help([program] + path))
    out = [f'.SS "{escape(" ".join([name] + path))}"', escape(summary)]
    if usage:
        out += [".PP", "Usage: " + escape(re.sub(r"^\S+", name, usage))]
    if body:
        out += verbatim(body)
    for sub, _ in subcommands:
        out += section_for(program, name, path + [sub])
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--program", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--section", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--see-also", default="")
    parser.add_argument("--description", default="", help="a paragraph for DESCRIPTION")
    args = parser.parse_args()
    version = subprocess.run([args.program, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    summary, usage, body, subcommands = parse(run_help([args.program]))
    usage = re.sub(r"^\S+", args.name, usage)
    page = [f'.TH {args.name.upper()} {args.section} "" "{escape(version)}" "Postern"',
            ".SH NAME", f"{args.name} \\- {escape(summary)}",
            ".SH SYNOPSIS", f".B {args.name}", escape(usage.split(" ", 1)[1]) if " " in usage else ""]
    if args.description:
        page += [".SH DESCRIPTION", escape(args.description)]
    page += [".SH OPTIONS"] + verbatim(body)
    if subcommands:
        page += [".SH COMMANDS"]
        for sub, _ in subcommands:
            page += section_for(args.program, args.name, [sub])
    if args.see_also:
        page += [".SH SEE ALSO", escape(args.see_also)]
    with open(args.output, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
