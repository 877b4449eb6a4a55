// image_builder.h: turns a loaded, checked configuration (check::Model) into
// the bytes of an image (see mail/image_format.h), in memory, except the
// tables compiled to files (tables/compiled_table.h), which it takes as
// they are. Publishing them to disk is image_publisher.h's job.
//
// Deterministic: the same inputs give the same bytes (tables and parameters
// sorted, no timestamps, paths relative to the configuration directory).
//
// Codes: PE0401 a table an image needs cannot be loaded, PE0402 an
// :include: file cannot be read, PE0403 a /file in a list cannot be read,
// PE0404 a table only a default names is of a type Postern cannot compile.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compiler/check/configuration.h"
#include "compiler/tables/compiled_table.h"
#include "util/diagnostic.h"

namespace postern::emit {

struct ImageBuildOptions {
  std::string compiler_version;
  // Compile the restriction lists and policy files for their diagnostics
  // only, and stop there: no tables are read again, no image is made
  // (`postern check` on a configuration that already has errors).
  bool policy_only = false;
};

struct ImageFile {
  std::string path;  // relative to the image directory
  std::string bytes;
  // A table compiled to a file (tables/compiled_table.h): its contents,
  // which `bytes` then does not hold; published as a link or a copy.
  std::shared_ptr<const tables::CompiledFile> compiled;
  // Made from a source that others may not read (a 0600 sasl_passwd): the
  // published file keeps that restriction (image_publisher.h).
  bool restricted = false;

  uint64_t size() const { return compiled ? compiled->size() : bytes.size(); }
};

struct BuiltImage {
  std::string id;                // sha256 of the IMAGE file
  std::vector<ImageFile> files;  // IMAGE first
  size_t total_bytes() const;
};

// Problems with tables the image needs go to `diagnostics`; the caller
// decides whether errors there stop publication.
BuiltImage BuildImage(const check::Model& model, const ImageBuildOptions& options, DiagnosticSink* diagnostics);

}  // namespace postern::emit
