#!/usr/bin/env python3
"""pipe(8) delivery, posternd and a private Postfix 3.7 side by side. Both
route test domains (transport_maps) to the same pipe services, which run
real commands as user=nobody: a recorder that saves its arguments and the
message it reads (flags BFORD.>, then Rqhu with eol=\\r\\n and an empty
null_sender=, a service with several recipients per delivery, one with
flag D and several recipients; the headers cleanup adds to mail from a
local client among what they read), a script whose exit status and output are
chosen per recipient (sysexits, an enhanced status code in the output, a
signal, the time limit), size=, a Delivered-To: loop, and Dovecot's LDA
writing a Maildir. Compared: the SMTP replies, each command's arguments
and input (our Received: header apart), and every recipient's delivery
status (dsn, status, text) in the logs.

Needs root and Debian's postfix (exit 77 otherwise).
"""
import glob
import os
import re
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postfix_instance import SKIP, PrivatePostfix, set_parameters, wait_for_port  # noqa: E402
from posternd import Posternd, arguments  # noqa: E402
from smtpd_services_differential import finish  # noqa: E402

LDA = "/usr/lib/dovecot/dovecot-lda"

RECORDER = """#!/bin/sh
# The arguments, one per line, and the message, in files named after the
# service (the first argument) and the message's X-Test-Input header.
dir=$(dirname "$0")/calls
tmp=$(mktemp "$dir/.in.XXXXXX")
cat > "$tmp"
name="$1-$(sed -n 's/^X-Test-Input: //p' "$tmp" | head -n 1 | tr -d '\\r')"
printf '%s\\n' "$@" > "$dir/$name.args"
mv "$tmp" "$dir/$name.in"
"""

STATUS = """#!/bin/sh
# Ends as the recipient's user part says.
cat > /dev/null
case "$1" in
  ok) echo "all good"; exit 0 ;;
  tempfail) exit 75 ;;
  nouser) exit 67 ;;
  config) exit 78 ;;
  died) echo "go away"; exit 1 ;;
  dsn) echo "4.2.2 mailbox full"; exit 1 ;;
  dsnhard) echo "5.7.1 not for you"; exit 75 ;;
  signal) kill -TERM $$ ;;
  slow) exec sleep 30 ;;
esac
exit 0
"""

MASTER_CF = """\
capture   unix  -       n       n       -       -       pipe
  flags=BFORD.> user=nobody argv={rec} capture ${{sender}} ${{recipient}} ${{original_recipient}}
  ${{user}} ${{extension}} ${{domain}} ${{mailbox}} ${{nexthop}}
quoted    unix  -       n       n       -       -       pipe
  flags=Rqhu user=nobody null_sender= eol=\\r\\n argv={rec} quoted -f ${{sender}} ${{recipient}} ${{nexthop}}
multi     unix  -       n       n       -       -       pipe
  flags=R user=nobody argv={rec} multi ${{recipient}}
single    unix  -       n       n       -       -       pipe
  flags=D user=nobody argv={rec} single ${{recipient}}
status    unix  -       n       n       -       -       pipe
  user=nobody argv={status} ${{user}}
small     unix  -       n       n       -       -       pipe
  user=nobody size=300 argv={rec} small
dovecot   unix  -       n       n       -       -       pipe
  flags=DRhu user=nobody argv={lda} -c {root}/dovecot.conf -f ${{sender}} -a ${{recipient}}
"""

DOMAINS = ["capture.example", "quoted.example", "multi.example", "single.example", "status.example",
           "small.example", "lda.example"]

STATUS_USERS = ["ok", "tempfail", "nouser", "config", "died", "dsn", "dsnhard", "signal", "slow"]

MESSAGES = [  # (sender, recipients, extra headers, body)
    ("Alice@Bench.Example", ["Joe+Lists@Capture.Example"], "Delivered-To: someone@else.example\r\n",
     "From the start.\r\n.dot\r\n..two\r\nlast"),
    ("", ['"Joe Doe"@Quoted.Example'], "", "null sender\r\n"),
    ("bob@bench.example", ["b@multi.example", "a@multi.example"], "-From\r\n", "two at once\r\n"),
    ("bob@bench.example", ["a@single.example", "b@single.example"], "", "flag D, two recipients\r\n"),
    ("carol@bench.example", [u + "@status.example" for u in STATUS_USERS], "", "statuses\r\n"),
    ("dave@bench.example", ["loop@capture.example"], "Delivered-To: Loop@Capture.Example\r\n", "looped\r\n"),
    ("erin@bench.example", ["big@small.example"], "", "x" * 400 + "\r\n"),
    ("frank@bench.example", ["Fred@LDA.example"], "", "to a Maildir\r\n"),
]


