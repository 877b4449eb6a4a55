// policy_vm.cc: see policy_vm.h. Reply texts and the access(5) result
// grammar follow Postfix's smtpd_check.c.
#include "runtime/vm/policy_vm.h"

#include <algorithm>
#include <optional>

#include "mail/access_result.h"
#include "mail/address.h"
#include "mail/dns_list_filter.h"
#include "mail/enhanced_status.h"
#include "mail/lookup_failure.h"
#include "mail/parameter_list.h"
#include "mail/regexp.h"
#include "mail/reply_template.h"
#include "runtime/image/image_parameters.h"
#include "runtime/resolve/address_lookup.h"
#include "runtime/vm/policy_request.h"
#include "util/strings.h"

namespace postern::vm {
namespace {

using mail::Inst;
using mail::Op;
using mail::Predicate;

using Context = mail::ReplyContext;

// A list's result: undecided (DUNNO), OK, or a reply (4xx defer, 5xx reject).
struct ListResult {
  // kSuspend: a `sleep` not yet taken; the evaluation stops there and is
  // run again after it (network_answers.h).
  enum class Kind { kDunno, kOk, kReply, kSuspend };
  Kind kind = Kind::kDunno;
  std::string reply;
  static ListResult Dunno() { return {}; }
  static ListResult Ok() { return {Kind::kOk, ""}; }
  static ListResult Reply(std::string r) { return {Kind::kReply, std::move(r)}; }
  static ListResult Suspend() { return {Kind::kSuspend, ""}; }
};

bool ValidHostname(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.' || name.back() == '.') return false;
  size_t label = 0;
  bool all_numeric = true;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!IsAlnum(c) && c != '-' && c != '_') return false;
    if (!IsDigit(c)) all_numeric = false;
    if (++label > 63) return false;
  }
  return !all_numeric;
}

bool ValidAddressLiteral(std::string_view name) {
  if (name.size() < 3 || name.front() != '[' || name.back() != ']') return false;
  std::string_view inner = name.substr(1, name.size() - 2);
  if (StartsWith(inner, "IPv6:") || StartsWith(inner, "ipv6:")) inner.remove_prefix(5);
  return mail::IpAddress::Parse(inner).has_value();
}

// Whether an address's domain is fully qualified (has a dot), or is a
// literal. The null address passes.
bool FqdnAddress(std::string_view address) {
  if (address.empty()) return true;
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view domain = address.substr(at + 1);
  return ValidAddressLiteral(domain) || (domain.find('.') != std::string_view::npos && ValidHostname(domain));
}

// Key shapes of access tables, as bits, so that a lookup of a shape a table
// does not hold is skipped: "user@domain", "@domain" or "user@", ".parent",
// anything else (domains, addresses, networks).
constexpr uint8_t kShapeAddress = 1, kShapeLocalpartAt = 2, kShapeParent = 4, kShapePlain = 8;
constexpr uint8_t kAllShapes = 15;

uint8_t AccessKeyShape(std::string_view key) {
  if (key.empty()) return kShapePlain;
  if (key.back() == '@') return kShapeLocalpartAt;
  if (key.front() == '.') return kShapeParent;
  return key.find('@') != std::string_view::npos ? kShapeAddress : kShapePlain;
}

std::string DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : ToLower(address.substr(at + 1));
}

}  // namespace

class PolicyVm::Execution {
 public:
  Execution(const PolicyVm& vm, const SmtpFacts& facts, bool trace, const mail::LookupFailureScope& lookups,
            Decision* decision)
      : vm_(vm),
        p_(*vm.program_),
        facts_(facts),
        client_address_(mail::IpAddress::Parse(facts.client_address)),
        trace_(trace),
        lookups_(lookups),
        decision_(decision) {}

  void RunStage(uint32_t entry) {
    std::string defer_if_permit_fallback;
    for (uint32_t pc = entry; pc < p_.code.size(); ++pc) {
      const Inst& inst = p_.code[pc];
      if (inst.op == Op::kAccept) break;
      if (inst.op != Op::kRunList) return Trap("bad stage block");
      ListResult r = RunList(inst.a, static_cast<Context>(inst.flags), 0);
      if (r.kind == ListResult::Kind::kSuspend) return;  // not a decision: the stage runs again
      if (r.kind == ListResult::Kind::kReply) return Finish(r.reply);
    }
    if (!defer_if_permit_.empty()) return Finish(defer_if_permit_);
  }

 private:
  // What an access table's replies name: "<name>: Class rejected: ...".
  struct Subject {
    std::string name;
    std::string_view klass;
  };
  Subject SubjectOf(Context context) const { return Subject{Name(context), ClassName(context)}; }
  // What the reverse client name restrictions reject: the client by its
  // reverse name ("unknown" when it has none), unverified.
  Subject ReverseClientSubject() const { return Subject{facts_.reverse_client_name, "Unverified Client host"}; }

  // A table did not answer (fail:, a live table's server is down): the
  // command is deferred, naming what the restriction was about. Access
  // tables say so as Postfix's check_access does (AccessLookupFailed),
  // other lookups as its reject_dict_retry (both measured against Postfix).
  ListResult LookupFailed(const std::string& list_name, Context context) {
    decision_->lookup_failure = lookups_.reason();
    if (trace_) decision_->trace.push_back(list_name + ": " + lookups_.reason());
    return ListResult::Reply("451 4.3.0 <" + Name(context) + ">: Temporary lookup failure");
  }

  // An access table that could not answer (check_table_result's 451 4.3.5).
  ListResult AccessLookupFailed(const Subject& subject) {
    decision_->lookup_failure = lookups_.reason();
    if (trace_) decision_->trace.push_back(std::string(mail::OpName(Op::kAccess)) + ": " + lookups_.reason());
    return ListResult::Reply("451 4.3.5 <" + subject.name + ">: " + std::string(subject.klass) +
                             " rejected: Server configuration error");
  }

  void Trap(const std::string& why) {
    decision_->trace.push_back("trap: " + why);
    Finish("451 4.3.5 Server configuration error");
  }

  void Finish(const std::string& reply) {
    std::string final_reply = reply;
    if (!reply.empty() && reply[0] == '5' && !defer_if_reject_.empty()) final_reply = defer_if_reject_;
    decision_->reply = final_reply;
    decision_->code = std::atoi(final_reply.c_str());
    decision_->kind = final_reply[0] == '5' ? Decision::Kind::kReject : Decision::Kind::kDefer;
  }

  std::string Name(Context context) const {
    switch (context) {
      case Context::kClient:
        return facts_.client_name + "[" + facts_.client_address + "]";
      case Context::kHelo:
        return facts_.helo;
      case Context::kSender:
        return facts_.sender;
      default:
        return facts_.recipient;
    }
  }

  static const char* ClassName(Context context) {
    switch (context) {
      case Context::kClient:
        return "Client host";
      case Context::kHelo:
        return "Helo command";
      case Context::kSender:
        return "Sender address";
      case Context::kRecipient:
        return "Recipient address";
      case Context::kData:
        return "Data command";
      case Context::kEndOfData:
        return "End-of-data";
    }
    return "";
  }

  const NetworkOracle& Dns() const { return facts_.dns != nullptr ? *facts_.dns : *vm_.dns_; }

  // {name} and the other names of a reply template.
  std::string Expand(std::string_view text, Context context) const {
    std::string out;
    out.reserve(text.size() + 64);
    size_t i = 0;
    while (i < text.size()) {
      size_t open = text.find('{', i);
      size_t close = open == std::string_view::npos ? open : text.find('}', open);
      if (close == std::string_view::npos) {
        out.append(text.substr(i));
        break;
      }
      out.append(text.substr(i, open - i));
      std::string_view name = text.substr(open + 1, close - open - 1);
      if (name == "name") {
        out += Name(context);
      } else if (name == "class") {
        out += ClassName(context);
      } else if (name == "recipient") {
        out += facts_.recipient;
      } else if (name == "sender") {
        out += facts_.sender;
      } else if (name == "helo") {
        out += facts_.helo;
      } else if (name == "client_address") {
        out += facts_.client_address;
      } else if (name == "client_name") {
        out += facts_.client_name;
      } else if (name == "reverse_client_name") {
        out += facts_.reverse_client_name;
      } else {
        out.append(text.substr(open, close - open + 1));
      }
      i = close + 1;
    }
    return out;
  }

