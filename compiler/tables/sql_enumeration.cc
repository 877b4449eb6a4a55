// sql_enumeration.cc: see sql_enumeration.h.
#include "compiler/tables/sql_enumeration.h"

#include <regex>
#include <set>
#include <vector>

#include "util/strings.h"

namespace postern::tables {
namespace {

using KeyPart = mail::DatabaseLookupRules::KeyPart;

// A word outside quotes and parentheses, with where it starts and ends.
struct Word {
  std::string upper;
  size_t begin = 0;
  size_t end = 0;
};

bool IsWordChar(char c) { return IsAlnum(c) || c == '_' || c == '$'; }

// The top-level words of `sql` (not in quotes, not in parentheses), or an
// error for unbalanced quotes or parentheses.
Result<std::vector<Word>> TopLevelWords(std::string_view sql) {
  std::vector<Word> words;
  int depth = 0;
  for (size_t i = 0; i < sql.size();) {
    char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {
      size_t j = i + 1;
      for (; j < sql.size(); ++j) {
        if (sql[j] == c) {
          if (j + 1 < sql.size() && sql[j + 1] == c) {  // '' inside '...'
            ++j;
            continue;
          }
          break;
        }
        if (sql[j] == '\\' && c != '`') ++j;  // MySQL's backslash escapes
      }
      if (j >= sql.size()) return Status::Permanent("unbalanced quotes");
      i = j + 1;
    } else if (c == '(') {
      ++depth;
      ++i;
    } else if (c == ')') {
      if (--depth < 0) return Status::Permanent("unbalanced parentheses");
      ++i;
    } else if (IsWordChar(c)) {
      size_t j = i;
      while (j < sql.size() && IsWordChar(sql[j])) ++j;
      bool after_placeholder = i > 0 && sql[i - 1] == '%';
      if (depth == 0 && !after_placeholder) {
        std::string upper;
        for (char w : sql.substr(i, j - i)) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(w)));
        words.push_back({upper, i, j});
      }
      i = j;
    } else {
      ++i;
    }
  }
  if (depth != 0) return Status::Permanent("unbalanced parentheses");
  return words;
}

// The placeholders ('%' and a letter or digit, not "%%") in `text`.
std::vector<std::pair<size_t, char>> Placeholders(std::string_view text) {
  std::vector<std::pair<size_t, char>> found;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (text[i + 1] == '%') {
      ++i;
      continue;
    }
    found.emplace_back(i, text[i + 1]);
    ++i;
  }
  return found;
}

std::string UnescapePercent(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '%' && i + 1 < text.size() && text[i + 1] == '%') ++i;
  }
  return out;
}

// One comparison of a column with the key: `column = '%x'` or
// `'%x' = column`, x one of s u d (or S U D), or '%u@%d' for the whole key.
struct KeyComparison {
  std::string column;
  char form = 's';  // 's' the key, 'u' its local part, 'd' its domain
  bool double_quoted = false;
};

const std::regex& ComparisonPattern() {
  static const std::string kName = R"re((?:`[^`]+`|"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*))re";
  static const std::string kColumn = "(" + kName + "(?:\\." + kName + ")*)";
  static const std::string kValue = R"re(('(%[sSuUdD]|%[uU]@%[dD])'|"(%[sSuUdD]|%[uU]@%[dD])"))re";
  static const std::regex comparison(kColumn + "\\s*=\\s*" + kValue + "|" + kValue + "\\s*=\\s*" + kColumn);
  return comparison;
}

// Groups: 1 column, 3 '...' or 4 "..." value; or 6 '...' or 7 "..." value, 8 column.
KeyComparison ComparisonOf(const std::smatch& m) {
  KeyComparison comparison;
  bool column_first = m[1].matched;
  comparison.double_quoted = column_first ? !m[3].matched : !m[6].matched;
  std::string value =
      column_first ? (m[3].matched ? m[3].str() : m[4].str()) : (m[6].matched ? m[6].str() : m[7].str());
  comparison.form = value.find('@') != std::string::npos ? 's' : static_cast<char>(std::tolower(value[1]));
  comparison.column = column_first ? m[1].str() : m[8].str();
  return comparison;
}

// A whole conjunct that is one comparison with the key.
std::optional<KeyComparison> KeyCondition(std::string_view conjunct, bool double_quoted_strings) {
  std::string text(Trim(conjunct));
  std::smatch match;
  if (!std::regex_match(text, match, ComparisonPattern())) return std::nullopt;
  KeyComparison comparison = ComparisonOf(match);
  if (comparison.double_quoted && !double_quoted_strings) return std::nullopt;
  return comparison;
}