def dovecot_conf(directory):
    os.makedirs(os.path.join(directory, "mail"), mode=0o777)
    os.chmod(os.path.join(directory, "mail"), 0o777)
    with open(os.path.join(directory, "dovecot.conf"), "w") as f:
        f.write(f"""protocols =
ssl = no
base_dir = {directory}/run
log_path = {directory}/mail/lda.log
mail_location = maildir:{directory}/mail/%u/Maildir
postmaster_address = postmaster@bench.example
""")


def make_config(source, directory, side_root):
    shutil.copytree(os.path.join(source, "tools", "bench", "smtpd_config"), directory)
    for name, text in (("record", RECORDER), ("status", STATUS)):
        path = os.path.join(side_root, name)
        open(path, "w").write(text)
        os.chmod(path, 0o755)
    calls = os.path.join(side_root, "calls")
    os.makedirs(calls)
    os.chmod(calls, 0o777)
    dovecot_conf(side_root)
    routes = ", ".join(f"{d}={d.split('.')[0] if d != 'lda.example' else 'dovecot'}" for d in DOMAINS)
    routes = routes.replace("capture.example=capture", "capture.example=capture:Hop.Example")
    set_parameters(os.path.join(directory, "main.cf"), {
        "relay_domains": "partner.example, " + ", ".join(DOMAINS),
        "transport_maps": "inline:{ " + routes + " }",
        "recipient_delimiter": "+",
        "capture_destination_recipient_limit": "1",
        "status_destination_recipient_limit": "1",
        "dovecot_destination_recipient_limit": "1",
        "status_time_limit": "3s",
    })
    with open(os.path.join(directory, "master.cf"), "a") as f:
        f.write(MASTER_CF.format(rec=os.path.join(side_root, "record"), status=os.path.join(side_root, "status"),
                                 lda=LDA, root=side_root))


def send(port, sender, recipients, headers, body, n):
    # "-From" in the headers: a message without From:, for cleanup's to add.
    from_line = "" if headers.startswith("-From\r\n") else "From: <x@bench.example>\r\n"
    headers = headers.removeprefix("-From\r\n")
    message = f"{from_line}Subject: message {n}\r\nX-Test-Input: {n}\r\n{headers}\r\n{body}"
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            refused = s.sendmail(sender, recipients, message)
        return "250" + (f" refused {refused}" if refused else "")
    except smtplib.SMTPException as e:
        return str(e)


def calls(side_root, replace):
    """{name: (arguments, input)}, with the side's own paths replaced and the
    lines of its Received: header and the From_ line's date left out."""
    out = {}
    for path in sorted(glob.glob(os.path.join(side_root, "calls", "*.args"))):
        name = os.path.basename(path)[:-5]
        args = open(path).read().replace(replace, "ROOT").splitlines()
        if name.startswith("multi-"):
            args = args[:1] + sorted(args[1:])  # Postfix sorts recipients, posternd keeps their order
        text = open(path[:-5] + ".in", newline="").read()
        kept, in_received = [], False
        for line in text.splitlines(keepends=True):
            if line.startswith("Received:"):
                in_received = True
                continue
            # cleanup's Message-Id: and Date: for a local client (their values
            # name the queue id and the second of arrival).
            line = re.sub(r"^(Message-Id|Date): .*?(\r?\n)$", r"\1: VALUE\2", line)
            if in_received and line[:1] in (" ", "\t"):
                continue
            in_received = False
            kept.append(re.sub(r"^(From \S+  ).*", r"\1DATE", line))
        out[name] = (args, "".join(kept))
    return out


STATUS_LINE = re.compile(r"to=<([^>]*)>,(?: orig_to=<[^>]*>,)? relay=([^,]+), .*dsn=([^,]+), status=(\w+) \((.*)\)$")