  ListResult RunList(uint32_t start, Context context, int depth) {
    if (depth > mail::kMaxCallDepth) {
      decision_->trace.push_back("restriction nesting deeper than " + std::to_string(mail::kMaxCallDepth));
      return ListResult::Reply("451 4.3.5 Server configuration error");
    }
    const std::string& list_name = p_.constants[p_.code[start].a];
    bool warn_next = false;
    for (uint32_t pc = start + 1; pc < p_.code.size(); ++pc) {
      const Inst& inst = p_.code[pc];
      if (inst.op == Op::kReturn) return ListResult::Dunno();
      if (inst.op == Op::kTest) {
        bool jump_when = (inst.flags & 1) != 0;
        bool jump = Evaluate(inst.a) == jump_when;
        if (lookups_.failed()) return LookupFailed(list_name, context);
        if (jump) pc = inst.b - 1;  // forward, checked by the verifier
        continue;
      }
      bool warn = warn_next;
      warn_next = false;
      ListResult r = Step(inst, context, depth);
      if (r.kind == ListResult::Kind::kSuspend) return r;
      if (lookups_.failed() && r.kind != ListResult::Kind::kReply) return LookupFailed(list_name, context);
      if (inst.op == Op::kWarnIfReject) {
        warn_next = true;
        continue;
      }
      if (r.kind == ListResult::Kind::kDunno) continue;
      if (r.kind == ListResult::Kind::kReply && warn && r.reply[0] == '5') {
        decision_->warnings.push_back("reject_warning: " + r.reply);
        continue;
      }
      if (trace_)
        decision_->trace.push_back(list_name + " #" + std::to_string(pc - start) + " " + mail::OpName(inst.op) +
                                   (r.kind == ListResult::Kind::kOk ? ": OK" : ": " + r.reply));
      return r;
    }
    return ListResult::Dunno();
  }

  ListResult Step(const Inst& inst, Context context, int depth) {
    switch (inst.op) {
      case Op::kPermit:
        return ListResult::Ok();
      case Op::kReply:
        return ListResult::Reply(Expand(p_.constants[inst.a], context));
      case Op::kDeferIfPermit:
        if (defer_if_permit_.empty()) defer_if_permit_ = Expand(p_.constants[inst.a], context);
        return ListResult::Dunno();
      case Op::kDeferIfReject:
        if (defer_if_reject_.empty()) defer_if_reject_ = Expand(p_.constants[inst.a], context);
        return ListResult::Dunno();
      case Op::kWarnIfReject:
        return ListResult::Dunno();
      case Op::kPermitIf:
        return Test(inst.pred, nullptr) ? ListResult::Ok() : ListResult::Dunno();
      case Op::kReplyIf: {
        if (inst.pred == Predicate::kUnknownSenderDomain || inst.pred == Predicate::kUnknownRecipientDomain ||
            inst.pred == Predicate::kUnknownHeloHostname) {
          return UnknownName(inst, context);
        }
        if (inst.pred == Predicate::kUnverifiedRecipient || inst.pred == Predicate::kUnverifiedSender) {
          return Unverified(inst.pred == Predicate::kUnverifiedSender);
        }
        if (inst.pred == Predicate::kMultiRecipientBounce) {
          // Recipients accepted so far: at RCPT another one is too many, at
          // DATA and the end of data more than one (measured against Postfix).
          int allowed = context == Context::kData || context == Context::kEndOfData ? 1 : 0;
          bool bounce = facts_.has_sender && facts_.sender.empty() && facts_.recipient_count > allowed;
          return bounce ? ListResult::Reply(Expand(p_.constants[inst.a], context)) : ListResult::Dunno();
        }
        std::string dynamic;
        if (!Test(inst.pred, &dynamic)) return ListResult::Dunno();
        return ListResult::Reply(dynamic.empty() ? Expand(p_.constants[inst.a], context) : dynamic);
      }
      case Op::kCall:
        return RunList(inst.a, context, depth + 1);
      case Op::kAccess:
        return Access(p_.access[inst.a], context, depth);
      case Op::kPolicy:
        return Policy(p_.constants[inst.a], context, depth);
      case Op::kDnswl:
        return Dnswl(static_cast<mail::RblTarget>(inst.flags), p_.constants[inst.a], p_.constants[inst.b], context);
      case Op::kRbl:
        return Rbl(static_cast<mail::RblTarget>(inst.flags), p_.constants[inst.a], p_.constants[inst.b]);
      case Op::kServerAccess:
        return ServerAccess(p_.access[inst.a], static_cast<mail::ServerRecord>(inst.flags), context, depth);
      case Op::kSleep:
        if (trace_) decision_->trace.push_back("sleep " + std::to_string(inst.a));
        return Dns().Paused(static_cast<int>(inst.a), pauses_++) ? ListResult::Dunno() : ListResult::Suspend();
      case Op::kAction:
        return Action(static_cast<mail::ActionKind>(inst.a), p_.constants[inst.b], context);
      case Op::kContentChecks:
        return ContentChecks(inst.a, inst.b, (inst.flags & 1) != 0);
      default:
        return ListResult::Reply("451 4.3.5 Server configuration error");
    }
  }

  ListResult Action(mail::ActionKind kind, const std::string& argument, Context context) {
    switch (kind) {
      case mail::ActionKind::kHold:
        decision_->hold = true;
        break;
      case mail::ActionKind::kWarn:
        decision_->warnings.push_back(Expand(argument, context));
        break;
      case mail::ActionKind::kRedirect:
        decision_->redirect = argument;
        break;
      case mail::ActionKind::kAddHeader:
        decision_->prepend.push_back(Expand(argument, context));
        break;
      case mail::ActionKind::kRoute:
        decision_->route = argument;
        break;
      case mail::ActionKind::kDiscard:
        decision_->discard = true;
        return ListResult::Ok();
    }
    return ListResult::Dunno();
  }

  // header_checks(5) / body_checks: each line against the tables, the first
  // table with a match deciding for that line.
  ListResult ContentChecks(uint32_t first, uint32_t count, bool body) {
    if (vm_.no_header_body_checks_) return ListResult::Dunno();  // receive_override_options
    std::vector<std::string> lines;
    if (body) {
      lines = facts_.body_lines;
    } else if (!facts_.header_lines.empty()) {
      lines = facts_.header_lines;
    } else {
      for (const auto& [name, value] : facts_.headers) lines.push_back(name + ": " + value);
    }
    for (size_t index = 0; index < lines.size(); ++index) {
      const std::string& line = lines[index];
      std::optional<std::string> value;
      for (uint32_t t = first; t < first + count && !value; ++t) {
        if (vm_.tables_[t] != nullptr) value = vm_.tables_[t]->Lookup(line);
      }
      if (!value) continue;
      std::string_view v = Trim(*value);
      size_t end = v.find_first_of(" \t");
      std::string word = ToUpper(v.substr(0, end));
      std::string text(end == std::string_view::npos ? std::string_view() : Trim(v.substr(end)));
      if (word == "REJECT") {
        std::string dsn = "5.7.1";
        if (mail::StatusAndText split = mail::SplitEnhancedStatus(text); split.status.starts_with('5')) {
          dsn = std::string(split.status);
          text = std::string(Trim(split.text));
        }
        return ListResult::Reply("550 " + dsn + " " + (text.empty() ? "message content rejected" : text));
      }
      if (word == "DISCARD") {
        decision_->discard = true;
        return ListResult::Ok();
      }
      if (word == "HOLD") decision_->hold = true;
      if (word == "WARN" || word == "INFO") decision_->warnings.push_back(line + (text.empty() ? "" : ": " + text));
      if (word == "REDIRECT" && !text.empty()) decision_->redirect = text;
      if (word == "FILTER" && !text.empty()) decision_->filter = text;
      if (word == "BCC" && !text.empty()) decision_->bcc.push_back(text);
      if (word == "PREPEND" && !text.empty()) decision_->prepend.push_back(text);
      if (!body && word == "IGNORE") decision_->header_edits.push_back({HeaderEdit::Kind::kIgnore, index, ""});
      if (!body && word == "REPLACE" && !text.empty()) {
        decision_->header_edits.push_back({HeaderEdit::Kind::kReplace, index, text});
      }
    }
    return ListResult::Dunno();
  }

