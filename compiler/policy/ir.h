// ir.h: Postern's policy IR: what every front end (Postfix restriction
// lists in main.cf, the policy language) lowers to, and what codegen turns
// into bytecode. Plain structs; names resolved (tables are image table
// references, classes are names of `classes` entries).
//
// Semantics are Postfix's smtpd restriction lists: a stage runs its lists in
// order; within a list the first restriction that decides (permit, reject,
// defer) ends the list; permit moves on to the next list, reject or defer
// ends the stage with that reply; a stage whose lists all pass accepts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/diagnostic.h"

namespace postern::policy {

enum class Stage { kConnect, kHelo, kMail, kRcpt, kData, kEndOfData };
inline constexpr int kStageCount = 6;
const char* StageName(Stage stage);

enum class RestrictionKind {
  kPermit,
  kReject,
  kDefer,
  kDeferIfPermit,
  kDeferIfReject,
  kWarnIfReject,  // modifies the next restriction
  kPermitMynetworks,
  kPermitSaslAuthenticated,
  kPermitTlsAllCerts,
  kRejectPlaintextSession,
  kPermitAuthDestination,
  kRejectUnauthDestination,
  kDeferUnauthDestination,
  kRejectUnauthPipelining,
  kRejectUnlistedRecipient,
  kRejectUnlistedSender,
  kRejectNonFqdnHelo,
  kRejectInvalidHelo,
  kRejectNonFqdnSender,
  kRejectNonFqdnRecipient,
  kRejectUnknownSenderDomain,     // DNS
  kRejectUnknownRecipientDomain,  // DNS
  kRejectUnknownClientHostname,   // DNS
  kRejectUnknownReverseClientHostname,
  kRejectRblClient,    // DNS; argument: rbl domain[=reply filter]
  kCheckClientAccess,  // argument: table reference
  kCheckReverseClientHostnameAccess,
  kCheckHeloAccess,
  kCheckSenderAccess,
  kCheckRecipientAccess,
  kCheckSaslAccess,
  kClass,  // argument: restriction class name
};
const char* RestrictionName(RestrictionKind kind);

struct Restriction {
  RestrictionKind kind = RestrictionKind::kPermit;
  std::string argument;
  SourceLocation location;  // where it is written (main.cf value, table line)
};

struct RestrictionList {
  std::string name;  // "smtpd_recipient_restrictions", or a class name
  std::vector<Restriction> items;
  SourceLocation location;
};

// Which SMTP object a list's replies name ("<host[addr]>: Client host
// rejected: ..."): set by the main.cf parameter a list comes from; classes
// and access-table lists take the context of the list that runs them.
enum class ReplyContext { kClient, kHelo, kSender, kRecipient, kData, kEndOfData };

struct StageList {
  RestrictionList list;
  ReplyContext context = ReplyContext::kRecipient;
};

struct StagePolicy {
  std::vector<StageList> lists;  // in evaluation order
};

struct PolicyIr {
  StagePolicy stages[kStageCount];
  std::map<std::string, RestrictionList> classes;  // smtpd_restriction_classes
  // Restriction lists written as access table values, by value text.
  std::map<std::string, RestrictionList> value_lists;
  // Every table an access check names, for the image.
  std::vector<std::string> tables;
};

}  // namespace postern::policy
