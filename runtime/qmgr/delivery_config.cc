// delivery_config.cc: see delivery_config.h.
#include "runtime/qmgr/delivery_config.h"

#include "mail/parameter_list.h"
#include "runtime/image/image_parameters.h"
#include "runtime/resolve/address_lookup.h"
#include "runtime/tls/tls_settings.h"
#include "util/strings.h"

namespace postern::qmgr {
namespace {

// A per-service setting, typed by the compiler (image::ServiceSettingName).
std::string SettingName(const image::Image& image, const mail::ServiceEntry& service, const std::string& name) {
  return image::ServiceSettingName(image, service.name, name);
}

std::string Setting(const image::Image& image, const mail::ServiceEntry& service, const std::string& name) {
  return std::string(image.settings().Text(SettingName(image, service, name)));
}

bool BoolSetting(const image::Image& image, const mail::ServiceEntry& service, const std::string& name) {
  return image.settings().Boolean(SettingName(image, service, name));
}

int64_t TimeSetting(const image::Image& image, const mail::ServiceEntry& service, const std::string& name) {
  return image.settings().Seconds(SettingName(image, service, name));
}

// <transport>_destination_*_limit: the transport's own when set (in
// main.cf or as its -o), else the default_destination_*_limit given.
int64_t TransportLimit(const image::Image& image, const mail::ServiceEntry& service, const std::string& name,
                       int64_t otherwise) {
  std::string which = SettingName(image, service, name);
  return image.settings().Has(which) ? image.settings().Integer(which) : otherwise;
}

std::vector<std::string> ListSetting(const image::Image& image, const mail::ServiceEntry& service,
                                     const std::string& name) {
  return mail::SplitParameterList(Setting(image, service, name)).value_or(std::vector<std::string>{});
}

// smtp_sasl_auth_enable's settings for an smtp transport, or nullopt when
// it is off.
Result<std::optional<delivery::ClientSaslSettings>> SaslSettings(const image::Image& image,
                                                                 const mail::ServiceEntry& s) {
  if (!BoolSetting(image, s, "smtp_sasl_auth_enable")) return std::optional<delivery::ClientSaslSettings>();
  // The SMTP client's only SASL implementation, in Postfix as here.
  if (std::string type = Setting(image, s, "smtp_sasl_type"); type != "cyrus") {
    return Status::Permanent("smtp_sasl_type = " + type + " is not a client SASL type (cyrus is)");
  }
  delivery::ClientSaslSettings sasl;
  struct Flags {
    const char* name;
    unsigned* out;
  };
  for (Flags f :
       {Flags{"smtp_sasl_security_options", &sasl.flags}, Flags{"smtp_sasl_tls_security_options", &sasl.tls_flags},
        Flags{"smtp_sasl_tls_verified_security_options", &sasl.verified_flags}}) {
    Result<unsigned> flags = delivery::SaslSecurityFlags(ListSetting(image, s, f.name));
    if (!flags.ok()) return Status::Permanent(std::string(f.name) + ": " + flags.status().message());
    *f.out = *flags;
  }
  sasl.mechanism_filter = ListSetting(image, s, "smtp_sasl_mechanism_filter");
  sasl.soft_bounce = BoolSetting(image, s, "smtp_sasl_auth_soft_bounce");
  return std::optional<delivery::ClientSaslSettings>(std::move(sasl));
}

delivery::TlsPolicy TlsLevel(const std::string& level) {
  std::string l = ToLower(level);
  if (l == "may") return delivery::TlsPolicy::kMay;
  if (l == "encrypt") return delivery::TlsPolicy::kEncrypt;
  // secure and dane: at least verify (no DANE: TLSA records are not looked up).
  if (l == "verify" || l == "secure" || l == "dane" || l == "dane-only") return delivery::TlsPolicy::kVerify;
  return delivery::TlsPolicy::kNone;  // none, or empty (Postfix's default)
}

}  // namespace

Result<DeliveryConfig> ReadDeliveryConfig(const image::Image& image) {
  DeliveryConfig c;
  c.hostname = image.Text("myhostname");
  c.helo_name = image.Text("smtp_helo_name");
  c.myorigin = image.Text("myorigin");
  c.minimal_backoff = std::max<int64_t>(image::TimeParameter(image, "minimal_backoff_time"), 1);
  c.maximal_backoff = std::max(image::TimeParameter(image, "maximal_backoff_time"), c.minimal_backoff);
  c.queue_run_delay = std::max<int64_t>(image::TimeParameter(image, "queue_run_delay"), 1);
  c.maximal_queue_lifetime = image::TimeParameter(image, "maximal_queue_lifetime");
  c.bounce_queue_lifetime = image::TimeParameter(image, "bounce_queue_lifetime");
  c.delay_warning_time = image::TimeParameter(image, "delay_warning_time");
  c.active_limit = std::max<int64_t>(image::IntParameter(image, "qmgr_message_active_limit"), 1);
  c.process_limit = std::max<int64_t>(image::IntParameter(image, "default_process_limit"), 1);
  c.bounce_size_limit = static_cast<size_t>(std::max<int64_t>(image::IntParameter(image, "bounce_size_limit"), 0));
  for (const std::string& item :
       mail::SplitParameterList(image.Text("notify_classes")).value_or(std::vector<std::string>{})) {
    std::string k = ToLower(item);
    c.notify_2bounce = c.notify_2bounce || k == "2bounce" || k == "bounce";
  }
  c.double_bounce_recipient = image.Text("2bounce_notice_recipient");
  c.double_bounce_sender = Trim(image.Text("double_bounce_sender"));
  c.recipient_delimiter = image.Text("recipient_delimiter");
  c.command_time_limit = std::max<int64_t>(image::TimeParameter(image, "command_time_limit"), 1);
  c.mailbox_size_limit = static_cast<uint64_t>(std::max<int64_t>(image::IntParameter(image, "mailbox_size_limit"), 0));

  int64_t concurrency = image::IntParameter(image, "default_destination_concurrency_limit");
  int64_t recipients = image::IntParameter(image, "default_destination_recipient_limit");
  for (const mail::ServiceEntry& s : image.services()) {
    if (s.type != "unix" && s.type != "fifo") continue;  // a transport is a unix service
    TransportConfig t;
    t.agent = s.command;
    t.syslog_name = Setting(image, s, "syslog_name");
    bool lmtp = t.agent == "lmtp";
    // The smtp_ or lmtp_ name of a client setting, written out in full so
    // that every parameter the runtime reads can be found by its name.
    auto client = [lmtp](const char* smtp_name, const char* lmtp_name) { return lmtp ? lmtp_name : smtp_name; };
    t.concurrency_limit =
        std::max<int64_t>(TransportLimit(image, s, s.name + "_destination_concurrency_limit", concurrency), 1);
    // local(8) delivers one recipient at a time (local_destination_recipient_limit = 1).
    t.recipient_limit = std::max<int64_t>(
        TransportLimit(image, s, s.name + "_destination_recipient_limit", t.agent == "local" ? 1 : recipients), 1);
    std::string level = Setting(image, s, client("smtp_tls_security_level", "lmtp_tls_security_level"));
    if (Trim(level).empty() && !lmtp) {
      // The obsolete switches, as Postfix reads them when the level is unset.
      if (BoolSetting(image, s, "smtp_enforce_tls")) {
        level = "encrypt";
      } else if (BoolSetting(image, s, "smtp_use_tls")) {
        level = "may";
      }
    }
    t.tls = TlsLevel(level);
    // lmtp_connect_timeout's default, 0, leaves the time to the system's
    // connect(); posternd waits 30 s then, as for smtp.
    int64_t connect = TimeSetting(image, s, client("smtp_connect_timeout", "lmtp_connect_timeout"));
    t.connect_timeout = connect > 0 ? connect : 30;
    t.command_timeout =
        std::max<int64_t>(TimeSetting(image, s, client("smtp_data_done_timeout", "lmtp_data_done_timeout")), 1);
    t.address_limit = std::max<int64_t>(
        image.settings().Integer(SettingName(image, s, client("smtp_mx_address_limit", "lmtp_mx_address_limit"))), 0);
    if (t.agent == "smtp") {
      Result<std::optional<delivery::ClientSaslSettings>> sasl = SaslSettings(image, s);
      if (!sasl.ok()) return Status::Permanent("service " + s.name + ": " + sasl.status().message());
      t.sasl = std::move(sasl).value();
      t.sender_dependent_authentication = BoolSetting(image, s, "smtp_sender_dependent_authentication");
    }
    c.transports[s.name] = std::move(t);
  }
  return c;
}

Result<std::shared_ptr<const DeliveryContext>> MakeDeliveryContext(std::shared_ptr<const image::Image> image,
                                                                   std::shared_ptr<const resolve::Resolver> resolver) {
  auto context = std::make_shared<DeliveryContext>();
  Result<DeliveryConfig> config = ReadDeliveryConfig(*image);
  if (!config.ok()) return config.status();
  context->config = std::move(config).value();
  context->sasl_password_maps = resolve::TablesOf(*image, "smtp_sasl_password_maps");
  context->image = std::move(image);
  context->resolver = std::move(resolver);
  bool wants_tls = false;
  for (const auto& [name, t] : context->config.transports) wants_tls = wants_tls || t.tls != delivery::TlsPolicy::kNone;
  if (!wants_tls) return std::shared_ptr<const DeliveryContext>(std::move(context));
  // Opportunistic TLS (may) takes smtp_tls_protocols and smtp_tls_ciphers;
  // the levels that require TLS, the mandatory_ variants, as in Postfix.
  for (bool mandatory : {false, true}) {
    auto tls = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    tls->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                     boost::asio::ssl::context::no_sslv3);
    SSL_CTX* ctx = tls->native_handle();
    const image::Image& i = *context->image;
    Status protocols = tls::ApplyProtocols(
        ctx, tls::ListSetting(i, mandatory ? "smtp_tls_mandatory_protocols" : "smtp_tls_protocols"));
    if (!protocols.ok()) return Status::Permanent("smtp client TLS: " + protocols.message());
    Status ciphers =
        tls::ApplyCipherGrade(ctx, i, i.Text(mandatory ? "smtp_tls_mandatory_ciphers" : "smtp_tls_ciphers"), {});
    if (!ciphers.ok()) return Status::Permanent("smtp client TLS: " + ciphers.message());
    // may and encrypt do not authenticate the peer, as Postfix at these
    // levels; verify turns verification on per connection (with the host
    // name), against the system's trust store.
    tls->set_verify_mode(boost::asio::ssl::verify_none);
    boost::system::error_code ignored;
    tls->set_default_verify_paths(ignored);
    (mandatory ? context->client_tls_mandatory : context->client_tls) = std::move(tls);
  }
  return std::shared_ptr<const DeliveryContext>(std::move(context));
}

Result<std::optional<delivery::SaslCredentials>> DeliveryContext::SaslCredentialsFor(
    const std::string& sender, bool by_sender, const std::string& host, const std::string& destination) const {
  const resolve::TableList& maps = sasl_password_maps;
  resolve::LookupOutcome found;
  if (by_sender && !sender.empty()) {
    found = resolve::FindAddress(maps, sender, resolver->config(),
                                 [this](std::string_view domain) { return resolver->IsLocalDomain(domain); });
  }
  if (!found.hit && found.error.empty()) found = resolve::FindKey(maps, host, false);
  if (!found.hit && found.error.empty()) found = resolve::FindKey(maps, destination, false);
  if (!found.error.empty()) return Status::Temporary(found.error);
  if (!found.hit) return std::optional<delivery::SaslCredentials>();
  // "user:password"; the password is whatever follows the first colon.
  const std::string& value = found.hit->value;
  size_t colon = value.find(':');
  delivery::SaslCredentials credentials;
  credentials.username = value.substr(0, colon);
  if (colon != std::string::npos) credentials.password = value.substr(colon + 1);
  return std::optional<delivery::SaslCredentials>(std::move(credentials));
}

}  // namespace postern::qmgr
