#!/usr/bin/env python3
"""SMTP dialogues replayed against posternd and a private Postfix 3.7 on the
same configuration (examples/office, derived as postfix_instance.py does),
comparing every reply's code and enhanced status code.

The dialogues are ours, written from what Postfix was measured to answer:
command syntax, address syntax, sequencing, BDAT, non-SMTP commands,
ESMTP options, relay control for a client outside mynetworks (XCLIENT),
reject_multi_recipient_bounce.
Needs root and Debian's postfix package (exit 77 otherwise).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from postfix_instance import SKIP, PrivatePostfix, free_port, wait_for_port  # noqa: E402
from posternd import arguments  # noqa: E402

OUTSIDE = "XCLIENT ADDR=203.0.113.9 NAME=mail.outside.example"
LONG_LABEL = "a" * 64

DIALOGUES = {
    "unknown command": ["EHLO client.example", "FOO bar", "EXPN fred", "HELP", "TURN", "NOOP x"],
    "HELO syntax": ["HELO", "EHLO", "HELO x y", "EHLO client.example"],
    "MAIL without HELO": ["MAIL FROM:<a@b.example>", "RSET", "QUIT"],
    "MAIL without a path": ["EHLO client.example", "MAIL FROM:", "MAIL FROM:<>", "RCPT TO:"],
    "sender domains": ["EHLO client.example"] + [x for d in (
        "a..b", "-a.example", "a-.example", "123.456", "1.2.3.4", "[1.2.3]", "[a.example]", "a.example:25",
        LONG_LABEL + ".example", "a_b.example", "a.example.", "[192.0.2.1]", "a.123", "xn--bad.example", "a")
        for x in (f"MAIL FROM:<x@{d}>", "RSET")],
    "recipient domains": ["EHLO client.example", "MAIL FROM:<>"] + [f"RCPT TO:<x@{d}>" for d in (
        "a..b", "-a.example", LONG_LABEL + ".example", "1.2.3.4", "[1.2.3]")] + ["RCPT TO:<>"],
    "8-bit addresses": ["EHLO client.example", "MAIL FROM:<>", "RCPT TO:<jöe@example.com>",
                        "RCPT TO:<x@é.example>"],
    "ESMTP options": ["EHLO client.example", "MAIL FROM:<a@b.example> SIZE=abc", "MAIL FROM:<a@b.example> FOO=bar",
                      "MAIL FROM:<a@b.example> BODY=8BITMIME", "RCPT TO:<fred@example.com> NOTIFY=BOGUS",
                      "RCPT TO:<fred@example.com> FOO=1", "RCPT TO:<fred@example.com>"],
    "sequencing": ["EHLO client.example", "RCPT TO:<fred@example.com>", "DATA", "MAIL FROM:<a@b.example>",
                   "MAIL FROM:<a@b.example>", "DATA", "RSET x", "RSET"],
    "BDAT": ["EHLO client.example", "MAIL FROM:<>", "RCPT TO:<fred@example.com>", "BDAT 0", "RSET"],
    "ETRN": ["EHLO client.example", "ETRN", "ETRN example.com", "MAIL FROM:<>", "ETRN example.com"],
    "web request": ["GET / HTTP/1.0"],
    "web request after EHLO": ["EHLO client.example", "POST /form HTTP/1.1"],
    "non-letter command": ["<html>"],
    "relay from outside": [OUTSIDE, "EHLO mail.outside.example", "MAIL FROM:<a@outside.example>",
                           "RCPT TO:<someone@elsewhere.org>", "RCPT TO:<fred@example.com>",
                           "RCPT TO:<nobody@example.com>", "RCPT TO:<postmaster@example.com>"],
    "VRFY": ["EHLO client.example", "VRFY fred", "VRFY"],
}


# With strict_rfc821_envelopes = yes: addresses must come in <>.
STRICT_DIALOGUES = {
    "strict envelopes": ["EHLO client.example", "MAIL FROM:a@b.example", "MAIL FROM: <a@b.example>",
                         "RCPT TO:fred@example.com", "RCPT TO:<fred@example.com>"],
}

# With smtpd_junk_command_limit = 2, smtpd_recipient_limit = 1,
# smtpd_recipient_overshoot_limit = 2 and smtpd_hard_error_limit = 3: when
# repeated commands and 452s start to count as errors.
LIMIT_DIALOGUES = {
    "junk commands": ["EHLO client.example", "NOOP", "RSET", "NOOP", "VRFY fred", "NOOP", "NOOP", "NOOP"],
    "recipient overshoot": ["EHLO client.example", "MAIL FROM:<a@b.example>", "RCPT TO:<fred@example.com>",
                            "RCPT TO:<fred@example.com>", "RCPT TO:<fred@example.com>",
                            "RCPT TO:<fred@example.com>", "RCPT TO:<fred@example.com>",
                            "RCPT TO:<fred@example.com>", "RCPT TO:<fred@example.com>"],
}

# reject_multi_recipient_bounce at RCPT and DATA (the data list alone, and
# both lists).
BOUNCE_DIALOGUES = {
    "a bounce to one recipient": ["EHLO client.example", "MAIL FROM:<>", "RCPT TO:<fred@example.com>", "DATA"],
    "a bounce to two recipients": ["EHLO client.example", "MAIL FROM:<>", "RCPT TO:<fred@example.com>",
                                   "RCPT TO:<jean@example.com>", "DATA"],
    "mail to two recipients": ["EHLO client.example", "MAIL FROM:<a@b.example>", "RCPT TO:<fred@example.com>",
                               "RCPT TO:<jean@example.com>", "DATA"],
}

# Whole packets, each sent at once, with smtpd_forbid_unauth_pipelining = yes:
# what may follow a command in one packet (RFC 2920) and what may not.
PACKETS = {
    "HELO then MAIL": ["HELO x\r\nMAIL FROM:<>\r\n"],
    "EHLO then MAIL": ["EHLO x\r\nMAIL FROM:<>\r\n"],
    "a pipelined transaction up to DATA": ["EHLO x\r\n", "MAIL FROM:<>\r\nRCPT TO:<fred@example.com>\r\nDATA\r\n"],
    "the message sent with DATA": ["EHLO x\r\n", "MAIL FROM:<>\r\nRCPT TO:<fred@example.com>\r\nDATA\r\n"
                                   "Subject: x\r\n\r\nbody\r\n.\r\n"],
    "NOOP then NOOP": ["EHLO x\r\n", "NOOP\r\nNOOP\r\n"],
    "RSET then NOOP": ["EHLO x\r\n", "RSET\r\nNOOP\r\n"],
    "VRFY then NOOP": ["EHLO x\r\n", "VRFY fred\r\nNOOP\r\n"],
    "RSET and QUIT": ["EHLO x\r\n", "MAIL FROM:<>\r\nRCPT TO:<fred@example.com>\r\nRSET\r\nQUIT\r\n"],
    "pipelining after HELO": ["HELO x\r\n", "MAIL FROM:<>\r\nRCPT TO:<fred@example.com>\r\n"],
    "before the greeting's reply": ["NOOP\r\nNOOP\r\n"],
}


def send_packets(port, packets):
    """The reply codes (and "(closed)") the server gave to the packets."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(1.0)
    data = b""
    try:
        data += s.recv(4096)
        for packet in packets:
            s.sendall(packet.encode())
            time.sleep(0.2)
            try:
                data += s.recv(65536)
            except socket.timeout:
                pass
        while True:
            chunk = s.recv(65536)
            if not chunk:
                data += b"(closed)\r\n"
                break
            data += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        data += b"(closed)\r\n"
    s.close()
    lines = data.decode(errors="replace").split("\r\n")
    return [code_of(line) for line in lines[1:] if line and (len(line) < 4 or line[3] != "-")]


