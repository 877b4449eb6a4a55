// image_compiler.h: the compile pipeline the commands share: load and check
// a configuration directory, build its image, publish it.
#pragma once

#include <optional>
#include <string>

#include "compiler/emit/image_builder.h"
#include "compiler/emit/image_publisher.h"
#include "util/diagnostic.h"

namespace postern::cli {

struct CompileRequest {
  std::string config_directory;
  std::string images_directory;
  int keep_previous = 5;
};

struct CompileOutcome {
  std::optional<emit::BuiltImage> image;  // absent when errors stopped the build
  std::optional<emit::PublishResult> published;
  std::string error;  // publishing failed
};

// Diagnostics (configuration and image) go to `diagnostics`; an image is
// built and published only when there are no errors.
CompileOutcome CompileAndPublish(const CompileRequest& request, DiagnosticSink* diagnostics);

}  // namespace postern::cli