  // The string value of a field (empty when the stage does not know it).
  std::string FieldValue(mail::Field field) const {
    using mail::Field;
    auto local_of = [](const std::string& a) {
      return a.substr(0, a.rfind('@') == std::string::npos ? a.size() : a.rfind('@'));
    };
    switch (field) {
      case Field::kClientAddress:
        return facts_.client_address;
      case Field::kClientName:
        return facts_.client_name;
      case Field::kReverseClientName:
        return facts_.reverse_client_name;
      case Field::kHelo:
        return facts_.helo;
      case Field::kSender:
        return facts_.sender;
      case Field::kSenderDomain:
        return DomainOf(facts_.sender);
      case Field::kSenderLocal:
        return local_of(facts_.sender);
      case Field::kRecipient:
        return facts_.recipient;
      case Field::kRecipientDomain:
        return DomainOf(facts_.recipient);
      case Field::kRecipientLocal:
        return local_of(facts_.recipient);
      case Field::kRecipientExtension: {
        auto ext = mail::SplitExtension(local_of(facts_.recipient), vm_.resolver_->config().recipient_delimiter);
        return ext ? ext->extension.substr(1) : "";
      }
      case Field::kSaslUsername:
        return vm_.sasl_enabled_ ? facts_.sasl_username : "";
      default:
        return "";
    }
  }

  int64_t NumberValue(const mail::TestSpec& t) const {
    switch (t.field) {
      case mail::Field::kSize:
        return facts_.size;
      case mail::Field::kRecipientCount:
        return facts_.recipient_count;
      case mail::Field::kRate: {
        const std::string& key_field = p_.constants[t.header];
        for (int f = 0; f < mail::kFieldCount; ++f) {
          if (key_field == mail::FieldName(static_cast<mail::Field>(f))) {
            return vm_.rates_->Count(key_field, FieldValue(static_cast<mail::Field>(f)), t.window, facts_.event);
          }
        }
        return 0;
      }
      default:
        return 0;
    }
  }

  bool InSet(const mail::TestSpec& t, const std::string& value) const {
    const mail::LookupTable* table = vm_.tables_[t.table];
    if (table == nullptr || value.empty()) return false;
    if (table->Lookup(value)) return true;
    bool domain = t.field == mail::Field::kSenderDomain || t.field == mail::Field::kRecipientDomain ||
                  t.field == mail::Field::kHelo || t.field == mail::Field::kClientName ||
                  t.field == mail::Field::kReverseClientName;
    if (!domain || !table->AcceptsPartialKeys()) return false;
    for (size_t dot = value.find('.'); dot != std::string::npos; dot = value.find('.', dot + 1)) {
      if (table->Lookup(std::string_view(value).substr(dot))) return true;  // .parent entries
    }
    return false;
  }

  // The policy language's DNS facts. A question not answered yet reads
  // as false (the stage runs again with the answer, network_answers.h).
  bool DnsFact(const mail::TestSpec& t) const {
    using mail::TestOp;
    std::string value = FieldValue(t.field);
    if (t.field != mail::Field::kClientAddress) {
      value = ToLower(value);
      // An address literal (a HELO of [192.0.2.1]) needs no DNS: it
      // "resolves", and is in no list of domains.
      if (ValidAddressLiteral(value)) return t.op == TestOp::kResolves;
      if (!ValidHostname(value)) return false;
    }
    if (value.empty()) return false;
    switch (t.op) {
      case TestOp::kListed: {
        std::optional<DnsListing> listed = ListedIn(p_.constants[t.value], value);
        return listed && !listed->failed;
      }
      case TestOp::kResolves:
        return Dns().DomainExists(value) != DnsAnswer::kNo;  // a failure or no answer yet: not "unknown"
      case TestOp::kMxIn: {
        std::optional<std::vector<std::string>> hosts = ServingHosts(mail::ServerRecord::kMx, value);
        if (!hosts) return false;
        return std::any_of(hosts->begin(), hosts->end(), [&](const std::string& host) { return InSet(t, host); });
      }
      default:
        return false;
    }
  }

  // A condition test of the policy language.
  bool Evaluate(uint32_t index) const {
    const mail::TestSpec& t = p_.tests[index];
    using mail::Field;
    using mail::TestOp;
    if (t.op == TestOp::kListed || t.op == TestOp::kResolves || t.op == TestOp::kMxIn) return DnsFact(t);
    if (t.field == Field::kSaslAuthenticated) return vm_.sasl_enabled_ && !facts_.sasl_username.empty();
    if (t.field == Field::kTls) return facts_.tls;
    if (t.field == Field::kTlsClientCertificate) return facts_.tls && facts_.tls_client_certificate;
    if (t.field == Field::kSize || t.field == Field::kRecipientCount || t.field == Field::kRate) {
      int64_t v = NumberValue(t);
      switch (t.op) {
        case TestOp::kEq:
          return v == t.number;
        case TestOp::kNe:
          return v != t.number;
        case TestOp::kLt:
          return v < t.number;
        case TestOp::kLe:
          return v <= t.number;
        case TestOp::kGt:
          return v > t.number;
        case TestOp::kGe:
          return v >= t.number;
        default:
          return false;
      }
    }
    std::vector<std::string> values;
    if (t.field == Field::kHeader) {
      for (const auto& [name, value] : facts_.headers) {
        if (EqualsIgnoreCase(name, p_.constants[t.header])) values.push_back(value);
      }
    } else {
      values.push_back(FieldValue(t.field));
    }
    for (const std::string& value : values) {
      bool hit = false;
      switch (t.op) {
        case TestOp::kIn:
          hit = InSet(t, value);
          break;
        case TestOp::kEq:
          hit = EqualsIgnoreCase(value, p_.constants[t.value]);
          break;
        case TestOp::kNe:
          hit = !EqualsIgnoreCase(value, p_.constants[t.value]);
          break;
        case TestOp::kMatch:
          hit = vm_.regexps_[index] && vm_.regexps_[index]->Match(value, nullptr);
          break;
        default:
          hit = false;
      }
      if (hit) return true;
    }
    return false;
  }

