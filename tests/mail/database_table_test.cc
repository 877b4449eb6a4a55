// database_table_test.cc: the lookup semantics of SQL tables (db_common in
// Postfix): which keys are asked, which part of them, and how results are
// formatted.
#include "mail/database_table.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

DatabaseLookupRules RulesFor(const std::string& query, const std::string& result_format = "%s") {
  DatabaseLookupRules rules;
  EXPECT_TRUE(AddTemplateNeeds(query, true, &rules).ok());
  rules.result_format = result_format;
  EXPECT_TRUE(AddTemplateNeeds(result_format, false, &rules).ok());
  return rules;
}

std::shared_ptr<DatabaseTable> TableOf(DatabaseLookupRules rules,
                                       const std::vector<std::pair<std::string, std::vector<std::string>>>& rows) {
  auto exact = std::make_shared<ExactTable>();
  for (const auto& [key, values] : rows) {
    std::string joined;
    for (const std::string& value : values) {
      if (!joined.empty()) joined += DatabaseTable::kValueSeparator;
      joined += value;
    }
    exact->Insert(key, joined);
  }
  return std::make_shared<DatabaseTable>(std::move(rules), exact, CaseFold::kAscii);
}

TEST(DatabaseTemplateTest, RejectsUnknownPercentSequences) {
  DatabaseLookupRules rules;
  EXPECT_FALSE(AddTemplateNeeds("SELECT x WHERE k='%x'", true, &rules).ok());
  EXPECT_FALSE(AddTemplateNeeds("trailing %", true, &rules).ok());
  EXPECT_TRUE(AddTemplateNeeds("100%% sure: '%s'", true, &rules).ok());
}

TEST(DatabaseTemplateTest, QueryNeedsDecideWhichKeysAreAsked) {
  DatabaseLookupRules whole = RulesFor("WHERE k='%s'");
  EXPECT_EQ(DatabaseKeyFor(whole, "user"), "user");
  EXPECT_EQ(DatabaseKeyFor(whole, "@example.com"), "@example.com");
  EXPECT_EQ(DatabaseKeyFor(whole, ""), std::nullopt);

  DatabaseLookupRules split = RulesFor("WHERE u='%u' AND d='%d'");
  EXPECT_EQ(DatabaseKeyFor(split, "joe@example.com"), "joe@example.com");
  EXPECT_EQ(DatabaseKeyFor(split, "joe"), std::nullopt);           // %d: no domain
  EXPECT_EQ(DatabaseKeyFor(split, "@example.com"), std::nullopt);  // %u: empty local part
  EXPECT_EQ(DatabaseKeyFor(split, "joe@"), std::nullopt);

  DatabaseLookupRules local = RulesFor("WHERE u='%u'");
  local.key_part = DatabaseLookupRules::KeyPart::kLocalPart;
  EXPECT_EQ(DatabaseKeyFor(local, "joe@example.com"), "joe");
  EXPECT_EQ(DatabaseKeyFor(local, "joe"), "joe");  // no '@': %u is the key
  EXPECT_EQ(DatabaseKeyFor(local, "a@b@example.com"), "a@b");

  DatabaseLookupRules labels = RulesFor("WHERE tld='%1' AND sld='%2'");
  EXPECT_EQ(DatabaseKeyFor(labels, "joe@example.com"), "joe@example.com");
  EXPECT_EQ(DatabaseKeyFor(labels, "joe@com"), std::nullopt);
  EXPECT_EQ(DatabaseKeyFor(labels, "joe@.com"), std::nullopt);
}

TEST(DatabaseTemplateTest, QueryKeyForGivesBackTheDatabaseKey) {
  using KeyPart = DatabaseLookupRules::KeyPart;
  DatabaseLookupRules local = RulesFor("WHERE u='%u'");
  local.key_part = KeyPart::kLocalPart;
  EXPECT_EQ(DatabaseKeyFor(local, QueryKeyFor("joe", KeyPart::kLocalPart)), "joe");
  DatabaseLookupRules domain = RulesFor("WHERE d='%d'");
  domain.key_part = KeyPart::kDomain;
  EXPECT_EQ(DatabaseKeyFor(domain, QueryKeyFor("example.com", KeyPart::kDomain)), "example.com");
  EXPECT_EQ(QueryKeyFor("joe@example.com", KeyPart::kWhole), "joe@example.com");
  auto quote = [](std::string_view v) { return "<" + std::string(v) + ">"; };
  EXPECT_EQ(ExpandQuery("u='%u' d='%d' s='%s' 1=%1 %%", "joe@mail.example.com", quote),
            "u='<joe>' d='<mail.example.com>' s='<joe@mail.example.com>' 1=<com> %");
  EXPECT_EQ(ExpandQuery("d='%d'", "joe", quote), std::nullopt);
  EXPECT_EQ(ExpandQuery("u='%u'", "@example.com", quote), std::nullopt);
  EXPECT_EQ(ExpandQuery("t='%3'", "joe@example.com", quote), std::nullopt);
}

