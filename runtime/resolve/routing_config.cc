// routing_config.cc: see routing_config.h.
#include "runtime/resolve/routing_config.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "mail/lookup_failure.h"
#include "mail/parameter_list.h"
#include "mail/passwd_table.h"
#include "runtime/image/image_parameters.h"
#include "util/strings.h"

namespace postern::resolve {
namespace {

std::vector<std::string> Split(std::string_view value) {
  return mail::SplitParameterList(value).value_or(std::vector<std::string>{});
}

bool HasWord(std::string_view list, std::string_view word) {
  for (const std::string& w : Split(list)) {
    if (EqualsIgnoreCase(w, word)) return true;
  }
  return false;
}

using image::IsTableReference;

void ProbeInterfaces(std::vector<mail::IpAddress>* out) {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return;
  for (struct ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    mail::IpAddress a;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      std::memcpy(a.bytes.data(), &sin->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      a.ipv6 = true;
      std::memcpy(a.bytes.data(), &sin6->sin6_addr, 16);
    } else {
      continue;
    }
    out->push_back(a);
  }
  freeifaddrs(list);
}

class Reader {
 public:
  Reader(const image::Image& image, RoutingConfig* config) : image_(image), config_(config) {}

  std::string Get(std::string_view name) const { return image_.Text(name); }
  // Typed values from settings.bin (image_parameters.h).
  bool GetBool(std::string_view name) const { return image::BoolParameter(image_, name); }
  int64_t GetInt(std::string_view name) const { return image::IntParameter(image_, name); }

  TableList Tables(const std::string& name) {
    TableList list;
    list.parameter = name;
    for (const std::string& item : Split(Get(name))) {
      const mail::LookupTable* table = Bind(image_.Table(item));
      if (table == nullptr) config_->missing_tables.push_back(name + ": " + item);
      list.tables.push_back({item, table, ShapesOf(table)});
    }
    return list;
  }

  mail::DomainList Domains(const std::string& name, bool parent_style) {
    return image::MatchListParameter(image_, name, &config_->missing_tables, parent_style,
                                     [this](const mail::LookupTable* table) { return Bind(table); });
  }

 private:
  uint8_t ShapesOf(const mail::LookupTable* table) {
    if (table == nullptr) return kAllKeyShapes;
    auto found = shapes_.find(table);
    if (found != shapes_.end()) return found->second;
    uint8_t shapes = 0;
    if (!table->ForEachEntry([&shapes](std::string_view key, std::string_view) { shapes |= KeyShapeOf(key); })) {
      shapes = kAllKeyShapes;  // keys that cannot be listed: any shape
    }
    shapes_.emplace(table, shapes);
    return shapes;
  }

  // The system user table is the configured stand-in, if any.
  const mail::LookupTable* Bind(const mail::LookupTable* table) const {
    if (table != nullptr && dynamic_cast<const mail::PasswdTable*>(table) != nullptr) return config_->users.get();
    return table;
  }

