// address_lookup.h: Postfix's address lookups over a list of tables.
//
// FindAddress is mail_addr_find: it tries `user+ext@domain`, `user@domain`,
// then (when the domain is $myorigin or local) `user+ext` and `user`, then
// `@domain`; only the first key is shown to pattern tables. MapAddress is
// mail_addr_map: it turns the value into addresses, expands `@domain`
// results with the original local part, qualifies bare names with
// $myorigin, and propagates an unmatched extension when asked to.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/resolve/address_hit.h"
#include "runtime/resolve/routing_config.h"

namespace postern::resolve {

struct LookupOutcome {
  std::optional<AddressHit> hit;
  std::string error;  // non-empty: a table could not be consulted, or failed to answer (defer)
};

// Looks `key` up in each table in order; the first hit wins. `partial`
// keys skip pattern tables.
LookupOutcome FindKey(const TableList& maps, std::string_view key, bool partial);

// `is_local(domain)` says whether a domain is local (mydestination and
// interface literals), for the `user` keys.
LookupOutcome FindAddress(const TableList& maps, std::string_view address, const RoutingConfig& config,
                          const std::function<bool(std::string_view)>& is_local, bool use_extension = true);

// The addresses `hit` maps `address` to.
std::vector<std::string> MapResult(const AddressHit& hit, std::string_view address, const RoutingConfig& config,
                                   bool propagate);

// Appends @$myorigin to an address without a domain (append_at_myorigin).
std::string Qualify(std::string_view address, const RoutingConfig& config);

}  // namespace postern::resolve
