// database_materialiser.cc: see database_materialiser.h.
#include "compiler/tables/database_materialiser.h"

#include <algorithm>
#include <map>
#include <set>

#include "compiler/tables/database_rows.h"
#include "compiler/tables/sql_enumeration.h"
#include "mail/servers/database_client.h"
#include "util/strings.h"

namespace postern::tables {
namespace {

using servers::DatabaseKindName;
using servers::DatabaseRow;

// Adds the values of `row` from column `first` on (servers::ForEachRowValue).
void AddValues(const DatabaseConfig& config, const std::string& key, const DatabaseRow& row, size_t first,
               DatabaseRows* rows) {
  servers::ForEachRowValue(config.kind, row, first, [&](const std::string& value) {
    if (value.find(mail::DatabaseTable::kValueSeparator) == std::string::npos) rows->Add(key, value);
  });
}

class Materialiser {
 public:
  Materialiser(const DatabaseConfig& config, mail::CaseFold fold, const SourceLocation& where,
               DiagnosticSink* diagnostics)
      : config_(config),
        fold_(fold),
        where_(where),
        diagnostics_(diagnostics),
        name_(std::string(DatabaseKindName(config.kind)) + " table " + config.file->name()) {}

  std::optional<MaterialisedTable> Run() {
    const bool double_quoted_strings = config_.kind != DatabaseKind::kPgsql;
    std::optional<Enumeration> enumeration;
    std::optional<KeyListing> listing;
    if (config_.enumeration_query) {
      auto key_part = KeyPartOfQuery(config_.query.value);
      if (!key_part.ok()) {
        diagnostics_->Error("PT0333", config_.query.location,
                            "cannot materialise this query: " + key_part.status().message(),
                            "use a hash: table exported from the database instead");
        return std::nullopt;
      }
      enumeration = Enumeration{config_.enumeration_query->value, 1, key_part.value(), std::nullopt};
    } else if (auto derived = DeriveEnumeration(config_.query.value, double_quoted_strings); derived.ok()) {
      enumeration = std::move(derived).value();
    } else if (auto keys = DeriveKeyListing(config_.query.value, double_quoted_strings); keys.ok()) {
      listing = std::move(keys).value();
    } else {
      diagnostics_->Error("PT0333", config_.query.location,
                          "cannot list this table's keys from its query: " + keys.status().message(),
                          "add postern_enumeration_query = SELECT key, value FROM ... (every key with its values, "
                          "the key first), which Postfix ignores");
      return std::nullopt;
    }
    auto connection = servers::DatabaseConnection::Open(config_);
    if (!connection.ok()) {
      Unreadable(connection.status());
      return std::nullopt;
    }
    connection_ = std::move(connection).value();
    rows_ = std::make_shared<DatabaseRows>();
    bool read = enumeration ? ReadListing(*enumeration) : ReadKeyByKey(*listing);
    if (!read) return std::nullopt;
    mail::DatabaseLookupRules rules = config_.rules;
    rules.key_part = enumeration ? enumeration->key_part : listing->key_part;
    return FinishMaterialisedTable(std::move(rows_), std::move(rules), fold_, config_.expansion_limit_location,
                                   diagnostics_);
  }

 private:
  // PT0332; returns false, for the readers' returns.
  bool Unreadable(const Status& status) {
    diagnostics_->Error("PT0332", where_, name_ + ": " + status.message(),
                        "Postern reads database tables when it compiles: the database must be reachable from here");
    return false;
  }

