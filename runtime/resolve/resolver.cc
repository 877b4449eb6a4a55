// resolver.cc: see resolver.h. References are to Postfix's programs whose
// behaviour each step reproduces.
#include "runtime/resolve/resolver.h"

#include <algorithm>
#include <set>

#include "mail/address.h"
#include "mail/enhanced_status.h"
#include "mail/lookup_failure.h"
#include "runtime/resolve/address_lookup.h"
#include "util/strings.h"

namespace postern::resolve {
namespace {

constexpr int kCanonicalRecursionLimit = 10;  // cleanup_map11's MAX_RECURSION
constexpr int kForwardDepthLimit = 50;        // like hopcount_limit: a forwarding loop ends here
constexpr int kMaxAliasLevel = 100;           // local(8)'s MAX_ALIAS_LEVEL
constexpr int kWorkLimit = 20000;             // local deliveries per resolution, against exponential aliases

// "parameter table", naming where a trace step looked.
std::string Where(std::string_view parameter, std::string_view table) {
  std::string out(parameter);
  out += ' ';
  out += table;
  return out;
}

// The domain of an address, lowercased (copied as is when it already is).
std::string DomainOf(std::string_view address) {
  size_t at = address.rfind('@');
  std::string_view domain = at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
  bool lower = std::none_of(domain.begin(), domain.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return lower ? std::string(domain) : ToLower(domain);
}

std::string Bracket(std::string_view address) { return "<" + std::string(address) + ">"; }

// The (transport, nexthop) of "transport:nexthop", pointing into `value`.
std::pair<std::string_view, std::string_view> SplitTransport(std::string_view value) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos) return {value, {}};
  return {value.substr(0, colon), value.substr(colon + 1)};
}

// An error(8) or retry nexthop that gives its own code ("5.1.1 no such user").
bool StartsWithStatusCode(std::string_view text) {
  std::string_view status = mail::SplitEnhancedStatus(text).status;
  return !status.empty() && status[0] != '2';
}

struct Route {
  std::string address_class;  // local, alias, virtual, relay, default
  std::string transport;
  std::string nexthop;
  bool relocated = false;
};

}  // namespace

const char* DeliveryStatusName(Delivery::Status status) {
  switch (status) {
    case Delivery::Status::kDeliver:
      return "deliver";
    case Delivery::Status::kBounce:
      return "bounce";
    case Delivery::Status::kReject:
      return "reject";
    case Delivery::Status::kDefer:
      return "defer";
  }
  return "?";
}

// One resolution: the options, the trace being written, and the chain of
// forwarded addresses (for loop detection).
class Resolver::Run {
 public:
  Run(const Resolver& resolver, const ResolveOptions& options, Resolution* out)
      : r_(resolver), c_(resolver.config_), record_(options.record_steps), out_(out) {}

  // Callers test record_ first, so that a resolution without a trace never
  // builds the strings.
  void Step(std::string stage, std::string table, std::string key, std::string result) {
    out_->steps.push_back({std::move(stage), std::move(table), std::move(key), std::move(result)});
  }

  void Fail(Delivery::Status status, std::string_view address, int code, std::string text) {
    Delivery d;
    d.status = status;
    d.address = std::string(address);
    d.code = code;
    d.text = std::move(text);
    out_->results.push_back(std::move(d));
  }

