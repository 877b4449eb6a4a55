// enhanced_status.cc: see enhanced_status.h.
#include "mail/enhanced_status.h"

#include "util/strings.h"

namespace postern::mail {
namespace {

// One to three digits.
bool IsNumberPart(std::string_view s) {
  if (s.empty() || s.size() > 3) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

}  // namespace

bool IsEnhancedStatus(std::string_view word) {
  if (word.size() < 5 || (word[0] != '2' && word[0] != '4' && word[0] != '5') || word[1] != '.') return false;
  std::string_view rest = word.substr(2);
  size_t dot = rest.find('.');
  return dot != std::string_view::npos && IsNumberPart(rest.substr(0, dot)) && IsNumberPart(rest.substr(dot + 1));
}

StatusAndText SplitEnhancedStatus(std::string_view text) {
  size_t end = text.find(' ');
  std::string_view word = text.substr(0, end);
  if (!IsEnhancedStatus(word)) return {{}, text};
  std::string_view rest = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return {word, rest};
}

std::string DefaultEnhancedStatus(int code) {
  switch (code / 100) {
    case 2:
      return "2.0.0";
    case 4:
      return "4.0.0";
    case 5:
      return "5.0.0";
    default:
      return "";
  }
}

std::string EnhancedStatusOfReply(int code, std::string_view reply_text) {
  // "550 5.1.1 text" or "550-5.1.1 text": the word after the code.
  std::string number = std::to_string(code);
  if (reply_text.starts_with(number) && reply_text.size() > number.size() &&
      (reply_text[number.size()] == ' ' || reply_text[number.size()] == '-')) {
    StatusAndText split = SplitEnhancedStatus(reply_text.substr(number.size() + 1));
    if (!split.status.empty() && split.status[0] == number[0]) return std::string(split.status);
  }
  return DefaultEnhancedStatus(code);
}

std::string FixStatusForReplyClass(std::string_view status, std::string_view reply_class) {
  if (status.size() < 5 || !IsDigit(status[0]) || status.substr(1, 3) != ".1.") return std::string(status);
  // By the detail digit: the sender's status, the recipient's.
  struct Counterparts {
    std::string_view detail, sender, recipient;
  };
  static constexpr Counterparts kMap[] = {
      {"1", "4.1.7", "4.1.1"}, {"2", "4.1.8", "4.1.2"}, {"3", "4.1.7", "4.1.3"}, {"4", "4.1.7", "4.1.4"},
      {"5", "4.1.0", "4.1.5"}, {"6", "4.1.7", "4.1.6"}, {"7", "4.1.7", "4.1.3"}, {"8", "4.1.8", "4.1.2"},
  };
  bool sender = reply_class == "Sender address";
  if (!sender && reply_class != "Recipient address") return "4.0.0";
  for (const Counterparts& c : kMap) {
    if (status.substr(4) == c.detail) return std::string(sender ? c.sender : c.recipient);
  }
  return "4.1.0";
}

}  // namespace postern::mail
