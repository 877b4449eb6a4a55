// queued_message_editor.h: a message at the end of data, as the milters
// see and edit it (milter_types.h MessageEditor), before it is stored: its
// head (the MTA's Received: header first, which milters are not shown,
// then the header section) is edited as a list of header fields and
// written back by Finish(); its body stays in its spool (body_spool.h)
// unless a milter replaces it, then a new spool holds the new body.
// Edits follow Postfix's cleanup(8): a header changed that is not there is
// added, an insert counts the Received: header, a recipient is deleted by
// its address as the client gave it. ESMTP arguments of a sender change or
// an added recipient are ignored with a warning, as Postfix 2.6 does.
// Thread-compatible.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/milter/milter_types.h"
#include "runtime/queue/body_spool.h"
#include "runtime/queue/queue_file.h"

namespace postern::milter {

class QueuedMessageEditor : public MessageEditor {
 public:
  using NewBody = std::function<std::unique_ptr<queue::BodySpool>()>;
  // `message.content` is the head; `body` the spool of the body, from the
  // blank line after the header section on.
  QueuedMessageEditor(queue::QueuedMessage& message, std::unique_ptr<queue::BodySpool>& body, NewBody new_body,
                      std::function<void(const std::string&)> warn);

  // Writes the edited head back into the message's content.
  void Finish();
  bool changed() const { return changed_; }

  std::vector<std::pair<std::string, std::string>> Headers() const override;
  uint64_t body_size() const override;
  Result<std::string> ReadBody(uint64_t offset, size_t n) const override;
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
  struct Field {
    std::string name;
    std::string raw;    // the lines, each ending in CRLF
    bool ours = false;  // the MTA's Received: header, which milters are not shown
  };
  static std::string Raw(const std::string& name, const std::string& space, const std::string& value);
  uint64_t body_start() const;  // past the blank line that opens the spool

  queue::QueuedMessage& message_;
  std::unique_ptr<queue::BodySpool>& body_;
  NewBody new_body_;
  std::function<void(const std::string&)> warn_;
  std::vector<Field> fields_;
  bool changed_ = false;
  bool replacing_ = false;     // a new body is being written
  char last_of_new_body_ = 0;  // its last byte so far (a CR before a LF in the next piece)
};

}  // namespace postern::milter
