// relay_analysis.cc: see relay_analysis.h.
#include "runtime/vm/relay_analysis.h"

#include <algorithm>
#include <map>
#include <set>

#include "mail/access_result.h"
#include "mail/network_list.h"
#include "mail/parameter_list.h"
#include "runtime/resolve/resolver.h"
#include "util/strings.h"

namespace postern::vm {
namespace {

using mail::Inst;
using mail::Op;
using mail::Predicate;

enum class Tri { kFalse, kTrue, kUnknown };

// One way a list can end, with how.
struct Outcome {
  bool pass = false;             // OK or DUNNO: the stage goes on
  bool defer_if_permit = false;  // a DEFER_IF_PERMIT was met on the way
  std::string how;               // the step that decided
};

class Analyzer {
 public:
  explicit Analyzer(std::shared_ptr<const image::Image> image)
      : image_(*image), p_(*image->program()), resolver_(std::move(image)) {
    for (std::string item : mail::SplitParameterList(image_.Text("mynetworks")).value_or(std::vector<std::string>{})) {
      std::string error;
      if (item.empty() || item.front() == '!') continue;
      if (auto block = mail::ParseCidrBlock(item, &error)) mynetworks_.push_back(*block);
    }
  }

  RelayFinding Run() {
    RelayFinding finding;
    uint32_t entry = p_.entry[3];  // rcpt
    std::vector<std::string> path;
    for (uint32_t pc = entry; pc < p_.code.size() && p_.code[pc].op == Op::kRunList; ++pc) {
      std::vector<Outcome> outcomes = List(p_.code[pc].a, 0);
      const Outcome* pass = nullptr;
      for (const Outcome& o : outcomes) {
        if (o.pass && !o.defer_if_permit && (pass == nullptr || pass->how.empty())) pass = &o;
      }
      if (pass == nullptr) return finding;  // this list always refuses such a client
      std::string name = p_.constants[p_.code[p_.code[pc].a].a];
      path.push_back(pass->how.empty() ? name + ": no restriction refuses it" : pass->how);
      // Blame the first rule that lets it through, else the last list.
      if (finding.rule.empty() || (finding.rule == "no restriction refuses it" && !pass->how.empty())) {
        finding.list = name;
        finding.rule = pass->how.empty() ? "no restriction refuses it" : pass->how;
      }
    }
    if (path.empty()) {
      path.push_back(
          "no restriction list runs at RCPT TO (smtpd_relay_restrictions and smtpd_recipient_restrictions "
          "are empty; Postfix would refuse to start)");
      finding.list = "smtpd_relay_restrictions";
      finding.rule = path.back();
    }
    finding.open = true;
    finding.path = std::move(path);
    return finding;
  }

 private:
  Tri Holds(Predicate p) const {
    switch (p) {
      case Predicate::kMynetworks:
      case Predicate::kSaslAuthenticated:
      case Predicate::kTlsClientCertificate:     // the worst client has no certificate the site trusts
      case Predicate::kListedClientCertificate:  // nor one relay_clientcerts lists
      case Predicate::kAuthDestination:
        return Tri::kFalse;
      case Predicate::kNotAuthDestination:
        return Tri::kTrue;
      case Predicate::kUnlistedRecipient:
        return Tri::kFalse;  // a remote recipient is not in a local or virtual table
      default:
        return Tri::kUnknown;
    }
  }

  // A condition of the policy language, for the worst client.
  Tri Evaluate(const mail::TestSpec& t) const {
    using mail::Field;
    if (t.field == Field::kSaslAuthenticated) return Tri::kFalse;
    if (t.field == Field::kClientAddress && t.op == mail::TestOp::kIn && t.table != mail::TestSpec::kNoTable) {
      // A set of networks all inside mynetworks cannot hold an outsider.
      auto* pattern = dynamic_cast<const mail::PatternTable*>(image_.Table(p_.tables[t.table]));
      if (pattern == nullptr) return Tri::kUnknown;
      for (const mail::PatternRule& rule : pattern->rules()) {
        if (rule.kind != mail::PatternRule::Kind::kMatch || !rule.cidr || rule.negate ||
            !InsideMynetworks(*rule.cidr)) {
          return Tri::kUnknown;
        }
      }
      return Tri::kFalse;
    }
    bool recipient_field = t.field == Field::kRecipientDomain || t.field == Field::kRecipient;
    if (recipient_field && t.op == mail::TestOp::kIn && t.table != mail::TestSpec::kNoTable) {
      // The worst recipient is outside every local, virtual and relay
      // domain: a set of such domains (or addresses in them) cannot hold it.
      const mail::LookupTable* set = image_.Table(p_.tables[t.table]);
      bool all_authorized = true;
      bool listed = set != nullptr && set->ForEachEntry([&](std::string_view key, std::string_view) {
        std::string domain(key.substr(key.rfind('@') == std::string_view::npos ? 0 : key.rfind('@') + 1));
        if (!domain.empty() && domain.front() == '.') domain = "probe" + domain;
        all_authorized = all_authorized && !domain.empty() && resolver_.IsAuthDestination("probe@" + domain);
      });
      return listed && all_authorized ? Tri::kFalse : Tri::kUnknown;
    }
    return Tri::kUnknown;
  }

