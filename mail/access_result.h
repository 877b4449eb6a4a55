// access_result.h: what an access(5) table value means, classified once
// for the compiler (which values are restriction lists to compile), the VM
// (what to do) and the open-relay proof (what can happen), in the order
// Postfix's smtpd tests them.
#pragma once

#include <string>
#include <string_view>

namespace postern::mail {

struct AccessResult {
  enum class Verb {
    kOk,              // OK, RELAY, an all-numeric value
    kReject,          // REJECT [text]
    kDefer,           // DEFER [text]
    kCoded,           // 4nn/5nn text: `code` and `text`
    kDunno,           // DUNNO: stop looking, decide nothing
    kHold,            // HOLD [text]
    kDiscard,         // DISCARD [text]: accept and drop
    kRedirect,        // REDIRECT user@domain
    kBcc,             // BCC user@domain
    kFilter,          // FILTER transport:destination
    kPrepend,         // PREPEND header: text
    kWarn,            // WARN [text]
    kInfo,            // INFO [text]
    kDeferIfPermit,   // DEFER_IF_PERMIT [text]
    kDeferIfReject,   // DEFER_IF_REJECT [text]
    kHangup,          // HANGUP: Postfix drops the connection; Postern treats it as DUNNO
    kTableReference,  // a value with a type:name in it: a server configuration error
    kRestrictions,    // anything else: a restriction list or class name
  };
  Verb verb = Verb::kDunno;
  std::string code;  // kCoded
  std::string text;  // what follows the verb, trimmed
};

AccessResult ParseAccessResult(std::string_view value);

}  // namespace postern::mail
