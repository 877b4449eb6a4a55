// codegen.cc: see codegen.h.
#include "compiler/lower/codegen.h"

#include <map>

#include "mail/parameter_list.h"

namespace postern::lower {
namespace {

using mail::Inst;
using mail::Op;
using mail::Predicate;
using policy::RestrictionKind;

class Generator {
 public:
  Generator(const CodegenOptions& options, DiagnosticSink* diagnostics)
      : options_(options), diagnostics_(diagnostics) {}

  mail::Program Run(const policy::PolicyIr& ir) {
    program_.code.push_back(Inst{});  // 0: the trap
    Constant("");                     // constant 0: the empty string, for unused operands
    for (const auto& [name, list] : ir.classes) class_pc_[name] = EmitList(list);
    for (const auto& [value, list] : ir.value_lists) program_.value_lists.push_back({value, EmitList(list)});
    for (auto& [pc, name] : calls_) {
      auto it = class_pc_.find(name);
      if (it == class_pc_.end()) {
        diagnostics_->Error("PP0511", SourceLocation{}, "restriction class \"" + name + "\" has no definition");
        continue;
      }
      program_.code[pc].a = it->second;
    }
    for (int s = 0; s < policy::kStageCount; ++s) {
      std::vector<std::pair<uint32_t, policy::ReplyContext>> lists;
      for (const policy::StageList& sl : ir.stages[s].lists) lists.emplace_back(EmitList(sl.list), sl.context);
      program_.entry[static_cast<size_t>(s)] = Pc();
      for (const auto& [pc, context] : lists) {
        Inst run{Op::kRunList, Predicate::kNone, static_cast<uint16_t>(context), pc, 0};
        program_.code.push_back(run);
      }
      program_.code.push_back(Inst{Op::kAccept, Predicate::kNone, 0, 0, 0});
    }
    if (program_.code.size() > options_.max_instructions) {
      diagnostics_->Error("PP0510", SourceLocation{},
                          "the policy compiles to " + std::to_string(program_.code.size()) +
                              " instructions, more than the budget of " + std::to_string(options_.max_instructions));
    }
    return std::move(program_);
  }

 private:
  uint32_t Pc() const { return static_cast<uint32_t>(program_.code.size()); }

  uint32_t Constant(const std::string& text) {
    auto [it, inserted] = constants_.emplace(text, static_cast<uint32_t>(program_.constants.size()));
    if (inserted) program_.constants.push_back(text);
    return it->second;
  }

  uint32_t Table(const std::string& reference) {
    for (size_t i = 0; i < program_.tables.size(); ++i) {
      if (program_.tables[i] == reference) return static_cast<uint32_t>(i);
    }
    program_.tables.push_back(reference);
    return static_cast<uint32_t>(program_.tables.size() - 1);
  }

  uint32_t Access(const std::string& reference, mail::AccessKey key) {
    uint32_t table = Table(reference);
    for (size_t i = 0; i < program_.access.size(); ++i) {
      if (program_.access[i].table == table && program_.access[i].key == key) return static_cast<uint32_t>(i);
    }
    program_.access.push_back({table, key});
    return static_cast<uint32_t>(program_.access.size() - 1);
  }

  std::string Code(const char* parameter, const char* fallback) const {
    std::string v = options_.parameter ? options_.parameter(parameter) : "";
    return v.empty() ? fallback : v;
  }

  // "554 5.7.1 text": the enhanced code's class follows the reply code's.
  std::string Reply(const char* code_parameter, const char* fallback, const char* detail, const std::string& text) {
    std::string code = Code(code_parameter, fallback);
    return code + " " + code.substr(0, 1) + "." + detail + " " + text;
  }

  void Emit(Op op, Predicate pred = Predicate::kNone, uint32_t a = 0, uint32_t b = 0) {
    program_.code.push_back(Inst{op, pred, 0, a, b});
  }

  void EmitReplyIf(Predicate pred, const std::string& reply) { Emit(Op::kReplyIf, pred, Constant(reply)); }

