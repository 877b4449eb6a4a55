// image_signature_test.cc: signing image ids with Ed25519 keys and
// verifying them: the right key, another key, another id, a damaged file,
// keys of other types. The keys are throwaway test keys.
#include "mail/image_signature.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

constexpr std::string_view kPrivate =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIFOwVWFWJuYTPFHF+dsjcK7ULUxkhq+WMzlPgFMLbwAw\n"
    "-----END PRIVATE KEY-----\n";
constexpr std::string_view kPublic =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAzkziTf2SVbGc6dmiH43lt00WeJ3ACIJ+PbcBH6xqIHE=\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kOtherPublic =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAbSqj4w1eI8wwqwo2toO8SiBQURIzjTBy5H4I80SrYU4=\n"
    "-----END PUBLIC KEY-----\n";
constexpr std::string_view kEcPublic =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEVYQcl1jFTWq2uC7PctkP5hGEjzKd\n"
    "yolNUb3QtxcSJ2xyRk+W5pCuQaAdUwFGt6crjIeSN3JrmkghT+Ns5/jToA==\n"
    "-----END PUBLIC KEY-----\n";

const std::string kId(64, 'a');

TEST(ImageSignatureTest, TheTrustedKeyVerifiesItsSignature) {
  Result<std::string> signature = SignImageId(kId, kPrivate);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_EQ(signature->substr(0, 26), "postern-image-signature 1\n");
  EXPECT_EQ(*signature, *SignImageId(kId, kPrivate));  // deterministic: reproducible images stay so
  auto keys = ParsePublicKeys(std::string(kPublic) + std::string(kOtherPublic));
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 2u);
  Result<std::string> signer = VerifyImageSignature(*signature, kId, *keys);
  ASSERT_TRUE(signer.ok()) << signer.status().message();
  EXPECT_EQ(*signer, (*keys)[0].fingerprint);
  EXPECT_EQ(signer->substr(0, 7), "sha256:");
}

TEST(ImageSignatureTest, OtherKeysOtherImagesAndDamageAreRefused) {
  std::string signature = *SignImageId(kId, kPrivate);
  auto other = ParsePublicKeys(kOtherPublic);
  ASSERT_TRUE(other.ok());
  Result<std::string> untrusted = VerifyImageSignature(signature, kId, *other);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("which is not trusted"), std::string::npos);
  auto keys = ParsePublicKeys(kPublic);
  EXPECT_FALSE(VerifyImageSignature(signature, std::string(64, 'b'), *keys).ok());
  std::string damaged = signature;
  damaged[damaged.size() - 2] = damaged[damaged.size() - 2] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyImageSignature(damaged, kId, *keys).ok());
  EXPECT_FALSE(VerifyImageSignature("postern-image-signature 1\nkey x\n", kId, *keys).ok());
  EXPECT_FALSE(VerifyImageSignature("", kId, *keys).ok());
}

TEST(ImageSignatureTest, OnlyEd25519KeysAreTaken) {
  EXPECT_FALSE(ParsePublicKeys(kEcPublic).ok());
  EXPECT_FALSE(ParsePublicKeys("not a key").ok());
  EXPECT_FALSE(SignImageId(kId, kPublic).ok());  // a public key does not sign
  EXPECT_FALSE(SignImageId(kId, "").ok());
}

}  // namespace
}  // namespace postern::mail
