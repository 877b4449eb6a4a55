// rbl_reply_check.cc: see rbl_reply_check.h.
#include "compiler/lower/rbl_reply_check.h"

#include <string>
#include <vector>

#include "compiler/config/parameter_value.h"
#include "mail/lookup_table.h"
#include "mail/reply_template.h"
#include "util/strings.h"

namespace postern::lower {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// What is wrong with `text` as an RBL reply template, or "". `pattern`:
// a regexp or pcre table's result, whose $1... the table fills first.
std::string TemplateProblem(std::string_view text, const std::string& rbl_code, bool pattern) {
  mail::TemplateLookup sample = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "rbl_code") return rbl_code;
    if (mail::IsRblTemplateName(name) || (pattern && AllDigits(name))) return std::string("x");
    return std::nullopt;
  };
  mail::TemplateExpansion scanned = mail::ExpandTemplate(text, sample, std::nullopt, /*scan=*/true);
  if (!scanned.error.empty()) return scanned.error;
  if (!scanned.undefined.empty()) return "unknown name $" + scanned.undefined;
  return "";
}

// Whether `text` expands to something that starts with "4NN " or "5NN ".
bool StartsWithReplyCode(std::string_view text, const std::string& rbl_code) {
  mail::TemplateLookup sample = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "rbl_code") return rbl_code;
    return std::string("x");
  };
  std::string out = mail::ExpandTemplate(text, sample, std::nullopt).text;
  return out.size() >= 4 && (out[0] == '4' || out[0] == '5') && IsDigit(out[1]) && IsDigit(out[2]) && out[3] == ' ';
}

class Checker {
 public:
  Checker(const check::Model& model, const config::ParameterSet& parameters, DiagnosticSink* diagnostics)
      : model_(model), parameters_(parameters), diagnostics_(diagnostics) {
    config::MacroExpander expander = parameters_.Expander();
    rbl_code_ = std::string(Trim(parameters_.Expanded("maps_rbl_reject_code", &expander)));
  }

  void Run() {
    CheckDefault();
    config::MacroExpander expander = parameters_.Expander();
    std::vector<std::string> maps = config::SplitParameterList(parameters_.Expanded("rbl_reply_maps", &expander))
                                        .value_or(std::vector<std::string>{});
    for (const std::string& reference : maps) CheckTable(reference);
  }

 private:
  SourceLocation Where(const std::string& name) const {
    const config::ParameterDefinition* def = parameters_.Definition(name);
    return def != nullptr ? def->value_location : SourceLocation{model_.main_cf.file, 0, 0};
  }

  void CheckDefault() {
    if (!parameters_.IsExplicit("default_rbl_reply")) return;
    std::string text = parameters_.Raw("default_rbl_reply").value_or("");
    if (std::string problem = TemplateProblem(text, rbl_code_, false); !problem.empty()) {
      diagnostics_->Error("PP0509", Where("default_rbl_reply"), "default_rbl_reply does not expand: " + problem,
                          "Postfix's smtpd stops at the first client a DNS list names; the names are those of "
                          "postconf(5) default_rbl_reply ($rbl_code, $rbl_class, $rbl_what, $rbl_domain, "
                          "${rbl_reason?; $rbl_reason}, $client_address, ...)");
      return;
    }
    if (!StartsWithReplyCode(text, rbl_code_)) {
      diagnostics_->Warning("PP0509", Where("default_rbl_reply"),
                            "default_rbl_reply does not start with a 4NN or 5NN reply code",
                            "smtpd answers \"450 4.7.1 Service unavailable\" instead; start it with $rbl_code");
    }
  }

  void CheckTable(const std::string& reference) {
    const mail::LookupTable* table = nullptr;
    for (const tables::LoadedTable& loaded : model_.tables) {
      if (loaded.table && loaded.reference.ToString() == reference) table = loaded.table.get();
    }
    std::vector<std::pair<std::string, std::string>> entries;  // what, template
    bool pattern = false;
    if (table != nullptr && table->ForEachEntry([&](std::string_view key, std::string_view value) {
          entries.emplace_back("\"" + std::string(key) + "\"", value);
        })) {
    } else if (auto* rules = dynamic_cast<const mail::PatternTable*>(table)) {
      pattern = true;
      for (const mail::PatternRule& rule : rules->rules()) {
        if (rule.kind == mail::PatternRule::Kind::kMatch) {
          entries.emplace_back("at line " + std::to_string(rule.line), rule.replacement);
        }
      }
    } else if (auto* fixed = dynamic_cast<const mail::StaticTable*>(table)) {
      entries.emplace_back("(static)", fixed->value());
    }
    for (const auto& [what, text] : entries) {
      std::string problem = TemplateProblem(text, rbl_code_, pattern);
      if (problem.empty() && StartsWithReplyCode(text, rbl_code_)) continue;
      std::string message =
          "rbl_reply_maps entry " + what + " in " + reference +
          (problem.empty() ? " does not start with a 4NN or 5NN reply code" : " does not expand: " + problem);
      diagnostics_->Warning("PP0509", Where("rbl_reply_maps"), message,
                            problem.empty() ? "smtpd answers \"450 4.7.1 Service unavailable\" for that list"
                                            : "smtpd uses default_rbl_reply for that list instead");
    }
  }

  const check::Model& model_;
  const config::ParameterSet& parameters_;
  DiagnosticSink* diagnostics_;
  std::string rbl_code_;
};

}  // namespace

void CheckRblReplyTemplates(const check::Model& model, const config::ParameterSet& parameters,
                            DiagnosticSink* diagnostics) {
  Checker(model, parameters, diagnostics).Run();
}

}  // namespace postern::lower