  const image::Image& image_;
  RoutingConfig* config_;
  std::map<const mail::LookupTable*, uint8_t> shapes_;
};

}  // namespace

TableList TablesOf(const image::Image& image, const std::string& parameter) {
  TableList list;
  list.parameter = parameter;
  for (const std::string& item : Split(image.Text(parameter))) list.tables.push_back({item, image.Table(item)});
  return list;
}

RoutingConfig RoutingConfig::FromImage(const image::Image& image, std::shared_ptr<const mail::LookupTable> users) {
  RoutingConfig c;
  c.users = users ? std::move(users) : std::make_shared<mail::PasswdTable>();
  Reader r(image, &c);
  c.myhostname = r.Get("myhostname");
  c.mydomain = r.Get("mydomain");
  c.myorigin = r.Get("myorigin");
  c.append_at_myorigin = r.GetBool("append_at_myorigin");
  c.append_dot_mydomain = r.GetBool("append_dot_mydomain");
  c.recipient_delimiter = r.Get("recipient_delimiter");
  std::string propagate = r.Get("propagate_unmatched_extensions");
  c.propagate_canonical = HasWord(propagate, "canonical");
  c.propagate_virtual = HasWord(propagate, "virtual");
  c.propagate_alias = HasWord(propagate, "alias");

  c.canonical_maps = r.Tables("canonical_maps");
  c.sender_canonical_maps = r.Tables("sender_canonical_maps");
  c.recipient_canonical_maps = r.Tables("recipient_canonical_maps");
  c.virtual_alias_maps = r.Tables("virtual_alias_maps");
  c.virtual_mailbox_maps = r.Tables("virtual_mailbox_maps");
  c.relocated_maps = r.Tables("relocated_maps");
  c.transport_maps = r.Tables("transport_maps");
  c.alias_maps = r.Tables("alias_maps");
  c.local_recipient_maps = r.Tables("local_recipient_maps");
  c.relay_recipient_maps = r.Tables("relay_recipient_maps");
  c.virtual_alias_recursion_limit = static_cast<int>(r.GetInt("virtual_alias_recursion_limit"));
  c.virtual_alias_expansion_limit = static_cast<int>(r.GetInt("virtual_alias_expansion_limit"));
  c.virtual_alias_address_length_limit = static_cast<size_t>(r.GetInt("virtual_alias_address_length_limit"));

  std::string parent = r.Get("parent_domain_matches_subdomains");
  c.mydestination = r.Domains("mydestination", HasWord(parent, "mydestination"));
  c.virtual_alias_domains = r.Domains("virtual_alias_domains", false);
  c.virtual_mailbox_domains = r.Domains("virtual_mailbox_domains", false);
  c.relay_domains = r.Domains("relay_domains", HasWord(parent, "relay_domains"));
  c.transport_parent_style = HasWord(parent, "transport_maps");
  {
    mail::LookupFailureScope lookups;
    for (const TableList::Entry& entry : c.transport_maps.tables) {
      if (entry.table == nullptr) break;
      if (auto value = entry.table->Lookup("*")) {
        c.transport_wildcard = AddressHit{std::move(*value), "*", entry.reference, ""};
        break;
      }
    }
    // A table that does not answer now is asked again for each address.
    c.transport_wildcard_per_address = lookups.failed();
  }

  for (const char* name : {"inet_interfaces", "proxy_interfaces"}) {
    for (const std::string& item : Split(r.Get(name))) {
      if (EqualsIgnoreCase(item, "all")) {
        c.inet_interfaces_all = true;
      } else if (EqualsIgnoreCase(item, "loopback-only") || EqualsIgnoreCase(item, "localhost")) {
        c.interface_addresses.push_back(*mail::IpAddress::Parse("127.0.0.1"));
        c.interface_addresses.push_back(*mail::IpAddress::Parse("::1"));
      } else if (auto a = mail::IpAddress::Parse(item)) {
        c.interface_addresses.push_back(*a);
      }
    }
  }
  if (c.inet_interfaces_all) ProbeInterfaces(&c.interface_addresses);

  c.local_transport = r.Get("local_transport");
  c.virtual_transport = r.Get("virtual_transport");
  c.relay_transport = r.Get("relay_transport");
  c.default_transport = r.Get("default_transport");
  c.relayhost = r.Get("relayhost");
  c.mailbox_transport = r.Get("mailbox_transport");
  c.mailbox_command = r.Get("mailbox_command");
  c.home_mailbox = r.Get("home_mailbox");
  c.mail_spool_directory = r.Get("mail_spool_directory");
  c.luser_relay = r.Get("luser_relay");
  std::string commands = r.Get("allow_mail_to_commands");
  std::string files = r.Get("allow_mail_to_files");
  c.commands_from_alias = HasWord(commands, "alias");
  c.commands_from_include = HasWord(commands, "include");
  c.files_from_alias = HasWord(files, "alias");
  c.files_from_include = HasWord(files, "include");
  c.show_user_unknown_table_name = r.GetBool("show_user_unknown_table_name");
  c.allow_untrusted_routing = r.GetBool("allow_untrusted_routing");
  c.allow_percent_hack = r.GetBool("allow_percent_hack");
  c.swap_bangpath = r.GetBool("swap_bangpath");
  c.owner_request_special = r.GetBool("owner_request_special");
  c.unknown_local_recipient_reject_code = static_cast<int>(r.GetInt("unknown_local_recipient_reject_code"));
  c.unknown_virtual_alias_reject_code = static_cast<int>(r.GetInt("unknown_virtual_alias_reject_code"));
  c.unknown_virtual_mailbox_reject_code = static_cast<int>(r.GetInt("unknown_virtual_mailbox_reject_code"));
  c.unknown_relay_recipient_reject_code = static_cast<int>(r.GetInt("unknown_relay_recipient_reject_code"));

  for (const mail::ServiceEntry& s : image.services()) {
    if (s.type == "unix") c.service_commands.emplace(s.name, s.command);
  }
  return c;
}

std::string_view RoutingConfig::CommandOf(std::string_view transport) const {
  auto it = service_commands.find(transport);
  if (it != service_commands.end()) return it->second;
  // Without a master.cf, Postfix's stock services are implied.
  return service_commands.empty() ? transport : std::string_view();
}

}  // namespace postern::resolve
