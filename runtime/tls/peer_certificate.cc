// peer_certificate.cc: see peer_certificate.h.
#include "runtime/tls/peer_certificate.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

namespace postern::tls {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};

std::string Colons(const unsigned char* bytes, unsigned int length) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    if (i > 0) out += ':';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

std::string Digest(const EVP_MD* md, const unsigned char* data, size_t length) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_length = 0;
  if (EVP_Digest(data, length, out, &out_length, md, nullptr) != 1) return "";
  return Colons(out, out_length);
}

// The name's common name, as printable text ("" when it has none).
std::string CommonName(const X509_NAME* name) {
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

}  // namespace

std::optional<PeerCertificate> ReadPeerCertificate(SSL* ssl, const std::string& digest) {
  std::unique_ptr<X509, X509Deleter> peer(SSL_get1_peer_certificate(ssl));
  if (!peer) return std::nullopt;
  const EVP_MD* md = EVP_get_digestbyname(digest.c_str());
  if (md == nullptr) md = EVP_sha256();
  PeerCertificate c;
  c.trusted = SSL_get_verify_result(ssl) == X509_V_OK;
  int length = i2d_X509(peer.get(), nullptr);
  if (length > 0) {
    std::vector<unsigned char> der(static_cast<size_t>(length));
    unsigned char* p = der.data();
    i2d_X509(peer.get(), &p);
    c.fingerprint = Digest(md, der.data(), der.size());
  }
  length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer.get()), nullptr);
  if (length > 0) {
    std::vector<unsigned char> der(static_cast<size_t>(length));
    unsigned char* p = der.data();
    i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer.get()), &p);
    c.pubkey_fingerprint = Digest(md, der.data(), der.size());
  }
  c.subject_cn = CommonName(X509_get_subject_name(peer.get()));
  c.issuer_cn = CommonName(X509_get_issuer_name(peer.get()));
  return c;
}

}  // namespace postern::tls