  // trivial-rewrite's "rewrite" context: qualify, and append .$mydomain.
  std::string Canonicalize(std::string_view input) {
    std::string_view trimmed = Trim(input);
    size_t at = trimmed.rfind('@');
    if (at != std::string_view::npos && at + 1 < trimmed.size() && trimmed.front() != '<' && trimmed.front() != '@' &&
        trimmed.back() != '.' && (!c_.append_dot_mydomain || trimmed.find('.', at) != std::string_view::npos)) {
      return std::string(trimmed);  // already canonical: the common case
    }
    std::string address(trimmed);
    if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
      address = address.substr(1, address.size() - 2);
    }
    // RFC 5321 source routes (@a,@b:user@c) are ignored: user@c.
    if (!address.empty() && address.front() == '@' && address.find(':') != std::string::npos) {
      address = address.substr(address.rfind(':') + 1);
    }
    std::string qualified = Qualify(address, c_);
    if (record_ && qualified != address) Step("rewrite", "append_at_myorigin", "", qualified);
    mail::AddressParts parts = mail::SplitAddress(qualified);
    while (parts.has_domain && !parts.domain.empty() && parts.domain.back() == '.') parts.domain.pop_back();
    if (parts.has_domain && c_.append_dot_mydomain && parts.domain.find('.') == std::string::npos &&
        !parts.domain.empty() && parts.domain.front() != '[' && !c_.mydomain.empty()) {
      parts.domain += "." + c_.mydomain;
      if (record_) Step("rewrite", "append_dot_mydomain", "", mail::JoinAddress(parts.local, parts.domain));
    }
    return parts.has_domain ? mail::JoinAddress(parts.local, parts.domain) : parts.local;
  }

  LookupOutcome Find(const TableList& maps, std::string_view address, bool use_extension = true) {
    return FindAddress(
        maps, address, c_, [this](std::string_view d) { return r_.IsLocalDomain(d); }, use_extension);
  }

  // cleanup_map11: one-to-one rewriting, repeated until it settles.
  bool Map11(const TableList& maps, bool propagate, std::string* address) {
    for (int i = 0; i < kCanonicalRecursionLimit; ++i) {
      LookupOutcome o = Find(maps, *address);
      if (!o.error.empty()) {
        Fail(Delivery::Status::kDefer, *address, 451, "4.3.0 " + o.error);
        return false;
      }
      if (!o.hit) return true;
      std::vector<std::string> mapped = MapResult(*o.hit, *address, c_, propagate);
      if (mapped.empty()) return true;
      std::string before = *address;
      *address = mapped.front();
      if (record_)
        Step("canonical", Where(maps.parameter, o.hit->reference), o.hit->key,
             *address + (mapped.size() > 1 ? " (multi-valued entry: only the first address is used)" : ""));
      if (EqualsIgnoreCase(before, *address)) return true;
    }
    if (record_)
      Step("canonical", maps.parameter, "",
           "unreasonable nesting; stopped after " + std::to_string(kCanonicalRecursionLimit) + " rewrites");
    return true;
  }

  // cleanup_map1n: virtual alias expansion.
  // `first` is the lookup of `address` itself, already done by the caller.
  bool ExpandVirtual(const std::string& address, LookupOutcome first, std::vector<std::string>* out) {
    const TableList& maps = c_.virtual_alias_maps;
    std::vector<std::string> list = {address};
    std::set<std::string> self_expanded;  // addresses that expanded into themselves
    for (size_t arg = 0; arg < list.size(); ++arg) {
      if (list.size() > static_cast<size_t>(c_.virtual_alias_expansion_limit)) {
        if (record_) Step("virtual", maps.parameter, address, "expansion exceeds virtual_alias_expansion_limit");
        Fail(Delivery::Status::kDefer, address, 451, "4.6.0 Alias expansion error");
        return false;
      }
      for (int count = 0;; ++count) {
        if (!self_expanded.empty() && self_expanded.count(ToLower(list[arg]))) break;
        if (count >= c_.virtual_alias_recursion_limit) {
          if (record_) Step("virtual", maps.parameter, list[arg], "nesting exceeds virtual_alias_recursion_limit");
          Fail(Delivery::Status::kDefer, address, 451, "4.6.0 Alias expansion error");
          return false;
        }
        LookupOutcome o = (arg == 0 && count == 0) ? std::move(first) : Find(maps, list[arg]);
        if (!o.error.empty()) {
          Fail(Delivery::Status::kDefer, address, 451, "4.6.0 Alias expansion error: " + o.error);
          return false;
        }
        if (!o.hit) break;
        std::vector<std::string> mapped = MapResult(*o.hit, list[arg], c_, c_.propagate_virtual);
        if (mapped.empty()) break;
        if (record_) Step("virtual", Where(maps.parameter, o.hit->reference), o.hit->key, Join(mapped, ", "));
        std::string lhs = std::move(list[arg]);
        for (size_t i = 0; i < mapped.size(); ++i) {
          if (mapped[i].size() > c_.virtual_alias_address_length_limit) {
            Fail(Delivery::Status::kDefer, address, 451, "4.6.0 Alias expansion error");
            return false;
          }
          // An address may expand into itself once (cleanup_map1n).
          if (EqualsIgnoreCase(lhs, mapped[i])) self_expanded.insert(ToLower(lhs));
          if (i == 0) {
            list[arg] = std::move(mapped[i]);
          } else {
            list.push_back(std::move(mapped[i]));
          }
        }
      }
    }
    *out = std::move(list);
    return true;
  }

  // trivial-rewrite's resolve: address class, transport, nexthop, then
  // transport_maps and relocated_maps.
  Route ResolveRoute(const std::string& address, bool quiet = false) {
    if (quiet) {
      bool saved = record_;
      record_ = false;
      Route route = ResolveRoute(address);
      record_ = saved;
      return route;
    }
    Route route;
    std::string domain = DomainOf(address);
    std::string_view channel;
    std::string why;  // only filled when tracing
    std::string* matched = record_ ? &why : nullptr;
    auto because = [&](const char* list) {
      if (record_) why = list + (" " + why);
    };
    if (r_.IsLocalDomain(domain)) {
      route.address_class = "local";
      channel = c_.local_transport;
      route.nexthop = domain;
      if (record_) why = "mydestination";
    } else if (c_.virtual_alias_domains.Match(domain, matched)) {
      route.address_class = "alias";
      channel = "error";
      route.nexthop =
          c_.show_user_unknown_table_name ? "5.1.1 User unknown in virtual alias table" : "5.1.1 User unknown";
      because("virtual_alias_domains");
    } else if (c_.virtual_mailbox_domains.Match(domain, matched)) {
      route.address_class = "virtual";
      channel = c_.virtual_transport;
      route.nexthop = domain;
      because("virtual_mailbox_domains");
    } else {
      if (c_.relay_domains.Match(domain, matched)) {
        route.address_class = "relay";
        channel = c_.relay_transport;
        because("relay_domains");
      } else {
        route.address_class = "default";
        channel = c_.default_transport;
        if (record_) why = "no local, virtual or relay domain matches";
      }
      route.nexthop = c_.relayhost.empty() ? domain : c_.relayhost;
    }
    auto [transport, nexthop] = SplitTransport(channel);
    route.transport = transport;
    if (!nexthop.empty()) route.nexthop = nexthop;
    if (record_) Step("class", why, domain, route.address_class + " -> " + route.transport + ":" + route.nexthop);

    if (!c_.transport_maps.empty() && route.address_class != "alias") TransportLookup(address, domain, &route);

    LookupOutcome moved = Find(c_.relocated_maps, address, false);
    if (moved.hit) {
      route.transport = "error";
      route.nexthop = "5.1.6 User has moved to " + moved.hit->value;
      route.relocated = true;
      if (record_) Step("relocated", Where("relocated_maps", moved.hit->reference), moved.hit->key, route.nexthop);
    }
    return route;
  }

  void TransportLookup(const std::string& address, const std::string& domain, Route* route) {
    const TableList& maps = c_.transport_maps;
    auto apply = [&](const AddressHit& hit) {
      auto [transport, nexthop] = SplitTransport(hit.value);
      if (transport.empty()) {
        if (!nexthop.empty()) route->nexthop = nexthop;
      } else {
        route->transport = transport;
        if (!nexthop.empty()) {
          route->nexthop = nexthop;
        } else {
          route->nexthop = transport == "error" ? "Address is undeliverable" : domain;
        }
      }
      if (record_)
        Step("transport", Where(maps.parameter, hit.reference), hit.key, route->transport + ":" + route->nexthop);
    };
    auto try_key = [&](std::string_view key, bool partial) {
      LookupOutcome o = FindKey(maps, key, partial);
      if (o.hit) apply(*o.hit);
      return o.hit.has_value();
    };
    if (try_key(address, false)) return;
    size_t at = address.rfind('@');
    if (auto ext = mail::SplitExtension(std::string_view(address).substr(0, at), c_.recipient_delimiter)) {
      if (try_key(mail::JoinAddress(ext->base, std::string_view(address).substr(at + 1)), true)) return;
    }
    std::string_view name = domain;
    while (!name.empty()) {
      if (try_key(name, true)) return;
      size_t dot = name.find('.', 1);
      if (dot == std::string_view::npos) break;
      name = name.substr(c_.transport_parent_style ? dot + 1 : dot);
    }
    // Like trivial-rewrite, the wildcard entry is looked up once, not per
    // address (RoutingConfig::transport_wildcard).
    if (c_.transport_wildcard_per_address) {
      try_key("*", false);
    } else if (c_.transport_wildcard) {
      apply(*c_.transport_wildcard);
    }
  }

  // smtpd's check_rcpt_maps (smtpd_reject_unlisted_recipient): unknown
  // users are rejected at RCPT TO, before anything is queued.
  // `sender`: reject_unlisted_sender's variant (its own wording and 5.1.0).
  bool RecipientCheck(const std::string& address, bool sender = false) {
    const std::string rejected = sender ? ": Sender address rejected: " : ": Recipient address rejected: ";
    LookupOutcome moved = Find(c_.relocated_maps, address, false);
    if (moved.hit) {
      if (record_) Step("smtpd", Where("relocated_maps", moved.hit->reference), moved.hit->key, "reject 550");
      Fail(Delivery::Status::kReject, address, 550,
           "5.1.6 " + Bracket(out_->input) + rejected + "User has moved to " + moved.hit->value);
      return false;
    }
    for (const TableList* maps : {&c_.recipient_canonical_maps, &c_.canonical_maps, &c_.virtual_alias_maps}) {
      if (Find(*maps, address).hit) return true;
    }
    std::string domain = DomainOf(address);
    const TableList* maps = nullptr;
    int code = 550;
    std::string table;
    if (r_.IsLocalDomain(domain)) {
      maps = &c_.local_recipient_maps;
      code = c_.unknown_local_recipient_reject_code;
      table = "local recipient table";
    } else if (c_.virtual_alias_domains.Match(domain)) {
      code = c_.unknown_virtual_alias_reject_code;
      table = "virtual alias table";
    } else if (c_.virtual_mailbox_domains.Match(domain)) {
      maps = &c_.virtual_mailbox_maps;
      code = c_.unknown_virtual_mailbox_reject_code;
      table = "virtual mailbox table";
    } else if (c_.relay_domains.Match(domain)) {
      maps = &c_.relay_recipient_maps;
      code = c_.unknown_relay_recipient_reject_code;
      table = "relay recipient table";
    } else {
      return true;
    }
    if (maps != nullptr) {
      if (maps->empty()) return true;
      LookupOutcome o = Find(*maps, address);
      if (!o.error.empty()) {
        Fail(Delivery::Status::kDefer, out_->input, 451, "4.3.0 " + o.error);
        return false;
      }
      if (o.hit) {
        if (record_) Step("smtpd", Where(maps->parameter, o.hit->reference), o.hit->key, "known recipient");
        return true;
      }
    }
    std::string text = std::string(sender ? "5.1.0 " : "5.1.1 ") + Bracket(out_->input) + rejected + "User unknown" +
                       (c_.show_user_unknown_table_name ? " in " + table : "");
    if (record_)
      Step("smtpd", maps != nullptr ? maps->parameter : "virtual_alias_domains", address,
           "reject " + std::to_string(code));
    Fail(Delivery::Status::kReject, address, code, text);
    return false;
  }

  // What the queue manager and a delivery agent do with one address that
  // cleanup has rewritten: virtual expansion, then routing.
  void Deliver(const std::string& address, int depth) {
    // Most addresses have no virtual alias: route them without building
    // the expansion list.
    if (c_.virtual_alias_maps.empty()) return DeliverExpanded(address, depth);
    LookupOutcome first = Find(c_.virtual_alias_maps, address);
    if (!first.hit && first.error.empty()) return DeliverExpanded(address, depth);
    std::vector<std::string> expanded;
    if (!ExpandVirtual(address, std::move(first), &expanded)) return;
    for (const std::string& a : expanded) DeliverExpanded(a, depth);
  }

  void DeliverExpanded(const std::string& address, int depth) {
    Route route = ResolveRoute(address);
    if (route.transport == "error") {
      std::string text = StartsWithStatusCode(route.nexthop) ? route.nexthop : "5.0.0 " + route.nexthop;
      Fail(Delivery::Status::kBounce, address, 550, text);
      return;
    }
    if (route.transport == "retry") {
      std::string text = StartsWithStatusCode(route.nexthop) ? route.nexthop : "4.0.0 " + route.nexthop;
      Fail(Delivery::Status::kDefer, address, 450, text);
      return;
    }
    std::string_view command = c_.CommandOf(route.transport);
    if (command.empty()) {
      if (record_) Step("transport", "master.cf", route.transport, "no such service: mail would be deferred");
      Fail(Delivery::Status::kDefer, address, 451,
           "4.3.0 mail transport unavailable (no master.cf service \"" + route.transport + "\")");
      return;
    }
    if (command == "local") {
      LocalDeliver(address, route, "", depth, 0);
      return;
    }
    Delivery d;
    d.address = address;
    d.transport = std::move(route.transport);
    d.nexthop = std::move(route.nexthop);
    d.address_class = std::move(route.address_class);
    out_->results.push_back(std::move(d));
  }

  // An address an alias or :include: produced: it is mailed again, so it
  // goes through canonical and virtual mapping again (local(8) forwards it).
  void Forward(const std::string& address, int depth) {
    std::string key = ToLower(address);
    if (depth >= kForwardDepthLimit || chain_.count(key)) {
      if (record_) Step("alias", "", address, "mail forwarding loop");
      Fail(Delivery::Status::kBounce, address, 554, "5.4.6 mail forwarding loop for " + address);
      return;
    }
    chain_.insert(key);
    std::string a = address;
    if (Map11(c_.recipient_canonical_maps, c_.propagate_canonical, &a) &&
        Map11(c_.canonical_maps, c_.propagate_canonical, &a)) {
      Deliver(a, depth + 1);
    }
    chain_.erase(key);
  }

  // local(8): aliases, then the user's mailbox.
  // `level` counts nested alias expansions inside one local(8) request.
  void LocalDeliver(const std::string& address, const Route& route, const std::string& expanded_from, int depth,
                    int level) {
    mail::AddressParts parts = mail::SplitAddress(address);
    std::string local = ToLower(parts.local);
    auto ext = mail::SplitExtension(local, c_.recipient_delimiter);
    std::string user = ext ? ext->base : local;
    if (++work_ > kWorkLimit) {
      Fail(Delivery::Status::kDefer, address, 451, "4.6.0 Alias expansion error: expansion too large");
      return;
    }
    // local(8) does no duplicate elimination between alias levels
    // (Sendmail compatibility); it stops alias loops with a level limit.
    if (level > kMaxAliasLevel) {
      if (record_) Step("alias", "", local, "alias database loop");
      Fail(Delivery::Status::kBounce, address, 554, "5.4.6 alias database loop for " + local);
      return;
    }

    if (local != expanded_from && (!ext || ext->base != expanded_from)) {
      LookupOutcome o = FindKey(c_.alias_maps, local, false);
      if (!o.hit && o.error.empty() && ext) o = FindKey(c_.alias_maps, ext->base, false);
      if (!o.error.empty()) {
        Fail(Delivery::Status::kDefer, address, 451, "4.3.0 " + o.error);
        return;
      }
      if (o.hit) {
        if (record_) Step("alias", Where("alias_maps", o.hit->reference), o.hit->key, o.hit->value);
        std::string owner = "owner-" + o.hit->key;
        if (c_.owner_request_special && FindKey(c_.alias_maps, owner, false).hit) {
          if (record_) Step("alias", "alias_maps", owner, "errors for this list go to " + Qualify(owner, c_));
        }
        ExpandAliasValue(o.hit->value, o.hit->key, route, /*from_include=*/false, depth, level);
        return;
      }
    }

    // No alias. A mailbox_transport takes every remaining recipient, known
    // to the system or not; otherwise the user must exist.
    if (!c_.mailbox_transport.empty()) {
      auto [transport, nexthop] = SplitTransport(c_.mailbox_transport);
      Delivery d;
      d.address = address;
      d.transport = transport;
      d.nexthop = nexthop.empty() ? route.nexthop : nexthop;
      d.address_class = route.address_class;
      d.detail = "mailbox_transport";
      if (record_) Step("local", "mailbox_transport", user, d.transport + ":" + d.nexthop);
      out_->results.push_back(std::move(d));
      return;
    }
    std::optional<std::string> entry = c_.users->Lookup(user);
    if (!entry) {
      if (!c_.luser_relay.empty()) {
        std::string target = Qualify(c_.luser_relay, c_);
        if (record_) Step("local", "luser_relay", user, target);
        Forward(target, depth + 1);
        return;
      }
      if (record_) Step("local", "passwd", user, "unknown user");
      Fail(Delivery::Status::kBounce, address, 550, "5.1.1 unknown user: \"" + local + "\"");
      return;
    }
    Delivery d;
    d.address = address;
    d.transport = route.transport;
    d.nexthop = route.nexthop;
    d.address_class = route.address_class;
    if (!c_.mailbox_command.empty()) {
      d.detail = "command " + c_.mailbox_command;
    } else if (!c_.home_mailbox.empty()) {
      std::vector<std::string> fields = SplitFields(*entry, ':');
      std::string home = fields.size() >= 6 ? fields[5] : "";
      std::string path = home + "/" + c_.home_mailbox;
      d.detail = (c_.home_mailbox.back() == '/' ? "maildir " : "mailbox ") + path;
    } else {
      d.detail = "mailbox " + c_.mail_spool_directory + "/" + user;
    }
    if (record_) Step("local", "passwd", user, d.detail);
    out_->results.push_back(std::move(d));
  }

  // `from_include`: the destinations come from an :include: file.
  void ExpandAliasValue(const std::string& value, const std::string& name, const Route& route, bool from_include,
                        int depth, int level) {
    for (std::string destination : mail::ParseAddressList(value)) {
      // "|command" and "/file name" are quoted in aliases(5) when they hold
      // spaces or commas.
      if (destination.size() >= 2 && destination.front() == '"' && destination.back() == '"' &&
          (destination[1] == '|' || destination[1] == '/')) {
        destination = destination.substr(1, destination.size() - 2);
      }
      if (StartsWith(ToLower(destination), ":include:")) {
        std::string path = destination.substr(9);
        const mail::LookupTable* includes = r_.image_->includes();
        std::optional<std::string> list = includes != nullptr ? includes->Lookup(path) : std::nullopt;
        if (!list) {
          Fail(Delivery::Status::kDefer, name, 451, "4.3.0 cannot open include file " + path);
          continue;
        }
        if (depth >= kForwardDepthLimit) {
          Fail(Delivery::Status::kBounce, name, 554, "5.4.6 include file nesting too deep: " + path);
          continue;
        }
        if (record_) Step("alias", ":include:" + path, name, *list);
        ExpandAliasValue(*list, name, route, /*from_include=*/true, depth + 1, level);
      } else if (!destination.empty() && destination.front() == '|') {
        if (!(from_include ? c_.commands_from_include : c_.commands_from_alias)) {
          Fail(Delivery::Status::kBounce, name, 550, "5.7.1 mail to command is restricted");
          continue;
        }
        AddLocal(name, route, "command " + destination.substr(1));
      } else if (!destination.empty() && destination.front() == '/') {
        if (!(from_include ? c_.files_from_include : c_.files_from_alias)) {
          Fail(Delivery::Status::kBounce, name, 550, "5.7.1 mail to file is restricted");
          continue;
        }
        AddLocal(name, route, (destination.back() == '/' ? "maildir " : "file ") + destination);
      } else {
        // local(8) keeps an address that resolves to its own transport and
        // delivers it in the same request (same nexthop, no canonical or
        // virtual mapping); anything else is forwarded as new mail.
        std::string target = Qualify(destination, c_);
        Route next = ResolveRoute(target, /*quiet=*/true);
        if (next.transport != route.transport || next.relocated) {
          Forward(target, depth + 1);
          continue;
        }
        if (record_) Step("alias", route.transport, target, "same transport: delivered in this request");
        // An alias that names itself delivers to the mailbox (Sendmail
        // compatible): no second alias lookup for that name.
        bool self = EqualsIgnoreCase(mail::SplitAddress(target).local, name);
        LocalDeliver(target, route, self ? ToLower(name) : "", depth + 1, level + 1);
      }
    }
  }

  void AddLocal(const std::string& name, const Route& route, std::string detail) {
    Delivery d;
    d.address = Qualify(name, c_);
    d.transport = route.transport;
    d.nexthop = route.nexthop;
    d.address_class = route.address_class;
    d.detail = std::move(detail);
    out_->results.push_back(std::move(d));
  }

 private:
  const Resolver& r_;
  const RoutingConfig& c_;
  bool record_;
  Resolution* out_;
  std::set<std::string> chain_;  // addresses being forwarded, for loop detection
  int work_ = 0;
};