  uint32_t EmitList(const policy::RestrictionList& list) {
    uint32_t start = Pc();
    Emit(Op::kListStart, Predicate::kNone, Constant(list.name));
    const std::string generic = "<{name}>: {class} rejected: Access denied";
    for (const policy::Restriction& r : list.items) {
      switch (r.kind) {
        case RestrictionKind::kPermit:
          Emit(Op::kPermit);
          break;
        case RestrictionKind::kReject:
          Emit(Op::kReply, Predicate::kNone, Constant(Reply("reject_code", "554", "7.1", generic)));
          break;
        case RestrictionKind::kDefer:
          Emit(Op::kReply, Predicate::kNone, Constant(Reply("defer_code", "450", "7.1", generic)));
          break;
        case RestrictionKind::kDeferIfPermit:
          Emit(Op::kDeferIfPermit, Predicate::kNone,
               Constant(Reply("defer_code", "450", "7.1", "<{name}>: {class} rejected: defer_if_permit requested")));
          break;
        case RestrictionKind::kDeferIfReject:
          Emit(Op::kDeferIfReject, Predicate::kNone,
               Constant(Reply("defer_code", "450", "7.1", "<{name}>: {class} rejected: defer_if_reject requested")));
          break;
        case RestrictionKind::kWarnIfReject:
          Emit(Op::kWarnIfReject);
          break;
        case RestrictionKind::kPermitMynetworks:
          Emit(Op::kPermitIf, Predicate::kMynetworks);
          break;
        case RestrictionKind::kPermitSaslAuthenticated:
          Emit(Op::kPermitIf, Predicate::kSaslAuthenticated);
          break;
        case RestrictionKind::kPermitTlsAllCerts:
          Emit(Op::kPermitIf, Predicate::kTlsClientCertificate);
          break;
        case RestrictionKind::kRejectPlaintextSession:
          EmitReplyIf(Predicate::kPlaintext,
                      Reply("plaintext_reject_code", "450", "7.1", "Session encryption is required"));
          break;
        case RestrictionKind::kPermitAuthDestination:
          Emit(Op::kPermitIf, Predicate::kAuthDestination);
          break;
        case RestrictionKind::kRejectUnauthDestination:
          EmitReplyIf(Predicate::kNotAuthDestination,
                      Reply("relay_domains_reject_code", "554", "7.1", "<{recipient}>: Relay access denied"));
          break;
        case RestrictionKind::kDeferUnauthDestination: {
          // Postfix defers with relay_domains_reject_code made temporary:
          // 554 becomes 454 (measured against Postfix 3.7).
          std::string code = Code("relay_domains_reject_code", "554");
          code[0] = '4';
          EmitReplyIf(Predicate::kNotAuthDestination, code + " 4.7.1 <{recipient}>: Relay access denied");
          break;
        }
        case RestrictionKind::kRejectUnauthPipelining:
          EmitReplyIf(Predicate::kUnauthPipelining,
                      "503 5.5.0 <{name}>: {class} rejected: Improper use of SMTP command pipelining");
          break;
        case RestrictionKind::kRejectUnlistedRecipient:
          EmitReplyIf(Predicate::kUnlistedRecipient, "");  // the resolver's reply
          break;
        case RestrictionKind::kRejectUnlistedSender:
          EmitReplyIf(Predicate::kUnlistedSender, "");
          break;
        case RestrictionKind::kRejectNonFqdnHelo:
          EmitReplyIf(Predicate::kNonFqdnHelo, Reply("non_fqdn_reject_code", "504", "5.2",
                                                     "<{helo}>: Helo command rejected: need fully-qualified hostname"));
          break;
        case RestrictionKind::kRejectInvalidHelo:
          EmitReplyIf(Predicate::kInvalidHelo, Reply("invalid_hostname_reject_code", "501", "5.2",
                                                     "<{helo}>: Helo command rejected: Invalid name"));
          break;
        case RestrictionKind::kRejectNonFqdnSender:
          EmitReplyIf(Predicate::kNonFqdnSender,
                      Reply("non_fqdn_reject_code", "504", "5.2",
                            "<{sender}>: Sender address rejected: need fully-qualified address"));
          break;
        case RestrictionKind::kRejectNonFqdnRecipient:
          EmitReplyIf(Predicate::kNonFqdnRecipient,
                      Reply("non_fqdn_reject_code", "504", "5.2",
                            "<{recipient}>: Recipient address rejected: need fully-qualified address"));
          break;
        case RestrictionKind::kRejectUnknownSenderDomain:
          EmitReplyIf(Predicate::kUnknownSenderDomain, Reply("unknown_address_reject_code", "450", "1.8",
                                                             "<{sender}>: Sender address rejected: Domain not found"));
          break;
        case RestrictionKind::kRejectUnknownRecipientDomain:
          EmitReplyIf(Predicate::kUnknownRecipientDomain,
                      Reply("unknown_address_reject_code", "450", "1.2",
                            "<{recipient}>: Recipient address rejected: Domain not found"));
          break;
        case RestrictionKind::kRejectUnknownClientHostname:
          EmitReplyIf(Predicate::kUnknownClientHostname,
                      Reply("unknown_client_reject_code", "450", "7.25",
                            "Client host rejected: cannot find your hostname, [{client_address}]"));
          break;
        case RestrictionKind::kRejectUnknownReverseClientHostname:
          EmitReplyIf(Predicate::kUnknownReverseClientHostname,
                      Reply("unknown_client_reject_code", "450", "7.25",
                            "Client host rejected: cannot find your reverse hostname, [{client_address}]"));
          break;
        case RestrictionKind::kRejectRblClient:
          EmitDnsList(r.argument, mail::RblTarget::kClientAddress, "Client host");
          break;
        case RestrictionKind::kRejectRhsblClient:
          EmitDnsList(r.argument, mail::RblTarget::kClientName, "Client host");
          break;
        case RestrictionKind::kRejectRhsblReverseClient:
          EmitDnsList(r.argument, mail::RblTarget::kReverseClientName, "Unverified Client host");
          break;
        case RestrictionKind::kRejectRhsblHelo:
          EmitDnsList(r.argument, mail::RblTarget::kHelo, "Helo command");
          break;
        case RestrictionKind::kRejectRhsblSender:
          EmitDnsList(r.argument, mail::RblTarget::kSender, "Sender address");
          break;
        case RestrictionKind::kRejectRhsblRecipient:
          EmitDnsList(r.argument, mail::RblTarget::kRecipient, "Recipient address");
          break;
        case RestrictionKind::kRejectMultiRecipientBounce:
          EmitReplyIf(Predicate::kMultiRecipientBounce, Reply("multi_recipient_bounce_reject_code", "550", "5.3",
                                                              "<{name}>: {class} rejected: Multi-recipient bounce"));
          break;
        case RestrictionKind::kPermitDnswlClient:
          EmitDnsWhitelist(r.argument, mail::RblTarget::kClientAddress, "{client_address}");
          break;
        case RestrictionKind::kPermitRhswlClient:
          EmitDnsWhitelist(r.argument, mail::RblTarget::kClientName, "{client_name}");
          break;
        case RestrictionKind::kCheckPolicyService:
          Emit(Op::kPolicy, Predicate::kNone, Constant(r.argument));
          break;
        case RestrictionKind::kRejectUnknownHeloHostname:
          EmitReplyIf(Predicate::kUnknownHeloHostname, Reply("unknown_hostname_reject_code", "450", "7.1",
                                                             "<{helo}>: Helo command rejected: Host not found"));
          break;
        case RestrictionKind::kCheckClientAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kClient));
          break;
        case RestrictionKind::kCheckReverseClientHostnameAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kReverseClient));
          break;
        case RestrictionKind::kCheckHeloAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kHelo));
          break;
        case RestrictionKind::kCheckSenderAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kSender));
          break;
        case RestrictionKind::kCheckRecipientAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kRecipient));
          break;
        case RestrictionKind::kCheckSaslAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kSasl));
          break;
        case RestrictionKind::kCheckCcertAccess:
          Emit(Op::kAccess, Predicate::kNone, Access(r.argument, mail::AccessKey::kCcert));
          break;
        case RestrictionKind::kPermitTlsClientcerts:
          Emit(Op::kPermitIf, Predicate::kListedClientCertificate);
          break;
        case RestrictionKind::kSleep:
          program_.code.push_back(
              Inst{Op::kSleep, Predicate::kNone, 0, static_cast<uint32_t>(std::stoul(r.argument)), 0});
          break;
        case RestrictionKind::kCheckClientAAccess:
        case RestrictionKind::kCheckClientMxAccess:
        case RestrictionKind::kCheckClientNsAccess:
        case RestrictionKind::kCheckReverseClientHostnameAAccess:
        case RestrictionKind::kCheckReverseClientHostnameMxAccess:
        case RestrictionKind::kCheckReverseClientHostnameNsAccess:
        case RestrictionKind::kCheckHeloAAccess:
        case RestrictionKind::kCheckHeloMxAccess:
        case RestrictionKind::kCheckHeloNsAccess:
        case RestrictionKind::kCheckSenderAAccess:
        case RestrictionKind::kCheckSenderMxAccess:
        case RestrictionKind::kCheckSenderNsAccess:
        case RestrictionKind::kCheckRecipientAAccess:
        case RestrictionKind::kCheckRecipientMxAccess:
        case RestrictionKind::kCheckRecipientNsAccess:
          EmitServerAccess(r);
          break;
        // The replies name the login (the VM's): "553 5.7.1 <sender>: Sender
        // address rejected: not owned by user fred" or "...: not logged in".
        case RestrictionKind::kRejectSenderLoginMismatch:
          EmitReplyIf(Predicate::kLoginMismatch, "");
          EmitReplyIf(Predicate::kNotLoggedIn, "");
          break;
        case RestrictionKind::kRejectAuthenticatedSenderLoginMismatch:
          EmitReplyIf(Predicate::kLoginMismatch, "");
          break;
        case RestrictionKind::kRejectKnownSenderLoginMismatch:
          EmitReplyIf(Predicate::kKnownLoginMismatch, "");
          EmitReplyIf(Predicate::kNotLoggedIn, "");
          break;
        case RestrictionKind::kRejectUnauthenticatedSenderLoginMismatch:
          EmitReplyIf(Predicate::kNotLoggedIn, "");
          break;
        case RestrictionKind::kRejectUnverifiedRecipient:
          EmitReplyIf(Predicate::kUnverifiedRecipient, "");  // the reply says what verification found
          break;
        case RestrictionKind::kRejectUnverifiedSender:
          EmitReplyIf(Predicate::kUnverifiedSender, "");
          break;
        case RestrictionKind::kClass:
          calls_.emplace_back(Pc(), r.argument);
          Emit(Op::kCall);
          break;
        case RestrictionKind::kRule:
          EmitRule(*r.rule);
          break;
        case RestrictionKind::kHeaderChecks:
        case RestrictionKind::kBodyChecks: {
          // The tables in a row, so one instruction names them all.
          std::vector<std::string> tables = mail::SplitParameterList(r.argument).value_or(std::vector<std::string>{});
          auto first = static_cast<uint32_t>(program_.tables.size());
          for (const std::string& t : tables) program_.tables.push_back(t);
          uint16_t body = r.kind == RestrictionKind::kBodyChecks ? 1 : 0;
          program_.code.push_back(
              Inst{Op::kContentChecks, Predicate::kNone, body, first, static_cast<uint32_t>(tables.size())});
          break;
        }
      }
    }
    Emit(Op::kReturn);
    return start;
  }

  // reject_rbl_client and reject_rhsbl_*: "zone[=d.d.d.d]" asked about
  // `target`; the reply (default_rbl_reply, rbl_reply_maps) is composed
  // at run time, with `rbl_class` as $rbl_class.
  void EmitDnsList(const std::string& argument, mail::RblTarget target, const std::string& rbl_class) {
    program_.code.push_back(
        Inst{Op::kRbl, Predicate::kNone, static_cast<uint16_t>(target), Constant(argument), Constant(rbl_class)});
  }

  // check_*_{a,mx,ns}_access: the access spec of its subject and table,
  // the hosts in the flags.
  void EmitServerAccess(const policy::Restriction& r) {
    policy::ServerAccess server = *policy::ServerAccessOf(r.kind);
    program_.code.push_back(Inst{Op::kServerAccess, Predicate::kNone, static_cast<uint16_t>(server.record),
                                 Access(r.argument, server.subject), 0});
  }

  // permit_dnswl_client and permit_rhswl_client: "zone[=d.d.d.d]" asked
  // about `target`; what a failed lookup defers with (when the stage would
  // reject), as Postfix words it.
  void EmitDnsWhitelist(const std::string& argument, mail::RblTarget target, const std::string& what) {
    std::string reply = "450 4.7.1 <" + what + ">: Client host rejected: Service unavailable";
    program_.code.push_back(
        Inst{Op::kDnswl, Predicate::kNone, static_cast<uint16_t>(target), Constant(argument), Constant(reply)});
  }

  // A rule: its condition as forward jumps past the action when false.
  void EmitRule(const policy::Rule& rule) {
    std::vector<uint32_t> skip;
    if (rule.condition) EmitJumpIf(*rule.condition, false, &skip);
    using Kind = policy::RuleAction::Kind;
    const policy::RuleAction& a = rule.action;
    switch (a.kind) {
      case Kind::kAccept:
        Emit(Op::kPermit);
        break;
      case Kind::kReject:
      case Kind::kDefer:
        Emit(Op::kReply, Predicate::kNone, Constant(a.reply));
        break;
      case Kind::kDiscard:
        EmitAction(mail::ActionKind::kDiscard, a.argument);
        break;
      case Kind::kHold:
        EmitAction(mail::ActionKind::kHold, a.argument);
        break;
      case Kind::kWarn:
        EmitAction(mail::ActionKind::kWarn, a.argument);
        break;
      case Kind::kRedirect:
        EmitAction(mail::ActionKind::kRedirect, a.argument);
        break;
      case Kind::kAddHeader:
        EmitAction(mail::ActionKind::kAddHeader, a.argument);
        break;
      case Kind::kRoute:
        EmitAction(mail::ActionKind::kRoute, a.argument);
        break;
      case Kind::kPolicy:
        Emit(Op::kPolicy, Predicate::kNone, Constant(a.argument));
        break;
    }
    for (uint32_t pc : skip) program_.code[pc].b = Pc();
  }

  void EmitAction(mail::ActionKind kind, const std::string& argument) {
    Emit(Op::kAction, Predicate::kNone, static_cast<uint32_t>(kind), Constant(argument));
  }

  // Emits code that jumps (to a pc patched later through `patch`) when the
  // condition equals `sense`, and falls through otherwise. Short-circuit,
  // forward jumps only.
  void EmitJumpIf(const policy::Condition& c, bool sense, std::vector<uint32_t>* patch) {
    using Kind = policy::Condition::Kind;
    switch (c.kind) {
      case Kind::kTest: {
        patch->push_back(Pc());
        program_.code.push_back(
            Inst{Op::kTest, Predicate::kNone, static_cast<uint16_t>(sense ? 1 : 0), Test(c.test), 0});
        break;
      }
      case Kind::kNot:
        EmitJumpIf(c.children[0], !sense, patch);
        break;
      case Kind::kAnd:
      case Kind::kOr: {
        // a and b jumps-if-false when either is false; a or b jumps-if-true
        // when either is true. The other senses need a local skip.
        bool either = (c.kind == Kind::kAnd) != sense;
        if (either) {
          EmitJumpIf(c.children[0], sense, patch);
          EmitJumpIf(c.children[1], sense, patch);
        } else {
          std::vector<uint32_t> skip;
          EmitJumpIf(c.children[0], !sense, &skip);
          EmitJumpIf(c.children[1], sense, patch);
          for (uint32_t pc : skip) program_.code[pc].b = Pc();
        }
        break;
      }
    }
  }

  uint32_t Test(const policy::Test& t) {
    mail::TestSpec spec;
    spec.field = t.field;
    spec.op = t.op;
    spec.number = t.number;
    spec.window = t.window;
    spec.header = Constant(t.header);
    if (t.op == mail::TestOp::kIn || t.op == mail::TestOp::kMxIn) {
      spec.table = Table(t.value);
    } else {
      spec.value = Constant(t.value);
      spec.flags = Constant(t.flags);
    }
    program_.tests.push_back(spec);
    return static_cast<uint32_t>(program_.tests.size() - 1);
  }

  const CodegenOptions& options_;
  DiagnosticSink* diagnostics_;
  mail::Program program_;
  std::map<std::string, uint32_t> constants_;
  std::map<std::string, uint32_t> class_pc_;
  std::vector<std::pair<uint32_t, std::string>> calls_;
};

}  // namespace

mail::Program Codegen(const policy::PolicyIr& ir, const CodegenOptions& options, DiagnosticSink* diagnostics) {
  return Generator(options, diagnostics).Run(ir);
}

}  // namespace postern::lower
