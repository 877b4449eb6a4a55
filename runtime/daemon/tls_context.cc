// tls_context.cc: see tls_context.h.
#include "runtime/daemon/tls_context.h"

#include <openssl/ssl.h>

#include <utility>
#include <vector>

#include "runtime/image/image_parameters.h"
#include "runtime/tls/tls_settings.h"
#include "util/strings.h"

namespace postern::daemon {
namespace {

std::string Level(const image::Image& image) {
  std::string level = ToLower(image.Text("smtpd_tls_security_level"));
  if (level.empty()) {
    if (image::BoolParameter(image, "smtpd_enforce_tls")) return "encrypt";
    if (image::BoolParameter(image, "smtpd_use_tls")) return "may";
  }
  return level;
}

}  // namespace

std::string TlsContextKey(const image::Image& image) {
  std::string level = Level(image);
  if (level != "may" && level != "encrypt") return "";
  bool mandatory = level == "encrypt";
  std::string key = level;
  for (const char* name : {"smtpd_tls_chain_files", "smtpd_tls_cert_file", "smtpd_tls_key_file",
                           mandatory ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols",
                           mandatory ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers", "smtpd_tls_exclude_ciphers",
                           "smtpd_tls_mandatory_exclude_ciphers", "tls_high_cipherlist", "tls_medium_cipherlist",
                           "tls_preempt_cipherlist"}) {
    key += "\n" + std::string(name) + "=" + image.Text(name);
  }
  return key;
}

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const image::Image& image) {
  namespace ssl = boost::asio::ssl;
  std::string level = Level(image);
  if (level != "may" && level != "encrypt") return std::shared_ptr<ssl::context>();
  bool mandatory = level == "encrypt";
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (image::BoolParameter(image, "tls_preempt_cipherlist")) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }

  std::vector<std::string> chain = tls::ListSetting(image, "smtpd_tls_chain_files");
  std::string cert = image.Text("smtpd_tls_cert_file");
  std::string key = image.Text("smtpd_tls_key_file");
  if (key.empty()) key = cert;
  if (!chain.empty()) {
    // Postfix: key first, then its certificate chain, in PEM files.
    key = chain.front();
    cert = chain.size() > 1 ? chain[1] : chain.front();
  }
  if (cert.empty()) {
    return Status::Permanent("smtpd_tls_security_level = " + level +
                             " needs smtpd_tls_cert_file (or smtpd_tls_chain_files)");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    return Status::Permanent("certificate " + cert + ": " + tls::OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Permanent("private key " + key + ": " + tls::OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Permanent("private key " + key + " does not match certificate " + cert);
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
  return context;
}

}  // namespace postern::daemon
