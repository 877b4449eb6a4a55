// machine_facts.cc: see machine_facts.h.
#include "compiler/config/machine_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace postern::config {
namespace {

int PrefixLength(const unsigned char* mask, size_t size) {
  int bits = 0;
  for (size_t i = 0; i < size; ++i) bits += std::popcount(static_cast<unsigned>(mask[i]));
  return bits;
}

}  // namespace

MachineFacts MachineFacts::Probe() {
  MachineFacts facts;
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) == 0) facts.hostname = name.data();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return facts;
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_netmask == nullptr) continue;
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (ifa->ifa_addr->sa_family == AF_INET) {
      sockaddr_in addr;
      sockaddr_in mask;
      std::memcpy(&addr, ifa->ifa_addr, sizeof addr);
      std::memcpy(&mask, ifa->ifa_netmask, sizeof mask);
      inet_ntop(AF_INET, &addr.sin_addr, text.data(), text.size());
      facts.addresses.push_back(
          {text.data(), PrefixLength(reinterpret_cast<const unsigned char*>(&mask.sin_addr), 4), false});
    } else if (ifa->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 addr;
      sockaddr_in6 mask;
      std::memcpy(&addr, ifa->ifa_addr, sizeof addr);
      std::memcpy(&mask, ifa->ifa_netmask, sizeof mask);
      inet_ntop(AF_INET6, &addr.sin6_addr, text.data(), text.size());
      facts.addresses.push_back(
          {text.data(), PrefixLength(reinterpret_cast<const unsigned char*>(&mask.sin6_addr), 16), true});
    }
  }
  freeifaddrs(list);
  // Postfix lists IPv4 interfaces before IPv6 ones.
  std::stable_partition(facts.addresses.begin(), facts.addresses.end(),
                        [](const InterfaceAddress& a) { return !a.ipv6; });
  return facts;
}

std::string NetworkText(const InterfaceAddress& address, int prefix_length) {
  int family = address.ipv6 ? AF_INET6 : AF_INET;
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(family, address.address.c_str(), bytes.data()) != 1) return address.address;
  size_t size = address.ipv6 ? 16 : 4;
  for (size_t i = 0; i < size; ++i) {
    int keep = std::clamp(prefix_length - static_cast<int>(i * 8), 0, 8);
    bytes[i] = static_cast<unsigned char>(bytes[i] & (0xff00 >> keep));
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  inet_ntop(family, bytes.data(), text.data(), text.size());
  std::string network = text.data();
  if (address.ipv6) network = "[" + network + "]";
  return network + "/" + std::to_string(prefix_length);
}

}  // namespace postern::config
