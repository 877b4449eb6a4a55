// policy_client.h: a client of one policy server (check_policy_service,
// SMTPD_POLICY_README) for one SMTP session. The connection is made at
// the first request and kept: Postfix's smtpd keeps it too, and a policy
// server (postgrey, policyd-spf) serves a connection request after
// request. It is closed after smtpd_policy_service_max_idle without a
// request, smtpd_policy_service_max_ttl after it was made, or
// smtpd_policy_service_request_limit requests, and made again when it
// breaks. A request is tried smtpd_policy_service_try_limit times,
// smtpd_policy_service_retry_delay apart, each try within
// smtpd_policy_service_timeout; an error means none succeeded (the caller
// applies smtpd_policy_service_default_action).
//
// Runs on the session's executor; one request at a time. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "util/asio.h"
#include "util/io_deadline.h"
#include "util/status.h"

namespace postern::policy {

struct PolicyClientOptions {
  std::string service;  // "inet:host:port", or "unix:path" (absolute, or relative to queue_directory)
  std::chrono::seconds timeout{100};
  int try_limit = 2;
  std::chrono::seconds retry_delay{1};
  std::chrono::seconds max_idle{300};
  std::chrono::seconds max_ttl{1000};
  int64_t request_limit = 0;  // 0: no limit
};

// The value of the action= attribute in `reply` (the lines before the
// empty line), or an error for a reply without one.
Result<std::string> ParsePolicyReply(std::string_view reply);

class PolicyClient {
 public:
  PolicyClient(boost::asio::any_io_executor executor, PolicyClientOptions options);

  // `request`: the attribute lines and the empty line (vm/policy_request.h).
  // The server's action.
  boost::asio::awaitable<Result<std::string>> Ask(std::string request);

 private:
  boost::asio::awaitable<Result<std::string>> Try(const std::string& request);
  void Close();

  boost::asio::any_io_executor executor_;
  PolicyClientOptions options_;
  boost::asio::generic::stream_protocol::socket socket_;
  IoDeadline<boost::asio::generic::stream_protocol::socket> deadline_;  // options_.timeout per wait
  std::string buffer_;
  std::chrono::steady_clock::time_point connected_at_, last_used_;
  int64_t requests_ = 0;  // on this connection
};

}  // namespace postern::policy
