// session_config.cc: see session_config.h.
#include "runtime/session/session_config.h"

#include "mail/parameter_list.h"
#include "runtime/image/image_parameters.h"
#include "runtime/tls/server_tls_files.h"
#include "runtime/vm/relay_analysis.h"
#include "util/strings.h"

namespace postern::session {

SessionConfig ReadSessionConfig(const image::Image& image) {
  using image::BoolParameter;
  using image::IntParameter;
  using image::TimeParameter;
  SessionConfig c;
  c.hostname = image.Text("myhostname");
  c.mail_name = image.Text("mail_name");
  c.banner = image.Text("smtpd_banner");
  c.message_size_limit = static_cast<uint64_t>(IntParameter(image, "message_size_limit"));
  c.recipient_limit = static_cast<size_t>(IntParameter(image, "smtpd_recipient_limit"));
  c.recipient_overshoot_limit = IntParameter(image, "smtpd_recipient_overshoot_limit");
  c.junk_command_limit = IntParameter(image, "smtpd_junk_command_limit");
  c.line_length_limit = static_cast<size_t>(std::max<int64_t>(IntParameter(image, "line_length_limit"), 80));
  c.soft_error_limit = static_cast<int>(IntParameter(image, "smtpd_soft_error_limit"));
  c.hard_error_limit = static_cast<int>(IntParameter(image, "smtpd_hard_error_limit"));
  c.error_sleep_ms = 1000 * TimeParameter(image, "smtpd_error_sleep_time");
  c.timeout_seconds = TimeParameter(image, "smtpd_timeout");
  std::string bare = ToLower(image.Text("smtpd_forbid_bare_newline"));
  // "reject" refuses bare <LF>; "normalize" (and "yes", its old name in
  // Postfix 3.7.11), "note" and "no" all store the line with <CR><LF> and
  // never let it end the message (data_decoder.h).
  c.bare_newline = bare == "reject" ? smtp::BareNewline::kReject : smtp::BareNewline::kNormalize;
  c.bare_newline_exclusions = image::NetworkListParameter(image, "smtpd_forbid_bare_newline_exclusions");
  c.vrfy_enabled = !BoolParameter(image, "disable_vrfy_command");
  c.smtputf8 = BoolParameter(image, "smtputf8_enable");
  c.delay_reject = BoolParameter(image, "smtpd_delay_reject");
  c.helo_required = BoolParameter(image, "smtpd_helo_required");
  c.strict_smtputf8 = BoolParameter(image, "strict_smtputf8");
  c.strict_rfc821_envelopes = BoolParameter(image, "strict_rfc821_envelopes");
  c.forbid_unauth_pipelining = BoolParameter(image, "smtpd_forbid_unauth_pipelining");
  c.forbidden_commands = image::MatchListParameter(image, "smtpd_forbidden_commands", nullptr);
  std::string level = tls::ServerTlsLevel(image);
  c.tls_level = level == "encrypt" ? TlsLevel::kEncrypt : level == "may" ? TlsLevel::kMay : TlsLevel::kNone;
  c.tls_received_header = BoolParameter(image, "smtpd_tls_received_header");
  c.body_checks = !Trim(image.Text("body_checks")).empty();
  c.body_checks_size_limit = static_cast<uint64_t>(std::max<int64_t>(IntParameter(image, "body_checks_size_limit"), 0));
  c.xclient_hosts = image::NetworkListParameter(image, "smtpd_authorized_xclient_hosts");
  // Dovecot's protocol is the one posternd speaks (postern check refuses
  // smtpd_sasl_type = cyrus with AUTH enabled).
  c.sasl_enabled = BoolParameter(image, "smtpd_sasl_auth_enable") && image.Text("smtpd_sasl_type") == "dovecot";
  c.sasl_path = image.Text("smtpd_sasl_path");
  if (!c.sasl_path.empty() && c.sasl_path.front() != '/' && !StartsWith(c.sasl_path, "inet:")) {
    // Relative to Postfix's queue directory, where Dovecot's configuration
    // puts the socket (private/auth).
    c.sasl_path = image.Text("queue_directory") + "/" + c.sasl_path;
  }
  c.tls_auth_only = BoolParameter(image, "smtpd_tls_auth_only");
  c.broken_sasl_auth_clients = BoolParameter(image, "broken_sasl_auth_clients");
  c.sasl_exceptions = image::NetworkListParameter(image, "smtpd_sasl_exceptions_networks");
  c.sasl_authenticated_header = BoolParameter(image, "smtpd_sasl_authenticated_header");
  auto options = [&image](std::string_view name) {
    std::vector<std::string> out;
    for (const std::string& o : mail::SplitParameterList(image.Text(name)).value_or(std::vector<std::string>{})) {
      out.push_back(ToLower(o));
    }
    return out;
  };
  c.sasl_security_options = options("smtpd_sasl_security_options");
  c.sasl_tls_security_options = options("smtpd_sasl_tls_security_options");
  return c;
}

Result<std::shared_ptr<const SessionContext>> MakeSessionContext(std::shared_ptr<const image::Image> image,
                                                                 bool tls_available,
                                                                 std::shared_ptr<const vm::NetworkOracle> dns,
                                                                 std::shared_ptr<const vm::RateOracle> rates,
                                                                 std::shared_ptr<const mail::LookupTable> users) {
  vm::RelayFinding relay = vm::AnalyzeRelay(image);
  if (relay.open) {
    std::string path;
    for (const std::string& step : relay.path) path += (path.empty() ? "" : "; ") + step;
    std::string service = image->service().empty() ? "" : " (service " + image->service() + ")";
    return Status::Permanent("image " + image->id().substr(0, 12) + service + " is an open relay (" + path +
                             "); refusing to serve it (run postern check)");
  }
  auto context = std::make_shared<SessionContext>();
  context->asks_network = dns == nullptr;
  if (dns == nullptr) dns = std::make_shared<vm::OptimisticNetwork>();
  context->image = image;
  context->resolver = std::make_shared<const resolve::Resolver>(image, std::move(users));
  context->policy = std::make_shared<const vm::PolicyVm>(image, context->resolver, std::move(dns), std::move(rates));
  context->config = ReadSessionConfig(*image);
  context->tls_available = tls_available;
  return std::shared_ptr<const SessionContext>(std::move(context));
}

}  // namespace postern::session
