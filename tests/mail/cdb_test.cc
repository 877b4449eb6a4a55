// cdb_test.cc: the CDB writer and reader against tinycdb, the library
// Postfix's cdb: tables use: what we write tinycdb reads, what tinycdb
// writes we read; and the writer's first-key-wins rule across its buffer.
#include <cdb.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "mail/cdb_table.h"
#include "mail/cdb_writer.h"

namespace postern::mail {
namespace {

class TempFile {
 public:
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/postern-cdb-XXXXXX";
    fd_ = mkstemp(path_.data());
  }
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  std::string Contents() const {
    std::string bytes(static_cast<size_t>(lseek(fd_, 0, SEEK_END)), '\0');
    EXPECT_EQ(pread(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    return bytes;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string Key(int i) { return "user" + std::to_string(i) + "@domain" + std::to_string(i % 97) + ".example"; }
std::string Value(int i) { return "mailbox" + std::to_string(i * 7) + "@backend.example.org"; }

// Every key of `entries` as tinycdb finds it in the file at `fd`.
void ExpectTinyCdbReads(int fd, const std::vector<std::pair<std::string, std::string>>& entries) {
  struct cdb db;
  ASSERT_EQ(cdb_init(&db, fd), 0);
  for (const auto& [key, value] : entries) {
    ASSERT_GT(cdb_find(&db, key.data(), static_cast<unsigned>(key.size())), 0) << key;
    std::string theirs(cdb_datalen(&db), '\0');
    cdb_read(&db, theirs.data(), cdb_datalen(&db), cdb_datapos(&db));
    EXPECT_EQ(theirs, value) << key;
  }
  std::string missing = "nobody@nowhere.example";
  EXPECT_EQ(cdb_find(&db, missing.data(), static_cast<unsigned>(missing.size())), 0);
  cdb_free(&db);
}

TEST(CdbWriterTest, TinyCdbReadsWhatItWritesToAFile) {
  // Enough records for the writer to flush its buffer many times.
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 60000; ++i) entries.emplace_back(Key(i), Value(i));
  entries.emplace_back("", "empty key");
  TempFile file;
  CdbWriter writer(file.fd(), /*unique_keys=*/true);
  for (const auto& [key, value] : entries) ASSERT_TRUE(*writer.Add(key, value));
  auto size = writer.Finish();
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(writer.count(), entries.size());
  ExpectTinyCdbReads(file.fd(), entries);

  std::string bytes = file.Contents();
  EXPECT_EQ(bytes.size(), *size);
  ASSERT_TRUE(CdbTable::LooksValid(bytes));
  CdbTable table(nullptr, bytes, CaseFold::kNone);
  EXPECT_EQ(table.Find(Key(4242)), Value(4242));
  EXPECT_EQ(table.Find(""), "empty key");
  size_t visited = 0;
  table.ForEach([&](std::string_view key, std::string_view value) {
    EXPECT_EQ(key, entries[visited].first);  // in the order added
    EXPECT_EQ(value, entries[visited].second);
    ++visited;
  });
  EXPECT_EQ(visited, entries.size());
}

TEST(CdbWriterTest, TheSameRecordsGiveTheSameBytesInMemoryAndInAFile) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 30000; ++i) entries.emplace_back(Key(i), Value(i));
  auto memory = WriteCdb(entries);
  ASSERT_TRUE(memory.ok());
  TempFile file;
  CdbWriter writer(file.fd(), false);
  for (const auto& [key, value] : entries) ASSERT_TRUE(writer.Add(key, value).ok());
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(file.Contents(), *memory);
}

TEST(CdbWriterTest, TheFirstOfARepeatedKeyStandsAlsoOnceItIsOnDisk) {
  TempFile file;
  CdbWriter writer(file.fd(), /*unique_keys=*/true);
  for (int i = 0; i < 50000; ++i) ASSERT_TRUE(*writer.Add(Key(i), Value(i)));
  // Key(0) was flushed to the file long ago; Key(49999) is in the buffer.
  EXPECT_FALSE(*writer.Add(Key(0), "second"));
  EXPECT_FALSE(*writer.Add(Key(49999), "second"));
  EXPECT_TRUE(*writer.Add("new@example.com", "added"));
  ASSERT_TRUE(writer.Finish().ok());
  EXPECT_EQ(writer.count(), 50001u);
  std::string bytes = file.Contents();
  CdbTable table(nullptr, bytes, CaseFold::kNone);
  EXPECT_EQ(table.Find(Key(0)), Value(0));
  EXPECT_EQ(table.Find(Key(49999)), Value(49999));
}

TEST(CdbTableTest, ReadsWhatTinyCdbWrites) {
  TempFile file;
  struct cdb_make maker;
  ASSERT_EQ(cdb_make_start(&maker, file.fd()), 0);
  for (int i = 0; i < 5000; ++i) {
    std::string key = Key(i), value = Value(i);
    ASSERT_EQ(cdb_make_add(&maker, key.data(), static_cast<unsigned>(key.size()), value.data(),
                           static_cast<unsigned>(value.size())),
              0);
  }
  ASSERT_EQ(cdb_make_finish(&maker), 0);
  std::string bytes = file.Contents();
  ASSERT_TRUE(CdbTable::LooksValid(bytes));
  EXPECT_FALSE(CdbTable::LooksValid(std::string_view(bytes).substr(0, 100)));
  CdbTable table(nullptr, bytes, CaseFold::kAscii);
  for (int i = 0; i < 5000; i += 7) EXPECT_EQ(table.Find(Key(i)), Value(i));
  EXPECT_EQ(table.Lookup("USER7@DOMAIN7.EXAMPLE"), Value(7));  // queries are folded
  EXPECT_FALSE(table.Find("nobody@nowhere.example"));
}

}  // namespace
}  // namespace postern::mail
