#!/usr/bin/env python3
"""smtpd_milters, posternd and a private Postfix 3.7 side by side, talking
to the same Milter applications (MILTER_README): Debian's OpenDKIM, which
signs a message (verified afterwards with Debian's python3-dkim), a
scripted milter written
with Debian's python3-milter that refuses, tempfails, discards,
quarantines and edits as each message asks (headers added, inserted,
changed and deleted, recipients added and deleted, the sender changed,
the body replaced), milter_header_checks on the headers it adds and
changes, milters that refuse the connection, and an address nobody
listens on under each milter_default_action; smtpd_milter_maps giving a
client no milters or one of its own.

Compared with Postfix: every SMTP reply, word for word; the events each
milter was sent (commands, arguments, headers, body and the stable macros)
in the same order; and every stored message (queue, sender, recipients,
headers after our Received: and body) after the milters' edits.

Needs root, Debian's postfix, python3-milter, python3-dkim and opendkim
(exit 77 otherwise).
"""
import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_restrictions_differential import MASTER_CF as STANDARD_MASTER_CF  # noqa: E402
from peers import OpenDkim, ScriptedMilter, SilentServer  # noqa: E402
from postfix_instance import SKIP, free_port  # noqa: E402
from posternd import Posternd, arguments, read_queue_file  # noqa: E402
from smtpd_services_differential import SideBySide, finish, office_config, talk  # noqa: E402

SERVICES = ("smtp", "connreject", "conntempfail", "connreply", "deadtempfail", "deadaccept", "deadreject",
            "deadquarantine", "deadgroup", "silent", "nomilters", "mapoff", "mapon", "slow", "sign")


def master_cf(ports, dead):
    def service(name, *overrides):
        return f"{name:<9} inet  n       -       n       -       -       smtpd\n" + "".join(
            f"  -o {{ {o} }}\n" for o in overrides)
    extra = (service("connreject", f"smtpd_milters = inet:127.0.0.1:{ports['reject']}")
             + service("conntempfail", f"smtpd_milters = inet:127.0.0.1:{ports['tempfail']}")
             + service("connreply", f"smtpd_milters = inet:127.0.0.1:{ports['reply']}")
             + service("deadtempfail", f"smtpd_milters = inet:127.0.0.1:{dead}")
             + service("deadaccept", f"smtpd_milters = inet:127.0.0.1:{dead}", "milter_default_action = accept")
             + service("deadreject", f"smtpd_milters = inet:127.0.0.1:{dead}", "milter_default_action = reject")
             + service("deadquarantine", f"smtpd_milters = inet:127.0.0.1:{dead}",
                       "milter_default_action = quarantine")
             + service("deadgroup", f"smtpd_milters = {{ inet:127.0.0.1:{dead}, default_action=accept }}, "
                                    f"inet:127.0.0.1:{ports['scripted']}")
             + service("silent", f"smtpd_milters = inet:127.0.0.1:{ports['silent']}", "milter_command_timeout = 1s")
             + service("nomilters", "receive_override_options = no_milters")
             # smtpd_milter_maps by client address: none for this client, or another milter
             + service("mapoff", "smtpd_milter_maps = cidr:/etc/postfix/milter_map_off")
             + service("mapon", "smtpd_milters =", "smtpd_milter_maps = cidr:/etc/postfix/milter_map_on")
             + service("slow", "milter_content_timeout = 1s", "milter_default_action = accept")
             + service("sign", f"smtpd_milters = inet:127.0.0.1:{ports['opendkim']}"))
    return STANDARD_MASTER_CF.replace(
        "smtp      inet  n       -       n       -       -       smtpd\n",
        "smtp      inet  n       -       n       -       -       smtpd\n" + extra, 1)


