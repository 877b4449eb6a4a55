// sha256.cc: see sha256.h.
#include "util/sha256.h"

#include <openssl/evp.h>

namespace postern {

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

void AppendSha256Trailer(std::string* bytes) { *bytes += Sha256Hex(*bytes); }

std::optional<std::string_view> CheckSha256Trailer(std::string_view bytes) {
  constexpr size_t kHex = 64;
  if (bytes.size() < kHex) return std::nullopt;
  std::string_view body = bytes.substr(0, bytes.size() - kHex);
  if (Sha256Hex(body) != bytes.substr(body.size())) return std::nullopt;
  return body;
}

}  // namespace postern
