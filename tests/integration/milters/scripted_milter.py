#!/usr/bin/python3
"""A Milter application for the tests, written with Debian's python3-milter
(pymilter, in /usr/bin/python3): it records every event it is sent, with
the macros it can see, as JSON lines in LOG, and acts as the message tells
it to:

  connect        --connect reject|tempfail|accept|reply|shutdown (else continue)
  MAIL FROM      local part mail-reject, mail-tempfail, mail-reply, mail-discard,
                 mail-accept
  RCPT TO        local part rcpt-reject, rcpt-tempfail, rcpt-reply
  DATA           sender local part data-reject
  end of message the header X-Milter-Test: a list of reject, tempfail, reply,
                 discard, quarantine, accept, addheader, insheader, chgheader,
                 delheader, addrcpt, addrcpt-args, delrcpt, chgfrom, replbody, sleep,
                 check-X and inscheck-X (add or insert "X-Check: X"), chgcheck-X
                 (Subject becomes "check X")
                 (3 seconds before the answer), die-in-replbody (the process exits
                 after the first piece of a new body)

usage: scripted_milter.py PORT LOG [--connect ACTION]
"""
import json
import os
import sys
import threading
import time

import Milter

MACROS = ["i", "j", "_", "v", "{daemon_name}", "{daemon_addr}", "{client_addr}", "{client_name}", "{client_port}",
          "{mail_addr}", "{rcpt_addr}", "{auth_authen}", "{auth_type}", "{tls_version}"]
LOCK = threading.Lock()
CONNECT_ACTION = "continue"
LOG = None
CONNECTIONS = iter(range(1, 1 << 30))


class ScriptedMilter(Milter.Base):
    def __init__(self):
        self.conn = next(CONNECTIONS)
        self.actions = []
        self.sender = ""

    def record(self, event, *args):
        macros = {}
        for name in MACROS:
            value = self.getsymval(name)
            if value is not None:
                macros[name] = value
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps({"conn": self.conn, "event": event, "args": list(args), "macros": macros}) + "\n")

    def connect(self, hostname, family, hostaddr):
        self.record("connect", hostname, hostaddr[0] if hostaddr else "")
        action = CONNECT_ACTION
        if action == "reply":
            self.setreply("554", "5.7.1", "connection refused by milter")
            return Milter.REJECT
        if action == "shutdown":
            self.setreply("421", "4.7.0", "milter going down")
            return Milter.TEMPFAIL
        return {"reject": Milter.REJECT, "tempfail": Milter.TEMPFAIL, "accept": Milter.ACCEPT}.get(action,
                                                                                                    Milter.CONTINUE)

    def hello(self, name):
        self.record("helo", name)
        return Milter.CONTINUE

    def envfrom(self, sender, *params):
        self.record("mail", sender, *params)
        self.sender = sender
        local = sender.strip("<>").split("@")[0]
        if local == "mail-reply":
            self.setreply("550", "5.7.0", "sender refused by milter")
            return Milter.REJECT
        return {"mail-reject": Milter.REJECT, "mail-tempfail": Milter.TEMPFAIL, "mail-discard": Milter.DISCARD,
                "mail-accept": Milter.ACCEPT}.get(local, Milter.CONTINUE)

    def envrcpt(self, recipient, *params):
        self.record("rcpt", recipient, *params)
        local = recipient.strip("<>").split("@")[0]
        if local == "rcpt-reply":
            self.setreply("553", "5.1.1", "no such user here (milter)")
            return Milter.REJECT
        return {"rcpt-reject": Milter.REJECT, "rcpt-tempfail": Milter.TEMPFAIL}.get(local, Milter.CONTINUE)

    def data(self):
        self.record("data")
        if self.sender.strip("<>").split("@")[0] == "data-reject":
            return Milter.REJECT
        return Milter.CONTINUE

    def header(self, name, value):
        self.record("header", name, value)
        if name.lower() == "x-milter-test":
            self.actions = [a.strip() for a in value.split(",") if a.strip()]
        return Milter.CONTINUE

    def eoh(self):
        self.record("eoh")
        return Milter.CONTINUE

    def body(self, chunk):
        self.record("body", chunk.decode("latin-1"))
        return Milter.CONTINUE

    def eom(self):
        self.record("eom")
        a = self.actions
        if "sleep" in a:
            time.sleep(3)
        if "addheader" in a:
            self.addheader("X-Milter-Added", "yes, at the end")
            self.addheader("X-Milter-Folded", "first line\n\tsecond line")
        if "insheader" in a:
            self.addheader("X-Milter-Inserted", "at the top", idx=0)
        if "chgheader" in a:
            self.chgheader("Subject", 1, "changed by the milter")
            self.chgheader("X-Not-There", 1, "added by a change")
        for act in a:  # headers for milter_header_checks to judge
            if act.startswith("check-"):
                self.addheader("X-Check", act[len("check-"):])
            if act.startswith("inscheck-"):
                self.addheader("X-Check", act[len("inscheck-"):], idx=0)
            if act.startswith("chgcheck-"):
                self.chgheader("Subject", 1, "check " + act[len("chgcheck-"):])
        if "delheader" in a:
            self.chgheader("X-Delete-Me", 1, "")
        if "addrcpt" in a:
            self.addrcpt("<added@example.com>")
        if "addrcpt-args" in a:
            self.addrcpt("<added-args@example.com>", "NOTIFY=NEVER")
        if "delrcpt" in a:
            self.delrcpt("<fred@example.com>")
        if "chgfrom" in a:
            self.chgfrom("<changed-sender@example.com>")
        if "replbody" in a:
            self.replacebody(b"The milter replaced this body.\r\nSecond line.\r\n")
        if "die-in-replbody" in a:
            self.replacebody(b"The first part of a new body")
            os._exit(1)
        if "quarantine" in a:
            self.quarantine("the header asked for it")
        if "reply" in a:
            self.setreply("554", "5.7.1", "content refused by milter")
            return Milter.REJECT
        for action, result in (("reject", Milter.REJECT), ("tempfail", Milter.TEMPFAIL),
                               ("discard", Milter.DISCARD), ("accept", Milter.ACCEPT)):
            if action in a:
                return result
        return Milter.CONTINUE

    def abort(self):
        self.record("abort")
        return Milter.CONTINUE

    def close(self):
        self.record("close")
        return Milter.CONTINUE


def main():
    global CONNECT_ACTION, LOG
    port, LOG = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 4 and sys.argv[3] == "--connect":
        CONNECT_ACTION = sys.argv[4]
    Milter.factory = ScriptedMilter
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT | Milter.DELRCPT | Milter.CHGBODY |
                     Milter.QUARANTINE | Milter.CHGFROM | Milter.ADDRCPT_PAR)
    Milter.runmilter("scripted", "inet:%s@127.0.0.1" % port, timeout=60)


if __name__ == "__main__":
    main()
