// network_list.h: Postfix's address match lists (mynetworks and friends):
// CIDR blocks and addresses, `!negation`, and lookup tables keyed by the
// address; first match wins. /file elements are inlined by the compiler.
//
// Immutable after construction; Match() is thread-safe when the tables are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mail/ip_address.h"
#include "mail/lookup_table.h"

namespace postern::mail {

class NetworkList {
 public:
  struct Element {
    bool negate = false;
    CidrBlock block;                     // when table is null
    const LookupTable* table = nullptr;  // a type:name element, looked up with the address
  };

  NetworkList() = default;
  explicit NetworkList(std::vector<Element> elements) : elements_(std::move(elements)) {}

  bool Match(const IpAddress& address) const;
  bool empty() const { return elements_.empty(); }

 private:
  std::vector<Element> elements_;
};

}  // namespace postern::mail
