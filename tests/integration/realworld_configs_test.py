#!/usr/bin/env python3
"""postern check on deployed Postfix configurations (a corpus kept outside
the project; the test skips when it is absent).

For every configuration: check runs to the end (exit 0 or 1, JSON report),
none of the false errors Postfix would not raise appears, and each feature
the configuration uses that posternd does not implement is named by a
diagnostic. The configuration's own text is read independently here to
find those features, so a feature that goes silent fails the test.

Prints a tally: clean, refused (by diagnostic code), the unimplemented
features by name with the number of configurations that use them, and
tables missing from the corpus (the environment's problem, counted apart).
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys

SKIP = 77


def logical_lines(text):
    """Postfix's logical lines: continuation lines start with white space."""
    lines = []
    for raw in text.splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        if raw[0] in " \t" and lines:
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw.strip())
    return lines


def main_cf_settings(text):
    settings = {}
    for line in logical_lines(text):
        name, sep, value = line.partition("=")
        if sep:
            settings[name.strip()] = value.strip()
    return settings


def master_cf_services(text):
    """(name, type, command, [(option, value)]) per service; options end at
    the first word that does not start with '-'."""
    services = []
    for line in logical_lines(text):
        words = line.split()
        if len(words) < 8:
            continue
        overrides = []
        i = 8
        while i < len(words) and words[i].startswith("-"):
            if words[i] == "-o" and i + 1 < len(words):
                name, _, value = words[i + 1].partition("=")
                overrides.append((name, value))
                i += 2
            else:
                i += 1
        services.append((words[0], words[1], words[7], overrides))
    return services


def is_yes(value):
    return value.strip().lower() == "yes"


def features_used(main, services):
    """The features this configuration asks for that posternd lacks, each
    with the words one of its diagnostics must contain."""
    used = {}
    settings = list(main.items())
    for name, typ, command, overrides in services:
        if typ == "inet" and command == "smtpd":
            settings += overrides
            # AUTH through anything but Dovecot (Cyrus is Postfix's default type).
            effective = dict(main)
            effective.update(overrides)
            if is_yes(effective.get("smtpd_sasl_auth_enable", "no")) and \
                    effective.get("smtpd_sasl_type", "cyrus").strip() != "dovecot":
                used["smtpd_sasl_type"] = ["smtpd_sasl_type"]
        if typ == "inet" and command == "postscreen":
            used["postscreen"] = ["postscreen"]
    for name, value in settings:
        if name == "smtp_tls_wrappermode" and is_yes(value):
            used[name] = [name]
        if name in ("non_smtpd_milters", "smtpd_milter_maps", "milter_header_checks", "smtp_tls_policy_maps",
                    "smtpd_proxy_filter", "always_bcc", "sender_bcc_maps", "recipient_bcc_maps") and value.strip():
            used[name] = [name]
    return used


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postern", required=True)
    parser.add_argument("--corpus", required=True)
    args = parser.parse_args()
    corpus = pathlib.Path(args.corpus)
    if not corpus.is_dir():
        print(f"SKIP: no corpus at {corpus} (it lives outside the project)")
        return SKIP
    configs = sorted(p for p in corpus.iterdir() if (p / "main.cf").is_file())
    failures = []
    clean = []
    refused = collections.Counter()
    features = collections.Counter()
    missing_tables = 0

    # Diagnostics Postfix 3.7 would not give: (code, words in the message).
    false_errors = [
        ("PC0204", ""),  # -o parsing: pipe's argv words are not options
        ("PC0102", ""),  # parameter names with '-' (service-named parameters)
        ("PC0110", "smtpd_forbid_bare_newline"),
        ("PC0106", "mail_version"),
        ("PT0320", "nis:"),
        ("PP0501", "sleep"),
    ]

    for config in configs:
        r = subprocess.run([os.path.abspath(args.postern), "check", "-c", str(config), "--format", "json"],
                           capture_output=True, text=True, timeout=120)
        if r.returncode not in (0, 1):
            failures.append(f"{config.name}: check exited {r.returncode}: {r.stderr.strip()[:300]}")
            continue
        report = json.loads(r.stdout)
        diagnostics = report["diagnostics"]
        text = " ".join(d["message"] for d in diagnostics)
        for code, words in false_errors:
            for d in diagnostics:
                if d["code"] == code and words in d["message"]:
                    failures.append(f"{config.name}: false {code}: {d['message']}")
        main_cf = main_cf_settings((config / "main.cf").read_text(errors="replace"))
        master = config / "master.cf"
        services = master_cf_services(master.read_text(errors="replace")) if master.is_file() else []
        for feature, words in features_used(main_cf, services).items():
            features[feature] += 1
            if not all(w in text for w in words):
                failures.append(f"{config.name}: uses {feature}, and no diagnostic names it")
        # Files the corpus does not hold (tables, /file lists) and databases
        # that are not there to read (PT0332) are the environment's problem,
        # not the configuration's.
        environment = ("PT0322", "PC0113", "PT0332")
        missing_tables += sum(1 for d in diagnostics if d["code"] in environment)
        errors = [d for d in diagnostics if d["severity"] == "error" and d["code"] not in environment]
        if errors:
            for code in sorted({d["code"] for d in errors}):
                refused[code] += 1
        else:
            clean.append(config.name)

    print(f"{len(configs)} configurations: {len(clean)} clean (apart from missing table files), "
          f"{len(configs) - len(clean)} refused")
    print("refused, by diagnostic code (configurations): " +
          ", ".join(f"{c} {n}" for c, n in refused.most_common()))
    print("unimplemented features used (configurations): " +
          ", ".join(f"{f} {n}" for f, n in features.most_common()))
    print(f"files and databases missing from the corpus (tables, /file lists, SQL servers): {missing_tables}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(configs) - len({f.split(':')[0] for f in failures})} passed, "
          f"{len({f.split(':')[0] for f in failures})} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
