// verify_command.cc: `postern verify IMAGE --key FILE...`, whether one of
// the keys signed the image (as posternd --signature-keys checks before it
// serves one). Exit codes: 0 signed by a trusted key, 1 not, 2 could not
// run (no image, no key).
#include <iostream>

#include "runtime/image/image_trust.h"
#include "tools/postern/commands.h"

namespace postern::cli {

int RunVerify(const VerifyOptions& options) {
  Result<std::vector<mail::PublicKey>> keys = image::LoadTrustedKeys(options.key_files);
  if (!keys.ok()) {
    std::cerr << "postern verify: " << keys.status().message() << "\n";
    return 2;
  }
  image::LoadOptions load;
  load.offline = true;  // the signature is all that is asked: no table's server
  auto loaded = image::Image::Load(options.image, load);
  if (!loaded.ok()) {
    std::cerr << "postern verify: " << loaded.status().message() << "\n";
    return 2;
  }
  Result<std::string> signer = image::SignerOf(**loaded, *keys);
  if (!signer.ok()) {
    std::cerr << "postern verify: " << signer.status().message() << "\n";
    return 1;
  }
  std::cout << "image " << (*loaded)->id() << " signed by " << *signer << "\n";
  return 0;
}

}  // namespace postern::cli
