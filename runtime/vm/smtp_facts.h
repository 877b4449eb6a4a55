// smtp_facts.h: what the policy knows about an SMTP transaction when a
// stage runs. Filled by the daemon's session, or by `postern test` from a
// test case. Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace postern::vm {

class NetworkOracle;

struct SmtpFacts {
  std::string client_address;                   // "192.0.2.7" or "2001:db8::7"
  std::string client_name = "unknown";          // forward-confirmed name, or "unknown"
  std::string reverse_client_name = "unknown";  // PTR name, unverified
  std::string helo;
  std::string sender;  // MAIL FROM address without <>; empty is the null sender
  bool has_sender = false;
  std::string recipient;      // the RCPT TO address being checked
  std::string sasl_username;  // empty: not authenticated
  bool tls = false;
  bool tls_client_certificate = false;  // verified client certificate
  // A client certificate, verified or not (check_ccert_access,
  // permit_tls_clientcerts, a policy server's ccert_* attributes): its
  // subject's and issuer's common names, its fingerprints
  // (smtpd_tls_fingerprint_digest, "AB:CD:...").
  bool tls_client_certificate_present = false;
  std::string ccert_subject, ccert_issuer, ccert_fingerprint, ccert_pubkey_fingerprint;
  bool pipelined_without_permission = false;                 // sent ahead before PIPELINING was announced
  int64_t size = 0;                                          // SIZE= at MAIL; the message size at end of data
  int recipient_count = 0;                                   // accepted so far
  std::vector<std::pair<std::string, std::string>> headers;  // end of data: the message's headers
  // End of data: each header as received ("Subject:hi", continuation lines
  // joined with "\n"), what header_checks match as Postfix's cleanup does.
  // Empty (in `postern test` cases): "Name: value" from `headers`.
  std::vector<std::string> header_lines;
  std::vector<std::string> body_lines;  // end of data: the body, line by line
  uint64_t event = 0;                   // unique per stage evaluation, for rate counting (RateOracle)
  // What a policy server is told (check_policy_service) besides the above.
  std::string command;        // protocol_state: CONNECT, EHLO, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE
  std::string protocol_name;  // SMTP, ESMTP (ESMTPA... as the Received: header says)
  int client_port = 0;
  std::string server_address;
  int server_port = 0;
  std::string queue_id;  // once the first recipient is accepted
  std::string instance;  // one per transaction
  std::string sasl_method;
  std::string tls_protocol, tls_cipher;
  int tls_bits = 0;
  // The DNS and policy service answers of this evaluation (the
  // session's, network_answers.h); null: the VM's own oracle.
  const NetworkOracle* dns = nullptr;
};

}  // namespace postern::vm
