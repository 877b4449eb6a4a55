// table_diff.cc: the table part of config_diff.h. Tables are compared as
// the images hold them (a section's sha256 says whether anything changed);
// a changed table's entries are listed from the image, with the source
// lines of the configuration it was compiled from when there is one.
#include <algorithm>
#include <filesystem>
#include <map>

#include "compiler/tables/table_source.h"
#include "mail/case_fold.h"
#include "mail/database_table.h"
#include "mail/parameter_list.h"
#include "tools/postern/config_diff.h"
#include "util/source_file.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;
using mail::SectionKind;

bool IsTableSection(SectionKind kind) {
  switch (kind) {
    case SectionKind::kExactTable:
    case SectionKind::kPatternTable:
    case SectionKind::kStaticTable:
    case SectionKind::kPasswdTable:
    case SectionKind::kDatabaseTable:
    case SectionKind::kFailTable:
    case SectionKind::kLiveTable:
      return true;
    default:
      return false;
  }
}

std::string_view WithoutProxy(std::string_view reference) {
  return StartsWith(reference, "proxy:") ? reference.substr(6) : reference;
}

std::string RegexpText(const mail::Regexp& re) {
  const mail::RegexpFlags& f = re.flags();
  std::string flags;
  if (!f.caseless) flags += 'i';  // regexp_table(5): "i" toggles Postfix's case-insensitive default
  if (f.extended) flags += 'x';
  if (f.multiline) flags += 'm';
  if (f.dotall) flags += 's';
  if (f.anchored) flags += 'A';
  if (f.dollar_endonly) flags += 'E';
  if (f.ungreedy) flags += 'U';
  return "/" + re.pattern() + "/" + flags;
}

std::string RuleText(const mail::PatternRule& rule) {
  if (rule.kind == mail::PatternRule::Kind::kEndif) return "ENDIF";
  std::string text = rule.kind == mail::PatternRule::Kind::kIf ? "IF " : "";
  if (rule.negate) text += "!";
  if (rule.cidr) {
    text += rule.cidr->network.ToString() + "/" + std::to_string(rule.cidr->prefix_length);
  } else if (rule.regexp) {
    text += RegexpText(*rule.regexp);
    if (rule.regexp_unless) text += "!" + RegexpText(*rule.regexp_unless);
  }
  return text;
}

// A table's entries in order: key -> value (pattern rules: the rule's
// pattern -> its result, a repeated pattern numbered), with the source
// line of each when the rule knows it.
struct Entries {
  std::vector<std::pair<std::string, std::string>> items;
  std::map<std::string, int> rule_lines;  // pattern tables: key -> line
};

std::optional<Entries> ListEntries(const mail::LookupTable* table) {
  Entries entries;
  if (const auto* database = dynamic_cast<const mail::DatabaseTable*>(table)) {
    auto rows = ListEntries(&database->rows());
    if (!rows) return std::nullopt;
    for (auto& [key, value] : rows->items) {
      std::replace(value.begin(), value.end(), mail::DatabaseTable::kValueSeparator, ',');
      if (!key.empty()) entries.items.emplace_back(key, value);  // "": the lookup rules, compared as a whole
    }
  } else if (const auto* pattern = dynamic_cast<const mail::PatternTable*>(table)) {
    std::map<std::string, int> seen;
    for (const mail::PatternRule& rule : pattern->rules()) {
      std::string key = RuleText(rule);
      if (int n = ++seen[key]; n > 1) key += " (#" + std::to_string(n) + ")";
      entries.items.emplace_back(key, rule.replacement);
      entries.rule_lines[key] = rule.line;
    }
  } else if (const auto* fixed = dynamic_cast<const mail::StaticTable*>(table)) {
    entries.items.emplace_back("(every key)", fixed->value());
  } else if (table == nullptr || !table->ForEachEntry([&](std::string_view key, std::string_view value) {
               entries.items.emplace_back(key, value);
             })) {
    return std::nullopt;
  }
  return entries;
}

// The source lines of a text or aliases table a configuration compiled:
// folded key -> line.
class SourceLines {
 public:
  SourceLines(const DiffSide& side, std::string_view reference) : side_(side) {
    if (!side.model) return;
    for (const tables::LoadedTable& t : side.model->tables) {
      if (t.reference.ToString() != WithoutProxy(reference) || t.source_path.empty()) continue;
      source_path_ = t.source_path;
      format_ = t.reference.format;
      if (format_ != tables::TableFormat::kText && format_ != tables::TableFormat::kAliases) return;
      auto file = SourceFile::Read(t.source_path);
      if (!file.ok()) return;
      DiagnosticSink ignored;  // `postern check` reports on the table
      std::vector<tables::TableEntry> parsed = format_ == tables::TableFormat::kAliases
                                                   ? tables::ParseAliasTable(*file, &ignored)
                                                   : tables::ParseTextTable(*file, &ignored);
      mail::CaseFold fold = check::TableOptions(*side.model).fold;
      for (const tables::TableEntry& e : parsed) lines_.try_emplace(mail::FoldCase(e.key, fold), e.location.line);
      return;
    }
  }