Resolver::Resolver(std::shared_ptr<const image::Image> image, std::shared_ptr<const mail::LookupTable> users)
    : image_(std::move(image)), config_(RoutingConfig::FromImage(*image_, std::move(users))) {}

bool Resolver::IsLocalDomain(std::string_view domain) const {
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    if (StartsWith(literal, "ipv6:") || StartsWith(literal, "IPv6:")) literal.remove_prefix(5);
    auto address = mail::IpAddress::Parse(literal);
    if (!address) return false;
    return std::find(config_.interface_addresses.begin(), config_.interface_addresses.end(), *address) !=
           config_.interface_addresses.end();
  }
  return config_.mydestination.Match(domain);
}

std::vector<Delivery> Resolver::LocalDeliveries(std::string_view address, std::string_view transport) const {
  Resolution out;
  Run run(*this, ResolveOptions{false, false}, &out);
  Route route;
  route.transport = std::string(transport);
  run.LocalDeliver(std::string(address), route, "", 0, 0);
  return std::move(out.results);
}

Resolution Resolver::Resolve(std::string_view recipient, const ResolveOptions& options) const {
  mail::LookupFailureScope lookups;
  Resolution out = ResolveAddress(recipient, options);
  if (lookups.failed()) {
    // Nothing about the address is certain (trivial-rewrite's
    // RESOLVE_FLAG_FAIL): all of it is tried again later.
    out.lookup_failure = lookups.reason();
    if (options.record_steps) out.steps.push_back({"lookup", "", "", lookups.reason()});
    out.results = {Deferred(out.input, 451, "4.3.0 address resolver failure")};
  }
  return out;
}

