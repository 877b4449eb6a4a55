// policy_program.h: the policy bytecode, shared by the code generator
// (compiler/lower) and the VM (runtime/vm); stored in an image as
// policy.bc. Modelled on RE2's Prog: a trivially copyable instruction with
// an opcode enum, a constant pool, and instruction 0 as the trap.
//
// Structure: each stage has an entry block of kRunList instructions ending
// in kAccept. A restriction list is a block that starts with kListStart and
// ends with kReturn; inside it control only moves forward (each
// instruction either falls through or returns a decision), and lists call
// other lists (restriction classes, restriction lists written in access
// tables) with a depth limit, so evaluation always terminates. Verify()
// checks all of this before a program is used.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace postern::mail {

enum class Op : uint8_t {
  kFail = 0,       // trap (instruction 0): 451 4.3.5 Server configuration error
  kAccept,         // end of a stage block: every list passed, accept
  kRunList,        // run the list at pc a; OK or DUNNO: go on; reject/defer: the stage's reply
  kListStart,      // first instruction of a list; a = constant: the list's name
  kReturn,         // end of a list: DUNNO
  kCall,           // a restriction class: run the list at pc a; OK/reject/defer end this list too
  kPermit,         // return OK
  kReply,          // return the reply of constant a (4xx: defer, 5xx: reject)
  kDeferIfPermit,  // remember reply a; it replaces a later OK of this stage
  kDeferIfReject,  // remember reply a; it replaces a later 5xx reject of this stage
  kWarnIfReject,   // the next instruction's reject is only logged as a warning
  kPermitIf,       // if predicate `pred` holds: return OK
  kReplyIf,        // if predicate `pred` holds: return the reply of constant a
  kAccess,         // access(5) lookup with access spec a; its result decides, or DUNNO
  kRbl,            // DNS: if flags' RblTarget is listed in zone constant a: reject (runtime/vm/rbl_reply.h),
                   // with constant b as $rbl_class
  kTest,           // condition test a (Program::tests): jump forward to pc b when it is false
                   // (when it is true, with flags bit 0)
  kAction,         // a deciding-nothing action: a = ActionKind, b = constant (its argument)
  kContentChecks,  // header_checks (flags 0) or body_checks (flags 1): tables a .. a+b-1, line by line
  kPolicy,         // check_policy_service: ask the server of constant a; its action decides, or DUNNO
  kDnswl,          // DNS: if flags' RblTarget is listed in zone constant a: OK (when the recipient is
                   // an authorized destination); a failed lookup: defer_if_reject with reply constant b
  kServerAccess,   // DNS: access(5) lookups with access spec a of the hosts (flags: ServerRecord) that
                   // serve the spec's name, then of their addresses; the first found decides, or DUNNO
  kSleep,          // pause a seconds (the restriction `sleep`), then go on
};
inline constexpr int kOpCount = 22;
const char* OpName(Op op);

// What kPermitIf / kReplyIf test.
enum class Predicate : uint8_t {
  kNone = 0,
  kMynetworks,                    // client address in $mynetworks
  kSaslAuthenticated,             // the client authenticated
  kTlsClientCertificate,          // a verified TLS client certificate
  kPlaintext,                     // no TLS on this session
  kAuthDestination,               // recipient is local, virtual, or relay (and not source-routed)
  kNotAuthDestination,            // the negation, for reject/defer_unauth_destination
  kUnauthPipelining,              // the client sent commands ahead without PIPELINING
  kUnlistedRecipient,             // recipient unknown in its address class (reply from the resolver)
  kUnlistedSender,                // sender unknown in its address class (reply from the resolver)
  kNonFqdnHelo,                   // HELO name not a fully-qualified domain name
  kInvalidHelo,                   // HELO name syntactically invalid
  kNonFqdnSender,                 // sender domain not fully qualified
  kNonFqdnRecipient,              // recipient domain not fully qualified
  kUnknownSenderDomain,           // DNS: sender domain has no MX/A/AAAA
  kUnknownRecipientDomain,        // DNS: recipient domain has no MX/A/AAAA
  kUnknownClientHostname,         // DNS: client name unknown or not forward-confirmed
  kUnknownReverseClientHostname,  // DNS: client address has no PTR
  // smtpd_sender_login_maps (the reply says which): an authenticated
  // client whose login does not own the sender, also when the sender has
  // no owner (kLoginMismatch) or only when it has one (kKnownLoginMismatch);
  // a client not logged in sending as an owned address (kNotLoggedIn).
  kLoginMismatch,
  kKnownLoginMismatch,
  kNotLoggedIn,
  kUnknownHeloHostname,      // DNS: the HELO name has no A, AAAA or MX record
  kMultiRecipientBounce,     // the null sender with more than one recipient
  kListedClientCertificate,  // a client certificate whose fingerprint relay_clientcerts lists
  // Address verification (the reply says why): the recipient or the sender
  // is not known to be deliverable (reject_unverified_recipient, _sender).
  kUnverifiedRecipient,
  kUnverifiedSender,
};
inline constexpr int kPredicateCount = 26;
const char* PredicateName(Predicate p);

