// Tests that the policy grammar generated at build time parses the
// language sketch and reports syntax errors with their position.
#include <gtest/gtest.h>

#include "PolicyLexer.h"
#include "PolicyParser.h"
#include "antlr4-runtime.h"

namespace {

class CollectingErrorListener : public antlr4::BaseErrorListener {
 public:
  void syntaxError(antlr4::Recognizer*, antlr4::Token*, size_t line, size_t column, const std::string& message,
                   std::exception_ptr) override {
    errors.push_back(std::to_string(line) + ":" + std::to_string(column + 1) + ": " + message);
  }
  std::vector<std::string> errors;
};

std::vector<std::string> ParseErrors(const std::string& text) {
  antlr4::ANTLRInputStream input(text);
  postern::grammar::PolicyLexer lexer(&input);
  CollectingErrorListener listener;
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  postern::grammar::PolicyParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  parser.policyFile();
  return listener.errors;
}

TEST(PolicyGrammarTest, ParsesTheDesignSketch) {
  const char* sketch = R"(# comment
set internal = cidr { 10.0.0.0/8, $mynetworks }
stage rcpt {
  accept when client.ip in internal
  accept when sasl.authenticated
  reject 554 5.7.1 "Relay access denied"
         when rcpt.domain not in $mydestination and rcpt.domain not in $relay_domains
  defer  451 4.7.1 "Slow down" when rate(client.ip) > 100 per minute
}
stage data {
  reject 550 5.7.0 "Policy violation" when header("Subject") ~ /lottery winner/i
}
route rcpt.domain == "partner.example" -> "smtp:[mx.partner.example]:25"
)";
  EXPECT_EQ(ParseErrors(sketch), std::vector<std::string>{});
}

TEST(PolicyGrammarTest, ReportsSyntaxErrorsWithPosition) {
  auto errors = ParseErrors("stage rcpt {\n  acept when client.ip in internal\n}\n");
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].substr(0, 4), "2:3:");
}

}  // namespace
