// Golden tests of `postern check` diagnostics: every directory under
// tests/golden/check/ is a configuration; its expected.ref holds the exact
// rendered diagnostics. Set POSTERN_UPDATE_GOLDEN=1 to rewrite the .ref
// files after an intended change (and review the diff).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/check/configuration.h"

namespace postern {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(POSTERN_SOURCE_DIR) / "tests/golden/check";

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kCases)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class GoldenCheckTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenCheckTest, DiagnosticsMatchReference) {
  fs::path dir = kCases / GetParam();
  fs::path saved = fs::current_path();
  fs::current_path(dir);  // so that diagnostics name files relative to the case
  DiagnosticSink sink;
  check::LoadOptions options;
  options.config_directory = ".";
  options.machine.hostname = "mx.example.com";
  options.machine.addresses = {{"127.0.0.1", 8, false}};
  check::LoadConfiguration(options, &sink);
  fs::current_path(saved);
  std::string actual = RenderDiagnostics(sink.diagnostics());

  fs::path ref = dir / "expected.ref";
  if (std::getenv("POSTERN_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(ref) << actual;
    return;
  }
  std::ifstream in(ref);
  ASSERT_TRUE(in) << "missing " << ref;
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str());
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenCheckTest, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace postern
