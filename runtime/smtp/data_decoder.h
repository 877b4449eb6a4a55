// data_decoder.h: the message content after DATA, from the bytes a client
// sends to content lines, with the one end-of-data sequence RFC 5321
// allows: <CR><LF>.<CR><LF>. Pure: bytes in, lines and events out; the
// connection code only moves bytes (STYLE.md principle 8).
//
// SMTP smuggling (CVE-2023-51764 and relatives) hides a second message
// behind a non-standard terminator that one server honours and another
// does not. Here nothing but a "." line that ends in <CR><LF> and follows a
// line ending in <CR><LF> (or the DATA command itself) ends a message:
// "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n" and friends are content.
//
// Bare <LF> follows Postfix's smtpd_forbid_bare_newline: kNormalize treats
// a line ending in bare <LF> as a line (stored with <CR><LF>) that can never
// precede the terminator; kReject stops with an error (521 5.5.2); bare <CR>
// is always content. Dot-stuffing is undone. Thread-compatible. Lines are
// found with memchr, not byte by byte: DATA is the bulk of what a mail
// server reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern::smtp {

enum class BareNewline { kNormalize, kReject };

struct DataOptions {
  BareNewline bare_newline = BareNewline::kNormalize;
  size_t line_length_limit = 2048;      // longer lines are split into pieces (line_length_limit)
  uint64_t message_size_limit = 0;      // 0: no limit (message_size_limit)
  bool data_line_ended_in_crlf = true;  // the DATA command line itself ended in <CR><LF>
};

class DataDecoder {
 public:
  enum class State { kContent, kDone, kBareNewlineError };

  explicit DataDecoder(DataOptions options = {}) : options_(options), previous_crlf_(options.data_line_ended_in_crlf) {}

  // Consumes bytes and appends what they decode to to `*content`: lines
  // dot-unstuffed and ending in <CR><LF> (bare <LF> endings normalised),
  // over-long lines joined back from their pieces. Once the message is
  // over message_size_limit nothing more is appended (size() goes on
  // counting). Returns how many bytes were used: it stops right after the
  // terminator (the rest belongs to the next command: pipelining) or at an
  // error.
  size_t Feed(std::string_view bytes, std::string* content);

  State state() const { return state_; }
  uint64_t size() const { return size_; }  // content bytes, with <CR><LF> line endings
  bool too_big() const { return options_.message_size_limit != 0 && size_ > options_.message_size_limit; }

 private:
  void EndLine(bool crlf, std::string* content);
  void FlushPiece(std::string* content);
  void Append(std::string_view text, std::string* content);

  DataOptions options_;
  State state_ = State::kContent;
  // The current line so far (at most line_length_limit bytes; longer lines
  // go out in pieces, which can never be a terminator).
  std::string line_;
  bool previous_crlf_;       // the previous line (at first: DATA's own) ended in CRLF
  bool line_split_ = false;  // the current line continues a piece already out
  uint64_t size_ = 0;
};

}  // namespace postern::smtp