Resolution Resolver::ResolveAddress(std::string_view recipient, const ResolveOptions& options) const {
  Resolution out;
  out.input = std::string(recipient);
  Run run(*this, options, &out);
  std::string address = run.Canonicalize(recipient);
  if (address.empty() || address.front() == '@') {
    run.Fail(Delivery::Status::kReject, out.input, 501, "5.1.3 Bad recipient address syntax");
    return out;
  }
  if (options.smtpd_checks && !run.RecipientCheck(address)) return out;
  if (!run.Map11(config_.recipient_canonical_maps, config_.propagate_canonical, &address)) return out;
  if (!run.Map11(config_.canonical_maps, config_.propagate_canonical, &address)) return out;
  run.Deliver(address, 0);

  // cleanup and local(8) deliver a recipient once per message.
  if (out.results.size() < 2) return out;
  std::set<std::string> seen;
  std::vector<Delivery> unique;
  for (Delivery& d : out.results) {
    std::string key = ToLower(d.address) + '\0' + d.transport + '\0' + d.nexthop + '\0' + d.detail + '\0' +
                      DeliveryStatusName(d.status);
    if (seen.insert(key).second) unique.push_back(std::move(d));
  }
  out.results = std::move(unique);
  return out;
}

std::optional<Delivery> Resolver::CheckListed(std::string_view address, bool sender) const {
  Resolution out;
  out.input = std::string(address);
  ResolveOptions options;
  options.record_steps = false;
  mail::LookupFailureScope lookups;
  Run run(*this, options, &out);
  std::string canonical = run.Canonicalize(address);
  bool listed = canonical.empty() || run.RecipientCheck(canonical, sender) || out.results.empty();
  if (lookups.failed()) {  // smtpd's reject_dict_retry
    return Deferred(out.input, 451, "4.3.0 <" + out.input + ">: Temporary lookup failure");
  }
  if (listed) return std::nullopt;
  return out.results.front();
}

