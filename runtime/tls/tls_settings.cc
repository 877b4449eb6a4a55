// tls_settings.cc: see tls_settings.h.
#include "runtime/tls/tls_settings.h"

#include <openssl/err.h>

#include <algorithm>
#include <utility>

#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::tls {
namespace {

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

}  // namespace

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

std::vector<std::string> ListSetting(const image::Image& image, std::string_view name) {
  return mail::SplitParameterList(image.Text(name)).value_or(std::vector<std::string>{});
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

Status ApplyCipherGrade(SSL_CTX* ctx, const image::Image& image, std::string_view grade,
                        const std::vector<std::string>& excluded) {
  std::string g = ToLower(grade);
  std::string ciphers;
  if (g == "high") {
    ciphers = image.Text("tls_high_cipherlist");
  } else if (g == "medium") {
    ciphers = image.Text("tls_medium_cipherlist");
  } else if (g == "low" || g == "export") {
    ciphers = "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH";
  } else if (g == "null") {
    ciphers = "eNULL:!aNULL";
  } else {
    return Status::Permanent("unknown cipher grade \"" + g + "\"");
  }
  for (const std::string& e : excluded) ciphers += ":!" + e;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    return Status::Permanent("cipher list \"" + ciphers + "\": " + OpenSslError());
  }
  return Status::Ok();
}

}  // namespace postern::tls