  // The restriction-list outcomes of list `start` for the worst client.
  std::vector<Outcome> List(uint32_t start, int depth) {
    if (depth > mail::kMaxCallDepth) return {Outcome{false, false, ""}};
    auto memo = memo_.find(start);
    if (memo != memo_.end()) return memo->second;
    memo_[start] = {Outcome{false, false, ""}};  // a cycle refuses (nesting limit)
    const std::string& list_name = p_.constants[p_.code[start].a];
    // Paths in flight, by the pc they are at (flow only moves forward):
    // (warn the next reject, DEFER_IF_PERMIT met).
    struct Path {
      bool warn = false;
      bool dip = false;
      bool operator==(const Path& o) const { return warn == o.warn && dip == o.dip; }
    };
    std::map<uint32_t, std::vector<Path>> pending;
    pending[start + 1].push_back(Path{});
    std::vector<Outcome> out;
    auto add = [&](Outcome o) {
      for (const Outcome& e : out) {
        if (e.pass == o.pass && e.defer_if_permit == o.defer_if_permit) return;
      }
      out.push_back(std::move(o));
    };
    auto go = [&](uint32_t pc, Path path) {
      std::vector<Path>& at = pending[pc];
      if (std::find(at.begin(), at.end(), path) == at.end()) at.push_back(path);
    };
    while (!pending.empty()) {
      auto node = pending.begin();
      uint32_t pc = node->first;
      std::vector<Path> live = std::move(node->second);
      pending.erase(node);
      if (pc >= p_.code.size()) break;
      const Inst& inst = p_.code[pc];
      if (inst.op == Op::kReturn) {
        for (const Path& path : live) add(Outcome{true, path.dip, ""});
        continue;
      }
      std::string where = list_name + " #" + std::to_string(pc - start);
      for (const Path& path : live) {
        if (inst.op == Op::kTest) {
          Tri t = Evaluate(p_.tests[inst.a]);
          bool jump_when = (inst.flags & 1) != 0;
          if (t == Tri::kUnknown || (t == Tri::kTrue) == jump_when) go(inst.b, Path{false, path.dip});
          if (t == Tri::kUnknown || (t == Tri::kTrue) != jump_when) go(pc + 1, Path{false, path.dip});
          continue;
        }
        if (inst.op == Op::kWarnIfReject) {
          go(pc + 1, Path{true, path.dip});
          continue;
        }
        if (inst.op == Op::kDeferIfPermit) {
          go(pc + 1, Path{false, true});
          continue;
        }
        for (const Outcome& r : Instruction(inst, depth, where)) {
          if (r.pass && r.how.empty()) {  // undecided: next instruction
            go(pc + 1, Path{false, path.dip || r.defer_if_permit});
          } else if (r.pass) {
            add(Outcome{true, path.dip || r.defer_if_permit, r.how});
          } else if (path.warn) {
            go(pc + 1, Path{false, path.dip});  // a warning only
          } else {
            add(Outcome{false, path.dip, r.how});
          }
        }
      }
    }
    memo_[start] = out;
    return out;
  }

  // Outcomes of one instruction: {pass, how empty} means "undecided".
  std::vector<Outcome> Instruction(const Inst& inst, int depth, const std::string& where) {
    const Outcome undecided{true, false, ""};
    const Outcome refused{false, false, where};
    switch (inst.op) {
      case Op::kPermit:
        return {Outcome{true, false, where + " permit"}};
      case Op::kReply:
        return {refused};
      case Op::kPermitIf: {
        Tri t = Holds(inst.pred);
        std::string how = where + " permit_if " + mail::PredicateName(inst.pred);
        if (t == Tri::kTrue) return {Outcome{true, false, how}};
        if (t == Tri::kFalse) return {undecided};
        return {undecided, Outcome{true, false, how}};
      }
      case Op::kReplyIf: {
        Tri t = Holds(inst.pred);
        if (t == Tri::kTrue) return {refused};
        if (t == Tri::kFalse) return {undecided};
        return {undecided, refused};
      }
      case Op::kCall: {
        std::vector<Outcome> called = List(inst.a, depth + 1);
        std::vector<Outcome> out;
        for (const Outcome& c : called) {
          if (c.pass && c.how.empty()) {
            out.push_back(Outcome{true, c.defer_if_permit, ""});
          } else {
            out.push_back(Outcome{c.pass, c.defer_if_permit, c.pass ? where + " class -> " + c.how : where});
          }
        }
        return out;
      }
      case Op::kAccess:  // check_reverse_client_hostname_access: an OK is refused, as for kServerAccess
        return Access(p_.access[inst.a], depth, where,
                      /*ok_refused=*/p_.access[inst.a].key == mail::AccessKey::kReverseClient);
      case Op::kServerAccess:  // an OK is refused at run time (451 4.3.5), a DISCARD is not
        return Access(p_.access[inst.a], depth, where, /*ok_refused=*/true);
      case Op::kRbl:
        return {undecided, refused};
      case Op::kDnswl:  // Postfix ignores its OK for a recipient outside the authorized destinations
        return {undecided};
      case Op::kPolicy:  // the server may answer anything, OK too
        return {undecided, refused, Outcome{true, false, where + " (the policy server answers OK)"}};
      case Op::kAction:
        if (static_cast<mail::ActionKind>(inst.a) == mail::ActionKind::kDiscard) {
          return {Outcome{true, false, where + " discard"}};
        }
        return {undecided};
      default:  // warn_if_reject, defer_if_*: handled by the caller
        return {undecided};
    }
  }

