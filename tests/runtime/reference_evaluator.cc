// reference_evaluator.cc: see reference_evaluator.h. Deliberately naive:
// strings are rebuilt, lists are walked recursively, nothing is cached.
#include "tests/runtime/reference_evaluator.h"

#include <algorithm>

#include "mail/ip_address.h"
#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::testing {
namespace {

using policy::ReplyContext;
using policy::RestrictionKind;

struct Outcome {
  enum Kind { kDunno, kOk, kReply } kind = kDunno;
  std::string reply;
};

class Reference {
 public:
  Reference(const policy::PolicyIr& ir, const image::Image& image, const resolve::Resolver& resolver,
            const vm::SmtpFacts& facts)
      : ir_(ir), image_(image), resolver_(resolver), f_(facts) {}

  ReferenceResult Rcpt() {
    ReferenceResult result;
    for (const policy::StageList& sl : ir_.stages[static_cast<int>(policy::Stage::kRcpt)].lists) {
      Outcome o = List(sl.list, sl.context, 0);
      if (o.kind == Outcome::kReply) {
        result = Finish(o.reply);
        break;
      }
    }
    if (result.accepted && !defer_if_permit_.empty()) result = Finish(defer_if_permit_);
    result.complete = !unsupported_;
    return result;
  }

 private:
  ReferenceResult Finish(std::string reply) {
    if (reply[0] == '5' && !defer_if_reject_.empty()) reply = defer_if_reject_;
    return ReferenceResult{false, reply, true};
  }

  std::string P(const char* name) const { return image_.Text(name); }

  std::string NameOf(ReplyContext c) const {
    if (c == ReplyContext::kClient) return f_.client_name + "[" + f_.client_address + "]";
    if (c == ReplyContext::kHelo) return f_.helo;
    if (c == ReplyContext::kSender) return f_.sender;
    return f_.recipient;
  }
  static std::string ClassOf(ReplyContext c) {
    switch (c) {
      case ReplyContext::kClient:
        return "Client host";
      case ReplyContext::kHelo:
        return "Helo command";
      case ReplyContext::kSender:
        return "Sender address";
      default:
        return "Recipient address";
    }
  }

  bool InMynetworks() const {
    auto address = mail::IpAddress::Parse(f_.client_address);
    if (!address) return false;
    for (const std::string& item : mail::SplitParameterList(P("mynetworks")).value_or(std::vector<std::string>{})) {
      std::string error;
      auto block = mail::ParseCidrBlock(item, &error);
      if (block && block->Contains(*address)) return true;
    }
    return false;
  }

  static bool Literal(const std::string& name) {
    return name.size() > 2 && name.front() == '[' && name.back() == ']' &&
           mail::IpAddress::Parse(name.substr(1, name.size() - 2)).has_value();
  }

  static bool Hostname(const std::string& name) {
    if (name.empty() || name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) {
      return false;
    }
    bool letter = false;
    for (const std::string& label : SplitAny(name, ".")) {
      if (label.size() > 63) return false;
      for (char c : label) {
        if (!IsAlnum(c) && c != '-' && c != '_') return false;
        letter = letter || !IsDigit(c);
      }
    }
    return letter;
  }

  static bool Fqdn(const std::string& address) {
    if (address.empty()) return true;
    auto at = address.rfind('@');
    return at != std::string::npos && address.find('.', at) != std::string::npos;
  }

  Outcome List(const policy::RestrictionList& list, ReplyContext ctx, int depth) {
    bool warn = false;
    for (const policy::Restriction& r : list.items) {
      if (r.kind == RestrictionKind::kWarnIfReject) {
        warn = true;
        continue;
      }
      Outcome o = One(r, ctx, depth);
      bool was_warn = warn;
      warn = false;
      if (o.kind == Outcome::kDunno) continue;
      if (o.kind == Outcome::kReply && was_warn && o.reply[0] == '5') continue;
      return o;
    }
    return Outcome{};
  }

  Outcome Reply(const std::string& text) { return Outcome{Outcome::kReply, text}; }