  bool Test(Predicate pred, std::string* reply) const {
    switch (pred) {
      case Predicate::kMynetworks: {
        return client_address_ && vm_.mynetworks_.Match(*client_address_);
      }
      case Predicate::kSaslAuthenticated:
        return vm_.sasl_enabled_ && !facts_.sasl_username.empty();
      case Predicate::kTlsClientCertificate:
        return facts_.tls && facts_.tls_client_certificate;
      case Predicate::kListedClientCertificate:
        return ClientCertificateListed();
      case Predicate::kPlaintext:
        return !facts_.tls;
      case Predicate::kAuthDestination:
        return vm_.resolver_->IsAuthDestination(facts_.recipient);
      case Predicate::kNotAuthDestination:
        return !vm_.resolver_->IsAuthDestination(facts_.recipient);
      case Predicate::kUnauthPipelining:
        return facts_.pipelined_without_permission;
      case Predicate::kUnlistedRecipient:
      case Predicate::kUnlistedSender: {
        if (vm_.no_unknown_recipient_checks_) return false;
        bool sender = pred == Predicate::kUnlistedSender;
        const std::string& address = sender ? facts_.sender : facts_.recipient;
        if (sender && address.empty()) return false;
        auto rejected = vm_.resolver_->CheckListed(address, sender);
        if (!rejected) return false;
        if (reply != nullptr) *reply = std::to_string(rejected->code) + " " + rejected->text;
        return true;
      }
      case Predicate::kNonFqdnHelo:
        return !facts_.helo.empty() && !ValidAddressLiteral(facts_.helo) &&
               (facts_.helo.find('.') == std::string::npos || !ValidHostname(facts_.helo));
      case Predicate::kInvalidHelo:
        return !facts_.helo.empty() && !ValidAddressLiteral(facts_.helo) && !ValidHostname(facts_.helo);
      case Predicate::kNonFqdnSender:
        return facts_.has_sender && !FqdnAddress(facts_.sender);
      case Predicate::kNonFqdnRecipient:
        return !FqdnAddress(facts_.recipient);
      case Predicate::kUnknownSenderDomain:
      case Predicate::kUnknownRecipientDomain:
      case Predicate::kUnknownHeloHostname:
        return NameAnswer(pred) == DnsAnswer::kNo;
      case Predicate::kMultiRecipientBounce:  // decided in Step, which knows the list's stage
      case Predicate::kUnverifiedRecipient:   // decided in Step (Unverified)
      case Predicate::kUnverifiedSender:
        return false;
      case Predicate::kUnknownClientHostname:
        return facts_.client_name == "unknown";
      case Predicate::kUnknownReverseClientHostname:
        return facts_.reverse_client_name == "unknown";
      case Predicate::kLoginMismatch:
      case Predicate::kKnownLoginMismatch:
      case Predicate::kNotLoggedIn:
        return SenderLoginMismatch(pred, reply);
      case Predicate::kNone:
        return false;
    }
    return false;
  }

  // reject_unknown_sender_domain, reject_unknown_recipient_domain and
  // reject_unknown_helo_hostname: what the DNS says of the domain; kYes
  // (not asked) for the null sender, a domain this system is the final
  // destination for, and a HELO address literal.
  DnsAnswer NameAnswer(Predicate pred) const {
    if (pred == Predicate::kUnknownHeloHostname) {
      if (facts_.helo.empty() || facts_.helo.front() == '[') return DnsAnswer::kYes;
      return Dns().DomainExists(facts_.helo);
    }
    bool sender = pred == Predicate::kUnknownSenderDomain;
    const std::string& address = sender ? facts_.sender : facts_.recipient;
    if (sender && (!facts_.has_sender || address.empty())) return DnsAnswer::kYes;
    if (vm_.resolver_->IsFinalDestination(address)) return DnsAnswer::kYes;
    return Dns().DomainExists(DomainOf(address));
  }

  // An unknown name is refused with the list's reply; a DNS failure gets
  // 450 (and a 4.x.x code) as unknown_address_tempfail_action (or
  // unknown_helo_hostname_tempfail_action) says: at once (defer), or only
  // when nothing else refuses (defer_if_permit).
  ListResult UnknownName(const Inst& inst, Context context) {
    DnsAnswer answer = NameAnswer(inst.pred);
    if (answer == DnsAnswer::kYes || answer == DnsAnswer::kPending) return ListResult::Dunno();
    std::string reply = Expand(p_.constants[inst.a], context);
    if (answer == DnsAnswer::kNo) return ListResult::Reply(reply);
    if (reply.size() > 5) reply = "450 4" + reply.substr(5);
    bool defer = inst.pred == Predicate::kUnknownHeloHostname ? vm_.unknown_helo_tempfail_defer_
                                                              : vm_.unknown_address_tempfail_defer_;
    if (defer) return ListResult::Reply(reply);
    if (defer_if_permit_.empty()) defer_if_permit_ = reply;
    return ListResult::Dunno();
  }

  // reject_unverified_recipient and reject_unverified_sender, as Postfix's
  // smtpd: the address's verification status picks the code (in progress
  // or deferred: unverified_*_defer_code; undeliverable:
  // unverified_*_reject_code; deliverable: none). A 4xx code defers
  // ("unverified address") as unverified_*_tempfail_action says; another
  // rejects ("undeliverable address"); unverified_*_reject_reason, when
  // set, replaces what verification said. A verification service that
  // cannot answer: 450 "address verification problem", as the tempfail
  // action says. The null sender and an empty recipient are not verified.
  ListResult Unverified(bool sender) {
    const std::string& address = sender ? facts_.sender : facts_.recipient;
    if (address.empty() || (sender && !facts_.has_sender)) return ListResult::Dunno();
    std::optional<mail::AddressVerification> answer = Dns().VerifyAddress(address);
    if (!answer) return ListResult::Dunno();  // pending: the stage runs again with it
    const PolicyVm::UnverifiedSettings& s = sender ? vm_.unverified_sender_ : vm_.unverified_recipient_;
    std::string rejected = "<" + address + ">: " + (sender ? "Sender" : "Recipient") + " address rejected: ";
    const char* detail = sender ? ".1.7" : ".1.1";
    auto defer = [&](int code, const std::string& text) {
      std::string reply = std::to_string(code) + " " + std::to_string(code / 100) + detail + " " + rejected + text;
      if (s.tempfail_defer) return ListResult::Reply(reply);
      if (defer_if_permit_.empty()) defer_if_permit_ = reply;
      return ListResult::Dunno();
    };
    if (answer->failed) return defer(450, "address verification problem");
    int code = 0;
    switch (answer->status) {
      case mail::AddressStatus::kInProgress:
      case mail::AddressStatus::kDeferred:
        code = s.defer_code;
        break;
      case mail::AddressStatus::kUndeliverable:
        code = s.reject_code;
        break;
      case mail::AddressStatus::kDeliverable:
        break;
    }
    std::string why = code >= 400 && !s.reason.empty() ? s.reason : answer->text;
    if (code / 100 == 4) return defer(code, "unverified address: " + why.substr(0, 250));
    if (code == 0 || code / 100 == 2) return ListResult::Dunno();
    return ListResult::Reply(std::to_string(code) + " " + std::to_string(code / 100) + detail + " " + rejected +
                             "undeliverable address: " + why);
  }

  // reject_*sender_login_mismatch, as Postfix's smtpd: the sender (in its
  // canonical form) is looked up in smtpd_sender_login_maps like any
  // address (user@domain, user for a local domain, @domain); the value
  // lists the logins that own it.
  bool SenderLoginMismatch(Predicate pred, std::string* reply) const {
    // Without SASL, Postfix ignores them ("no SASL support").
    if (!vm_.sasl_enabled_ || vm_.sender_login_maps_.empty() || !facts_.has_sender || facts_.sender.empty()) {
      return false;
    }
    bool authenticated = !facts_.sasl_username.empty();
    if (authenticated == (pred == Predicate::kNotLoggedIn)) return false;
    const resolve::Resolver& resolver = *vm_.resolver_;
    std::string sender = resolve::Qualify(facts_.sender, resolver.config());
    resolve::LookupOutcome owners =
        resolve::FindAddress(vm_.sender_login_maps_, sender, resolver.config(),
                             [&resolver](std::string_view domain) { return resolver.IsLocalDomain(domain); });
    auto say = [&](const std::string& text) {
      if (reply != nullptr) *reply = text;
      return true;
    };
    if (!owners.error.empty()) return say("451 4.3.0 <" + facts_.sender + ">: " + "Temporary lookup failure");
    if (pred == Predicate::kNotLoggedIn) {
      return owners.hit && say("553 5.7.1 <" + facts_.sender + ">: Sender address rejected: not logged in");
    }
    if (!owners.hit && pred == Predicate::kKnownLoginMismatch) return false;
    if (owners.hit) {
      for (const std::string& owner : SplitAny(owners.hit->value, ", \t\r\n")) {
        if (EqualsIgnoreCase(owner, facts_.sasl_username)) return false;
      }
    }
    return say("553 5.7.1 <" + facts_.sender + ">: Sender address rejected: not owned by user " + facts_.sasl_username);
  }

