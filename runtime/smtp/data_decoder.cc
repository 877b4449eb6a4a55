// data_decoder.cc: see data_decoder.h.
#include "runtime/smtp/data_decoder.h"

namespace postern::smtp {

void DataDecoder::Append(std::string_view text, std::string* content) {
  size_ += text.size();
  if (!too_big()) content->append(text);
}

void DataDecoder::EndLine(bool crlf, std::string* content) {
  if (!crlf && options_.bare_newline == BareNewline::kReject) {
    state_ = State::kBareNewlineError;
    return;
  }
  // The terminator: a lone "." line ending in CRLF after a CRLF line.
  if (crlf && previous_crlf_ && !line_split_ && line_ == ".") {
    state_ = State::kDone;
    return;
  }
  std::string_view text = line_;
  if (!line_split_ && !text.empty() && text.front() == '.') text.remove_prefix(1);  // dot-unstuffing
  Append(text, content);
  Append("\r\n", content);
  line_.clear();
  previous_crlf_ = crlf;
  line_split_ = false;
}

void DataDecoder::FlushPiece(std::string* content) {
  // A CR at the end stays: with the next byte it may be the line's CRLF.
  bool keep_cr = line_.size() > 1 && line_.back() == '\r';
  std::string_view piece(line_.data(), line_.size() - (keep_cr ? 1 : 0));
  if (!line_split_ && !piece.empty() && piece.front() == '.') piece.remove_prefix(1);
  Append(piece, content);
  line_.clear();
  if (keep_cr) line_.push_back('\r');
  line_split_ = true;
}

size_t DataDecoder::Feed(std::string_view bytes, std::string* content) {
  const size_t limit = options_.line_length_limit > 0 ? options_.line_length_limit : 1;
  size_t used = 0;
  while (used < bytes.size() && state_ == State::kContent) {
    std::string_view rest = bytes.substr(used);
    size_t lf = rest.find('\n');
    size_t take = lf == std::string_view::npos ? rest.size() : lf;
    // The line's length so far, not counting the CR of a CRLF ending: the
    // result must not depend on how the bytes were chunked.
    bool cr_before_lf = lf != std::string_view::npos && take > 0 && rest[take - 1] == '\r';
    size_t length = line_.size() + take - (cr_before_lf ? 1 : 0);
    if (length > limit) {
      // The line is longer than the limit: out goes a piece of it.
      size_t room = limit > line_.size() ? limit - line_.size() : 0;
      line_.append(rest.substr(0, room));
      used += room;
      FlushPiece(content);
      continue;
    }
    line_.append(rest.substr(0, take));
    used += take;
    if (lf == std::string_view::npos) break;
    ++used;  // the LF
    bool crlf = !line_.empty() && line_.back() == '\r';
    if (crlf) line_.pop_back();
    EndLine(crlf, content);
  }
  return used;
}

}  // namespace postern::smtp
