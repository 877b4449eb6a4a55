// milter_header_checks.cc: see milter_header_checks.h.
#include "runtime/milter/milter_header_checks.h"

#include "mail/enhanced_status.h"
#include "util/strings.h"

namespace postern::milter {

std::optional<HeaderCheckingEditor::Header> HeaderCheckingEditor::Check(const std::string& name,
                                                                        const std::string& space,
                                                                        const std::string& value) {
  Header header{name, space, value};
  if (!inspecting_) return header;
  std::string line = name + ":" + space + value;
  Result<std::optional<std::string>> answer = lookup_(line);
  if (!answer.ok()) {
    // As cleanup(8): a lookup error defers the message.
    verdict_.logged.push_back({"warning", line, "milter_header_checks lookup error: " + answer.status().message()});
    verdict_.reject = "451 4.3.0 Error: queue file write error";
    inspecting_ = false;
    return header;
  }
  if (!*answer) return header;
  std::string_view v = Trim(**answer);
  size_t end = v.find_first_of(" \t");
  std::string word = ToUpper(v.substr(0, end));
  std::string text(end == std::string_view::npos ? std::string_view() : Trim(v.substr(end)));
  auto log = [&](const char* action, std::string detail) {
    verdict_.logged.push_back({action, line, std::move(detail)});
  };
  // receive_override_options = no_header_body_checks: cleanup(8) still
  // drops, replaces and logs, but takes no action on the message.
  bool acts = message_actions_;
  if (!acts && (word == "REJECT" || word == "DISCARD" || word == "HOLD" || word == "FILTER" || word == "REDIRECT")) {
    return header;
  }
  if (word == "REJECT") {
    // The text's own 4.x.x or 5.x.x code, else 5.7.1.
    mail::StatusAndText split = mail::SplitEnhancedStatus(text);
    std::string status = split.status.empty() || split.status[0] == '2' ? "5.7.1" : std::string(split.status);
    std::string reason = split.status.empty() ? text : std::string(split.text);
    if (reason.empty()) reason = "message content rejected";
    verdict_.reject = (status[0] == '4' ? "451 " : "550 ") + status + " " + reason;
    log("reject", status + " " + reason);
    inspecting_ = false;
  } else if (word == "DISCARD") {
    verdict_.discard = true;
    log("discard", text);
    inspecting_ = false;
  } else if (word == "HOLD") {
    if (!verdict_.hold) log("hold", text);
    verdict_.hold = true;
  } else if (word == "FILTER") {
    if (text.find(':') == std::string::npos) {
      log("warning", "bad FILTER command \"" + text + "\" in milter_header_checks -- need transport:destination");
    } else {
      verdict_.filter = text;
      log("filter", text);
    }
  } else if (word == "REDIRECT") {
    if (text.find('@') == std::string::npos) {
      log("warning", "bad REDIRECT target \"" + text + "\" in milter_header_checks -- need user@domain");
    } else {
      verdict_.redirect = text;
      log("redirect", text);
      inspecting_ = false;
    }
  } else if (word == "WARN" || word == "INFO") {
    log(word == "WARN" ? "warning" : "info", text);
  } else if (word == "IGNORE") {
    return std::nullopt;
  } else if (word == "REPLACE") {
    if (text.empty() || text.find(':') == std::string::npos) {
      log("warning", "bad REPLACE text \"" + text + "\" in milter_header_checks -- need a header");
      return header;
    }
    size_t colon = text.find(':');
    std::string rest = text.substr(colon + 1);
    size_t spaces = rest.find_first_not_of(" \t");
    spaces = spaces == std::string::npos ? rest.size() : spaces;
    log("replace", text);
    return Header{text.substr(0, colon), rest.substr(0, spaces), rest.substr(spaces)};
  } else if (word == "PREPEND") {
    log("warning", "PREPEND is not implemented for milter_header_checks (as in Postfix)");
  } else if (word != "DUNNO" && word != "OK") {
    log("warning", "unknown command in milter_header_checks: " + std::string(v));
  }
  return header;
}

void HeaderCheckingEditor::AddHeader(const std::string& name, const std::string& space, const std::string& value) {
  if (stopped()) return;
  if (std::optional<Header> h = Check(name, space, value)) inner_.AddHeader(h->name, h->space, h->value);
}

void HeaderCheckingEditor::InsertHeader(size_t position, const std::string& name, const std::string& space,
                                        const std::string& value) {
  if (stopped()) return;
  if (std::optional<Header> h = Check(name, space, value)) inner_.InsertHeader(position, h->name, h->space, h->value);
}

void HeaderCheckingEditor::ChangeHeader(size_t index, const std::string& name, const std::string& space,
                                        const std::string& value) {
  if (stopped()) return;
  if (value.empty()) {  // a deletion: nothing to inspect
    inner_.ChangeHeader(index, name, space, value);
    return;
  }
  std::optional<Header> h = Check(name, space, value);
  if (!h) return;  // IGNORE: the header stays as it was
  if (EqualsIgnoreCase(h->name, name)) {
    inner_.ChangeHeader(index, name, h->space, h->value);
    return;
  }
  // REPLACE with another name: the new header takes the old one's place
  // (or is added, as a change of a header that is not there adds it).
  std::vector<std::pair<std::string, std::string>> headers = inner_.Headers();
  size_t seen = 0;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (!EqualsIgnoreCase(headers[i].first, name) || ++seen != index) continue;
    inner_.ChangeHeader(index, name, space, "");
    inner_.InsertHeader(i + 1, h->name, h->space, h->value);  // + 1: the MTA's Received: comes first
    return;
  }
  inner_.AddHeader(h->name, h->space, h->value);
}

void HeaderCheckingEditor::ChangeSender(const std::string& address, const std::string& esmtp_args) {
  if (!stopped()) inner_.ChangeSender(address, esmtp_args);
}

void HeaderCheckingEditor::AddRecipient(const std::string& address, const std::string& esmtp_args) {
  if (!stopped()) inner_.AddRecipient(address, esmtp_args);
}

void HeaderCheckingEditor::DeleteRecipient(const std::string& address) {
  if (!stopped()) inner_.DeleteRecipient(address);
}

// A new body is passed on whole even after a REJECT or DISCARD, so that
// the real editor's spool is never left half written.
void HeaderCheckingEditor::AppendBody(std::string_view piece) { inner_.AppendBody(piece); }

Status HeaderCheckingEditor::EndBody() { return inner_.EndBody(); }

}  // namespace postern::milter
