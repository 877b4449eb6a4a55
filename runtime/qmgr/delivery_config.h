// delivery_config.h: what the queue manager and its delivery agents read
// from an image, once per image: the qmgr(8), bounce(8), smtp(8), lmtp(8)
// and local(8) parameters with Postfix's names and defaults, and which
// agent serves each master.cf transport (with its -o overrides of the
// per-transport parameters).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtime/delivery/smtp_agent.h"
#include "runtime/delivery/smtp_client.h"
#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "util/asio.h"
#include "util/status.h"

namespace postern::qmgr {

// A master.cf service that delivers: its agent and its settings.
struct TransportConfig {
  std::string agent;               // smtp, lmtp, local, virtual, discard, error, retry (the service's command)
  int64_t concurrency_limit = 20;  // <transport>_destination_concurrency_limit
  int64_t recipient_limit = 50;    // <transport>_destination_recipient_limit
  delivery::TlsPolicy tls = delivery::TlsPolicy::kNone;  // smtp_tls_security_level / lmtp_tls_security_level
  int64_t connect_timeout = 30;                          // smtp_connect_timeout
  int64_t command_timeout = 300;                         // smtp_data_done_timeout and friends, as one limit
  int64_t address_limit = 5;                             // smtp_mx_address_limit
  std::string syslog_name;  // syslog_name, -o syslog_name=postfix/$service_name for a service of its own
  // smtp_sasl_auth_enable (smtp only: lmtp_sasl_* are not implemented) with
  // its security options, mechanism filter and soft bounce; the
  // credentials are looked up per delivery (DeliveryContext).
  std::optional<delivery::ClientSaslSettings> sasl;
  bool sender_dependent_authentication = false;  // smtp_sender_dependent_authentication
};

struct DeliveryConfig {
  std::string hostname;   // myhostname
  std::string helo_name;  // smtp_helo_name
  std::string myorigin;
  int64_t minimal_backoff = 300;   // minimal_backoff_time
  int64_t maximal_backoff = 4000;  // maximal_backoff_time
  int64_t queue_run_delay = 300;   // queue_run_delay
  int64_t maximal_queue_lifetime = 432000;
  int64_t bounce_queue_lifetime = 432000;
  int64_t delay_warning_time = 0;  // 0: no delay warnings
  int64_t active_limit = 20000;    // qmgr_message_active_limit
  int64_t process_limit = 100;     // default_process_limit: deliveries at once, all transports
  size_t bounce_size_limit = 50000;
  bool notify_2bounce = false;                         // notify_classes has 2bounce (or bounce)
  std::string double_bounce_recipient = "postmaster";  // 2bounce_notice_recipient
  std::string double_bounce_sender = "double-bounce";  // double_bounce_sender: postmaster notices, probes
  int64_t command_time_limit = 1000;
  std::string recipient_delimiter;  // the characters that start an address extension
  uint64_t mailbox_size_limit = 51200000;
  std::map<std::string, TransportConfig, std::less<>> transports;  // master.cf name -> settings
};

// An error when a setting the compiler does not check is wrong (an unknown
// smtp_sasl_security_options word).
Result<DeliveryConfig> ReadDeliveryConfig(const image::Image& image);

// One image made ready for delivery: its resolver and settings, and the
// TLS client context of the smtp/lmtp agents. Immutable and shared; the
// queue manager takes the newest for each message it loads.
struct DeliveryContext {
  std::shared_ptr<const image::Image> image;
  std::shared_ptr<const resolve::Resolver> resolver;
  DeliveryConfig config;
  // smtp_sasl_password_maps: "user:password" by sender, host or destination.
  resolve::TableList sasl_password_maps;
  // The SMTP client's TLS contexts (null when no transport uses TLS): for
  // "may" (smtp_tls_protocols, smtp_tls_ciphers) and for the levels that
  // require TLS (the mandatory_ variants). Both verify nothing by
  // themselves; "verify" turns verification on per connection.
  std::shared_ptr<boost::asio::ssl::context> client_tls;
  std::shared_ptr<boost::asio::ssl::context> client_tls_mandatory;
  // The context for a transport's TLS policy.
  boost::asio::ssl::context* TlsFor(delivery::TlsPolicy policy) const {
    return policy == delivery::TlsPolicy::kMay ? client_tls.get() : client_tls_mandatory.get();
  }
  // The SMTP AUTH credentials for a delivery from `sender` to nexthop
  // `destination` over host `host`, as smtp(8) looks them up: the sender
  // (with `by_sender`: smtp_sender_dependent_authentication), then the
  // host name, then the destination as the nexthop names it
  // ("[smtp.example.com]:587"). The value is "user:password".
  Result<std::optional<delivery::SaslCredentials>> SaslCredentialsFor(const std::string& sender, bool by_sender,
                                                                      const std::string& host,
                                                                      const std::string& destination) const;
};

// A permanent error when the smtp_tls_* settings cannot be applied.
Result<std::shared_ptr<const DeliveryContext>> MakeDeliveryContext(std::shared_ptr<const image::Image> image,
                                                                   std::shared_ptr<const resolve::Resolver> resolver);

}  // namespace postern::qmgr
