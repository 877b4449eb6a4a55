// definition_file.h: the definition file of a table that lives in a server
// (sqlite_table(5), pgsql_table(5), mysql_table(5), ldap_table(5)): main.cf
// syntax, the settings the table's manual page lists, and secrets (password,
// bind_pw) masked in the copy of the file that diagnostics quote.
//
// Codes: PT0322 the file cannot be read, PT0330 unknown setting (a warning,
// with did-you-mean: Postfix ignores it), PT0331 an invalid value, PT0336 a
// setting Postern does not implement.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/database_table.h"
#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::tables {

struct DefinitionSetting {
  std::string value;
  SourceLocation location;  // of the value, in the masked file
};

class DefinitionFile {
 public:
  // `type` names the table type in messages ("pgsql"); `known` lists the
  // settings it reads, `secrets` those never to be shown.
  static std::optional<DefinitionFile> Read(const std::string& type, const std::string& path,
                                            const std::vector<std::string_view>& known,
                                            const std::vector<std::string_view>& secrets,
                                            const SourceLocation& reference_location, DiagnosticSink* diagnostics);

  const std::shared_ptr<const SourceFile>& file() const { return file_; }
  const std::string& type() const { return type_; }
  // The last definition of `name` (as in main.cf), or null.
  const DefinitionSetting* Find(const std::string& name) const;
  std::string Value(const std::string& name, std::string fallback = "") const;

  // Typed values; a bad one is reported (PT0331), gives `fallback` and
  // makes ok() false.
  bool Boolean(const std::string& name, bool fallback);
  int Number(const std::string& name, int fallback);
  void Invalid(const DefinitionSetting& setting, std::string message, std::string hint = "");
  // A setting Postern does not implement (PT0336).
  void Unimplemented(const DefinitionSetting& setting, std::string message, std::string hint = "");
  // An error about the whole file (a missing setting).
  void FileError(const std::string& code, std::string message, std::string hint = "");
  bool ok() const { return ok_; }

 private:
  std::string type_;
  std::shared_ptr<const SourceFile> file_;
  std::map<std::string, DefinitionSetting> settings_;
  DiagnosticSink* diagnostics_ = nullptr;
  bool ok_ = true;
};

// What db_common reads from every such file: the query templates' needs
// (`queries`: the query, or LDAP's query_filter and search_base),
// `result_format` (under `result_format_names`, the first set wins),
// `domain` and `expansion_limit`. Problems are reported through `file`.
struct LookupRulesLocations {
  SourceLocation result_format;
  SourceLocation expansion_limit;
};
LookupRulesLocations ReadLookupRules(DefinitionFile* file, const std::vector<DefinitionSetting>& queries,
                                     const std::vector<std::string>& result_format_names,
                                     mail::DatabaseLookupRules* rules);

}  // namespace postern::tables
