// strings.cc: see strings.h.
#include "util/strings.h"

#include <charconv>
#include <ctime>
#include <limits>

namespace postern {

std::string_view Trim(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size() && IsSpace(s[begin])) ++begin;
  size_t end = s.size();
  while (end > begin && IsSpace(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string CollapseSpace(std::string_view s) {
  std::string out;
  bool pending_space = false;
  for (char c : Trim(s)) {
    if (IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::vector<std::string> SplitAny(std::string_view s, std::string_view separators) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || separators.find(s[i]) != std::string_view::npos) {
      if (i > start) parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

bool ParseDecimal(std::string_view s, long long* value) {
  if (s.empty()) return false;
  long long result = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    int digit = c - '0';
    if (result > (std::numeric_limits<long long>::max() - digit) / 10) return false;
    result = result * 10 + digit;
  }
  *value = result;
  return true;
}

std::optional<int64_t> ParseDecimal(std::string_view s) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || error != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

std::vector<std::string> SplitFields(std::string_view s, char separator) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    size_t end = s.find(separator, start);
    fields.emplace_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

std::optional<long long> ParseTime(std::string_view value, char default_unit) {
  if (value.empty()) return std::nullopt;
  char unit = default_unit;
  std::string_view digits = value;
  if (!IsDigit(value.back())) {
    unit = ToLowerAscii(value.back());
    digits.remove_suffix(1);
  }
  long long number = 0;
  if (!ParseDecimal(digits, &number)) return std::nullopt;
  long long scale = 0;
  switch (unit) {
    case 's':
      scale = 1;
      break;
    case 'm':
      scale = 60;
      break;
    case 'h':
      scale = 3600;
      break;
    case 'd':
      scale = 86400;
      break;
    case 'w':
      scale = 7 * 86400;
      break;
    default:
      return std::nullopt;
  }
  if (number > std::numeric_limits<int>::max() / scale) return std::nullopt;  // as Postfix: int
  return number * scale;
}

std::string FormatTime(int64_t seconds_since_epoch, const char* format, bool utc) {
  time_t t = seconds_since_epoch;
  struct tm tm;
  if (utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buffer[128];
  // The callers pass literals; the warning cannot see through the parameter.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  size_t n = strftime(buffer, sizeof buffer, format, &tm);
#pragma GCC diagnostic pop
  return std::string(buffer, n);
}

std::string FormatRfc5322Date(int64_t seconds_since_epoch) {
  return FormatTime(seconds_since_epoch, "%a, %e %b %Y %H:%M:%S +0000 (UTC)");
}

std::string Printable(std::string_view text, char replacement) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // The length a well-formed UTF-8 sequence starting here has, or 0.
    size_t length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    }
    if (valid && length >= 3) {
      auto second = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xe0 && second < 0xa0) && !(c == 0xed && second > 0x9f) && !(c == 0xf0 && second < 0x90) &&
              !(c == 0xf4 && second > 0x8f);  // overlong, surrogates, beyond U+10FFFF
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += replacement;
      ++i;
    }
  }
  return out;
}

std::string UnescapeC(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    switch (c) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      default:
        if (c >= '0' && c <= '7') {
          int value = 0;
          int digits = 0;
          while (digits < 3 && i < text.size() && text[i] >= '0' && text[i] <= '7') {
            value = value * 8 + (text[i++] - '0');
            ++digits;
          }
          --i;
          out += static_cast<char>(value);
        } else {
          out += c;  // \\ and any other escaped character
        }
    }
  }
  return out;
}

}  // namespace postern
