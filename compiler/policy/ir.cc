// ir.cc: see ir.h.
#include "compiler/policy/ir.h"

namespace postern::policy {

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kConnect:
      return "connect";
    case Stage::kHelo:
      return "helo";
    case Stage::kMail:
      return "mail";
    case Stage::kRcpt:
      return "rcpt";
    case Stage::kData:
      return "data";
    case Stage::kEndOfData:
      return "end-of-data";
  }
  return "?";
}

const char* RestrictionName(RestrictionKind kind) {
  switch (kind) {
#define NAME(k, n)         \
  case RestrictionKind::k: \
    return n;
    NAME(kPermit, "permit")
    NAME(kReject, "reject")
    NAME(kDefer, "defer")
    NAME(kDeferIfPermit, "defer_if_permit")
    NAME(kDeferIfReject, "defer_if_reject")
    NAME(kWarnIfReject, "warn_if_reject")
    NAME(kPermitMynetworks, "permit_mynetworks")
    NAME(kPermitSaslAuthenticated, "permit_sasl_authenticated")
    NAME(kPermitTlsAllCerts, "permit_tls_all_clientcerts")
    NAME(kRejectPlaintextSession, "reject_plaintext_session")
    NAME(kPermitAuthDestination, "permit_auth_destination")
    NAME(kRejectUnauthDestination, "reject_unauth_destination")
    NAME(kDeferUnauthDestination, "defer_unauth_destination")
    NAME(kRejectUnauthPipelining, "reject_unauth_pipelining")
    NAME(kRejectUnlistedRecipient, "reject_unlisted_recipient")
    NAME(kRejectUnlistedSender, "reject_unlisted_sender")
    NAME(kRejectNonFqdnHelo, "reject_non_fqdn_helo_hostname")
    NAME(kRejectInvalidHelo, "reject_invalid_helo_hostname")
    NAME(kRejectNonFqdnSender, "reject_non_fqdn_sender")
    NAME(kRejectNonFqdnRecipient, "reject_non_fqdn_recipient")
    NAME(kRejectUnknownSenderDomain, "reject_unknown_sender_domain")
    NAME(kRejectUnknownRecipientDomain, "reject_unknown_recipient_domain")
    NAME(kRejectUnknownClientHostname, "reject_unknown_client_hostname")
    NAME(kRejectUnknownReverseClientHostname, "reject_unknown_reverse_client_hostname")
    NAME(kRejectRblClient, "reject_rbl_client")
    NAME(kRejectRhsblClient, "reject_rhsbl_client")
    NAME(kRejectRhsblReverseClient, "reject_rhsbl_reverse_client")
    NAME(kRejectRhsblHelo, "reject_rhsbl_helo")
    NAME(kRejectRhsblSender, "reject_rhsbl_sender")
    NAME(kRejectRhsblRecipient, "reject_rhsbl_recipient")
    NAME(kRejectUnknownHeloHostname, "reject_unknown_helo_hostname")
    NAME(kCheckPolicyService, "check_policy_service")
    NAME(kRejectMultiRecipientBounce, "reject_multi_recipient_bounce")
    NAME(kPermitDnswlClient, "permit_dnswl_client")
    NAME(kPermitRhswlClient, "permit_rhswl_client")
    NAME(kCheckClientAccess, "check_client_access")
    NAME(kCheckReverseClientHostnameAccess, "check_reverse_client_hostname_access")
    NAME(kCheckHeloAccess, "check_helo_access")
    NAME(kCheckSenderAccess, "check_sender_access")
    NAME(kCheckRecipientAccess, "check_recipient_access")
    NAME(kCheckSaslAccess, "check_sasl_access")
    NAME(kRejectSenderLoginMismatch, "reject_sender_login_mismatch")
    NAME(kRejectAuthenticatedSenderLoginMismatch, "reject_authenticated_sender_login_mismatch")
    NAME(kRejectKnownSenderLoginMismatch, "reject_known_sender_login_mismatch")
    NAME(kRejectUnauthenticatedSenderLoginMismatch, "reject_unauthenticated_sender_login_mismatch")
    NAME(kClass, "class")
    NAME(kRule, "rule")
    NAME(kHeaderChecks, "header_checks")
    NAME(kBodyChecks, "body_checks")
#undef NAME
  }
  return "?";
}

}  // namespace postern::policy