def message(actions, subject="a test"):
    """DATA's content and its end, as one 'line' for talk()."""
    return "\r\n".join([
        # With a Date: and a Message-ID: cleanup adds none (a case without
        # is below).
        "From: Sender <sender@outside.example>", "To: fred@example.com", f"Subject: {subject}",
        "Date: Mon, 7 Dec 2026 00:00:00 +0000",
        "Message-ID: <" + re.sub(r"\W", "-", actions or "none") + "@outside.example>",
        "X-Delete-Me: please", f"X-Milter-Test: {actions}", "X-Folded: one", "\tand two", "",
        "Hello.", "", "A second paragraph.", "."])


def transaction(sender, recipients, actions=None):
    lines = [f"MAIL FROM:<{sender}>"] + [f"RCPT TO:<{r}>" for r in recipients]
    if actions is not None:
        lines += ["DATA", message(actions)]
    return lines + ["RSET"]


EOM_ACTIONS = ["", "reject", "tempfail", "reply", "discard", "quarantine", "accept",
               "addheader,insheader,chgheader,delheader", "addrcpt,delrcpt", "addrcpt-args", "chgfrom",
               "replbody", "addheader,replbody,quarantine",
               # milter_header_checks (MILTER_HEADER_CHECKS) on what the milter adds or changes
               "check-reject", "check-tempreject", "check-hold", "check-discard", "check-warn",
               "check-ignore,inscheck-replace,addheader", "chgcheck-ignore", "chgcheck-replace",
               "check-reject,addrcpt,chgfrom"]

MILTER_HEADER_CHECKS = """\
/^X-Check: reject$/ REJECT checked and refused
/^X-Check: tempreject$/ REJECT 4.7.2 checked, try later
/^X-Check: hold$/ HOLD held by a check
/^X-Check: discard$/ DISCARD
/^X-Check: warn$/ WARN noted
/^X-Check: ignore$/ IGNORE
/^X-Check: replace$/ REPLACE X-Checked: replaced
/^Subject: check ignore$/ IGNORE
/^Subject: check replace$/ REPLACE X-Old-Subject: replaced
"""


def dialogues():
    """Each scenario in a connection of its own: a refused MAIL or DATA
    leaves what follows it unsendable."""
    ehlo = ["EHLO client.example"]
    d = {}
    for local in ("mail-reject", "mail-tempfail", "mail-reply"):
        d[local] = ("smtp", ehlo + transaction(f"{local}@outside.example", ["fred@example.com"]) + ["QUIT"])
    for local in ("mail-discard", "mail-accept", "data-reject"):
        d[local] = ("smtp", ehlo + transaction(f"{local}@outside.example", ["fred@example.com"], "reject") + ["QUIT"])
    d["recipients"] = ("smtp", ehlo + transaction("sender@outside.example", [
        "rcpt-reject@example.com", "rcpt-tempfail@example.com", "rcpt-reply@example.com", "fred@example.com"], "")
        + ["XYZZY", "QUIT"])
    for actions in EOM_ACTIONS:
        d["end of message: " + (actions or "continue")] = (
            "smtp", ehlo + transaction("sender@outside.example", ["fred@example.com", "jean@example.com"], actions)
            + ["QUIT"])
    # No Date:, Message-ID: or From:: cleanup adds them for this local
    # client, and the milter sees them, before what it adds.
    bare = "\r\n".join(["To: fred@example.com", "Subject: no date", "X-Milter-Test: addheader,insheader", "",
                         "Hello.", "."])
    d["cleanup's missing headers"] = ("smtp", ehlo + ["MAIL FROM:<sender@outside.example>",
                                                      "RCPT TO:<fred@example.com>", "DATA", bare, "QUIT"])
    content = message("addheader,chgheader")[:-len("\r\n.")] + "\r\n"
    d["BDAT"] = ("smtp", ehlo + ["MAIL FROM:<sender@outside.example>", "RCPT TO:<fred@example.com>",
                                 f"BDAT {len(content.encode())} LAST\r\n" + content[:-2], "QUIT"])
    d["two messages in one session"] = ("smtp", ehlo + transaction("sender@outside.example", ["fred@example.com"],
                                                                 "addheader")
                                        + transaction("sender@outside.example", ["jean@example.com"], "") + ["QUIT"])
    signed = "\r\n".join(["From: Fred <fred@example.com>", "To: jean@example.com", "Subject: signed",
                           "Date: Mon, 7 Dec 2026 00:00:00 +0000", "Message-ID: <signed@example.com>", "",
                           "Signed by OpenDKIM on the way out.", "."])
    d["OpenDKIM signs"] = ("sign", ehlo + ["MAIL FROM:<fred@example.com>", "RCPT TO:<jean@example.com>", "DATA",
                                          signed, "QUIT"])
    short = ehlo + transaction("sender@outside.example", ["fred@example.com"]) + ["QUIT"]
    d["HELO after a connect reject"] = ("connreject", ["HELO client.example"] + short[1:])
    for service in SERVICES[1:-2]:
        d[f"service {service}"] = (service, short)
    d["receive_override_options = no_milters"] = (
        "nomilters", ehlo + transaction("mail-reject@outside.example", ["fred@example.com"], "reject") + ["QUIT"])
    d["smtpd_milter_maps: DISABLE for this client"] = (
        "mapoff", ehlo + transaction("mail-reject@outside.example", ["fred@example.com"], "reject") + ["QUIT"])
    d["a milter that takes too long at the end of the message"] = (
        "slow", ehlo + transaction("sender@outside.example", ["fred@example.com"], "sleep,reject")
        + transaction("sender@outside.example", ["jean@example.com"], "") + ["QUIT"])
    return d