std::string Resolver::UndoLocalRouting(std::string address) const {
  // trivial-rewrite: user%other@local is user@other (allow_percent_hack),
  // other!user@local is user@other (swap_bangpath), repeatedly.
  for (int guard = 0; guard < 100; ++guard) {
    size_t at = address.rfind('@');
    if (at == std::string::npos || !IsLocalDomain(ToLower(std::string_view(address).substr(at + 1)))) break;
    std::string local = address.substr(0, at);
    size_t percent = local.rfind('%');
    size_t bang = local.find('!');
    if (config_.allow_percent_hack && percent != std::string::npos) {
      address = local.substr(0, percent) + "@" + local.substr(percent + 1);
    } else if (config_.swap_bangpath && bang != std::string::npos && bang > 0) {
      address = local.substr(bang + 1) + "@" + local.substr(0, bang);
    } else {
      break;
    }
  }
  return address;
}

std::string Resolver::CanonicalAddress(std::string_view address) const {
  Resolution out;
  ResolveOptions options;
  options.record_steps = false;
  Run run(*this, options, &out);
  return UndoLocalRouting(run.Canonicalize(address));
}

bool Resolver::IsFinalDomain(std::string_view domain) const {
  return IsLocalDomain(domain) || config_.virtual_alias_domains.Match(domain) ||
         config_.virtual_mailbox_domains.Match(domain);
}

