// smtp_delivery.h: one delivery attempt over a connection: connect to a
// server (with a timeout), run the SMTP/LMTP conversation of
// smtp_client.h on it, do the TLS handshake when the conversation asks for
// it, and return a result per recipient. The socket only moves bytes.
// Every failure (refused, timed out, reset) becomes the recipients' 4xx
// result; nothing throws.
#pragma once

#include <chrono>
#include <functional>
#include <span>
#include <vector>

#include "runtime/delivery/smtp_client.h"
#include "util/asio.h"

namespace postern::delivery {

struct DeliveryTimeouts {
  std::chrono::seconds connect{30};   // smtp_connect_timeout
  std::chrono::seconds command{300};  // each read and write (smtp_*_timeout, simplified)
};

// Called as each message's transaction ends, with its index and results.
using MessageDone = std::function<void(size_t index, std::vector<mail::DeliveryStatus> results)>;

// Delivers `messages` in order over one connection (connection reuse:
// each after the previous one's end of data). `done` is called for every
// message attempted; the number attempted is returned. A message not
// attempted (the connection failed before its turn) was not touched and
// may be tried on another connection. A failure to connect or to start
// the session is the first message's result (DeliveryStatus::host_failure).
// `options`, `messages` and `tls` must outlive the awaited call. `tls` may
// be null (then STARTTLS is never attempted). `Endpoint` is a TCP endpoint
// or a unix-domain one (LMTP to a local socket).
template <typename Endpoint>
boost::asio::awaitable<size_t> DeliverOverSmtp(const Endpoint& server, const ClientOptions& options,
                                               std::span<const OutboundMessage* const> messages,
                                               boost::asio::ssl::context* tls, const DeliveryTimeouts& timeouts,
                                               const MessageDone& done);

// One message on its own connection.
template <typename Endpoint>
boost::asio::awaitable<std::vector<mail::DeliveryStatus>> DeliverOverSmtp(const Endpoint& server,
                                                                          const ClientOptions& options,
                                                                          const OutboundMessage& message,
                                                                          boost::asio::ssl::context* tls,
                                                                          const DeliveryTimeouts& timeouts);

}  // namespace postern::delivery
