// address_lookup.cc: see address_lookup.h.
#include "runtime/resolve/address_lookup.h"

#include "mail/address.h"
#include "util/strings.h"

namespace postern::resolve {

LookupOutcome FindKey(const TableList& maps, std::string_view key, bool partial) {
  LookupOutcome out;
  for (const TableList::Entry& entry : maps.tables) {
    if (entry.table == nullptr) {
      out.error = maps.parameter + ": table " + entry.reference + " is not in the image";
      return out;
    }
    if (partial && !entry.table->AcceptsPartialKeys()) continue;
    if (auto value = entry.table->Lookup(key)) {
      out.hit = AddressHit{std::move(*value), std::string(key), entry.reference, ""};
      return out;
    }
  }
  return out;
}

LookupOutcome FindAddress(const TableList& maps, std::string_view address, const RoutingConfig& config,
                          const std::function<bool(std::string_view)>& is_local, bool use_extension) {
  LookupOutcome out;
  if (maps.empty()) return out;
  auto done = [&](LookupOutcome o, std::string_view extension) {
    if (o.hit) o.hit->extension = std::string(extension);
    return !o.error.empty() || o.hit ? std::optional<LookupOutcome>(std::move(o)) : std::nullopt;
  };
  mail::AddressParts parts = mail::SplitAddress(address);
  auto ext = mail::SplitExtension(parts.local, config.recipient_delimiter);
  std::string saved_extension = (ext && use_extension) ? ext->extension : "";

  if (auto o = done(FindKey(maps, address, false), "")) return *o;
  if (ext) {
    std::string bare = parts.has_domain ? mail::JoinAddress(ext->base, parts.domain) : ext->base;
    if (auto o = done(FindKey(maps, bare, true), saved_extension)) return *o;
  }
  if (parts.has_domain && (EqualsIgnoreCase(parts.domain, config.myorigin) || is_local(parts.domain))) {
    if (auto o = done(FindKey(maps, parts.local, true), "")) return *o;
    if (ext) {
      if (auto o = done(FindKey(maps, ext->base, true), saved_extension)) return *o;
    }
  }
  if (parts.has_domain) {
    if (auto o = done(FindKey(maps, "@" + parts.domain, true), "")) return *o;
  }
  return out;
}

std::string Qualify(std::string_view address, const RoutingConfig& config) {
  if (address.find('@') != std::string_view::npos || !config.append_at_myorigin || address.empty()) {
    return std::string(address);
  }
  return mail::JoinAddress(address, config.myorigin);
}

std::vector<std::string> MapResult(const AddressHit& hit, std::string_view address, const RoutingConfig& config,
                                   bool propagate) {
  std::vector<std::string> out;
  if (!hit.value.empty() && hit.value.front() == '@') {
    // @otherdomain: the original local part, without an unmatched extension.
    std::string local = mail::SplitAddress(address).local;
    if (!hit.extension.empty() && local.size() >= hit.extension.size()) {
      local.resize(local.size() - hit.extension.size());
    }
    out.push_back(Qualify(local + hit.value, config));
    return out;
  }
  for (const std::string& a : mail::ParseAddressList(hit.value)) {
    std::string qualified = Qualify(a, config);
    if (propagate && !hit.extension.empty()) qualified = mail::AppendExtension(qualified, hit.extension);
    out.push_back(std::move(qualified));
  }
  return out;
}

}  // namespace postern::resolve