def talk(port, lines):
    """Each line's reply (its last line), or "(closed)"."""
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline().decode(errors="replace").rstrip("\r\n")
            if not line:
                return "(closed)"
            if len(line) < 4 or line[3] != "-":
                return line

    replies = [("(greeting)", reply())]
    for line in lines:
        try:
            s.sendall(line.encode() + b"\r\n")
            replies.append((line, reply()))
        except OSError:
            replies.append((line, "(closed)"))
    s.close()
    return replies


def code_of(reply):
    """The reply code and, when there is one, the enhanced status code."""
    words = reply.split()
    if not words or not words[0].isdigit():
        return reply
    if len(words) > 1 and words[1][:1] in "245" and words[1].count(".") == 2:
        return words[0] + " " + words[1]
    return words[0]


def start_posternd(postern, posternd, etc, root, users):
    images = os.path.join(root, "images")
    r = subprocess.run([postern, "compile", "-c", etc, "-o", images], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("postern compile: " + r.stderr)
    log = open(os.path.join(root, "posternd.log"), "w")
    for attempt in range(3):  # another test may take the free port first
        port = free_port()
        process = subprocess.Popen([posternd, "-i", images, "-q", os.path.join(root, "queue"), "--listen",
                                    "127.0.0.1:%d" % port, "--no-delivery", "--users", users, "--user", "nobody",
                                    "--maillog-file", "/dev/stderr"],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port)
        except RuntimeError:
            process.kill()
            process.wait()
            if attempt == 2:
                raise
            continue
        time.sleep(0.3)  # a posternd that could not bind exits: the port answered for someone else
        if process.poll() is None:
            return process, port
    raise RuntimeError("posternd did not start: " + open(os.path.join(root, "posternd.log")).read()[-2000:])


def compare_on(args, root, extra, compare):
    """Runs compare(postfix_port, posternd_port) -> (compared, different)
    with both servers on examples/office plus `extra`."""
    example = os.path.join(args.source, "examples", "office")
    users = os.path.join(example, "trace", "users")
    os.makedirs(root)
    instance = PrivatePostfix(example, os.path.join(root, "postfix"),
                              {"smtpd_authorized_xclient_hosts": "127.0.0.0/8", **extra})
    ours_root = os.path.join(root, "posternd")
    os.makedirs(ours_root)
    process, port = start_posternd(args.postern, args.posternd, instance.etc,
                                   ours_root, users)
    try:
        with instance:
            return compare(instance.port, port)
    finally:
        process.terminate()
        process.wait(timeout=30)


def compare_dialogues(postfix_port, posternd_port, dialogues=None):
    compared = different = 0
    for name, lines in (dialogues or DIALOGUES).items():
        theirs = talk(postfix_port, lines)
        ours = talk(posternd_port, lines)
        for (command, postfix), (_, postern) in zip(theirs, ours):
            if command == "(greeting)":
                continue
            compared += 1
            if code_of(postfix) != code_of(postern):
                different += 1
                print(f"DIFFERENT [{name}] {command[:60]}\n  postfix: {postfix}\n  postern: {postern}")
    return compared, different


def compare_packets(postfix_port, posternd_port):
    compared = different = 0
    for name, packets in PACKETS.items():
        theirs = send_packets(postfix_port, packets)
        ours = send_packets(posternd_port, packets)
        compared += 1
        if theirs != ours:
            different += 1
            print(f"DIFFERENT [{name}]\n  postfix: {theirs}\n  postern: {ours}")
    return compared, different


def main():
    args = arguments()
    if os.geteuid() != 0 or shutil.which("postfix") is None:
        print("skipped: needs root and Debian's postfix package")
        return SKIP
    root = tempfile.mkdtemp(prefix="postern-dialogue-")
    os.chmod(root, 0o755)
    compared, different = compare_on(args, os.path.join(root, "dialogues"), {}, compare_dialogues)
    n, d = compare_on(args, os.path.join(root, "pipelining"), {"smtpd_forbid_unauth_pipelining": "yes"},
                      compare_packets)
    compared += n
    different += d
    n, d = compare_on(args, os.path.join(root, "strict"), {"strict_rfc821_envelopes": "yes"},
                      lambda theirs, ours: compare_dialogues(theirs, ours, STRICT_DIALOGUES))
    compared += n
    different += d
    n, d = compare_on(args, os.path.join(root, "limits"),
                      {"smtpd_junk_command_limit": "2", "smtpd_recipient_limit": "1",
                       "smtpd_recipient_overshoot_limit": "2", "smtpd_hard_error_limit": "3",
                       "smtpd_error_sleep_time": "0"},
                      lambda theirs, ours: compare_dialogues(theirs, ours, LIMIT_DIALOGUES))
    compared += n
    different += d
    for name, extra in (("bounces-data", {"smtpd_data_restrictions": "reject_multi_recipient_bounce"}),
                        ("bounces-rcpt", {"smtpd_data_restrictions": "reject_multi_recipient_bounce",
                                          "smtpd_recipient_restrictions": "reject_multi_recipient_bounce"})):
        n, d = compare_on(args, os.path.join(root, name), extra,
                          lambda theirs, ours: compare_dialogues(theirs, ours, BOUNCE_DIALOGUES))
        compared += n
        different += d
    print(f"smtp dialogues: {compared} replies and packet exchanges compared, {different} different")
    print(f"{compared - different} passed, {different} failed")
    if different == 0:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"(kept in {root})")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