  Outcome One(const policy::Restriction& r, ReplyContext ctx, int depth) {
    std::string generic = "<" + NameOf(ctx) + ">: " + ClassOf(ctx) + " rejected: Access denied";
    switch (r.kind) {
      case RestrictionKind::kPermit:
        return Outcome{Outcome::kOk, ""};
      case RestrictionKind::kReject:
        return Reply(P("reject_code") + " 5.7.1 " + generic);
      case RestrictionKind::kDefer:
        return Reply(P("defer_code") + " 4.7.1 " + generic);
      case RestrictionKind::kPermitMynetworks:
        return InMynetworks() ? Outcome{Outcome::kOk, ""} : Outcome{};
      case RestrictionKind::kPermitSaslAuthenticated:
        return P("smtpd_sasl_auth_enable") == "yes" && !f_.sasl_username.empty() ? Outcome{Outcome::kOk, ""}
                                                                                 : Outcome{};
      case RestrictionKind::kPermitAuthDestination:
        return resolver_.IsAuthDestination(f_.recipient) ? Outcome{Outcome::kOk, ""} : Outcome{};
      case RestrictionKind::kRejectUnauthDestination:
      case RestrictionKind::kDeferUnauthDestination: {
        if (resolver_.IsAuthDestination(f_.recipient)) return Outcome{};
        bool reject = r.kind == RestrictionKind::kRejectUnauthDestination;
        // Postfix defers with relay_domains_reject_code as a 4xx (554 -> 454).
        std::string code = P("relay_domains_reject_code");
        if (!reject) code[0] = '4';
        return Reply(code + " " + code.substr(0, 1) + ".7.1 <" + f_.recipient + ">: Relay access denied");
      }
      case RestrictionKind::kRejectUnlistedRecipient:
      case RestrictionKind::kRejectUnlistedSender: {
        bool sender = r.kind == RestrictionKind::kRejectUnlistedSender;
        if (sender && f_.sender.empty()) return Outcome{};
        auto d = resolver_.CheckListed(sender ? f_.sender : f_.recipient, sender);
        return d ? Reply(std::to_string(d->code) + " " + d->text) : Outcome{};
      }
      case RestrictionKind::kRejectInvalidHelo:
        return !f_.helo.empty() && !Literal(f_.helo) && !Hostname(f_.helo)
                   ? Reply(P("invalid_hostname_reject_code") + " 5.5.2 <" + f_.helo +
                           ">: Helo command rejected: Invalid name")
                   : Outcome{};
      case RestrictionKind::kRejectNonFqdnHelo:
        return !f_.helo.empty() && !Literal(f_.helo) && (!Hostname(f_.helo) || f_.helo.find('.') == std::string::npos)
                   ? Reply(P("non_fqdn_reject_code") + " 5.5.2 <" + f_.helo +
                           ">: Helo command rejected: need fully-qualified hostname")
                   : Outcome{};
      case RestrictionKind::kRejectNonFqdnSender:
        return f_.has_sender && !Fqdn(f_.sender) ? Reply(P("non_fqdn_reject_code") + " 5.5.2 <" + f_.sender +
                                                         ">: Sender address rejected: need fully-qualified address")
                                                 : Outcome{};
      case RestrictionKind::kRejectNonFqdnRecipient:
        return !Fqdn(f_.recipient) ? Reply(P("non_fqdn_reject_code") + " 5.5.2 <" + f_.recipient +
                                           ">: Recipient address rejected: need fully-qualified address")
                                   : Outcome{};
      case RestrictionKind::kCheckClientAccess:
        return Access(r.argument, ReplyContext::kClient, ctx, depth);
      case RestrictionKind::kCheckHeloAccess:
        return Access(r.argument, ReplyContext::kHelo, ctx, depth);
      case RestrictionKind::kCheckSenderAccess:
        return Access(r.argument, ReplyContext::kSender, ctx, depth);
      case RestrictionKind::kCheckRecipientAccess:
        return Access(r.argument, ReplyContext::kRecipient, ctx, depth);
      case RestrictionKind::kClass:
        return List(ir_.classes.at(r.argument), ctx, depth + 1);
      case RestrictionKind::kRule:
        return Rule(*r.rule);
      default:
        unsupported_ = true;  // the generator only uses the kinds above
        return Outcome{};
    }
  }

