// data_decoder.cc: see data_decoder.h.
#include "runtime/smtp/data_decoder.h"

namespace postern::smtp {

void DataDecoder::EndLine(bool crlf) {
  if (!crlf && options_.bare_newline == BareNewline::kReject) {
    state_ = State::kBareNewlineError;
    return;
  }
  // The terminator: a lone "." line ending in CRLF after a CRLF line.
  if (crlf && previous_crlf_ && !line_split_ && line_ == ".") {
    state_ = State::kDone;
    return;
  }
  std::string text;
  text.swap(line_);
  if (!line_split_ && !text.empty() && text.front() == '.') text.erase(0, 1);  // dot-unstuffing
  size_ += text.size() + 2;
  lines_.push_back(Line{std::move(text), false});
  previous_crlf_ = crlf;
  line_split_ = false;
}

size_t DataDecoder::Feed(std::string_view bytes) {
  size_t used = 0;
  while (used < bytes.size() && state_ == State::kContent) {
    char c = bytes[used++];
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        EndLine(true);
        continue;
      }
      line_ += '\r';  // a bare CR is content
    }
    if (c == '\r') {
      pending_cr_ = true;
      continue;
    }
    if (c == '\n') {
      EndLine(false);
      continue;
    }
    line_ += c;
    if (line_.size() >= options_.line_length_limit) {
      // Flush a piece of an over-long line; it cannot be a terminator.
      bool first_piece = !line_split_;
      std::string text;
      text.swap(line_);
      if (first_piece && text.front() == '.') text.erase(0, 1);
      size_ += text.size();
      lines_.push_back(Line{std::move(text), true});
      line_split_ = true;
    }
  }
  return used;
}

std::vector<DataDecoder::Line> DataDecoder::TakeLines() {
  std::vector<Line> out;
  out.swap(lines_);
  return out;
}

}  // namespace postern::smtp
