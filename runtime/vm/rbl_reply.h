// rbl_reply.h: the reply to a transaction a DNS list names, as Postfix's
// rbl_reject_reply() words it.
//
// The template is the rbl_reply_maps entry for the restriction's argument
// ("zen.example.org=127.0.0.[2..11]", the whole argument as written), else
// default_rbl_reply. It is expanded with $rbl_code, $rbl_domain (the zone),
// $rbl_reason (also $rbl_txt), $rbl_what, $rbl_class and the session's
// names ($client, $client_address, $helo_name, $sender, $recipient_domain,
// ...). A table entry that does not expand (bad syntax, an unknown name)
// falls back to default_rbl_reply; a result that does not start with
// "4NN " or "5NN " gives "450 4.7.1 Service unavailable". An enhanced
// status code after the number is used (default 4.7.1), corrected for the
// reply class as smtpd_dsn_fix does, its class digit made the number's.
// A failed lookup in rbl_reply_maps gives 451 4.3.5, as in Postfix.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/resolve/routing_config.h"
#include "runtime/vm/smtp_facts.h"

namespace postern::vm {

// One smtpd service's settings.
struct RblReplySettings {
  std::string default_template;  // default_rbl_reply, as written
  std::string code = "554";      // maps_rbl_reject_code
  std::string filter;            // smtpd_expansion_filter, unescaped
  std::string myhostname;        // $server_name
  resolve::TableList maps;       // rbl_reply_maps
};

// What was listed where.
struct RblListing {
  std::string_view argument;     // "zone" or "zone=filter"
  std::string_view what;         // the address or name asked about
  std::string_view reply_class;  // "Client host", "Sender address", ...
  std::string_view reason;       // the list's TXT answer, or empty
};

struct RblReply {
  std::string reply;           // "554 5.7.1 Service unavailable; ..."
  std::string problem;         // a template that was not used, and why
  std::string lookup_failure;  // rbl_reply_maps did not answer
};

RblReply ComposeRblReply(const RblReplySettings& settings, const RblListing& listing, const SmtpFacts& facts);

// The value of a name smtpd expands in every reply template (Postfix's
// smtpd_expand_lookup): server_name, client, client_address, client_port,
// client_name, reverse_client_name, helo_name, sender, sender_name,
// sender_domain, the recipient forms and localtime (mail/reply_template.h
// lists them); nullopt for others.
std::optional<std::string> SessionTemplateValue(std::string_view name, const SmtpFacts& facts,
                                                std::string_view myhostname);

}  // namespace postern::vm