  // check_policy_service: the server's action is an access(5) result for
  // the list's object; when it cannot be asked,
  // smtpd_policy_service_default_action.
  ListResult Policy(const std::string& service, Context context, int depth) {
    PolicyReply reply = Dns().AskPolicy(service, PolicyRequest(facts_, vm_.policy_context_));
    switch (reply.status) {
      case PolicyReply::Status::kPending:
        return ListResult::Dunno();  // the stage runs again with the answer
      case PolicyReply::Status::kFailed:
        return Interpret(vm_.policy_default_action_, SubjectOf(context), context, depth);
      case PolicyReply::Status::kAction:
        break;
    }
    return Interpret(reply.action, SubjectOf(context), context, depth);
  }

  // permit_dnswl_client / permit_rhswl_client: OK when listed, except for
  // a recipient outside the authorized destinations (Postfix never lets a
  // whitelist open a relay); a failed lookup defers if the stage would
  // reject.
  ListResult Dnswl(mail::RblTarget target, const std::string& spec, const std::string& reply, Context context) {
    std::optional<DnsListing> listed = AskDnsList(target, spec);
    if (!listed) return ListResult::Dunno();
    if (listed->failed) {
      if (defer_if_reject_.empty()) defer_if_reject_ = Expand(reply, context);
      return ListResult::Dunno();
    }
    if (!facts_.recipient.empty() && !vm_.resolver_->IsAuthDestination(facts_.recipient)) return ListResult::Dunno();
    return ListResult::Ok();
  }

  // What a DNS list is asked about: the client address, or a domain
  // (reject_rhsbl_*: none for an unknown name, the null sender, an address
  // literal or a name that is not a host name, as Postfix skips them).
  std::string RblName(mail::RblTarget target) const {
    std::string name;
    switch (target) {
      case mail::RblTarget::kClientAddress:
        return facts_.client_address;
      case mail::RblTarget::kClientName:
        name = facts_.client_name == "unknown" ? "" : facts_.client_name;
        break;
      case mail::RblTarget::kReverseClientName:
        name = facts_.reverse_client_name == "unknown" ? "" : facts_.reverse_client_name;
        break;
      case mail::RblTarget::kHelo:
        name = facts_.helo;
        break;
      case mail::RblTarget::kSender:
        name = facts_.has_sender ? DomainOf(facts_.sender) : "";
        break;
      case mail::RblTarget::kRecipient:
        name = DomainOf(facts_.recipient);
        break;
    }
    return ValidHostname(name) ? name : "";
  }

  // What DNS list `spec` ("zone" or "zone=d.d.d.d") says of `target`:
  // nothing when the target is not asked about, is not listed, or its
  // answers do not pass the filter; a failed lookup as such.
  std::optional<DnsListing> AskDnsList(mail::RblTarget target, const std::string& spec) const {
    std::string name = RblName(target);
    if (name.empty()) return std::nullopt;
    return ListedIn(spec, name);
  }

  // What DNS list `spec` ("zone" or "zone=filter") says of `name` (an
  // address, or a domain).
  std::optional<DnsListing> ListedIn(const std::string& spec, const std::string& name) const {
    size_t equals = spec.find('=');
    std::optional<DnsListing> listed = Dns().ListedIn(std::string_view(spec).substr(0, equals), name);
    std::string_view filter = equals == std::string::npos ? "" : std::string_view(spec).substr(equals + 1);
    if (!listed || listed->failed || filter.empty()) return listed;
    bool passes = std::any_of(listed->values.begin(), listed->values.end(),
                              [&](const std::string& value) { return mail::DnsListFilterMatches(filter, value); });
    return passes ? listed : std::nullopt;
  }

  // What a DNS list was asked about, for its reply's $rbl_what: the
  // address or name, or the whole sender or recipient address.
  std::string RblWhat(mail::RblTarget target) const {
    switch (target) {
      case mail::RblTarget::kClientAddress:
        return facts_.client_address;
      case mail::RblTarget::kClientName:
        return facts_.client_name;
      case mail::RblTarget::kReverseClientName:
        return facts_.reverse_client_name;
      case mail::RblTarget::kHelo:
        return facts_.helo;
      case mail::RblTarget::kSender:
        return facts_.sender;
      case mail::RblTarget::kRecipient:
        return facts_.recipient;
    }
    return "";
  }

  // reject_rbl_client, reject_rhsbl_*: `reply_class` is "Client host",
  // "Sender address"...
  ListResult Rbl(mail::RblTarget target, const std::string& spec, const std::string& reply_class) const {
    std::optional<DnsListing> listed = AskDnsList(target, spec);
    if (!listed || listed->failed) return ListResult::Dunno();  // a failed lookup: not listed, as in Postfix
    std::string what = RblWhat(target);
    RblReply r = ComposeRblReply(vm_.rbl_reply_, RblListing{spec, what, reply_class, listed->reason}, facts_);
    if (!r.lookup_failure.empty()) decision_->lookup_failure = r.lookup_failure;
    if (!r.problem.empty() && trace_) decision_->trace.push_back("warning: " + r.problem);
    return ListResult::Reply(std::move(r.reply));
  }

  // One lookup in access table `index`; nullopt when the key is not there.
  // Keys of a shape the table does not hold are not looked up at all.
  std::optional<std::string> Lookup(uint32_t index, std::string_view key, bool partial) const {
    const mail::LookupTable* table = vm_.tables_[index];
    if (table == nullptr) return std::string("451 4.3.5 Server configuration error");
    if (partial && !table->AcceptsPartialKeys()) return std::nullopt;
    if ((vm_.table_shapes_[index] & AccessKeyShape(key)) == 0) return std::nullopt;
    return table->Lookup(key);
  }

  // check_domain_access: the name, then its parent domains.
  std::optional<std::string> DomainKeys(uint32_t table, std::string_view domain) const {
    if (mail::IpAddress::Parse(domain)) return Lookup(table, domain, false);
    std::string_view name = domain;
    bool partial = false;
    while (!name.empty()) {
      if (auto v = Lookup(table, name, partial)) return v;
      size_t dot = name.find('.', 1);
      if (dot == std::string_view::npos) break;
      name = name.substr(vm_.access_parent_style_ ? dot + 1 : dot);
      partial = true;
    }
    return std::nullopt;
  }

  // check_addr_access: the address, then its parent networks by octets.
  std::optional<std::string> AddressKeys(uint32_t table, std::string_view address) const {
    char delimiter = address.find(':') != std::string_view::npos ? ':' : '.';
    std::string_view key = address;
    bool partial = false;
    while (!key.empty()) {
      if (auto v = Lookup(table, key, partial)) return v;
      size_t cut = key.rfind(delimiter);
      if (cut == std::string_view::npos) break;
      key = key.substr(0, cut);
      partial = true;
    }
    return std::nullopt;
  }

