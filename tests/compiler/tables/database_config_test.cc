// database_config_test.cc: reading sqlite/pgsql/mysql and ldap table
// definitions: settings, the legacy query form, diagnostics, and the
// password kept out of every diagnostic.
#include "compiler/tables/database_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "compiler/tables/ldap_config.h"
#include "tests/runtime/temp_directory.h"

namespace postern::tables {
namespace {

class DatabaseConfigTest : public ::testing::Test {
 protected:
  std::optional<DatabaseConfig> Read(DatabaseKind kind, const std::string& text) {
    std::string path = directory_.path() + "/table.cf";
    std::ofstream(path) << text;
    return ReadDatabaseConfig(kind, path, SourceLocation{}, &sink_);
  }
  std::string Rendered() const { return RenderDiagnostics(sink_.diagnostics()); }

  testing::TempDirectory directory_;
  DiagnosticSink sink_;
};

TEST_F(DatabaseConfigTest, ReadsAMysqlDefinition) {
  auto config = Read(DatabaseKind::kMysql,
                     "# comment\nhosts = unix:/run/mysqld/mysqld.sock inet:db.example:3307\nuser = mail\n"
                     "password = s3cret\ndbname = mailserver\n"
                     "query = SELECT destination FROM virtual_aliases WHERE source='%s'\n"
                     "result_format = %s\ndomain = example.com, !other.example\nexpansion_limit = 5\n");
  ASSERT_TRUE(config) << Rendered();
  EXPECT_EQ(config->hosts, (std::vector<std::string>{"unix:/run/mysqld/mysqld.sock", "inet:db.example:3307"}));
  EXPECT_EQ(config->user, "mail");
  EXPECT_EQ(config->password, "s3cret");
  EXPECT_EQ(config->dbname, "mailserver");
  EXPECT_EQ(config->query.value, "SELECT destination FROM virtual_aliases WHERE source='%s'");
  EXPECT_EQ(config->rules.domain_filter, (std::vector<std::string>{"example.com", "!other.example"}));
  EXPECT_EQ(config->rules.expansion_limit, 5);
  EXPECT_EQ(config->option_group, "client");
  EXPECT_EQ(sink_.diagnostics().size(), 0u) << Rendered();
}

TEST_F(DatabaseConfigTest, BuildsTheLegacyQuery) {
  auto config = Read(DatabaseKind::kMysql,
                     "hosts = localhost\ndbname = mail\ntable = user\nselect_field = canonical\nwhere_field = mbox\n"
                     "additional_conditions = and active = '1' limit 1\n");
  ASSERT_TRUE(config) << Rendered();
  EXPECT_EQ(config->query.value, "SELECT canonical FROM user WHERE mbox='%s' and active = '1' limit 1");
  auto pgsql = Read(DatabaseKind::kPgsql, "dbname = mail\nselect_function = lookup_alias\n");
  ASSERT_TRUE(pgsql) << Rendered();
  EXPECT_EQ(pgsql->query.value, "SELECT lookup_alias('%s')");
  EXPECT_EQ(pgsql->hosts, (std::vector<std::string>{"localhost"}));
}

TEST_F(DatabaseConfigTest, UnknownSettingsGetADidYouMean) {
  auto config = Read(DatabaseKind::kSqlite, "dbpath = /x.db\nquery = SELECT v FROM t WHERE k='%s'\nreslt_format = x\n");
  ASSERT_TRUE(config);
  ASSERT_EQ(sink_.diagnostics().size(), 1u);
  EXPECT_EQ(sink_.diagnostics()[0].code, "PT0330");
  EXPECT_EQ(sink_.diagnostics()[0].location.line, 3);
  EXPECT_NE(Rendered().find("did you mean \"result_format\"?"), std::string::npos) << Rendered();
}

TEST_F(DatabaseConfigTest, ReportsMissingAndInvalidSettings) {
  EXPECT_FALSE(Read(DatabaseKind::kSqlite, "query = SELECT v FROM t WHERE k='%s'\n"));  // no dbpath
  EXPECT_FALSE(Read(DatabaseKind::kPgsql, "dbname = x\n"));                             // no query
  EXPECT_FALSE(Read(DatabaseKind::kPgsql, "dbname = x\nquery = SELECT v FROM t WHERE k='%x'\n"));
  EXPECT_FALSE(Read(DatabaseKind::kPgsql, "dbname = x\nquery = SELECT v FROM t WHERE k='%s'\nexpansion_limit = -1\n"));
  EXPECT_FALSE(Read(DatabaseKind::kPgsql, "dbname = x\nquery = SELECT v FROM t WHERE k='%s'\ndomain = /etc/domains\n"));
  EXPECT_FALSE(Read(DatabaseKind::kPgsql, "dbname = x\nquery = SELECT v FROM t WHERE k='%s'\npostern_live = maybe\n"));
  for (const Diagnostic& d : sink_.diagnostics()) EXPECT_EQ(d.severity, Severity::kError) << Rendered();
}

TEST_F(DatabaseConfigTest, PosternLiveMakesTheTableLive) {
  auto live = Read(DatabaseKind::kPgsql, "dbname = x\nquery = SELECT v FROM t WHERE k='%s'\npostern_live = yes\n");
  ASSERT_TRUE(live) << Rendered();
  EXPECT_TRUE(live->live.has_value());
  auto compiled = Read(DatabaseKind::kPgsql, "dbname = x\nquery = SELECT v FROM t WHERE k='%s'\npostern_live = no\n");
  ASSERT_TRUE(compiled) << Rendered();
  EXPECT_FALSE(compiled->live.has_value());
}

TEST_F(DatabaseConfigTest, ThePasswordNeverAppearsInADiagnostic) {
  // A broken password line, a password continued on the next line, and an
  // error elsewhere: every diagnostic quotes the masked file.
  Read(DatabaseKind::kPgsql,
       "password hunter2\npassword = first\n  second-part\nuser = x\nbogus_setting = 1\nquery = SELECT '%x'\n"
       "password=last-one\n");
  std::string text = Rendered();
  EXPECT_FALSE(sink_.diagnostics().empty());
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(text.find("first"), std::string::npos) << text;
  EXPECT_EQ(text.find("second-part"), std::string::npos) << text;
  EXPECT_EQ(text.find("last-one"), std::string::npos) << text;
  std::string path = directory_.path() + "/table.cf";
  auto config = ReadDatabaseConfig(DatabaseKind::kPgsql, path, SourceLocation{}, &sink_);
  EXPECT_FALSE(config);
  DiagnosticSink quiet;
  std::ofstream(path) << "dbname = d\nquery = SELECT v FROM t WHERE k='%s'\npassword = first\n  second-part\n";
  auto good = ReadDatabaseConfig(DatabaseKind::kPgsql, path, SourceLocation{}, &quiet);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->password, "first  second-part");
  EXPECT_EQ(good->file->text().find("first"), std::string::npos);
}

TEST_F(DatabaseConfigTest, ReadsAnLdapDefinitionWithoutShowingBindPw) {
  std::string path = directory_.path() + "/ldap.cf";
  std::ofstream(path) << "server_host = ldap1.example ldaps://ldap2.example:636\nserver_port = 1389\n"
                         "search_base = dc=example, dc=com\nquery_filter = (mail=%s)\n"
                         "result_attribute = maildrop, mailbox\nspecial_result_attribute = member\n"
                         "scope = one\nbind_dn = cn=postfix\nbind_pw = Sesame99\nexpansion_limit = 3\n"
                         "sixe_limit = 2\nscope = sideways\n";
  auto config = ReadLdapConfig(path, SourceLocation{}, &sink_);
  EXPECT_FALSE(config);  // scope = sideways (the last scope wins)
  std::string text = Rendered();
  EXPECT_NE(text.find("did you mean \"size_limit\"?"), std::string::npos) << text;
  EXPECT_NE(text.find("scope must be sub, one or base"), std::string::npos) << text;
  EXPECT_EQ(text.find("Sesame99"), std::string::npos) << text;

  std::ofstream(path) << "server_host = ldap1.example ldaps://ldap2.example:636\nserver_port = 1389\n"
                         "search_base = dc=example, dc=com\nquery_filter = (mail=%s)\n"
                         "result_attribute = maildrop, mailbox\nspecial_result_attribute = member\n"
                         "scope = one\nbind_dn = cn=postfix\nbind_pw = Sesame99\nexpansion_limit = 3\n";
  DiagnosticSink quiet;
  auto good = ReadLdapConfig(path, SourceLocation{}, &quiet);
  ASSERT_TRUE(good) << RenderDiagnostics(quiet.diagnostics());
  EXPECT_EQ(good->urls, (std::vector<std::string>{"ldap://ldap1.example:1389", "ldaps://ldap2.example:636"}));
  EXPECT_EQ(good->result_attributes, (std::vector<std::string>{"maildrop", "mailbox"}));
  EXPECT_EQ(good->special_attributes, (std::vector<std::string>{"member"}));
  EXPECT_EQ(good->scope, 1);
  EXPECT_EQ(good->bind_pw, "Sesame99");
  EXPECT_EQ(good->size_limit, 3);  // $expansion_limit
  EXPECT_EQ(good->file->text().find("Sesame99"), std::string::npos);
}

}  // namespace
}  // namespace postern::tables