def statuses(log_text, replace, wanted):
    """{recipient: (relay, dsn, status, text)}: each one's first attempt."""
    out = {}
    for line in log_text.splitlines():
        m = STATUS_LINE.search(line)
        if m and m.group(1).lower() in wanted and m.group(1).lower() not in out:
            # (Postfix leaves the space a command's last newline became.)
            out[m.group(1).lower()] = (m.group(2), m.group(3), m.group(4),
                                       m.group(5).replace(replace, "ROOT").rstrip())
    return out


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def maildir(side_root):
    # Without -d, the LDA stores in the mailbox of the user it runs as.
    files = glob.glob(os.path.join(side_root, "mail", "nobody", "Maildir", "new", "*"))
    if not files:
        return None
    lines = open(files[0]).read().split("\n\n", 1)[0].splitlines()
    # The headers before our Received: one (its continuation lines too).
    return lines[:lines.index(next(l for l in lines if l.startswith("Received:")))]


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix")
        return SKIP
    if not os.path.exists(LDA):
        print("skipped: needs Debian's dovecot-core (dovecot-lda)")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-pipe-")
    os.chmod(root, 0o755)
    sides = {"ours": os.path.join(root, "ours-side"), "theirs": os.path.join(root, "theirs-side")}
    for d in sides.values():
        os.makedirs(d)
        os.chmod(d, 0o755)
    ours_config, theirs_config = os.path.join(root, "ours"), os.path.join(root, "theirs")
    make_config(args.source, ours_config, sides["ours"])
    make_config(args.source, theirs_config, sides["theirs"])
    wanted = {r.lower() for _, rcpts, _, _ in MESSAGES for r in rcpts}
    results = []
    pf = PrivatePostfix(theirs_config, os.path.join(root, "postfix"), recorded=())
    # The mail owner may not be a pipe service's user: posternd runs as
    # postfix here, as Postfix's own daemons do.
    with Posternd(args.postern, args.posternd, ours_config, deliver=True, user="postfix") as pd, pf:
        wait_for_port(pf.port)
        replies = {label: [send(port, s, r, h, b, n) for n, (s, r, h, b) in enumerate(MESSAGES)]
                   for label, port in (("postern", pd.port), ("postfix", pf.port))}
        maillog = os.path.join(root, "postfix", "maillog")

        def theirs_log():
            try:
                return open(maillog, errors="replace").read()
            except OSError:
                return ""

        wait_for(lambda: len(statuses(pd.log_text(), sides["ours"], wanted)) == len(wanted) and
                 len(statuses(theirs_log(), sides["theirs"], wanted)) == len(wanted))
        ours_status = statuses(pd.log_text(), sides["ours"], wanted)
        theirs_status = statuses(theirs_log(), sides["theirs"], wanted)
        log = pd.log_text()
    results.append(("every message accepted by both", replies["postern"] == replies["postfix"] ==
                    ["250"] * len(MESSAGES), replies))
    ours_calls, theirs_calls = calls(sides["ours"], sides["ours"]), calls(sides["theirs"], sides["theirs"])
    results.append((f"{len(ours_calls)} commands run, with the arguments and input Postfix's pipe(8) gives them",
                    ours_calls == theirs_calls and len(ours_calls) == 3,
                    "\n".join(f"{k}:\n  postfix: {theirs_calls.get(k)}\n  postern: {ours_calls.get(k)}"
                              for k in sorted(set(ours_calls) | set(theirs_calls))
                              if ours_calls.get(k) != theirs_calls.get(k))))
    results.append((f"{len(ours_status)} recipients' delivery status as Postfix's (relay, dsn, status, text)",
                    ours_status == theirs_status and len(ours_status) == len(wanted),
                    "\n".join(f"{k}:\n  postfix: {theirs_status.get(k)}\n  postern: {ours_status.get(k)}"
                              for k in sorted(wanted) if ours_status.get(k) != theirs_status.get(k)) +
                    "\n" + log[-3000:]))
    ours_box, theirs_box = maildir(sides["ours"]), maildir(sides["theirs"])
    results.append(("Dovecot's LDA stored the message in a Maildir, with the headers Postfix's flags give",
                    ours_box is not None and ours_box == theirs_box, f"postfix: {theirs_box}\npostern: {ours_box}"))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
