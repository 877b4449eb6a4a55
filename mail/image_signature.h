// image_signature.h: signed images. `postern compile --sign KEY` signs the
// image id (which covers every byte of the image, docs/image.md) with an
// Ed25519 key, into the image's SIGNATURE file; posternd started with
// --signature-keys serves only images that one of those public keys
// signed, and `postern verify` checks a signature.
//
// SIGNATURE is text:
//
//   postern-image-signature 1
//   key sha256:<hex sha256 of the raw public key>
//   signature <hex Ed25519 signature of "postern-image:" + id>
//
// Keys are PEM files as `openssl genpkey -algorithm ed25519` writes them
// (private) and `openssl pkey -pubout` (public); a public key file may
// hold several keys. Ed25519 signatures are deterministic: signing the
// same image with the same key gives the same file.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::mail {

inline constexpr std::string_view kSignatureFile = "SIGNATURE";

// An Ed25519 public key and its fingerprint ("sha256:...").
struct PublicKey {
  std::string raw;  // 32 bytes
  std::string fingerprint;
};

// The SIGNATURE file for image `id`, signed with the private key in
// `private_key_pem`. An error for a key that is not an Ed25519 private key.
Result<std::string> SignImageId(std::string_view id, std::string_view private_key_pem);

// Every public key in `pem` (one or more PEM blocks); an error when there
// is none, or one is not an Ed25519 public key.
Result<std::vector<PublicKey>> ParsePublicKeys(std::string_view pem);

// Which of `keys` signed image `id` (its fingerprint), or why none did.
Result<std::string> VerifyImageSignature(std::string_view signature_file, std::string_view id,
                                         const std::vector<PublicKey>& keys);

}  // namespace postern::mail
