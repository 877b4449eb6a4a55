// dovecot_auth_protocol.h: the client side of Dovecot's authentication
// protocol (version 1, as Postfix's xsasl_dovecot speaks it), with no I/O.
// Lines are tab-separated and end in LF:
//
//   client: VERSION 1 1, CPID pid                       (handshake)
//   server: VERSION 1 x, MECH name flags..., SPID, CUID, COOKIE, DONE
//   client: AUTH id mech service=smtp nologin lip= rip= [secured] [resp=b64]
//   server: OK id user=...  |  CONT id b64  |  FAIL id [temp] [reason=...] [user=...]
//   client: CONT id b64                                  (a client response)
//
// Challenges and responses stay base64 as the SMTP client sent them: this
// side never decodes a credential, so none can reach a log. Every field
// the server sends is checked; a malformed line is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::sasl {

struct DovecotMechanism {
  std::string name;  // upper case, as the server lists it ("PLAIN")
  bool plaintext = false;
  bool anonymous = false;
  bool dictionary = false;
  bool active = false;
  bool forward_secrecy = false;
  bool mutual_auth = false;
  bool private_mechanism = false;  // "private": not offered to clients
};

// Reads the server's handshake, line by line, until DONE.
class DovecotHandshake {
 public:
  // One line without its LF. An error for a line that breaks the protocol
  // (a major version other than 1, a MECH without a name).
  Status AddLine(std::string_view line);
  bool done() const { return done_; }
  const std::vector<DovecotMechanism>& mechanisms() const { return mechanisms_; }

 private:
  bool version_seen_ = false;
  bool done_ = false;
  std::vector<DovecotMechanism> mechanisms_;
};

// The client's handshake.
std::string EncodeDovecotHello(int64_t pid);

struct DovecotAuthRequest {
  uint32_t id = 0;
  std::string mechanism;
  std::string service = "smtp";
  std::string local_ip;
  std::string remote_ip;
  int local_port = 0;
  int remote_port = 0;
  bool secured = false;  // the SMTP session is encrypted
  // The initial response, base64 as the client sent it (AUTH PLAIN <b64>);
  // nullopt when the client gave none, "" for "=" (empty).
  std::optional<std::string> initial_response;
};
// Fails for fields that would break the line (tabs or line ends).
Result<std::string> EncodeDovecotAuth(const DovecotAuthRequest& request);
Result<std::string> EncodeDovecotContinue(uint32_t id, std::string_view response);

struct DovecotAuthReply {
  enum class Kind { kOk, kContinue, kFail };
  Kind kind = Kind::kFail;
  uint32_t id = 0;
  std::string challenge;   // kContinue: base64, for a 334 reply
  std::string user;        // the authenticated (kOk) or attempted user
  std::string reason;      // kFail: the server's words, may be empty
  bool temporary = false;  // kFail with "temp": 454, not 535
};
Result<DovecotAuthReply> ParseDovecotAuthReply(std::string_view line);

}  // namespace postern::sasl
