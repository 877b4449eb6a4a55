// dns_list_filter.h: the answer filter of a DNS list restriction
// (reject_rbl_client zone=FILTER, reject_rhsbl_*, permit_dnswl_client), as
// Postfix reads it: four dot-separated octets, each a number or a bracketed
// list of numbers and ranges separated by ';' ("127.0.0.2",
// "127.0.0.[2..11]", "127.0.[0;1].[2;4..6]"). A list's answer matches when
// one of its A records matches every octet.
#pragma once

#include <string>
#include <string_view>

namespace postern::mail {

// "" when `filter` is well formed, else what is wrong with it.
std::string DnsListFilterError(std::string_view filter);

// Whether the IPv4 address `answer` matches `filter` (false for a
// malformed filter or answer).
bool DnsListFilterMatches(std::string_view filter, std::string_view answer);

}  // namespace postern::mail
