// parameter_support_test.cc: the registry's word on what Postern implements
// (parameter_registry.h) is checked against the code: a parameter marked as
// read by the runtime must be named in runtime/, one marked as compiled must
// be named by the compiler (or be used in another parameter's default), and
// a setting reported through another must name one that exists. Marking a
// parameter "supported" without code behind it fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "compiler/config/parameter_registry.h"

namespace postern::config {
namespace {

namespace fs = std::filesystem;

// Every .cc and .h file under `directory`, concatenated, except `skip`.
std::string SourceText(const std::string& directory, const std::string& skip = "") {
  std::string text;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(POSTERN_SOURCE_DIR) / directory)) {
    fs::path path = entry.path();
    if (!entry.is_regular_file() || (path.extension() != ".cc" && path.extension() != ".h")) continue;
    if (!skip.empty() && path.filename() == skip) continue;
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    text += buffer.str();
  }
  return text;
}

bool Names(const std::string& text, std::string_view name) {
  return text.find("\"" + std::string(name) + "\"") != std::string::npos;
}

// Whether another parameter's default refers to $name (compatibility_level
// decides several defaults; virtual_maps is virtual_alias_maps' default);
// with `per_smtpd`, only the defaults of parameters smtpd reads per service.
bool UsedByADefault(std::string_view name, bool per_smtpd = false) {
  for (const ParameterSpec& spec : SupportedParameters()) {
    if (per_smtpd && !(spec.per_service & kPerSmtpd)) continue;
    std::string_view d = spec.default_value;
    for (size_t at = d.find(name); at != std::string_view::npos; at = d.find(name, at + 1)) {
      bool starts = at > 0 && (d[at - 1] == '$' || d[at - 1] == '{');
      size_t end = at + name.size();
      bool ends = end == d.size() || !(std::isalnum(static_cast<unsigned char>(d[end])) || d[end] == '_');
      if (starts && ends) return true;
    }
  }
  return false;
}

TEST(ParameterSupportTest, TableIsSortedAndUnique) {
  auto specs = SupportedParameters();
  for (size_t i = 1; i < specs.size(); ++i) EXPECT_LT(specs[i - 1].name, specs[i].name);
}

TEST(ParameterSupportTest, RuntimeParametersAreReadByTheRuntime) {
  std::string runtime = SourceText("runtime");
  for (const ParameterSpec& spec : SupportedParameters()) {
    if (spec.support != Support::kRuntime) continue;
    size_t suffix = PerTransportSuffixLength(spec.name);
    bool read =
        Names(runtime, spec.name) || (suffix > 0 && Names(runtime, spec.name.substr(spec.name.size() - suffix)));
    EXPECT_TRUE(read) << spec.name << " is marked kRuntime, but nothing in runtime/ reads it";
  }
}

TEST(ParameterSupportTest, CompiledParametersAreUsedByTheCompiler) {
  std::string compiler = SourceText("compiler", "parameter_registry.cc");
  for (const ParameterSpec& spec : SupportedParameters()) {
    if (spec.support != Support::kCompiled) continue;
    EXPECT_TRUE(Names(compiler, spec.name) || UsedByADefault(spec.name))
        << spec.name << " is marked kCompiled, but the compiler does not use it";
  }
}

TEST(ParameterSupportTest, PerSmtpdParametersAreReadBySmtpd) {
  // What an smtpd service reads through its view of the image
  // (image::Image::ForService; its resolver answers the recipient checks),
  // and what the policy is lowered from per service.
  std::string smtpd = SourceText("runtime/session") + SourceText("runtime/vm") + SourceText("runtime/tls") +
                      SourceText("runtime/daemon") + SourceText("runtime/resolve") + SourceText("compiler/lower") +
                      SourceText("compiler/policy");
  for (const ParameterSpec& spec : SupportedParameters()) {
    if (!(spec.per_service & kPerSmtpd)) continue;
    EXPECT_NE(spec.support, Support::kMissing) << spec.name;
    // Read by name, or through the default of one that is
    // (reject_tempfail_action in unknown_address_tempfail_action).
    EXPECT_TRUE(Names(smtpd, spec.name) || UsedByADefault(spec.name, true))
        << spec.name << " is marked kPerSmtpd, but smtpd does not read it";
  }
}