bool Resolver::IsAuthDestination(std::string_view recipient) const {
  std::string address = CanonicalAddress(recipient);
  size_t at = address.rfind('@');
  if (at == std::string::npos) return true;  // cannot happen after canonicalization
  // Source-routed addresses (a%b@c, b!a@c, "a@b"@c) have an uncertain
  // destination: never authorized, unless allow_untrusted_routing.
  if (!config_.allow_untrusted_routing && address.find_first_of("@!%") < at) return false;
  std::string domain = ToLower(std::string_view(address).substr(at + 1));
  return IsFinalDomain(domain) || config_.relay_domains.Match(domain);
}

bool Resolver::IsFinalDestination(std::string_view address) const {
  std::string canonical = CanonicalAddress(address);
  size_t at = canonical.rfind('@');
  if (at == std::string::npos) return true;
  return IsFinalDomain(ToLower(std::string_view(canonical).substr(at + 1)));
}

std::string Resolver::RewriteSender(std::string_view sender, Resolution* trace) const {
  ResolveOptions options;
  Resolution scratch;
  Resolution* out = trace != nullptr ? trace : &scratch;
  Run run(*this, options, out);
  std::string address = run.Canonicalize(sender);
  if (address.empty()) return address;  // the null sender stays null
  run.Map11(config_.sender_canonical_maps, config_.propagate_canonical, &address);
  run.Map11(config_.canonical_maps, config_.propagate_canonical, &address);
  out->sender = address;
  return address;
}

}  // namespace postern::resolve
