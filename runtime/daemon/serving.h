// serving.h: what the daemon serves and shares. A ServingImage is one
// verified image made ready: a Serving (session context, TLS context, client
// limits) for each smtpd service posternd listens for, each with the
// settings and policy its master.cf -o overrides give it. The server swaps
// the ServingImage atomically on reload and each connection pins the
// Serving it started with. DaemonShared holds what every connection uses.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mail/network_list.h"
#include "runtime/daemon/client_limiter.h"
#include "runtime/daemon/maillog.h"
#include "runtime/daemon/queue_id.h"
#include "runtime/dns/async_resolver.h"
#include "runtime/policy/policy_client.h"
#include "runtime/queue/queue_writer.h"
#include "runtime/session/session_config.h"
#include "runtime/verify/address_verifier.h"
#include "util/asio.h"

namespace postern::daemon {

class Connection;

struct Serving {
  std::string service;  // the master.cf service name
  std::shared_ptr<const session::SessionContext> session;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: no STARTTLS
  std::string tls_key;                             // TlsContextKey of the image
  ClientLimits limits;
  mail::NetworkList limit_exceptions;  // smtpd_client_event_limit_exceptions (points into the image)
  bool peername_lookup = true;         // smtpd_peername_lookup
  bool wrapper_mode = false;           // smtpd_tls_wrappermode: TLS from the first byte
  // Concurrent sessions of this service: master.cf's process limit, or
  // default_process_limit.
  size_t process_limit = 100;
  // check_policy_service: the smtpd_policy_service_* settings of every
  // client (the server is each restriction's), and where relative unix:
  // servers are (queue_directory).
  policy::PolicyClientOptions policy_client;
  std::string queue_directory;
};

struct ServingImage {
  std::shared_ptr<const image::Image> image;  // main.cf's view
  std::map<std::string, std::shared_ptr<const Serving>, std::less<>> services;
  // The service's Serving, or null.
  std::shared_ptr<const Serving> Find(std::string_view service) const {
    auto it = services.find(service);
    return it == services.end() ? nullptr : it->second;
  }
};

// Live connections, for shutdown and the process limits. Thread-safe.
class ConnectionRegistry {
 public:
  uint64_t Add(std::weak_ptr<Connection> connection, const std::string& service);
  void Remove(uint64_t id);
  size_t size() const;
  // Connections of one smtpd service.
  size_t Count(std::string_view service) const;
  template <typename F>
  void ForEach(F f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : connections_) {
      if (auto c = entry.connection.lock()) f(*c);
    }
  }
  // The server's drain: `drained` runs once, on the thread that removes
  // the last connection (at once when there is none). It must be short.
  void OnEmpty(std::function<void()> drained);

 private:
  mutable std::mutex mutex_;
  std::function<void()> on_empty_;
  struct Entry {
    std::weak_ptr<Connection> connection;
    std::string service;
  };
  uint64_t next_ = 0;
  std::unordered_map<uint64_t, Entry> connections_;
  std::map<std::string, size_t, std::less<>> per_service_;
};

struct DaemonShared {
  queue::QueueWriter* writer = nullptr;
  boost::asio::thread_pool* lookups = nullptr;        // blocking name lookups (peer_names.h)
  boost::asio::thread_pool* table_lookups = nullptr;  // policy decisions that ask live tables' servers
  dns::AsyncResolver* dns = nullptr;                  // the DNS records policy stages ask for
  verify::AddressVerifier* verifier = nullptr;        // reject_unverified_*; null: the cache could not be opened
  QueueIdGenerator ids;
  ClientLimiter limiter;
  ConnectionRegistry registry;
  std::atomic<uint64_t> stored{0};  // messages acknowledged with 250
};

}  // namespace postern::daemon
