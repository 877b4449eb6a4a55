// address_lookup.cc: see address_lookup.h.
#include "runtime/resolve/address_lookup.h"

#include "mail/address.h"
#include "mail/lookup_failure.h"
#include "util/strings.h"

namespace postern::resolve {

LookupOutcome FindKey(const TableList& maps, std::string_view key, bool partial) {
  LookupOutcome out;
  const uint8_t shape = KeyShapeOf(key);
  for (const TableList::Entry& entry : maps.tables) {
    if (entry.table == nullptr) {
      out.error = maps.parameter + ": table " + entry.reference + " is not in the image";
      return out;
    }
    if (partial && !entry.table->AcceptsPartialKeys()) continue;
    if ((entry.shapes & shape) == 0) continue;
    mail::LookupFailureScope lookups;
    std::optional<std::string> value = entry.table->Lookup(key);
    if (lookups.failed()) {
      out.error = lookups.reason();
      return out;
    }
    if (value) {
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
  auto found = [&](LookupOutcome& o, std::string_view extension) {
    if (o.hit) o.hit->extension = std::string(extension);
    return !o.error.empty() || o.hit;
  };
  size_t at = address.rfind('@');
  bool has_domain = at != std::string_view::npos;
  std::string_view local = has_domain ? address.substr(0, at) : address;
  std::string_view domain = has_domain ? address.substr(at + 1) : std::string_view();
  auto ext = mail::SplitExtension(local, config.recipient_delimiter);
  std::string_view saved_extension = (ext && use_extension) ? std::string_view(ext->extension) : "";

  if (out = FindKey(maps, address, false); found(out, "")) return out;
  if (ext) {
    std::string bare = has_domain ? mail::JoinAddress(ext->base, domain) : ext->base;
    if (out = FindKey(maps, bare, true); found(out, saved_extension)) return out;
  }
  if (has_domain && (EqualsIgnoreCase(domain, config.myorigin) || is_local(domain))) {
    if (out = FindKey(maps, local, true); found(out, "")) return out;
    if (ext) {
      if (out = FindKey(maps, ext->base, true); found(out, saved_extension)) return out;
    }
  }
  if (has_domain) {
    std::string key;
    key.reserve(domain.size() + 1);
    key += '@';
    key += domain;
    if (out = FindKey(maps, key, true); found(out, "")) return out;
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
  if (hit.value.find_first_of(",\"< \t") == std::string::npos) {  // one plain address: the common case
    std::string qualified = Qualify(hit.value, config);
    if (propagate && !hit.extension.empty()) qualified = mail::AppendExtension(qualified, hit.extension);
    out.push_back(std::move(qualified));
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
