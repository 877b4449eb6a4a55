// diff_side.cc: see diff_side.h.
#include "tools/postern/diff_side.h"

#include <filesystem>

#include "tools/postern/case_runner.h"
#include "tools/postern/git_checkout.h"
#include "util/source_file.h"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the scratch directory, for one side's files.
Result<std::string> ScratchDirectory(TemporaryImages* scratch, const std::string& name) {
  if (!scratch->ok()) return Status::Permanent("cannot create a temporary directory");
  std::error_code ec;
  fs::path path = fs::absolute(fs::path(scratch->path()) / name, ec);
  fs::create_directories(path, ec);
  if (ec) return Status::Permanent("cannot create " + path.string() + ": " + ec.message());
  return path.string();
}

}  // namespace

Result<DiffSide> OpenDiffSide(const std::string& what, const DiffSideOptions& options, TemporaryImages* scratch,
                              const std::string& name, DiagnosticSink* diagnostics) {
  DiffSide side;
  side.label = what;
  std::error_code ec;
  if (!options.git_directory.empty()) {
    auto checkout = ScratchDirectory(scratch, name + "/config");
    if (!checkout.ok()) return checkout.status();
    if (Status s = CheckoutRevision(options.git_directory, what, *checkout); !s.ok()) return s;
    side.config_directory = *checkout;
  } else if (fs::is_regular_file(fs::path(what) / "main.cf", ec)) {
    side.config_directory = what;
  } else if (!fs::is_regular_file(fs::path(what) / mail::kImageHeaderFile, ec) &&
             !fs::exists(fs::path(what) / "current", ec)) {
    return Status::Permanent(what + ": neither a configuration directory (no main.cf) nor an image");
  }

  std::string image_path = what;
  if (!side.config_directory.empty()) {
    side.model = LoadForImage(side.config_directory, diagnostics, options.defines);
    auto images = ScratchDirectory(scratch, name + "/images");
    if (!images.ok()) return images.status();
    CompileOutcome outcome = BuildAndPublish(*side.model, *images, 0, diagnostics);
    if (!outcome.published) {
      return Status::Permanent(what + " does not compile" + (outcome.error.empty() ? "" : ": " + outcome.error));
    }
    image_path = outcome.published->path;
  }
  auto image = image::Image::Load(image_path, ToolLoadOptions(side.config_directory, options.offline));
  if (!image.ok()) return Status::Permanent(what + ": " + image.status().message());
  side.image = *image;

  std::string users_file = options.users_file;
  if (users_file.empty() && options.test_users && !side.config_directory.empty()) {
    users_file = TestUsersFile(side.config_directory);
  }
  auto users = ReadUsersFile(users_file);
  if (!users.ok()) return users.status();
  side.users = *users;

  if (!side.config_directory.empty()) {
    for (const std::string& path : TestFilesOf(side.config_directory)) {
      auto file = SourceFile::Read(path);
      if (!file.ok()) return file.status();
      std::string relative = fs::relative(path, side.config_directory, ec).string();
      side.cases.emplace_back(relative, ParseTestFile(file.value(), diagnostics));
    }
  }
  if (diagnostics->has_errors()) return Status::Permanent(what + ": its test cases have errors");
  return side;
}

}  // namespace postern::cli