  // Policy language rules: the condition evaluated recursively.
  Outcome Rule(const policy::Rule& rule) {
    if (rule.condition && !Holds(*rule.condition)) return Outcome{};
    using Kind = policy::RuleAction::Kind;
    switch (rule.action.kind) {
      case Kind::kAccept:
      case Kind::kDiscard:
        return Outcome{Outcome::kOk, ""};
      case Kind::kReject:
      case Kind::kDefer: {
        std::string reply = rule.action.reply;
        for (const auto& [from, to] : {std::pair<std::string, std::string>{"{name}", NameOf(ReplyContext::kRecipient)},
                                       {"{class}", ClassOf(ReplyContext::kRecipient)},
                                       {"{recipient}", f_.recipient}}) {
          for (size_t at = reply.find(from); at != std::string::npos; at = reply.find(from))
            reply.replace(at, from.size(), to);
        }
        return Reply(reply);
      }
      default:
        return Outcome{};  // actions that do not decide
    }
  }

  bool Holds(const policy::Condition& c) {
    switch (c.kind) {
      case policy::Condition::Kind::kNot:
        return !Holds(c.children[0]);
      case policy::Condition::Kind::kAnd:
        return Holds(c.children[0]) && Holds(c.children[1]);
      case policy::Condition::Kind::kOr:
        return Holds(c.children[0]) || Holds(c.children[1]);
      case policy::Condition::Kind::kTest:
        return TestHolds(c.test);
    }
    return false;
  }

  std::string Value(mail::Field field) {
    auto domain = [](const std::string& a) {
      return a.find('@') == std::string::npos ? std::string() : ToLower(a.substr(a.rfind('@') + 1));
    };
    auto local = [](const std::string& a) { return a.substr(0, a.rfind('@')); };
    switch (field) {
      case mail::Field::kClientAddress:
        return f_.client_address;
      case mail::Field::kClientName:
        return f_.client_name;
      case mail::Field::kHelo:
        return f_.helo;
      case mail::Field::kSender:
        return f_.sender;
      case mail::Field::kSenderDomain:
        return domain(f_.sender);
      case mail::Field::kSenderLocal:
        return local(f_.sender);
      case mail::Field::kRecipient:
        return f_.recipient;
      case mail::Field::kRecipientDomain:
        return domain(f_.recipient);
      case mail::Field::kRecipientLocal:
        return local(f_.recipient);
      default:
        unsupported_ = true;
        return "";
    }
  }

  bool TestHolds(const policy::Test& t) {
    using mail::TestOp;
    if (t.field == mail::Field::kSaslAuthenticated) {
      return P("smtpd_sasl_auth_enable") == "yes" && !f_.sasl_username.empty();
    }
    if (t.field == mail::Field::kTls) return f_.tls;
    if (t.field == mail::Field::kRate) return 0 > t.number;  // dry runs count no events
    if (t.field == mail::Field::kSize) {
      switch (t.op) {
        case TestOp::kGt:
          return f_.size > t.number;
        case TestOp::kLt:
          return f_.size < t.number;
        default:
          unsupported_ = true;
          return false;
      }
    }
    std::string v = Value(t.field);
    switch (t.op) {
      case TestOp::kEq:
        return EqualsIgnoreCase(v, t.value);
      case TestOp::kNe:
        return !EqualsIgnoreCase(v, t.value);
      case TestOp::kIn: {
        const mail::LookupTable* table = image_.Table(t.value);
        if (table == nullptr || v.empty()) return false;
        if (table->Lookup(v)) return true;
        bool is_domain = t.field == mail::Field::kSenderDomain || t.field == mail::Field::kRecipientDomain ||
                         t.field == mail::Field::kHelo || t.field == mail::Field::kClientName;
        for (size_t dot = v.find('.'); is_domain && table->AcceptsPartialKeys() && dot != std::string::npos;
             dot = v.find('.', dot + 1)) {
          if (table->Lookup(v.substr(dot))) return true;
        }
        return false;
      }
      default:
        unsupported_ = true;
        return false;
    }
  }

