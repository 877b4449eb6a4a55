// smtp_delivery.h: one delivery attempt over a connection: connect to a
// server (with a timeout), run the SMTP/LMTP conversation of
// smtp_client.h on it, do the TLS handshake when the conversation asks for
// it, and return a result per recipient. The socket only moves bytes.
// Every failure (refused, timed out, reset) becomes the recipients' 4xx
// result; nothing throws.
#pragma once

#include <chrono>
#include <vector>

#include "runtime/delivery/smtp_client.h"
#include "util/asio.h"

namespace postern::delivery {

struct DeliveryTimeouts {
  std::chrono::seconds connect{30};   // smtp_connect_timeout
  std::chrono::seconds command{300};  // each read and write (smtp_*_timeout, simplified)
};

// `options`, `message` and `tls` must outlive the awaited call. `tls` may
// be null (then STARTTLS is never attempted). `Endpoint` is a TCP endpoint
// or a unix-domain one (LMTP to a local socket).
template <typename Endpoint>
boost::asio::awaitable<std::vector<RecipientResult>> DeliverOverSmtp(const Endpoint& server,
                                                                     const ClientOptions& options,
                                                                     const OutboundMessage& message,
                                                                     boost::asio::ssl::context* tls,
                                                                     const DeliveryTimeouts& timeouts);

}  // namespace postern::delivery