  // check_mail_access: user+ext@domain, user@domain, domain and parents,
  // user+ext@, user@.
  std::optional<std::string> MailKeys(uint32_t table, const std::string& address) const {
    if (address.empty()) return Lookup(table, vm_.null_sender_key_, false);
    if (auto v = Lookup(table, address, false)) return v;
    const std::string& delimiters = vm_.resolver_->config().recipient_delimiter;
    size_t at = address.rfind('@');
    std::string_view local = std::string_view(address).substr(0, at);
    auto ext = mail::SplitExtension(local, delimiters);
    if (ext && at != std::string::npos) {
      if (auto v = Lookup(table, mail::JoinAddress(ext->base, std::string_view(address).substr(at + 1)), true)) {
        return v;
      }
    }
    if (at != std::string::npos) {
      if (auto v = DomainKeysPartial(table, std::string_view(address).substr(at + 1))) return v;
    }
    if ((vm_.table_shapes_[table] & kShapeLocalpartAt) == 0) return std::nullopt;
    if (auto v = Lookup(table, std::string(local) + "@", true)) return v;
    if (ext) {
      if (auto v = Lookup(table, ext->base + "@", true)) return v;
    }
    return std::nullopt;
  }

  std::optional<std::string> DomainKeysPartial(uint32_t table, std::string_view domain) const {
    std::string_view name = domain;
    while (!name.empty()) {
      if (auto v = Lookup(table, name, true)) return v;
      size_t dot = name.find('.', 1);
      if (dot == std::string_view::npos) break;
      name = name.substr(vm_.access_parent_style_ ? dot + 1 : dot);
    }
    return std::nullopt;
  }

  ListResult Access(const mail::AccessSpec& spec, Context context, int depth) {
    const uint32_t table = spec.table;
    std::optional<std::string> value;
    Context reply_context = context;
    std::string routed_check;
    bool reverse = spec.key == mail::AccessKey::kReverseClient;
    switch (spec.key) {
      case mail::AccessKey::kCcert:
        return CertificateAccess(table, context, depth);
      case mail::AccessKey::kClient:
        reply_context = Context::kClient;
        if (facts_.client_name != "unknown") value = DomainKeys(table, ToLower(facts_.client_name));
        if (!value) value = AddressKeys(table, facts_.client_address);
        break;
      case mail::AccessKey::kReverseClient:
        reply_context = Context::kClient;
        if (facts_.reverse_client_name != "unknown") value = DomainKeys(table, ToLower(facts_.reverse_client_name));
        if (!value) value = AddressKeys(table, facts_.client_address);
        break;
      case mail::AccessKey::kHelo:
        reply_context = Context::kHelo;
        if (!facts_.helo.empty()) value = DomainKeys(table, ToLower(facts_.helo));
        break;
      case mail::AccessKey::kSender:
        reply_context = Context::kSender;
        if (facts_.has_sender) value = MailKeys(table, Qualified(facts_.sender));
        break;
      case mail::AccessKey::kRecipient:
        reply_context = Context::kRecipient;
        value = MailKeys(table, Qualified(facts_.recipient));
        break;
      case mail::AccessKey::kSasl:
        if (vm_.sasl_enabled_ && !facts_.sasl_username.empty()) value = Lookup(table, facts_.sasl_username, false);
        break;
    }
    Subject subject = reverse ? ReverseClientSubject() : SubjectOf(reply_context);
    if (lookups_.failed()) return AccessLookupFailed(subject);
    if (!value) return ListResult::Dunno();
    ListResult r = Interpret(*value, subject, context, depth);
    // The reverse name is not verified: it may not allow anything.
    if (reverse) return ForbidOk(std::move(r), "check_reverse_client_hostname_access", facts_.reverse_client_name);
    // An OK for a source-routed recipient is too suspicious to honour.
    if (r.kind == ListResult::Kind::kOk && spec.key == mail::AccessKey::kRecipient &&
        !vm_.resolver_->config().allow_untrusted_routing) {
      std::string address = Qualified(facts_.recipient);
      size_t at = address.rfind('@');
      if (at != std::string::npos && address.find_first_of("@!%") < at) return ListResult::Dunno();
    }
    return r;
  }

  // permit_tls_clientcerts: a certificate (verified or not) whose
  // fingerprint, or its public key's, relay_clientcerts lists. A table
  // that cannot answer fails the command (the VM's lookup scope).
  bool ClientCertificateListed() const {
    resolve::LookupOutcome found = FindClientCertificate(vm_.relay_clientcerts_, facts_);
    if (!found.error.empty() && !mail::LookupFailureScope::CurrentFailed())
      mail::LookupFailureScope::Record(found.error);
    return found.hit.has_value();
  }

  // check_ccert_access: the certificate's fingerprint, then its public
  // key's; the first answer other than DUNNO decides. Replies name the
  // certificate's common name ("<cn>: Client certificate rejected: ...").
  ListResult CertificateAccess(uint32_t table, Context context, int depth) {
    if (!facts_.tls || !facts_.tls_client_certificate_present) {
      if (!vm_.ask_ccert_ && trace_) {
        decision_->trace.push_back("check_ccert_access is requested, but \"smtpd_tls_ask_ccert = no\"");
      }
      return ListResult::Dunno();
    }
    Subject subject{facts_.ccert_subject, "Client certificate"};
    for (const std::string* print : {&facts_.ccert_fingerprint, &facts_.ccert_pubkey_fingerprint}) {
      std::optional<std::string> value = Lookup(table, *print, false);
      if (lookups_.failed()) return AccessLookupFailed(subject);
      if (!value) continue;
      ListResult r = Interpret(*value, subject, context, depth);
      if (r.kind != ListResult::Kind::kDunno) return r;
    }
    return ListResult::Dunno();
  }

  // check_*_{a,mx,ns}_access (Postfix's check_server_access): the name's
  // domain (an address's part after the @), its MX hosts (none: the domain
  // itself; a null MX: nothing), its NS hosts (none: the nearest parent's)
  // or itself (A); each host's name (not for A) and then its addresses are
  // looked up, and the first found decides. An address literal is looked
  // up as its address (not for NS). An OK is refused with 451 4.3.5, as
  // Postfix refuses to let these tables allow anything.
  ListResult ServerAccess(const mail::AccessSpec& spec, mail::ServerRecord record, Context context, int depth) {
    std::string name;
    Subject subject;
    switch (spec.key) {
      case mail::AccessKey::kClient:
        if (facts_.client_name == "unknown") return ListResult::Dunno();
        name = facts_.client_name;
        subject = SubjectOf(Context::kClient);
        break;
      case mail::AccessKey::kReverseClient:
        if (facts_.reverse_client_name == "unknown") return ListResult::Dunno();
        name = facts_.reverse_client_name;
        subject = ReverseClientSubject();
        break;
      case mail::AccessKey::kHelo:
        name = facts_.helo;
        subject = SubjectOf(Context::kHelo);
        break;
      case mail::AccessKey::kSender:
        if (facts_.has_sender) name = facts_.sender;
        subject = SubjectOf(Context::kSender);
        break;
      case mail::AccessKey::kRecipient:
        name = facts_.recipient;
        subject = SubjectOf(Context::kRecipient);
        break;
      case mail::AccessKey::kSasl:
      case mail::AccessKey::kCcert:
        return ListResult::Dunno();
    }
    if (name.empty()) return ListResult::Dunno();
    std::optional<std::string> value = ServerAccessValue(spec.table, record, name);
    if (lookups_.failed()) return AccessLookupFailed(subject);
    if (!value) return ListResult::Dunno();
    return ForbidOk(
        Interpret(*value, subject, context, depth),
        std::string("check_") + mail::AccessKeyName(spec.key) + "_" + mail::ServerRecordName(record) + "_access", name);
  }

  // Postfix's forbid_whitelist: restrictions that judge what the client
  // claims (its unverified reverse name, the hosts that serve a name) may
  // reject, never allow: an OK is refused with 451 4.3.5 (a DISCARD is not).
  ListResult ForbidOk(ListResult r, const std::string& restriction, const std::string& name) {
    if (r.kind != ListResult::Kind::kOk || decision_->discard) return r;
    if (trace_) {
      decision_->trace.push_back(restriction + " returns OK for " + name +
                                 ": not allowed for security reasons (use DUNNO)");
    }
    return ListResult::Reply("451 4.3.5 Server configuration error");
  }

