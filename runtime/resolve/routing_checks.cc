// routing_checks.cc: see routing_checks.h.
#include "runtime/resolve/routing_checks.h"

#include <set>

#include "mail/master_service_support.h"
#include "mail/parameter_list.h"
#include "mail/pipe_service.h"
#include "runtime/image/image_parameters.h"
#include "util/strings.h"

namespace postern::resolve {
namespace {

bool ValidHostPort(std::string_view text, std::string* why) {
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *why = "missing ']'";
      return false;
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *why = "unexpected text after ']'";
        return false;
      }
      port = rest.substr(1);
      if (port.empty()) {
        *why = "empty port after ':'";
        return false;
      }
    }
    if (StartsWith(host, "ipv6:") || StartsWith(host, "IPv6:")) host.remove_prefix(5);
    if (host.empty()) {
      *why = "empty host name in []";
      return false;
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      if (port.empty()) {
        *why = "empty port after ':'";
        return false;
      }
    }
    if (host.empty()) {
      *why = "empty host name";
      return false;
    }
    for (char c : host) {
      if (!IsAlnum(c) && c != '.' && c != '-' && c != '_') {
        *why = "'" + std::string(1, c) + "' in host name \"" + std::string(host) +
               "\" (write [address] for an IP address)";
        return false;
      }
    }
  }
  if (!port.empty()) {
    bool digits = true;
    for (char c : port) digits = digits && IsDigit(c);
    if (digits && (port.size() > 5 || std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535)) {
      *why = "port " + std::string(port) + " is out of range";
      return false;
    }
    if (!digits) {
      for (char c : port) {
        if (!IsAlnum(c) && c != '-') {
          *why = "bad port \"" + std::string(port) + "\"";
          return false;
        }
      }
    }
  }
  return true;
}

class Checker {
 public:
  explicit Checker(const Resolver& resolver) : r_(resolver), c_(resolver.config()) {}

  std::vector<RoutingProblem> Run() {
    CheckVirtualAliases();
    CheckAliases();
    CheckTransports();
    CheckDomainClasses();
    CheckPostmaster();
    return std::move(problems_);
  }

 private:
  void Add(RoutingProblem p) { problems_.push_back(std::move(p)); }

  std::set<std::string> pipes_checked_;  // the pipe services PC0207 looked at

  static void ForEachKey(const TableList& list,
                         const std::function<void(const std::string&, std::string_view, std::string_view)>& visit) {
    for (const TableList::Entry& entry : list.tables) {
      if (entry.table == nullptr) continue;
      entry.table->ForEachEntry(
          [&](std::string_view key, std::string_view value) { visit(entry.reference, key, value); });
    }
  }

  // The reason the resolver's trace gives for a failed expansion.
  std::string Why(const std::string& address, std::string_view stage) {
    ResolveOptions options;
    options.smtpd_checks = false;
    Resolution r = r_.Resolve(address, options);
    for (auto it = r.steps.rbegin(); it != r.steps.rend(); ++it) {
      if (it->stage == stage) return it->result;
    }
    return "";
  }

  void CheckVirtualAliases() {
    ForEachKey(c_.virtual_alias_maps, [&](const std::string& table, std::string_view key, std::string_view) {
      if (key.empty() || key.front() == '@' || key.find('@') == std::string_view::npos) return;
      ResolveOptions options;
      options.smtpd_checks = false;
      options.record_steps = false;
      std::string address(key);
      for (const Delivery& d : r_.Resolve(address, options).results) {
        if (d.status == Delivery::Status::kDefer && StartsWith(d.text, "4.6.0")) {
          Add({"PC0130", true, "virtual_alias_maps", table, address,
               "virtual alias expansion of " + address + " fails: " + Why(address, "virtual"),
               "Postfix would defer this mail (4.6.0 Alias expansion error); look for a loop between entries"});
          return;
        }
      }
    });
  }