  // The lookup keys, each marked partial (pattern tables skip those).
  std::vector<std::pair<std::string, bool>> Keys(ReplyContext key) const {
    std::vector<std::pair<std::string, bool>> keys;
    auto domains = [&](std::string name) {
      bool partial = false;
      while (!name.empty()) {
        keys.emplace_back(name, partial);
        partial = true;
        auto dot = name.find('.');
        if (dot == std::string::npos) break;
        name = name.substr(dot + 1);  // smtpd_access_maps matches parent domains
      }
    };
    if (key == ReplyContext::kClient) {
      if (f_.client_name != "unknown") domains(ToLower(f_.client_name));
      std::string a = f_.client_address;
      bool partial = false;
      while (true) {
        keys.emplace_back(a, partial);
        partial = true;
        auto cut = a.rfind('.');
        if (cut == std::string::npos) break;
        a = a.substr(0, cut);
      }
    } else if (key == ReplyContext::kHelo) {
      domains(ToLower(f_.helo));
    } else {
      std::string address = key == ReplyContext::kSender ? f_.sender : f_.recipient;
      if (address.empty()) return {{"<>", false}};
      if (address.find('@') == std::string::npos) address += "@" + P("myorigin");
      keys.emplace_back(address, false);
      auto at = address.rfind('@');
      std::string domain = address.substr(at + 1);
      while (!domain.empty()) {
        keys.emplace_back(domain, true);
        auto dot = domain.find('.');
        if (dot == std::string::npos) break;
        domain = domain.substr(dot + 1);
      }
      keys.emplace_back(address.substr(0, at + 1), true);
    }
    return keys;
  }

  Outcome Access(const std::string& table_name, ReplyContext key, ReplyContext ctx, int depth) {
    const mail::LookupTable* table = image_.Table(table_name);
    std::optional<std::string> value;
    for (const auto& [k, partial] : Keys(key)) {
      if (partial && !table->AcceptsPartialKeys()) continue;
      value = table->Lookup(k);
      if (value) break;
    }
    if (!value) return Outcome{};
    std::string v(Trim(*value));
    std::string word = ToUpper(v.substr(0, v.find(' ')));
    std::string text = v.find(' ') == std::string::npos ? "" : std::string(Trim(v.substr(v.find(' '))));
    std::string name = "<" + NameOf(key) + ">: " + ClassOf(key) + " rejected: ";
    if (word == "OK" || word == "RELAY" || (!v.empty() && std::all_of(v.begin(), v.end(), IsDigit))) {
      return Outcome{Outcome::kOk, ""};
    }
    if (word == "DUNNO") return Outcome{};
    if (word == "REJECT")
      return Reply(P("access_map_reject_code") + " 5.7.1 " + name + (text.empty() ? "Access denied" : text));
    if (word == "DEFER")
      return Reply(P("access_map_defer_code") + " 4.7.1 " + name + (text.empty() ? "Access denied" : text));
    if (word == "DEFER_IF_PERMIT" || word == "DEFER_IF_REJECT") {
      std::string& slot = word == "DEFER_IF_PERMIT" ? defer_if_permit_ : defer_if_reject_;
      if (slot.empty())
        slot = P("access_map_defer_code") + " 4.7.1 " + name + (text.empty() ? "Service unavailable" : text);
      return Outcome{};
    }
    if (word.size() == 3 && (word[0] == '4' || word[0] == '5') && !text.empty()) {
      std::string dsn = std::string(1, word[0]) + ".7.1";
      if (text.size() > 5 && text[1] == '.' && IsDigit(text[0])) {
        dsn = text.substr(0, text.find(' '));
        text = std::string(Trim(text.substr(text.find(' '))));
      }
      return Reply(word + " " + dsn + " " + name + text);
    }
    auto it = ir_.value_lists.find(*value);
    if (it == ir_.value_lists.end()) {
      unsupported_ = true;
      return Outcome{};
    }
    return List(it->second, ctx, depth + 1);
  }

  const policy::PolicyIr& ir_;
  const image::Image& image_;
  const resolve::Resolver& resolver_;
  const vm::SmtpFacts& f_;
  std::string defer_if_permit_, defer_if_reject_;
  bool unsupported_ = false;
};

}  // namespace

ReferenceResult EvaluateRcpt(const policy::PolicyIr& ir, const image::Image& image, const resolve::Resolver& resolver,
                             const vm::SmtpFacts& facts) {
  return Reference(ir, image, resolver, facts).Rcpt();
}

}  // namespace postern::testing