  // The access table value the hosts serving `name` find (see
  // ServerAccess), or nullopt (also while a DNS answer is pending).
  std::optional<std::string> ServerAccessValue(uint32_t table, mail::ServerRecord record, const std::string& name) {
    std::string_view domain = name;
    if (size_t at = domain.rfind('@'); at != std::string_view::npos) domain.remove_prefix(at + 1);
    if (domain.starts_with('[')) {
      if (record == mail::ServerRecord::kNs || !domain.ends_with(']')) return std::nullopt;
      std::string_view literal = domain.substr(1, domain.size() - 2);
      if (StartsWith(literal, "IPv6:") || StartsWith(literal, "ipv6:")) literal.remove_prefix(5);
      if (!mail::IpAddress::Parse(literal)) return std::nullopt;
      return AddressKeys(table, literal);
    }
    std::optional<std::vector<std::string>> hosts = ServingHosts(record, ToLower(domain));
    if (!hosts) return std::nullopt;
    bool pending = false;
    for (const std::string& host : *hosts) {
      if (mail::IpAddress::Parse(host)) {
        if (std::optional<std::string> v = AddressKeys(table, host); v && !pending) return v;
        continue;
      }
      if (record != mail::ServerRecord::kA && !pending) {
        if (std::optional<std::string> v = DomainKeys(table, host)) return v;
      }
      // The host's addresses, both families asked at once.
      std::vector<std::string> addresses;
      for (vm::DnsRecordType type : {DnsRecordType::kA, DnsRecordType::kAaaa}) {
        if (!(type == DnsRecordType::kA ? vm_.ipv4_ : vm_.ipv6_)) continue;
        std::optional<DnsRecords> found = Dns().Lookup(type, host);
        if (!found) {
          pending = true;
          continue;
        }
        if (found->status == DnsRecords::Status::kFound) {
          addresses.insert(addresses.end(), found->values.begin(), found->values.end());
        }
      }
      if (pending) continue;  // the other hosts' questions, asked in the same round
      for (const std::string& address : addresses) {
        if (std::optional<std::string> v = AddressKeys(table, address)) return v;
      }
    }
    return std::nullopt;
  }

  // The hosts check_server_access looks at for `domain`; nullopt when
  // there are none (no NS anywhere, a null MX, a failed or pending lookup).
  std::optional<std::vector<std::string>> ServingHosts(mail::ServerRecord record, std::string domain) const {
    if (record == mail::ServerRecord::kA) return std::vector<std::string>{domain};
    DnsRecordType type = record == mail::ServerRecord::kMx ? DnsRecordType::kMx : DnsRecordType::kNs;
    std::optional<DnsRecords> found = Dns().Lookup(type, domain);
    if (!found) return std::nullopt;
    if (found->status == DnsRecords::Status::kNotFound && type == DnsRecordType::kMx) {
      return std::vector<std::string>{domain};  // the domain is its own mail exchanger
    }
    // No NS records: the parent domain's, and so on up.
    for (size_t dot = domain.find('.'); found->status == DnsRecords::Status::kNotFound && type == DnsRecordType::kNs &&
                                        dot != std::string::npos && dot + 1 < domain.size();
         dot = domain.find('.')) {
      domain = domain.substr(dot + 1);
      found = Dns().Lookup(type, domain);
      if (!found) return std::nullopt;
    }
    if (found->status != DnsRecords::Status::kFound) return std::nullopt;
    if (type == DnsRecordType::kMx && found->values.size() == 1 && found->values.front() == ".") return std::nullopt;
    std::vector<std::string> hosts;
    for (const std::string& host : found->values) {
      std::string_view h = host;
      while (h.size() > 1 && h.back() == '.') h.remove_suffix(1);
      hosts.push_back(ToLower(h));
    }
    return hosts;
  }

  std::string Qualified(const std::string& address) const {
    if (address.empty() || address.find('@') != std::string::npos) return address;
    return address + "@" + vm_.resolver_->config().myorigin;
  }

  // check_table_result: an access(5) value as a decision.
  ListResult Interpret(const std::string& value, const Subject& subject, Context list_context, int depth) {
    using Verb = mail::AccessResult::Verb;
    mail::AccessResult result = mail::ParseAccessResult(value);
    const std::string& text = result.text;
    // "<name>: Class rejected: text", with an enhanced status code taken
    // from the text when it starts with one, corrected for the class and
    // given the reply code's class digit, as smtpd does.
    auto reply = [&](const std::string& code, char klass, std::string_view fallback) {
      std::string dsn = std::string(1, klass) + ".7.1";
      std::string_view rest = text;
      if (mail::StatusAndText split = mail::SplitEnhancedStatus(text); !split.status.empty()) {
        dsn = std::string(split.status);
        rest = Trim(split.text);
      }
      dsn = mail::FixStatusForReplyClass(dsn, subject.klass);
      if (!code.empty()) dsn[0] = code[0];
      return ListResult::Reply(code + " " + dsn + " <" + subject.name + ">: " + std::string(subject.klass) +
                               " rejected: " + std::string(rest.empty() ? fallback : rest));
    };
    switch (result.verb) {
      case Verb::kOk:
        return ListResult::Ok();
      case Verb::kReject:
        return reply(vm_.access_map_reject_code_, '5', "Access denied");
      case Verb::kDefer:
        return reply(vm_.access_map_defer_code_, '4', "Access denied");
      case Verb::kCoded:
        return reply(result.code, result.code[0], "Access denied");
      case Verb::kDunno:
      case Verb::kHangup:
        return ListResult::Dunno();
      case Verb::kInfo:
      case Verb::kWarn:
        decision_->warnings.push_back("<" + subject.name + ">: " + std::string(subject.klass) + " " +
                                      (text.empty() ? ToLower(value) : text));
        return ListResult::Dunno();
      case Verb::kFilter:
        if (text.find(':') != std::string::npos) decision_->filter = text;
        return ListResult::Dunno();
      case Verb::kHold:
        decision_->hold = true;
        return ListResult::Dunno();
      case Verb::kDiscard:
        decision_->discard = true;
        return ListResult::Ok();
      case Verb::kRedirect:
        if (text.find('@') != std::string::npos) decision_->redirect = text;
        return ListResult::Dunno();
      case Verb::kBcc:
        if (text.find('@') != std::string::npos) decision_->bcc.push_back(text);
        return ListResult::Dunno();
      case Verb::kPrepend:
        if (text.find(':') != std::string::npos) decision_->prepend.push_back(text);
        return ListResult::Dunno();
      case Verb::kDeferIfPermit:
      case Verb::kDeferIfReject: {
        ListResult r = reply(vm_.access_map_defer_code_, '4', "Service unavailable");
        std::string& slot = result.verb == Verb::kDeferIfPermit ? defer_if_permit_ : defer_if_reject_;
        if (slot.empty()) slot = r.reply;
        return ListResult::Dunno();
      }
      case Verb::kTableReference:
        return ListResult::Reply("451 4.3.5 Server configuration error");
      case Verb::kRestrictions:
        break;
    }
    // A restriction list (or class name), compiled ahead of time.
    auto it = std::lower_bound(p_.value_lists.begin(), p_.value_lists.end(), value,
                               [](const mail::ValueList& a, const std::string& b) { return a.value < b; });
    if (it == p_.value_lists.end() || it->value != value) {
      return ListResult::Reply("451 4.3.5 Server configuration error");
    }
    return RunList(it->pc, list_context, depth + 1);
  }

