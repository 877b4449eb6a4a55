// address_hit.h: what a table lookup for an address found.
#pragma once

#include <string>
#include <string_view>

namespace postern::resolve {

struct AddressHit {
  std::string value;
  std::string key;             // the key that matched
  std::string_view reference;  // the table it matched in (points into the TableList)
  std::string extension;       // the unmatched extension ("+foo"), if the match was without it
};

}  // namespace postern::resolve
