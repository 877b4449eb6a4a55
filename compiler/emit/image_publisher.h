// image_publisher.h: writes a built image into an images directory and
// makes it current atomically:
//
//   IMAGES/.tmp-<id>-<pid>/...   written and fsynced
//   IMAGES/<id>/                 renamed into place (its name is its hash)
//   IMAGES/current -> <id>       a new symlink renamed over the old one
//
// A reader that follows `current` sees either the old image or the new one,
// never a mix. Older images beyond `keep` are removed, never the current
// one. Publishing an image that already exists checks it first: intact, it
// only re-points `current`; damaged (a file changed, truncated, missing or
// replaced by something else), it is written again and swapped in.
//
// A signature is written with the image (or into the image already
// present), before `current` is re-pointed, so a daemon that requires one
// never sees the image current without it.
//
// Files are read-only (0444). A file made from a source others may not
// read (ImageFile::restricted) is 0440, and its image's directories 0750:
// with `reader_group` (posternd's group, which must read it on reload)
// they belong to that group.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "compiler/emit/image_builder.h"
#include "util/status.h"

namespace postern::emit {

struct PublishOptions {
  std::string images_directory;
  int keep_previous = 5;  // images kept besides the current one
  std::optional<gid_t> reader_group;
  // The image's SIGNATURE file (mail/image_signature.h), in place before
  // `current` points to it; empty: none is written.
  std::string signature;
};

struct PublishResult {
  std::string path;      // IMAGES/<id>
  std::string previous;  // the id `current` pointed to before, if any
  bool already_present = false;
  bool repaired = false;  // it was present but damaged, and is whole again
  int removed = 0;        // old images pruned
};

Result<PublishResult> PublishImage(const BuiltImage& image, const PublishOptions& options);

// PublishImage in two steps, for a caller that checks the image on disk
// before any reader may take it: StageImage writes IMAGES/<id>/ (or finds
// it intact) and leaves `current` alone; ActivateImage then re-points
// `current` and prunes. A staged image that is not activated is not
// current, and the caller removes it unless `already_present`.
Result<PublishResult> StageImage(const BuiltImage& image, const PublishOptions& options);
Result<PublishResult> ActivateImage(const std::string& id, const PublishOptions& options, PublishResult staged);

}  // namespace postern::emit
