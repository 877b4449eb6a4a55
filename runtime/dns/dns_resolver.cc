// dns_resolver.cc: see dns_resolver.h.
#include "runtime/dns/dns_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <mutex>

namespace postern::dns {
namespace {

// ares_library_init once per process.
void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

Status StatusOf(int code, std::string_view what, std::string_view name) {
  std::string text = std::string(what) + " " + std::string(name) + ": " + ares_strerror(code);
  switch (code) {
    case ARES_ENOTFOUND:
      return Status::NotFound("Host or domain name not found. Name service error for name=" + std::string(name) +
                              " type=" + std::string(what) + ": Host not found");
    case ARES_ENODATA:
      return Status::NotFound(text);
    case ARES_EBADNAME:
      return Status::Permanent(text);
    default:
      return Status::Temporary(text);
  }
}

struct MxAnswer {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<std::pair<int, std::string>> records;  // preference, host
};

void OnMx(void* arg, int status, int /*timeouts*/, unsigned char* buffer, int length) {
  auto* answer = static_cast<MxAnswer*>(arg);
  answer->done = true;
  answer->status = status;
  if (status != ARES_SUCCESS) return;
  struct ares_mx_reply* reply = nullptr;
  answer->status = ares_parse_mx_reply(buffer, length, &reply);
  for (struct ares_mx_reply* r = reply; r != nullptr; r = r->next) {
    answer->records.emplace_back(r->priority, r->host);
  }
  if (reply != nullptr) ares_free_data(reply);
}

struct AddressAnswer {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<std::string> addresses;
};

void OnAddresses(void* arg, int status, int /*timeouts*/, struct ares_addrinfo* result) {
  auto* answer = static_cast<AddressAnswer*>(arg);
  answer->done = true;
  answer->status = status;
  if (result == nullptr) return;
  for (struct ares_addrinfo_node* n = result->nodes; n != nullptr; n = n->ai_next) {
    char text[INET6_ADDRSTRLEN];
    const void* a = n->ai_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<struct sockaddr_in*>(n->ai_addr)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<struct sockaddr_in6*>(n->ai_addr)->sin6_addr);
    if (inet_ntop(n->ai_family, a, text, sizeof text) != nullptr &&
        std::find(answer->addresses.begin(), answer->addresses.end(), text) == answer->addresses.end()) {
      answer->addresses.emplace_back(text);
    }
  }
  ares_freeaddrinfo(result);
}

}  // namespace

struct DnsResolver::Channel {
  ares_channel channel = nullptr;
  ~Channel() {
    if (channel != nullptr) ares_destroy(channel);
  }
};

DnsResolver::DnsResolver(std::unique_ptr<Channel> channel) : channel_(std::move(channel)) {}
DnsResolver::~DnsResolver() = default;

Result<std::unique_ptr<DnsResolver>> DnsResolver::Create(const ResolverOptions& options) {
  InitLibrary();
  auto channel = std::make_unique<Channel>();
  struct ares_options o {};
  o.timeout = static_cast<int>(options.timeout.count());
  o.tries = options.tries;
  int rc = ares_init_options(&channel->channel, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) return Status::Temporary(std::string("c-ares: ") + ares_strerror(rc));
  if (!options.servers.empty()) {
    rc = ares_set_servers_ports_csv(channel->channel, options.servers.c_str());
    if (rc != ARES_SUCCESS) {
      return Status::Permanent("DNS servers \"" + options.servers + "\": " + ares_strerror(rc));
    }
  }
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(channel)));
}

void DnsResolver::Wait() {
  while (true) {
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    int mask = ares_getsock(channel_->channel, sockets, ARES_GETSOCK_MAXNUM);
    std::vector<struct pollfd> fds;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(mask, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(mask, i)) events |= POLLOUT;
      if (events != 0) fds.push_back(pollfd{sockets[i], events, 0});
    }
    if (fds.empty()) return;  // nothing in flight
    struct timeval limit {
      1, 0
    }, tv;
    struct timeval* t = ares_timeout(channel_->channel, &limit, &tv);
    int ms = static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000);
    poll(fds.data(), fds.size(), ms);
    for (const struct pollfd& p : fds) {
      ares_process_fd(channel_->channel, (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD,
                      (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD);
    }
    ares_process_fd(channel_->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
  }
}

Result<std::vector<std::string>> DnsResolver::LookupAddresses(std::string_view host) {
  std::lock_guard lock(mutex_);
  AddressAnswer answer;
  struct ares_addrinfo_hints hints {};
  hints.ai_family = AF_UNSPEC;
  std::string name(host);
  ares_getaddrinfo(channel_->channel, name.c_str(), nullptr, &hints, OnAddresses, &answer);
  Wait();
  if (!answer.done) return Status::Temporary("address lookup for " + name + " did not finish");
  if (answer.status != ARES_SUCCESS) return StatusOf(answer.status, "A", name);
  if (answer.addresses.empty()) return Status::NotFound("no address records for " + name);
  return answer.addresses;
}

Result<std::vector<MailExchanger>> DnsResolver::LookupMx(std::string_view domain) {
  std::string name(domain);
  MxAnswer answer;
  {
    std::lock_guard lock(mutex_);
    ares_query(channel_->channel, name.c_str(), ns_c_in, ns_t_mx, OnMx, &answer);
    Wait();
  }
  if (!answer.done) return Status::Temporary("MX lookup for " + name + " did not finish");
  std::vector<MailExchanger> exchangers;
  if (answer.status == ARES_ENODATA || (answer.status == ARES_SUCCESS && answer.records.empty())) {
    // No MX: the domain itself is the exchanger (RFC 5321 5.1).
    auto addresses = LookupAddresses(name);
    if (!addresses.ok()) return addresses.status();
    exchangers.push_back(MailExchanger{name, 0, *addresses});
    return exchangers;
  }
  if (answer.status != ARES_SUCCESS) return StatusOf(answer.status, "MX", name);
  // By preference; equal preferences in random order, to spread the load.
  std::shuffle(answer.records.begin(), answer.records.end(), random_);
  std::stable_sort(answer.records.begin(), answer.records.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Status last = Status::Ok();
  for (const auto& [preference, host] : answer.records) {
    if (host.empty() || host == ".") {
      return Status::Permanent("domain " + name + " does not accept mail (null MX, RFC 7505)");
    }
    auto addresses = LookupAddresses(host);
    if (!addresses.ok()) {
      last = addresses.status();
      continue;
    }
    exchangers.push_back(MailExchanger{host, preference, *addresses});
  }
  if (exchangers.empty()) {
    return last.temporary() ? last : Status::Temporary("no address for any MX host of " + name);
  }
  return exchangers;
}

}  // namespace postern::dns