def normalized(reply):
    return re.sub(r"queued as \S+", "queued as ID", reply)


# Macros whose values differ between two servers (ports, queue ids, names
# of the daemons) are compared by presence only.
VARYING = {"i", "{client_port}", "{daemon_addr}", "_", "v", "j", "{daemon_name}"}


def comparable_events(events):
    """The events per connection, in order, as comparable tuples."""
    by_connection = {}
    for e in events:
        macros = {k: (bool(v) if k in VARYING else v) for k, v in e["macros"].items()}
        args = [re.sub(r"\b[0-9A-F]{10,16}\b", "ID", a) for a in e["args"]]
        if e["event"] == "header" and args[:1] == ["Date"] and args[1].endswith("(UTC)"):
            args[1] = "DATE"  # cleanup's, with the time of arrival
        by_connection.setdefault(e["conn"], []).append((e["event"], args, sorted(macros.items())))
    # A connection that only connected is a test's probe of the port.
    return [by_connection[k] for k in sorted(by_connection)
            if [e[0] for e in by_connection[k]] != ["connect", "close"]]


def settled_events(milter):
    """The events, once every milter connection has closed (the servers
    send the last ones after the client has gone)."""
    deadline = time.time() + 10
    while True:
        events = milter.events()
        opened = {e["conn"] for e in events if e["event"] == "connect"}
        closed = {e["conn"] for e in events if e["event"] == "close"}
        if opened <= closed or time.time() > deadline:
            return events
        time.sleep(0.1)


def postfix_messages(instance):
    """Postfix's stored messages: (queue, sender, recipients, headers, body)."""
    out = subprocess.run(["postqueue", "-j"], env=instance.env, capture_output=True, text=True).stdout
    messages = []
    for line in out.splitlines():
        q = json.loads(line)
        text = subprocess.run(["postcat", "-bh", "-q", q["queue_id"]], env=instance.env, capture_output=True,
                              text=True).stdout
        messages.append(("hold" if q["queue_name"] == "hold" else "incoming", q["sender"],
                         sorted(r["address"] for r in q["recipients"]), text))
    return messages


def posternd_messages(queue):
    messages = []
    for name in ("incoming", "hold"):
        d = os.path.join(queue, name)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            m = read_queue_file(os.path.join(d, f))
            content = m["content"].decode(errors="replace") if isinstance(m["content"], bytes) else m["content"]
            messages.append((name, m["sender"], sorted(r["address"] for r in m["recipients"]), content))
    return messages


