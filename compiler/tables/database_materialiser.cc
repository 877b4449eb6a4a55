// database_materialiser.cc: see database_materialiser.h.
#include "compiler/tables/database_materialiser.h"

#include <map>

#include "compiler/tables/database_client.h"
#include "compiler/tables/database_rows.h"
#include "compiler/tables/sql_enumeration.h"
#include "util/strings.h"

namespace postern::tables {

std::optional<MaterialisedTable> MaterialiseDatabaseTable(const DatabaseConfig& config, mail::CaseFold fold,
                                                          const SourceLocation& where, DiagnosticSink* diagnostics) {
  const std::string kind = DatabaseKindName(config.kind);
  Enumeration enumeration;
  SourceLocation query_location = config.query.location;
  if (config.enumeration_query) {
    auto key_part = KeyPartOfQuery(config.query.value);
    if (!key_part.ok()) {
      diagnostics->Error("PT0333", config.query.location,
                         "cannot materialise this query: " + key_part.status().message(),
                         "use a hash: table exported from the database instead");
      return std::nullopt;
    }
    enumeration.sql = config.enumeration_query->value;
    enumeration.key_part = key_part.value();
    query_location = config.enumeration_query->location;
  } else {
    auto derived = DeriveEnumeration(config.query.value, config.kind != DatabaseKind::kPgsql);
    if (!derived.ok()) {
      diagnostics->Error("PT0333", config.query.location,
                         "cannot list this table's keys from its query: " + derived.status().message(),
                         "add postern_enumeration_query = SELECT key, value FROM ... (every key with its values, "
                         "the key first), which Postfix ignores");
      return std::nullopt;
    }
    enumeration = std::move(derived).value();
  }

  // Postfix's sqlite client reads the first column of each row; pgsql and
  // mysql every column.
  const bool all_columns = config.kind != DatabaseKind::kSqlite;
  const bool keeps_unfolded = config.kind == DatabaseKind::kMysql;
  auto rows = std::make_shared<DatabaseRows>();
  const char separator = mail::DatabaseTable::kValueSeparator;
  std::map<std::string, int> rows_per_key;
  size_t rows_read = 0;
  size_t unfolded_keys = 0;
  std::string first_unfolded;
  std::string shape_error;
  Status status = ForEachDatabaseRow(config, enumeration.sql, [&](const DatabaseRow& row) {
    ++rows_read;
    if (static_cast<int>(row.size()) <= enumeration.key_columns) {
      if (shape_error.empty()) {
        shape_error = "the enumeration returns " + std::to_string(row.size()) + " column(s); it needs " +
                      std::to_string(enumeration.key_columns) + " for the key and at least one value";
      }
      return;
    }
    if (!row[0] || (enumeration.key_columns == 2 && !row[1])) return;
    std::string key = enumeration.key_columns == 2 ? *row[0] + "@" + *row[1] : *row[0];
    std::string folded = mail::FoldCase(key, fold);
    if (folded.empty()) return;
    if (folded != key) {
      if (unfolded_keys++ == 0) first_unfolded = key;
      // Postfix asks for the lower-case key. SQLite and PostgreSQL compare
      // text exactly unless the column says otherwise; MySQL's default
      // collations ignore case.
      if (!keeps_unfolded) return;
    }
    if (enumeration.rows_per_key && ++rows_per_key[folded] > *enumeration.rows_per_key) return;
    size_t last = all_columns ? row.size() : static_cast<size_t>(enumeration.key_columns) + 1;
    if (folded.find(separator) != std::string::npos) return;
    for (size_t i = static_cast<size_t>(enumeration.key_columns); i < last; ++i) {
      if (row[i] && !row[i]->empty() && row[i]->find(separator) == std::string::npos) rows->Add(folded, *row[i]);
    }
  });
  if (!status.ok()) {
    diagnostics->Error("PT0332", where, kind + " table " + config.file->name() + ": " + status.message(),
                       "Postern reads database tables when it compiles: the database must be reachable from here");
    return std::nullopt;
  }
  if (!shape_error.empty()) {
    diagnostics->Error("PT0332", query_location, kind + " table " + config.file->name() + ": " + shape_error);
    return std::nullopt;
  }
  if (unfolded_keys > 0) {
    diagnostics->Warning("PT0334", query_location,
                         std::to_string(unfolded_keys) + " row(s) have a key that is not in lower case (the first: \"" +
                             first_unfolded + "\"); " +
                             (keeps_unfolded ? "the image finds them, as MySQL's case-insensitive collations do"
                                             : "the image leaves them out, as " + kind +
                                                   " compares text exactly and Postfix asks for lower-case keys"),
                         "store keys in lower case: whether the database finds such a row for Postfix depends on "
                         "the column's collation");
  }

  mail::DatabaseLookupRules rules = config.rules;
  rules.key_part = enumeration.key_part;
  auto result =
      FinishMaterialisedTable(std::move(rows), std::move(rules), fold, config.expansion_limit_location, diagnostics);
  if (result) result->rows_read = rows_read;
  return result;
}

std::optional<MaterialisedTable> FinishMaterialisedTable(std::shared_ptr<DatabaseRows> rows,
                                                         mail::DatabaseLookupRules rules, mail::CaseFold fold,
                                                         const SourceLocation& expansion_limit_location,
                                                         DiagnosticSink* diagnostics) {
  rows->Seal();
  if (rules.expansion_limit > 0) {
    size_t over_limit = 0;
    std::string first_key;
    int first_results = 0;
    rows->ForEach([&](std::string_view key, const std::string& list) {
      int results = 0;
      for (const std::string& value : SplitFields(list, mail::DatabaseTable::kValueSeparator)) {
        results += mail::ValueGivesResult(rules, value) ? 1 : 0;
      }
      if (results > rules.expansion_limit && over_limit++ == 0) {
        first_key = key;
        first_results = results;
      }
    });
    if (over_limit > 0) {
      std::string others = over_limit > 1 ? " (and " + std::to_string(over_limit - 1) + " other keys)" : "";
      diagnostics->Error("PT0335", expansion_limit_location,
                         "key \"" + first_key + "\" has " + std::to_string(first_results) +
                             " results, more than expansion_limit (" + std::to_string(rules.expansion_limit) + ")" +
                             others + ": Postfix's lookups of it fail",
                         "raise expansion_limit, or fix the data");
      return std::nullopt;
    }
  }
  MaterialisedTable result;
  result.rows = rows;
  result.table = std::make_shared<mail::DatabaseTable>(std::move(rules), std::move(rows), fold);
  return result;
}

}  // namespace postern::tables
