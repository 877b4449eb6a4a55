// smtp_delivery.cc: see smtp_delivery.h.
#include "runtime/delivery/smtp_delivery.h"

#include <array>
#include <memory>
#include <optional>

#include "util/io_deadline.h"

namespace postern::delivery {
namespace asio = boost::asio;

template <typename Endpoint>
asio::awaitable<size_t> DeliverOverSmtp(const Endpoint& server, const ClientOptions& base_options,
                                        std::span<const OutboundMessage* const> messages, asio::ssl::context* tls,
                                        const DeliveryTimeouts& timeouts, const MessageDone& done) {
  if (messages.empty()) co_return 0;
  using Socket = typename Endpoint::protocol_type::socket;
  auto executor = co_await asio::this_coro::executor;
  ClientOptions options = base_options;
  options.reuse = messages.size() > 1;
  SmtpClient client(options, *messages[0]);
  Socket socket(executor);
  std::optional<asio::ssl::stream<Socket&>> secure;
  IoDeadline<Socket> deadline(executor, socket);
  auto failure = [&](const boost::system::error_code& ec) { return deadline.expired() ? "timeout" : ec.message(); };

  boost::system::error_code ec;
  deadline.Arm(timeouts.connect);
  co_await socket.async_connect(server, asio::redirect_error(asio::use_awaitable, ec));
  deadline.Disarm();
  if (ec) {
    mail::DeliveryStatus refused =
        mail::DeliveryStatus::Local(450, "4.4.1", "connect to " + options.relay + ": " + failure(ec));
    refused.host_failure = true;
    refused.relay = options.relay;
    std::vector<mail::DeliveryStatus> results(messages[0]->recipients.size(), refused);
    done(0, std::move(results));
    co_return 1;
  }
  size_t current = 0;     // the message whose transaction is under way
  bool reported = false;  // its results were handed to `done`
  std::array<char, 8192> buffer;
  while (client.next() != SmtpClient::Next::kDone) {
    if (client.next() == SmtpClient::Next::kIdle) {
      done(current, client.results());
      reported = true;
      if (current + 1 < messages.size()) {
        client.SendAnother(*messages[++current]);
        reported = false;
      } else {
        client.Quit();
      }
    }
    std::string out = client.TakeOutput();
    if (!out.empty()) {
      deadline.Arm(timeouts.command);
      if (secure) {
        co_await asio::async_write(*secure, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      } else {
        co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      }
      deadline.Disarm();
      if (ec) {
        client.ConnectionLost(failure(ec));
        break;
      }
    }
    if (client.next() == SmtpClient::Next::kDone || client.next() == SmtpClient::Next::kIdle) continue;
    if (client.next() == SmtpClient::Next::kStartTls) {
      if (tls == nullptr) {
        client.TlsFailed("no TLS context");
        break;
      }
      secure.emplace(socket, *tls);
      if (!options.tls_name.empty()) {  // SNI (SSL_set_tlsext_host_name, without its C cast)
        SSL_ctrl(secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(options.tls_name.c_str()));
      }
      if (options.tls == TlsPolicy::kVerify) {
        secure->set_verify_mode(asio::ssl::verify_peer);
        secure->set_verify_callback(asio::ssl::host_name_verification(options.tls_name));
      }
      deadline.Arm(timeouts.command);
      co_await secure->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
      deadline.Disarm();
      if (ec) {
        client.TlsFailed(failure(ec));
        break;
      }
      client.TlsStarted();
      continue;
    }
    deadline.Arm(timeouts.command);
    size_t n = 0;
    if (secure) {
      n = co_await secure->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    } else {
      n = co_await socket.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    }
    deadline.Disarm();
    if (ec) {
      client.ConnectionLost(ec == asio::error::eof ? "" : failure(ec));
      break;
    }
    client.Receive(std::string_view(buffer.data(), n));
  }
  if (!reported) done(current, client.results());
  socket.close(ec);
  co_return current + 1;
}

template <typename Endpoint>
asio::awaitable<std::vector<mail::DeliveryStatus>> DeliverOverSmtp(const Endpoint& server, const ClientOptions& options,
                                                                   const OutboundMessage& message,
                                                                   asio::ssl::context* tls,
                                                                   const DeliveryTimeouts& timeouts) {
  std::vector<mail::DeliveryStatus> results;
  const OutboundMessage* one[] = {&message};
  co_await DeliverOverSmtp(server, options, std::span<const OutboundMessage* const>(one), tls, timeouts,
                           [&](size_t, std::vector<mail::DeliveryStatus> r) { results = std::move(r); });
  co_return results;
}

using Tcp = asio::ip::tcp::endpoint;
using Local = asio::local::stream_protocol::endpoint;
using Messages = std::span<const OutboundMessage* const>;
template asio::awaitable<size_t> DeliverOverSmtp(const Tcp&, const ClientOptions&, Messages, asio::ssl::context*,
                                                 const DeliveryTimeouts&, const MessageDone&);
template asio::awaitable<size_t> DeliverOverSmtp(const Local&, const ClientOptions&, Messages, asio::ssl::context*,
                                                 const DeliveryTimeouts&, const MessageDone&);
template asio::awaitable<std::vector<mail::DeliveryStatus>> DeliverOverSmtp(const Tcp&, const ClientOptions&,
                                                                            const OutboundMessage&, asio::ssl::context*,
                                                                            const DeliveryTimeouts&);
template asio::awaitable<std::vector<mail::DeliveryStatus>> DeliverOverSmtp(const Local&, const ClientOptions&,
                                                                            const OutboundMessage&, asio::ssl::context*,
                                                                            const DeliveryTimeouts&);

}  // namespace postern::delivery