  // Every key with its values, from one query.
  bool ReadListing(const Enumeration& enumeration) {
    SourceLocation query_location =
        config_.enumeration_query ? config_.enumeration_query->location : config_.query.location;
    // Postfix asks for the lower-case key. SQLite and PostgreSQL compare
    // text exactly unless the column says otherwise; MySQL's default
    // collations ignore case.
    const bool keeps_unfolded = config_.kind == DatabaseKind::kMysql;
    std::map<std::string, int> rows_per_key;
    size_t unfolded_keys = 0;
    std::string first_unfolded;
    std::string shape_error;
    Status status = connection_->ForEachRow(enumeration.sql, [&](const DatabaseRow& row) {
      if (static_cast<int>(row.size()) <= enumeration.key_columns) {
        if (shape_error.empty()) {
          shape_error = "the enumeration returns " + std::to_string(row.size()) + " column(s); it needs " +
                        std::to_string(enumeration.key_columns) + " for the key and at least one value";
        }
        return;
      }
      if (!row[0] || (enumeration.key_columns == 2 && !row[1])) return;
      std::string key = enumeration.key_columns == 2 ? *row[0] + "@" + *row[1] : *row[0];
      std::string folded = mail::FoldCase(key, fold_);
      if (folded.empty() || folded.find(mail::DatabaseTable::kValueSeparator) != std::string::npos) return;
      if (folded != key) {
        if (unfolded_keys++ == 0) first_unfolded = key;
        if (!keeps_unfolded) return;
      }
      if (enumeration.rows_per_key && ++rows_per_key[folded] > *enumeration.rows_per_key) return;
      AddValues(config_, folded, row, static_cast<size_t>(enumeration.key_columns), rows_.get());
    });
    if (!status.ok()) return Unreadable(status);
    if (!shape_error.empty()) {
      diagnostics_->Error("PT0332", query_location, name_ + ": " + shape_error);
      return false;
    }
    if (unfolded_keys > 0) {
      std::string kind = DatabaseKindName(config_.kind);
      diagnostics_->Warning(
          "PT0334", query_location,
          std::to_string(unfolded_keys) + " row(s) have a key that is not in lower case (the first: \"" +
              first_unfolded + "\"); " +
              (keeps_unfolded ? "the image finds them, as MySQL's case-insensitive collations do"
                              : "the image leaves them out, as " + kind +
                                    " compares text exactly and Postfix asks for lower-case keys"),
          "store keys in lower case: whether the database finds such a row for Postfix depends on the column's "
          "collation");
    }
    return true;
  }

  // The keys from the listing, then each looked up with the query itself.
  bool ReadKeyByKey(const KeyListing& listing) {
    std::set<std::string> keys;
    Status status = connection_->ForEachRow(listing.sql, [&](const DatabaseRow& row) {
      std::vector<std::string> locals, domains;
      for (size_t i = 0; i < row.size() && i < listing.column_parts.size(); ++i) {
        if (!row[i] || row[i]->empty()) continue;
        char part = listing.column_parts[i];
        if (part == 's' || (part == 'u' && listing.key_part == mail::DatabaseLookupRules::KeyPart::kLocalPart) ||
            (part == 'd' && listing.key_part == mail::DatabaseLookupRules::KeyPart::kDomain)) {
          keys.insert(mail::FoldCase(*row[i], fold_));
        } else {
          (part == 'u' ? locals : domains).push_back(*row[i]);
        }
      }
      // Parts make keys only when no column holds the whole key.
      if (listing.column_parts.find('s') != std::string::npos) return;
      for (const std::string& local : locals) {
        for (const std::string& domain : domains) keys.insert(mail::FoldCase(local + "@" + domain, fold_));
      }
    });
    if (!status.ok()) return Unreadable(status);
    for (const std::string& key : keys) {
      if (key.find(mail::DatabaseTable::kValueSeparator) != std::string::npos) continue;
      auto sql = mail::ExpandQuery(config_.query.value, mail::QueryKeyFor(key, listing.key_part),
                                   [&](std::string_view value) { return connection_->Quote(value); });
      if (!sql) continue;
      status =
          connection_->ForEachRow(*sql, [&](const DatabaseRow& row) { AddValues(config_, key, row, 0, rows_.get()); });
      if (!status.ok()) return Unreadable(status);
    }
    return true;
  }

  const DatabaseConfig& config_;
  mail::CaseFold fold_;
  SourceLocation where_;
  DiagnosticSink* diagnostics_;
  std::string name_;
  std::unique_ptr<servers::DatabaseConnection> connection_;
  std::shared_ptr<DatabaseRows> rows_;
};

}  // namespace

std::optional<MaterialisedTable> MaterialiseDatabaseTable(const DatabaseConfig& config, mail::CaseFold fold,
                                                          const SourceLocation& where, DiagnosticSink* diagnostics) {
  return Materialiser(config, fold, where, diagnostics).Run();
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
