// policy_program.cc: see policy_program.h.
#include "mail/policy_program.h"

#include "util/bytes.h"

namespace postern::mail {
namespace {

constexpr std::string_view kMagic = "PSTRNPRG";
constexpr uint32_t kVersion = 1;

bool HasOperandA(Op op) {
  switch (op) {
    case Op::kRunList:
    case Op::kListStart:
    case Op::kCall:
    case Op::kReply:
    case Op::kDeferIfPermit:
    case Op::kDeferIfReject:
    case Op::kReplyIf:
    case Op::kAccess:
    case Op::kRbl:
    case Op::kTest:
    case Op::kPolicy:
    case Op::kDnswl:
    case Op::kServerAccess:
      return true;
    default:
      return false;
  }
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

const char* OpName(Op op) {
  // A switch, so that an opcode without a name does not compile (-Wswitch).
  switch (op) {
    case Op::kFail:
      return "fail";
    case Op::kAccept:
      return "accept";
    case Op::kRunList:
      return "run_list";
    case Op::kListStart:
      return "list_start";
    case Op::kReturn:
      return "return";
    case Op::kCall:
      return "call";
    case Op::kPermit:
      return "permit";
    case Op::kReply:
      return "reply";
    case Op::kDeferIfPermit:
      return "defer_if_permit";
    case Op::kDeferIfReject:
      return "defer_if_reject";
    case Op::kWarnIfReject:
      return "warn_if_reject";
    case Op::kPermitIf:
      return "permit_if";
    case Op::kReplyIf:
      return "reply_if";
    case Op::kAccess:
      return "access";
    case Op::kRbl:
      return "rbl";
    case Op::kTest:
      return "test";
    case Op::kAction:
      return "action";
    case Op::kContentChecks:
      return "content_checks";
    case Op::kPolicy:
      return "policy";
    case Op::kDnswl:
      return "dnswl";
    case Op::kServerAccess:
      return "server_access";
    case Op::kSleep:
      return "sleep";
  }
  return "?";
}

const char* ServerRecordName(ServerRecord record) {
  switch (record) {
    case ServerRecord::kA:
      return "a";
    case ServerRecord::kMx:
      return "mx";
    case ServerRecord::kNs:
      return "ns";
  }
  return "?";
}

const char* PredicateName(Predicate p) {
  static const char* const kNames[] = {"none",
                                       "mynetworks",
                                       "sasl_authenticated",
                                       "tls_client_certificate",
                                       "plaintext",
                                       "auth_destination",
                                       "not_auth_destination",
                                       "unauth_pipelining",
                                       "unlisted_recipient",
                                       "unlisted_sender",
                                       "non_fqdn_helo",
                                       "invalid_helo",
                                       "non_fqdn_sender",
                                       "non_fqdn_recipient",
                                       "unknown_sender_domain",
                                       "unknown_recipient_domain",
                                       "unknown_client_hostname",
                                       "unknown_reverse_client_hostname",
                                       "login_mismatch",
                                       "known_login_mismatch",
                                       "not_logged_in",
                                       "unknown_helo_hostname",
                                       "multi_recipient_bounce",
                                       "listed_client_certificate",
                                       "unverified_recipient",
                                       "unverified_sender"};
  static_assert(std::size(kNames) == kPredicateCount, "a predicate without a name");
  auto i = static_cast<size_t>(p);
  return i < std::size(kNames) ? kNames[i] : "?";
}

const char* FieldName(Field field) {
  static const char* const kNames[] = {"client.address",
                                       "client.name",
                                       "client.reverse_name",
                                       "helo",
                                       "sender",
                                       "sender.domain",
                                       "sender.local",
                                       "rcpt",
                                       "rcpt.domain",
                                       "rcpt.local",
                                       "rcpt.extension",
                                       "sasl.authenticated",
                                       "sasl.username",
                                       "tls",
                                       "tls.client_certificate",
                                       "size",
                                       "rcpt.count",
                                       "header",
                                       "rate"};
  auto i = static_cast<size_t>(field);
  return i < std::size(kNames) ? kNames[i] : "?";
}

const char* TestOpName(TestOp op) {
  static const char* const kNames[] = {
      "true", "in", "==", "!=", "<", "<=", ">", ">=", "~", "in dnsbl", "resolves", "mx in"};
  auto i = static_cast<size_t>(op);
  return i < std::size(kNames) ? kNames[i] : "?";
}

const char* ActionKindName(ActionKind kind) {
  static const char* const kNames[] = {"hold", "warn", "redirect", "add_header", "route", "discard"};
  static_assert(std::size(kNames) == kActionKindCount, "an action without a name");
  auto i = static_cast<size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "?";
}

const char* AccessKeyName(AccessKey key) {
  static const char* const kNames[] = {"client", "reverse_client", "helo", "sender", "recipient", "sasl", "ccert"};
  auto i = static_cast<size_t>(key);
  return i < std::size(kNames) ? kNames[i] : "?";
}

std::string EncodeProgram(const Program& p) {
  ByteWriter w;
  w.PutRaw(kMagic);
  w.PutU32(kVersion);
  w.PutU32(static_cast<uint32_t>(p.code.size()));
  for (const Inst& i : p.code) {
    w.PutU8(static_cast<uint8_t>(i.op));
    w.PutU8(static_cast<uint8_t>(i.pred));
    w.PutU32(i.flags);
    w.PutU32(i.a);
    w.PutU32(i.b);
  }
  w.PutU32(static_cast<uint32_t>(p.constants.size()));
  for (const std::string& c : p.constants) w.PutString(c);
  w.PutU32(static_cast<uint32_t>(p.tables.size()));
  for (const std::string& t : p.tables) w.PutString(t);
  w.PutU32(static_cast<uint32_t>(p.access.size()));
  for (const AccessSpec& a : p.access) {
    w.PutU32(a.table);
    w.PutU8(static_cast<uint8_t>(a.key));
  }
  w.PutU32(static_cast<uint32_t>(p.value_lists.size()));
  for (const ValueList& v : p.value_lists) {
    w.PutString(v.value);
    w.PutU32(v.pc);
  }
  w.PutU32(static_cast<uint32_t>(p.tests.size()));
  for (const TestSpec& t : p.tests) {
    w.PutU8(static_cast<uint8_t>(t.field));
    w.PutU8(static_cast<uint8_t>(t.op));
    w.PutU32(t.value);
    w.PutU32(t.flags);
    w.PutU32(t.header);
    w.PutU32(t.table);
    w.PutU64(static_cast<uint64_t>(t.number));
    w.PutU64(static_cast<uint64_t>(t.window));
  }
  for (uint32_t e : p.entry) w.PutU32(e);
  return w.Release();
}

Result<Program> DecodeProgram(std::string_view bytes) {
  Status corrupt = Status::Permanent("corrupt policy program");
  if (bytes.substr(0, kMagic.size()) != kMagic) return corrupt;
  ByteReader r(bytes.substr(kMagic.size()));
  uint32_t version = 0, n = 0;
  if (!r.GetU32(&version) || version != kVersion) return Status::Permanent("unsupported policy program version");
  Program p;
  if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
  p.code.resize(n);
  for (Inst& i : p.code) {
    uint8_t op = 0, pred = 0;
    uint32_t flags = 0;
    if (!r.GetU8(&op) || !r.GetU8(&pred) || !r.GetU32(&flags) || !r.GetU32(&i.a) || !r.GetU32(&i.b)) return corrupt;
    if (op >= kOpCount || pred >= kPredicateCount || flags > 0xffff) return corrupt;
    i.op = static_cast<Op>(op);
    i.pred = static_cast<Predicate>(pred);
    i.flags = static_cast<uint16_t>(flags);
  }
  if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
  p.constants.resize(n);
  for (std::string& c : p.constants) {
    if (!r.GetString(&c)) return corrupt;
  }
  if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
  p.tables.resize(n);
  for (std::string& t : p.tables) {
    if (!r.GetString(&t)) return corrupt;
  }
  if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
  p.access.resize(n);
  for (AccessSpec& a : p.access) {
    uint8_t key = 0;
    if (!r.GetU32(&a.table) || !r.GetU8(&key) || key > static_cast<uint8_t>(AccessKey::kCcert)) return corrupt;
    a.key = static_cast<AccessKey>(key);
  }
  if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
  p.value_lists.resize(n);
  for (ValueList& v : p.value_lists) {
    if (!r.GetString(&v.value) || !r.GetU32(&v.pc)) return corrupt;
  }
  if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
  p.tests.resize(n);
  for (TestSpec& t : p.tests) {
    uint64_t number = 0, window = 0;
    uint8_t field = 0, op = 0;
    if (!r.GetU8(&field) || !r.GetU8(&op) || !r.GetU32(&t.value) || !r.GetU32(&t.flags) || !r.GetU32(&t.header) ||
        !r.GetU32(&t.table) || !r.GetU64(&number) || !r.GetU64(&window) || field >= kFieldCount || op >= kTestOpCount) {
      return corrupt;
    }
    t.field = static_cast<Field>(field);
    t.op = static_cast<TestOp>(op);
    t.number = static_cast<int64_t>(number);
    t.window = static_cast<int64_t>(window);
  }
  for (uint32_t& e : p.entry) {
    if (!r.GetU32(&e)) return corrupt;
  }
  if (r.remaining() != 0) return corrupt;
  return p;
}

Status Verify(const Program& p) {
  auto bad = [](const std::string& why) { return Status::Permanent("policy program rejected: " + why); };
  const size_t size = p.code.size();
  if (size == 0 || p.code[0].op != Op::kFail) return bad("instruction 0 is not the trap");
  auto is_list = [&](uint32_t pc) { return pc < size && p.code[pc].op == Op::kListStart; };
  // Lists: kListStart, then instructions other than stage/list markers, then kReturn.
  std::vector<bool> in_list(size, false);
  for (size_t pc = 1; pc < size; ++pc) {
    if (p.code[pc].op != Op::kListStart) continue;
    size_t end = pc + 1;
    while (end < size && p.code[end].op != Op::kReturn) {
      Op op = p.code[end].op;
      if (op == Op::kListStart || op == Op::kRunList || op == Op::kAccept || op == Op::kFail) {
        return bad("list at " + std::to_string(pc) + " is not closed by return");
      }
      in_list[end] = true;
      ++end;
    }
    if (end >= size) return bad("list at " + std::to_string(pc) + " runs off the end");
    in_list[pc] = in_list[end] = true;
    pc = end;
  }
  for (size_t pc = 1; pc < size; ++pc) {
    const Inst& i = p.code[pc];
    if (HasOperandA(i.op)) {
      bool ok = true;
      switch (i.op) {
        case Op::kRunList:
        case Op::kCall:
          ok = is_list(i.a);
          break;
        case Op::kAccess:
        case Op::kServerAccess:
          ok = i.a < p.access.size() && p.access[i.a].table < p.tables.size();
          break;
        case Op::kRbl:
        case Op::kDnswl:
          ok = i.a < p.constants.size() && i.b < p.constants.size();
          break;
        case Op::kTest: {
          ok = i.a < p.tests.size();
          if (!ok) break;
          const TestSpec& t = p.tests[i.a];
          ok = t.value < p.constants.size() && t.flags < p.constants.size() && t.header < p.constants.size() &&
               (t.table == TestSpec::kNoTable || t.table < p.tables.size());
          // Forward only, and inside its list: the target is at most the list's return.
          size_t end = pc;
          while (end < size && p.code[end].op != Op::kReturn) ++end;
          ok = ok && i.b > pc && i.b <= end;
          break;
        }
        default:
          ok = i.a < p.constants.size();
      }
      if (!ok) return bad("operand out of range at " + std::to_string(pc));
    }
    if (i.op == Op::kRunList && i.flags >= kReplyContextCount) {
      return bad("bad reply context at " + std::to_string(pc));
    }
    if (i.op == Op::kContentChecks &&
        (i.b == 0 || i.a >= p.tables.size() || i.b > p.tables.size() - i.a || i.flags > 1)) {
      return bad("content checks out of range at " + std::to_string(pc));
    }
    if (i.op == Op::kServerAccess && i.flags >= kServerRecordCount) {
      return bad("bad server record type at " + std::to_string(pc));
    }
    if ((i.op == Op::kRbl || i.op == Op::kDnswl) && i.flags >= kRblTargetCount) {
      return bad("bad DNS list target at " + std::to_string(pc));
    }
    if (i.op == Op::kAction && (i.a >= kActionKindCount || i.b >= p.constants.size())) {
      return bad("action out of range at " + std::to_string(pc));
    }
    if ((i.op == Op::kPermitIf || i.op == Op::kReplyIf) && i.pred == Predicate::kNone) {
      return bad("test without a predicate at " + std::to_string(pc));
    }
    bool stage_op = i.op == Op::kRunList || i.op == Op::kAccept;
    if (stage_op == in_list[pc] && i.op != Op::kFail) return bad("instruction out of place at " + std::to_string(pc));
  }
  for (size_t s = 0; s < p.entry.size(); ++s) {
    uint32_t pc = p.entry[s];
    while (pc < size && p.code[pc].op == Op::kRunList) ++pc;
    if (pc >= size || p.code[pc].op != Op::kAccept) return bad("stage " + std::to_string(s) + " block is malformed");
  }
  for (const ValueList& v : p.value_lists) {
    if (!is_list(v.pc)) return bad("access value list does not point at a list");
  }
  return Status::Ok();
}

std::string Dump(const Program& p) {
  static const char* const kStageNames[] = {"connect", "helo", "mail", "rcpt", "data", "end-of-data"};
  std::string out;
  auto line = [&](size_t pc, const std::string& text) {
    std::string number = std::to_string(pc);
    if (number.size() < 4) number.insert(0, 4 - number.size(), '0');
    out += number + "  " + text + "\n";
  };
  for (size_t s = 0; s < p.entry.size(); ++s) {
    out += std::string("stage ") + kStageNames[s] + " -> " + std::to_string(p.entry[s]) + "\n";
  }
  for (size_t pc = 0; pc < p.code.size(); ++pc) {
    const Inst& i = p.code[pc];
    std::string text = OpName(i.op);
    text.resize(16, ' ');
    auto constant = [&](uint32_t k) { return k < p.constants.size() ? Quote(p.constants[k]) : "?"; };
    switch (i.op) {
      case Op::kRunList:
      case Op::kCall:
        text += std::to_string(i.a);
        if (i.a < p.code.size() && p.code[i.a].op == Op::kListStart) text += "  ; " + constant(p.code[i.a].a);
        break;
      case Op::kListStart:
      case Op::kReply:
      case Op::kDeferIfPermit:
      case Op::kDeferIfReject:
        text += constant(i.a);
        break;
      case Op::kPermitIf:
        text += PredicateName(i.pred);
        break;
      case Op::kReplyIf:
        text += std::string(PredicateName(i.pred)) + " " + constant(i.a);
        break;
      case Op::kAccess:
        if (i.a < p.access.size() && p.access[i.a].table < p.tables.size()) {
          text += std::string(AccessKeyName(p.access[i.a].key)) + " " + p.tables[p.access[i.a].table];
        }
        break;
      case Op::kRbl:
        text += constant(i.a) + " " + constant(i.b);
        break;
      case Op::kSleep:
        text += std::to_string(i.a);
        break;
      case Op::kServerAccess:
        if (i.a < p.access.size() && p.access[i.a].table < p.tables.size()) {
          text += std::string(AccessKeyName(p.access[i.a].key)) + " " +
                  ServerRecordName(static_cast<ServerRecord>(i.flags)) + " " + p.tables[p.access[i.a].table];
        }
        break;
      case Op::kPolicy:
        text += constant(i.a);
        break;
      case Op::kDnswl:
        text += constant(i.a) + " " + constant(i.b);
        break;
      case Op::kTest:
        if (i.a < p.tests.size()) {
          const TestSpec& t = p.tests[i.a];
          text += FieldName(t.field);
          if (t.field == Field::kHeader || t.field == Field::kRate) text += "(" + constant(t.header) + ")";
          text += std::string(" ") + TestOpName(t.op);
          if (t.table != TestSpec::kNoTable && t.table < p.tables.size()) {
            text += " " + p.tables[t.table];
          } else if (t.op == TestOp::kLt || t.op == TestOp::kLe || t.op == TestOp::kGt || t.op == TestOp::kGe) {
            text += " " + std::to_string(t.number);
            if (t.field == Field::kRate) text += " per " + std::to_string(t.window) + "s";
          } else if (t.op != TestOp::kTrue) {
            text += " " + constant(t.value);
            if (t.op == TestOp::kMatch && t.flags < p.constants.size() && !p.constants[t.flags].empty()) {
              text += " flags " + p.constants[t.flags];
            }
          }
          text += std::string((i.flags & 1) != 0 ? " ? -> " : " : -> ") + std::to_string(i.b);
        }
        break;
      case Op::kAction:
        text += std::string(ActionKindName(static_cast<ActionKind>(i.a))) + " " + constant(i.b);
        break;
      case Op::kContentChecks:
        text += (i.flags & 1) != 0 ? "body" : "header";
        for (uint32_t t = i.a; t < i.a + i.b && t < p.tables.size(); ++t) text += " " + p.tables[t];
        break;
      default:
        break;
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    line(pc, text);
  }
  for (const ValueList& v : p.value_lists) out += "value " + Quote(v.value) + " -> " + std::to_string(v.pc) + "\n";
  return out;
}

}  // namespace postern::mail