  void CheckAliases() {
    if (!r_.IsLocalDomain(ToLower(c_.myhostname))) return;
    ForEachKey(c_.alias_maps, [&](const std::string& table, std::string_view key, std::string_view) {
      std::string address = std::string(key) + "@" + c_.myhostname;
      ResolveOptions options;
      options.smtpd_checks = false;
      options.record_steps = false;
      for (const Delivery& d : r_.Resolve(address, options).results) {
        if (d.status == Delivery::Status::kBounce && StartsWith(d.text, "5.4.6")) {
          Add({"PC0131", true, "alias_maps", table, std::string(key),
               "alias \"" + std::string(key) + "\" is part of a loop; mail to it is bounced (" + d.text.substr(6) + ")",
               "local(8) expands at most 100 alias levels and forwarded mail that comes back is a loop; break the "
               "cycle"});
          return;
        }
      }
    });
  }

  void CheckTransport(const std::string& parameter, const std::string& table, const std::string& key,
                      std::string_view value) {
    size_t colon = value.find(':');
    std::string transport(value.substr(0, colon));
    std::string nexthop = colon == std::string_view::npos ? "" : std::string(value.substr(colon + 1));
    if (transport.empty()) return;  // ":nexthop" keeps the class's transport
    std::string_view command = c_.CommandOf(transport);
    if (command.empty()) {
      if (!reported_.insert(transport + '\0' + table + '\0' + key).second) return;
      Add({"PC0132", true, parameter, table, key,
           "transport \"" + transport + "\" is not a master.cf service; mail routed to it would be deferred",
           "define it in master.cf, or use one of its services (smtp, relay, local, lmtp, ...)"});
      return;
    }
    if (!mail::IsImplementedAgent(command)) {
      if (!reported_.insert(transport + '\0' + table + '\0' + key).second) return;
      Add({"PC0136", true, parameter, table, key,
           "transport \"" + transport + "\" runs " + std::string(command) +
               ", which posternd does not implement; mail routed to it would stay deferred",
           "posternd delivers with smtp, lmtp, local, pipe, discard and error services (docs/delivery.md)"});
      return;
    }
    if (command == "pipe") CheckPipeRecipientLimit(parameter, table, key, transport);
    if (nexthop.empty() || transport == "error" || transport == "retry") return;
    std::string why;
    if (!ValidNexthop(command, nexthop, &why)) {
      Add({"PC0133", true, parameter, table, key,
           "bad nexthop \"" + nexthop + "\" for transport " + transport + ": " + why,
           "write host, host:port, [host] or [host]:port (lmtp: also unix:/path, inet:host:port)"});
    }
  }

  // pipe(8) defers, for ever, a delivery to several recipients through a
  // service with flag D or O: its <transport>_destination_recipient_limit
  // must be 1 (its -o override, main.cf's, else the default's).
  void CheckPipeRecipientLimit(const std::string& parameter, const std::string& table, const std::string& key,
                               const std::string& transport) {
    if (!pipes_checked_.insert(transport).second) return;
    const image::Image& image = r_.image();
    const mail::ServiceEntry* service = image::TransportService(image, transport);
    if (service == nullptr) return;
    Result<mail::PipeService> pipe = mail::ParsePipeService(service->arguments);
    if (!pipe.ok() || (!pipe->flags.delivered_to && !pipe->flags.original_to)) return;  // PC0206 for the former
    std::string name = transport + "_destination_recipient_limit";
    std::string setting = image::ServiceSettingName(image, transport, name);
    int64_t limit = image.settings().Has(setting) ? image.settings().Integer(setting)
                                                  : image::IntParameter(image, "default_destination_recipient_limit");
    if (limit == 1) return;
    std::string flag = pipe->flags.delivered_to ? "D" : "O";
    Add({"PC0207", false, parameter, table, key,
         "transport \"" + transport + "\" is a pipe service with flag " + flag +
             ", which needs one recipient per delivery, but " + name + " is " + std::to_string(limit) +
             ": mail for several of its recipients would stay deferred",
         "set " + name + " = 1 in main.cf (pipe(8): SINGLE-RECIPIENT DELIVERY)"});
  }