TEST(ParameterSupportTest, PerTransportParametersAreReadPerTransport) {
  // runtime/qmgr/delivery_config.cc applies -o overrides per transport.
  std::string per_service = SourceText("runtime/qmgr");
  for (const ParameterSpec& spec : SupportedParameters()) {
    if (!(spec.per_service & kPerTransport)) continue;
    EXPECT_EQ(spec.support, Support::kRuntime) << spec.name;
    size_t suffix = PerTransportSuffixLength(spec.name);
    EXPECT_TRUE(Names(per_service, spec.name) ||
                (suffix > 0 && Names(per_service, spec.name.substr(spec.name.size() - suffix))))
        << spec.name << " is marked kPerTransport, but the queue manager does not read it per service";
  }
}

TEST(ParameterSupportTest, ReportedByNamesASettingThatIsReported) {
  // A parameter, a restriction of compiler/lower, or a master.cf command
  // of mail/master_service_support.cc.
  std::string code = SourceText("compiler") + SourceText("mail");
  for (const ParameterSpec& spec : SupportedParameters()) {
    if (spec.reported_by.empty()) continue;
    EXPECT_EQ(spec.support, Support::kMissing) << spec.name;
    const ParameterSpec* by = FindParameter(spec.reported_by);
    if (by != nullptr) {
      EXPECT_EQ(by->support, Support::kMissing) << spec.name << " is reported by " << spec.reported_by
                                                << ", which is implemented: it must be reported itself";
      EXPECT_TRUE(by->reported_by.empty()) << spec.name;
    } else {
      EXPECT_TRUE(Names(code, spec.reported_by)) << spec.name << ": unknown reported_by " << spec.reported_by;
    }
  }
}

// The converse: what the runtime reads is in the registry, read as its type
// (reads come from settings.bin, which holds described parameters only: a
// name missing there would read as false, 0 or "").
TEST(ParameterSupportTest, RuntimeReadsOnlyDescribedParametersAsTheirType) {
  std::string runtime = SourceText("runtime");
  const std::regex read(
      R"re(\b(BoolParameter|IntParameter|TimeParameter|GetBool|GetInt|Get|Text|Parameter)\((?:\s*[*\w>.\-]+,)?\s*"([a-z0-9_]+)")re");
  int reads = 0;
  for (auto it = std::sregex_iterator(runtime.begin(), runtime.end(), read); it != std::sregex_iterator(); ++it) {
    std::string how = (*it)[1], name = (*it)[2];
    ++reads;
    const ParameterSpec* spec = FindParameter(name);
    ASSERT_NE(spec, nullptr) << name << " is read by the runtime (" << how << ") but not in the registry";
    if (how == "BoolParameter" || how == "GetBool") {
      EXPECT_EQ(spec->type, ParameterType::kBoolean) << name;
    } else if (how == "IntParameter" || how == "GetInt") {
      EXPECT_EQ(spec->type, ParameterType::kInteger) << name;
    } else if (how == "TimeParameter") {
      EXPECT_EQ(spec->type, ParameterType::kTime) << name;
    }
  }
  EXPECT_GT(reads, 50);  // the pattern still finds the reads
}

TEST(ParameterSupportTest, ImplementedTransportSuffixesAreRead) {
  std::string runtime = SourceText("runtime");
  for (std::string_view suffix : {"_destination_concurrency_limit", "_destination_recipient_limit"}) {
    EXPECT_TRUE(IsImplementedTransportSuffix(suffix));
    EXPECT_TRUE(Names(runtime, suffix)) << suffix;
  }
  EXPECT_FALSE(IsImplementedTransportSuffix("_destination_rate_delay"));
}

}  // namespace
}  // namespace postern::config
