// address_test.cc: RFC 822 quoting of local parts, as Postfix's
// quote_822_local does it.
#include "mail/address.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

TEST(AddressTest, QuotesLocalPartsThatAreNotDotAtoms) {
  EXPECT_EQ(QuoteLocalPart("joe@example.com"), "joe@example.com");
  EXPECT_EQ(QuoteLocalPart("j.o.e@example.com"), "j.o.e@example.com");
  EXPECT_EQ(QuoteLocalPart("joe doe@example.com"), "\"joe doe\"@example.com");
  EXPECT_EQ(QuoteLocalPart(".joe@x"), "\".joe\"@x");
  EXPECT_EQ(QuoteLocalPart("jo..e@x"), "\"jo..e\"@x");
  EXPECT_EQ(QuoteLocalPart("jo\"e\\@x"), "\"jo\\\"e\\\\\"@x");
  EXPECT_EQ(QuoteLocalPart("a@b@x"), "\"a@b\"@x");
  EXPECT_EQ(QuoteLocalPart("noat"), "noat");
  EXPECT_EQ(QuoteLocalPart("j\xc3\xb6rg@x"), "j\xc3\xb6rg@x");  // 8-bit text is left alone
}

}  // namespace
}  // namespace postern::mail
