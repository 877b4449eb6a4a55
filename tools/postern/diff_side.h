// diff_side.h: one side of `postern diff`, ready to compare: the image (the
// behaviour), and for a configuration the model it was compiled from (the
// source lines a change is shown at) and its test cases.
//
// A side is named as a configuration directory (it has a main.cf), an
// image directory or an images directory (its current image), or, when
// `postern diff -c DIR` is given, a git revision of DIR.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/check/configuration.h"
#include "mail/lookup_table.h"
#include "runtime/image/image.h"
#include "tools/postern/image_compiler.h"
#include "tools/postern/policy_test_file.h"
#include "util/status.h"

namespace postern::cli {

struct DiffSide {
  std::string label;             // as the command line named it
  std::string config_directory;  // what was compiled (a checkout for a revision); empty for an image
  std::optional<check::Model> model;
  std::shared_ptr<const image::Image> image;
  std::shared_ptr<const mail::LookupTable> users;  // null: this machine's users
  // The configuration's tests/*.test cases, by file (relative to it).
  std::vector<std::pair<std::string, std::vector<TestCase>>> cases;
};

struct DiffSideOptions {
  std::string git_directory;         // -c: sides are revisions of this directory
  std::vector<std::string> defines;  // --define, for compiling configurations
  std::string users_file;            // --users; else a configuration's tests/users or trace/users
  bool test_users = true;            // false: without --users, this machine's users (as posternd)
  bool offline = false;              // live tables are not asked
};

// Loads side `what`, compiling what needs compiling into its own
// directory `name` of `scratch` (which must outlive the side). Errors of a configuration that does not
// compile go to `diagnostics`, and the result is then an error too.
Result<DiffSide> OpenDiffSide(const std::string& what, const DiffSideOptions& options, TemporaryImages* scratch,
                              const std::string& name, DiagnosticSink* diagnostics);

}  // namespace postern::cli
