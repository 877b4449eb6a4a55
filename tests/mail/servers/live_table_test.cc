// live_table_test.cc: live SQL and LDAP tables: the image encoding (never
// with the secret), the secret read from the definition file, and lookups
// in an SQLite file that is there, then gone (a temporary error, and the
// server not asked again at once).
#include "mail/servers/live_table.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mail/lookup_failure.h"

namespace postern::servers {
namespace {

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-live-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TemporaryDirectory() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LiveTableTest, TheImageCarriesEverythingButTheSecret) {
  LiveTableSpec spec;
  spec.kind = LiveTableSpec::Kind::kSql;
  spec.definition_path = "/etc/postfix/aliases.cf";
  spec.sql.kind = DatabaseKind::kPgsql;
  spec.sql.hosts = {"inet:db1:5432", "unix:/run/postgresql"};
  spec.sql.dbname = "mail";
  spec.sql.user = "postfix";
  spec.sql.password = "s3cret-value";
  spec.query = "SELECT goto FROM alias WHERE address='%s'";
  spec.rules.result_format = "%s@example.com";
  spec.rules.domain_filter = {"example.com"};
  spec.ldap.urls = {"ldap://a:389"};
  spec.ldap.bind_pw = "other-s3cret";
  spec.ldap.scope = 1;
  spec.ldap.special_attributes = {"member"};
  std::string bytes = EncodeLiveTable(spec);
  EXPECT_EQ(bytes.find("s3cret"), std::string::npos);
  auto decoded = DecodeLiveTable(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  LiveTableSpec expected = spec;
  expected.sql.password.clear();
  expected.ldap.bind_pw.clear();
  EXPECT_EQ(decoded.value(), expected);
  for (size_t cut : {size_t{0}, size_t{10}, bytes.size() - 1}) {
    EXPECT_FALSE(DecodeLiveTable(bytes.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(DecodeLiveTable(bytes + "x").ok());
}

TEST(LiveTableTest, TheSecretIsTheLastDefinitionInTheFile) {
  TemporaryDirectory dir;
  std::string path = dir.path() + "/x.cf";
  std::ofstream(path) << "hosts = db\n# password = commented\npassword = first\npassword =\n  second\nuser = u\n";
  LiveTableSpec spec;
  spec.sql.kind = DatabaseKind::kMysql;
  spec.definition_path = path;
  ASSERT_TRUE(ReadLiveTableSecret(&spec).ok());
  EXPECT_EQ(spec.sql.password, "second");
  spec.definition_path = dir.path() + "/missing.cf";
  Status missing = ReadLiveTableSecret(&spec);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("missing.cf"), std::string::npos);
}

TEST(LiveTableTest, AnSqliteFileAskedAtEachLookup) {
  TemporaryDirectory dir;
  std::string database = dir.path() + "/mail.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE alias (address TEXT, goto TEXT);"
                         "INSERT INTO alias VALUES ('info@example.com', 'joe'), ('info@example.com', 'ann'),"
                         "('empty@example.com', '');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  LiveTableSpec spec;
  spec.sql.kind = DatabaseKind::kSqlite;
  spec.sql.dbpath = database;
  spec.query = "SELECT goto FROM alias WHERE address='%s'";
  spec.rules.result_format = "%s@example.org";
  auto table = MakeLiveTable("sqlite:/etc/postfix/aliases.cf", spec, mail::CaseFold::kAscii);
  {
    mail::LookupFailureScope scope;
    EXPECT_EQ(table->Lookup("INFO@example.com"), "joe@example.org,ann@example.org");  // folded, as Postfix asks
    EXPECT_EQ(table->Lookup("empty@example.com"), std::nullopt);                      // empty values skipped
    EXPECT_EQ(table->Lookup("it's@example.com"), std::nullopt);                       // quoted, not an error
    EXPECT_FALSE(scope.failed());
  }
  std::filesystem::remove(database);
  // The pooled connection still reads the unlinked file; a new table opens anew.
  auto fresh = MakeLiveTable("sqlite:/etc/postfix/aliases.cf", spec, mail::CaseFold::kAscii);
  {
    mail::LookupFailureScope scope;
    EXPECT_EQ(fresh->Lookup("info@example.com"), std::nullopt);
    EXPECT_TRUE(scope.failed());
    EXPECT_NE(scope.reason().find("sqlite:/etc/postfix/aliases.cf lookup error for \"info@example.com\""),
              std::string::npos)
        << scope.reason();
  }
  {
    mail::LookupFailureScope scope;  // not opened again for a minute
    EXPECT_EQ(fresh->Lookup("info@example.com"), std::nullopt);
    EXPECT_NE(scope.reason().find("not asked again"), std::string::npos) << scope.reason();
  }
}

}  // namespace
}  // namespace postern::servers
