// Tests for compiler/tables/compiled_table: a text or aliases source
// compiled straight to a CDB file answers as the source says, with
// Postfix's folding and first-key-wins rule, and reports what postmap
// would.
#include "compiler/tables/compiled_table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "util/sha256.h"

namespace postern::tables {
namespace {

class CompiledTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/postern-compiled-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(CompiledTableTest, AnswersAsTheSourceSaysWithFoldingAndTheFirstOfRepeatedKeys) {
  std::string text =
      "# a comment\nInfo@Example.COM  alice\n  , bob\nsales@example.com carol\n"
      "INFO@example.com  dave\nnovalue\n";
  std::string path = Write("virtual", text);
  DiagnosticSink sink;
  auto compiled = CompileTableSource(path, "virtual", TableFormat::kText, mail::CaseFold::kAscii, dir_, &sink);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  EXPECT_EQ(compiled->entries, 2u);
  EXPECT_EQ(compiled->table->Lookup("info@example.com"), "alice  , bob");  // a continuation joins as written
  EXPECT_EQ(compiled->table->Lookup("SALES@EXAMPLE.COM"), "carol");
  EXPECT_FALSE(compiled->table->Lookup("novalue"));
  EXPECT_EQ(compiled->source_sha256, Sha256Hex(text));
  // The diagnostics postmap's rules give, at the source's lines.
  ASSERT_EQ(sink.diagnostics().size(), 2u) << RenderDiagnostics(sink.diagnostics());
  EXPECT_EQ(sink.diagnostics()[0].code, "PT0302");
  EXPECT_EQ(sink.diagnostics()[0].location.line, 5);
  EXPECT_EQ(sink.diagnostics()[0].message, "duplicate entry \"info@example.com\"");
  EXPECT_EQ(sink.diagnostics()[1].code, "PT0301");
  EXPECT_EQ(sink.diagnostics()[1].location.line, 6);
  EXPECT_NE(RenderDiagnostics(sink.diagnostics()).find("5 | INFO@example.com  dave"), std::string::npos);
  // Records in source order, keys folded.
  std::vector<std::string> keys;
  compiled->table->ForEachEntry([&](std::string_view key, std::string_view) { keys.emplace_back(key); });
  EXPECT_EQ(keys, (std::vector<std::string>{"info@example.com", "sales@example.com"}));
  EXPECT_EQ(compiled->file->size(), compiled->file->bytes().size());
}

TEST_F(CompiledTableTest, AliasesAreStoredAsPostaliasStoresThem) {
  std::string path = Write("aliases", "postmaster: root\nstaff: alice,  bob,\n  carol\n\"quoted name\": x\nbroken\n");
  DiagnosticSink sink;
  auto compiled = CompileTableSource(path, "aliases", TableFormat::kAliases, mail::CaseFold::kUtf8, dir_, &sink);
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled->entries, 3u);
  EXPECT_EQ(compiled->table->Lookup("staff"), "alice, bob, carol");
  EXPECT_EQ(compiled->table->Lookup("Quoted Name"), "x");
  ASSERT_EQ(sink.diagnostics().size(), 1u);
  EXPECT_EQ(sink.diagnostics()[0].code, "PT0303");
}

TEST_F(CompiledTableTest, ASourceThatCannotBeReadIsAnError) {
  DiagnosticSink sink;
  auto compiled =
      CompileTableSource(dir_ + "/missing", "missing", TableFormat::kText, mail::CaseFold::kAscii, dir_, &sink);
  ASSERT_FALSE(compiled.ok());
  EXPECT_NE(compiled.status().message().find("cannot open"), std::string::npos);
  // Nothing is left behind in the scratch directory: the file had no name.
  auto good = CompileTableSource(Write("t", "a b\n"), "t", TableFormat::kText, mail::CaseFold::kAscii, dir_, &sink);
  ASSERT_TRUE(good.ok());
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) files += entry.path().filename() != "t";
  EXPECT_EQ(files, 0u);
}

}  // namespace
}  // namespace postern::tables
