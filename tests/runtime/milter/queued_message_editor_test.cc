// queued_message_editor_test.cc: a milter's edits of a message before it
// is stored, as Postfix's cleanup(8) makes them: the MTA's Received: header
// hidden but counted by inserts, changes by name and occurrence (a missing
// one added, an empty value deleting), recipients by their address, a new
// body in a new spool.
#include "runtime/milter/queued_message_editor.h"

#include <gtest/gtest.h>

namespace postern::milter {
namespace {

class QueuedMessageEditorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    message_.id = "ID1";
    message_.sender = "a@example.org";
    message_.content =
        "Received: from client (client [192.0.2.1])\r\n\tby mx (Postern) id ID1\r\n"
        "Subject: hello\r\nX-Multi: one\r\n\ttwo\r\nReceived: from elsewhere\r\nsubject: again\r\n";
    for (const char* r : {"fred@example.com", "jean@example.com"}) {
      queue::QueuedRecipient q;
      q.address = r;
      q.original = std::string("rfc822;") + r;
      message_.recipients.push_back(q);
    }
    body_ = Spool();
    body_->Append("\r\nBody line.\r\n");
  }
  static std::unique_ptr<queue::BodySpool> Spool() {
    return std::make_unique<queue::BodySpool>("", "ID1", 0, queue::kQueueFileBodyOffset);
  }
  QueuedMessageEditor Editor() {
    return QueuedMessageEditor(message_, body_, Spool, [this](const std::string& w) { warnings_.push_back(w); });
  }

  queue::QueuedMessage message_;
  std::unique_ptr<queue::BodySpool> body_;
  std::vector<std::string> warnings_;
};

TEST_F(QueuedMessageEditorTest, TheMilterSeesTheHeadersAfterOurReceivedAndTheBodyAfterTheBlankLine) {
  QueuedMessageEditor editor = Editor();
  auto headers = editor.Headers();
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[0], std::make_pair(std::string("Subject"), std::string(" hello")));
  EXPECT_EQ(headers[1], std::make_pair(std::string("X-Multi"), std::string(" one\n\ttwo")));
  EXPECT_EQ(headers[2].first, "Received");
  EXPECT_EQ(editor.body_size(), 12u);
  EXPECT_EQ(*editor.ReadBody(0, 100), "Body line.\r\n");
  EXPECT_EQ(*editor.ReadBody(5, 3), "lin");
}

TEST_F(QueuedMessageEditorTest, HeaderEdits) {
  QueuedMessageEditor editor = Editor();
  editor.InsertHeader(0, "DKIM-Signature", " ", "v=1;\n\tb=x");
  editor.ChangeHeader(2, "Subject", " ", "changed");  // the second Subject: "subject: again"
  editor.ChangeHeader(1, "Received", " ", "");        // the client's Received:, not ours
  editor.ChangeHeader(1, "X-Absent", " ", "added");
  editor.ChangeHeader(3, "Subject", " ", "");  // no third one: nothing
  editor.AddHeader("X-Last", "", "value");
  editor.Finish();
  EXPECT_EQ(message_.content,
            "DKIM-Signature: v=1;\r\n\tb=x\r\n"
            "Received: from client (client [192.0.2.1])\r\n\tby mx (Postern) id ID1\r\n"
            "Subject: hello\r\nX-Multi: one\r\n\ttwo\r\nSubject: changed\r\nX-Absent: added\r\nX-Last:value\r\n");
}

TEST_F(QueuedMessageEditorTest, EnvelopeEdits) {
  QueuedMessageEditor editor = Editor();
  editor.ChangeSender("<new@example.org>", "");
  editor.AddRecipient("<added@example.com>", "NOTIFY=NEVER");
  editor.DeleteRecipient("<fred@example.com>");
  editor.DeleteRecipient("<nobody@example.com>");
  EXPECT_EQ(message_.sender, "new@example.org");
  ASSERT_EQ(message_.recipients.size(), 2u);
  EXPECT_EQ(message_.recipients[0].address, "jean@example.com");
  EXPECT_EQ(message_.recipients[1].address, "added@example.com");
  EXPECT_EQ(message_.recipients[1].original, "rfc822;added@example.com");
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("ignoring ESMTP arguments \"NOTIFY=NEVER\""), std::string::npos);
}

TEST_F(QueuedMessageEditorTest, ABodyReplacedHasCrLfLinesAfterTheBlankLine) {
  QueuedMessageEditor editor = Editor();
  // In pieces as a milter sends them: a CR at the end of one, its LF in the next.
  editor.AppendBody("first\nsecond\r");
  editor.AppendBody("\nthird\r\r\n");
  editor.AppendBody("no newline");
  ASSERT_TRUE(editor.EndBody().ok());
  EXPECT_EQ(*body_->Read(0, 100), "\r\nfirst\r\nsecond\r\nthird\r\r\nno newline\r\n");
  EXPECT_EQ(editor.body_size(), 35u);
  editor.Finish();  // no header edits: the head as it was
  EXPECT_TRUE(message_.content.starts_with("Received: from client"));
}

TEST_F(QueuedMessageEditorTest, AnEmptyReplacementLeavesAnEmptyBody) {
  QueuedMessageEditor editor = Editor();
  editor.AppendBody("");
  ASSERT_TRUE(editor.EndBody().ok());
  EXPECT_EQ(*body_->Read(0, 100), "\r\n");
  EXPECT_EQ(editor.body_size(), 0u);
}

}  // namespace
}  // namespace postern::milter
