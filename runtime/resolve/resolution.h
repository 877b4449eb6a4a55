// resolution.h: what the resolver says about an address: the steps it took
// (for `postern trace`) and the outcome for each final recipient. Plain
// structs, shared by the daemon, the trace tool and tests.
#pragma once

#include <string>
#include <vector>

namespace postern::resolve {

struct TraceStep {
  std::string stage;   // rewrite, smtpd, canonical, virtual, class, transport, relocated, alias, local
  std::string table;   // parameter and table consulted ("virtual_alias_maps hash:/etc/postfix/virtual")
  std::string key;     // the key that matched, if any
  std::string result;  // what the address became, or the decision
};

struct Delivery {
  enum class Status { kDeliver, kBounce, kReject, kDefer };
  Status status = Status::kDeliver;
  std::string address;    // the final recipient (its original is Resolution::input)
  std::string transport;  // kDeliver: master.cf service name
  std::string nexthop;
  std::string address_class;  // local, virtual, relay, default (kDeliver)
  std::string detail;         // local delivery: "mailbox /var/mail/u", "file /x", "command |x", "maildir /h/Maildir/"
  int code = 0;               // kBounce/kReject/kDefer: SMTP reply code
  std::string text;           // enhanced status code and text
};

const char* DeliveryStatusName(Delivery::Status status);

// `address` deferred with `code` and `text` (the enhanced status code and text).
inline Delivery Deferred(std::string address, int code, std::string text) {
  Delivery d;
  d.status = Delivery::Status::kDefer;
  d.address = std::move(address);
  d.code = code;
  d.text = std::move(text);
  return d;
}

struct Resolution {
  std::string input;
  std::string sender;  // after sender rewriting (when a sender was given)
  std::vector<TraceStep> steps;
  std::vector<Delivery> results;
  std::string lookup_failure;  // a table that did not answer: which, and why (the results are one deferral)
};

}  // namespace postern::resolve