def comparable_message(m):
    queue, sender, recipients, text = m
    text = text.replace("\r\n", "\n")
    head, _, body = text.partition("\n\n")
    headers = email.parser.HeaderParser().parsestr(head + "\n\n").items()
    # Our own Received: header differs (software, queue id, date): the others do not.
    headers = [(k, re.sub(r"\s+", " ", v)) for k, v in headers if k.lower() != "received" or "outside" in v]
    # A signature's time and value differ from one signing to the next.
    headers = [(k, re.sub(r"\bt=\d+;|\bb=[^;]*$", "", v) if k == "DKIM-Signature" else v) for k, v in headers]
    # cleanup's own Message-Id: and Date: name its queue id and the time.
    headers = [(k, "<CLEANUP>" if k == "Message-Id" and re.match(r"<\d{14}\.\w+@", v) else
                "DATE" if k == "Date" and v.endswith("(UTC)") else v) for k, v in headers]
    ids = [v for k, v in headers if k.lower() == "message-id"]
    return (ids[0] if ids else "", queue, sender, recipients, headers, body)


VERIFY = """
import dkim, sys
message = sys.stdin.buffer.read()
record = sys.argv[1].encode()
print("pass" if dkim.verify(message, dnsfunc=lambda name, timeout=5: record) else "fail")
"""


def dkim_verdict(stored, record):
    """Whether the message with Message-ID <signed@example.com> carries a
    DKIM-Signature that Python's dkim module (Debian's, in /usr/bin/python3)
    verifies against `record`."""
    for _, _, _, text in stored:
        if "<signed@example.com>" not in text:
            continue
        if "DKIM-Signature:" not in text:
            return "no DKIM-Signature"
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        r = subprocess.run(["/usr/bin/python3", "-c", VERIFY, record], input=data, capture_output=True)
        return (r.stdout.decode() + r.stderr.decode()).strip()
    return "not stored"


