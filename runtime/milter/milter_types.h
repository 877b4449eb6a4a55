// milter_types.h: what the SMTP session and the milter clients exchange
// (MILTER_README): the settings of one milter, the macro values of a
// stage, the answer of the milters to an event, and the message they may
// edit at its end.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/milter/milter_protocol.h"
#include "util/status.h"

namespace postern::milter {

// milter_default_action: what a milter that cannot be reached, times out
// or breaks the protocol amounts to.
enum class DefaultAction { kAccept, kReject, kTempfail, kQuarantine };

struct MilterSettings {
  std::string endpoint;  // "inet:host:port" or "unix:/path"
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{30};
  std::chrono::seconds content_timeout{300};
  DefaultAction default_action = DefaultAction::kTempfail;
  int version = 6;  // milter_protocol
  bool no_header_reply = false;
  // milter_*_macros, by MacroStage: the names as listed ("i", "{auth_type}").
  std::array<std::vector<std::string>, kMacroStages> macros;
  // milter_unknown_command_macros (no MacroStage of its own).
  std::vector<std::string> unknown_command_macros;
};

// Macro values known at a stage, by name without braces ("j",
// "daemon_name"). A macro without a value is not sent.
using MacroValues = std::map<std::string, std::string, std::less<>>;

// The answer of the milters to one event, as Postfix's milter client has
// it: nothing (go on), an SMTP reply ("550 5.7.1 Command rejected", maybe
// several lines joined with CRLF), hold (quarantine), discard, or 421 and
// disconnect.
struct Response {
  enum class Kind { kReply, kHold, kDiscard, kShutdown };
  Kind kind = Kind::kReply;
  std::string reply;  // kReply
  bool operator==(const Response&) const = default;
};
using Outcome = std::optional<Response>;

// The client of a connection, for the connect event.
struct ClientInfo {
  std::string name;     // verified name, "unknown" when there is none
  std::string address;  // numeric
  uint16_t port = 0;
  bool ipv6 = false;
};

// The event a session asks its milters about (session.h, Next::kMilter).
struct MilterEvent {
  enum class Kind { kConnect, kHelo, kMail, kRcpt, kData, kUnknown, kMessage };
  Kind kind = Kind::kConnect;
  // Before it: the transaction in progress is over (SMFIC_ABORT).
  bool abort_first = false;
  ClientInfo client;              // kConnect
  std::vector<std::string> args;  // kHelo: the name; kMail, kRcpt: <address> and ESMTP parameters; kUnknown
  MacroValues macros;             // what is known at this stage

  static MilterEvent Of(Kind kind, std::vector<std::string> args = {}) {
    MilterEvent e;
    e.kind = kind;
    e.args = std::move(args);
    return e;
  }
};

// The message at its end, as the milters see and edit it: the header
// section without the MTA's own Received: header (which insert indexes
// count nonetheless, as in Postfix), the body, the envelope.
class MessageEditor {
 public:
  virtual ~MessageEditor() = default;
  // The visible headers: name and value (the text after the colon, its
  // physical lines joined with "\n").
  virtual std::vector<std::pair<std::string, std::string>> Headers() const = 0;
  virtual uint64_t body_size() const = 0;
  // Up to `n` bytes of the body (lines end in CRLF) from `offset`.
  virtual Result<std::string> ReadBody(uint64_t offset, size_t n) const = 0;

  // `value` as the milter sent it ("\n" between lines), after `space`
  // (" ", or "" when the milter keeps leading space itself).
  virtual void AddHeader(const std::string& name, const std::string& space, const std::string& value) = 0;
  // Before the header at `position` (0: the very first) of the message as
  // delivered, the MTA's Received: included.
  virtual void InsertHeader(size_t position, const std::string& name, const std::string& space,
                            const std::string& value) = 0;
  // The `index`th (from 1) visible header named `name`; empty value:
  // delete it. Nothing when there is no such header.
  virtual void ChangeHeader(size_t index, const std::string& name, const std::string& space,
                            const std::string& value) = 0;
  virtual void ChangeSender(const std::string& address, const std::string& esmtp_args) = 0;
  virtual void AddRecipient(const std::string& address, const std::string& esmtp_args) = 0;
  virtual void DeleteRecipient(const std::string& address) = 0;
  // A new body, as the milter sends it in pieces (lines end in LF or
  // CRLF): it replaces the old one from the first piece on, and is stored
  // as it comes, with CRLF line ends. EndBody() says whether it could be
  // stored (a full disk).
  virtual void AppendBody(std::string_view piece) = 0;
  virtual Status EndBody() = 0;
};

}  // namespace postern::milter
