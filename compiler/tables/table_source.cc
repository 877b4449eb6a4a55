// table_source.cc: see table_source.h.
#include "compiler/tables/table_source.h"

#include "util/logical_lines.h"
#include "util/strings.h"

namespace postern::tables {
namespace {

// Length of the leading key: up to white space outside double quotes.
size_t KeyLength(std::string_view text) {
  bool quoted = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && quoted && i + 1 < text.size()) {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && IsSpace(c)) break;
  }
  return i;
}

// Splits an alias right-hand side at commas outside quotes, <> and ().
std::vector<std::string> SplitAliasList(std::string_view text) {
  std::vector<std::string> items;
  bool quoted = false;
  int angle = 0;
  int paren = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ',';
    if (i < text.size()) {
      if (c == '\\' && i + 1 < text.size()) {
        ++i;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (!quoted) {
        if (c == '<') ++angle;
        if (c == '>' && angle > 0) --angle;
        if (c == '(') ++paren;
        if (c == ')' && paren > 0) --paren;
      }
    }
    if (c == ',' && !quoted && angle == 0 && paren == 0) {
      std::string_view item = Trim(text.substr(start, i - start));
      if (!item.empty()) items.emplace_back(item);
      start = i + 1;
    }
  }
  return items;
}

std::string Unquote(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::string(text);
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

}  // namespace

bool ParseTextEntry(const LogicalLine& line, const SourceFileRef& file, DiagnosticSink* diagnostics,
                    std::string_view* key, std::string_view* value) {
  size_t key_length = KeyLength(line.text);
  // Postmap keeps trailing white space of the value only up to the line's
  // end: trailing blanks are removed, inner ones are kept.
  *value = Trim(std::string_view(line.text).substr(key_length));
  if (value->empty()) {
    diagnostics->Error("PT0301", line.Locate(file.Get(), 0, key_length), "expected format: key whitespace value",
                       "every entry needs a value; postmap skips this line");
    return false;
  }
  *key = std::string_view(line.text).substr(0, key_length);
  return true;
}

bool ParseAliasEntry(const LogicalLine& line, const SourceFileRef& file, DiagnosticSink* diagnostics, std::string* name,
                     std::string* value, size_t* name_end) {
  std::string_view text = line.text;
  size_t colon = std::string_view::npos;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && quoted && i + 1 < text.size()) {
      ++i;
      continue;
    }
    if (text[i] == '"') quoted = !quoted;
    if (!quoted && text[i] == ':') {
      colon = i;
      break;
    }
  }
  std::vector<std::string> values;
  if (colon != std::string_view::npos) values = SplitAliasList(text.substr(colon + 1));
  *name = colon == std::string_view::npos ? "" : Unquote(Trim(text.substr(0, colon)));
  if (colon == std::string_view::npos || name->empty() || values.empty()) {
    diagnostics->Error("PT0303", line.Locate(file.Get(), 0, text.size()), "need name:value pair",
                       "aliases(5) entries have the form `name: value, value, ...`");
    return false;
  }
  *value = Join(values, ", ");
  *name_end = colon;
  return true;
}

std::vector<TableEntry> ParseTextTable(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics) {
  std::vector<TableEntry> entries;
  SourceFileRef ref(file);
  for (const LogicalLine& line : ReadLogicalLines(file, diagnostics)) {
    std::string_view key, value;
    if (!ParseTextEntry(line, ref, diagnostics, &key, &value)) continue;
    entries.push_back({std::string(key), std::string(value), line.Locate(file, 0, key.size())});
  }
  return entries;
}

std::vector<TableEntry> ParseAliasTable(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics) {
  std::vector<TableEntry> entries;
  SourceFileRef ref(file);
  for (const LogicalLine& line : ReadLogicalLines(file, diagnostics)) {
    TableEntry entry;
    size_t name_end = 0;
    if (!ParseAliasEntry(line, ref, diagnostics, &entry.key, &entry.value, &name_end)) continue;
    entry.location = line.Locate(file, 0, name_end);
    entries.push_back(std::move(entry));
  }
  return entries;
}

