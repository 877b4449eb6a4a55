// test_command.cc: `postern test`, the policy and routing of a configuration
// checked against test cases (tools/postern/policy_test_file.h), with the
// runtime VM and resolver on the compiled image. Exit codes: 0 all pass,
// 1 failures or errors, 2 could not run. --format junit for CI; --print
// shows every reply (what a differential test compares with Postfix).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/image/image.h"
#include "tools/postern/case_runner.h"
#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"
#include "tools/postern/policy_test_file.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

int RunTest(const TestOptions& options) {
  std::vector<std::string> files = options.files.empty() ? TestFilesOf(options.config_directory) : options.files;
  if (files.empty()) {
    std::cerr << "postern test: no test files (give them, or put *.test files in "
              << (fs::path(options.config_directory) / "tests").string() << ")\n";
    return 2;
  }
  DiagnosticSink diagnostics;
  check::Model model = LoadForImage(options.config_directory, &diagnostics, options.defines);
  TemporaryImages temporary;
  CompileOutcome outcome;
  if (temporary.ok()) outcome = BuildAndPublish(model, temporary.path(), 0, &diagnostics);
  std::vector<std::pair<std::string, std::vector<TestCase>>> suites;
  for (const std::string& path : files) {
    auto file = SourceFile::Read(path);
    if (!file.ok()) {
      diagnostics.FileError("PT0601", path, file.status().message());
      continue;
    }
    suites.emplace_back(path, ParseTestFile(file.value(), &diagnostics));
  }
  std::cerr << RenderDiagnostics(diagnostics.diagnostics());
  if (!outcome.published) {
    std::cerr << "postern test: " << options.config_directory << " does not compile\n";
    return model.main_cf.file ? 1 : 2;
  }
  auto image = image::Image::Load(outcome.published->path, ToolLoadOptions(options.config_directory, options.offline));
  if (!image.ok()) {
    std::cerr << "postern test: " << image.status().message() << "\n";
    return 2;
  }
  auto users = ReadUsersFile(options.users_file.empty() ? TestUsersFile(options.config_directory) : options.users_file);
  if (!users.ok()) {
    std::cerr << "postern test: " << users.status().message() << "\n";
    return 2;
  }
  CaseRunner runner(*image, *users, options.service.empty() ? (*image)->DefaultSmtpdService() : options.service);

  int cases = 0, failed = 0;
  nlohmann::json printed = nlohmann::json::array();
  std::string junit;
  for (const auto& [path, suite] : suites) {
    std::string testcases;
    int suite_failures = 0;
    for (const TestCase& c : suite) {
      ++cases;
      Result<std::vector<StepResult>> results = runner.Run(c);
      std::string failures;
      if (!results.ok()) {
        failures = path + ":" + std::to_string(c.location.line) + ": " + results.status().message() + "\n";
      }
      for (const StepResult& r : results.ok() ? *results : std::vector<StepResult>{}) {
        if (options.print) {
          printed.push_back({{"file", path},
                             {"test", c.name},
                             {"line", r.step->location.line},
                             {"command", DescribeStep(*r.step)},
                             {"reply", r.reply},
                             {"route", r.route}});
        }
        if (!r.failure.empty()) {
          failures += path + ":" + std::to_string(r.step->location.line) + ": " + DescribeStep(*r.step) + ": " +
                      r.failure + "\n";
        }
      }
      if (!failures.empty()) {
        ++failed;
        ++suite_failures;
      }
      if (options.format == "text" && !options.print) {
        std::cout << (failures.empty() ? "PASS " : "FAIL ") << c.name << "\n";
        if (!failures.empty()) std::cout << failures;
      }
      testcases += "  <testcase classname=\"" + XmlEscape(path) + "\" name=\"" + XmlEscape(c.name) + "\">";
      if (!failures.empty()) testcases += "<failure message=\"reply differs\">" + XmlEscape(failures) + "</failure>";
      testcases += "</testcase>\n";
    }
    junit += " <testsuite name=\"" + XmlEscape(path) + "\" tests=\"" + std::to_string(suite.size()) + "\" failures=\"" +
             std::to_string(suite_failures) + "\">\n" + testcases + " </testsuite>\n";
  }
  if (options.print) {
    std::cout << printed.dump(2) << "\n";
  } else if (options.format == "junit") {
    std::cout << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"" << cases << "\" failures=\""
              << failed << "\">\n"
              << junit << "</testsuites>\n";
  }
  std::cerr << "postern test: " << cases << " case(s), " << failed << " failed\n";
  return (failed > 0 || diagnostics.has_errors()) ? 1 : 0;
}

}  // namespace postern::cli
