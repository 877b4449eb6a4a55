// policy_request.cc: see policy_request.h.
#include "runtime/vm/policy_request.h"

namespace postern::vm {
namespace {

// A value on one line: a line break would end the attribute (and could
// smuggle another one in); Postfix's attribute writer never sends one.
std::string OneLine(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

}  // namespace

std::string PolicyRequest(const SmtpFacts& f, std::string_view policy_context) {
  std::string out;
  auto add = [&out](std::string_view name, std::string_view value) {
    out.append(name);
    out += '=';
    out += OneLine(value);
    out += '\n';
  };
  add("request", "smtpd_access_policy");
  add("protocol_state", f.command);
  add("protocol_name", f.protocol_name);
  add("client_address", f.client_address);
  add("client_name", f.client_name);
  add("client_port", std::to_string(f.client_port));
  add("reverse_client_name", f.reverse_client_name);
  add("server_address", f.server_address);
  add("server_port", std::to_string(f.server_port));
  add("helo_name", f.helo);
  add("sender", f.has_sender ? f.sender : "");
  add("recipient", f.recipient);
  add("recipient_count", std::to_string(f.command == "RCPT" ? 0 : f.recipient_count));
  add("queue_id", f.queue_id);
  add("instance", f.instance);
  add("size", std::to_string(f.size));
  add("etrn_domain", "");
  add("stress", "");
  add("sasl_method", f.sasl_method);
  add("sasl_username", f.sasl_username);
  add("sasl_sender", "");
  add("ccert_subject", f.ccert_subject);
  add("ccert_issuer", f.ccert_issuer);
  add("ccert_fingerprint", f.ccert_fingerprint);
  add("ccert_pubkey_fingerprint", f.ccert_pubkey_fingerprint);
  add("encryption_protocol", f.tls_protocol);
  add("encryption_cipher", f.tls_cipher);
  add("encryption_keysize", std::to_string(f.tls_bits));
  add("policy_context", policy_context);
  out += '\n';
  return out;
}

}  // namespace postern::vm
