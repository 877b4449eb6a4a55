// peer_names.cc: see peer_names.h.
#include "runtime/daemon/peer_names.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

#include "util/strings.h"

namespace postern::daemon {

PeerNames LookUpPeerNames(const std::string& address) {
  PeerNames names;
  struct sockaddr_storage storage {};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<struct sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<struct sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    length = sizeof *v6;
  } else {
    return names;
  }
  char host[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<struct sockaddr*>(&storage), length, host, sizeof host, nullptr, 0, NI_NAMEREQD) !=
      0) {
    return names;
  }
  names.reverse_name = ToLower(host);
  struct addrinfo hints {};
  hints.ai_family = storage.ss_family;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* results = nullptr;
  if (getaddrinfo(host, nullptr, &hints, &results) != 0) return names;
  for (struct addrinfo* r = results; r != nullptr; r = r->ai_next) {
    char text[INET6_ADDRSTRLEN];
    const void* a = r->ai_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<struct sockaddr_in*>(r->ai_addr)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<struct sockaddr_in6*>(r->ai_addr)->sin6_addr);
    if (inet_ntop(r->ai_family, a, text, sizeof text) != nullptr && address == text) {
      names.name = names.reverse_name;
      break;
    }
  }
  freeaddrinfo(results);
  return names;
}

}  // namespace postern::daemon
