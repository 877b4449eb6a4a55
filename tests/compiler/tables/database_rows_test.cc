// database_rows_test.cc: rows grouped by key, each key's values in the
// order the database returned them.
#include "compiler/tables/database_rows.h"

#include <gtest/gtest.h>

namespace postern::tables {
namespace {

std::string Joined(std::initializer_list<std::string_view> values) {
  std::string out;
  for (std::string_view v : values) {
    if (!out.empty()) out += '\0';
    out += v;
  }
  return out;
}

TEST(DatabaseRowsTest, GroupsByKeyKeepingTheDatabaseOrder) {
  DatabaseRows rows;
  rows.Add("b@example.com", "3");
  rows.Add("a@example.com", "2");
  rows.Add("b@example.com", "1");
  rows.Add("a", "x");
  rows.Add("b@example.com", "2");
  rows.Seal();
  EXPECT_EQ(rows.key_count(), 3u);
  EXPECT_EQ(rows.row_count(), 5u);
  EXPECT_EQ(rows.Lookup("b@example.com"), Joined({"3", "1", "2"}));
  EXPECT_EQ(rows.Lookup("a@example.com"), "2");
  EXPECT_EQ(rows.Lookup("a"), "x");
  EXPECT_EQ(rows.Lookup("a@"), std::nullopt);
  EXPECT_EQ(rows.Lookup("c"), std::nullopt);
  std::vector<std::pair<std::string, std::string>> seen;
  rows.ForEach([&](std::string_view key, const std::string& values) { seen.emplace_back(key, values); });
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{
                      {"a", "x"}, {"a@example.com", "2"}, {"b@example.com", Joined({"3", "1", "2"})}}));
}

TEST(DatabaseRowsTest, EmptyTableFindsNothing) {
  DatabaseRows rows;
  rows.Seal();
  EXPECT_EQ(rows.key_count(), 0u);
  EXPECT_EQ(rows.Lookup("a"), std::nullopt);
}

}  // namespace
}  // namespace postern::tables