  // Every value the table can answer for a client this analysis considers.
  std::vector<std::string> Values(const mail::AccessSpec& spec) const {
    std::vector<std::string> values;
    const mail::LookupTable* table = image_.Table(p_.tables[spec.table]);
    if (table != nullptr &&
        table->ForEachEntry([&](std::string_view, std::string_view value) { values.emplace_back(value); })) {
    } else if (auto* pattern = dynamic_cast<const mail::PatternTable*>(table)) {
      for (const mail::PatternRule& rule : pattern->rules()) {
        if (rule.kind != mail::PatternRule::Kind::kMatch) continue;
        if (rule.cidr && !rule.negate && InsideMynetworks(*rule.cidr)) continue;  // not an outsider
        values.push_back(rule.replacement);
      }
    } else if (auto* fixed = dynamic_cast<const mail::StaticTable*>(table)) {
      values.push_back(fixed->value());
    }
    return values;
  }

  bool InsideMynetworks(const mail::CidrBlock& block) const {
    for (const mail::CidrBlock& net : mynetworks_) {
      if (net.network.ipv6 == block.network.ipv6 && net.prefix_length <= block.prefix_length &&
          net.Contains(block.network)) {
        return true;
      }
    }
    return false;
  }

  // `ok_refused`: an OK value refuses (check_*_{a,mx,ns}_access,
  // check_reverse_client_hostname_access). An OK
  // from a restriction list in a value is still taken as passing (it may
  // come with a DISCARD, which Postfix lets through).
  std::vector<Outcome> Access(const mail::AccessSpec& spec, int depth, const std::string& where,
                              bool ok_refused = false) {
    const Outcome undecided{true, false, ""};
    std::vector<Outcome> out = {undecided};  // not found
    std::string table = p_.tables[spec.table];
    std::set<std::string> seen;
    for (const std::string& value : Values(spec)) {
      if (!seen.insert(value).second) continue;
      using Verb = mail::AccessResult::Verb;
      std::string how = where + " " + mail::AccessKeyName(spec.key) + " access " + table + " value \"" + value + "\"";
      switch (mail::ParseAccessResult(value).verb) {
        case Verb::kOk:
          // A recipient OK for a source-routed address is ignored, but an
          // attacker need not route: the OK stands.
          out.push_back(Outcome{!ok_refused, false, how});
          break;
        case Verb::kDiscard:
          out.push_back(Outcome{true, false, how});
          break;
        case Verb::kReject:
        case Verb::kDefer:
        case Verb::kCoded:
        case Verb::kTableReference:  // a server configuration error refuses
          out.push_back(Outcome{false, false, how});
          break;
        case Verb::kDeferIfPermit:
          out.push_back(Outcome{true, true, ""});
          break;
        case Verb::kRestrictions: {
          auto it = std::lower_bound(p_.value_lists.begin(), p_.value_lists.end(), value,
                                     [](const mail::ValueList& a, const std::string& b) { return a.value < b; });
          if (it == p_.value_lists.end() || it->value != value) break;
          for (const Outcome& o : List(it->pc, depth + 1)) {
            out.push_back(Outcome{o.pass, o.defer_if_permit,
                                  o.pass && !o.how.empty() ? how + " -> " + o.how : (o.pass ? "" : how)});
          }
          break;
        }
        default:  // DUNNO, HOLD, WARN, ...: undecided, already in `out`
          break;
      }
    }
    return out;
  }

  const image::Image& image_;
  const mail::Program& p_;
  resolve::Resolver resolver_;
  std::vector<mail::CidrBlock> mynetworks_;
  std::map<uint32_t, std::vector<Outcome>> memo_;
};

}  // namespace

RelayFinding AnalyzeRelay(std::shared_ptr<const image::Image> image) { return Analyzer(std::move(image)).Run(); }

}  // namespace postern::vm
