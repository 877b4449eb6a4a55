// session_config.h: what an SMTP session needs from an image, read once per
// image (not per connection): the smtpd parameters with Postfix's names and
// defaults, and the policy and resolver every session of that image shares.
//
// A SessionContext is immutable and shared: each session pins the one it
// started with, so a reload never changes a session in progress.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mail/domain_list.h"
#include "mail/network_list.h"
#include "runtime/image/image.h"
#include "runtime/milter/milter_types.h"
#include "runtime/resolve/resolver.h"
#include "runtime/smtp/data_decoder.h"
#include "runtime/vm/policy_vm.h"

namespace postern::session {

enum class TlsLevel { kNone, kMay, kEncrypt };

struct SessionConfig {
  std::string hostname;  // myhostname
  std::string banner;    // smtpd_banner, expanded
  std::string mail_name;
  uint64_t message_size_limit = 10240000;  // 0: none
  size_t recipient_limit = 1000;           // smtpd_recipient_limit
  // smtpd_recipient_overshoot_limit: this many 452 replies beyond the
  // recipient limit are not counted as client errors.
  int64_t recipient_overshoot_limit = 1000;
  // smtpd_junk_command_limit: beyond this many HELO, EHLO, RSET, NOOP,
  // VRFY, ETRN and XCLIENT commands, each one counts as an error (until a
  // message is accepted).
  int64_t junk_command_limit = 100;
  size_t line_length_limit = 2048;
  int soft_error_limit = 10;
  int hard_error_limit = 20;
  int64_t error_sleep_ms = 1000;  // smtpd_error_sleep_time, once soft_error_limit is reached
  int64_t timeout_seconds = 300;  // smtpd_timeout: per command, per DATA read
  smtp::BareNewline bare_newline = smtp::BareNewline::kNormalize;  // smtpd_forbid_bare_newline
  mail::NetworkList bare_newline_exclusions;                       // smtpd_forbid_bare_newline_exclusions
  bool vrfy_enabled = true;                                        // !disable_vrfy_command
  bool smtputf8 = true;                                            // smtputf8_enable
  bool helo_required = false;                                      // smtpd_helo_required
  bool forbid_unauth_pipelining = false;  // smtpd_forbid_unauth_pipelining: 554 5.5.0 and disconnect
  bool strict_smtputf8 = false;
  bool strict_rfc821_envelopes = false;  // MAIL FROM/RCPT TO need <address>           // strict_smtputf8: 8-bit
                                         // addresses need SMTPUTF8 (553 5.6.7)
  // smtpd_forbidden_commands: non-SMTP commands (a web browser on port 25)
  // that end the session; matched against the lower-cased command name.
  mail::DomainList forbidden_commands;
  bool delay_reject = true;              // smtpd_delay_reject
  TlsLevel tls_level = TlsLevel::kNone;  // smtpd_tls_security_level
  bool tls_received_header = false;
  bool tls_ask_ccert = false;                     // smtpd_tls_ask_ccert: clients are asked for a certificate
  bool tls_req_ccert = false;                     // smtpd_tls_req_ccert at level encrypt: a trusted one is required
  std::string tls_fingerprint_digest = "sha256";  // smtpd_tls_fingerprint_digest
  bool body_checks = false;                       // the policy reads body lines (body_checks)
  uint64_t body_checks_size_limit = 51200;        // of the body's first bytes (0: all of it)
  mail::NetworkList xclient_hosts;                // smtpd_authorized_xclient_hosts
  // SMTP AUTH (smtpd_sasl_auth_enable) through the authentication server at
  // sasl_path (smtpd_sasl_path: a unix socket, relative ones under
  // Postfix's queue_directory as Postfix has them, or inet:host:port).
  bool sasl_enabled = false;
  std::string sasl_path;
  bool tls_auth_only = false;              // smtpd_tls_auth_only: AUTH only after STARTTLS
  bool broken_sasl_auth_clients = false;   // also "AUTH=" in EHLO, for old Outlook
  mail::NetworkList sasl_exceptions;       // smtpd_sasl_exceptions_networks: clients EHLO offers no AUTH
  bool sasl_authenticated_header = false;  // smtpd_sasl_authenticated_header
  // smtpd_sasl_security_options and smtpd_sasl_tls_security_options
  // (noanonymous, noplaintext, nodictionary, noactive, mutual_auth,
  // forward_secrecy): which mechanisms are offered without and with TLS.
  std::vector<std::string> sasl_security_options;
  std::vector<std::string> sasl_tls_security_options;
  // content_filter (or a FILTER action): every recipient of a message
  // accepted here is routed to this transport:nexthop first (FILTER_README).
  std::string content_filter;
  // smtpd_milters, each with its milter_* settings and per-milter
  // overrides (MILTER_README); unix:path relative to queue_directory.
  std::vector<milter::MilterSettings> milters;
  // smtpd_milter_maps: milters by client address, in place of `milters`
  // ("DISABLE": none); a milter named there starts from milter_defaults.
  resolve::TableList milter_maps;
  milter::MilterSettings milter_defaults;
  std::string queue_directory;
  std::string milter_daemon_name;  // milter_macro_daemon_name ({daemon_name})
  std::string milter_v;            // milter_macro_v (v)
  // milter_macro_defaults: values of macros that have none of their own.
  std::vector<std::pair<std::string, std::string>> milter_macro_defaults;
  // Which clients' mail gets the headers cleanup(8) adds when they are
  // missing (missing_headers.h): local_header_rewrite_clients
  // (permit_inet_interfaces, permit_mynetworks, permit_sasl_authenticated,
  // static:all; client certificates and address maps are not implemented),
  // or every client with always_add_missing_headers.
  struct MissingHeaderClients {
    bool all = false;
    bool inet_interfaces = false;
    bool mynetworks = false;
    bool sasl_authenticated = false;
    bool tls_all_clientcerts = false;  // a trusted client certificate
    bool tls_clientcerts = false;      // a certificate relay_clientcerts lists
  } missing_header_clients;
  resolve::TableList relay_clientcerts;  // permit_tls_clientcerts in local_header_rewrite_clients
  mail::NetworkList mynetworks;
  std::vector<mail::IpAddress> interface_addresses;  // inet_interfaces (and proxy_interfaces)
  std::string undisclosed_recipients_header;
  // milter_header_checks: the tables that inspect each header a milter
  // adds or changes (cleanup(8)'s, so main.cf's for every service); under
  // receive_override_options = no_header_body_checks they only drop,
  // replace and log.
  resolve::TableList milter_header_checks;
  bool milter_header_check_actions = true;
};

SessionConfig ReadSessionConfig(const image::Image& image);

// The milters of a smtpd_milters-style list, each from `defaults` with its
// own { endpoint, name=value } settings; `unix:` paths that are not
// absolute are under `queue_directory`. An error when the list does not
// parse.
Result<std::vector<milter::MilterSettings>> MiltersOf(std::string_view list, const milter::MilterSettings& defaults,
                                                      std::string_view queue_directory);

struct SessionContext {
  std::shared_ptr<const image::Image> image;
  std::shared_ptr<const resolve::Resolver> resolver;
  std::shared_ptr<const vm::PolicyVm> policy;
  SessionConfig config;
  // STARTTLS can be offered (a certificate was loaded for this image).
  bool tls_available = false;
  // The sessions fetch the DNS records and policy server answers their policy asks for
  // (Session::Next::kAskNetwork); else the policy's own oracle answers.
  bool asks_network = false;
  // The policy may wait for a database or directory server (live tables):
  // the connection evaluates it off its event loop (Session::Next::kDecide).
  bool decides_off_loop = false;
};

// Builds the context of `image` (main.cf's view, or an smtpd service's:
// image::Image::ForService) with its resolver and policy. `users` stands in
// for the system's users (tests), as for the resolver. A service's view
// differs from main.cf's only in what Postfix's smtpd reads itself
// (config::kPerSmtpd: its recipient tables, not its routing).
//
// An image whose policy is an open relay (vm/relay_analysis.h) is refused
// with a permanent error naming the path that lets mail through: Postfix's
// smtpd refuses to start without a relay restriction, and Postern goes
// further, never serving any policy that relays for strangers.
//
// `dns` null: the sessions fetch DNS records themselves (the daemon).
Result<std::shared_ptr<const SessionContext>> MakeSessionContext(
    std::shared_ptr<const image::Image> image, bool tls_available,
    std::shared_ptr<const vm::NetworkOracle> dns = std::make_shared<vm::OptimisticNetwork>(),
    std::shared_ptr<const vm::RateOracle> rates = std::make_shared<vm::NoRates>(),
    std::shared_ptr<const mail::LookupTable> users = nullptr);

}  // namespace postern::session
