// sha256.h: SHA-256 digests (OpenSSL) as lowercase hex, for content
// addressing of images and their files.
#pragma once

#include <string>
#include <string_view>

namespace postern {

// The 64-character lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace postern
