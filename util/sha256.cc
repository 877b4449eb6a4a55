// sha256.cc: see sha256.h.
#include "util/sha256.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace postern {

std::string Sha256Hex(std::string_view data) {
  Sha256::Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return Sha256::Hex(digest);
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::Update(std::string_view data) { EVP_DigestUpdate(context_, data.data(), data.size()); }

Sha256::Digest Sha256::Final() {
  Digest digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_, digest.data(), &length);
  EVP_DigestInit_ex(context_, EVP_sha256(), nullptr);
  return digest;
}

std::string Sha256::Hex(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * digest.size());
  for (uint8_t b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

Result<std::string> Sha256HexOfDescriptor(int fd, uint64_t size) {
  Sha256 hash;
  std::string buffer(1 << 20, '\0');
  uint64_t done = 0;
  while (done < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - done));
    ssize_t n = pread(fd, buffer.data(), want, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Temporary(std::string("read error: ") + std::strerror(errno));
    if (n == 0) return Status::Permanent("the file is shorter than expected");
    hash.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    done += static_cast<uint64_t>(n);
  }
  return Sha256::Hex(hash.Final());
}

Result<std::string> Sha256HexOfPath(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Permanent("cannot open " + path + ": " + std::strerror(errno));
  off_t size = lseek(fd, 0, SEEK_END);
  Result<std::string> hex = size < 0 ? Result<std::string>(Status::Temporary("cannot size " + path))
                                     : Sha256HexOfDescriptor(fd, static_cast<uint64_t>(size));
  close(fd);
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
