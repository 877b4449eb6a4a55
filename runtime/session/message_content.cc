// message_content.cc: see message_content.h.
#include "runtime/session/message_content.h"

namespace postern::session {

MessageContent::MessageContent(std::unique_ptr<queue::BodySpool> body, Limits limits)
    : body_(std::move(body)), limits_(limits) {}

MessageContent::Limits MessageContent::LimitsOf(const SessionConfig& config) {
  Limits limits;
  limits.body_checks = config.body_checks;
  limits.body_checks_size = config.body_checks_size_limit;
  limits.line_length = config.line_length_limit;
  return limits;
}

void MessageContent::Append(std::string_view content) {
  size_ += content.size();
  if (header_too_big_) return;  // refused at the end: nothing more is kept
  if (in_body_) return Body(content);
  header_.append(content);
  ScanHeaders();
  if (!in_body_ && header_.size() > limits_.header_section) {
    header_too_big_ = true;
    header_.clear();
    header_.shrink_to_fit();
  }
}

// Classifies the header section's lines as their bytes arrive: a line is a
// header when a colon follows a non-empty name of printable characters
// other than space, or a continuation (it starts with a space or a tab
// after a header). The first other line (the blank line too) starts the
// body, at once: a long line of text without headers is not held.
void MessageContent::ScanHeaders() {
  while (!in_body_ && searched_ < header_.size()) {
    unsigned char c = static_cast<unsigned char>(header_[searched_]);
    size_t column = searched_ - scanned_;
    if (c == '\r') {
      if (searched_ + 1 == header_.size()) return;  // is it the line's end? wait for the next byte
      if (header_[searched_ + 1] == '\n') {
        ++searched_;
        continue;
      }
    }
    if (c == '\n') {
      if (line_ != LineKind::kHeader) return StartBody(scanned_);  // blank, or no colon
      scanned_ = ++searched_;
      line_ = LineKind::kUndecided;
      continue;
    }
    if (line_ == LineKind::kUndecided) {
      if (column == 0 && (c == ' ' || c == '\t') && scanned_ > 0) {
        line_ = LineKind::kHeader;  // a continuation
      } else if (c == ':') {
        if (column == 0) return StartBody(scanned_);
        line_ = LineKind::kHeader;
      } else if (c <= 32 || c >= 127) {
        return StartBody(scanned_);
      }
    }
    ++searched_;
  }
}

void MessageContent::Finish() {
  if (header_too_big_ || in_body_) {
    if (!piece_.empty()) EmitPiece();
    return;
  }
  // Content that ends inside the header section (it ends with a line
  // break unless it is empty): a last line without one counts as a header
  // when it has the form of one.
  if (scanned_ < header_.size() && line_ != LineKind::kHeader) {
    StartBody(scanned_);
    if (!piece_.empty()) EmitPiece();
  }
}

void MessageContent::StartBody(size_t at) {
  in_body_ = true;
  std::string rest = header_.substr(at);
  header_.resize(at);
  skip_ = rest.starts_with("\r\n") ? 2 : 0;  // the blank line is not body text to body_checks
  Body(rest);
}

void MessageContent::Body(std::string_view bytes) {
  if (bytes.empty()) return;
  if (body_) body_->Append(bytes);
  if (limits_.body_checks) CollectBodyLines(bytes);
}

void MessageContent::CollectBodyLines(std::string_view bytes) {
  const uint64_t limit = limits_.body_checks_size;
  const size_t length = std::max<size_t>(limits_.line_length, 1);
  while (!bytes.empty()) {
    if (skip_ > 0) {
      size_t n = std::min(skip_, bytes.size());
      bytes.remove_prefix(n);
      skip_ -= n;
      continue;
    }
    if (piece_.empty() && limit != 0 && body_offset_ >= limit) return;  // nothing further is inspected
    size_t newline = bytes.find('\n');
    size_t take = newline == std::string_view::npos ? bytes.size() : newline;
    if (piece_.empty()) piece_offset_ = body_offset_;
    piece_.append(bytes.substr(0, take));
    body_offset_ += take;
    // A long line is inspected in pieces of line_length_limit bytes (the
    // last byte waits: it may be the <CR> of the line's end).
    while (piece_.size() > length) {
      std::string rest = piece_.substr(length);
      piece_.resize(length);
      EmitPiece();
      piece_ = std::move(rest);
      piece_offset_ += length;
      piece_continues_line_ = true;
    }
    if (newline == std::string_view::npos) return;
    bytes.remove_prefix(newline + 1);
    body_offset_ += 1;
    if (!piece_.empty() && piece_.back() == '\r') piece_.pop_back();
    if (!piece_continues_line_ || !piece_.empty()) EmitPiece();
    piece_.clear();
    piece_continues_line_ = false;
  }
}

void MessageContent::EmitPiece() {
  if (limits_.body_checks_size == 0 || piece_offset_ < limits_.body_checks_size) body_lines_.push_back(piece_);
  piece_.clear();
}

}  // namespace postern::session
