// sasl_client.h: the SMTP client's side of SASL authentication (RFC 4954)
// through the Cyrus SASL library, as Postfix's smtp(8) uses it: the library
// picks the mechanism from the server's list under the security options
// (smtp_sasl_security_options), and runs it with the mechanisms its
// installed plugins provide (PLAIN, LOGIN, CRAM-MD5, SCRAM...). The same
// library makes the same choice Postfix makes.
//
// The password is handed to the library only; it is never logged and is
// wiped when the client goes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::delivery {

struct SaslCredentials {
  std::string username;
  std::string password;  // a secret
};

// Postfix's security option words (noplaintext, noactive, nodictionary,
// noanonymous, mutual_auth, forward_secrecy) as Cyrus security flags; an
// error names a word that is none of them.
Result<unsigned> SaslSecurityFlags(const std::vector<std::string>& options);

// One authentication exchange with one server.
class SaslClient {
 public:
  struct Start {
    std::string mechanism;
    std::string initial_response;  // base64; "" when the mechanism sends none
  };
  virtual ~SaslClient() = default;
  // Picks a mechanism from the server's space-separated list. An error's
  // text is the library's reason ("no mechanism available").
  virtual Result<Start> Begin(std::string_view server_mechanisms) = 0;
  // The response (base64) to a server challenge (base64, from a 334 reply).
  virtual Result<std::string> Step(std::string_view challenge) = 0;
};

// A Cyrus SASL client for `server_name` (the host name, as smtp(8) passes
// it) with `flags` from SaslSecurityFlags.
Result<std::unique_ptr<SaslClient>> NewCyrusSaslClient(const std::string& server_name, SaslCredentials credentials,
                                                       unsigned flags);

}  // namespace postern::delivery
