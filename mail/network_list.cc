// network_list.cc: see network_list.h.
#include "mail/network_list.h"

namespace postern::mail {

bool NetworkList::Match(const IpAddress& address) const {
  for (const Element& e : elements_) {
    bool hit = e.table != nullptr ? e.table->Lookup(address.ToString()).has_value() : e.block.Contains(address);
    if (hit) return !e.negate;
  }
  return false;
}

}  // namespace postern::mail
