// sha256.h: SHA-256 digests (OpenSSL) as lowercase hex, for content
// addressing of images and their files.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace postern {

// The 64-character lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// The hex SHA-256 of the first `size` bytes of the file open as `fd`,
// read through a buffer (not into memory as a whole): a read error, or a
// file shorter than `size`, is an error.
Result<std::string> Sha256HexOfDescriptor(int fd, uint64_t size);
// The same for the whole file at `path`.
Result<std::string> Sha256HexOfPath(const std::string& path);

// The raw digest of data given in pieces (a message body as it arrives).
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // The digest of everything given; the object starts over afterwards.
  Digest Final();
  static std::string Hex(const Digest& digest);  // lowercase

 private:
  evp_md_ctx_st* context_;
};

// File formats that end in the hex sha256 of everything before it (image
// headers, queue files): append the trailer; or check it and return the
// bytes before it, nullopt when the trailer is missing or wrong.
void AppendSha256Trailer(std::string* bytes);
std::optional<std::string_view> CheckSha256Trailer(std::string_view bytes);

}  // namespace postern
