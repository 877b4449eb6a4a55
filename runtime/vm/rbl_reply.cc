// rbl_reply.cc: see rbl_reply.h.
#include "runtime/vm/rbl_reply.h"

#include <ctime>

#include "mail/enhanced_status.h"
#include "mail/reply_template.h"
#include "runtime/resolve/address_lookup.h"
#include "util/strings.h"

namespace postern::vm {
namespace {

// $sender, $sender_name, $sender_domain (and the recipient's): "" before
// the address is known, "<>" for the null address.
std::string AddressPart(std::string_view part, std::string_view address, bool known) {
  if (!known) return "";
  size_t at = address.rfind('@');
  if (part.empty()) return address.empty() ? "<>" : std::string(address);
  if (part == "_name") {
    if (address.empty()) return "<>";
    return std::string(at == std::string_view::npos ? address : address.substr(0, at));
  }
  return at == std::string_view::npos ? "" : std::string(address.substr(at + 1));
}

std::string LocalTime() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[64];
  size_t n = std::strftime(text, sizeof(text), "%b %d %H:%M:%S", &local);
  return std::string(text, n);
}

// smtpd_check_reject's last touches: at most 510 characters, unprintable
// ones as spaces, the status's class digit the code's.
std::string FinishReply(std::string reply) {
  if (reply.size() > 510) reply.resize(510);
  for (char& c : reply) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = ' ';
  }
  if (reply.size() > 4) reply[4] = reply[0];
  return reply;
}

}  // namespace

std::optional<std::string> SessionTemplateValue(std::string_view name, const SmtpFacts& facts,
                                                std::string_view myhostname) {
  if (name == "server_name") return std::string(myhostname);
  if (name == "client") return facts.client_name + "[" + facts.client_address + "]";
  if (name == "client_address") return facts.client_address;
  if (name == "client_port") return facts.client_port > 0 ? std::to_string(facts.client_port) : "unknown";
  if (name == "client_name") return facts.client_name;
  if (name == "reverse_client_name") return facts.reverse_client_name;
  if (name == "helo_name") return facts.helo;
  if (name == "localtime") return LocalTime();
  for (std::string_view prefix : {std::string_view("sender"), std::string_view("recipient")}) {
    if (!name.starts_with(prefix)) continue;
    std::string_view part = name.substr(prefix.size());
    if (!part.empty() && part != "_name" && part != "_domain") return std::nullopt;
    bool sender = prefix == "sender";
    return AddressPart(part, sender ? facts.sender : facts.recipient,
                       sender ? facts.has_sender : !facts.recipient.empty());
  }
  return std::nullopt;
}

RblReply ComposeRblReply(const RblReplySettings& settings, const RblListing& listing, const SmtpFacts& facts) {
  RblReply out;
  std::string custom;
  bool has_custom = false;
  if (!settings.maps.empty()) {
    resolve::LookupOutcome found = resolve::FindKey(settings.maps, listing.argument, false);
    if (!found.error.empty()) {
      out.lookup_failure = found.error;
      out.reply = "451 4.3.5 Server configuration error";
      return out;
    }
    if (found.hit) {
      custom = std::move(found.hit->value);
      has_custom = true;
    }
  }
  std::string_view domain = listing.argument.substr(0, listing.argument.find('='));
  mail::TemplateLookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "rbl_code") return settings.code;
    if (name == "rbl_domain") return std::string(domain);
    if (name == "rbl_reason" || name == "rbl_txt") return std::string(listing.reason);
    if (name == "rbl_what") return std::string(listing.what);
    if (name == "rbl_class") return std::string(listing.reply_class);
    return SessionTemplateValue(name, facts, settings.myhostname);
  };
  mail::TemplateExpansion expanded;
  if (has_custom) {
    expanded = mail::ExpandTemplate(custom, lookup, settings.filter);
    if (!expanded.ok()) {
      out.problem = "bad rbl reply template for domain " + std::string(listing.argument) + ": " +
                    (expanded.error.empty() ? "undefined $" + expanded.undefined : expanded.error);
    }
  }
  if (!has_custom || !expanded.ok())
    expanded = mail::ExpandTemplate(settings.default_template, lookup, settings.filter);
  const std::string& text = expanded.text;
  // postern check refuses a default_rbl_reply that does not expand (Postfix
  // would stop the smtpd process); an image that has one anyway defers.
  if (!expanded.ok()) {
    out.problem = "bad default rbl reply template: " + settings.default_template;
    out.reply = "451 4.3.5 Server configuration error";
    return out;
  }
  if (text.size() < 4 || (text[0] != '4' && text[0] != '5') || !IsDigit(text[1]) || !IsDigit(text[2]) ||
      text[3] != ' ') {
    out.problem = "rbl response code configuration error: " + text;
    out.reply = "450 4.7.1 Service unavailable";
    return out;
  }
  std::string_view rest = std::string_view(text).substr(4);
  while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
  std::string status = "4.7.1";
  if (mail::StatusAndText split = mail::SplitEnhancedStatus(rest); !split.status.empty()) {
    status = std::string(split.status);
    rest = split.text;
  }
  while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
  status = mail::FixStatusForReplyClass(status, listing.reply_class);
  out.reply = FinishReply(text.substr(0, 3) + " " + status + " " +
                          std::string(rest.empty() ? std::string_view("Service unavailable") : rest));
  return out;
}

}  // namespace postern::vm
