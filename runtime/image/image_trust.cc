// image_trust.cc: see image_trust.h.
#include "runtime/image/image_trust.h"

#include "util/read_file.h"

namespace postern::image {

Result<std::vector<mail::PublicKey>> LoadTrustedKeys(const std::vector<std::string>& files) {
  std::vector<mail::PublicKey> keys;
  for (const std::string& file : files) {
    Result<std::string> pem = ReadRegularFile(file);
    if (!pem.ok()) return Status::Permanent("signature keys " + file + ": " + pem.status().message());
    Result<std::vector<mail::PublicKey>> parsed = mail::ParsePublicKeys(*pem);
    if (!parsed.ok()) return Status::Permanent("signature keys " + file + ": " + parsed.status().message());
    keys.insert(keys.end(), parsed->begin(), parsed->end());
  }
  return keys;
}

Result<std::string> SignerOf(const Image& image, const std::vector<mail::PublicKey>& keys) {
  std::string path = image.path() + "/" + std::string(mail::kSignatureFile);
  Result<std::string> signature = ReadRegularFile(path);
  if (!signature.ok()) {
    return Status::Permanent("image " + image.id() + " is not signed (no " + std::string(mail::kSignatureFile) +
                             ": postern compile --sign KEY)");
  }
  Result<std::string> signer = mail::VerifyImageSignature(*signature, image.id(), keys);
  if (!signer.ok()) return Status::Permanent("image " + image.id() + ": " + signer.status().message());
  return signer;
}

}  // namespace postern::image
