// serving.h: what the daemon serves and shares. A Serving is one verified
// image made ready (session context, TLS context, client limits); the
// server swaps it atomically on reload and each connection pins the one it
// started with. DaemonShared holds the services every connection uses.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "mail/network_list.h"
#include "runtime/daemon/client_limiter.h"
#include "runtime/daemon/maillog.h"
#include "runtime/daemon/queue_id.h"
#include "runtime/queue/queue_writer.h"
#include "runtime/session/session_config.h"
#include "util/asio.h"

namespace postern::daemon {

class Connection;

struct Serving {
  std::shared_ptr<const session::SessionContext> session;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: no STARTTLS
  std::string tls_key;                             // TlsContextKey of the image
  ClientLimits limits;
  mail::NetworkList limit_exceptions;  // smtpd_client_event_limit_exceptions (points into the image)
  bool peername_lookup = true;         // smtpd_peername_lookup
};

// Live connections, for shutdown. Thread-safe.
class ConnectionRegistry {
 public:
  uint64_t Add(std::weak_ptr<Connection> connection);
  void Remove(uint64_t id);
  size_t size() const;
  template <typename F>
  void ForEach(F f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [id, weak] : connections_) {
      if (auto c = weak.lock()) f(*c);
    }
  }

 private:
  mutable std::mutex mutex_;
  uint64_t next_ = 0;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections_;
};

struct DaemonShared {
  queue::QueueWriter* writer = nullptr;
  boost::asio::thread_pool* lookups = nullptr;  // blocking name lookups (peer_names.h)
  QueueIdGenerator ids;
  MailLog log{"smtpd"};
  ClientLimiter limiter;
  ConnectionRegistry registry;
  std::atomic<uint64_t> stored{0};  // messages acknowledged with 250
};

}  // namespace postern::daemon
