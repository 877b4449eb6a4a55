// policy_vm.h: runs a verified policy program (mail/policy_program.h) for
// one stage of an SMTP transaction, with Postfix's smtpd semantics for the
// restrictions and access(5) results. Lookups go to the image's tables,
// address questions to the resolver, DNS questions to a NetworkOracle.
//
// Immutable after construction; Run() is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mail/network_list.h"
#include "mail/policy_program.h"
#include "runtime/image/image.h"
#include "runtime/resolve/address_lookup.h"
#include "runtime/resolve/resolver.h"
#include "runtime/vm/network_oracle.h"
#include "runtime/vm/rbl_reply.h"
#include "runtime/vm/smtp_facts.h"

namespace postern::vm {

enum class VmStage { kConnect, kHelo, kMail, kRcpt, kData, kEndOfData };

// A header_checks IGNORE or REPLACE, aimed at the header it matched.
struct HeaderEdit {
  enum class Kind { kIgnore, kReplace };
  Kind kind = Kind::kIgnore;
  size_t header = 0;        // index into SmtpFacts::header_lines (or headers)
  std::string replacement;  // kReplace: the header that takes its place
};

struct Decision {
  enum class Kind { kAccept, kReject, kDefer };
  Kind kind = Kind::kAccept;
  int code = 250;
  std::string reply;  // "554 5.7.1 <x@y>: Relay access denied"; empty on accept
  // Actions that do not end evaluation (access(5) HOLD, REDIRECT, ...).
  bool hold = false;
  bool discard = false;
  std::string redirect;
  std::string filter;
  std::string route;  // the policy language's route action: transport:nexthop
  std::vector<std::string> bcc;
  std::vector<std::string> prepend;
  std::vector<HeaderEdit> header_edits;  // header_checks IGNORE and REPLACE
  std::vector<std::string> warnings;     // warn_if_reject, WARN, INFO
  std::vector<std::string> trace;        // which list and instruction decided (when asked)
  std::string lookup_failure;            // a table that did not answer (451 4.3.0): which, and why
};

// relay_clientcerts: whether `maps` lists the client certificate of
// `facts` by its fingerprint or by its public key's (permit_tls_clientcerts,
// and the same item in local_header_rewrite_clients). `error` says why a
// table could not answer.
resolve::LookupOutcome FindClientCertificate(const resolve::TableList& maps, const SmtpFacts& facts);

class PolicyVm {
 public:
  // REQUIRES: the image has a verified program (Image::program()).
  PolicyVm(std::shared_ptr<const image::Image> image, std::shared_ptr<const resolve::Resolver> resolver,
           std::shared_ptr<const NetworkOracle> dns = std::make_shared<OptimisticNetwork>(),
           std::shared_ptr<const RateOracle> rates = std::make_shared<NoRates>());

  // `trace` fills Decision::trace (which list and instruction decided).
  Decision Run(VmStage stage, const SmtpFacts& facts, bool trace = false) const;

  // RCPT TO as smtpd decides it: the rcpt stage, then, when that accepts,
  // smtpd_reject_unlisted_recipient (and smtpd_reject_unlisted_sender).
  Decision CheckRecipient(const SmtpFacts& facts, bool trace = false) const;

 private:
  class Execution;
  std::shared_ptr<const image::Image> image_;
  std::shared_ptr<const resolve::Resolver> resolver_;
  std::shared_ptr<const NetworkOracle> dns_;
  std::shared_ptr<const RateOracle> rates_;
  const mail::Program* program_;
  std::vector<std::shared_ptr<const mail::Regexp>> regexps_;  // by test index, for `~` tests
  std::vector<const mail::LookupTable*> tables_;              // by Program::tables index
  std::vector<uint8_t> table_shapes_;                         // key shapes each table holds
  mail::NetworkList mynetworks_;
  bool access_parent_style_ = true;  // smtpd_access_maps in parent_domain_matches_subdomains
  std::string null_sender_key_ = "<>";
  std::string access_map_reject_code_ = "554";
  std::string access_map_defer_code_ = "450";
  bool reject_unlisted_recipient_ = true;
  bool sasl_enabled_ = false;  // smtpd_sasl_auth_enable: without it nobody is authenticated
  bool reject_unlisted_sender_ = false;
  resolve::TableList sender_login_maps_;         // smtpd_sender_login_maps: sender -> the logins that own it
  bool unknown_address_tempfail_defer_ = false;  // unknown_address_tempfail_action = defer
  bool unknown_helo_tempfail_defer_ = false;     // unknown_helo_hostname_tempfail_action = defer
  std::string policy_default_action_;            // smtpd_policy_service_default_action
  // unverified_recipient_* and unverified_sender_*.
  struct UnverifiedSettings {
    int defer_code = 450;
    int reject_code = 450;
    bool tempfail_defer = false;  // tempfail_action = defer (else defer_if_permit)
    std::string reason;           // reject_reason: replaces what verification said
  };
  UnverifiedSettings unverified_recipient_, unverified_sender_;
  std::string policy_context_;            // smtpd_policy_service_policy_context
  RblReplySettings rbl_reply_;            // default_rbl_reply, rbl_reply_maps
  resolve::TableList relay_clientcerts_;  // permit_tls_clientcerts: fingerprints
  bool ask_ccert_ = false;                // smtpd_tls_ask_ccert
  bool ipv4_ = true, ipv6_ = true;        // inet_protocols: the address families hosts are asked for
  // receive_override_options
  bool no_unknown_recipient_checks_ = false;  // no unlisted recipient (or sender) rejects
  bool no_header_body_checks_ = false;        // no header_checks, body_checks
};

}  // namespace postern::vm
