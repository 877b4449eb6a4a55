// milter_header_checks_test.cc: what milter_header_checks does to the
// headers a milter adds, inserts and changes (dropped, replaced, passed on)
// and the actions it records for the session (reject with the table's
// code, discard, hold, filter, redirect, warnings), as cleanup(8) does.
#include "runtime/milter/milter_header_checks.h"

#include <gtest/gtest.h>

#include <map>

namespace postern::milter {
namespace {

// Records what reaches the real editor.
class RecordingEditor : public MessageEditor {
 public:
  std::vector<std::string> calls;
  std::vector<std::pair<std::string, std::string>> Headers() const override {
    return {{"From", " a@example.com"}, {"Subject", " bad"}, {"X-Spam", " yes"}, {"X-Spam", " no"}};
  }
  uint64_t body_size() const override { return 0; }
  Result<std::string> ReadBody(uint64_t, size_t) const override { return std::string(); }
  void AddHeader(const std::string& name, const std::string& space, const std::string& value) override {
    calls.push_back("add " + name + ":" + space + value);
  }
  void InsertHeader(size_t position, const std::string& name, const std::string& space,
                    const std::string& value) override {
    calls.push_back("insert " + std::to_string(position) + " " + name + ":" + space + value);
  }
  void ChangeHeader(size_t index, const std::string& name, const std::string& space,
                    const std::string& value) override {
    calls.push_back("change " + std::to_string(index) + " " + name + ":" + space + value);
  }
  void ChangeSender(const std::string& address, const std::string&) override { calls.push_back("sender " + address); }
  void AddRecipient(const std::string& address, const std::string&) override { calls.push_back("rcpt+ " + address); }
  void DeleteRecipient(const std::string& address) override { calls.push_back("rcpt- " + address); }
  void AppendBody(std::string_view piece) override { calls.push_back("body " + std::string(piece)); }
  Status EndBody() override {
    calls.push_back("end");
    return Status::Ok();
  }
};

// A table of whole header lines.
HeaderLookup Table(std::map<std::string, std::string> rules) {
  return [rules](std::string_view line) -> Result<std::optional<std::string>> {
    auto it = rules.find(std::string(line));
    if (it == rules.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  };
}

TEST(MilterHeaderChecksTest, HeadersAreDroppedReplacedOrPassedOn) {
  RecordingEditor inner;
  HeaderCheckingEditor editor(inner, Table({{"X-Spam: yes", "IGNORE"},
                                            {"X-Score: 9", "REPLACE X-Score: high"},
                                            {"Subject: bad", "REPLACE X-Old-Subject: bad"},
                                            {"X-Note: 1", "WARN look at this"},
                                            {"X-Pre: 1", "PREPEND X-New: 1"}}));
  editor.AddHeader("X-Spam", " ", "yes");
  editor.AddHeader("X-Score", " ", "9");
  editor.InsertHeader(0, "X-Spam", " ", "yes");
  editor.InsertHeader(1, "X-Other", " ", "fine");
  editor.ChangeHeader(1, "Subject", " ", "bad");
  editor.ChangeHeader(2, "X-Spam", " ", "yes");
  editor.ChangeHeader(1, "X-Score", " ", "9");
  editor.ChangeHeader(2, "Subject", " ", "bad");  // not there: added
  editor.ChangeHeader(1, "X-Gone", " ", "");      // a deletion is not inspected
  editor.AddHeader("X-Note", " ", "1");
  editor.AddHeader("X-Pre", " ", "1");
  EXPECT_EQ(inner.calls, (std::vector<std::string>{
                             "add X-Score: high",
                             "insert 1 X-Other: fine",
                             "change 1 Subject: ",           // renamed: in the old one's place,
                             "insert 2 X-Old-Subject: bad",  // after our Received: and From:
                             "change 1 X-Score: high",       // (IGNORE of a change leaves X-Spam as it was)
                             "add X-Old-Subject: bad",
                             "change 1 X-Gone: ",
                             "add X-Note: 1",
                             "add X-Pre: 1",
                         }));
  const HeaderCheckVerdict& v = editor.verdict();
  EXPECT_FALSE(v.reject || v.discard || v.hold);
  ASSERT_EQ(v.logged.size(), 6u);
  EXPECT_EQ(v.logged[0].action, "replace");
  EXPECT_EQ(v.logged[4].action, "warning");
  EXPECT_EQ(v.logged[4].header, "X-Note: 1");
  EXPECT_EQ(v.logged[4].text, "look at this");
  EXPECT_EQ(v.logged[5].text, "PREPEND is not implemented for milter_header_checks (as in Postfix)");
}

TEST(MilterHeaderChecksTest, RejectTakesTheTablesCodeAndStopsTheEdits) {
  struct Case {
    std::string action, reply;
  };
  for (const Case& c : std::vector<Case>{{"REJECT", "550 5.7.1 message content rejected"},
                                         {"REJECT no spam here", "550 5.7.1 no spam here"},
                                         {"REJECT 5.7.2 not this", "550 5.7.2 not this"},
                                         {"REJECT 4.7.3 later", "451 4.7.3 later"}}) {
    RecordingEditor inner;
    HeaderCheckingEditor editor(inner, Table({{"X-Spam: yes", c.action}}));
    editor.AddHeader("X-Spam", " ", "yes");
    editor.AddHeader("X-After", " ", "1");
    editor.AddRecipient("<x@example.com>", "");
    editor.ChangeSender("<y@example.com>", "");
    editor.AppendBody("new body\r\n");
    ASSERT_TRUE(editor.EndBody().ok());
    ASSERT_TRUE(editor.verdict().reject) << c.action;
    EXPECT_EQ(*editor.verdict().reject, c.reply);
    // The rejected header is kept (the message is not stored anyway); a
    // new body is passed on whole.
    EXPECT_EQ(inner.calls, (std::vector<std::string>{"add X-Spam: yes", "body new body\r\n", "end"}));
  }
}

TEST(MilterHeaderChecksTest, MessageActionsAreRecorded) {
  RecordingEditor inner;
  HeaderCheckingEditor editor(inner, Table({{"X-Hold: 1", "HOLD quarantined"},
                                            {"X-Filter: 1", "FILTER scan:[127.0.0.1]:10024"},
                                            {"X-Filter: bad", "FILTER nocolon"},
                                            {"X-Redirect: 1", "REDIRECT abuse@example.com"},
                                            {"X-Late: 1", "DISCARD"}}));
  editor.AddHeader("X-Hold", " ", "1");
  editor.AddHeader("X-Filter", " ", "bad");
  editor.AddHeader("X-Filter", " ", "1");
  editor.AddHeader("X-Redirect", " ", "1");
  editor.AddHeader("X-Late", " ", "1");  // no more inspection after REDIRECT
  const HeaderCheckVerdict& v = editor.verdict();
  EXPECT_TRUE(v.hold);
  EXPECT_EQ(v.filter, "scan:[127.0.0.1]:10024");
  EXPECT_EQ(v.redirect, "abuse@example.com");
  EXPECT_FALSE(v.discard);
  EXPECT_EQ(inner.calls.size(), 5u);
  EXPECT_EQ(v.logged[1].action, "warning");

  RecordingEditor discarded;
  HeaderCheckingEditor discarding(discarded, Table({{"X-Late: 1", "DISCARD"}}));
  discarding.AddHeader("X-Late", " ", "1");
  discarding.DeleteRecipient("<a@example.com>");
  EXPECT_TRUE(discarding.verdict().discard);
  EXPECT_EQ(discarded.calls, (std::vector<std::string>{"add X-Late: 1"}));
}

TEST(MilterHeaderChecksTest, NoHeaderBodyChecksLeavesOnlyHeaderEdits) {
  RecordingEditor inner;
  HeaderCheckingEditor editor(inner, Table({{"X-Spam: yes", "REJECT"}, {"X-Drop: 1", "IGNORE"}}),
                              /*message_actions=*/false);
  editor.AddHeader("X-Spam", " ", "yes");
  editor.AddHeader("X-Drop", " ", "1");
  EXPECT_FALSE(editor.verdict().reject);
  EXPECT_EQ(inner.calls, (std::vector<std::string>{"add X-Spam: yes"}));
}

TEST(MilterHeaderChecksTest, ALookupErrorDefersTheMessage) {
  RecordingEditor inner;
  HeaderCheckingEditor editor(inner, [](std::string_view) -> Result<std::optional<std::string>> {
    return Status::Temporary("regexp:/etc/postfix/x is not in the image");
  });
  editor.AddHeader("X-Any", " ", "1");
  ASSERT_TRUE(editor.verdict().reject);
  EXPECT_EQ(*editor.verdict().reject, "451 4.3.0 Error: queue file write error");
}

}  // namespace
}  // namespace postern::milter