Result<KeyPart> KeyPartOfForms(const std::set<char>& forms) {
  if (auto part = mail::KeyPartOfForms(forms)) return *part;
  return Status::Permanent("the query uses the key as %s, or as %u and %d, or as one of %u and %d alone");
}

}  // namespace

Result<KeyPart> KeyPartOfQuery(std::string_view query) {
  std::set<char> letters;
  for (auto [offset, letter] : Placeholders(query)) {
    (void)offset;
    letters.insert(letter == 'S' || letter == 'U' || letter == 'D' ? static_cast<char>(std::tolower(letter)) : letter);
  }
  return KeyPartOfForms(letters);
}

Result<KeyListing> DeriveKeyListing(std::string_view query, bool double_quoted_strings) {
  auto words_or = TopLevelWords(query);
  if (!words_or.ok()) return words_or.status();
  const std::vector<Word>& words = words_or.value();
  if (words.empty() || words.front().upper != "SELECT")
    return Status::Permanent("the query does not start with SELECT");
  size_t from = 0;
  size_t tail = query.size();
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i].upper;
    if (w == "FROM" && from == 0) from = words[i].begin;
    if (from != 0 && (w == "ORDER" || w == "LIMIT") && tail == query.size()) tail = words[i].begin;
    if (w == "GROUP" || w == "HAVING" || w == "UNION" || w == "INTERSECT" || w == "EXCEPT") {
      return Status::Permanent("the query has " + w);
    }
  }
  if (from == 0) return Status::Permanent("the query has no FROM");
  // A negated comparison with the key cannot be listed; NOT is allowed in
  // IS NOT NULL only.
  std::string upper;
  for (char c : query) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::regex negation(R"re(\bNOT\b)re");
  static const std::regex is_not_null(R"re(\bIS\s+NOT\s+NULL\b)re");
  if (std::regex_search(std::regex_replace(upper, is_not_null, "IS_NULL"), negation)) {
    return Status::Permanent("the query has NOT");
  }

  std::string rest(query.substr(from, tail - from));
  std::string replaced;
  KeyListing listing;
  std::vector<std::string> columns;
  std::set<char> letters;
  size_t covered = 0;  // `rest` up to here is in `replaced`
  std::vector<std::pair<size_t, size_t>> spans;
  for (auto it = std::sregex_iterator(rest.begin(), rest.end(), ComparisonPattern()); it != std::sregex_iterator();
       ++it) {
    const std::smatch& m = *it;
    KeyComparison key = ComparisonOf(m);
    if (key.double_quoted && !double_quoted_strings) continue;  // "..." names a column here
    columns.push_back(key.column);
    listing.column_parts += key.form;
    letters.insert(key.form);
    size_t begin = static_cast<size_t>(m.position(0));
    replaced += rest.substr(covered, begin - covered) + "1=1";
    covered = begin + static_cast<size_t>(m.length(0));
    spans.emplace_back(begin, covered);
  }
  replaced += rest.substr(covered);
  for (auto [offset, letter] : Placeholders(query)) {
    (void)letter;
    bool in_comparison = false;
    for (auto [begin, end] : spans) in_comparison = in_comparison || (offset >= from + begin && offset < from + end);
    if (!in_comparison) {
      return Status::Permanent("the query uses the key other than in `column = '%s'`" +
                               std::string(double_quoted_strings ? "" : " (\"...\" names a column here)"));
    }
  }
  if (columns.empty()) return Status::Permanent("the query does not compare a column with the key");
  // With several forms of the key (ON domain = '%d' ... WHERE source = '%s',
  // or '%u' and '%d'), a comparison that stands alone under OR would match
  // keys no column lists.
  static const std::regex disjunction(R"re(\bOR\b)re");
  if (letters.size() > 1 && std::regex_search(upper, disjunction)) {
    return Status::Permanent("the query compares several forms of the key, with OR");
  }
  if (letters.count('s') && letters.size() > 1) {
    // Every key the query finds is a value of a whole-key column.
    listing.key_part = KeyPart::kWhole;
  } else {
    auto key_part = KeyPartOfForms(letters);
    if (!key_part.ok()) return key_part.status();
    listing.key_part = key_part.value();
  }
  listing.sql = UnescapePercent("SELECT DISTINCT " + Join(columns, ", ") + " " + std::string(Trim(replaced)));
  return listing;
}

