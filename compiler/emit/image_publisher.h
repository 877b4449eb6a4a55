// image_publisher.h: writes a built image into an images directory and
// makes it current atomically:
//
//   IMAGES/.tmp-<id>-<pid>/...   written and fsynced
//   IMAGES/<id>/                 renamed into place (its name is its hash)
//   IMAGES/current -> <id>       a new symlink renamed over the old one
//
// A reader that follows `current` sees either the old image or the new one,
// never a mix. Older images beyond `keep` are removed, never the current
// one. Publishing an image that already exists only re-points `current`.
#pragma once

#include <string>

#include "compiler/emit/image_builder.h"
#include "util/status.h"

namespace postern::emit {

struct PublishOptions {
  std::string images_directory;
  int keep_previous = 5;  // images kept besides the current one
};

struct PublishResult {
  std::string path;      // IMAGES/<id>
  std::string previous;  // the id `current` pointed to before, if any
  bool already_present = false;
  int removed = 0;  // old images pruned
};

Result<PublishResult> PublishImage(const BuiltImage& image, const PublishOptions& options);

}  // namespace postern::emit
