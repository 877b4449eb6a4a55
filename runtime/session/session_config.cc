// session_config.cc: see session_config.h.
#include "runtime/session/session_config.h"

#include "mail/lookup_failure.h"
#include "mail/milter_list.h"
#include "mail/parameter_list.h"
#include "runtime/image/image_parameters.h"
#include "runtime/tls/server_tls_files.h"
#include "runtime/vm/relay_analysis.h"
#include "util/strings.h"

namespace postern::session {

namespace {

milter::DefaultAction DefaultActionOf(std::string_view value) {
  if (EqualsIgnoreCase(value, "accept")) return milter::DefaultAction::kAccept;
  if (EqualsIgnoreCase(value, "reject")) return milter::DefaultAction::kReject;
  if (EqualsIgnoreCase(value, "quarantine")) return milter::DefaultAction::kQuarantine;
  return milter::DefaultAction::kTempfail;
}

std::vector<std::string> MacroNames(const image::Image& image, std::string_view name) {
  return SplitAny(image.Text(name), " ,\t\r\n");
}

// The milter_* parameters every milter starts from.
milter::MilterSettings MilterDefaults(const image::Image& image) {
  milter::MilterSettings base;
  base.connect_timeout = std::chrono::seconds(image::TimeParameter(image, "milter_connect_timeout"));
  base.command_timeout = std::chrono::seconds(image::TimeParameter(image, "milter_command_timeout"));
  base.content_timeout = std::chrono::seconds(image::TimeParameter(image, "milter_content_timeout"));
  base.default_action = DefaultActionOf(image.Text("milter_default_action"));
  if (auto p = mail::ParseMilterProtocol(image.Text("milter_protocol")); p.ok()) {
    base.version = p->version;
    base.no_header_reply = p->no_header_reply;
  }
  using milter::MacroStage;
  auto stage = [&base](MacroStage s) -> std::vector<std::string>& { return base.macros[static_cast<size_t>(s)]; };
  stage(MacroStage::kConnect) = MacroNames(image, "milter_connect_macros");
  stage(MacroStage::kHelo) = MacroNames(image, "milter_helo_macros");
  stage(MacroStage::kMail) = MacroNames(image, "milter_mail_macros");
  stage(MacroStage::kRcpt) = MacroNames(image, "milter_rcpt_macros");
  stage(MacroStage::kData) = MacroNames(image, "milter_data_macros");
  stage(MacroStage::kEndOfHeaders) = MacroNames(image, "milter_end_of_header_macros");
  stage(MacroStage::kEndOfMessage) = MacroNames(image, "milter_end_of_data_macros");
  base.unknown_command_macros = MacroNames(image, "milter_unknown_command_macros");
  return base;
}

}  // namespace

Result<std::vector<milter::MilterSettings>> MiltersOf(std::string_view list, const milter::MilterSettings& defaults,
                                                      std::string_view queue_directory) {
  Result<std::vector<mail::MilterEntry>> entries = mail::ParseMilterList(list);
  if (!entries.ok()) return entries.status();
  auto seconds = [](const std::optional<std::string>& value, std::chrono::seconds fallback) {
    std::optional<long long> s = value ? ParseTime(*value, 's') : std::nullopt;
    return s ? std::chrono::seconds(*s) : fallback;
  };
  std::vector<milter::MilterSettings> milters;
  for (const mail::MilterEntry& entry : *entries) {
    milter::MilterSettings m = defaults;
    m.endpoint = entry.endpoint;
    if (StartsWith(m.endpoint, "local:")) m.endpoint = "unix:" + m.endpoint.substr(6);
    if (StartsWith(m.endpoint, "unix:") && m.endpoint.size() > 5 && m.endpoint[5] != '/') {
      m.endpoint = "unix:" + std::string(queue_directory) + "/" + m.endpoint.substr(5);
    }
    m.connect_timeout = seconds(entry.connect_timeout, defaults.connect_timeout);
    m.command_timeout = seconds(entry.command_timeout, defaults.command_timeout);
    m.content_timeout = seconds(entry.content_timeout, defaults.content_timeout);
    if (entry.default_action) m.default_action = DefaultActionOf(*entry.default_action);
    if (entry.protocol) {
      if (auto p = mail::ParseMilterProtocol(*entry.protocol); p.ok()) {
        m.version = p->version;
        m.no_header_reply = p->no_header_reply;
      }
    }
    milters.push_back(std::move(m));
  }
  return milters;
}

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
  c.tls_req_ccert = tls::RequiresClientCertificate(image);
  c.tls_ask_ccert = tls::AsksClientCertificate(image);
  c.tls_fingerprint_digest = image.Text("smtpd_tls_fingerprint_digest");
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
  c.content_filter = std::string(Trim(image.Text("content_filter")));
  // receive_override_options: no_milters for a service behind a content
  // filter (the mail was filtered before); no_header_body_checks leaves
  // milter_header_checks only its header edits.
  bool no_milters = false;
  for (const std::string& o : options("receive_override_options")) {
    no_milters = no_milters || o == "no_milters";
    if (o == "no_header_body_checks") c.milter_header_check_actions = false;
  }
  c.milter_defaults = MilterDefaults(image);
  c.queue_directory = image.Text("queue_directory");
  if (!no_milters) {
    // The compiler checked the list: one that does not parse here gives none.
    auto milters = MiltersOf(image.Text("smtpd_milters"), c.milter_defaults, c.queue_directory);
    if (milters.ok()) c.milters = std::move(milters).value();
    c.milter_maps = resolve::TablesOf(image, "smtpd_milter_maps");
  }
  c.milter_daemon_name = image.Text("milter_macro_daemon_name");
  c.milter_v = image.Text("milter_macro_v");
  for (const std::string& pair : SplitAny(image.Text("milter_macro_defaults"), " ,\t\r\n")) {
    size_t eq = pair.find('=');
    if (eq != std::string::npos) c.milter_macro_defaults.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
  }
  SessionConfig::MissingHeaderClients& local = c.missing_header_clients;
  local.all = BoolParameter(image, "always_add_missing_headers");
  for (const std::string& item : options("local_header_rewrite_clients")) {
    local.all = local.all || item == "static:all";
    local.inet_interfaces = local.inet_interfaces || item == "permit_inet_interfaces";
    local.mynetworks = local.mynetworks || item == "permit_mynetworks";
    local.sasl_authenticated = local.sasl_authenticated || item == "permit_sasl_authenticated";
    local.tls_all_clientcerts = local.tls_all_clientcerts || item == "permit_tls_all_clientcerts";
    local.tls_clientcerts = local.tls_clientcerts || item == "permit_tls_clientcerts";
  }
  if (local.tls_clientcerts) c.relay_clientcerts = resolve::TablesOf(image, "relay_clientcerts");
  c.mynetworks = image::NetworkListParameter(image, "mynetworks");
  c.undisclosed_recipients_header = std::string(Trim(image.Text("undisclosed_recipients_header")));
  c.milter_header_checks = resolve::TablesOf(image, "milter_header_checks");
  return c;
}

Result<std::shared_ptr<const SessionContext>> MakeSessionContext(std::shared_ptr<const image::Image> image,
                                                                 bool tls_available,
                                                                 std::shared_ptr<const vm::NetworkOracle> dns,
                                                                 std::shared_ptr<const vm::RateOracle> rates,
                                                                 std::shared_ptr<const mail::LookupTable> users) {
  // A live table whose server cannot be reached now answers the proof with
  // nothing (fewer relay destinations, never more); at run time its lookups
  // defer.
  mail::LookupFailureScope lookups;
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
  context->decides_off_loop = image->has_live_tables();
  if (dns == nullptr) dns = std::make_shared<vm::OptimisticNetwork>();
  context->image = image;
  context->resolver = std::make_shared<const resolve::Resolver>(image, std::move(users));
  context->policy = std::make_shared<const vm::PolicyVm>(image, context->resolver, std::move(dns), std::move(rates));
  context->config = ReadSessionConfig(*image);
  context->config.interface_addresses = context->resolver->config().interface_addresses;
  context->tls_available = tls_available;
  return std::shared_ptr<const SessionContext>(std::move(context));
}

}  // namespace postern::session
