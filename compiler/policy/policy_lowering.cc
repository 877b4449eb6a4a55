// policy_lowering.cc: see policy_lowering.h.
#include "compiler/policy/policy_lowering.h"

#include <algorithm>
#include <climits>
#include <map>

#include "mail/dns_list_filter.h"
#include "mail/ip_address.h"
#include "mail/parameter_list.h"
#include "mail/regexp.h"
#include "util/strings.h"
#include "util/suggest.h"

namespace postern::policy {
namespace {

using mail::Field;
using mail::TestOp;

enum class Type { kAddress, kDomain, kIp, kString, kNumber, kBool };

struct FieldInfo {
  std::string_view name;
  Field field;
  Type type;
  Stage first_stage;  // the first stage that knows it
};

constexpr FieldInfo kFields[] = {
    {"client.address", Field::kClientAddress, Type::kIp, Stage::kConnect},
    {"client.ip", Field::kClientAddress, Type::kIp, Stage::kConnect},
    {"client.name", Field::kClientName, Type::kDomain, Stage::kConnect},
    {"client.reverse_name", Field::kReverseClientName, Type::kDomain, Stage::kConnect},
    {"helo", Field::kHelo, Type::kDomain, Stage::kHelo},
    {"sender", Field::kSender, Type::kAddress, Stage::kMail},
    {"sender.domain", Field::kSenderDomain, Type::kDomain, Stage::kMail},
    {"sender.local", Field::kSenderLocal, Type::kString, Stage::kMail},
    {"rcpt", Field::kRecipient, Type::kAddress, Stage::kRcpt},
    {"rcpt.domain", Field::kRecipientDomain, Type::kDomain, Stage::kRcpt},
    {"rcpt.local", Field::kRecipientLocal, Type::kString, Stage::kRcpt},
    {"rcpt.extension", Field::kRecipientExtension, Type::kString, Stage::kRcpt},
    {"rcpt.count", Field::kRecipientCount, Type::kNumber, Stage::kRcpt},
    {"sasl.authenticated", Field::kSaslAuthenticated, Type::kBool, Stage::kConnect},
    {"sasl.username", Field::kSaslUsername, Type::kString, Stage::kConnect},
    {"tls", Field::kTls, Type::kBool, Stage::kConnect},
    {"tls.client_certificate", Field::kTlsClientCertificate, Type::kBool, Stage::kConnect},
    {"size", Field::kSize, Type::kNumber, Stage::kMail},
};

const FieldInfo* FindField(std::string_view name) {
  for (const FieldInfo& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Stage StageOf(std::string_view name) {
  if (name == "connect") return Stage::kConnect;
  if (name == "helo") return Stage::kHelo;
  if (name == "mail") return Stage::kMail;
  if (name == "rcpt") return Stage::kRcpt;
  if (name == "data") return Stage::kData;
  return Stage::kEndOfData;
}

ReplyContext ContextOf(Stage stage) {
  switch (stage) {
    case Stage::kConnect:
      return ReplyContext::kClient;
    case Stage::kHelo:
      return ReplyContext::kHelo;
    case Stage::kMail:
      return ReplyContext::kSender;
    case Stage::kRcpt:
      return ReplyContext::kRecipient;
    case Stage::kData:
      return ReplyContext::kData;
    case Stage::kEndOfData:
      return ReplyContext::kEndOfData;
  }
  return ReplyContext::kRecipient;
}

class Lowering {
 public:
  Lowering(const PolicyLoweringOptions& options, PolicyIr* ir, DiagnosticSink* diagnostics)
      : options_(options), ir_(ir), diagnostics_(diagnostics) {}

  void Run(const std::vector<AstFile>& files) {
    for (const AstFile& file : files) {
      for (const AstSet& set : file.sets) DefineSet(set);
    }
    RestrictionList lists[kStageCount];
    for (int s = 0; s < kStageCount; ++s) lists[s].name = std::string("policy ") + StageName(static_cast<Stage>(s));
    RestrictionList routes;
    routes.name = "policy routes";
    for (const AstFile& file : files) {
      for (const AstStage& stage : file.stages) {
        Stage st = StageOf(stage.name);
        for (const AstRule& rule : stage.rules) AddRule(st, rule, &lists[static_cast<int>(st)]);
      }
      for (const AstRoute& route : file.routes) {
        AstRule rule;
        rule.action.verb = "route";
        rule.action.argument = route.target;
        rule.action.location = route.location;
        rule.condition = route.condition;
        rule.location = route.location;
        AddRule(Stage::kRcpt, rule, &routes);
      }
    }
    // Routes apply to every accepted recipient, whatever the rules decide:
    // their own list, before the rcpt rules, that never decides.
    if (!routes.items.empty()) {
      ir_->stages[static_cast<int>(Stage::kRcpt)].lists.push_back({std::move(routes), ReplyContext::kRecipient});
    }
    for (int s = 0; s < kStageCount; ++s) {
      if (lists[s].items.empty()) continue;
      ir_->stages[s].lists.push_back({std::move(lists[s]), ContextOf(static_cast<Stage>(s))});
    }
  }

 private:
  void Error(const char* code, const SourceLocation& where, std::string message, std::string hint = "") {
    diagnostics_->Error(code, where, std::move(message), std::move(hint));
  }

  std::vector<std::string> ParameterItems(const std::string& param, const SourceLocation& where) {
    std::string name = param.substr(1);
    std::optional<std::string> value = options_.parameter ? options_.parameter(name) : std::nullopt;
    if (!value) {
      Error("PL0707", where, "unknown parameter " + param, "a $name refers to a main.cf parameter");
      return {};
    }
    return mail::SplitParameterList(*value).value_or(std::vector<std::string>{});
  }

  void DefineSet(const AstSet& set) {
    if (known_sets_.count(set.name)) {
      Error("PL0714", set.location, "set \"" + set.name + "\" is defined twice");
      return;
    }
    if (!set.table.empty()) {  // table-backed
      known_sets_[set.name] = set.table;
      AddTable(set.table);
      return;
    }
    PolicyIr::Set ir_set;
    ir_set.kind = set.kind == "cidr"      ? PolicyIr::Set::Kind::kCidr
                  : set.kind == "domains" ? PolicyIr::Set::Kind::kDomains
                                          : PolicyIr::Set::Kind::kAddresses;
    for (const AstOperand& item : set.items) {
      std::vector<std::string> values;
      if (item.kind == AstOperand::Kind::kParam) {
        values = ParameterItems(item.text, item.location);
      } else if (item.kind == AstOperand::Kind::kTable) {
        Error("PL0712", item.location, "a table cannot be a member of set \"" + set.name + "\"",
              "write `set " + set.name + " = " + set.kind + " " + item.text + "`, or test `in " + item.text + "`");
        continue;
      } else {
        values.push_back(item.text);
      }
      for (const std::string& v : values) {
        if (v.find(':') != std::string::npos && ir_set.kind != PolicyIr::Set::Kind::kCidr) {
          Error("PL0712", item.location, "\"" + v + "\" (from " + item.text + ") is a table, not a member");
          continue;
        }
        if (ir_set.kind == PolicyIr::Set::Kind::kCidr) {
          std::string error;
          if (!mail::ParseCidrBlock(v, &error)) {
            Error("PL0713", item.location, "bad network \"" + v + "\" in set \"" + set.name + "\"", error);
            continue;
          }
        }
        ir_set.items.push_back(ir_set.kind == PolicyIr::Set::Kind::kCidr ? v : ToLower(v));
      }
    }
    known_sets_[set.name] = "set:" + set.name;
    ir_->sets["set:" + set.name] = std::move(ir_set);
    AddTable("set:" + set.name);
  }

  void AddTable(const std::string& reference) {
    for (const std::string& t : ir_->tables) {
      if (t == reference) return;
    }
    ir_->tables.push_back(reference);
  }

  // A field operand: its info, or nullptr after a diagnostic.
  const FieldInfo* FieldOf(const AstOperand& o, Stage stage) {
    if (o.kind != AstOperand::Kind::kPath) {
      Error("PL0704", o.location, "expected a field such as rcpt.domain, found \"" + o.text + "\"");
      return nullptr;
    }
    const FieldInfo* f = FindField(o.text);
    if (f == nullptr) {
      std::vector<std::string_view> names;
      for (const FieldInfo& k : kFields) names.push_back(k.name);
      std::string suggestion = Suggest(o.text, names);
      Error("PL0703", o.location, "unknown field \"" + o.text + "\"",
            suggestion.empty() ? "fields are client.*, helo, sender.*, rcpt.*, sasl.*, tls, size"
                               : "did you mean \"" + suggestion + "\"?");
      return nullptr;
    }
    if (static_cast<int>(stage) < static_cast<int>(f->first_stage)) {
      Error("PL0705", o.location,
            "\"" + o.text + "\" is not known at stage " + StageName(stage) + "; it is known from stage " +
                StageName(f->first_stage) + " on");
      return nullptr;
    }
    return f;
  }

  std::optional<Condition> Lower(const AstCondition& c, Stage stage) {
    Condition out;
    switch (c.kind) {
      case AstCondition::Kind::kNot:
      case AstCondition::Kind::kAnd:
      case AstCondition::Kind::kOr: {
        out.kind = c.kind == AstCondition::Kind::kNot   ? Condition::Kind::kNot
                   : c.kind == AstCondition::Kind::kAnd ? Condition::Kind::kAnd
                                                        : Condition::Kind::kOr;
        for (const AstCondition& child : c.children) {
          auto lowered = Lower(child, stage);
          if (!lowered) return std::nullopt;
          out.children.push_back(std::move(*lowered));
        }
        return out;
      }
      case AstCondition::Kind::kFlag: {
        if (c.left.kind == AstOperand::Kind::kCall) return CallFlag(c, stage);
        const FieldInfo* f = FieldOf(c.left, stage);
        if (f == nullptr) return std::nullopt;
        if (f->type != Type::kBool) {
          Error("PL0704", c.left.location, "\"" + c.left.text + "\" is not true or false",
                "compare it: " + c.left.text + " == \"...\"");
          return std::nullopt;
        }
        out.test.field = f->field;
        out.test.op = TestOp::kTrue;
        return out;
      }
      case AstCondition::Kind::kIn:
      case AstCondition::Kind::kNotIn:
        return Membership(c, stage);
      case AstCondition::Kind::kCompare:
        return Compare(c, stage);
      case AstCondition::Kind::kMatch:
        return Match(c, stage);
      case AstCondition::Kind::kRate:
        return Rate(c, stage);
    }
    return std::nullopt;
  }

  // `header("Name")` as a left operand (data and end-of-data only): true
  // when it is one, false when it is not, nullopt after a diagnostic.
  std::optional<bool> HeaderOperand(const AstOperand& o, Stage stage, Test* test) {
    if (o.kind != AstOperand::Kind::kCall || o.text != "header") return false;
    if (stage != Stage::kEndOfData) {
      Error("PL0705", o.location, "header() is only known at stage eom, once the message is in");
      return std::nullopt;
    }
    if (o.arguments.size() != 1 || o.arguments[0].kind != AstOperand::Kind::kString) {
      Error("PL0704", o.location, "header() takes one header name in quotes");
      return std::nullopt;
    }
    test->field = Field::kHeader;
    test->header = o.arguments[0].text;
    return true;
  }

  // `not in` is `in` negated.
  static Condition NegatedIfNotIn(const AstCondition& c, Condition in) {
    if (c.kind != AstCondition::Kind::kNotIn) return in;
    Condition negated;
    negated.kind = Condition::Kind::kNot;
    negated.children.push_back(std::move(in));
    return negated;
  }

  // The one field argument of a DNS fact, `name(field)`, when it is a
  // domain (or, with `ip_too`, the client address).
  const FieldInfo* DnsFactField(const AstOperand& call, Stage stage, bool ip_too) {
    if (call.arguments.size() != 1) {
      Error("PL0704", call.location, call.text + "() takes one field, e.g. " + call.text + "(sender.domain)");
      return nullptr;
    }
    const FieldInfo* f = FieldOf(call.arguments[0], stage);
    if (f == nullptr) return nullptr;
    if (f->type != Type::kDomain && !(ip_too && f->type == Type::kIp)) {
      Error("PL0704", call.arguments[0].location,
            "\"" + call.arguments[0].text + "\" is not a domain" + (ip_too ? " or the client address" : ""),
            "use client.name, client.reverse_name, helo, sender.domain or rcpt.domain");
      return nullptr;
    }
    return f;
  }

  // `resolves(domain-field)`: the domain has MX, A or AAAA records.
  std::optional<Condition> CallFlag(const AstCondition& c, Stage stage) {
    if (c.left.text != "resolves") {
      Error("PL0704", c.left.location, "unknown fact \"" + c.left.text + "()\"",
            "facts are resolves(field), field in dnsbl(\"zone\") and mx(field) in set");
      return std::nullopt;
    }
    const FieldInfo* f = DnsFactField(c.left, stage, false);
    if (f == nullptr) return std::nullopt;
    Condition out;
    out.test.field = f->field;
    out.test.op = TestOp::kResolves;
    return out;
  }

  // `field in dnsbl("zone[=d.d.d.d]")`: the client address (octets
  // reversed) or a domain is listed.
  std::optional<Condition> DnsListMembership(const AstCondition& c, Stage stage) {
    const AstOperand& list = c.right;
    if (list.arguments.size() != 1 || list.arguments[0].kind != AstOperand::Kind::kString) {
      Error("PL0704", list.location, "dnsbl() takes the list's zone in quotes, e.g. dnsbl(\"zen.example.org\")");
      return std::nullopt;
    }
    const std::string& spec = list.arguments[0].text;
    size_t equals = spec.find('=');
    if (equals == 0 || spec.empty()) {
      Error("PL0704", list.location, "dnsbl() needs a zone");
      return std::nullopt;
    }
    if (equals != std::string::npos) {
      if (std::string problem = mail::DnsListFilterError(spec.substr(equals + 1)); !problem.empty()) {
        Error("PL0704", list.location, "bad DNS list answer filter in \"" + spec + "\": " + problem);
        return std::nullopt;
      }
    }
    AstOperand field = c.left;
    AstOperand call{AstOperand::Kind::kCall, "dnsbl", {field}, c.left.location};
    const FieldInfo* f = DnsFactField(call, stage, true);
    if (f == nullptr) return std::nullopt;
    Condition out;
    out.test.field = f->field;
    out.test.op = TestOp::kListed;
    out.test.value = spec;
    return NegatedIfNotIn(c, std::move(out));
  }

  std::optional<Condition> Membership(const AstCondition& c, Stage stage) {
    if (c.right.kind == AstOperand::Kind::kCall && c.right.text == "dnsbl") return DnsListMembership(c, stage);
    // `mx(domain-field) in set`: a mail exchanger of the domain is in it.
    bool mx = c.left.kind == AstOperand::Kind::kCall && c.left.text == "mx";
    const FieldInfo* f = mx ? DnsFactField(c.left, stage, false) : FieldOf(c.left, stage);
    if (f == nullptr) return std::nullopt;
    if (f->type == Type::kBool || f->type == Type::kNumber) {
      Error("PL0704", c.left.location, "\"" + c.left.text + "\" cannot be in a set");
      return std::nullopt;
    }
    Condition out;
    out.test.field = f->field;
    out.test.op = mx ? TestOp::kMxIn : TestOp::kIn;
    const AstOperand& r = c.right;
    if (r.kind == AstOperand::Kind::kTable) {
      out.test.value = r.text;
      AddTable(r.text);
    } else if (r.kind == AstOperand::Kind::kParam) {
      // `in $mydestination`: the parameter's elements as an anonymous set.
      std::string reference = "set:" + r.text;
      if (!ir_->sets.count(reference)) {
        PolicyIr::Set set;
        set.kind = f->type == Type::kIp       ? PolicyIr::Set::Kind::kCidr
                   : f->type == Type::kDomain ? PolicyIr::Set::Kind::kDomains
                                              : PolicyIr::Set::Kind::kAddresses;
        for (const std::string& v : ParameterItems(r.text, r.location)) {
          std::string error;
          if (v.find(':') != std::string::npos &&
              !(set.kind == PolicyIr::Set::Kind::kCidr && mail::ParseCidrBlock(v, &error))) {
            Error("PL0712", r.location, r.text + " contains table " + v + ", which a set cannot hold",
                  "test `in " + v + "` as well");
            continue;
          }
          if (set.kind == PolicyIr::Set::Kind::kCidr && !mail::ParseCidrBlock(v, &error)) continue;
          set.items.push_back(set.kind == PolicyIr::Set::Kind::kCidr ? v : ToLower(v));
        }
        ir_->sets[reference] = std::move(set);
        AddTable(reference);
      }
      out.test.value = reference;
    } else if (r.kind == AstOperand::Kind::kPath || r.kind == AstOperand::Kind::kName) {
      auto it = known_sets_.find(r.text);
      if (it == known_sets_.end()) {
        std::vector<std::string_view> names;
        for (const auto& [name, ref] : known_sets_) names.push_back(name);
        std::string suggestion = Suggest(r.text, names);
        Error("PL0702", r.location, "undefined set \"" + r.text + "\"",
              suggestion.empty() ? "define it: set " + r.text + " = domains { ... }"
                                 : "did you mean \"" + suggestion + "\"?");
        return std::nullopt;
      }
      out.test.value = it->second;
    } else {
      Error("PL0704", r.location, "expected a set, a $parameter or a table after `in`");
      return std::nullopt;
    }
    return NegatedIfNotIn(c, std::move(out));
  }

  std::optional<Condition> Compare(const AstCondition& c, Stage stage) {
    Condition out;
    static const std::map<std::string, TestOp> kOps = {{"==", TestOp::kEq}, {"!=", TestOp::kNe}, {"<", TestOp::kLt},
                                                       {"<=", TestOp::kLe}, {">", TestOp::kGt},  {">=", TestOp::kGe}};
    out.test.op = kOps.at(c.comparison);
    std::optional<bool> is_header = HeaderOperand(c.left, stage, &out.test);
    if (!is_header) return std::nullopt;
    if (!*is_header) {
      const FieldInfo* f = FieldOf(c.left, stage);
      if (f == nullptr) return std::nullopt;
      out.test.field = f->field;
      if (f->type == Type::kNumber) {
        if (c.right.kind != AstOperand::Kind::kNumber) {
          Error("PL0704", c.right.location, "\"" + c.left.text + "\" is a number; compare it with a number");
          return std::nullopt;
        }
        auto n = ParseDecimal(c.right.text);
        if (!n) {
          Error("PL0704", c.right.location, "number " + c.right.text + " is too large");
          return std::nullopt;
        }
        out.test.number = *n;
        return out;
      }
      if (f->type == Type::kBool) {
        Error("PL0704", c.left.location, "\"" + c.left.text + "\" is true or false; test it alone, or with not");
        return std::nullopt;
      }
    }
    if (out.test.op != TestOp::kEq && out.test.op != TestOp::kNe) {
      Error("PL0704", c.location, "only == and != compare text");
      return std::nullopt;
    }
    if (c.right.kind != AstOperand::Kind::kString && c.right.kind != AstOperand::Kind::kCidr &&
        c.right.kind != AstOperand::Kind::kNumber) {
      Error("PL0704", c.right.location, "compare text with a \"quoted\" string");
      return std::nullopt;
    }
    out.test.value = c.right.text;
    return out;
  }

  std::optional<Condition> Match(const AstCondition& c, Stage stage) {
    Condition out;
    out.test.op = TestOp::kMatch;
    std::optional<bool> is_header = HeaderOperand(c.left, stage, &out.test);
    if (!is_header) return std::nullopt;
    if (!*is_header) {
      const FieldInfo* f = FieldOf(c.left, stage);
      if (f == nullptr) return std::nullopt;
      if (f->type == Type::kBool || f->type == Type::kNumber) {
        Error("PL0704", c.left.location, "\"" + c.left.text + "\" is not text; it cannot match a pattern");
        return std::nullopt;
      }
      out.test.field = f->field;
    }
    size_t close = c.regex.rfind('/');
    out.test.value = c.regex.substr(1, close - 1);
    out.test.flags = c.regex.substr(close + 1);
    mail::RegexpFlags flags;
    flags.caseless = out.test.flags.find('i') != std::string::npos;
    for (char f : out.test.flags) {
      if (std::string_view("ixms").find(f) == std::string_view::npos) {
        Error("PL0708", c.location, std::string("unknown pattern flag '") + f + "'", "flags are i, x, m and s");
        return std::nullopt;
      }
    }
    auto compiled = mail::Regexp::Compile(out.test.value, flags);
    if (!compiled.ok()) {
      Error("PL0708", c.location, "bad regular expression " + c.regex + ": " + compiled.status().message());
      return std::nullopt;
    }
    return out;
  }

  std::optional<Condition> Rate(const AstCondition& c, Stage stage) {
    if (c.left.kind != AstOperand::Kind::kCall || c.left.text != "rate" || c.left.arguments.size() != 1) {
      Error("PL0704", c.left.location, "a limit per time unit applies to rate(field)");
      return std::nullopt;
    }
    const FieldInfo* key = FieldOf(c.left.arguments[0], stage);
    if (key == nullptr) return std::nullopt;
    Condition out;
    out.test.field = Field::kRate;
    out.test.op = TestOp::kGt;
    out.test.header = std::string(mail::FieldName(key->field));
    out.test.number = c.number;
    out.test.window = c.time_unit == "second" ? 1 : c.time_unit == "minute" ? 60 : c.time_unit == "hour" ? 3600 : 86400;
    return out;
  }

  void AddRule(Stage stage, const AstRule& rule, RestrictionList* list) {
    auto lowered = std::make_shared<Rule>();
    const AstAction& a = rule.action;
    using Kind = RuleAction::Kind;
    static const std::map<std::string, Kind> kVerbs = {
        {"accept", Kind::kAccept},     {"reject", Kind::kReject},
        {"defer", Kind::kDefer},       {"discard", Kind::kDiscard},
        {"hold", Kind::kHold},         {"warn", Kind::kWarn},
        {"redirect", Kind::kRedirect}, {"add_header", Kind::kAddHeader},
        {"route", Kind::kRoute},       {"policy_service", Kind::kPolicy}};
    lowered->action.kind = kVerbs.at(a.verb);
    Kind kind = lowered->action.kind;
    bool early = stage == Stage::kConnect || stage == Stage::kHelo;
    if (early && (kind == Kind::kDiscard || kind == Kind::kHold || kind == Kind::kRedirect ||
                  kind == Kind::kAddHeader || kind == Kind::kRoute)) {
      Error("PL0706", a.location, "\"" + a.verb + "\" acts on a message; there is none at stage " + StageName(stage));
      return;
    }
    if (kind == Kind::kRoute && stage != Stage::kRcpt) {
      Error("PL0706", a.location, "route applies to a recipient: use it at stage rcpt");
      return;
    }
    if (kind == Kind::kPolicy) {
      if (stage == Stage::kEndOfData) {
        Error("PL0706", a.location, "policy servers are not asked at stage eom", "ask it at stage rcpt or data");
        return;
      }
      if (!StartsWith(a.argument, "inet:") && !StartsWith(a.argument, "unix:")) {
        Error("PL0716", a.location,
              "policy_service needs \"inet:host:port\" or \"unix:path\", not \"" + a.argument + "\"");
        return;
      }
    }
    if (kind == Kind::kReject || kind == Kind::kDefer) {
      bool reject = kind == Kind::kReject;
      int code = a.code != 0 ? a.code : (reject ? 554 : 451);
      if ((reject && (code < 500 || code > 599)) || (!reject && (code < 400 || code > 499))) {
        Error("PL0709", a.location,
              a.verb + " needs a " + (reject ? "5xx" : "4xx") + " reply code, not " + std::to_string(code));
        return;
      }
      std::string status = a.status.empty() ? std::string(reject ? "5" : "4") + ".7.1" : a.status;
      if (status[0] != std::to_string(code)[0]) {
        Error("PL0709", a.location, "status " + status + " does not match reply code " + std::to_string(code));
        return;
      }
      std::string text =
          a.text.empty() ? (reject ? "<{name}>: {class} rejected: Access denied" : "Try again later") : a.text;
      lowered->action.reply = std::to_string(code) + " " + status + " " + text;
    } else {
      lowered->action.argument = a.argument;
      if (kind == Kind::kAddHeader) lowered->action.argument = a.argument + ": " + a.argument2;
      if (kind == Kind::kHold || kind == Kind::kWarn) {
        if (lowered->action.argument.empty()) lowered->action.argument = a.verb;
      }
    }
    if (rule.condition) {
      auto condition = Lower(*rule.condition, stage);
      if (!condition) return;
      lowered->condition = std::move(*condition);
    }
    if (lowered->condition && Contradictory(*lowered->condition)) {
      diagnostics_->Warning("PL0715", rule.location, "this rule's condition can never be true",
                            "it requires a field to have two incompatible values at once");
    }
    // A deciding rule whose condition an earlier deciding rule of the stage
    // already had never decides anything.
    std::string key = rule.condition ? Describe(*lowered->condition) : "";
    bool deciding = kind == Kind::kAccept || kind == Kind::kReject || kind == Kind::kDefer || kind == Kind::kDiscard;
    if (deciding && rule.condition) {
      auto [it, inserted] = decided_conditions_[static_cast<int>(stage)].emplace(key, rule.location.line);
      if (!inserted) {
        diagnostics_->Warning(
            "PL0710", rule.location, "this rule is unreachable",
            "the rule at line " + std::to_string(it->second) + " has the same condition and decides first");
      }
    }
    // A rule after an unconditional decision can never run.
    int s = static_cast<int>(stage);
    if (decided_[s].line > 0) {
      diagnostics_->Warning("PL0710", rule.location, "this rule is unreachable",
                            "the rule at line " + std::to_string(decided_[s].line) +
                                " decides every case before it; reorder them or add a condition");
    } else if (!rule.condition &&
               (kind == Kind::kAccept || kind == Kind::kReject || kind == Kind::kDefer || kind == Kind::kDiscard)) {
      decided_[s] = rule.location;
    }
    Restriction r;
    r.kind = RestrictionKind::kRule;
    r.rule = std::move(lowered);
    r.location = rule.location;
    list->items.push_back(std::move(r));
  }

  // A canonical text of a condition, to compare rules.
  static std::string Describe(const Condition& c) {
    switch (c.kind) {
      case Condition::Kind::kTest:
        return std::string(mail::FieldName(c.test.field)) + "(" + c.test.header + ")" + mail::TestOpName(c.test.op) +
               c.test.value + "/" + c.test.flags + "#" + std::to_string(c.test.number) + "/" +
               std::to_string(c.test.window);
      case Condition::Kind::kNot:
        return "not(" + Describe(c.children[0]) + ")";
      case Condition::Kind::kAnd:
      case Condition::Kind::kOr: {
        std::string a = Describe(c.children[0]), b = Describe(c.children[1]);
        if (b < a) std::swap(a, b);  // and/or commute
        return std::string(c.kind == Condition::Kind::kAnd ? "and(" : "or(") + a + "," + b + ")";
      }
    }
    return "";
  }

  // The tests a conjunction requires, with their polarity.
  static void Conjuncts(const Condition& c, bool positive, std::vector<std::pair<const Test*, bool>>* out) {
    if (c.kind == Condition::Kind::kTest) {
      out->emplace_back(&c.test, positive);
    } else if (c.kind == Condition::Kind::kNot) {
      if (c.children[0].kind == Condition::Kind::kTest) out->emplace_back(&c.children[0].test, !positive);
    } else if (c.kind == Condition::Kind::kAnd && positive) {
      Conjuncts(c.children[0], true, out);
      Conjuncts(c.children[1], true, out);
    }
  }

  // X and not X; a number above one bound and below another; a field
  // equal to two different texts.
  static bool Contradictory(const Condition& c) {
    std::vector<std::pair<const Test*, bool>> tests;
    Conjuncts(c, true, &tests);
    for (size_t i = 0; i < tests.size(); ++i) {
      for (size_t j = i + 1; j < tests.size(); ++j) {
        const Test& a = *tests[i].first;
        const Test& b = *tests[j].first;
        if (a.field != b.field || a.header != b.header) continue;
        bool same = a.op == b.op && a.value == b.value && a.number == b.number && a.flags == b.flags;
        if (same && tests[i].second != tests[j].second) return true;
        if (!tests[i].second || !tests[j].second) continue;
        if (a.op == TestOp::kEq && b.op == TestOp::kEq && !EqualsIgnoreCase(a.value, b.value)) return true;
        auto low = [](const Test& t) {
          return t.op == TestOp::kGt ? t.number + 1 : t.op == TestOp::kGe ? t.number : INT64_MIN;
        };
        auto high = [](const Test& t) {
          return t.op == TestOp::kLt ? t.number - 1 : t.op == TestOp::kLe ? t.number : INT64_MAX;
        };
        if (std::max(low(a), low(b)) > std::min(high(a), high(b))) return true;
      }
    }
    return false;
  }

  const PolicyLoweringOptions& options_;
  PolicyIr* ir_;
  DiagnosticSink* diagnostics_;
  std::map<std::string, std::string> known_sets_;  // name -> table reference
  SourceLocation decided_[kStageCount];
  std::map<std::string, int> decided_conditions_[kStageCount];  // condition -> line
};

}  // namespace

void LowerPolicy(const std::vector<AstFile>& files, const PolicyLoweringOptions& options, PolicyIr* ir,
                 DiagnosticSink* diagnostics) {
  Lowering(options, ir, diagnostics).Run(files);
}

}  // namespace postern::policy