Result<Enumeration> DeriveEnumeration(std::string_view query, bool double_quoted_strings) {
  auto words_or = TopLevelWords(query);
  if (!words_or.ok()) return words_or.status();
  const std::vector<Word>& words = words_or.value();
  if (words.empty() || words.front().upper != "SELECT")
    return Status::Permanent("the query does not start with SELECT");

  size_t where = words.size();
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].upper == "WHERE") {
      where = i;
      break;
    }
  }
  if (where == words.size()) return Status::Permanent("the query has no WHERE clause that names the key");
  // The WHERE clause ends at the first clause keyword after it.
  size_t clause_end = query.size();
  size_t tail_word = words.size();
  for (size_t i = where + 1; i < words.size(); ++i) {
    const std::string& w = words[i].upper;
    if (w == "GROUP" || w == "ORDER" || w == "HAVING" || w == "LIMIT" || w == "UNION" || w == "OFFSET") {
      clause_end = words[i].begin;
      tail_word = i;
      break;
    }
  }
  size_t clause_begin = words[where].end;
  for (auto [offset, letter] : Placeholders(query)) {
    (void)letter;
    if (offset < clause_begin || offset >= clause_end) {
      return Status::Permanent("the query uses the key outside its WHERE clause");
    }
  }

  // Split the WHERE clause into top-level conjuncts.
  std::vector<std::pair<size_t, size_t>> conjuncts;  // [begin, end) in query
  size_t start = clause_begin;
  for (size_t i = where + 1; i < tail_word; ++i) {
    if (words[i].upper == "OR") {
      return Status::Permanent("the WHERE clause has a top-level " + words[i].upper);
    }
    if (words[i].upper == "AND") {
      conjuncts.emplace_back(start, words[i].begin);
      start = words[i].end;
    }
  }
  conjuncts.emplace_back(start, clause_end);

  std::string where_text;
  std::vector<std::pair<char, std::string>> key_columns;
  std::set<char> letters;
  size_t copied = clause_begin;
  for (auto [begin, end] : conjuncts) {
    std::string_view text = query.substr(begin, end - begin);
    if (Placeholders(text).empty()) continue;
    auto condition = KeyCondition(text, double_quoted_strings);
    if (!condition) {
      return Status::Permanent("\"" + std::string(Trim(text)) + "\" is not of the form column = '%s'" +
                               (double_quoted_strings ? "" : " (\"...\" names a column here)"));
    }
    if (!letters.insert(condition->form).second) {
      return Status::Permanent("the query compares %" + std::string(1, condition->form) + " more than once");
    }
    key_columns.emplace_back(condition->form, condition->column);
    where_text += query.substr(copied, begin - copied);
    where_text += " 1=1 ";
    copied = end;
  }
  where_text += query.substr(copied, clause_end - copied);
  auto key_part = KeyPartOfForms(letters);
  if (!key_part.ok()) return key_part.status();

  Enumeration enumeration;
  enumeration.key_part = key_part.value();
  // The local part before the domain.
  std::sort(key_columns.begin(), key_columns.end(),
            [](const auto& a, const auto& b) { return (a.first == 'd') < (b.first == 'd'); });
  enumeration.key_columns = static_cast<int>(key_columns.size());

  // The tail: keep ORDER BY and the rest, turn a final LIMIT n into rows per key.
  std::string tail(query.substr(clause_end));
  for (size_t i = tail_word; i < words.size(); ++i) {
    if (words[i].upper != "LIMIT") continue;
    std::string_view limit = Trim(query.substr(words[i].end));
    int rows = 0;
    bool digits = !limit.empty() && limit.size() < 9 &&
                  std::all_of(limit.begin(), limit.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || i + 2 != words.size()) {
      return Status::Permanent("the query ends in a LIMIT other than LIMIT n");
    }
    for (char c : limit) rows = rows * 10 + (c - '0');
    enumeration.rows_per_key = rows;
    tail = std::string(query.substr(clause_end, words[i].begin - clause_end));
  }

  // SELECT [DISTINCT|ALL] key columns, the original select list ...
  size_t select_end = words[0].end;
  if (words.size() > 1 && (words[1].upper == "DISTINCT" || words[1].upper == "ALL")) select_end = words[1].end;
  std::string columns;
  for (const auto& [letter, column] : key_columns) columns += " " + column + ",";
  std::string sql = std::string(query.substr(0, select_end)) + columns +
                    std::string(query.substr(select_end, clause_begin - select_end)) + where_text + tail;
  enumeration.sql = UnescapePercent(Trim(sql));
  return enumeration;
}

}  // namespace postern::tables
