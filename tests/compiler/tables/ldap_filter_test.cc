// ldap_filter_test.cc: listing an LDAP table's keys from its query_filter.
#include "compiler/tables/ldap_filter.h"

#include <gtest/gtest.h>

namespace postern::tables {
namespace {

using KeyPart = mail::DatabaseLookupRules::KeyPart;

LdapEnumeration Derive(const std::string& filter) {
  auto result = DeriveLdapEnumeration(filter);
  EXPECT_TRUE(result.ok()) << filter << ": " << result.status().message();
  return result.ok() ? result.value() : LdapEnumeration{};
}

TEST(LdapFilterTest, KeyItemsBecomePresenceTests) {
  LdapEnumeration e = Derive("(&(mail=%s)(objectClass=inetOrgPerson))");
  EXPECT_EQ(e.filter, "(&(mail=*)(objectClass=inetOrgPerson))");
  ASSERT_EQ(e.key_attributes.size(), 1u);
  EXPECT_EQ(e.key_attributes[0].attribute, "mail");
  EXPECT_EQ(e.key_attributes[0].part, 's');
  EXPECT_EQ(e.key_part, KeyPart::kWhole);
}

TEST(LdapFilterTest, FormsOfTheKey) {
  EXPECT_EQ(Derive("mailacceptinggeneralid=%s").filter, "(mailacceptinggeneralid=*)");  // Postfix's default
  LdapEnumeration either = Derive("(|(mail=%u@%d)(mailLocalAddress=%U@%D))");
  EXPECT_EQ(either.filter, "(|(mail=*)(mailLocalAddress=*))");
  EXPECT_EQ(either.key_attributes.size(), 2u);
  EXPECT_EQ(Derive("(&(objectclass=inetLocalMailRecipient)(uid=%U))").key_part, KeyPart::kLocalPart);
  EXPECT_EQ(Derive("(associatedDomain=%d)").key_part, KeyPart::kDomain);
  LdapEnumeration split = Derive("(&(uid=%u)(associatedDomain=%d))");
  EXPECT_EQ(split.key_part, KeyPart::kWhole);
  EXPECT_EQ(Derive("(&(mail=%s)(description=100%%))").filter, "(&(mail=*)(description=100%))");
}

TEST(LdapFilterTest, RefusesWhatCannotBeListed) {
  EXPECT_FALSE(DeriveLdapEnumeration("(mail=*%s*)").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("(!(mail=%s))").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("(mail>=%s)").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("(|(mail=%s)(uid=%u))").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("(objectClass=person)").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("(&(mail=%s)").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("(mail=%s))").ok());
  EXPECT_FALSE(DeriveLdapEnumeration("").ok());
}

TEST(LdapFilterTest, EscapesFilterMetacharacters) {
  EXPECT_EQ(EscapeFilterValue("a*b(c)\\d"), "a\\2Ab\\28c\\29\\5Cd");
  EXPECT_EQ(EscapeFilterValue(std::string("a\0b", 3)), "a\\00b");
  EXPECT_EQ(EscapeFilterValue("joe@example.com"), "joe@example.com");
}

}  // namespace
}  // namespace postern::tables
