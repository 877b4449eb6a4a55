// image_trust.h: which images posternd may serve when it is started with
// --signature-keys: those one of the keys signed (mail/image_signature.h).
// The keys come from files given on posternd's command line, not from an
// image: an image cannot vouch for itself.
#pragma once

#include <string>
#include <vector>

#include "mail/image_signature.h"
#include "runtime/image/image.h"
#include "util/status.h"

namespace postern::image {

// The public keys of every file (PEM, one or more keys each).
Result<std::vector<mail::PublicKey>> LoadTrustedKeys(const std::vector<std::string>& files);

// The fingerprint of the key that signed `image` (its SIGNATURE file), or
// why none of `keys` did (no signature, an unknown key, a bad signature).
Result<std::string> SignerOf(const Image& image, const std::vector<mail::PublicKey>& keys);

}  // namespace postern::image
