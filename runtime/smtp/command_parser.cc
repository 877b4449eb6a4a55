// command_parser.cc: see command_parser.h.
#include "runtime/smtp/command_parser.h"

#include "util/strings.h"

namespace postern::smtp {

std::optional<LineReader::Line> LineReader::Next() {
  while (!error_) {
    size_t lf = buffer_.find('\n');
    if (discarding_) {
      if (lf == std::string::npos) {
        buffer_.clear();
        return std::nullopt;
      }
      buffer_.erase(0, lf + 1);
      discarding_ = false;
      continue;
    }
    if (lf == std::string::npos) {
      if (buffer_.size() <= limit_) return std::nullopt;
      Line line{buffer_.substr(0, limit_), true, true};
      buffer_.clear();
      discarding_ = true;
      return line;
    }
    bool crlf = lf > 0 && buffer_[lf - 1] == '\r';
    if (!crlf && bare_newline_ == BareNewline::kReject) {
      error_ = true;
      return std::nullopt;
    }
    Line line{buffer_.substr(0, crlf ? lf - 1 : lf), crlf, false};
    buffer_.erase(0, lf + 1);
    if (line.text.size() > limit_) {
      line.text.resize(limit_);
      line.too_long = true;
    }
    return line;
  }
  return std::nullopt;
}

namespace {

using Verb = Command::Verb;

Verb VerbOf(std::string_view name) {
  static const std::pair<const char*, Verb> kVerbs[] = {
      {"EHLO", Verb::kEhlo},         {"HELO", Verb::kHelo}, {"MAIL", Verb::kMail},       {"RCPT", Verb::kRcpt},
      {"DATA", Verb::kData},         {"BDAT", Verb::kBdat}, {"RSET", Verb::kRset},       {"NOOP", Verb::kNoop},
      {"QUIT", Verb::kQuit},         {"VRFY", Verb::kVrfy}, {"EXPN", Verb::kExpn},       {"HELP", Verb::kHelp},
      {"STARTTLS", Verb::kStarttls}, {"AUTH", Verb::kAuth}, {"XCLIENT", Verb::kXclient}, {"ETRN", Verb::kEtrn},
  };
  for (const auto& [n, v] : kVerbs) {
    if (name == n) return v;
  }
  return Verb::kUnknown;
}

// MAIL FROM:<path> params / RCPT TO:<path> params.
void ParsePath(Command* c, std::string_view keyword) {
  std::string_view arg = c->argument;
  if (arg.size() < keyword.size() || !EqualsIgnoreCase(arg.substr(0, keyword.size()), keyword)) {
    c->error = "5.5.4 Syntax: " + c->name + " " + std::string(keyword) + "<address>";
    return;
  }
  arg = Trim(arg.substr(keyword.size()));  // Postfix tolerates "FROM: <a>"
  if (arg.empty()) {                       // "MAIL FROM:" with no path at all (the null sender is <>)
    c->error = "5.5.4 Syntax: " + c->name + " " + std::string(keyword) + "<address>";
    return;
  }
  std::string_view rest;
  if (!arg.empty() && arg.front() == '<') {
    // The path ends at the first '>' outside a quoted local part.
    bool quoted = false;
    size_t close = std::string_view::npos;
    for (size_t i = 1; i < arg.size(); ++i) {
      if (arg[i] == '\\' && quoted) {
        ++i;
      } else if (arg[i] == '"') {
        quoted = !quoted;
      } else if (arg[i] == '>' && !quoted) {
        close = i;
        break;
      }
    }
    if (close == std::string_view::npos) {
      c->error = "5.1.7 Bad address syntax (missing '>')";
      return;
    }
    c->path = std::string(arg.substr(1, close - 1));
    c->path_in_brackets = true;
    rest = arg.substr(close + 1);
  } else {
    size_t sp = arg.find(' ');
    c->path = std::string(arg.substr(0, sp));  // an address without <>, as Postfix allows
    rest = sp == std::string_view::npos ? std::string_view() : arg.substr(sp);
  }
  if (!rest.empty() && rest.front() != ' ') {
    c->error = "5.5.4 Syntax error after the address";
    return;
  }
  for (std::string_view p : SplitAny(rest, " ")) {
    size_t eq = p.find('=');
    std::string name = ToUpper(p.substr(0, eq));
    if (name.empty()) {
      c->error = "5.5.4 Bad ESMTP parameter syntax";
      return;
    }
    c->parameters.emplace_back(name, eq == std::string_view::npos ? "" : std::string(p.substr(eq + 1)));
  }
}

}  // namespace

Command ParseCommand(std::string_view line) {
  Command c;
  line = Trim(line);
  size_t sp = line.find(' ');
  c.name = ToUpper(line.substr(0, sp));
  c.argument = std::string(sp == std::string_view::npos ? std::string_view() : Trim(line.substr(sp)));
  c.verb = VerbOf(c.name);
  if (c.verb == Verb::kMail) ParsePath(&c, "FROM:");
  if (c.verb == Verb::kRcpt) ParsePath(&c, "TO:");
  return c;
}

}  // namespace postern::smtp
