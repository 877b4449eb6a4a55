#!/usr/bin/env python3
"""Differential tests: Postern against Debian's Postfix tools as oracles.

* `postern conf -c DIR` with -n, -d, -x and plain NAME lookups against
  `postconf -c DIR` for every configuration under tests/integration/configs/
  and examples/, on every parameter Postern supports.
* `postern conf -M`, `-F` and `-P` (master.cf's services, fields and -o
  overrides), whole and with service selectors, against `postconf` on the
  same configurations and on the master.cf files of the real-world corpus
  in ../shared/corpora (when it is there).
* `postern query` against `postmap -q` / `postalias -q` for every table in
  tests/integration/tables/MANIFEST, on every key in the table (and case
  variants and misses), and on probe keys for pattern tables.

Exits non-zero and prints each disagreement when the tools disagree.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# Parameters whose value differs between two processes by nature.
PER_PROCESS = {"process_id", "process_name"}


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def parse_conf(text):
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition(" =")
        if sep:
            values[name] = value[1:] if value.startswith(" ") else value
    return values


class Differ:
    def __init__(self, postern):
        self.postern = postern
        self.failures = []
        self.comparisons = 0

    def expect_equal(self, what, ours, theirs):
        self.comparisons += 1
        if ours != theirs:
            self.failures.append(f"{what}:\n  postern: {ours!r}\n  postfix: {theirs!r}")

    def supported_names(self, config_dir):
        out = run([self.postern, "conf", "-c", config_dir, "-d"]).stdout
        return sorted(n for n in parse_conf(out) if n not in PER_PROCESS)

    def compare_config(self, config_dir):
        name = os.path.relpath(config_dir)
        # -n: the whole output, line for line.
        ours = run([self.postern, "conf", "-c", config_dir, "-n"]).stdout
        theirs = run(["postconf", "-c", config_dir, "-n"]).stdout
        self.expect_equal(f"{name}: conf -n", ours.splitlines(), theirs.splitlines())
        names = self.supported_names(config_dir)
        for flags in ([], ["-x"], ["-d"], ["-d", "-x"]):
            ours = parse_conf(run([self.postern, "conf", "-c", config_dir, *flags, *names]).stdout)
            theirs = parse_conf(run(["postconf", "-c", config_dir, *flags, *names]).stdout)
            for n in names:
                if n in ("mynetworks",):  # same networks, compared as a set
                    self.expect_equal(f"{name}: conf {' '.join(flags)} {n}",
                                      sorted(ours.get(n, "").split()), sorted(theirs.get(n, "").split()))
                else:
                    self.expect_equal(f"{name}: conf {' '.join(flags)} {n}", ours.get(n), theirs.get(n))

    def compare_master(self, config_dir):
        """-M, -F and -P, whole and with selectors, line for line (standard
        output only: postconf also warns about unused -o names)."""
        name = os.path.relpath(config_dir)
        if "PC0205" in run([self.postern, "conf", "-c", config_dir, "-M"]).stderr:
            return  # a duplicate service: an error for Postern, listed twice by postconf
        services = []
        for line in run(["postconf", "-c", config_dir, "-M"]).stdout.splitlines():
            fields = line.split()
            if len(fields) >= 2:
                services.append(f"{fields[0]}/{fields[1]}")
        selectors = services[1:3] + ["*/inet"] if services else []
        for flags in (["-M"], ["-F"], ["-P"], ["-M"] + selectors,
                      ["-F"] + [s + "/command" for s in services[:2]] + ["*/*/process_limit"],
                      ["-P"] + selectors + ["*/*/syslog_name"]):
            ours = run([self.postern, "conf", "-c", config_dir, *flags]).stdout
            theirs = run(["postconf", "-c", config_dir, *flags]).stdout
            self.expect_equal(f"{name}: conf {' '.join(flags)}", ours.splitlines(), theirs.splitlines())

    def compare_table(self, source, table_type, fmt, work, keys):
        copy = os.path.join(work, os.path.basename(source))
        shutil.copy(source, copy)
        ref = f"{table_type}:{copy}"
        if fmt == "aliases":
            build, query_tool, extra = ["postalias", ref], "postalias", ["--aliases"]
        else:
            build, query_tool, extra = (["postmap", ref] if fmt == "text" else None), "postmap", []
        if build:
            result = run(build)
            if result.returncode != 0:
                self.failures.append(f"{' '.join(build)} failed: {result.stderr}")
                return
        stdin = "".join(k + "\n" for k in keys)
        theirs = run([query_tool, "-q", "-", ref], input=stdin).stdout
        ours = run([self.postern, "query", *extra, "-", ref], input=stdin).stdout
        self.expect_equal(f"{os.path.basename(source)}: batch query", ours.splitlines(), theirs.splitlines())
        for key in keys:  # one by one as well: value and exit status
            t = run([query_tool, "-q", key, ref])
            o = run([self.postern, "query", *extra, key, ref])
            self.expect_equal(f"{os.path.basename(source)}: query {key!r}",
                              (o.returncode, o.stdout), (t.returncode, t.stdout))


def table_keys(path, fmt):
    keys = []
    probe = path + ".keys"
    if os.path.exists(probe):
        return [k for k in pathlib.Path(probe).read_text().splitlines() if k]
    for line in pathlib.Path(path).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#") or line[0].isspace():
            continue
        if fmt == "aliases":
            key = line.split(":", 1)[0].strip().strip('"')
        else:
            key = line.split()[0]
        keys += [key, key.upper(), key.lower()]
    keys += ["no-such-key", "@no-such-domain.example"]
    return list(dict.fromkeys(keys))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    for tool in ("postconf", "postmap", "postalias"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"{tool} not found: run tools/scripts/install-deps", file=sys.stderr)
            return 1
    os.environ["PATH"] += ":/usr/sbin"
    differ = Differ(os.path.abspath(args.postern))
    source = pathlib.Path(args.source)

    with tempfile.TemporaryDirectory() as work:
        # postmap and postalias read main.cf; give them an empty one.
        pathlib.Path(work, "main.cf").write_text("")
        os.environ["MAIL_CONFIG"] = work
        configs = sorted((source / "tests/integration/configs").iterdir()) + sorted((source / "examples").iterdir())
        for config_dir in configs:
            if (config_dir / "main.cf").exists():
                differ.compare_config(str(config_dir))
                differ.compare_master(str(config_dir))
        corpus = source.parent / "shared" / "corpora" / "realworld-configs"
        if corpus.is_dir():
            for config_dir in sorted(corpus.iterdir()):
                if (config_dir / "master.cf").exists() and (config_dir / "main.cf").exists():
                    differ.compare_master(str(config_dir))
        tables = source / "tests/integration/tables"
        for line in (tables / "MANIFEST").read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            file, table_type, fmt = line.split()
            path = str(tables / file)
            differ.compare_table(path, table_type, fmt, work, table_keys(path, fmt))

    for failure in differ.failures:
        print(failure)
    print(f"{differ.comparisons - len(differ.failures)} passed, {len(differ.failures)} failed")
    return 1 if differ.failures else 0


if __name__ == "__main__":
    sys.exit(main())
