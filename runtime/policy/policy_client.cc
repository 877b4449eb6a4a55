// policy_client.cc: see policy_client.h.
#include "runtime/policy/policy_client.h"

#include "runtime/net/stream_connect.h"
#include "util/strings.h"

namespace postern::policy {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
constexpr size_t kMaxReply = 8192;  // an action is one line; more is a broken server
}  // namespace

Result<std::string> ParsePolicyReply(std::string_view reply) {
  for (std::string_view line : SplitAny(reply, "\n")) {
    if (StartsWith(line, "action=")) return std::string(Trim(line.substr(7)));
  }
  return Status::Temporary("no action= in the reply");
}

PolicyClient::PolicyClient(asio::any_io_executor executor, PolicyClientOptions options)
    : executor_(executor), options_(std::move(options)), socket_(executor), deadline_(executor, socket_) {}

void PolicyClient::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
  requests_ = 0;
}

asio::awaitable<Result<std::string>> PolicyClient::Ask(std::string request) {
  Status last = Status::Temporary("not tried");
  for (int attempt = 0; attempt < std::max(1, options_.try_limit); ++attempt) {
    if (attempt > 0) {
      asio::steady_timer pause(executor_, options_.retry_delay);
      boost::system::error_code ignored;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    Result<std::string> action = co_await Try(request);
    if (action.ok()) co_return action;
    last = action.status();
  }
  co_return last;
}

asio::awaitable<Result<std::string>> PolicyClient::Try(const std::string& request) {
  Clock::time_point now = Clock::now();
  bool stale = now - last_used_ > options_.max_idle || now - connected_at_ > options_.max_ttl ||
               (options_.request_limit > 0 && requests_ >= options_.request_limit);
  if (socket_.is_open() && stale) Close();
  auto failed = [&](const std::string& what, const boost::system::error_code& ec) -> Result<std::string> {
    Close();
    return Status::Temporary(what + " " + options_.service + ": " +
                             (deadline_.expired()      ? "timed out"
                              : ec == asio::error::eof ? "connection closed"
                                                       : ec.message()));
  };
  boost::system::error_code ec;
  if (!socket_.is_open()) {
    deadline_.Arm(options_.timeout);
    ec = co_await net::ConnectStream(socket_, options_.service);
    deadline_.Disarm();
    if (ec) co_return failed("connect to", ec);
    connected_at_ = Clock::now();
  }
  deadline_.Arm(options_.timeout);
  co_await asio::async_write(socket_, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    deadline_.Disarm();
    co_return failed("write to", ec);
  }
  size_t n = co_await asio::async_read_until(socket_, asio::dynamic_buffer(buffer_, kMaxReply), "\n\n",
                                             asio::redirect_error(asio::use_awaitable, ec));
  deadline_.Disarm();
  if (ec) co_return failed("read from", ec);
  std::string reply = buffer_.substr(0, n);
  buffer_.erase(0, n);
  ++requests_;
  last_used_ = Clock::now();
  Result<std::string> action = ParsePolicyReply(reply);
  if (!action.ok()) {
    Close();
    co_return Status::Temporary(options_.service + ": " + action.status().message());
  }
  co_return action;
}

}  // namespace postern::policy
