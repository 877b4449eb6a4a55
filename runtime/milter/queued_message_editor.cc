// queued_message_editor.cc: see queued_message_editor.h.
#include "runtime/milter/queued_message_editor.h"

#include <algorithm>

#include "mail/address.h"
#include "util/strings.h"

namespace postern::milter {
namespace {

std::string Unbracketed(const std::string& address) {
  std::string_view a = Trim(address);
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  return mail::InternalForm(a);
}

}  // namespace

QueuedMessageEditor::QueuedMessageEditor(queue::QueuedMessage& message, std::unique_ptr<queue::BodySpool>& body,
                                         NewBody new_body, std::function<void(const std::string&)> warn)
    : message_(message), body_(body), new_body_(std::move(new_body)), warn_(std::move(warn)) {
  std::string_view head = message_.content;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    end = end == std::string_view::npos ? head.size() : end + 2;
    std::string_view line = head.substr(pos, end - pos);
    if ((line.starts_with(' ') || line.starts_with('\t')) && !fields_.empty()) {
      fields_.back().raw += line;
    } else {
      fields_.push_back(Field{std::string(line.substr(0, line.find(':'))), std::string(line), fields_.empty()});
    }
    pos = end;
  }
}

void QueuedMessageEditor::Finish() {
  if (!changed_) return;
  std::string head;
  for (const Field& f : fields_) head += f.raw;
  message_.content = std::move(head);
}

std::string QueuedMessageEditor::Raw(const std::string& name, const std::string& space, const std::string& value) {
  std::string raw = name + ":" + space;
  for (char c : value) {
    if (c == '\n') {
      raw += "\r\n";
    } else if (c != '\r') {
      raw += c;
    }
  }
  return raw + "\r\n";
}

std::vector<std::pair<std::string, std::string>> QueuedMessageEditor::Headers() const {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const Field& f : fields_) {
    if (f.ours) continue;
    std::string value = f.raw.substr(std::min(f.raw.size(), f.name.size() + 1));
    if (value.ends_with("\r\n")) value.resize(value.size() - 2);
    std::string joined;
    for (size_t j = 0; j < value.size(); ++j) {
      if (value[j] == '\r' && j + 1 < value.size() && value[j + 1] == '\n') continue;
      joined += value[j];
    }
    headers.emplace_back(f.name, std::move(joined));
  }
  return headers;
}

uint64_t QueuedMessageEditor::body_start() const {
  Result<std::string> first = body_->Read(0, 2);
  return first.ok() && *first == "\r\n" ? 2 : 0;
}

uint64_t QueuedMessageEditor::body_size() const {
  uint64_t start = body_start();
  return body_->size() > start ? body_->size() - start : 0;
}

Result<std::string> QueuedMessageEditor::ReadBody(uint64_t offset, size_t n) const {
  return body_->Read(body_start() + offset, n);
}

void QueuedMessageEditor::AddHeader(const std::string& name, const std::string& space, const std::string& value) {
  fields_.push_back(Field{name, Raw(name, space, value), false});
  changed_ = true;
}

void QueuedMessageEditor::InsertHeader(size_t position, const std::string& name, const std::string& space,
                                       const std::string& value) {
  position = std::min(position, fields_.size());
  fields_.insert(fields_.begin() + static_cast<std::ptrdiff_t>(position), Field{name, Raw(name, space, value), false});
  changed_ = true;
}

void QueuedMessageEditor::ChangeHeader(size_t index, const std::string& name, const std::string& space,
                                       const std::string& value) {
  size_t seen = 0;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].ours || !EqualsIgnoreCase(fields_[i].name, name) || ++seen != index) continue;
    if (value.empty()) {
      fields_.erase(fields_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      fields_[i] = Field{name, Raw(name, space, value), false};
    }
    changed_ = true;
    return;
  }
  if (!value.empty()) AddHeader(name, space, value);
}

void QueuedMessageEditor::ChangeSender(const std::string& address, const std::string& esmtp_args) {
  if (!esmtp_args.empty()) warn_(message_.id + ": cleanup_chg_from: ignoring ESMTP arguments \"" + esmtp_args + "\"");
  message_.sender = Unbracketed(address);
}

void QueuedMessageEditor::AddRecipient(const std::string& address, const std::string& esmtp_args) {
  if (!esmtp_args.empty()) warn_(message_.id + ": cleanup_add_rcpt: ignoring ESMTP arguments \"" + esmtp_args + "\"");
  queue::QueuedRecipient r;
  r.address = Unbracketed(address);
  r.original = "rfc822;" + r.address;
  message_.recipients.push_back(std::move(r));
}

void QueuedMessageEditor::DeleteRecipient(const std::string& address) {
  std::string target = Unbracketed(address);
  std::erase_if(message_.recipients, [&](const queue::QueuedRecipient& r) {
    std::string_view original = r.original;
    if (original.starts_with("rfc822;")) original.remove_prefix(7);
    return r.address == target || original == target;
  });
}

void QueuedMessageEditor::AppendBody(std::string_view piece) {
  if (!replacing_) {
    body_.reset();  // its file, under the name the new one takes
    body_ = new_body_();
    body_->Append("\r\n");  // the blank line after the header section
    replacing_ = true;
    last_of_new_body_ = '\n';
  }
  // Every LF without its CR gets one (Postfix's cleanup stores lines).
  std::string out;
  out.reserve(piece.size() + piece.size() / 32 + 2);
  for (char c : piece) {
    if (c == '\n' && last_of_new_body_ != '\r') out += '\r';
    out += c;
    last_of_new_body_ = c;
  }
  body_->Append(out);
}

Status QueuedMessageEditor::EndBody() {
  if (!replacing_) return Status::Ok();
  if (last_of_new_body_ != '\n') body_->Append("\r\n");  // a last line without its end
  replacing_ = false;
  if (Result<std::string> check = body_->Read(0, 0); !check.ok()) return check.status();
  return Status::Ok();
}

}  // namespace postern::milter
