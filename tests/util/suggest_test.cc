// Tests for util/suggest: did-you-mean hints.
#include "util/suggest.h"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(SuggestTest, FindsCloseTypos) {
  std::vector<std::string_view> names = {"mydestination", "mydomain", "myhostname", "mynetworks"};
  EXPECT_EQ(Suggest("mydestinaton", names), "mydestination");
  EXPECT_EQ(Suggest("myhostanme", names), "myhostname");  // transposition
  EXPECT_EQ(Suggest("mynetwork", names), "mynetworks");
}

TEST(SuggestTest, RefusesDistantWords) {
  std::vector<std::string_view> names = {"mydestination", "relayhost"};
  EXPECT_EQ(Suggest("banana", names), "");
  EXPECT_EQ(Suggest("x", names), "");
}

TEST(SuggestTest, EditDistance) {
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("abc", "abc"), 0u);
  EXPECT_EQ(EditDistance("abc", "acb"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

}  // namespace
}  // namespace postern
