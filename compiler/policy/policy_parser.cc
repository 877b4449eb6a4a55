// policy_parser.cc: see policy_parser.h.
#include "compiler/policy/policy_parser.h"

#include <algorithm>
#include <optional>

#include "PolicyLexer.h"
#include "PolicyParser.h"
#include "antlr4-runtime.h"
#include "util/strings.h"

namespace postern::policy {
namespace {

using grammar::PolicyParser;

class ErrorListener : public antlr4::BaseErrorListener {
 public:
  ErrorListener(std::shared_ptr<const SourceFile> file, DiagnosticSink* diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}
  void syntaxError(antlr4::Recognizer*, antlr4::Token* token, size_t line, size_t column, const std::string& message,
                   std::exception_ptr) override {
    int length =
        token != nullptr && token->getType() != antlr4::Token::EOF ? static_cast<int>(token->getText().size()) : 1;
    diagnostics_->Error("PL0701", SourceLocation{file_, static_cast<int>(line), static_cast<int>(column) + 1, length},
                        "syntax error: " + message);
  }

 private:
  std::shared_ptr<const SourceFile> file_;
  DiagnosticSink* diagnostics_;
};

std::string Unquote(const std::string& text) {
  if (text.size() < 2 || text.front() != '"') return text;
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\' && i + 2 < text.size()) ++i;
    out += text[i];
  }
  return out;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

class Builder {
 public:
  Builder(std::shared_ptr<const SourceFile> file, DiagnosticSink* diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  // A number literal, or 0 after a diagnostic.
  int64_t NumberAt(antlr4::tree::TerminalNode* node) {
    auto n = ParseDecimal(node->getText());
    if (!n) diagnostics_->Error("PL0704", At(node), "number " + node->getText() + " is too large");
    return n.value_or(0);
  }

  SourceLocation At(antlr4::ParserRuleContext* ctx) const {
    antlr4::Token* start = ctx->getStart();
    antlr4::Token* stop = ctx->getStop();
    int length = 1;
    if (stop != nullptr && stop->getLine() == start->getLine()) {
      length = static_cast<int>(stop->getStopIndex() - start->getStartIndex() + 1);
    }
    return SourceLocation{file_, static_cast<int>(start->getLine()),
                          static_cast<int>(start->getCharPositionInLine()) + 1, std::max(length, 1)};
  }
  SourceLocation At(antlr4::tree::TerminalNode* node) const {
    antlr4::Token* t = node->getSymbol();
    return SourceLocation{file_, static_cast<int>(t->getLine()), static_cast<int>(t->getCharPositionInLine()) + 1,
                          static_cast<int>(t->getText().size())};
  }

  AstFile Build(PolicyParser::PolicyFileContext* tree) {
    AstFile file;
    file.source = file_;
    for (auto* statement : tree->statement()) {
      if (auto* inc = statement->includeStatement()) {
        file.includes.push_back({Unquote(inc->STRING()->getText()), At(inc)});
      } else if (auto* set = statement->setDeclaration()) {
        file.sets.push_back(Set(set));
      } else if (auto* stage = statement->stageBlock()) {
        AstStage s;
        s.name = stage->stageName()->getText();
        s.location = At(stage->stageName());
        for (auto* rule : stage->policyRule()) s.rules.push_back(Rule(rule));
        file.stages.push_back(std::move(s));
      } else if (auto* route = statement->routeStatement()) {
        file.routes.push_back({Condition(route->condition()), Unquote(route->STRING()->getText()), At(route)});
      }
    }
    return file;
  }

 private:
  AstSet Set(PolicyParser::SetDeclarationContext* ctx) {
    AstSet set;
    set.name = ctx->IDENT()->getText();
    set.location = At(ctx);
    auto* value = ctx->setValue();
    if (value->setKind() != nullptr) set.kind = value->setKind()->getText();
    if (value->TABLE_REF() != nullptr) set.table = value->TABLE_REF()->getText();
    for (auto* item : value->setItem()) {
      AstOperand o;
      o.location = At(item);
      if (item->STRING() != nullptr) {
        o.kind = AstOperand::Kind::kString;
        o.text = Unquote(item->STRING()->getText());
      } else if (item->CIDR() != nullptr) {
        o.kind = AstOperand::Kind::kCidr;
        o.text = item->getText();
      } else if (item->PARAM() != nullptr) {
        o.kind = AstOperand::Kind::kParam;
        o.text = item->getText();
      } else if (item->TABLE_REF() != nullptr) {
        o.kind = AstOperand::Kind::kTable;
        o.text = item->getText();
      } else {
        o.kind = AstOperand::Kind::kName;
        o.text = item->getText();
      }
      set.items.push_back(std::move(o));
    }
    return set;
  }

  AstRule Rule(PolicyParser::PolicyRuleContext* ctx) {
    AstRule rule;
    rule.location = At(ctx);
    auto* action = ctx->action();
    rule.action.verb = action->verb->getText();
    rule.action.location = At(action);
    std::vector<std::string> strings;
    for (auto* s : action->STRING()) strings.push_back(Unquote(s->getText()));
    if (auto* reply = action->reply()) {
      if (reply->NUMBER() != nullptr)
        rule.action.code = static_cast<int>(std::min<int64_t>(NumberAt(reply->NUMBER()), 1000));
      if (reply->STATUS() != nullptr) rule.action.status = reply->STATUS()->getText();
      if (reply->STRING() != nullptr) rule.action.text = Unquote(reply->STRING()->getText());
    }
    if (!strings.empty()) rule.action.argument = strings[0];
    if (strings.size() > 1) rule.action.argument2 = strings[1];
    if (ctx->condition() != nullptr) rule.condition = Condition(ctx->condition());
    return rule;
  }

  AstOperand Operand(PolicyParser::OperandContext* ctx) {
    AstOperand o;
    o.location = At(ctx);
    if (ctx->name() != nullptr && ctx->getText().find('(') != std::string::npos) {
      o.kind = AstOperand::Kind::kCall;
      o.text = ctx->name()->getText();
      for (auto* arg : ctx->operand()) o.arguments.push_back(Operand(arg));
    } else if (ctx->path() != nullptr) {
      o.kind = AstOperand::Kind::kPath;
      o.text = ctx->path()->getText();
    } else if (ctx->STRING() != nullptr) {
      o.kind = AstOperand::Kind::kString;
      o.text = Unquote(ctx->STRING()->getText());
    } else if (ctx->NUMBER() != nullptr) {
      o.kind = AstOperand::Kind::kNumber;
      o.text = ctx->NUMBER()->getText();
    } else if (ctx->CIDR() != nullptr) {
      o.kind = AstOperand::Kind::kCidr;
      o.text = ctx->CIDR()->getText();
    } else if (ctx->PARAM() != nullptr) {
      o.kind = AstOperand::Kind::kParam;
      o.text = ctx->PARAM()->getText();
    } else if (ctx->TABLE_REF() != nullptr) {
      o.kind = AstOperand::Kind::kTable;
      o.text = ctx->TABLE_REF()->getText();
    }
    return o;
  }

  AstCondition Condition(PolicyParser::ConditionContext* ctx) {
    AstCondition c;
    c.location = At(ctx);
    if (auto* n = dynamic_cast<PolicyParser::NotConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kNot;
      c.children.push_back(Condition(n->condition()));
    } else if (auto* a = dynamic_cast<PolicyParser::AndConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kAnd;
      c.children.push_back(Condition(a->condition(0)));
      c.children.push_back(Condition(a->condition(1)));
    } else if (auto* o = dynamic_cast<PolicyParser::OrConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kOr;
      c.children.push_back(Condition(o->condition(0)));
      c.children.push_back(Condition(o->condition(1)));
    } else if (auto* g = dynamic_cast<PolicyParser::GroupConditionContext*>(ctx)) {
      return Condition(g->condition());
    } else if (auto* m = dynamic_cast<PolicyParser::MembershipConditionContext*>(ctx)) {
      bool negated = false;
      for (auto* child : m->children) negated = negated || child->getText() == "not";
      c.kind = negated ? AstCondition::Kind::kNotIn : AstCondition::Kind::kIn;
      c.left = Operand(m->operand(0));
      c.right = Operand(m->operand(1));
    } else if (auto* cmp = dynamic_cast<PolicyParser::CompareConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kCompare;
      c.left = Operand(cmp->operand(0));
      c.right = Operand(cmp->operand(1));
      c.comparison = cmp->comparison()->getText();
    } else if (auto* mt = dynamic_cast<PolicyParser::MatchConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kMatch;
      c.left = Operand(mt->operand());
      c.regex = mt->REGEX()->getText();
    } else if (auto* r = dynamic_cast<PolicyParser::RateConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kRate;
      c.left = Operand(r->operand());
      c.number = NumberAt(r->NUMBER());
      c.time_unit = r->timeUnit()->getText();
    } else if (auto* call = dynamic_cast<PolicyParser::CallConditionContext*>(ctx)) {
      // `resolves(sender.domain)`: a fact about a field, true or false.
      c.kind = AstCondition::Kind::kFlag;
      c.left.kind = AstOperand::Kind::kCall;
      c.left.text = call->name()->getText();
      c.left.arguments.push_back(Operand(call->operand()));
      c.left.location = At(call);
    } else if (auto* f = dynamic_cast<PolicyParser::FlagConditionContext*>(ctx)) {
      c.kind = AstCondition::Kind::kFlag;
      c.left.kind = AstOperand::Kind::kPath;
      c.left.text = f->path()->getText();
      c.left.location = At(f->path());
    }
    return c;
  }

  std::shared_ptr<const SourceFile> file_;
  DiagnosticSink* diagnostics_;
};

}  // namespace

AstFile ParsePolicy(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics) {
  AstFile empty{file, {}, {}, {}, {}};
  if (!ValidUtf8(file->text())) {
    diagnostics->Error("PL0701", SourceLocation{file, 0, 0}, "the policy file is not valid UTF-8");
    return empty;
  }
  int errors_before = diagnostics->error_count();
  // ANTLR reports through exceptions; none crosses this boundary.
  try {
    antlr4::ANTLRInputStream input(file->text());
    grammar::PolicyLexer lexer(&input);
    ErrorListener listener(file, diagnostics);
    lexer.removeErrorListeners();
    lexer.addErrorListener(&listener);
    antlr4::CommonTokenStream tokens(&lexer);
    PolicyParser parser(&tokens);
    parser.removeErrorListeners();
    parser.addErrorListener(&listener);
    PolicyParser::PolicyFileContext* tree = parser.policyFile();
    if (diagnostics->error_count() > errors_before) return empty;
    return Builder(file, diagnostics).Build(tree);
  } catch (const std::exception& e) {
    diagnostics->Error("PL0701", SourceLocation{file, 0, 0}, std::string("policy parser failure: ") + e.what());
    return empty;
  }
}

}  // namespace postern::policy