namespace {

// Parses one /pattern/flags at *pos for regexp and pcre tables.
std::shared_ptr<const mail::Regexp> ParseRegexp(std::string_view text, size_t* pos, TableFormat format,
                                                const LogicalLine& line, const std::shared_ptr<const SourceFile>& file,
                                                DiagnosticSink* diagnostics, bool* ok) {
  *ok = false;
  size_t start = *pos;
  if (start >= text.size() || IsSpace(text[start])) {
    diagnostics->Error("PT0311", line.Locate(file, start), "no regexp: skipping this rule");
    return nullptr;
  }
  char delimiter = text[start];
  size_t i = start + 1;
  std::string pattern;
  for (; i < text.size() && text[i] != delimiter; ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == delimiter) {
      pattern += delimiter;
      ++i;
      continue;
    }
    pattern += text[i];
  }
  if (i >= text.size()) {
    diagnostics->Error("PT0311", line.Locate(file, start, text.size() - start),
                       std::string("no closing regexp delimiter \"") + delimiter + "\": skipping this rule");
    return nullptr;
  }
  ++i;
  mail::RegexpFlags flags;
  std::string_view allowed = format == TableFormat::kPcre ? "imsxAEUX" : "imx";
  for (; i < text.size() && !IsSpace(text[i]); ++i) {
    char f = text[i];
    if (format == TableFormat::kRegexp && f == '!') break;  // /a/!/b/
    if (allowed.find(f) == std::string_view::npos) {
      diagnostics->Error("PT0315", line.Locate(file, i),
                         std::string("unknown regexp option \"") + f + "\": skipping this rule",
                         "flags for " + std::string(format == TableFormat::kPcre ? "pcre" : "regexp") +
                             " tables: " + std::string(allowed));
      return nullptr;
    }
    switch (f) {
      case 'i':
        flags.caseless = !flags.caseless;
        break;
      case 'm':
        flags.multiline = !flags.multiline;
        break;
      case 's':
        flags.dotall = !flags.dotall;
        break;
      case 'x':
        if (format == TableFormat::kPcre) flags.extended = !flags.extended;
        break;
      case 'A':
        flags.anchored = !flags.anchored;
        break;
      case 'E':
        flags.dollar_endonly = !flags.dollar_endonly;
        break;
      case 'U':
        flags.ungreedy = !flags.ungreedy;
        break;
      default:
        break;  // X: PCRE1's "extra"; no PCRE2 equivalent needed
    }
  }
  auto compiled = mail::Regexp::Compile(pattern, flags);
  if (!compiled.ok()) {
    diagnostics->Error("PT0311", line.Locate(file, start, i - start), compiled.status().message());
    return nullptr;
  }
  *pos = i;
  *ok = true;
  return compiled.value();
}

bool IsKeyword(std::string_view text, std::string_view keyword) {
  if (text.size() < keyword.size() || !EqualsIgnoreCase(text.substr(0, keyword.size()), keyword)) return false;
  return text.size() == keyword.size() || IsSpace(text[keyword.size()]) ||
         (keyword == "if" && (text[keyword.size()] == '!' || text[keyword.size()] == '/'));
}

}  // namespace