TEST(DatabaseTemplateTest, DomainFilterAsksOnlyListedAddresses) {
  DatabaseLookupRules rules = RulesFor("WHERE k='%s'");
  rules.domain_filter = {"!blocked.example.com", "example.com"};
  EXPECT_EQ(DatabaseKeyFor(rules, "joe@example.com"), "joe@example.com");
  EXPECT_EQ(DatabaseKeyFor(rules, "joe@blocked.example.com"), std::nullopt);
  EXPECT_EQ(DatabaseKeyFor(rules, "joe@other.example"), std::nullopt);
  EXPECT_EQ(DatabaseKeyFor(rules, "example.com"), std::nullopt);          // not user@domain
  EXPECT_EQ(DatabaseKeyFor(rules, "@example.com"), std::nullopt);         // empty local part
  EXPECT_EQ(DatabaseKeyFor(rules, "joe@sub.example.com"), std::nullopt);  // names, not parents
}

TEST(DatabaseTemplateTest, ResultFormatExpandsValueAndKey) {
  DatabaseLookupRules rules = RulesFor("WHERE k='%s'", "%u at %d for %U of %D [%S] %2.%1 %%");
  ASSERT_TRUE(ValueGivesResult(rules, "box@store.example"));
  EXPECT_EQ(ExpandResult(rules, "box@store.example", "joe@mail.example.com"),
            "box at store.example for joe of mail.example.com [joe@mail.example.com] example.com %");
  EXPECT_FALSE(ValueGivesResult(rules, "nodomain"));  // %d needs one
  EXPECT_FALSE(ValueGivesResult(rules, "@store.example"));
  EXPECT_FALSE(ValueGivesResult(rules, ""));
}

TEST(DatabaseTableTest, JoinsResultsWithCommasAndSkipsEmptyOnes) {
  auto table = TableOf(RulesFor("WHERE k='%s'"), {{"a@example.com", {"x@dest", "", "y@dest"}}});
  EXPECT_EQ(table->Lookup("A@Example.COM"), "x@dest,y@dest");
  EXPECT_EQ(table->Lookup("b@example.com"), std::nullopt);

  auto empty = TableOf(RulesFor("WHERE k='%s'"), {{"e@example.com", {""}}});
  EXPECT_EQ(empty->Lookup("e@example.com"), std::nullopt);
}

TEST(DatabaseTableTest, LocalPartKeysMatchEveryDomainUnlessFiltered) {
  DatabaseLookupRules rules = RulesFor("WHERE userid='%u'", "%s@%D");
  rules.key_part = DatabaseLookupRules::KeyPart::kLocalPart;
  auto table = TableOf(rules, {{"joe", {"joe"}}});
  EXPECT_EQ(table->Lookup("joe@one.example"), "joe@one.example");
  EXPECT_EQ(table->Lookup("joe@two.example"), "joe@two.example");
  EXPECT_EQ(table->Lookup("joe"), std::nullopt);  // %D needs a domain
}

TEST(DatabaseTableTest, RulesRoundTripThroughTheImageEncoding) {
  DatabaseLookupRules rules = RulesFor("WHERE d='%d' AND t='%3'", "%u-%U");
  rules.key_part = DatabaseLookupRules::KeyPart::kDomain;
  rules.domain_filter = {"a.example", "!b.example"};
  rules.expansion_limit = 7;
  auto decoded = DecodeDatabaseRules(EncodeDatabaseRules(rules));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded.value(), rules);
  EXPECT_FALSE(DecodeDatabaseRules("something else").ok());
  EXPECT_FALSE(DecodeDatabaseRules("postern-database-rules 1\nkey_part=sideways\n").ok());
}

}  // namespace
}  // namespace postern::mail
