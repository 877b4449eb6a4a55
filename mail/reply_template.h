// reply_template.h: Postfix's mac_expand(3) at SMTP time, for the reply
// templates an administrator writes (default_rbl_reply, rbl_reply_maps).
//
// $name, ${name}, $(name), $$, ${name?value}, ${name:value},
// ${name?{value}:{value}}, one level deep: a value is inserted as it is, not
// expanded again, with each of its characters outside `filter` (the
// smtpd_expansion_filter, UnescapeC'd) replaced by '_'. A name the lookup does
// not know is "undefined" (Postfix's MAC_PARSE_UNDEF) unless only tested
// with ? or :. Relational expressions (${{a} == {b}?...}) are a syntax
// error here; `postern check` reports them.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace postern::mail {

struct TemplateExpansion {
  std::string text;
  std::string error;      // a syntax error (MAC_PARSE_ERROR), as Postfix words it
  std::string undefined;  // the first $name without a value
  bool ok() const { return error.empty() && undefined.empty(); }
};

// A name's value; nullopt when the name does not exist.
using TemplateLookup = std::function<std::optional<std::string>(std::string_view name)>;

// `scan`: parse both operands of every ? and : (for checks) and append
// nothing; the result's error and undefined cover the whole template.
// `filter` nullopt: values are inserted unfiltered.
TemplateExpansion ExpandTemplate(std::string_view text, const TemplateLookup& lookup,
                                 std::optional<std::string_view> filter, bool scan = false);

// Whether smtpd knows `name` in an RBL reply template: $rbl_code,
// $rbl_domain, $rbl_reason, $rbl_txt, $rbl_what, $rbl_class, and the names
// of every smtpd reply template ($server_name, $client, $client_address,
// $client_port, $client_name, $reverse_client_name, $helo_name, $sender,
// $sender_name, $sender_domain, the recipient's, $localtime).
bool IsRblTemplateName(std::string_view name);
// All of them (the runtime's reply composer answers each: rbl_reply_test).
std::span<const std::string_view> RblTemplateNames();

}  // namespace postern::mail
