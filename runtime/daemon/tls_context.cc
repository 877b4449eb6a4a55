// tls_context.cc: see tls_context.h.
#include "runtime/daemon/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "runtime/image/image_parameters.h"
#include "runtime/tls/tls_settings.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace postern::daemon {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioDeleter> MemoryBio(const std::string& bytes) {
  return std::unique_ptr<BIO, BioDeleter>(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

// As SSL_CTX_use_certificate_chain_file does it, from memory: the first
// certificate is the server's, the others its chain.
Status UseCertificateChain(SSL_CTX* ctx, const std::string& pem) {
  auto bio = MemoryBio(pem);
  std::unique_ptr<X509, X509Deleter> leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) return Status::Permanent(tls::OpenSslError());
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, next) != 1) {
      X509_free(next);
      return Status::Permanent(tls::OpenSslError());
    }
  }
  ERR_clear_error();  // the end of the file reads as an error
  return Status::Ok();
}

// smtpd_tls_CAfile: the store client certificates are verified against,
// and the names a client asked for a certificate is told; smtpd_tls_CApath:
// more of the store, not named (as in Postfix).
Status UseAuthorities(SSL_CTX* ctx, const tls::ServerTlsFiles& files) {
  if (!files.ca_directory.empty() && SSL_CTX_load_verify_dir(ctx, files.ca_directory.c_str()) != 1) {
    return Status::Permanent("smtpd_tls_CApath " + files.ca_directory + ": " + tls::OpenSslError());
  }
  if (files.ca_pem.empty()) return Status::Ok();
  auto bio = MemoryBio(files.ca_pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  int count = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ++count;
    X509_STORE_add_cert(store, ca);
    if (names != nullptr) sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(ca)));
    X509_free(ca);
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (count == 0) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    return Status::Permanent("smtpd_tls_CAfile " + files.ca_path + ": no certificate in it");
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  return Status::Ok();
}

}  // namespace

std::string TlsContextKey(const image::Image& image, const std::optional<tls::ServerTlsFiles>& files) {
  if (!files) return "";
  std::string level = tls::ServerTlsLevel(image);
  bool mandatory = level == "encrypt";
  std::string key = level;
  for (const char* name :
       {"smtpd_tls_chain_files", "smtpd_tls_cert_file", "smtpd_tls_key_file",
        mandatory ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols",
        mandatory ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers", "smtpd_tls_exclude_ciphers",
        "smtpd_tls_mandatory_exclude_ciphers", "tls_high_cipherlist", "tls_medium_cipherlist", "tls_preempt_cipherlist",
        "smtpd_tls_ask_ccert", "smtpd_tls_req_ccert", "smtpd_tls_ccert_verifydepth"}) {
    key += "\n" + std::string(name) + "=" + image.Text(name);
  }
  key += "\ncertificate=" + Sha256Hex(files->cert_pem) + "\nkey=" + Sha256Hex(files->key_pem) +
         "\nca=" + Sha256Hex(files->ca_pem) + "\ncapath=" + files->ca_directory;
  return key;
}

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const image::Image& image,
                                                                        const tls::ServerTlsFiles& files) {
  namespace ssl = boost::asio::ssl;
  bool mandatory = tls::ServerTlsLevel(image) == "encrypt";
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (image::BoolParameter(image, "tls_preempt_cipherlist")) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  if (Status s = UseCertificateChain(ctx, files.cert_pem); !s.ok()) {
    return Status::Permanent("certificate " + files.cert_path + ": " + s.message());
  }
  auto key_bio = MemoryBio(files.key_pem);
  // No passphrase prompt on a terminal: an encrypted key is an error.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!key || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return Status::Permanent("private key " + files.key_path + ": " + tls::OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Permanent("private key " + files.key_path + " does not match certificate " + files.cert_path);
  }
  Status protocols = tls::ApplyProtocols(
      ctx, tls::ListSetting(image, mandatory ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols"));
  if (!protocols.ok()) return protocols;

  std::vector<std::string> excluded = tls::ListSetting(image, "smtpd_tls_exclude_ciphers");
  if (mandatory) {
    for (const std::string& e : tls::ListSetting(image, "smtpd_tls_mandatory_exclude_ciphers")) excluded.push_back(e);
  }
  Status ciphers = tls::ApplyCipherGrade(
      ctx, image, image.Text(mandatory ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers"), excluded);
  if (!ciphers.ok()) return ciphers;
  if (Status s = UseAuthorities(ctx, files); !s.ok()) return s;
  if (tls::AsksClientCertificate(image)) {
    // Asked, never required: a certificate that does not verify is
    // "untrusted" (the handshake goes on), which the restrictions judge.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, [](int, X509_STORE_CTX*) { return 1; });
    int64_t depth = image::IntParameter(image, "smtpd_tls_ccert_verifydepth");
    SSL_CTX_set_verify_depth(ctx, static_cast<int>(std::clamp<int64_t>(depth, 0, 100)));
    // The same context serves every session: a session id context lets
    // clients resume sessions with it.
    static constexpr unsigned char kSessionContext[] = "postern-smtpd";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  }
  return context;
}

}  // namespace postern::daemon