  const PolicyVm& vm_;
  const mail::Program& p_;
  const SmtpFacts& facts_;
  std::optional<mail::IpAddress> client_address_;  // parsed once
  bool trace_;
  const mail::LookupFailureScope& lookups_;  // a table failed: the command is deferred
  Decision* decision_;
  std::string defer_if_permit_;
  std::string defer_if_reject_;
  int pauses_ = 0;  // `sleep`s met in this evaluation
};

resolve::LookupOutcome FindClientCertificate(const resolve::TableList& maps, const SmtpFacts& facts) {
  resolve::LookupOutcome found;
  if (!facts.tls || !facts.tls_client_certificate_present || maps.empty()) return found;
  for (const std::string* print : {&facts.ccert_fingerprint, &facts.ccert_pubkey_fingerprint}) {
    if (print->empty()) continue;
    found = resolve::FindKey(maps, *print, false);
    if (found.hit || !found.error.empty()) return found;
  }
  return found;
}

PolicyVm::PolicyVm(std::shared_ptr<const image::Image> image, std::shared_ptr<const resolve::Resolver> resolver,
                   std::shared_ptr<const NetworkOracle> dns, std::shared_ptr<const RateOracle> rates)
    : image_(std::move(image)),
      resolver_(std::move(resolver)),
      dns_(std::move(dns)),
      rates_(std::move(rates)),
      program_(image_->program()) {
  for (const mail::TestSpec& t : program_->tests) {
    std::shared_ptr<const mail::Regexp> re;
    if (t.op == mail::TestOp::kMatch) {
      mail::RegexpFlags flags;
      const std::string& f = program_->constants[t.flags];
      flags.caseless = f.find('i') != std::string::npos;
      flags.extended = f.find('x') != std::string::npos;
      flags.multiline = f.find('m') != std::string::npos;
      flags.dotall = f.find('s') != std::string::npos;
      auto compiled = mail::Regexp::Compile(program_->constants[t.value], flags);
      if (compiled.ok()) re = *compiled;  // the compiler checked it; a failure never matches
    }
    regexps_.push_back(re);
  }
  for (const std::string& reference : program_->tables) {
    const mail::LookupTable* table = image_->Table(reference);
    tables_.push_back(table);
    uint8_t shapes = 0;
    if (table == nullptr ||
        !table->ForEachEntry([&shapes](std::string_view key, std::string_view) { shapes |= AccessKeyShape(key); })) {
      shapes = kAllShapes;  // keys that cannot be listed: any shape
    }
    table_shapes_.push_back(shapes);
  }
  mynetworks_ = image::NetworkListParameter(*image_, "mynetworks");
  std::string parent = image_->Text("parent_domain_matches_subdomains");
  access_parent_style_ = parent.find("smtpd_access_maps") != std::string::npos;
  null_sender_key_ = image_->Text("smtpd_null_access_lookup_key");
  access_map_reject_code_ = image_->Text("access_map_reject_code");
  access_map_defer_code_ = image_->Text("access_map_defer_code");
  // Booleans as Postfix reads them: "YES" is yes.
  reject_unlisted_recipient_ = image::BoolParameter(*image_, "smtpd_reject_unlisted_recipient");
  reject_unlisted_sender_ = image::BoolParameter(*image_, "smtpd_reject_unlisted_sender");
  sasl_enabled_ = image::BoolParameter(*image_, "smtpd_sasl_auth_enable");
  sender_login_maps_ = resolve::TablesOf(*image_, "smtpd_sender_login_maps");
  // Expanded by the compiler per service (its default names
  // reject_tempfail_action, whose -o overrides reach it too).
  unknown_address_tempfail_defer_ = Trim(image_->Text("unknown_address_tempfail_action")) == "defer";
  unknown_helo_tempfail_defer_ = Trim(image_->Text("unknown_helo_hostname_tempfail_action")) == "defer";
  policy_default_action_ = image_->Text("smtpd_policy_service_default_action");
  policy_context_ = image_->Text("smtpd_policy_service_policy_context");
  struct UnverifiedNames {
    UnverifiedSettings* settings;
    const char *defer_code, *reject_code, *tempfail_action, *reject_reason;
  };
  for (const UnverifiedNames& n :
       {UnverifiedNames{&unverified_recipient_, "unverified_recipient_defer_code", "unverified_recipient_reject_code",
                        "unverified_recipient_tempfail_action", "unverified_recipient_reject_reason"},
        UnverifiedNames{&unverified_sender_, "unverified_sender_defer_code", "unverified_sender_reject_code",
                        "unverified_sender_tempfail_action", "unverified_sender_reject_reason"}}) {
    n.settings->defer_code = static_cast<int>(ParseDecimal(Trim(image_->Text(n.defer_code))).value_or(450));
    n.settings->reject_code = static_cast<int>(ParseDecimal(Trim(image_->Text(n.reject_code))).value_or(450));
    n.settings->tempfail_defer = Trim(image_->Text(n.tempfail_action)) == "defer";
    n.settings->reason = Trim(image_->Text(n.reject_reason));
  }
  relay_clientcerts_ = resolve::TablesOf(*image_, "relay_clientcerts");
  ask_ccert_ = image::BoolParameter(*image_, "smtpd_tls_ask_ccert");
  std::string protocols = ToLower(image_->Text("inet_protocols"));
  bool all = protocols.find("all") != std::string::npos;
  ipv4_ = all || protocols.find("ipv4") != std::string::npos;
  ipv6_ = all || protocols.find("ipv6") != std::string::npos;
  rbl_reply_.default_template = image_->Text("default_rbl_reply");
  rbl_reply_.code = Trim(image_->Text("maps_rbl_reject_code"));
  rbl_reply_.filter = UnescapeC(image_->Text("smtpd_expansion_filter"));
  rbl_reply_.myhostname = image_->Text("myhostname");
  rbl_reply_.maps = resolve::TablesOf(*image_, "rbl_reply_maps");
  // What a service after a content filter turns off (no_address_mappings
  // is refused by postern check; milters are not run at all).
  for (const std::string& option :
       mail::SplitParameterList(image_->Text("receive_override_options")).value_or(std::vector<std::string>{})) {
    no_unknown_recipient_checks_ = no_unknown_recipient_checks_ || option == "no_unknown_recipient_checks";
    no_header_body_checks_ = no_header_body_checks_ || option == "no_header_body_checks";
  }
}

Decision PolicyVm::CheckRecipient(const SmtpFacts& facts, bool trace) const {
  Decision decision = Run(VmStage::kRcpt, facts, trace);
  if (decision.kind != Decision::Kind::kAccept || no_unknown_recipient_checks_) return decision;
  mail::LookupFailureScope lookups;  // CheckListed answers a failure itself; this is for the reason
  std::optional<resolve::Delivery> unlisted;
  if (reject_unlisted_sender_ && facts.has_sender && !facts.sender.empty()) {
    unlisted = resolver_->CheckListed(facts.sender, /*sender=*/true);
  }
  if (!unlisted && reject_unlisted_recipient_) unlisted = resolver_->CheckListed(facts.recipient, false);
  if (unlisted) {
    decision.code = unlisted->code;
    decision.reply = std::to_string(unlisted->code) + " " + unlisted->text;
    decision.kind = unlisted->code >= 500 ? Decision::Kind::kReject : Decision::Kind::kDefer;
    if (trace) decision.trace.push_back("smtpd_reject_unlisted_recipient: " + decision.reply);
  }
  if (lookups.failed()) decision.lookup_failure = lookups.reason();
  return decision;
}

Decision PolicyVm::Run(VmStage stage, const SmtpFacts& facts, bool trace) const {
  Decision decision;
  mail::LookupFailureScope lookups;
  Execution(*this, facts, trace, lookups, &decision).RunStage(program_->entry[static_cast<size_t>(stage)]);
  return decision;
}

}  // namespace postern::vm
