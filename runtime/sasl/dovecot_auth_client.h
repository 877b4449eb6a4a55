// dovecot_auth_client.h: one connection to Dovecot's authentication
// server (smtpd_sasl_type = dovecot, smtpd_sasl_path), for one SMTP
// session: connect and read the mechanism list, then one authentication
// exchange after another over the same connection. A connection that
// failed is made again by the next Connect(). Every wait is bounded by the
// timeout (the server's answer to a wrong password comes after its own
// failure delay, a few seconds).
//
// Runs on the session's executor; one exchange at a time. Not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime/sasl/dovecot_auth_protocol.h"
#include "util/asio.h"
#include "util/io_deadline.h"
#include "util/status.h"

namespace postern::sasl {

class DovecotAuthClient {
 public:
  // `path`: a unix socket path, or inet:host:port (smtpd_sasl_path).
  DovecotAuthClient(boost::asio::any_io_executor executor, std::string path, std::chrono::seconds timeout);

  // Connects and reads the handshake, unless connected.
  boost::asio::awaitable<Status> Connect();
  // The mechanisms the server offers to clients (not its private ones).
  std::vector<DovecotMechanism> mechanisms() const;

  // Sends `line` (EncodeDovecotAuth or EncodeDovecotContinue) and returns
  // the server's reply to request `id`. An error is temporary (454); the
  // connection is closed then.
  boost::asio::awaitable<Result<DovecotAuthReply>> Exchange(std::string line, uint32_t id);

  // A new request id for this connection.
  uint32_t NextId() { return ++last_id_; }

 private:
  boost::asio::awaitable<Result<std::string>> ReadLine();
  boost::asio::awaitable<Status> Write(const std::string& bytes);
  void Close();

  boost::asio::any_io_executor executor_;
  std::string path_;
  std::chrono::seconds timeout_;
  boost::asio::generic::stream_protocol::socket socket_;
  IoDeadline<boost::asio::generic::stream_protocol::socket> deadline_;  // timeout_ per wait
  std::string buffer_;
  DovecotHandshake handshake_;
  uint32_t last_id_ = 0;
};

}  // namespace postern::sasl
