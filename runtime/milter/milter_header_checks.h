// milter_header_checks.h: Postfix's milter_header_checks: header_checks(5)
// on each header a milter adds, inserts or changes, before the edit is
// made, as cleanup(8) applies them. A MessageEditor that sits in front of
// the real one: IGNORE drops an added header and leaves a changed one as it
// was, REPLACE puts its text in the header's place, REJECT, DISCARD, HOLD, FILTER, REDIRECT, WARN and INFO
// are recorded for the session to apply (PREPEND is not implemented by
// Postfix either, and is logged as such). After a REJECT, DISCARD or
// REDIRECT no more headers are inspected, and after a REJECT or DISCARD
// no more header, sender or recipient edits are made. Thread-compatible.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/milter/milter_types.h"

namespace postern::milter {

struct HeaderCheckVerdict {
  std::optional<std::string> reject;  // the reply: "550 5.7.1 text", or "451 4.x.x text" for a 4.x.x code
  bool discard = false;
  bool hold = false;
  std::string filter;    // FILTER transport:nexthop (the last one)
  std::string redirect;  // REDIRECT user@domain
  // What to log, as cleanup(8) logs each action: the action ("reject",
  // "hold", "warning", ...), the header line and the action's text.
  struct Logged {
    std::string action, header, text;
  };
  std::vector<Logged> logged;
};

// A header line's table answer ("REJECT text"), or nullopt when no table
// matches; an error when a table cannot be consulted.
using HeaderLookup = std::function<Result<std::optional<std::string>>(std::string_view header_line)>;

class HeaderCheckingEditor : public MessageEditor {
 public:
  // `message_actions`: false under receive_override_options =
  // no_header_body_checks, where only IGNORE, REPLACE, WARN and INFO act.
  HeaderCheckingEditor(MessageEditor& inner, HeaderLookup lookup, bool message_actions = true)
      : inner_(inner), lookup_(std::move(lookup)), message_actions_(message_actions) {}

  const HeaderCheckVerdict& verdict() const { return verdict_; }

  std::vector<std::pair<std::string, std::string>> Headers() const override { return inner_.Headers(); }
  uint64_t body_size() const override { return inner_.body_size(); }
  Result<std::string> ReadBody(uint64_t offset, size_t n) const override { return inner_.ReadBody(offset, n); }
  void AddHeader(const std::string& name, const std::string& space, const std::string& value) override;
  void InsertHeader(size_t position, const std::string& name, const std::string& space,
                    const std::string& value) override;
  void ChangeHeader(size_t index, const std::string& name, const std::string& space, const std::string& value) override;
  void ChangeSender(const std::string& address, const std::string& esmtp_args) override;
  void AddRecipient(const std::string& address, const std::string& esmtp_args) override;
  void DeleteRecipient(const std::string& address) override;
  void AppendBody(std::string_view piece) override;
  Status EndBody() override;

 private:
  // A header as it is to be written: name, space and value, or nothing
  // (dropped).
  struct Header {
    std::string name, space, value;
  };
  std::optional<Header> Check(const std::string& name, const std::string& space, const std::string& value);
  bool stopped() const { return verdict_.reject || verdict_.discard; }

  MessageEditor& inner_;
  HeaderLookup lookup_;
  HeaderCheckVerdict verdict_;
  bool message_actions_;
  bool inspecting_ = true;  // until a REJECT, DISCARD or REDIRECT
};

}  // namespace postern::milter
