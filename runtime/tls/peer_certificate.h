// peer_certificate.h: what smtpd's policy knows of a client certificate
// (smtpd_tls_ask_ccert): whether it verified against smtpd_tls_CAfile,
// its fingerprints as Postfix writes them (smtpd_tls_fingerprint_digest
// over the DER certificate, and over its DER SubjectPublicKeyInfo:
// "AB:CD:..."), and the subject's and issuer's common names.
#pragma once

#include <optional>
#include <string>

typedef struct ssl_st SSL;

namespace postern::tls {

struct PeerCertificate {
  bool trusted = false;
  std::string fingerprint;
  std::string pubkey_fingerprint;
  std::string subject_cn;
  std::string issuer_cn;
};

// The certificate `ssl`'s peer presented, if any; `digest` is an OpenSSL
// digest name ("sha256", "md5"; an unknown one: sha256).
std::optional<PeerCertificate> ReadPeerCertificate(SSL* ssl, const std::string& digest);

}  // namespace postern::tls
