// async_resolver.h: DNS for the SMTP stages (DNS lists, unknown domains)
// and for delivery (mail_exchangers.h):
// c-ares on a thread of its own, which alone touches the channel and polls
// its sockets, so no lock is held around a query and any number are in
// flight at once. Answers are cached for their TTL (a negative answer for
// its SOA minimum, RFC 2308, at most an hour); identical questions in
// flight share one query. Each question is answered once, through a
// callback on the resolver's thread (AsyncQuery posts it back to the
// caller's executor).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/asio.h"
#include "util/status.h"

namespace postern::dns {

struct ResolverOptions {
  // "127.0.0.1:5353,[::1]:53"; empty: the system's (/etc/resolv.conf).
  std::string servers;
  std::chrono::milliseconds timeout{5000};
  int tries = 2;
};

enum class RecordType { kA, kAaaa, kMx, kTxt, kNs };

struct DnsReply {
  enum class Status { kFound, kNotFound, kTemporary };
  Status status = Status::kTemporary;
  // A, AAAA: addresses; MX: host names by preference ("." for a null MX);
  // TXT: each record's strings joined; NS: host names.
  std::vector<std::string> values;
  std::vector<int> preferences;  // MX: each host's preference
  std::string error;             // kTemporary: why
};

class AsyncResolver {
 public:
  static Result<std::unique_ptr<AsyncResolver>> Create(const ResolverOptions& options);
  ~AsyncResolver();  // questions still open are answered kTemporary
  AsyncResolver(const AsyncResolver&) = delete;
  AsyncResolver& operator=(const AsyncResolver&) = delete;

  using Callback = std::function<void(DnsReply)>;
  // Thread-safe. `done` runs on the resolver's thread, which the first
  // question starts (a daemon creates its resolver before it forks).
  void Query(std::string name, RecordType type, Callback done);

 private:
  struct State;
  explicit AsyncResolver(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Query() for a coroutine: the reply comes back on its executor.
boost::asio::awaitable<DnsReply> AsyncQuery(AsyncResolver& resolver, std::string name, RecordType type);

// Every question at once, for a coroutine: the replies in the questions'
// order, when the last has come.
boost::asio::awaitable<std::vector<DnsReply>> AsyncQueryAll(AsyncResolver& resolver,
                                                            std::vector<std::pair<std::string, RecordType>> questions);

}  // namespace postern::dns
