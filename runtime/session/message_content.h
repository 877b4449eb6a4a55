// message_content.h: the content of a message as a session receives it,
// split where the policy needs it whole and where it does not.
//
// The header section is kept in memory: at the end of data the policy
// reads every header (header_checks) and may remove or replace some, and
// our Received: header goes before it. Everything from the end of the
// header section on (the blank line, the body) goes to the body spool as
// it comes (body_spool.h), so a large message costs the session little
// memory. For body_checks only the first body_checks_size_limit bytes of
// the body are kept, in pieces of at most line_length_limit bytes: what
// Postfix's cleanup(8) inspects.
//
// The header section ends at the first line that is blank or is not a
// header (a continuation line needs a header before it). A header section
// longer than `header_section` bytes is not kept: header_too_big(), and
// the session refuses the message (Postfix has no such limit; a header
// section that large is no legitimate mail, and skipping its checks would
// let a sender hide headers from them). No I/O of its own (the spool's
// only); thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/queue/body_spool.h"
#include "runtime/session/session_config.h"

namespace postern::session {

inline constexpr size_t kHeaderSectionLimit = 1 << 20;

class MessageContent {
 public:
  struct Limits {
    bool body_checks = false;       // keep body lines for body_checks
    uint64_t body_checks_size = 0;  // body_checks_size_limit (0: the whole body)
    size_t line_length = 2048;      // line_length_limit: body lines are inspected in such pieces
    size_t header_section = kHeaderSectionLimit;
  };

  MessageContent(std::unique_ptr<queue::BodySpool> body, Limits limits);
  // The limits a service's settings give (body_checks,
  // body_checks_size_limit, line_length_limit).
  static Limits LimitsOf(const SessionConfig& config);

  // Content bytes, lines ending in <CR><LF> (dot-unstuffed, normalised).
  void Append(std::string_view content);
  // No more content; a header section with no body after it ends here.
  void Finish();

  uint64_t size() const { return size_; }  // every byte appended
  bool header_too_big() const { return header_too_big_; }
  // After Finish(): the header section as received (ends with <CR><LF>).
  const std::string& header_section() const { return header_; }
  // The body lines (or pieces of long ones) body_checks see.
  std::vector<std::string> TakeBodyCheckLines() { return std::move(body_lines_); }
  std::unique_ptr<queue::BodySpool> TakeBody() { return std::move(body_); }

 private:
  void ScanHeaders();
  // Starts the body at header_[at]; what follows is body.
  void StartBody(size_t at);
  void Body(std::string_view bytes);
  void CollectBodyLines(std::string_view bytes);
  void EmitPiece();

  std::unique_ptr<queue::BodySpool> body_;
  Limits limits_;
  uint64_t size_ = 0;
  // The header section so far; scanned_: where the line being classified
  // starts; searched_: how far it was read; line_: what it is so far.
  enum class LineKind { kUndecided, kHeader };
  std::string header_;
  size_t scanned_ = 0;
  size_t searched_ = 0;
  LineKind line_ = LineKind::kUndecided;
  bool in_body_ = false;
  bool header_too_big_ = false;
  // body_checks: the bytes of the blank line still to skip, the body's
  // offset, the piece being collected and where it started.
  size_t skip_ = 0;
  uint64_t body_offset_ = 0;
  std::string piece_;
  uint64_t piece_offset_ = 0;
  bool piece_continues_line_ = false;  // an earlier piece of this line was emitted
  std::vector<std::string> body_lines_;
};

}  // namespace postern::session