std::vector<mail::PatternRule> ParsePatternTable(const std::shared_ptr<const SourceFile>& file, TableFormat format,
                                                 DiagnosticSink* diagnostics) {
  const char* kind_name = format == TableFormat::kCidr ? "cidr" : (format == TableFormat::kPcre ? "pcre" : "regexp");
  std::vector<mail::PatternRule> rules;
  std::vector<std::pair<size_t, LogicalLine>> open_ifs;  // index into rules, and the IF line
  for (const LogicalLine& line : ReadLogicalLines(file, diagnostics)) {
    std::string_view text = line.text;
    mail::PatternRule rule;
    rule.line = line.first_line();
    size_t pos = 0;
    if (IsKeyword(text, "endif")) {
      if (!Trim(text.substr(5)).empty()) {
        diagnostics->Warning("PT0318", line.Locate(file, 5, text.size() - 5), "ignoring extra text after ENDIF");
      }
      if (open_ifs.empty()) {
        diagnostics->Error("PT0313", line.Locate(file, 0, 5), "ENDIF without matching IF");
        continue;
      }
      rule.kind = mail::PatternRule::Kind::kEndif;
      rules[open_ifs.back().first].endif = rules.size();
      open_ifs.pop_back();
      rules.push_back(std::move(rule));
      continue;
    }
    if (IsKeyword(text, "if")) {
      rule.kind = mail::PatternRule::Kind::kIf;
      pos = 2;
    }
    while (pos < text.size() && IsSpace(text[pos])) ++pos;
    while (pos < text.size() && text[pos] == '!') {
      rule.negate = !rule.negate;
      ++pos;
      while (pos < text.size() && IsSpace(text[pos])) ++pos;
    }
    if (pos >= text.size()) {
      diagnostics->Error(
          format == TableFormat::kCidr ? "PT0310" : "PT0311", line.Locate(file, 0, text.size()),
          format == TableFormat::kCidr ? "no address pattern: skipping this rule" : "no regexp: skipping this rule");
      continue;
    }
    size_t pattern_start = pos;
    if (format == TableFormat::kCidr) {
      while (pos < text.size() && !IsSpace(text[pos])) ++pos;
      std::string error;
      rule.cidr = mail::ParseCidrBlock(text.substr(pattern_start, pos - pattern_start), &error);
      if (!rule.cidr) {
        diagnostics->Error("PT0310", line.Locate(file, pattern_start, pos - pattern_start),
                           error + ": skipping this rule");
        continue;
      }
    } else {
      bool ok = false;
      rule.regexp = ParseRegexp(text, &pos, format, line, file, diagnostics, &ok);
      if (!ok) continue;
      if (format == TableFormat::kRegexp && pos < text.size() && text[pos] == '!') {
        ++pos;
        rule.regexp_unless = ParseRegexp(text, &pos, format, line, file, diagnostics, &ok);
        if (!ok) continue;
      }
    }
    std::string_view rest = Trim(text.substr(pos));
    if (rule.kind == mail::PatternRule::Kind::kIf) {
      if (!rest.empty()) {
        diagnostics->Warning("PT0318", line.Locate(file, pos, text.size() - pos),
                             "ignoring extra text after IF statement: \"" + std::string(rest) + "\"");
      }
      open_ifs.emplace_back(rules.size(), line);
      rules.push_back(std::move(rule));
      continue;
    }
    if (rest.empty()) {
      diagnostics->Warning("PT0316", line.Locate(file, pattern_start, pos - pattern_start),
                           std::string("no lookup result: ") +
                               (format == TableFormat::kCidr ? "skipping this rule" : "using empty string"));
      if (format == TableFormat::kCidr) continue;
    }
    rule.replacement = std::string(rest);
    if (rule.regexp) {
      std::string error;
      int max_index = mail::MaxReplacementIndex(rule.replacement, &error);
      if (!error.empty()) {
        diagnostics->Error("PT0314", line.Locate(file, pos, text.size() - pos), error + ": skipping this rule");
        continue;
      }
      if (max_index > 0 && rule.negate) {
        diagnostics->Error("PT0317", line.Locate(file, pos, text.size() - pos),
                           "$number found in negative match replacement text: skipping this rule");
        continue;
      }
      if (max_index > rule.regexp->capture_count()) {
        diagnostics->Error("PT0314", line.Locate(file, pos, text.size() - pos),
                           "out of range replacement index \"" + std::to_string(max_index) + "\": skipping this rule",
                           "the pattern has " + std::to_string(rule.regexp->capture_count()) + " capture group(s)");
        continue;
      }
    }
    rules.push_back(std::move(rule));
  }
  for (auto it = open_ifs.rbegin(); it != open_ifs.rend(); ++it) {
    diagnostics->Error("PT0312", it->second.Locate(file, 0, 2),
                       std::string("IF has no matching ENDIF in ") + kind_name + " table");
    mail::PatternRule endif;
    endif.kind = mail::PatternRule::Kind::kEndif;
    rules[it->first].endif = rules.size();
    rules.push_back(std::move(endif));
  }
  return rules;
}

}  // namespace postern::tables
