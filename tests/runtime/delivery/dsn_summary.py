#!/usr/bin/env python3
"""Parses a delivery status notification with Python's email package and
prints what a mail client or a bounce processor would see, one fact per
line (dsn_test.cc compares it)."""
import email
import email.policy
import sys

msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.compat32)
print("type", msg.get_content_type(), "report-type=" + str(msg.get_param("report-type")))
print("from", msg["From"])
print("to", msg["To"])
print("subject", msg["Subject"])
parts = msg.get_payload()
print("parts", len(parts))
for i, part in enumerate(parts, 1):
    print("part%d" % i, part.get_content_type())
    if part.get_content_type() == "message/delivery-status":
        blocks = part.get_payload()
        print("  per-message", "Reporting-MTA=" + str(blocks[0]["Reporting-MTA"]),
              "Arrival-Date=" + ("yes" if blocks[0]["Arrival-Date"] else "no"))
        for block in blocks[1:]:
            print("  recipient", "; ".join("%s=%s" % (k, block[k]) for k in
                                           ("Final-Recipient", "Original-Recipient", "Action", "Status",
                                            "Remote-MTA", "Diagnostic-Code") if block[k]))
    elif part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0)
        print("  original subject", inner["Subject"], "body", repr(inner.get_payload()))
    elif part.get_content_type() == "text/rfc822-headers":
        print("  headers", repr(part.get_payload()))
print("defects", len(msg.defects) + sum(len(p.defects) for p in parts))
