// test_config.h: a configuration directory in a fresh temporary directory,
// compiled and published into images the tests load, with the same stages
// `postern compile` runs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "compiler/check/configuration.h"
#include "compiler/emit/image_builder.h"
#include "compiler/emit/image_publisher.h"
#include "runtime/image/image.h"

namespace postern::testing {

class TestConfig {
 public:
  TestConfig() {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-test-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    std::filesystem::create_directories(root_ + "/config");
  }
  ~TestConfig() { std::filesystem::remove_all(root_); }
  TestConfig(const TestConfig&) = delete;
  TestConfig& operator=(const TestConfig&) = delete;

  const std::string& root() const { return root_; }
  std::string config_directory() const { return root_ + "/config"; }
  std::string images_directory() const { return root_ + "/images"; }

  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(config_directory() + "/" + name) << text;
  }

  // Builds the image in memory; fails the test on any error diagnostic.
  emit::BuiltImage Build(const std::string& directory = "") const {
    DiagnosticSink diagnostics;
    check::LoadOptions load;
    load.config_directory = directory.empty() ? config_directory() : directory;
    load.installed_directory = "/etc/postfix";
    load.machine.hostname = "host.example.com";
    check::Model model = check::LoadConfiguration(load, &diagnostics);
    emit::ImageBuildOptions options;
    options.compiler_version = "test";
    emit::BuiltImage image = emit::BuildImage(model, options, &diagnostics);
    EXPECT_FALSE(diagnostics.has_errors()) << RenderDiagnostics(diagnostics.diagnostics());
    return image;
  }

  emit::PublishResult Publish(int keep = 5) const {
    emit::PublishOptions options{images_directory(), keep, std::nullopt, ""};
    auto result = emit::PublishImage(Build(), options);
    EXPECT_TRUE(result.ok()) << result.status().message();
    return result.ok() ? *result : emit::PublishResult{};
  }

  std::shared_ptr<const image::Image> Compile() const {
    Publish();
    auto image = image::Image::Load(images_directory());
    EXPECT_TRUE(image.ok()) << image.status().message();
    return image.ok() ? *image : nullptr;
  }

 private:
  std::string root_;
};

}  // namespace postern::testing
