// Tests for mail/ip_address: strict parsing and CIDR matching.
#include "mail/ip_address.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

TEST(IpAddressTest, ParsesOnlyNumericForms) {
  EXPECT_TRUE(IpAddress::Parse("192.0.2.1"));
  EXPECT_TRUE(IpAddress::Parse("2001:db8::1"));
  EXPECT_FALSE(IpAddress::Parse("192.0.2"));
  EXPECT_FALSE(IpAddress::Parse("172.16.1.999"));
  EXPECT_FALSE(IpAddress::Parse("example.com"));
  EXPECT_FALSE(IpAddress::Parse(""));
}

TEST(CidrBlockTest, MatchesInsideTheBlockOnly) {
  std::string error;
  auto block = ParseCidrBlock("172.16.0.0/21", &error);
  ASSERT_TRUE(block) << error;
  EXPECT_TRUE(block->Contains(*IpAddress::Parse("172.16.7.255")));
  EXPECT_FALSE(block->Contains(*IpAddress::Parse("172.16.8.1")));
  EXPECT_FALSE(block->Contains(*IpAddress::Parse("::1")));
  auto v6 = ParseCidrBlock("[2001:240:5c7::]/64", &error);
  ASSERT_TRUE(v6) << error;
  EXPECT_TRUE(v6->Contains(*IpAddress::Parse("2001:240:5c7:0:2d0:b7ff:febe:ca9f")));
  auto all = ParseCidrBlock("0.0.0.0/0", &error);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->Contains(*IpAddress::Parse("1.1.1.1")));
}

TEST(CidrBlockTest, ReportsPostfixReasons) {
  std::string error;
  EXPECT_FALSE(ParseCidrBlock("172.16.1.3/21", &error));
  EXPECT_EQ(error, "non-null host address bits in \"172.16.1.3/21\", perhaps you should use \"172.16.0.0/21\" instead");
  EXPECT_FALSE(ParseCidrBlock("172.16.1.3/33", &error));
  EXPECT_EQ(error, "bad mask length in \"172.16.1.3/33\"");
  EXPECT_FALSE(ParseCidrBlock("172.999.0.0/21", &error));
  EXPECT_EQ(error, "bad network value in \"172.999.0.0/21\"");
  EXPECT_FALSE(ParseCidrBlock("172.16.1.3/3x", &error));
  EXPECT_EQ(error, "bad mask value in \"172.16.1.3/3x\"");
  EXPECT_FALSE(ParseCidrBlock("[1234", &error));
  EXPECT_EQ(error, "missing ']' character after \"[1234\"");
  EXPECT_FALSE(ParseCidrBlock("[1234]junk", &error));
  EXPECT_EQ(error, "garbage after \"[1234]\"");
}

}  // namespace
}  // namespace postern::mail
