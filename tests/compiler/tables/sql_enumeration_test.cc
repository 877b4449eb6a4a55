// sql_enumeration_test.cc: deriving "every key with its values" from a
// Postfix query template, and refusing what cannot be derived.
#include "compiler/tables/sql_enumeration.h"

#include <gtest/gtest.h>

namespace postern::tables {
namespace {

using KeyPart = mail::DatabaseLookupRules::KeyPart;

Enumeration Derive(const std::string& query) {
  auto result = DeriveEnumeration(query);
  EXPECT_TRUE(result.ok()) << query << ": " << result.status().message();
  return result.ok() ? result.value() : Enumeration{};
}

std::string Refusal(const std::string& query) {
  auto result = DeriveEnumeration(query);
  EXPECT_FALSE(result.ok()) << query << " gave " << (result.ok() ? result.value().sql : "");
  return result.ok() ? "" : result.status().message();
}

TEST(SqlEnumerationTest, WholeKeyConditionBecomesAKeyColumn) {
  Enumeration e = Derive("SELECT goto FROM alias WHERE address='%s' AND active = '1'");
  EXPECT_EQ(e.sql, "SELECT address, goto FROM alias WHERE 1=1 AND active = '1'");
  EXPECT_EQ(e.key_columns, 1);
  EXPECT_EQ(e.key_part, KeyPart::kWhole);
  EXPECT_EQ(e.rows_per_key, std::nullopt);
}

TEST(SqlEnumerationTest, CaseQuotesAndOrderVary) {
  EXPECT_EQ(Derive("select 1 from users where domain = \"%s\"").sql, "select domain, 1 from users where 1=1");
  EXPECT_EQ(Derive("SELECT x FROM t WHERE '%s' = t.`key`").sql, "SELECT t.`key`, x FROM t WHERE 1=1");
  EXPECT_EQ(Derive("SELECT DISTINCT x FROM t WHERE k='%s' ORDER BY x").sql,
            "SELECT DISTINCT k, x FROM t WHERE 1=1 ORDER BY x");
}

TEST(SqlEnumerationTest, DoubleQuotesNameAColumnInPostgresql) {
  auto result = DeriveEnumeration("SELECT x FROM t WHERE k = \"%s\"", /*double_quoted_strings=*/false);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("names a column"), std::string::npos) << result.status().message();
  EXPECT_TRUE(DeriveEnumeration("SELECT x FROM t WHERE k = '%s'", false).ok());
}

TEST(SqlEnumerationTest, LocalPartAndDomainMakeTwoKeyColumns) {
  Enumeration e = Derive("SELECT maildir FROM mailbox WHERE domain='%d' AND local_part='%u' AND active=1");
  EXPECT_EQ(e.sql, "SELECT local_part, domain, maildir FROM mailbox WHERE 1=1 AND 1=1 AND active=1");
  EXPECT_EQ(e.key_columns, 2);
  EXPECT_EQ(e.key_part, KeyPart::kWhole);
  EXPECT_EQ(Derive("SELECT userid FROM user WHERE userid = '%u'").key_part, KeyPart::kLocalPart);
  EXPECT_EQ(Derive("SELECT transport FROM domains WHERE name='%d'").key_part, KeyPart::kDomain);
}

TEST(SqlEnumerationTest, TrailingLimitBecomesRowsPerKey) {
  // ipfire's legacy form: additional_conditions = and active = '1' limit 1
  Enumeration e = Derive("SELECT canonical FROM user WHERE mbox='%s' and active = '1' limit 1");
  EXPECT_EQ(e.sql, "SELECT mbox, canonical FROM user WHERE 1=1 and active = '1'");
  EXPECT_EQ(e.rows_per_key, 1);
  Refusal("SELECT x FROM t WHERE k='%s' LIMIT 1 OFFSET 2");
}

TEST(SqlEnumerationTest, PercentPercentIsALiteralPercent) {
  EXPECT_EQ(Derive("SELECT x FROM t WHERE k='%s' AND y LIKE 'a%%'").sql,
            "SELECT k, x FROM t WHERE 1=1 AND y LIKE 'a%'");
}

TEST(SqlEnumerationTest, RefusesWhatItCannotDerive) {
  EXPECT_NE(Refusal("SELECT x FROM t WHERE k='%s' OR alias='%s'").find("OR"), std::string::npos);
  EXPECT_NE(Refusal("SELECT d FROM a INNER JOIN d ON domain = '%d' WHERE source = '%s'").find("outside"),
            std::string::npos);
  Refusal("SELECT concat('%u', '@x') FROM t WHERE k='%s'");
  Refusal("SELECT x FROM t WHERE lower(k)='%s'");
  Refusal("SELECT x FROM t WHERE k LIKE '%s'");
  Refusal("SELECT x FROM t WHERE (k='%s')");
  Refusal("SELECT x FROM t WHERE k='%s' AND j='%s'");
  Refusal("SELECT x FROM t WHERE k='%1'");
  Refusal("SELECT x FROM t");
  Refusal("UPDATE t SET x=1 WHERE k='%s'");
  Refusal("SELECT x FROM t WHERE k='%s");
}

TEST(SqlEnumerationTest, KeyListingForQueriesThatCannotListThemselves) {
  auto joined = DeriveKeyListing(
      "SELECT destination FROM aliases INNER JOIN domains ON domain = '%d' WHERE source = '%s' AND active = true");
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  EXPECT_EQ(joined.value().sql,
            "SELECT DISTINCT domain, source FROM aliases INNER JOIN domains ON 1=1 WHERE 1=1 AND active = true");
  EXPECT_EQ(joined.value().column_parts, "ds");
  EXPECT_EQ(joined.value().key_part, KeyPart::kWhole);

  auto either = DeriveKeyListing("SELECT x FROM t WHERE a = '%s' OR b = \"%s\" ORDER BY x LIMIT 1");
  ASSERT_TRUE(either.ok()) << either.status().message();
  EXPECT_EQ(either.value().sql, "SELECT DISTINCT a, b FROM t WHERE 1=1 OR 1=1");
  EXPECT_EQ(either.value().column_parts, "ss");

  auto split = DeriveKeyListing("SELECT x FROM t JOIN d ON d.id = t.d WHERE t.u = '%u' AND d.name = '%d'");
  ASSERT_TRUE(split.ok()) << split.status().message();
  EXPECT_EQ(split.value().column_parts, "ud");
  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t WHERE (u = '%u' AND d = '%d') OR u2 = '%u'").ok());
  EXPECT_TRUE(DeriveKeyListing("SELECT x FROM t WHERE k = '%s' AND y IS NOT NULL").ok());

  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t WHERE NOT (k = '%s')").ok());
  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t WHERE lower(k) = lower('%s')").ok());
  EXPECT_FALSE(DeriveKeyListing("SELECT concat('%u', x) FROM t WHERE k = '%s'").ok());
  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t WHERE k = '%s' GROUP BY x").ok());
  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t WHERE k = \"%s\"", /*double_quoted_strings=*/false).ok());
  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t WHERE k = '%s' OR j = '%u'").ok());
  EXPECT_FALSE(DeriveKeyListing("SELECT x FROM t JOIN d ON d.name = '%d' WHERE k = '%s' OR k2 = '%s'").ok());
}

TEST(SqlEnumerationTest, KeyPartOfAnExplicitEnumeration) {
  EXPECT_EQ(KeyPartOfQuery("SELECT x FROM t WHERE k = lower('%s')").value(), KeyPart::kWhole);
  EXPECT_EQ(KeyPartOfQuery("SELECT x FROM t WHERE u='%u' AND d='%d'").value(), KeyPart::kWhole);
  EXPECT_EQ(KeyPartOfQuery("SELECT x FROM t WHERE d='%d'").value(), KeyPart::kDomain);
  EXPECT_FALSE(KeyPartOfQuery("SELECT x FROM t WHERE d='%2'").ok());
}

}  // namespace
}  // namespace postern::tables
