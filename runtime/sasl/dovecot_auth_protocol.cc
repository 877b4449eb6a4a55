// dovecot_auth_protocol.cc: see dovecot_auth_protocol.h.
#include "runtime/sasl/dovecot_auth_protocol.h"

#include "util/strings.h"

namespace postern::sasl {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

bool Clean(std::string_view text) { return text.find_first_of("\t\r\n") == std::string_view::npos; }

bool ParseId(std::string_view text, uint32_t* id) {
  long long n = 0;
  if (!ParseDecimal(text, &n) || n < 0 || n > 0xffffffffLL) return false;
  *id = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

Status DovecotHandshake::AddLine(std::string_view line) {
  std::vector<std::string_view> f = Fields(line);
  if (f[0] == "VERSION") {
    if (f.size() < 3 || f[1] != "1") {
      return Status::Permanent("the authentication server speaks protocol version " +
                               std::string(f.size() > 1 ? f[1] : "?") + ", not 1");
    }
    version_seen_ = true;
  } else if (f[0] == "MECH") {
    if (f.size() < 2 || f[1].empty() || !Clean(f[1])) return Status::Permanent("MECH line without a mechanism");
    DovecotMechanism m;
    m.name = ToUpper(f[1]);
    for (size_t i = 2; i < f.size(); ++i) {
      if (f[i] == "plaintext") m.plaintext = true;
      if (f[i] == "anonymous") m.anonymous = true;
      if (f[i] == "dictionary") m.dictionary = true;
      if (f[i] == "active") m.active = true;
      if (f[i] == "forward-secrecy") m.forward_secrecy = true;
      if (f[i] == "mutual-auth") m.mutual_auth = true;
      if (f[i] == "private") m.private_mechanism = true;
    }
    mechanisms_.push_back(std::move(m));
  } else if (f[0] == "DONE") {
    if (!version_seen_) return Status::Permanent("handshake ended without VERSION");
    done_ = true;
  }
  // SPID, CUID, COOKIE and future lines: nothing a client needs.
  return Status::Ok();
}

std::string EncodeDovecotHello(int64_t pid) { return "VERSION\t1\t1\nCPID\t" + std::to_string(pid) + "\n"; }

Result<std::string> EncodeDovecotAuth(const DovecotAuthRequest& r) {
  if (r.mechanism.empty() || !Clean(r.mechanism) || !Clean(r.service) || !Clean(r.local_ip) || !Clean(r.remote_ip) ||
      (r.initial_response && !Clean(*r.initial_response))) {
    return Status::Permanent("invalid characters in an authentication request");
  }
  std::string line = "AUTH\t" + std::to_string(r.id) + "\t" + r.mechanism + "\tservice=" + r.service + "\tnologin";
  if (!r.local_ip.empty()) line += "\tlip=" + r.local_ip;
  if (!r.remote_ip.empty()) line += "\trip=" + r.remote_ip;
  if (r.local_port > 0) line += "\tlport=" + std::to_string(r.local_port);
  if (r.remote_port > 0) line += "\trport=" + std::to_string(r.remote_port);
  if (r.secured) line += "\tsecured";
  if (r.initial_response) line += "\tresp=" + *r.initial_response;
  return line + "\n";
}

Result<std::string> EncodeDovecotContinue(uint32_t id, std::string_view response) {
  if (!Clean(response)) return Status::Permanent("invalid characters in an authentication response");
  return "CONT\t" + std::to_string(id) + "\t" + std::string(response) + "\n";
}

Result<DovecotAuthReply> ParseDovecotAuthReply(std::string_view line) {
  std::vector<std::string_view> f = Fields(line);
  DovecotAuthReply reply;
  if (f.size() < 2 || !ParseId(f[1], &reply.id)) {
    return Status::Temporary("malformed reply from the authentication server");
  }
  if (f[0] == "OK") {
    reply.kind = DovecotAuthReply::Kind::kOk;
  } else if (f[0] == "CONT") {
    reply.kind = DovecotAuthReply::Kind::kContinue;
    reply.challenge = f.size() > 2 ? std::string(f[2]) : "";
    return reply;
  } else if (f[0] == "FAIL") {
    reply.kind = DovecotAuthReply::Kind::kFail;
  } else {
    return Status::Temporary("unexpected reply from the authentication server");
  }
  for (size_t i = 2; i < f.size(); ++i) {
    if (StartsWith(f[i], "user=")) reply.user = std::string(f[i].substr(5));
    if (StartsWith(f[i], "reason=")) reply.reason = std::string(f[i].substr(7));
    if (f[i] == "temp") reply.temporary = true;
  }
  if (reply.kind == DovecotAuthReply::Kind::kOk && reply.user.empty()) {
    return Status::Temporary("the authentication server accepted without naming the user");
  }
  return reply;
}

}  // namespace postern::sasl
