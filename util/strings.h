// strings.h: small locale-independent string helpers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

// ASCII-only classification: configuration parsing must not depend on the
// locale.
inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
inline char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
std::string ToUpper(std::string_view s);
// A whole decimal integer that fits in 64 bits, or nullopt.
std::optional<int64_t> ParseDecimal(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);

// Collapses every run of white space to one space and trims the ends, as
// postconf prints values.
std::string CollapseSpace(std::string_view s);

// C escapes undone as Postfix's unescape(3) does: \a \b \f \n \r \t \v,
// up to three octal digits, and a backslash before any other character
// (\\ included) stands for that character.
std::string UnescapeC(std::string_view text);

// Splits on any of the characters in `separators`, dropping empty pieces.
std::vector<std::string> SplitAny(std::string_view s, std::string_view separators);
// Splits on `separator`, keeping empty pieces ("a::b" gives 3).
std::vector<std::string> SplitFields(std::string_view s, char separator);

std::string Join(const std::vector<std::string>& parts, std::string_view separator);

// `text` safe to put in a header or a log line, as Postfix's printable():
// printable ASCII and well-formed UTF-8 stay, every other byte (CR, LF,
// other controls, DEL, stray or overlong UTF-8 bytes) becomes `replacement`.
std::string Printable(std::string_view text, char replacement = '?');

// Parses a non-negative decimal integer that fits in int64; nothing else
// (no sign, no space, no suffix) is accepted.
bool ParseDecimal(std::string_view s, long long* value);

// A time value as Postfix writes it ("300s", "5m", "2h", "1d", "1w"), in
// seconds; a bare number is in `default_unit` (one of s m h d w). nullopt
// for anything else, or beyond what an int holds (as Postfix).
std::optional<long long> ParseTime(std::string_view value, char default_unit);

// A date as RFC 5322 headers write it, in UTC:
// "Mon, 21 Sep 2026 14:13:20 +0000 (UTC)", the day padded with a space as
// Postfix writes it ("Mon,  7 Dec 2026 ...").
std::string FormatRfc5322Date(int64_t seconds_since_epoch);

// `seconds_since_epoch` through strftime(3) `format`, in UTC or local time.
std::string FormatTime(int64_t seconds_since_epoch, const char* format, bool utc = true);

}  // namespace postern
