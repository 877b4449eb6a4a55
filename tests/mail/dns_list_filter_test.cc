// dns_list_filter_test.cc: DNS list answer filters as Postfix reads them:
// single octets, ranges and lists, and the malformed ones postern check
// reports (PP0508).
#include "mail/dns_list_filter.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

TEST(DnsListFilterTest, OctetsRangesAndLists) {
  EXPECT_TRUE(DnsListFilterMatches("127.0.0.2", "127.0.0.2"));
  EXPECT_FALSE(DnsListFilterMatches("127.0.0.2", "127.0.0.3"));
  EXPECT_TRUE(DnsListFilterMatches("127.0.0.[2..11]", "127.0.0.11"));
  EXPECT_FALSE(DnsListFilterMatches("127.0.0.[2..11]", "127.0.0.12"));
  EXPECT_TRUE(DnsListFilterMatches("127.0.[0;1].[2;4..6]", "127.0.1.5"));
  EXPECT_FALSE(DnsListFilterMatches("127.0.[0;1].[2;4..6]", "127.0.1.3"));
  EXPECT_FALSE(DnsListFilterMatches("127.0.0.[2..11]", "2001:db8::2"));
}

TEST(DnsListFilterTest, MalformedFilters) {
  EXPECT_EQ(DnsListFilterError("127.0.0.[2..11]"), "");
  EXPECT_NE(DnsListFilterError("127.0.0"), "");
  EXPECT_NE(DnsListFilterError("127.0.0.256"), "");
  EXPECT_NE(DnsListFilterError("127.0.0.[11..2]"), "");
  EXPECT_NE(DnsListFilterError("127.0.0.[2..]"), "");
  EXPECT_NE(DnsListFilterError("127.0.0.x"), "");
}

}  // namespace
}  // namespace postern::mail
