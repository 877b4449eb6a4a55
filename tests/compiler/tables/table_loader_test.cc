// Tests for compiler/tables/table_loader and table_reference.
#include "compiler/tables/table_loader.h"

#include <gtest/gtest.h>

namespace postern::tables {
namespace {

LoadedTable Load(const std::string& text, DiagnosticSink* sink) {
  auto ref = ParseTableReference(text);
  EXPECT_TRUE(ref) << text;
  TableLoadOptions options;
  options.base_directory = POSTERN_SOURCE_DIR "/examples/office";
  options.installed_config_directory = "/etc/postfix";
  return LoadTable(*ref, options, SourceLocation{}, sink);
}

TEST(TableReferenceTest, ParsesTypesAndUnwrapsProxy) {
  auto ref = ParseTableReference("proxy:hash:/etc/postfix/virtual");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->type, "hash");
  EXPECT_EQ(ref->name, "/etc/postfix/virtual");
  EXPECT_EQ(ref->format, TableFormat::kText);
  EXPECT_EQ(ParseTableReference("hash:/etc/aliases", true)->format, TableFormat::kAliases);
  // texthash is postmap(1) input even under alias_maps, as Postfix reads it.
  EXPECT_EQ(ParseTableReference("texthash:/etc/aliases", true)->format, TableFormat::kText);
  EXPECT_EQ(ParseTableReference("memcache:/etc/postfix/memcache.cf")->format, TableFormat::kUnsupported);
  EXPECT_FALSE(ParseTableReference("/etc/postfix/virtual"));
}

TEST(TableLoaderTest, MapsInstalledPathsIntoTheConfigurationDirectory) {
  DiagnosticSink sink;
  LoadedTable t = Load("hash:/etc/postfix/virtual", &sink);
  ASSERT_TRUE(t.table) << RenderDiagnostics(sink.diagnostics());
  EXPECT_EQ(t.table->Lookup("@thebible.com"), "fred");
  EXPECT_EQ(t.table->Lookup("INFO@thebible.com"), "jean");
  EXPECT_EQ(t.entry_count, 3u);
}

TEST(TableLoaderTest, InlineAndStatic) {
  DiagnosticSink sink;
  LoadedTable t = Load("inline:{ foo=XX, { bAr = lotsa stuff }}", &sink);
  ASSERT_TRUE(t.table);
  EXPECT_EQ(t.table->Lookup("FOO"), "XX");
  EXPECT_EQ(t.table->Lookup("bar"), "lotsa stuff");
  EXPECT_EQ(Load("static:{ some text }", &sink).table->Lookup("anything"), "some text");
  EXPECT_EQ(Load("pcre:{{/foo/ got foo}}", &sink).table->Lookup("xfoox"), "got foo");
  EXPECT_EQ(Load("cidr:{{1.2.3.4 got 1.2.3.4}}", &sink).table->Lookup("1.2.3.4"), "got 1.2.3.4");
  EXPECT_TRUE(sink.diagnostics().empty()) << RenderDiagnostics(sink.diagnostics());
}

TEST(TableLoaderTest, ReportsBadReferences) {
  DiagnosticSink sink;
  EXPECT_FALSE(Load("inline:{ foo=xx }x", &sink).table);
  EXPECT_FALSE(Load("inline:{ foo=xx x", &sink).table);
  EXPECT_FALSE(Load("hash:/etc/postfix/no-such-table", &sink).table);
  EXPECT_FALSE(Load("memcache:/etc/postfix/memcache.cf", &sink).table);
  EXPECT_FALSE(Load("hsah:/etc/postfix/virtual", &sink).table);
  std::vector<std::string> codes;
  for (const auto& d : sink.diagnostics()) codes.push_back(d.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"PT0323", "PT0323", "PT0322", "PT0320", "PT0321"}));
  EXPECT_EQ(sink.diagnostics().back().hint, "did you mean \"hash:\"?");
}

}  // namespace
}  // namespace postern::tables
