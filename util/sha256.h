// sha256.h: SHA-256 digests (OpenSSL) as lowercase hex, for content
// addressing of images and their files.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern {

// The 64-character lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// File formats that end in the hex sha256 of everything before it (image
// headers, queue files): append the trailer; or check it and return the
// bytes before it, nullopt when the trailer is missing or wrong.
void AppendSha256Trailer(std::string* bytes);
std::optional<std::string_view> CheckSha256Trailer(std::string_view bytes);

}  // namespace postern
