// dovecot_auth_client.cc: see dovecot_auth_client.h.
#include "runtime/sasl/dovecot_auth_client.h"

#include <unistd.h>

#include "runtime/net/stream_connect.h"
#include "util/strings.h"

namespace postern::sasl {
namespace {

namespace asio = boost::asio;
using asio::generic::stream_protocol;

constexpr size_t kMaxLine = 65536;  // a challenge is short; anything longer is broken

}  // namespace

DovecotAuthClient::DovecotAuthClient(asio::any_io_executor executor, std::string path, std::chrono::seconds timeout)
    : executor_(executor), path_(std::move(path)), timeout_(timeout), socket_(executor), deadline_(executor, socket_) {}

void DovecotAuthClient::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
  handshake_ = DovecotHandshake();
}

asio::awaitable<Status> DovecotAuthClient::Connect() {
  if (socket_.is_open() && handshake_.done()) co_return Status::Ok();
  Close();
  deadline_.Arm(timeout_);
  boost::system::error_code ec = co_await net::ConnectStream(socket_, path_);
  deadline_.Disarm();
  if (ec == asio::error::invalid_argument) {
    co_return Status::Permanent("smtpd_sasl_path " + path_ + ": inet:host:port expected");
  }
  if (ec) {
    Close();
    co_return Status::Temporary("connect to " + path_ + ": " + (deadline_.expired() ? "timed out" : ec.message()));
  }
  if (Status s = co_await Write(EncodeDovecotHello(getpid())); !s.ok()) co_return s;
  while (!handshake_.done()) {
    Result<std::string> line = co_await ReadLine();
    if (!line.ok()) co_return line.status();
    if (Status s = handshake_.AddLine(*line); !s.ok()) {
      Close();
      co_return Status::Temporary(path_ + ": " + s.message());
    }
  }
  co_return Status::Ok();
}

std::vector<DovecotMechanism> DovecotAuthClient::mechanisms() const {
  std::vector<DovecotMechanism> out;
  for (const DovecotMechanism& m : handshake_.mechanisms()) {
    if (!m.private_mechanism) out.push_back(m);
  }
  return out;
}

asio::awaitable<Status> DovecotAuthClient::Write(const std::string& bytes) {
  boost::system::error_code ec;
  deadline_.Arm(timeout_);
  co_await asio::async_write(socket_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
  deadline_.Disarm();
  if (ec) {
    Close();
    co_return Status::Temporary("write to " + path_ + ": " + (deadline_.expired() ? "timed out" : ec.message()));
  }
  co_return Status::Ok();
}

asio::awaitable<Result<std::string>> DovecotAuthClient::ReadLine() {
  boost::system::error_code ec;
  deadline_.Arm(timeout_);
  size_t n = co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer_, kMaxLine), '\n',
                                             asio::redirect_error(asio::use_awaitable, ec));
  deadline_.Disarm();
  if (ec) {
    Close();
    co_return Status::Temporary("read from " + path_ + ": " +
                                (deadline_.expired()      ? "timed out"
                                 : ec == asio::error::eof ? "connection closed"
                                                          : ec.message()));
  }
  std::string line = buffer_.substr(0, n - 1);
  buffer_.erase(0, n);
  co_return line;
}

asio::awaitable<Result<DovecotAuthReply>> DovecotAuthClient::Exchange(std::string line, uint32_t id) {
  if (Status s = co_await Connect(); !s.ok()) co_return s;
  if (Status s = co_await Write(line); !s.ok()) co_return s;
  while (true) {
    Result<std::string> answer = co_await ReadLine();
    if (!answer.ok()) co_return answer.status();
    Result<DovecotAuthReply> reply = ParseDovecotAuthReply(*answer);
    if (!reply.ok()) {
      Close();
      co_return reply.status();
    }
    if (reply->id == id) co_return reply;
    // A reply to an earlier, abandoned request: skip it.
  }
}

}  // namespace postern::sasl
