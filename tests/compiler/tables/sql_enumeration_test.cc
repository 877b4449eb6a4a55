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

TEST(SqlEnumerationTest, KeyPartOfAnExplicitEnumeration) {
  EXPECT_EQ(KeyPartOfQuery("SELECT x FROM t WHERE k = lower('%s')").value(), KeyPart::kWhole);
  EXPECT_EQ(KeyPartOfQuery("SELECT x FROM t WHERE u='%u' AND d='%d'").value(), KeyPart::kWhole);
  EXPECT_EQ(KeyPartOfQuery("SELECT x FROM t WHERE d='%d'").value(), KeyPart::kDomain);
  EXPECT_FALSE(KeyPartOfQuery("SELECT x FROM t WHERE d='%2'").ok());
}

}  // namespace
}  // namespace postern::tables