  SourceLine Of(const std::string& key, const Entries& entries) const {
    if (source_path_.empty()) return {};
    int line = 0;
    if (auto it = lines_.find(key); it != lines_.end()) line = it->second;
    if (auto it = entries.rule_lines.find(key); it != entries.rule_lines.end()) line = it->second;
    if (line == 0) return {};
    fs::path path = fs::path(source_path_).lexically_relative(side_.config_directory);
    std::string shown = path.empty() || *path.begin() == ".." ? source_path_ : path.string();
    return {shown, line};
  }

 private:
  const DiffSide& side_;
  std::string source_path_;
  tables::TableFormat format_ = tables::TableFormat::kUnsupported;
  std::map<std::string, int> lines_;
};

// The parameters whose value names `reference`, as the image has them.
std::vector<std::string> ParametersNaming(const image::Image& image, const std::string& reference) {
  std::vector<std::string> names;
  for (const auto& [name, value] : image.settings().values()) {
    if (value.kind != mail::SettingKind::kText || value.text.find(reference) == std::string::npos) continue;
    for (const std::string& item : mail::SplitParameterList(value.text).value_or(std::vector<std::string>{})) {
      if (item == reference || (!item.empty() && item.substr(1) == reference && item[0] == '!')) {
        names.push_back(name);
        break;
      }
    }
  }
  return names;
}

void CompareEntries(const Entries& a, const Entries& b, const SourceLines& a_lines, const SourceLines& b_lines,
                    TableChange* change) {
  std::map<std::string, std::string> old_map(a.items.begin(), a.items.end());
  std::map<std::string, std::string> new_map(b.items.begin(), b.items.end());
  for (const auto& [key, value] : old_map) {
    auto it = new_map.find(key);
    if (it == new_map.end()) {
      change->entries.push_back({key, value, std::nullopt, a_lines.Of(key, a), {}});
    } else if (it->second != value) {
      change->entries.push_back({key, value, it->second, a_lines.Of(key, a), b_lines.Of(key, b)});
    }
  }
  for (const auto& [key, value] : new_map) {
    if (old_map.count(key) == 0) change->entries.push_back({key, std::nullopt, value, {}, b_lines.Of(key, b)});
  }
  // In the order of the files: NEW's line, else OLD's.
  std::stable_sort(change->entries.begin(), change->entries.end(), [](const EntryChange& x, const EntryChange& y) {
    int lx = x.new_where.empty() ? x.old_where.line : x.new_where.line;
    int ly = y.new_where.empty() ? y.old_where.line : y.new_where.line;
    return lx < ly;
  });
  if (change->entries.empty() && a.items != b.items) change->reordered = true;
}

}  // namespace

std::vector<TableChange> DiffTables(const DiffSide& old_side, const DiffSide& new_side) {
  std::map<std::string, const mail::ImageSection*> old_tables, new_tables;
  std::vector<std::string> order;  // NEW's, then OLD's own
  for (const mail::ImageSection& s : new_side.image->header().sections) {
    if (IsTableSection(s.kind) && new_tables.emplace(s.reference, &s).second) order.push_back(s.reference);
  }
  for (const mail::ImageSection& s : old_side.image->header().sections) {
    if (IsTableSection(s.kind) && old_tables.emplace(s.reference, &s).second && new_tables.count(s.reference) == 0) {
      order.push_back(s.reference);
    }
  }
  std::vector<TableChange> changes;
  for (const std::string& reference : order) {
    auto o = old_tables.find(reference);
    auto n = new_tables.find(reference);
    TableChange change;
    change.reference = reference;
    change.parameters = ParametersNaming(n != new_tables.end() ? *new_side.image : *old_side.image, reference);
    if (o != old_tables.end()) change.old_entries = o->second->entries;
    if (n != new_tables.end()) change.new_entries = n->second->entries;
    if (o == old_tables.end() || n == new_tables.end()) {
      change.kind = o == old_tables.end() ? TableChange::Kind::kAdded : TableChange::Kind::kRemoved;
      changes.push_back(std::move(change));
      continue;
    }
    if (o->second->kind == n->second->kind && o->second->sha256 == n->second->sha256) continue;
    std::optional<Entries> a = ListEntries(old_side.image->Table(reference));
    std::optional<Entries> b = ListEntries(new_side.image->Table(reference));
    if (!a || !b) {
      change.unlisted = true;
    } else {
      CompareEntries(*a, *b, SourceLines(old_side, reference), SourceLines(new_side, reference), &change);
      // The same entries in bytes that differ: a database table's lookup rules.
      if (change.entries.empty() && !change.reordered) change.unlisted = true;
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace postern::cli
