// image_signature.cc: see image_signature.h.
#include "mail/image_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <optional>

#include "util/sha256.h"
#include "util/strings.h"

namespace postern::mail {
namespace {

constexpr std::string_view kMagic = "postern-image-signature 1";

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string Message(std::string_view id) { return "postern-image:" + std::string(id); }

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

Result<std::string> RawPublicKey(EVP_PKEY* key) {
  if (EVP_PKEY_id(key) != EVP_PKEY_ED25519) return Status::Permanent("not an Ed25519 key");
  unsigned char raw[32];
  size_t length = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &length) != 1 || length != sizeof raw) {
    return Status::Permanent("cannot read the public key");
  }
  return std::string(reinterpret_cast<const char*>(raw), length);
}

std::string Fingerprint(std::string_view raw) { return "sha256:" + Sha256Hex(raw); }

}  // namespace

Result<std::string> SignImageId(std::string_view id, std::string_view private_key_pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return Status::Permanent("not a PEM private key (openssl genpkey -algorithm ed25519 makes one)");
  Result<std::string> raw = RawPublicKey(key.get());
  if (!raw.ok()) return Status::Permanent("the signing key is " + raw.status().message());
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string message = Message(id);
  unsigned char signature[64];
  size_t length = sizeof signature;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return Status::Permanent("signing failed");
  }
  return std::string(kMagic) + "\nkey " + Fingerprint(*raw) + "\nsignature " +
         Hex(std::string_view(reinterpret_cast<const char*>(signature), length)) + "\n";
}

Result<std::vector<PublicKey>> ParsePublicKeys(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<PublicKey> keys;
  while (bio) {
    Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) break;
    Result<std::string> raw = RawPublicKey(key.get());
    if (!raw.ok())
      return Status::Permanent("public key " + std::to_string(keys.size() + 1) + " is " + raw.status().message());
    keys.push_back(PublicKey{*raw, Fingerprint(*raw)});
  }
  if (keys.empty()) return Status::Permanent("no PEM public key (openssl pkey -pubout makes one)");
  return keys;
}

Result<std::string> VerifyImageSignature(std::string_view signature_file, std::string_view id,
                                         const std::vector<PublicKey>& keys) {
  std::vector<std::string> lines = SplitAny(signature_file, "\n");
  if (lines.size() != 3 || lines[0] != kMagic || !StartsWith(lines[1], "key ") || !StartsWith(lines[2], "signature ")) {
    return Status::Permanent("malformed " + std::string(kSignatureFile) + " file");
  }
  std::string fingerprint = lines[1].substr(4);
  std::optional<std::string> signature = FromHex(lines[2].substr(10));
  if (!signature || signature->size() != 64) return Status::Permanent("malformed signature");
  const PublicKey* signer = nullptr;
  for (const PublicKey& k : keys) {
    if (k.fingerprint == fingerprint) signer = &k;
  }
  if (signer == nullptr) return Status::Permanent("signed by key " + fingerprint + ", which is not trusted");
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(signer->raw.data()), signer->raw.size()));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string message = Message(id);
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return Status::Permanent("the signature by key " + fingerprint + " does not match image " + std::string(id));
  }
  return fingerprint;
}

}  // namespace postern::mail
