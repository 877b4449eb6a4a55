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

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mail/policy_program.h"
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
  kRejectRhsblClient,  // DNS, the same argument: the client's name
  kRejectRhsblReverseClient,
  kRejectRhsblHelo,
  kRejectRhsblSender,
  kRejectRhsblRecipient,
  kRejectUnknownHeloHostname,  // DNS
  kCheckPolicyService,         // argument: inet:host:port or unix:path
  kRejectMultiRecipientBounce,
  kPermitDnswlClient,  // DNS; argument: zone[=d.d.d.d]
  kPermitRhswlClient,  // DNS, the same argument: the client's name
  kCheckClientAccess,  // argument: table reference
  kCheckReverseClientHostnameAccess,
  kCheckHeloAccess,
  kCheckSenderAccess,
  kCheckRecipientAccess,
  kCheckSaslAccess,
  kCheckCcertAccess,      // argument: table reference; the client certificate's fingerprints
  kPermitTlsClientcerts,  // a client certificate relay_clientcerts lists
  kSleep,                 // argument: seconds; pause, then go on
  // check_{client,reverse_client_hostname,helo,sender,recipient}_{a,mx,ns}_access
  // (DNS; argument: table reference): the hosts that serve the name.
  kCheckClientAAccess,
  kCheckClientMxAccess,
  kCheckClientNsAccess,
  kCheckReverseClientHostnameAAccess,
  kCheckReverseClientHostnameMxAccess,
  kCheckReverseClientHostnameNsAccess,
  kCheckHeloAAccess,
  kCheckHeloMxAccess,
  kCheckHeloNsAccess,
  kCheckSenderAAccess,
  kCheckSenderMxAccess,
  kCheckSenderNsAccess,
  kCheckRecipientAAccess,
  kCheckRecipientMxAccess,
  kCheckRecipientNsAccess,
  kRejectSenderLoginMismatch,                 // reject_sender_login_mismatch
  kRejectAuthenticatedSenderLoginMismatch,    // reject_authenticated_sender_login_mismatch
  kRejectKnownSenderLoginMismatch,            // reject_known_sender_login_mismatch
  kRejectUnauthenticatedSenderLoginMismatch,  // reject_unauthenticated_sender_login_mismatch
  kRejectUnverifiedRecipient,                 // address verification (a probe)
  kRejectUnverifiedSender,
  kClass,         // argument: restriction class name
  kRule,          // a policy language rule: Restriction::rule
  kHeaderChecks,  // argument: the header_checks table list
  kBodyChecks,    // argument: the body_checks table list
};
const char* RestrictionName(RestrictionKind kind);

// check_*_{a,mx,ns}_access: whose name it asks about and which hosts.
struct ServerAccess {
  mail::AccessKey subject;
  mail::ServerRecord record;
};
std::optional<ServerAccess> ServerAccessOf(RestrictionKind kind);

// Fields and operators of conditions are the bytecode's (mail/policy_program.h).
using mail::Field;
using mail::TestOp;

struct Test {
  Field field = Field::kClientAddress;
  TestOp op = TestOp::kTrue;
  std::string value;   // string constant, regex pattern, or table/set reference (kIn)
  std::string flags;   // regex flags
  std::string header;  // kHeader: the header name; kRate: the key field's name
  int64_t number = 0;  // numbers; kRate: the limit
  int64_t window = 0;  // kRate: seconds
};

struct Condition {
  enum class Kind { kTest, kAnd, kOr, kNot };
  Kind kind = Kind::kTest;
  Test test;
  std::vector<Condition> children;
};

struct RuleAction {
  // kPolicy: a policy server's answer decides, as check_policy_service's.
  enum class Kind { kAccept, kReject, kDefer, kDiscard, kHold, kWarn, kRedirect, kAddHeader, kRoute, kPolicy };
  Kind kind = Kind::kAccept;
  std::string reply;     // kReject/kDefer: "554 5.7.1 text"
  std::string argument;  // hold/warn text, redirect address, header, route target, policy service
};

struct Rule {
  std::optional<Condition> condition;  // none: always
  RuleAction action;
};

struct Restriction {
  RestrictionKind kind = RestrictionKind::kPermit;
  std::string argument;
  std::shared_ptr<const Rule> rule;  // kRule
  SourceLocation location;           // where it is written (main.cf value, table line, policy file)
};

struct RestrictionList {
  std::string name;  // "smtpd_recipient_restrictions", or a class name
  std::vector<Restriction> items;
  SourceLocation location;
};

// Which SMTP object a list's replies name: set by the main.cf parameter a
// list comes from; classes and access-table lists take the context of the
// list that runs them. The bytecode's (mail/policy_program.h).
using mail::ReplyContext;

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
  // Every table an access check or a condition names, for the image.
  std::vector<std::string> tables;
  // Sets of the policy language, as image tables named "set:NAME".
  struct Set {
    enum class Kind { kCidr, kDomains, kAddresses };
    Kind kind = Kind::kDomains;
    std::vector<std::string> items;  // CIDR blocks, domain names (.parent too), addresses
  };
  std::map<std::string, Set> sets;
};

}  // namespace postern::policy
