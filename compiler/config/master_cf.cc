// master_cf.cc: see master_cf.h.
#include "compiler/config/master_cf.h"

#include <set>
#include <utility>

#include "compiler/config/main_cf.h"
#include "util/logical_lines.h"
#include "util/strings.h"

namespace postern::config {
namespace {

struct Token {
  std::string text;
  size_t offset;
  size_t length;
};

// Splits on white space; `{ ... }` is one token with the braces removed
// (master(5): arguments with white space are grouped in braces).
std::vector<Token> Tokenize(std::string_view line) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    if (line[i] == '{') {
      int level = 0;
      for (; i < line.size(); ++i) {
        if (line[i] == '{') ++level;
        if (line[i] == '}' && --level == 0) break;
      }
      size_t end = i < line.size() ? i : line.size();
      tokens.push_back(
          {std::string(Trim(line.substr(start + 1, end - start - 1))), start, std::min(line.size(), end + 1) - start});
      i = end + 1;
      continue;
    }
    while (i < line.size() && !IsSpace(line[i])) ++i;
    tokens.push_back({std::string(line.substr(start, i - start)), start, i - start});
  }
  return tokens;
}

bool IsFlag(std::string_view s) { return s == "y" || s == "n" || s == "-"; }

bool IsCount(std::string_view s, bool allow_question_mark) {
  if (s == "-") return true;
  if (allow_question_mark && !s.empty() && s.back() == '?') s.remove_suffix(1);
  long long n = 0;
  return ParseDecimal(s, &n);
}

}  // namespace

MasterCf ParseMasterCf(std::shared_ptr<const SourceFile> file, DiagnosticSink* diagnostics) {
  MasterCf result;
  result.file = file;
  std::set<std::pair<std::string, std::string>> seen;
  for (const LogicalLine& line : ReadLogicalLines(file, diagnostics)) {
    std::vector<Token> tokens = Tokenize(line.text);
    auto at = [&](const Token& t) { return line.Locate(file, t.offset, t.length); };
    if (tokens.size() < 8) {
      diagnostics->Error("PC0201", line.Locate(file, 0, line.text.size()),
                         "master.cf entry has " + std::to_string(tokens.size()) + " fields; 8 or more expected",
                         "service type private unpriv chroot wakeup maxproc command [args]");
      continue;
    }
    MasterService service;
    service.name = tokens[0].text;
    service.type = tokens[1].text;
    service.private_flag = tokens[2].text;
    service.unprivileged = tokens[3].text;
    service.chroot = tokens[4].text;
    service.wakeup = tokens[5].text;
    service.max_process = tokens[6].text;
    service.command = tokens[7].text;
    service.location = at(tokens[0]);

    static const std::set<std::string, std::less<>> kTypes = {"inet", "unix", "unix-dgram", "fifo", "pass"};
    if (!kTypes.count(service.type)) {
      diagnostics->Error("PC0202", at(tokens[1]), "unknown service type \"" + service.type + "\"",
                         "one of inet, unix, unix-dgram, fifo, pass");
      continue;
    }
    bool fields_ok = true;
    for (int i = 2; i <= 4; ++i) {
      if (!IsFlag(tokens[static_cast<size_t>(i)].text)) {
        diagnostics->Error("PC0203", at(tokens[static_cast<size_t>(i)]),
                           "bad flag \"" + tokens[static_cast<size_t>(i)].text + "\"", "use y, n or -");
        fields_ok = false;
      }
    }
    if (!IsCount(service.wakeup, true)) {
      diagnostics->Error("PC0203", at(tokens[5]), "bad wakeup time \"" + service.wakeup + "\"",
                         "a number of seconds, optionally followed by '?', or -");
      fields_ok = false;
    }
    if (!IsCount(service.max_process, false)) {
      diagnostics->Error("PC0203", at(tokens[6]), "bad process limit \"" + service.max_process + "\"",
                         "a number, or - for default_process_limit");
      fields_ok = false;
    }
    if (!fields_ok) continue;

    // Options come first, as for any Postfix daemon (getopt): the first word
    // that does not start with '-' (pipe's flags=, user=, argv=) ends them,
    // and what follows, "-oi" of a sendmail command included, is arguments.
    bool in_options = true;
    for (size_t i = 8; i < tokens.size(); ++i) {
      const Token& t = tokens[i];
      std::string_view setting;
      const Token* where = &t;
      if (in_options && (t.text.empty() || t.text[0] != '-' || t.text == "--")) in_options = false;
      if (!in_options) {
        service.arguments.push_back(t.text);
        service.argument_locations.push_back(at(t));
        continue;
      }
      if (t.text == "-o") {
        if (i + 1 >= tokens.size()) {
          diagnostics->Error("PC0204", at(t), "-o without name=value");
          break;
        }
        where = &tokens[++i];
        setting = where->text;
      } else if (StartsWith(t.text, "-o") && t.text.size() > 2 && t.text[2] != '-') {
        setting = std::string_view(t.text).substr(2);
      } else {
        service.arguments.push_back(t.text);
        service.argument_locations.push_back(at(t));
        continue;
      }
      NameValue nv;
      if (!SplitNameValue(setting, &nv) || !IsValidParameterName(nv.name)) {
        diagnostics->Error("PC0204", at(*where), "bad -o setting \"" + std::string(setting) + "\"",
                           "write -o name=value");
        continue;
      }
      service.overrides.push_back({std::string(nv.name), std::string(nv.value), at(*where)});
    }

    if (!seen.insert({service.name, service.type}).second) {
      diagnostics->Error("PC0205", service.location,
                         "duplicate service \"" + service.name + "\" of type " + service.type);
      continue;
    }
    result.services.push_back(std::move(service));
  }
  return result;
}

std::string ServiceOverrideValue(const MasterService& service, const ServiceOverride& o) {
  std::string value = o.value;
  for (std::string_view form : {"${service_name}", "$(service_name)", "$service_name"}) {
    for (size_t at = value.find(form); at != std::string::npos; at = value.find(form, at + service.name.size())) {
      value.replace(at, form.size(), service.name);
    }
  }
  return value;
}

}  // namespace postern::config
