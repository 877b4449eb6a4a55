// routing_config.h: the parameters the resolver uses, read once from an
// image into typed form (lists split, tables bound, domain lists built), so
// a resolution never parses text.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/domain_list.h"
#include "mail/ip_address.h"
#include "runtime/image/image.h"
#include "runtime/resolve/address_hit.h"

namespace postern::resolve {

// Key shapes, as bits: "user@domain", "@domain", ".parent", anything else
// ("user", "domain", "*").
inline constexpr uint8_t kKeyAddress = 1, kKeyAtDomain = 2, kKeyParent = 4, kKeyPlain = 8;
inline constexpr uint8_t kAllKeyShapes = 15;

inline uint8_t KeyShapeOf(std::string_view key) {
  if (key.empty()) return kKeyPlain;
  if (key.front() == '@') return kKeyAtDomain;
  if (key.front() == '.') return kKeyParent;
  return key.find('@') != std::string_view::npos ? kKeyAddress : kKeyPlain;
}

// A list of lookup tables consulted in order (a `*_maps` parameter).
struct TableList {
  std::string parameter;
  struct Entry {
    std::string reference;
    const mail::LookupTable* table = nullptr;  // null: not in the image (a lookup error)
    // Which key shapes the table holds (KeyShapeOf): a lookup of a key of
    // another shape cannot match, so it is skipped. All shapes for tables
    // whose keys are not enumerable (patterns, static, passwd).
    uint8_t shapes = kAllKeyShapes;
  };
  std::vector<Entry> tables;
  bool empty() const { return tables.empty(); }
};

// The tables a `*_maps` parameter of `image` names, for a lookup outside
// routing (smtp_sasl_password_maps): every key shape, no stand-ins.
TableList TablesOf(const image::Image& image, const std::string& parameter);

struct RoutingConfig {
  std::string myorigin, myhostname, mydomain;
  bool append_at_myorigin = true;
  bool append_dot_mydomain = false;
  std::string recipient_delimiter;
  bool propagate_canonical = true, propagate_virtual = true, propagate_alias = false;

  TableList canonical_maps, sender_canonical_maps, recipient_canonical_maps;
  TableList virtual_alias_maps, virtual_mailbox_maps, relocated_maps, transport_maps;
  TableList alias_maps, local_recipient_maps, relay_recipient_maps;
  int virtual_alias_recursion_limit = 1000;
  int virtual_alias_expansion_limit = 1000;
  size_t virtual_alias_address_length_limit = 1000;

  mail::DomainList mydestination, virtual_alias_domains, virtual_mailbox_domains, relay_domains;
  bool inet_interfaces_all = false;
  std::vector<mail::IpAddress> interface_addresses;  // inet_interfaces + proxy_interfaces literals
  bool transport_parent_style = false;
  // The transport_maps entry for "*", looked up once.
  std::optional<AddressHit> transport_wildcard;
  bool transport_wildcard_per_address = false;  // a table failed to answer for "*" when this was built

  std::string local_transport, virtual_transport, relay_transport, default_transport, relayhost;
  std::string mailbox_transport, mailbox_command, home_mailbox, mail_spool_directory, luser_relay;
  // allow_mail_to_commands / allow_mail_to_files, by where the destination
  // came from ("alias" or "include").
  bool commands_from_alias = true, commands_from_include = false;
  bool files_from_alias = true, files_from_include = false;
  bool show_user_unknown_table_name = true;
  bool allow_untrusted_routing = false;
  bool allow_percent_hack = true;
  bool swap_bangpath = true;
  bool owner_request_special = true;
  int unknown_local_recipient_reject_code = 550;
  int unknown_virtual_alias_reject_code = 550;
  int unknown_virtual_mailbox_reject_code = 550;
  int unknown_relay_recipient_reject_code = 550;

  // The master.cf program (command) behind each service name.
  std::map<std::string, std::string, std::less<>> service_commands;

  // The system's users (getpwnam), for local(8) and unix:passwd.byname.
  std::shared_ptr<const mail::LookupTable> users;

  // Tables named by the configuration that the image does not hold.
  std::vector<std::string> missing_tables;

  // `users`, when not null, stands in for the system's user database (a dry
  // run for another machine: `postern trace --users FILE`).
  static RoutingConfig FromImage(const image::Image& image, std::shared_ptr<const mail::LookupTable> users = nullptr);
  // The master.cf command of `transport` ("local", "smtp", ...), or "".
  std::string_view CommandOf(std::string_view transport) const;
};

}  // namespace postern::resolve
