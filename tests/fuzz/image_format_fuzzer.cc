// Fuzzes the readers of image bytes: the IMAGE header, compact pattern
// tables, the service table, CDB lookups, the policy program, the typed
// settings and a database table's lookup rules. An image is verified by hash
// before these run, but a reader must still never misbehave on any bytes.
// The first byte picks the reader.
#include <cstdint>
#include <string>

#include "mail/cdb_table.h"
#include "mail/database_table.h"
#include "mail/image_format.h"
#include "mail/policy_program.h"
#include "mail/settings_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  if (size < 1) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 7) {
    case 0:
      (void)mail::DecodeImageHeader(bytes);
      break;
    case 1:
      if (auto rules = mail::DecodePatternRules(bytes); rules.ok()) {
        mail::PatternTable table(std::move(rules).value());
        table.Lookup("user@example.com");
        table.Lookup("192.0.2.1");
      }
      break;
    case 2:
      (void)mail::DecodeServices(bytes);
      break;
    case 3: {
      std::string copy(bytes.size() < 2048 ? 2048 : bytes.size(), '\0');
      copy.replace(0, bytes.size(), bytes);
      if (!mail::CdbTable::LooksValid(copy)) break;
      mail::CdbTable table(nullptr, copy, mail::CaseFold::kUtf8);
      table.Lookup("key");
      table.Lookup(bytes.substr(0, 16));
      table.ForEach([](std::string_view, std::string_view) {});
      break;
    }
    case 4:
      if (auto program = mail::DecodeProgram(bytes); program.ok()) {
        (void)mail::Verify(*program);
        (void)mail::Dump(*program);
      }
      break;
    case 5:
      if (auto settings = mail::DecodeSettings(bytes); settings.ok()) {
        mail::Settings typed(std::move(settings).value());
        (void)typed.Boolean("smtputf8_enable");
        (void)typed.Seconds("smtpd_timeout");
        (void)typed.Text("myhostname");
      }
      break;
    case 6:
      // A database table's rules, applied to rows and keys of every shape.
      if (auto rules = mail::DecodeDatabaseRules(bytes); rules.ok()) {
        auto rows = std::make_shared<mail::ExactTable>();
        static const char kValues[] = "a@b\0\0@x\0plain";  // values with empty ones between
        rows->Insert("joe@example.com", std::string(kValues, sizeof kValues - 1));
        rows->Insert("joe", "v");
        rows->Insert("example.com", "d@");
        mail::DatabaseTable table(std::move(rules).value(), rows, mail::CaseFold::kUtf8);
        for (const char* key : {"joe@example.com", "JOE", "@example.com", "example.com", "joe@", "a@b@c.d.e", ""}) {
          (void)table.Lookup(key);
        }
      }
      break;
  }
  return 0;
}