  void CheckTransports() {
    // relayhost is an smtp nexthop whatever master.cf says.
    for (const std::string& relay : mail::SplitParameterList(c_.relayhost).value_or(std::vector<std::string>{})) {
      std::string why;
      if (!ValidNexthop("smtp", relay, &why)) {
        Add({"PC0133", true, "relayhost", "", "", "bad relayhost \"" + relay + "\": " + why,
             "write host, host:port, [host] or [host]:port"});
      }
    }
    if (c_.service_commands.empty()) return;  // no master.cf to check against
    // The class transports that some domain can reach.
    std::vector<std::pair<std::string, std::string>> used = {{"local_transport", c_.local_transport},
                                                             {"default_transport", c_.default_transport},
                                                             {"mailbox_transport", c_.mailbox_transport}};
    if (!c_.virtual_mailbox_domains.empty()) used.emplace_back("virtual_transport", c_.virtual_transport);
    if (!c_.relay_domains.empty()) used.emplace_back("relay_transport", c_.relay_transport);
    for (const auto& [name, value] : used) {
      if (!value.empty()) CheckTransport(name, "", "", value);
    }
    ForEachKey(c_.transport_maps, [&](const std::string& table, std::string_view key, std::string_view value) {
      CheckTransport("transport_maps", table, std::string(key), Trim(value));
    });
  }

  void CheckDomainClasses() {
    std::set<std::string> candidates;
    for (const char* name : {"mydestination", "virtual_alias_domains", "virtual_mailbox_domains", "relay_domains"}) {
      for (std::string item : mail::SplitParameterList(r_.image().Text(name)).value_or(std::vector<std::string>{})) {
        if (item.empty() || item.front() == '!' || item.find(':') != std::string::npos) continue;
        candidates.insert(ToLower(item));
      }
    }
    for (const TableList* list : {&c_.virtual_mailbox_maps, &c_.virtual_alias_maps}) {
      ForEachKey(*list, [&](const std::string&, std::string_view key, std::string_view) {
        if (!key.empty() && key.find('@') == std::string_view::npos) candidates.insert(std::string(key));
      });
    }
    // The pairs trivial-rewrite warns about ("do not list domain X in BOTH
    // A and B"); mydestination and relay_domains together is allowed.
    for (const std::string& domain : candidates) {
      if (domain.front() == '.' || domain.front() == '/') continue;
      bool local = r_.IsLocalDomain(domain);
      bool alias = c_.virtual_alias_domains.Match(domain);
      bool mailbox = c_.virtual_mailbox_domains.Match(domain);
      bool relay = c_.relay_domains.Match(domain);
      std::pair<const char*, const char*> pair;
      if (local && alias) {
        pair = {"mydestination", "virtual_alias_domains"};
      } else if (local && mailbox) {
        pair = {"mydestination", "virtual_mailbox_domains"};
      } else if (alias && mailbox) {
        pair = {"virtual_alias_domains", "virtual_mailbox_domains"};
      } else if (alias && relay) {
        pair = {"virtual_alias_domains", "relay_domains"};
      } else if (mailbox && relay) {
        pair = {"virtual_mailbox_domains", "relay_domains"};
      } else {
        continue;
      }
      Add({"PC0134", false, pair.second, "", domain,
           "domain " + domain + " is listed in both " + pair.first + " and " + pair.second,
           std::string("Postfix warns about this and treats it as ") + pair.first +
               "; list each domain in one address class"});
    }
  }

  void CheckPostmaster() {
    if (!r_.IsLocalDomain(ToLower(c_.myhostname))) return;
    std::string address = "postmaster@" + c_.myhostname;
    ResolveOptions options;
    options.record_steps = false;
    for (const Delivery& d : r_.Resolve(address, options).results) {
      if (d.status == Delivery::Status::kReject) {
        Add({"PC0135", false, "alias_maps", "", "", "mail to " + address + " is rejected (" + d.text + ")",
             "RFC 5321 requires a postmaster mailbox; add \"postmaster: root\" to the aliases"});
      }
    }
  }

  const Resolver& r_;
  const RoutingConfig& c_;
  std::vector<RoutingProblem> problems_;
  std::set<std::string> reported_;
};

}  // namespace

bool ValidNexthop(std::string_view command, std::string_view nexthop, std::string* why) {
  if (command == "lmtp") {
    if (StartsWith(nexthop, "unix:")) {
      if (nexthop.size() > 5) return true;
      *why = "empty socket path";
      return false;
    }
    if (StartsWith(nexthop, "inet:")) nexthop.remove_prefix(5);
    return ValidHostPort(nexthop, why);
  }
  if (command == "smtp") return ValidHostPort(nexthop, why);
  return true;  // other agents give the nexthop their own meaning
}

std::vector<RoutingProblem> CheckRouting(const Resolver& resolver) { return Checker(resolver).Run(); }

}  // namespace postern::resolve