def dying_milter(args, root):
    """posternd alone (Postfix would store what the milter had sent of the
    new body, under milter_default_action = accept): a milter that dies
    half way through replacing the body leaves no message to store, and
    the client is told to try again."""
    with ScriptedMilter(os.path.join(root, "dying.log")) as dying, \
            Posternd(args.postern, args.posternd, os.path.join(args.source, "examples", "office"),
                     extra=f"smtpd_milters = inet:127.0.0.1:{dying.port}\nmilter_default_action = accept\n") as d:
        replies = talk(d.port, "plain", ["EHLO client.example"] +
                       transaction("sender@outside.example", ["fred@example.com"], "die-in-replbody") + ["QUIT"])
        end = [r for command, r in replies if command.startswith("From:")]
        stored = d.queued()
    return ("a milter that dies half way through a new body: 451, nothing stored (posternd is stricter than "
            "Postfix here)", end == ["451 4.3.0 Error: milter lost while replacing the message body"] and not stored,
            f"{end} {stored}")


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None or not ScriptedMilter.available() or \
            not OpenDkim.available():
        print("skipped: needs root, Debian's postfix, python3-milter, python3-dkim and opendkim")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-milter-")
    os.chmod(root, 0o755)
    results = []
    with ScriptedMilter(os.path.join(root, "scripted.log")) as scripted, \
            ScriptedMilter(os.path.join(root, "reject.log"), "reject") as rejecting, \
            ScriptedMilter(os.path.join(root, "tempfail.log"), "tempfail") as tempfailing, \
            ScriptedMilter(os.path.join(root, "reply.log"), "reply") as replying, \
            OpenDkim(os.path.join(root, "opendkim")) as opendkim, SilentServer() as silent:
        ports = {"scripted": scripted.port, "reject": rejecting.port, "tempfail": tempfailing.port,
                 "reply": replying.port, "opendkim": opendkim.port, "silent": silent.port}
        config = office_config(args.source, root, master_cf(ports, free_port()), {
            "mynetworks": "10.0.0.0/8",
            "smtpd_milters": f"inet:127.0.0.1:{scripted.port}",
            "milter_header_checks": "regexp:/etc/postfix/milter_header_checks",
        })
        with open(os.path.join(config, "milter_header_checks"), "w") as f:
            f.write(MILTER_HEADER_CHECKS)
        with open(os.path.join(config, "milter_map_off"), "w") as f:
            f.write("192.0.2.0/24 inet:127.0.0.1:9\n127.0.0.0/8 disable\n")
        with open(os.path.join(config, "milter_map_on"), "w") as f:
            f.write(f"127.0.0.1/32 {{ inet:127.0.0.1:{rejecting.port}, default_action=accept }}\n")
        hold_everything = {"defer_transports": "smtp, relay, local, virtual, lmtp, mailboxrec, error"}
        with SideBySide(args, config, root, SERVICES, postfix_extra=hold_everything) as servers:
            replies, events = {}, {}
            for label, ports_of in (("postfix", servers.theirs), ("postern", servers.ours)):
                scripted.forget()
                replies[label] = {name: talk(ports_of[service], "plain", lines)
                                  for name, (service, lines) in dialogues().items()}
                events[label] = settled_events(scripted)
            stored = {"postfix": postfix_messages(servers.instance),
                      "postern": posternd_messages(os.path.join(servers.ours_root, "queue"))}
        compared = different = 0
        for name in dialogues():
            for (command, a), (_, b) in zip(replies["postfix"][name], replies["postern"][name]):
                compared += 1
                if normalized(a) != normalized(b):
                    different += 1
                    print(f"DIFFERENT [{name}] {command[:50]!r}\n  postfix: {a}\n  postern: {b}")
        results.append((f"{compared} replies compared with Postfix, word for word", different == 0,
                        f"{different} different"))
        a, b = comparable_events(events["postfix"]), comparable_events(events["postern"])
        problems = []
        for i, (x, y) in enumerate(zip(a, b)):
            for j, (ex, ey) in enumerate(zip(x, y)):
                if ex != ey:
                    problems.append(f"connection {i} event {j}:\n  postfix: {ex}\n  postern: {ey}")
                    break
            if len(x) != len(y):
                problems.append(f"connection {i}: {len(x)} events from Postfix, {len(y)} from posternd: "
                                f"{[e[0] for e in x]} / {[e[0] for e in y]}")
        if len(a) != len(b):
            problems.append(f"{len(a)} milter connections from Postfix, {len(b)} from posternd")
        results.append((f"the milter was sent the same {sum(map(len, b))} events in {len(b)} connections, "
                        "with the same arguments and macros", not problems and b, "\n".join(problems[:6])))
        theirs = sorted(comparable_message(m) for m in stored["postfix"])
        ours = sorted(comparable_message(m) for m in stored["postern"])
        mismatched = [f"postfix: {x}\npostern: {y}" for x, y in zip(theirs, ours) if x != y]
        if len(theirs) != len(ours):
            mismatched.append(f"{len(theirs)} messages stored by Postfix, {len(ours)} by posternd:\n"
                              f"{[m[0] for m in theirs]}\n{[m[0] for m in ours]}")
        results.append((f"{len(ours)} stored messages as Postfix stores them after the milters' edits",
                        not mismatched and ours, "\n".join(mismatched[:4])))
        verdicts = {label: dkim_verdict(stored[label], opendkim.public_record()) for label in stored}
        results.append(("OpenDKIM signs the outbound message through posternd, and the signature verifies "
                        "(as through Postfix)", verdicts == {"postfix": "pass", "postern": "pass"}, verdicts))
        log = servers.posternd_log
        results.append(("posternd names the milter nobody listens on, and the ones that time out",
                        "connect to Milter service inet:127.0.0.1:" in log and
                        f"milter inet:127.0.0.1:{silent.port}: can't read SMFIC_OPTNEG reply packet header: "
                        "Connection timed out" in log and
                        "can't read SMFIC_BODYEOB reply packet header: Connection timed out" in log,
                        log[-2000:]))
    results.append(dying_milter(args, root))
    return finish(results, root)


if __name__ == "__main__":
    sys.exit(main())
