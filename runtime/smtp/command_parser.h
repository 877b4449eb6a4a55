// command_parser.h: SMTP command lines, from bytes to commands. Pure, like
// the data decoder: the session state machine decides what a command means
// now, and the connection only moves bytes.
//
// LineReader cuts the input into command lines (the same bare <LF> rule as
// DATA: normalised or refused, per smtpd_forbid_bare_newline; bare <CR> is
// part of the line) with a length limit. ParseCommand splits a line into
// verb, path and ESMTP parameters (RFC 5321 4.1.1, RFC 1869), case-
// insensitively, tolerating what Postfix tolerates (a space after "FROM:",
// an address without <>), and says what is wrong otherwise.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/smtp/data_decoder.h"

namespace postern::smtp {

class LineReader {
 public:
  explicit LineReader(BareNewline bare_newline = BareNewline::kNormalize, size_t limit = 2048)
      : bare_newline_(bare_newline), limit_(limit) {}

  void Feed(std::string_view bytes) { buffer_.append(bytes); }

  struct Line {
    std::string text;       // without the line ending
    bool crlf = true;       // ended in <CR><LF> (not a bare <LF>)
    bool too_long = false;  // cut at the limit (the rest up to the line end is discarded)
  };
  // The next complete line, or nullopt when more bytes are needed. After a
  // bare <LF> in kReject mode, error() is set and nothing more is returned.
  std::optional<Line> Next();
  bool error() const { return error_; }
  // Bytes received but not yet returned as a line (what a pipelining client
  // sent ahead; discarded after STARTTLS).
  std::string_view pending() const { return buffer_; }
  void Discard() { buffer_.clear(); }
  // Bytes past the last returned line, handed to the data decoder after DATA.
  std::string TakePending() {
    std::string out;
    out.swap(buffer_);
    return out;
  }

 private:
  BareNewline bare_newline_;
  size_t limit_;
  std::string buffer_;
  bool discarding_ = false;  // skipping the rest of an over-long line
  bool error_ = false;
};

struct Command {
  enum class Verb {
    kEhlo,
    kHelo,
    kMail,
    kRcpt,
    kData,
    kBdat,
    kRset,
    kNoop,
    kQuit,
    kVrfy,
    kExpn,
    kHelp,
    kStarttls,
    kAuth,
    kXclient,
    kEtrn,
    kUnknown,
  };
  Verb verb = Verb::kUnknown;
  std::string name;      // the verb as sent, upper-cased
  std::string argument;  // everything after the verb, trimmed
  // MAIL/RCPT: the path between < and > (may be empty: the null sender),
  // and the ESMTP parameters (name upper-cased, value as sent).
  std::string path;
  bool path_in_brackets = false;  // <path>, as strict_rfc821_envelopes requires
  std::vector<std::pair<std::string, std::string>> parameters;
  // Why the syntax is wrong ("" when it is not); the session turns it into
  // a 501 reply.
  std::string error;
};

Command ParseCommand(std::string_view line);

}  // namespace postern::smtp
