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
    NAME(kCheckCcertAccess, "check_ccert_access")
    NAME(kPermitTlsClientcerts, "permit_tls_clientcerts")
    NAME(kSleep, "sleep")
    NAME(kCheckClientAAccess, "check_client_a_access")
    NAME(kCheckClientMxAccess, "check_client_mx_access")
    NAME(kCheckClientNsAccess, "check_client_ns_access")
    NAME(kCheckReverseClientHostnameAAccess, "check_reverse_client_hostname_a_access")
    NAME(kCheckReverseClientHostnameMxAccess, "check_reverse_client_hostname_mx_access")
    NAME(kCheckReverseClientHostnameNsAccess, "check_reverse_client_hostname_ns_access")
    NAME(kCheckHeloAAccess, "check_helo_a_access")
    NAME(kCheckHeloMxAccess, "check_helo_mx_access")
    NAME(kCheckHeloNsAccess, "check_helo_ns_access")
    NAME(kCheckSenderAAccess, "check_sender_a_access")
    NAME(kCheckSenderMxAccess, "check_sender_mx_access")
    NAME(kCheckSenderNsAccess, "check_sender_ns_access")
    NAME(kCheckRecipientAAccess, "check_recipient_a_access")
    NAME(kCheckRecipientMxAccess, "check_recipient_mx_access")
    NAME(kCheckRecipientNsAccess, "check_recipient_ns_access")
    NAME(kRejectSenderLoginMismatch, "reject_sender_login_mismatch")
    NAME(kRejectAuthenticatedSenderLoginMismatch, "reject_authenticated_sender_login_mismatch")
    NAME(kRejectKnownSenderLoginMismatch, "reject_known_sender_login_mismatch")
    NAME(kRejectUnauthenticatedSenderLoginMismatch, "reject_unauthenticated_sender_login_mismatch")
    NAME(kRejectUnverifiedRecipient, "reject_unverified_recipient")
    NAME(kRejectUnverifiedSender, "reject_unverified_sender")
    NAME(kClass, "class")
    NAME(kRule, "rule")
    NAME(kHeaderChecks, "header_checks")
    NAME(kBodyChecks, "body_checks")
#undef NAME
  }
  return "?";
}

std::optional<ServerAccess> ServerAccessOf(RestrictionKind kind) {
  using mail::AccessKey;
  using mail::ServerRecord;
  switch (kind) {
    case RestrictionKind::kCheckClientAAccess:
      return ServerAccess{AccessKey::kClient, ServerRecord::kA};
    case RestrictionKind::kCheckClientMxAccess:
      return ServerAccess{AccessKey::kClient, ServerRecord::kMx};
    case RestrictionKind::kCheckClientNsAccess:
      return ServerAccess{AccessKey::kClient, ServerRecord::kNs};
    case RestrictionKind::kCheckReverseClientHostnameAAccess:
      return ServerAccess{AccessKey::kReverseClient, ServerRecord::kA};
    case RestrictionKind::kCheckReverseClientHostnameMxAccess:
      return ServerAccess{AccessKey::kReverseClient, ServerRecord::kMx};
    case RestrictionKind::kCheckReverseClientHostnameNsAccess:
      return ServerAccess{AccessKey::kReverseClient, ServerRecord::kNs};
    case RestrictionKind::kCheckHeloAAccess:
      return ServerAccess{AccessKey::kHelo, ServerRecord::kA};
    case RestrictionKind::kCheckHeloMxAccess:
      return ServerAccess{AccessKey::kHelo, ServerRecord::kMx};
    case RestrictionKind::kCheckHeloNsAccess:
      return ServerAccess{AccessKey::kHelo, ServerRecord::kNs};
    case RestrictionKind::kCheckSenderAAccess:
      return ServerAccess{AccessKey::kSender, ServerRecord::kA};
    case RestrictionKind::kCheckSenderMxAccess:
      return ServerAccess{AccessKey::kSender, ServerRecord::kMx};
    case RestrictionKind::kCheckSenderNsAccess:
      return ServerAccess{AccessKey::kSender, ServerRecord::kNs};
    case RestrictionKind::kCheckRecipientAAccess:
      return ServerAccess{AccessKey::kRecipient, ServerRecord::kA};
    case RestrictionKind::kCheckRecipientMxAccess:
      return ServerAccess{AccessKey::kRecipient, ServerRecord::kMx};
    case RestrictionKind::kCheckRecipientNsAccess:
      return ServerAccess{AccessKey::kRecipient, ServerRecord::kNs};
    default:
      return std::nullopt;
  }
}

}  // namespace postern::policy