// What a DNS list is asked about (kRbl's flags): the client address
// (reject_rbl_client), or a domain: the client's name, its unverified
// reverse name, the HELO name, the sender's or the recipient's domain
// (reject_rhsbl_*).
enum class RblTarget : uint16_t { kClientAddress, kClientName, kReverseClientName, kHelo, kSender, kRecipient };
inline constexpr uint16_t kRblTargetCount = 6;

// Which hosts kServerAccess looks up (check_*_a_access, check_*_mx_access,
// check_*_ns_access): the name itself, its mail exchangers, its name
// servers.
enum class ServerRecord : uint16_t { kA, kMx, kNs };
inline constexpr uint16_t kServerRecordCount = 3;
const char* ServerRecordName(ServerRecord record);

// Which SMTP object a list's replies name ("<host[addr]>: Client host
// rejected: ..."), stored in kRunList's flags.
enum class ReplyContext : uint16_t { kClient, kHelo, kSender, kRecipient, kData, kEndOfData };
inline constexpr uint16_t kReplyContextCount = 6;

// What kAction does (the policy language's actions that do not decide).
enum class ActionKind : uint8_t { kHold, kWarn, kRedirect, kAddHeader, kRoute, kDiscard };
inline constexpr int kActionKindCount = 6;
const char* ActionKindName(ActionKind kind);

// What a policy language condition looks at.
enum class Field : uint8_t {
  kClientAddress,
  kClientName,
  kReverseClientName,
  kHelo,
  kSender,
  kSenderDomain,
  kSenderLocal,
  kRecipient,
  kRecipientDomain,
  kRecipientLocal,
  kRecipientExtension,
  kSaslAuthenticated,  // boolean
  kSaslUsername,
  kTls,                   // boolean
  kTlsClientCertificate,  // boolean
  kSize,                  // number: the message size (SIZE= at MAIL, the real size at end of data)
  kRecipientCount,        // number
  kHeader,                // a header's value (data and end-of-data)
  kRate,                  // number: events per window for a key field
};
inline constexpr int kFieldCount = 19;
const char* FieldName(Field field);

// kListed: the field (client address, or a domain) is in the DNS list of
// constant `value` ("zone[=d.d.d.d]"); kResolves: the domain field has MX,
// A or AAAA records (a temporary failure counts as resolving); kMxIn: a
// mail exchanger of the domain field (the domain itself without MX) is in
// the set `table`.
enum class TestOp : uint8_t { kTrue, kIn, kEq, kNe, kLt, kLe, kGt, kGe, kMatch, kListed, kResolves, kMxIn };
inline constexpr int kTestOpCount = 12;
const char* TestOpName(TestOp op);

// A policy language condition test (kTest): `field op value`.
struct TestSpec {
  Field field = Field::kClientAddress;
  TestOp op = TestOp::kTrue;
  uint32_t value = 0;         // constant: string, regex pattern, or flags for kMatch below
  uint32_t flags = 0;         // constant: regex flags (kMatch)
  uint32_t header = 0;        // constant: header name (kHeader), key field name (kRate)
  uint32_t table = kNoTable;  // kIn: index in Program::tables
  int64_t number = 0;
  int64_t window = 0;
  static constexpr uint32_t kNoTable = 0xffffffff;
};

struct Inst {
  Op op = Op::kFail;
  Predicate pred = Predicate::kNone;
  uint16_t flags = 0;
  uint32_t a = 0;
  uint32_t b = 0;
};
static_assert(sizeof(Inst) == 12, "instructions are 12 bytes");

// What an access(5) lookup uses as keys and says in its replies.
enum class AccessKey : uint8_t {
  kClient,         // client name (and parent domains), then address (and parent networks)
  kReverseClient,  // unverified reverse name, then address
  kHelo,           // HELO name (and parent domains)
  kSender,         // sender address: user+ext@domain, user@domain, domain, parents, user@
  kRecipient,      // recipient address, as for kSender
  kSasl,           // SASL login name
  kCcert,          // client certificate: its fingerprint, then its public key's (replies name its CN)
};
const char* AccessKeyName(AccessKey key);

struct AccessSpec {
  uint32_t table = 0;  // index in Program::tables
  AccessKey key = AccessKey::kClient;
};

// A restriction list written as an access table value ("permit_mynetworks,
// reject"), compiled ahead: value text -> list pc.
struct ValueList {
  std::string value;
  uint32_t pc = 0;
};

inline constexpr int kStages = 6;          // connect helo mail rcpt data end-of-data
inline constexpr int kMaxCallDepth = 100;  // as smtpd's restriction recursion limit

struct Program {
  std::vector<Inst> code;              // code[0] is kFail
  std::vector<std::string> constants;  // names, replies, zones
  std::vector<std::string> tables;     // image table references
  std::vector<AccessSpec> access;
  std::vector<ValueList> value_lists;  // sorted by value
  std::vector<TestSpec> tests;
  std::array<uint32_t, kStages> entry{};
};

std::string EncodeProgram(const Program& program);
Result<Program> DecodeProgram(std::string_view bytes);

// Bounds, opcodes, list structure (kListStart ... kReturn, calls to list
// starts only), stage blocks (kRunList ... kAccept). A program that passes
// always terminates: flow inside a list is forward-only and calls are depth-
// limited at run time.
Status Verify(const Program& program);

// The disassembly, one instruction per line, with constants inline.
std::string Dump(const Program& program);

}  // namespace postern::mail
