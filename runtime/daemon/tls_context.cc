// tls_context.cc: see tls_context.h.
#include "runtime/daemon/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <utility>
#include <vector>

#include "mail/parameter_list.h"
#include "runtime/image/image_parameters.h"
#include "util/strings.h"

namespace postern::daemon {
namespace {

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

std::string Level(const image::Image& image) {
  std::string level = ToLower(image.ParameterOr("smtpd_tls_security_level", ""));
  if (level.empty()) {
    if (image::BoolParameter(image, "smtpd_enforce_tls", false)) return "encrypt";
    if (image::BoolParameter(image, "smtpd_use_tls", false)) return "may";
  }
  return level;
}

std::vector<std::string> List(const image::Image& image, const std::string& name) {
  return mail::SplitParameterList(image.ParameterOr(name, "")).value_or(std::vector<std::string>{});
}

int ProtocolVersion(std::string_view name) {
  static const std::pair<const char*, int> kVersions[] = {
      {"SSLv3", SSL3_VERSION},     {"TLSv1", TLS1_VERSION},     {"TLSv1.1", TLS1_1_VERSION},
      {"TLSv1.2", TLS1_2_VERSION}, {"TLSv1.3", TLS1_3_VERSION},
  };
  for (const auto& [n, v] : kVersions) {
    if (EqualsIgnoreCase(name, n)) return v;
  }
  return 0;
}

// Postfix's protocol list: ">=V", "<=V", "!V", or a plain V (only those).
Status ApplyProtocols(SSL_CTX* ctx, const std::vector<std::string>& items) {
  int min = TLS1_VERSION, max = 0;
  std::vector<int> excluded, included;
  for (const std::string& item : items) {
    std::string_view v = item;
    int* bound = nullptr;
    if (StartsWith(v, ">=")) {
      bound = &min;
      v.remove_prefix(2);
    } else if (StartsWith(v, "<=")) {
      bound = &max;
      v.remove_prefix(2);
    }
    bool negate = !bound && !v.empty() && v.front() == '!';
    if (negate) v.remove_prefix(1);
    if (EqualsIgnoreCase(v, "SSLv2")) continue;  // gone from OpenSSL altogether
    int version = ProtocolVersion(v);
    if (version == 0) return Status::Permanent("unknown TLS protocol \"" + item + "\"");
    if (bound) {
      *bound = version;
    } else if (negate) {
      excluded.push_back(version);
    } else {
      included.push_back(version);
    }
  }
  if (!included.empty()) {
    min = *std::min_element(included.begin(), included.end());
    max = *std::max_element(included.begin(), included.end());
  }
  // Exclusions at the ends of the range move its bounds (OpenSSL only
  // knows a range); one in the middle cannot be expressed and is refused.
  for (bool moved = true; moved;) {
    moved = false;
    for (int v : excluded) {
      if (v == min) {
        min = v == TLS1_VERSION ? TLS1_1_VERSION : v + 1;
        moved = true;
      }
      if (max != 0 && v == max) {
        max = v - 1;
        moved = true;
      }
    }
  }
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1 || (max != 0 && SSL_CTX_set_max_proto_version(ctx, max) != 1)) {
    return Status::Permanent("TLS protocols: " + OpenSslError());
  }
  return Status::Ok();
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
    key += "\n" + std::string(name) + "=" + image.ParameterOr(name, "");
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
  if (image::BoolParameter(image, "tls_preempt_cipherlist", false)) {
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }

  std::vector<std::string> chain = List(image, "smtpd_tls_chain_files");
  std::string cert = image.ParameterOr("smtpd_tls_cert_file", "");
  std::string key = image.ParameterOr("smtpd_tls_key_file", cert);
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
    return Status::Permanent("certificate " + cert + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status::Permanent("private key " + key + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Status::Permanent("private key " + key + " does not match certificate " + cert);
  }

  Status protocols =
      ApplyProtocols(ctx, List(image, mandatory ? "smtpd_tls_mandatory_protocols" : "smtpd_tls_protocols"));
  if (!protocols.ok()) return protocols;

  std::string grade =
      ToLower(image.ParameterOr(mandatory ? "smtpd_tls_mandatory_ciphers" : "smtpd_tls_ciphers", "medium"));
  std::string ciphers;
  if (grade == "high") {
    ciphers = image.ParameterOr("tls_high_cipherlist", "aNULL:-aNULL:HIGH:@STRENGTH");
  } else if (grade == "medium") {
    ciphers = image.ParameterOr("tls_medium_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH");
  } else if (grade == "low" || grade == "export") {
    ciphers = "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH";
  } else if (grade == "null") {
    ciphers = "eNULL:!aNULL";
  } else {
    return Status::Permanent("unknown cipher grade \"" + grade + "\"");
  }
  std::vector<std::string> excluded = List(image, "smtpd_tls_exclude_ciphers");
  if (mandatory) {
    for (const std::string& e : List(image, "smtpd_tls_mandatory_exclude_ciphers")) excluded.push_back(e);
  }
  for (const std::string& e : excluded) ciphers += ":!" + e;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    return Status::Permanent("cipher list \"" + ciphers + "\": " + OpenSslError());
  }
  return context;
}

}  // namespace postern::daemon
